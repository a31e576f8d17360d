/** include directives and the Helm chart's JSON form. */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { mapToPlain, parseConfig, parseConfigFile } from '../../src/config/parser.js';
import { loadConfigFile } from '../../src/config/options-from-config.js';
import { assertAt, configError, HELM_FILES, TempDir } from './helpers.js';

const tmp = new TempDir();
after(() => tmp.cleanup());

describe('include', () => {
  it('merges an included file, relative to the including file, in every spelling', () => {
    tmp.write('a/inc1.conf', 'one = 1\n');
    tmp.write('a/inc2.conf', 'two = 2\n');
    tmp.write('a/inc3.conf', 'three = 3\n');
    tmp.write('a/inc4.conf', 'four = 4\n');
    const main = tmp.write('a/main.conf', 'include "inc1.conf"\ninclude \'inc2.conf\'\ninclude inc3.conf\nINCLUDE inc4.conf; x = 0\n');
    assert.deepEqual(mapToPlain(parseConfigFile(main)), { one: 1, two: 2, three: 3, four: 4, x: 0 });
  });

  it('resolves nested includes relative to each file', () => {
    tmp.write('b/sub/limits.conf', 'max_payload = 2MB\ninclude deeper/more.conf\n');
    tmp.write('b/sub/deeper/more.conf', 'max_pending = 10MB\n');
    const main = tmp.write('b/main.conf', 'include "sub/limits.conf"\nport = 4222\n');
    assert.deepEqual(mapToPlain(parseConfigFile(main)), {
      max_payload: 2 * 1024 ** 2,
      max_pending: 10 * 1024 ** 2,
      port: 4222,
    });
  });

  it('accepts an absolute include path', () => {
    const abs = tmp.write('c/abs.conf', 'z = 26\n');
    const main = tmp.write('c/other/main.conf', `include "${abs}"\n`);
    assert.deepEqual(mapToPlain(parseConfigFile(main)), { z: 26 });
  });

  it('merges into the map where the include stands', () => {
    tmp.write('d/users.conf', 'users = [ {user: a, password: b} ]\n');
    const main = tmp.write('d/main.conf', 'authorization {\n  include users.conf\n  timeout: 2\n}\n');
    assert.deepEqual(mapToPlain(parseConfigFile(main)), {
      authorization: { users: [{ user: 'a', password: 'b' }], timeout: 2 },
    });
  });

  it('makes included keys visible to later references, and later keys override them', () => {
    tmp.write('e/vars.conf', 'PORT = 4333\nname = first\n');
    const main = tmp.write('e/main.conf', 'include vars.conf\nport = $PORT\nname = second\n');
    assert.deepEqual(mapToPlain(parseConfigFile(main)), { PORT: 4333, name: 'second', port: 4333 });
  });

  it('parses included files in their own variable scope, as nats-server does', () => {
    tmp.write('f/uses.conf', 'b = $A\n');
    const main = tmp.write('f/main.conf', 'A = 1\ninclude uses.conf\n');
    const err = configError(() => parseConfigFile(main, { env: {} }));
    assert.equal(err.file, path.join(tmp.dir, 'f/uses.conf'));
    assertAt(err, 1, 5, /'A' can not be found/);
  });

  it('reports errors inside an included file with that file and position', () => {
    tmp.write('g/bad.conf', 'ok = 1\n\n  broken = "\n');
    const main = tmp.write('g/main.conf', 'include bad.conf\n');
    const err = configError(() => parseConfigFile(main));
    assert.equal(err.file, path.join(tmp.dir, 'g/bad.conf'));
    assertAt(err, 3, 12, /unterminated/);
  });

  it('reports a missing include file at the directive', () => {
    const main = tmp.write('h/main.conf', 'a = 1\ninclude "nope.conf"\n');
    const err = configError(() => parseConfigFile(main));
    assert.equal(err.file, main);
    assertAt(err, 2, 9, /error opening include file 'nope\.conf'/);
  });

  it('reports include cycles instead of recursing', () => {
    tmp.write('i/a.conf', 'x = 1\ninclude b.conf\n');
    tmp.write('i/b.conf', 'include a.conf\n');
    const err = configError(() => parseConfigFile(path.join(tmp.dir, 'i/a.conf')));
    assert.match(err.problem, /include cycle/);
    assert.equal(err.file, path.join(tmp.dir, 'i/b.conf'));
    assertAt(err, 1, 9);
  });

  it('reports a file including itself', () => {
    const self = tmp.write('j/self.conf', 'include self.conf\n');
    assertAt(configError(() => parseConfigFile(self)), 1, 9, /include cycle/);
  });

  it('resolves includes in text without a file against the working directory', () => {
    const rel = path.relative(process.cwd(), tmp.write('k/cwd.conf', 'q = 1\n'));
    assert.deepEqual(mapToPlain(parseConfig(`include "${rel}"\n`)), { q: 1 });
  });

  it('refuses include values that are not file names', () => {
    assertAt(configError(() => parseConfig('include [a]\n')), 1, 9, /include file name/);
    assertAt(configError(() => parseConfig('include\n  a.conf\n')), 1, 8, /include file name/);
  });

  it('treats include followed by a separator as an ordinary key', () => {
    assert.deepEqual(mapToPlain(parseConfig('include: x\n')), { include: 'x' });
  });
});

describe("the Helm chart's JSON form", () => {
  it('parses raw variables, sizes and includes inside JSON', () => {
    for (const [name, text] of Object.entries(HELM_FILES)) tmp.write(`helm/${name}`, text);
    const tree = parseConfigFile(path.join(tmp.dir, 'helm/nats.conf'), { env: { SERVER_NAME: 'nats-0' } });
    assert.deepEqual(mapToPlain(tree), {
      ping_interval: '5m',
      cluster: {
        name: 'nats',
        no_advertise: true,
        port: 6222,
        routes: [
          'nats://nats-0.nats-headless:6222',
          'nats://nats-1.nats-headless:6222',
          'nats://nats-2.nats-headless:6222',
        ],
      },
      http_port: 8222,
      jetstream: {
        max_file_store: 10 * 1024 ** 3,
        max_memory_store: 0,
        store_dir: '/data',
        max_outstanding_catchup: 64 * 1024 ** 2,
      },
      lame_duck_duration: '30s',
      lame_duck_grace_period: '10s',
      pid_file: '/var/run/nats/nats.pid',
      port: 4222,
      server_name: 'nats-0',
    });
  });

  it('maps the Helm configuration onto options', () => {
    for (const [name, text] of Object.entries(HELM_FILES)) tmp.write(`helm2/${name}`, text);
    const { options, warnings } = loadConfigFile(path.join(tmp.dir, 'helm2/nats.conf'), {
      env: { SERVER_NAME: 'nats-0' },
    });
    assert.equal(options.server_name, 'nats-0');
    assert.equal(options.port, 4222);
    assert.equal(options.http_port, 8222);
    assert.equal(options.ping_interval, 5 * 60_000);
    assert.equal(options.lame_duck_duration, 30_000);
    assert.equal(options.lame_duck_grace_period, 10_000);
    assert.equal(options.pid_file, '/var/run/nats/nats.pid');
    assert.deepEqual(options.jetstream, {
      max_file_store: 10 * 1024 ** 3,
      max_memory_store: 0,
      store_dir: '/data',
      max_outstanding_catchup: 64 * 1024 ** 2,
    });
    // The one key that changes nothing here says so (issue #14: nothing silently ignored).
    assert.deepEqual(warnings.map((w) => w.replace(/^.*js\.conf:/, 'js.conf:')), [
      'js.conf:1:1: jetstream max_outstanding_catchup is accepted: Natter replicas catch up at their own pace and do not use it',
    ]);
  });

  it('parses compact one-line JSON', () => {
    const text = '{"port": 4222, "debug": true, "cluster": {"port": 6222, "routes": []}, "sz": 1MB}';
    assert.deepEqual(mapToPlain(parseConfig(text)), {
      port: 4222,
      debug: true,
      cluster: { port: 6222, routes: [] },
      sz: 1024 ** 2,
    });
  });
});
