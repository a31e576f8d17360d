/**
 * Differential check against the real nats-server: each configuration below
 * is written to a temporary folder and given both to `nats-server -t -c`
 * (which only checks the configuration) and to loadConfigFile. Both must
 * accept it or both must reject it, and agree with the expectation.
 *
 * The cases avoid the places where Natter deliberately differs (listed in
 * src/config/index.ts): keys only 2.10 knows (logtime_utc), `[1]` arrays,
 * empty values, negative sizes and out-of-range ports, which 2.9's `-t`
 * lets through.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfigFile } from '../../src/config/options-from-config.js';
import { findNatsServer, HELM_FILES, TempDir } from './helpers.js';

interface Case {
  readonly name: string;
  /** Files to write; 'main.conf' is the one given to both. */
  readonly files: Readonly<Record<string, string>>;
  readonly env?: Readonly<Record<string, string>>;
  readonly expect: 'accept' | 'reject';
}

const main = (text: string): Record<string, string> => ({ 'main.conf': text });
const HASH = '$2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.xtiHyG';

const CASES: readonly Case[] = [
  {
    name: 'basic options',
    files: main(
      'port: 4222\nhost: 127.0.0.1\nserver_name: n1\nmax_payload: 1MB\nmax_pending: 64MB\nmax_connections: 100\n' +
        'ping_interval: "30s"\nping_max: 3\nwrite_deadline: "5s"\ndebug: true\ntrace: false\nlogtime: yes\n',
    ),
    expect: 'accept',
  },
  {
    name: 'separators, terminators and comments',
    files: main('port = 4222; # comment\nhost : "0.0.0.0" // another\nserver_name nats_1,\n# end\n'),
    expect: 'accept',
  },
  {
    name: 'listen and http as host:port',
    files: main('listen: 127.0.0.1:4222\nhttp: "127.0.0.1:8222"\n'),
    expect: 'accept',
  },
  {
    name: 'variables defined in the file',
    files: main('PORT = 4223\nNAME = "srv"\nport: $PORT\nserver_name: $NAME\n'),
    expect: 'accept',
  },
  {
    name: 'block-scoped bcrypt variable',
    files: main(`authorization {\n  PASS: ${HASH}\n  users = [ {user: a, password: $PASS} ]\n  timeout: 1.5\n}\n`),
    expect: 'accept',
  },
  {
    name: 'environment variable',
    files: main('port: $NATTER_DIFF_PORT\n'),
    env: { NATTER_DIFF_PORT: '4224' },
    expect: 'accept',
  },
  {
    name: 'nested relative includes',
    files: {
      'main.conf': 'include "inc/limits.conf"\nport: 4222\n',
      'inc/limits.conf': "max_payload: 2MB\ninclude 'more.conf'\n",
      'inc/more.conf': 'max_pending: 10MB\n',
    },
    expect: 'accept',
  },
  {
    name: 'include inside a map',
    files: {
      'main.conf': 'authorization {\n  include users.conf\n}\n',
      'users.conf': 'users = [\n  {user: a, password: b}\n  {user: c, password: d}\n]\n',
    },
    expect: 'accept',
  },
  {
    name: "the Helm chart's JSON form",
    files: { ...HELM_FILES, 'main.conf': HELM_FILES['nats.conf'] },
    env: { SERVER_NAME: 'nats-0' },
    expect: 'accept',
  },
  {
    name: 'compact JSON',
    files: main('{"port": 4222, "debug": true, "max_payload": 1MB, "cluster": {"port": 6222, "routes": []}}\n'),
    expect: 'accept',
  },
  {
    name: 'subsystem blocks',
    files: main(
      'cluster {\n  name: c1\n  port: 6222\n  routes = [\n    nats://a:6222 # first\n    nats://b:6222\n  ]\n}\n' +
        'websocket { port: 8080, no_tls: true }\nleafnodes { port: 7422 }\nmqtt { port: 1883 }\n',
    ),
    expect: 'accept',
  },
  {
    name: 'jetstream with sizes',
    files: main('jetstream {\n  store_dir: "/tmp/natter-diff-js"\n  max_memory_store: 1Gi\n  max_file_store: 10GiB\n}\n'),
    expect: 'accept',
  },
  {
    name: 'accounts',
    files: main('accounts { A { users: [ {user: u, password: p} ] } }\nsystem_account: A\nno_auth_user: u\n'),
    expect: 'accept',
  },
  {
    name: 'aliases and the remaining simple options',
    files: main(
      'trace_verbose: true\nlogfile: "/tmp/x.log"\nlog_size_limit: 1GB\npidfile: "/tmp/x.pid"\nports_file_dir: "/tmp"\n' +
        'syslog: false\nhttps_port: 8443\nhttp_base_path: "/mon"\nconnect_error_reports: 10\nreconnect_error_reports: 5\n' +
        'no_header_support: true\nclient_advertise: "example.com:4222"\nmax_control_line: 8k\nmax_subs: 100\nmax_conn: 10\n' +
        'monitor_port: 8222\nnet: 0.0.0.0\n',
    ),
    expect: 'accept',
  },
  {
    name: 'quoted keys, single quotes, upper-case keys',
    files: main("'port': 4222\n\"server_name\": 'single quoted'\nMAX_PAYLOAD: 2MB\n"),
    expect: 'accept',
  },
  {
    name: 'lame duck settings',
    files: main('lame_duck_duration: "45s"\nlame_duck_grace_period: "5s"\n'),
    expect: 'accept',
  },
  { name: 'port of the wrong type', files: main('port: "abc"\n'), expect: 'reject' },
  { name: 'float port', files: main('port: 1.5\n'), expect: 'reject' },
  { name: 'unknown field', files: main('port: 4222\nxyz: 1\n'), expect: 'reject' },
  { name: 'unused variable-like key', files: main('UNUSED = 1\n'), expect: 'reject' },
  { name: 'unterminated map', files: main('cluster {\n  port: 6222\n'), expect: 'reject' },
  { name: 'unterminated string', files: main('server_name: "abc\n'), expect: 'reject' },
  { name: 'undefined variable', files: main('port: $NATTER_DIFF_SURELY_UNDEFINED\n'), expect: 'reject' },
  { name: 'self-referencing variable', files: main('a = $a\n'), expect: 'reject' },
  { name: 'two values on a line', files: main('port: 4222 4223\n'), expect: 'reject' },
  { name: 'lame duck duration too short', files: main('lame_duck_duration: "10s"\n'), expect: 'reject' },
  { name: 'lame duck duration as an integer', files: main('lame_duck_duration: 60\n'), expect: 'reject' },
  { name: 'bad duration', files: main('ping_interval: "abc"\n'), expect: 'reject' },
  { name: 'integer boolean', files: main('debug: 1\n'), expect: 'reject' },
  { name: 'invalid escape', files: main('server_name: "a\\qb"\n'), expect: 'reject' },
  { name: 'missing include', files: main('include "nope.conf"\n'), expect: 'reject' },
  { name: 'max_payload beyond int32', files: main('max_payload: 3GB\n'), expect: 'reject' },
  { name: 'listen without a port', files: main('http: "localhost"\n'), expect: 'reject' },
  { name: 'authorization that is not a map', files: main('authorization: 1\n'), expect: 'reject' },
  { name: 'partial datetime', files: main('server_name: 2006-01-02\n'), expect: 'reject' },
  { name: 'datetime where a string is needed', files: main('server_name: 2006-01-02T15:04:05Z\n'), expect: 'reject' },
  { name: 'missing array element', files: main('cluster { routes: [nats://a:1,,nats://b:2] }\n'), expect: 'reject' },
];

const natsServer = findNatsServer();
const skip = natsServer === undefined ? 'nats-server is not on PATH: differential checks skipped' : false;
if (skip !== false) console.log(`# ${skip}`);

const tmp = new TempDir();
after(() => tmp.cleanup());

function runNats(file: string, env: Readonly<Record<string, string>> = {}): { ok: boolean; output: string } {
  const r = spawnSync(natsServer ?? 'nats-server', ['-t', '-c', file], {
    cwd: path.dirname(file),
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

function runNatter(file: string, env: Readonly<Record<string, string>> = {}): { ok: boolean; output: string } {
  try {
    const { warnings } = loadConfigFile(file, { env: { ...process.env, ...env } });
    return { ok: true, output: warnings.join('\n') };
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, output: err.message };
    throw err;
  }
}

function writeCase(dir: string, files: Readonly<Record<string, string>>): string {
  for (const [name, text] of Object.entries(files)) tmp.write(path.join(dir, name), text);
  return path.join(tmp.dir, dir, 'main.conf');
}

describe('differential check against nats-server -t', { skip }, () => {
  CASES.forEach((c, i) => {
    it(`${c.expect}s: ${c.name}`, () => {
      const file = writeCase(`case${i}`, c.files);
      const nats = runNats(file, c.env);
      const ours = runNatter(file, c.env);
      const want = c.expect === 'accept';
      assert.equal(nats.ok, want, `nats-server ${nats.ok ? 'accepted' : 'rejected'}: ${nats.output}`);
      assert.equal(ours.ok, want, `natter ${ours.ok ? 'accepted' : 'rejected'}: ${ours.output}`);
    });
  });

  it('reports an unknown field at the same line and column as nats-server', () => {
    // nats-server's columns are 1-based from the second line on.
    const file = writeCase('unknown-pos', main('port: 4222\n  xyz: 1\n'));
    const nats = runNats(file);
    const ours = runNatter(file);
    assert.equal(nats.ok || ours.ok, false);
    assert.match(nats.output, /:2:3: unknown field "xyz"/);
    assert.match(ours.output, /:2:3: unknown field "xyz"$/);
  });

  it('warns where nats-server -t fails on a bare-integer duration (nats-server itself only warns at startup)', () => {
    const file = writeCase('int-duration', main('port: 4222\nping_interval: 60\n'));
    const nats = runNats(file);
    const ours = runNatter(file);
    const text = 'invalid use of field "ping_interval": ping_interval should be converted to a duration';
    assert.equal(nats.ok, false);
    assert.ok(nats.output.includes(`:2:1: ${text}`), nats.output);
    assert.equal(ours.ok, true);
    assert.ok(ours.output.endsWith(`:2:1: ${text}`), ours.output);
  });
});
