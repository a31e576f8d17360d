/**
 * Operator mode over websocket: nats.ws logging in with a creds file (the
 * KubeCon edge seed's browser chat), the user JWT from the cookie
 * `jwt_cookie` names (a browser sends it with the upgrade request) when
 * CONNECT carries none, bearer tokens as a web login gives them out, and
 * the WEBSOCKET connection type of allowed_connection_types.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as wsConnect, credsAuthenticator, StringCodec } from 'nats.ws';
import { formatCreds } from '../../src/jwt/creds.js';
import { closeAllNatter } from '../helpers/natter.js';
import { waitUntil } from '../helpers/wait.js';
import { accountJwt, newAccount, newOperator, newUser, operatorJwt, userJwt } from '../jwt/encoder.js';
import { frame, installWebSocketGlobal, rawWebsocket, startWsNatter, type WsNatter } from './helpers.js';

const op = newOperator();
const sys = newAccount();
const app = newAccount();
const web = newUser();
const tcpOnly = newUser();
const wsOnly = newUser();

let dir: string;
let srv: WsNatter;

before(async () => {
  installWebSocketGlobal();
  dir = mkdtempSync(join(tmpdir(), 'natter-ws-jwt-'));
  const opFile = join(dir, 'op.jwt');
  writeFileSync(opFile, operatorJwt(op, { system_account: sys.pub }));
  srv = await startWsNatter({ jwt_cookie: 'nats_jwt' }, {
    operator: opFile,
    resolver: 'MEMORY',
    resolver_preload: { [sys.pub]: accountJwt(sys.pub, op.kp), [app.pub]: accountJwt(app.pub, op.kp) },
  });
});

after(async () => {
  await closeAllNatter();
  rmSync(dir, { recursive: true, force: true });
});

/** Upgrades with `cookie` (when given), sends CONNECT and a PING; returns what came back once the server answered. */
async function login(cookie: string | null, connect: Record<string, unknown> = {}): Promise<string> {
  const ws = await rawWebsocket(srv.wsPort, cookie === null ? '' : `Cookie: theme=dark; nats_jwt=${cookie}\r\n`);
  try {
    ws.socket.write(frame(2, Buffer.from(`CONNECT ${JSON.stringify({ verbose: false, ...connect })}\r\nPING\r\n`)));
    await waitUntil(() => /PONG|-ERR/.test(ws.reader.text()), 3000, 'an answer to CONNECT');
    return ws.reader.text().replace(/^INFO [^\n]*\n/, '');
  } finally {
    ws.socket.destroy();
  }
}

test('the cookie\'s bearer JWT logs the websocket client in when CONNECT has none', async () => {
  const bearer = userJwt(web.pub, app.kp, { bearer_token: true });
  assert.equal(await login(bearer), 'PONG\r\n');
  assert.match(await login(null), /-ERR 'Authorization Violation'/);
  // A JWT in CONNECT goes first: a bad one is not rescued by the cookie.
  assert.match(await login(bearer, { jwt: 'not-a-jwt' }), /-ERR 'Authorization Violation'/);
});

test('allowed_connection_types: WEBSOCKET admits the user over websocket, STANDARD does not', async () => {
  assert.equal(await login(userJwt(wsOnly.pub, app.kp, { bearer_token: true, allowed_connection_types: ['WEBSOCKET'] })), 'PONG\r\n');
  assert.match(await login(userJwt(tcpOnly.pub, app.kp, { bearer_token: true, allowed_connection_types: ['STANDARD'] })), /-ERR 'Authorization Violation'/);
});

test('nats.ws with a creds file: the nonce is signed over websocket, and the account\'s subjects are its own', async () => {
  const creds = new TextEncoder().encode(formatCreds(userJwt(web.pub, app.kp), web.seed));
  const sc = StringCodec();
  const nc = await wsConnect({ servers: srv.wsUrl, authenticator: credsAuthenticator(creds) });
  try {
    assert.ok(typeof nc.info?.nonce === 'string' && nc.info.nonce.length > 0);
    nc.subscribe('chat.room', { callback: (_e, m) => { m.respond(sc.encode(`echo ${sc.decode(m.data)}`)); } });
    const r = await nc.request('chat.room', sc.encode('hi'), { timeout: 2000 });
    assert.equal(sc.decode(r.data), 'echo hi');
    const c = [...srv.server.clients.values()].find((x) => x.connectionType() === 'WEBSOCKET');
    assert.equal(c?.account.name, app.pub);
  } finally {
    await nc.close();
  }
  // Someone else's key cannot sign for this JWT.
  const forged = new TextEncoder().encode(formatCreds(userJwt(web.pub, app.kp), wsOnly.seed));
  await assert.rejects(wsConnect({ servers: srv.wsUrl, authenticator: credsAuthenticator(forged), reconnect: false }), /Authorization Violation/i);
});
