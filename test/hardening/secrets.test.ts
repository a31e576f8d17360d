/**
 * No secret reaches a log (issue #17): a full session with every kind of
 * credential, run against `natter-server -DV` (trace and debug on), leaves
 * none of them in the server's output, in `/connz?auth=1` (and the other
 * monitoring pages, over HTTP and `$SYS`) or in `$SYS` events.
 *
 * nats-server 2.9.10 hides only a CONNECT's `pass`; Natter hides `pass`,
 * `auth_token`, `sig` and `jwt` with nats-server's `[REDACTED]`, and keeps
 * nkey seeds, URL passwords, encryption keys and TLS private keys out of
 * traces, debug lines, reload descriptions and config errors.
 *
 * Four servers, each logging to a captured stderr:
 * - M: accounts with a password user and an nkey user, a system account,
 *   TLS (plain clients allowed too), a cluster with a route password;
 * - P: M's route peer, soliciting M with the password in its route URL (M
 *   traces the route CONNECT coming in; like nats-server, P does not trace
 *   the one it sends);
 * - T: token authorization and a JetStream encryption key;
 * - O: operator mode, a user with a JWT and a seed (a creds file's content).
 * Every kind connects, fails to authenticate, and M and T reload (accepted
 * and refused). The test also asserts that the log did trace those CONNECTs
 * and reloads, so that an empty log could not pass it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { startNatterCli, type NatterCli } from '../helpers/natter-cli.js';
import { freePort } from '../helpers/ports.js';
import { waitUntil } from '../helpers/wait.js';
import { makeCerts, type CertSet } from '../tls/certs.js';
import { OperatorWorld, connectError, dial } from '../jwt/operator-world.js';
import { accountJwt, newAccount, newUser, signNonce, tamper, userJwt } from '../jwt/encoder.js';

/** Every secret of the session; none may appear in any output. Distinctive, so a match is never a coincidence. */
const S = {
  alicePass: 'alice-pass-Q7x9Kw2Lm',
  aliceNewPass: 'alice-newpass-R3t8Vb6Np',
  aliceWrongPass: 'alice-wrongpass-Z5c1Hs4Df',
  sysPass: 'sys-pass-J2g7Ty9Xc',
  routePass: 'route-pass-B8n3Lq5Wz',
  routeNewPass: 'route-newpass-M4k6Pe1Yr',
  token: 'token-F6d2Uj8Ka',
  newToken: 'token-new-C9s4Gv7Eb',
  wrongToken: 'token-wrong-N1h5Rx3Qt',
  jsKey: 'js-key-W7m2Zc9Lp',
  jsNewKey: 'js-newkey-E3q8Bt6Hv',
  rawLowerCasePass: 'raw-lower-pass-K4v7Nc2Sx',
  rawEscapedKeyPass: 'raw-escaped-pass-T9b3Mw6Jd',
  rawTruncatedPass: 'raw-truncated-pass-D5r8Qh1Yg',
  rawNumberPass: '918273645546372819',
  rawRouteBarePass: 'raw-route-pass-G2w8Xe5Kn',
  rawRouteNumberPass: '564738291029384756',
} as const;

const nkeyUser = newUser();
const strangerNkey = newUser();

type Secrets = Map<string, string>;

/** The base64 lines of a PEM private key: any one of them in a log is a leak. */
function pemBodyLines(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.length >= 16 && !l.startsWith('-----'));
}

/** Outputs that mention any secret, as "<output>: <secret name>". */
function leaks(outputs: Record<string, string>, secrets: Secrets): string[] {
  const found: string[] = [];
  for (const [where, text] of Object.entries(outputs)) {
    for (const [name, value] of secrets) if (text.includes(value)) found.push(`${where}: ${name}`);
    // Whatever the value: a credential field of a CONNECT shows only the marker.
    const shown = /"(pass|auth_token|sig|jwt)"\s*:\s*(?!"\[REDACTED\]")[^,}]+/.exec(text);
    if (shown !== null) found.push(`${where}: ${shown[0]}`);
  }
  return found;
}

/** Opens a raw connection, reads INFO, sends `lines`, and waits for the server to close it (or 2 s). */
function rawSession(port: number, lines: (info: Record<string, unknown>) => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    let sent = false;
    const done = setTimeout(() => s.destroy(), 2000);
    s.on('data', (d) => {
      buf += d.toString();
      const eol = buf.indexOf('\r\n');
      if (!sent && eol >= 0) {
        sent = true;
        s.write(lines(JSON.parse(buf.slice(5, eol)) as Record<string, unknown>));
      }
    });
    s.once('error', reject);
    s.once('close', () => {
      clearTimeout(done);
      resolve();
    });
  });
}

async function refused(p: Promise<NatsConnection>): Promise<void> {
  const nc = await p.catch(() => null);
  assert.equal(nc, null, 'a connection with bad credentials was accepted');
}

describe('secrets in logs', () => {
  let dir: string;
  let certs: CertSet;
  let op: OperatorWorld;
  const servers: NatterCli[] = [];
  const clients: NatsConnection[] = [];
  const secrets: Secrets = new Map(Object.entries(S));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'natter-secrets-'));
    certs = await makeCerts();
    op = new OperatorWorld();
    secrets.set('nkey user seed', nkeyUser.seed);
    secrets.set('stranger nkey seed', strangerNkey.seed);
    pemBodyLines(certs.server.key).forEach((l, i) => secrets.set(`TLS key line ${i + 1}`, l));
  });

  after(async () => {
    await Promise.allSettled(clients.map((nc) => nc.close()));
    await Promise.allSettled(servers.map((s) => s.stop()));
    certs?.cleanup();
    op?.cleanup();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  async function start(config: Record<string, unknown>, name: string): Promise<NatterCli> {
    const s = await startNatterCli(config, dir, ['-DV'], name);
    servers.push(s);
    return s;
  }

  async function client(p: Promise<NatsConnection>): Promise<NatsConnection> {
    const nc = await p;
    clients.push(nc);
    return nc;
  }

  it('accounts, nkeys, TLS, routes, reloads, /connz and $SYS events: every credential hidden', async () => {
    const [mCluster, pCluster, monitor] = [await freePort(), await freePort(), await freePort()];
    const accounts = (alicePass: string): Record<string, unknown> => ({
      APP: { users: [{ user: 'alice', password: alicePass }, { nkey: nkeyUser.pub }] },
      SYS: { users: [{ user: 'sys', password: S.sysPass }] },
    });
    const cluster = (port: number, pass: string, routes: string[]): Record<string, unknown> => ({
      name: 'C', host: '127.0.0.1', port, authorization: { user: 'ruser', password: pass }, routes,
    });
    const mConfig = {
      host: '127.0.0.1', server_name: 'M', http_port: monitor, system_account: 'SYS', accounts: accounts(S.alicePass),
      tls: { cert_file: certs.server.cert, key_file: certs.server.key }, allow_non_tls: true,
      cluster: cluster(mCluster, S.routePass, []),
    };
    const m = await start(mConfig, 'm');
    const url = `nats://127.0.0.1:${m.port}`;
    // M offers TLS (tls_available): the official client takes it unless told `tls: null`.
    const plain = { servers: url, tls: null };

    // $SYS events from here on.
    const sys = await client(connect({ ...plain, user: 'sys', pass: S.sysPass }));
    const events: string[] = [];
    sys.subscribe("$SYS.>", {
      callback: (_e, msg) => {
        events.push(`${msg.subject} ${msg.string()}`);
      },
    });
    await sys.flush();

    // The route: P solicits M with the password in the URL.
    const p = await start({
      host: '127.0.0.1', server_name: 'P', system_account: 'SYS', accounts: accounts(S.alicePass),
      cluster: cluster(pCluster, S.routePass, [`nats-route://ruser:${S.routePass}@127.0.0.1:${mCluster}`]),
    }, 'p');
    await m.waitForOutput(/Route connection created/, 5000);

    // Each kind connects, plain and over TLS, and fails once.
    await client(connect({ ...plain, user: 'alice', pass: S.alicePass }));
    await client(connect({ servers: url, user: 'alice', pass: S.alicePass, tls: { caFile: certs.ca.cert } }));
    await client(connect({ ...plain, authenticator: nkeyAuthenticator(new TextEncoder().encode(nkeyUser.seed)) }));
    await refused(connect({ ...plain, user: 'alice', pass: S.aliceWrongPass, reconnect: false }));
    await refused(connect({ ...plain, authenticator: nkeyAuthenticator(new TextEncoder().encode(strangerNkey.seed)), reconnect: false }));

    // CONNECTs the official client would not send: lower-case op, an escaped field name, a cut-off JSON, a number.
    await rawSession(m.port, () => `connect {"user":"alice","pass":"${S.rawLowerCasePass}"}\r\nPING\r\n`);
    await rawSession(m.port, () => `CONNECT {"user":"alice","p\\u0061ss":"${S.rawEscapedKeyPass}"}\r\nPING\r\n`);
    await rawSession(m.port, () => `CONNECT {"user":"alice","pass":"${S.rawTruncatedPass}\r\nPING\r\n`);
    await rawSession(m.port, () => `CONNECT {"user":"alice","pass":${S.rawNumberPass}}\r\nPING\r\n`);
    // Route CONNECTs that do not decode: the errors quote them.
    await rawSession(mCluster, () => `CONNECT {"user":"ruser","pass":${S.rawRouteBarePass}}\r\n`);
    await rawSession(mCluster, () => `CONNECT {"user":"ruser","pass":${S.rawRouteNumberPass}}\r\n`);
    // An nkey CONNECT whose signature we know, to look for it.
    await rawSession(m.port, (info) => {
      const sig = signNonce(nkeyUser.kp, String(info.nonce));
      secrets.set('nkey nonce signature', sig);
      return `CONNECT {"nkey":"${nkeyUser.pub}","sig":"${sig}","verbose":false}\r\nPING\r\n`;
    });

    const connz = await (await fetch(`http://127.0.0.1:${monitor}/connz?auth=1&subs=1`)).text();
    assert.match(connz, /"authorized_user": ?"alice"/, 'connz shows who is connected');
    assert.ok(connz.includes(nkeyUser.pub), 'connz shows the nkey user by its public key');
    // The other monitoring pages describe the configuration (routes, accounts): the same goes for them.
    const pages = [connz];
    for (const page of ['varz', 'routez?subs=1', 'subsz?subs=1', 'accountz?acc=APP', 'jsz', 'healthz']) {
      pages.push(await (await fetch(`http://127.0.0.1:${monitor}/${page}`)).text());
    }
    // And the same pages asked for over `$SYS`.
    for (const [subject, body] of [['$SYS.REQ.SERVER.PING.CONNZ', '{"auth":true,"subscriptions":true}'], ['$SYS.REQ.SERVER.PING.VARZ', '']]) {
      pages.push((await sys.request(subject, body)).string());
    }

    // A refused reload: the cluster block may not change (old and new are printed, without passwords).
    m.writeConfig({ ...mConfig, cluster: cluster(mCluster, S.routeNewPass, [`nats-route://ruser:${S.routeNewPass}@127.0.0.1:${pCluster}`]) });
    m.proc.kill('SIGHUP');
    const refusedReload = await m.waitForOutput(/config reload not supported for cluster/);
    assert.match(refusedReload, /old=\{.*"password":"\[REDACTED\]".*\}, new=\{.*"password":"\[REDACTED\]".*"nats-route:\/\/ruser:xxxxx@127\.0\.0\.1:\d+"/);
    // An accepted one: alice's password changes, and she connects with the new one.
    m.writeConfig({ ...mConfig, accounts: accounts(S.aliceNewPass) });
    m.proc.kill('SIGHUP');
    await m.waitForOutput(/Reloaded server configuration/);
    await client(connect({ ...plain, user: 'alice', pass: S.aliceNewPass }));
    await waitUntil(() => events.some((e) => e.includes('"user":"alice"') && e.includes('CONNECT')), 3000, 'the connect events');

    const mLog = m.output();
    // Not vacuous: the CONNECTs, their failures, the route and the reloads are all in the log.
    assert.match(mLog, /\[TRC\] .* - <<- \[CONNECT \{.*"user":"alice".*"pass":"\[REDACTED\]"/);
    assert.match(mLog, /\[TRC\] .* - <<- \[CONNECT \{"user":"alice","pass":"\[REDACTED\]"\}\]/, 'the lower-case connect');
    assert.match(mLog, /\[TRC\] .* - <<- \[CONNECT \{"user":"alice","p\\u0061ss":"\[REDACTED\]"\}\]/);
    assert.match(mLog, /\[TRC\] .* - <<- \[CONNECT \{"nkey":"U[A-Z2-7]+","sig":"\[REDACTED\]"/);
    assert.match(mLog, /\[TRC\] .* - <<- \[CONNECT \{.*"pass":"\[REDACTED\]".*"cluster":"C"/, 'the route CONNECT coming in');
    // The route CONNECT going out is not traced (nor by nats-server): P says it sent one.
    assert.match(p.output(), /Route connect msg sent/);
    assert.match(mLog, /authentication error/);
    assert.match(mLog, /rid:\d+ - Unexpected token .*"pass":"\[REDACTED\]"/, 'the undecodable route CONNECT');
    assert.match(mLog, /rid:\d+ - json: cannot unmarshal number into field pass/);
    assert.match(mLog, /Reloaded: accounts/);
    assert.ok(events.some((e) => e.includes('CLIENT.AUTH.ERR')), 'auth error events');
    assert.deepEqual(leaks({ M: mLog, P: p.output(), monitoring: pages.join('\n'), events: events.join('\n') }, secrets), []);
  });

  it('a token, and a JetStream encryption key (refused: Natter has no encryption at rest): hidden in traces, reloads and refusals', async () => {
    const tConfig = (token: string, key?: string): Record<string, unknown> => ({
      host: '127.0.0.1', authorization: { token }, jetstream: { store_dir: join(dir, 'js'), ...(key === undefined ? {} : { key }) },
    });
    const t = await start(tConfig(S.token), 't');
    const url = `nats://127.0.0.1:${t.port}`;
    await client(connect({ servers: url, token: S.token }));
    await refused(connect({ servers: url, token: S.wrongToken, reconnect: false }));
    // Accepted: a new token. Refused: an encryption key, which names a feature Natter lacks.
    t.writeConfig(tConfig(S.newToken));
    t.proc.kill('SIGHUP');
    await t.waitForOutput(/Reloaded server configuration/);
    await client(connect({ servers: url, token: S.newToken }));
    t.writeConfig(tConfig(S.newToken, S.jsNewKey));
    t.proc.kill('SIGHUP');
    const refusedReload = await t.waitForOutput(/encryption at rest/);
    // A server started with the key refuses to start, and says why without the key.
    const withKey = await start(tConfig(S.token, S.jsKey), 'k').then(
      (k) => ({ started: true, output: k.output() }),
      (e: unknown) => ({ started: false, output: e instanceof Error ? e.message : String(e) }),
    );

    const log = t.output();
    assert.match(log, /\[TRC\] .* - <<- \[CONNECT \{.*"auth_token":"\[REDACTED\]"/);
    assert.match(log, /Reloaded: authorization token/);
    assert.match(refusedReload, /t\.conf:\d+:\d+: key: encryption at rest is not supported/);
    assert.equal(withKey.started, false, 'a configuration asking for encryption at rest does not start');
    assert.deepEqual(leaks({ T: log, K: withKey.output }, secrets), []);
  });

  it('operator mode: the user JWT, its seed and the nonce signature stay out', async () => {
    const account = newAccount();
    const user = newUser();
    const stranger = newUser();
    const jwt = userJwt(user.pub, account.kp);
    const forged = tamper(jwt);
    secrets.set('user JWT', jwt);
    secrets.set('user seed', user.seed);
    secrets.set('stranger seed', stranger.seed);
    secrets.set('tampered user JWT', forged);
    const o = await start({
      host: '127.0.0.1', operator: op.operatorFile, system_account: op.sys.pub, resolver: 'MEMORY',
      resolver_preload: { [op.sys.pub]: op.sysJwt(), [account.pub]: accountJwt(account.pub, op.op.kp) },
    }, 'o');
    const url = `nats://127.0.0.1:${o.port}`;
    const d = await dial(url, jwt, user.seed);
    clients.push(d.nc);
    assert.notEqual(await connectError(url, jwt, stranger.seed), '', 'a JWT signed for with another seed');
    assert.notEqual(await connectError(url, forged, user.seed), '', 'a tampered JWT');

    const log = o.output();
    assert.match(log, /\[TRC\] .* - <<- \[CONNECT \{.*"jwt":"\[REDACTED\]".*"sig":"\[REDACTED\]"|"sig":"\[REDACTED\]".*"jwt":"\[REDACTED\]"/);
    assert.match(log, /authentication error/);
    assert.deepEqual(leaks({ O: log }, secrets), []);
  });
});
