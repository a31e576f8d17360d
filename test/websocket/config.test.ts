/**
 * The websocket block: what the configuration file accepts and refuses
 * (with file:line:col), and the checks nats-server 2.9.10 makes when it
 * starts, with its words, compared with the reference binary.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { optionsFromConfigText } from '../../src/config/options-from-config.js';
import { websocketConfigFrom } from '../../src/websocket/config.js';
import { closeAllNatter, startNatter } from '../helpers/natter.js';
import { NATS_SERVER_BIN } from '../helpers/nats-server.js';
import { freePort } from '../helpers/ports.js';

const run = promisify(execFile);

after(async () => {
  await closeAllNatter();
});

function loadErrors(text: string): string {
  try {
    optionsFromConfigText(text, 'ws.conf');
    return '';
  } catch (e) {
    return (e as Error).message;
  }
}

test('a full block is read with nats-server\'s keys and aliases, and is no longer reported as inactive', () => {
  const r = optionsFromConfigText(`
    websocket {
      listen: "127.0.0.1:8443"
      advertise: "ws.example.com:443"
      no_tls: true
      same_origin: true
      allowed_origins: ["https://app.example.com", "http://localhost:3000"]
      compression: true
      handshake_timeout: "2.5s"
      jwt_cookie: "nats_jwt"
      no_auth_user: "guest"
      authorization { user: web, password: "s3cret", timeout: 3 }
    }
  `);
  assert.deepEqual(r.warnings.filter((w) => /websocket/.test(w)), []);
  const c = websocketConfigFrom(r.options.websocket);
  assert.ok(c !== null);
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.port, 8443);
  assert.equal(c.advertise, 'ws.example.com:443');
  assert.equal(c.noTls, true);
  assert.equal(c.sameOrigin, true);
  assert.deepEqual(c.allowedOrigins, ['https://app.example.com', 'http://localhost:3000']);
  assert.equal(c.compression, true);
  assert.equal(c.handshakeTimeoutMs, 2500);
  assert.equal(c.jwtCookie, 'nats_jwt');
  assert.equal(c.noAuthUser, 'guest');
  assert.deepEqual([c.user, c.password, c.token, c.authTimeoutMs], ['web', 's3cret', null, 3000]);

  // Aliases: ws, origin(s), compress, authentication, host/port; handshake_timeout in whole seconds.
  const a = websocketConfigFrom(optionsFromConfigText('ws { host: "::1", port: -1, origin: "http://x", compress: true, handshake_timeout: 4, authentication { token: t } }').options.websocket);
  assert.deepEqual([a?.host, a?.port, a?.allowedOrigins, a?.compression, a?.handshakeTimeoutMs, a?.token], ['::1', -1, ['http://x'], true, 4000, 't']);
  // Port 0 (or none) leaves websocket off.
  assert.equal(websocketConfigFrom(optionsFromConfigText('websocket { no_tls: true }').options.websocket), null);
});

test('bad values are reported with file:line:col', () => {
  assert.equal(loadErrors('websocket {\n  port: 8080\n  foo: 1\n}'), 'ws.conf:3:3: unknown field "foo"');
  assert.match(loadErrors('websocket {\n  port: 8080\n  compression: "yes"\n}'), /^ws\.conf:3:16: compression must be a boolean/);
  assert.match(loadErrors('websocket {\n  handshake_timeout: "abc"\n}'), /^ws\.conf:2:22: time: invalid duration "abc"/);
  assert.match(loadErrors('websocket {\n  listen: "127.0.0.1:xx"\n}'), /^ws\.conf:2:11: could not parse port "xx"/);
  assert.match(loadErrors('websocket {\n  authorization { user: a, permissions: {} }\n}'), /^ws\.conf:2:28: unknown field "permissions"/);
  assert.match(loadErrors('websocket: 5'), /^ws\.conf:1:\d+: websocket must be a map/);
  // Client-port TLS settings that mean nothing for an HTTPS listener are refused, not ignored.
  assert.match(loadErrors('websocket {\n  tls { cert_file: a, key_file: b, handshake_first: true }\n}'), /ws\.conf:2:\d+: handshake_first is not supported in the websocket tls block/);
  // Every problem at once.
  assert.equal(loadErrors('websocket {\n  a: 1\n  b: 2\n}').split('\n').length, 2);
});

/** What nats-server 2.9.10 says when it refuses to start with this configuration. */
async function natsServerRefusal(conf: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'natter-ws-'));
  try {
    const file = join(dir, 'a.conf');
    writeFileSync(file, conf);
    const r = await run(NATS_SERVER_BIN, ['-c', file, '-p', String(await freePort())], { timeout: 5000 }).then(
      () => '',
      (e: { stdout?: string; stderr?: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}`,
    );
    return r.replace(/^nats-server: /, '').trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the start checks refuse what nats-server refuses, in its words', async () => {
  const cases: Array<{ conf: string; block: Record<string, unknown>; extra?: Record<string, unknown> }> = [
    { conf: 'websocket { port: PORT }', block: {} },
    { conf: 'websocket { port: PORT, no_tls: true, no_auth_user: nob }', block: { no_tls: true, no_auth_user: 'nob' } },
    {
      conf: 'websocket { port: PORT, no_tls: true, no_auth_user: nob }\nauthorization { users: [{user: a, password: b}] }',
      block: { no_tls: true, no_auth_user: 'nob' },
      extra: { authorization: { users: [{ user: 'a', password: 'b' }] } },
    },
    {
      conf: 'websocket { port: PORT, no_tls: true, authorization { user: w, password: p } }\nauthorization { users: [{user: a, password: b}] }',
      block: { no_tls: true, authorization: { user: 'w', password: 'p' } },
      extra: { authorization: { users: [{ user: 'a', password: 'b' }] } },
    },
    {
      conf: 'websocket { port: PORT, no_tls: true, authorization { token: t } }\nauthorization { users: [{user: a, password: b}] }',
      block: { no_tls: true, authorization: { token: 't' } },
      extra: { authorization: { users: [{ user: 'a', password: 'b' }] } },
    },
    { conf: 'websocket { port: PORT, no_tls: true, jwt_cookie: "jwt" }', block: { no_tls: true, jwt_cookie: 'jwt' } },
  ];
  for (const c of cases) {
    const port = await freePort();
    const theirs = await natsServerRefusal(c.conf.replace('PORT', String(port)));
    assert.notEqual(theirs, '', c.conf);
    await assert.rejects(startNatter({ ...c.extra, websocket: { ...c.block, port } }), (e: Error) => {
      assert.equal(e.message, theirs, c.conf);
      return true;
    });
  }
});
