/**
 * Config reload without a sidecar (`config_watch`): natter-server watches its
 * config file and the files it names. Kubernetes updates a mounted Secret or
 * ConfigMap by swapping a `..data` symlink to a new timestamped folder (the
 * kubelet's atomic writer), which these tests do the same way: a swap of the
 * secret rotates the server's TLS certificate and a user's password without a
 * restart (connected clients with the old password are dropped and new ones
 * refused, as on SIGHUP), and a swap that brings a broken config keeps the
 * running configuration and logs the problem with file:line:col.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { makeCerts, pem, type CertSet } from '../tls/certs.js';
import { trackChild } from '../helpers/children.js';
import { freePort, waitForListen } from '../helpers/ports.js';
import { waitUntil } from '../helpers/wait.js';
import { parseFlags } from '../../src/cli/flags.js';
import { startServer as startEmbedded } from '../../src/index.js';
import { ConfigWatcher, watchTargets } from '../../src/config/watch.js';

const CLI = fileURLToPath(new URL('../../src/cli/natter-server.js', import.meta.url));

let certs: CertSet;
let dir: string;

before(async () => {
  certs = await makeCerts();
  dir = mkdtempSync(join(tmpdir(), 'natter-config-watch-'));
});

after(() => {
  certs.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

let generation = 0;

/**
 * Writes `files` into a mounted-volume-style folder as the kubelet does: a
 * new `..<timestamp>` folder, a `..data_tmp` symlink to it renamed over
 * `..data`, `<name> -> ..data/<name>` links, then the old folder removed.
 */
function writeMounted(mount: string, files: Record<string, string>): void {
  mkdirSync(mount, { recursive: true });
  const stamp = `..2026_12_07_00_00_${String(++generation).padStart(2, '0')}.${process.pid}`;
  mkdirSync(join(mount, stamp));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(mount, stamp, name), text);
  const dataLink = join(mount, '..data');
  const previous = existsSync(dataLink) ? readlinkSync(dataLink) : null;
  symlinkSync(stamp, join(mount, '..data_tmp'));
  renameSync(join(mount, '..data_tmp'), dataLink);
  for (const name of Object.keys(files)) {
    if (!existsSync(join(mount, name))) symlinkSync(join('..data', name), join(mount, name));
  }
  if (previous !== null) rmSync(join(mount, previous), { recursive: true, force: true });
}

function secretFiles(server: { cert: string; key: string }, password: string): Record<string, string> {
  return {
    'tls.crt': pem(server.cert),
    'tls.key': pem(server.key),
    'ca.crt': pem(certs.ca.cert),
    'auth.conf': `authorization {\n  users: [ { user: app, password: "${password}" } ]\n}\n`,
  };
}

function configText(port: number, secret: string): string {
  return [
    `port: ${port}`,
    'config_watch: true',
    'tls {',
    `  cert_file: "${secret}/tls.crt"`,
    `  key_file: "${secret}/tls.key"`,
    `  ca_file: "${secret}/ca.crt"`,
    '}',
    // Relative to the config file's folder, as nats-server resolves includes.
    'include "../secret/auth.conf"',
    '',
  ].join('\n');
}

interface Child {
  proc: ChildProcess;
  output(): string;
  exit: { code: number | null; signal: NodeJS.Signals | null } | null;
}

async function startServer(configFile: string, port: number): Promise<Child> {
  const proc = spawn(process.execPath, [CLI, '-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  trackChild(proc);
  let output = '';
  proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const child: Child = { proc, output: () => output, exit: null };
  proc.once('exit', (code, signal) => (child.exit = { code, signal }));
  await waitForListen(port, 10_000, '127.0.0.1', () => (child.exit ? `natter-server exited:\n${output}` : null));
  return child;
}

/** The OU of the certificate the server presents (TLS after INFO, as NATS clients do). */
async function servedOU(port: number): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  let seen = '';
  while (!seen.includes('\r\n')) {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    seen += chunk.toString('latin1');
  }
  socket.pause();
  const secure = tls.connect({ socket, rejectUnauthorized: false, servername: 'localhost' });
  await once(secure, 'secureConnect');
  const ou = secure.getPeerCertificate().subject.OU;
  secure.destroy();
  return Array.isArray(ou) ? ou.join(',') : String(ou);
}

function login(port: number, pass: string): Promise<NatsConnection> {
  return connect({
    servers: `127.0.0.1:${port}`, user: 'app', pass, tls: { caFile: certs.ca.cert }, reconnect: false, timeout: 5000,
  });
}

async function refused(port: number, pass: string): Promise<boolean> {
  try {
    const nc = await login(port, pass);
    await nc.close();
    return false;
  } catch (err) {
    return /authorization violation/i.test(String(err));
  }
}

test('--config_watch turns watching on, like the config_watch key; an embedder, with no file, is told so', async () => {
  assert.equal(parseFlags(['-c', 'x.conf', '--config_watch']).options.config_watch, true);
  assert.equal(parseFlags(['-c', 'x.conf']).options.config_watch, undefined);
  await assert.rejects(startEmbedded({ config_watch: true }), /config_watch needs natter-server and a config file/);
});

test('the watched files: the config, its includes, TLS files, the resolver folder', () => {
  const d = mkdtempSync(join(dir, 'targets-'));
  writeFileSync(join(d, 'users.conf'), 'authorization { token: abc }\n');
  writeFileSync(join(d, 'main.conf'), [
    'include users.conf',
    'tls { cert_file: /certs/a.crt, key_file: /certs/a.key }',
    'cluster { tls { ca_file: /certs/ca.crt } }',
    'resolver { type: full, dir: /jwt }',
    '',
  ].join('\n'));
  const t = watchTargets(join(d, 'main.conf')).map((x) => `${x.role}=${x.path}`).sort();
  assert.deepEqual(t, [
    `config=${join(d, 'main.conf')}`,
    `include=${join(d, 'users.conf')}`,
    'resolver dir=/jwt',
    'tls ca_file=/certs/ca.crt',
    'tls cert_file=/certs/a.crt',
    'tls key_file=/certs/a.key',
  ]);
});

test('reloads once per change of content, naming what changed; other files in the folders do not count', async () => {
  const d = mkdtempSync(join(dir, 'watcher-'));
  const elsewhere = mkdtempSync(join(dir, 'elsewhere-'));
  // The certificate is a symlink into another folder, where it is rewritten in place.
  writeFileSync(join(elsewhere, 'real.crt'), 'one');
  symlinkSync(join(elsewhere, 'real.crt'), join(d, 'server.crt'));
  writeFileSync(join(d, 'main.conf'), `tls { cert_file: "${join(d, 'server.crt')}", key_file: "${join(d, 'server.key')}" }\n`);
  const lines: string[] = [];
  let reloads = 0;
  const watcher = new ConfigWatcher({
    configFile: join(d, 'main.conf'),
    reload: () => {
      reloads++;
      return Promise.resolve(true);
    },
    logger: { info: (m) => lines.push(m), debug: () => undefined },
    debounceMs: 50,
  });
  watcher.start();
  try {
    writeFileSync(join(d, 'unrelated.txt'), 'x');
    writeFileSync(join(elsewhere, 'unrelated.txt'), 'x');
    writeFileSync(join(d, 'main.conf'), readFileSync(join(d, 'main.conf'), 'utf8')); // same bytes: no change
    writeFileSync(join(elsewhere, 'real.crt'), 'two');
    await waitUntil(() => reloads === 1, 10_000, 'the reload', 10);
    assert.deepEqual(lines.slice(1), [`Configuration changed on disk: ${join(d, 'server.crt')} (tls cert_file); reloading`]);
    // The key file appears: a target that was missing is one that changed.
    writeFileSync(join(d, 'server.key'), 'key');
    await waitUntil(() => reloads === 2, 10_000, 'the second reload', 10);
    assert.equal(lines[2], `Configuration changed on disk: ${join(d, 'server.key')} (tls key_file); reloading`);
  } finally {
    watcher.close();
  }
});

test('a ..data swap of the mounted secret rotates the certificate and the password with no restart; a broken config is refused', async () => {
  const secret = join(dir, 'secret');
  const configMap = join(dir, 'config');
  const port = await freePort();
  writeMounted(secret, secretFiles(certs.server, 'pw-1'));
  writeMounted(configMap, { 'nats.conf': configText(port, secret) });
  const server = await startServer(join(configMap, 'nats.conf'), port);
  try {
    await waitUntil(() => /Watching the configuration for changes: /.test(server.output()), 10_000, 'the watcher to start', 20);
    const watching = /Watching the configuration for changes: (.*)/.exec(server.output())?.[1] ?? '';
    for (const name of ['config/nats.conf', 'secret/auth.conf', 'secret/tls.crt', 'secret/tls.key', 'secret/ca.crt']) {
      assert.ok(watching.includes(name), `${name} watched: ${watching}`);
    }
    assert.equal(await servedOU(port), 'Operator');
    const old = await login(port, 'pw-1');
    const oldClosed = old.closed();

    writeMounted(secret, secretFiles(certs.server2, 'pw-2'));
    await waitUntil(async () => (await servedOU(port)) === 'Operator2', 15_000, 'the rotated certificate', 100);
    // Re-checked as on SIGHUP: the connection with the old password is gone.
    const why = await oldClosed;
    assert.match(String(why), /authorization violation/i);
    const fresh = await login(port, 'pw-2');
    assert.equal(await refused(port, 'pw-1'), true, 'the old password is refused');
    assert.match(server.output(), /Configuration changed on disk: .*secret\/auth\.conf \(include\).*reloading/);
    assert.match(server.output(), /Reloaded: authorization users/);

    // A ConfigMap update that does not parse: logged with its position, nothing changes.
    writeMounted(configMap, { 'nats.conf': `port: ${port}\nno_such_key: 1\n` });
    await waitUntil(() => /Failed to reload server configuration: .*nats\.conf:2:1: unknown field "no_such_key"/.test(server.output()),
      15_000, 'the refused reload in the log', 50);
    assert.equal(await servedOU(port), 'Operator2');
    assert.equal(await refused(port, 'pw-1'), true);
    await fresh.flush();

    // Fixed again: the watcher still follows the folder the new ..data leads to.
    writeFileSync(join(secret, '..data', 'auth.conf'), 'authorization {\n  users: [ { user: app, password: "pw-3" } ]\n}\n');
    writeMounted(configMap, { 'nats.conf': configText(port, secret) });
    await waitUntil(async () => refused(port, 'pw-2'), 15_000, 'pw-2 refused after the fix', 100);
    await (await login(port, 'pw-3')).close();
    assert.equal(server.exit, null, 'the server never restarted');
    await fresh.closed();
  } finally {
    server.proc.kill('SIGTERM');
    if (server.exit === null) await once(server.proc, 'exit');
  }
});
