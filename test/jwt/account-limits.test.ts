/**
 * Limits from account and user JWTs through the real server: connections
 * per account (at connect and after an update lowers them), subscriptions
 * and payload per client (the lowest of user, account and server), the
 * lowered max_payload announced in INFO, and connections ended when the
 * user JWT (or its connect window) or the account JWT expires.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startNatter, type TestNatter } from '../helpers/natter.js';
import { waitUntil } from '../helpers/wait.js';
import { RawSession } from '../helpers/session.js';
import { accountJwt, newAccount, newUser, nowSec, signNonce, userJwt } from './encoder.js';
import { claimsRequest, closeReason, connectError, dial, OperatorWorld, sysUserJwt, type Dialled } from './operator-world.js';

const w = new OperatorWorld();
const limited = newAccount();
const open = newAccount();
const expiring = newAccount();
const ALL = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };

let srv: TestNatter;
let sys: Dialled;

before(async () => {
  srv = await startNatter({
    operator: w.operatorFile,
    resolver: 'MEMORY',
    max_payload: 4096,
    resolver_preload: {
      [w.sys.pub]: w.sysJwt(),
      [limited.pub]: accountJwt(limited.pub, w.op.kp, { limits: { ...ALL, conn: 2, subs: 3, payload: 512 } }),
      [open.pub]: accountJwt(open.pub, w.op.kp),
      [expiring.pub]: accountJwt(expiring.pub, w.op.kp, {}, { iat: nowSec() - 60 }),
    },
  });
  sys = await dial(srv.url, sysUserJwt(w), w.sysUser.seed, 'sys');
});

after(async () => {
  await sys.nc.close();
  await srv.close();
  w.cleanup();
});

describe('account limits', () => {
  it('refuses a connection past the account conn limit with nats-server error', async () => {
    const [u1, u2, u3] = [newUser(), newUser(), newUser()];
    const c1 = await dial(srv.url, userJwt(u1.pub, limited.kp), u1.seed);
    const c2 = await dial(srv.url, userJwt(u2.pub, limited.kp), u2.seed);
    try {
      assert.match(await connectError(srv.url, userJwt(u3.pub, limited.kp), u3.seed), /maximum account active connections exceeded/);
      // Another account is not affected.
      assert.equal(await connectError(srv.url, userJwt(u3.pub, open.kp), u3.seed), '');
    } finally {
      await c1.nc.close();
      await c2.nc.close();
    }
    await waitUntil(() => {
      const acc = srv.server.accounts.get(limited.pub);
      return acc !== undefined && srv.server.clientsOf(acc).size === 0;
    }, 2000, 'the account is empty');
    const c3 = await dial(srv.url, userJwt(u3.pub, limited.kp), u3.seed);
    await c3.nc.close();
  });

  it('enforces subscriptions per client: account limit, then a lower user limit', async () => {
    const u = newUser();
    const c = await dial(srv.url, userJwt(u.pub, limited.kp), u.seed);
    for (let i = 0; i < 4; i++) c.nc.subscribe(`s.${i}`);
    await c.nc.flush();
    await waitUntil(() => c.errors.length > 0, 2000, 'the fourth SUB is refused');
    assert.deepEqual(c.errors, ['maximum subscriptions exceeded']);
    assert.equal(c.nc.isClosed(), false);
    await c.nc.close();
    const v = newUser();
    const d = await dial(srv.url, userJwt(v.pub, limited.kp, { subs: 1 }), v.seed);
    d.nc.subscribe('a');
    d.nc.subscribe('b');
    await d.nc.flush();
    await waitUntil(() => d.errors.length > 0, 2000, 'the second SUB is refused');
    assert.deepEqual(d.errors, ['maximum subscriptions exceeded']);
    await d.nc.close();
  });

  it('a user JWT without a subs limit (0) is told and closed, as nats-server does', async () => {
    const u = newUser();
    const c = await dial(srv.url, userJwt(u.pub, open.kp, { subs: 0 }), u.seed);
    assert.equal(await closeReason(c), 'maximum subscriptions exceeded');
  });

  it('announces the lowered max_payload and closes a client that exceeds it', async () => {
    const u = newUser();
    const c = await dial(srv.url, userJwt(u.pub, limited.kp, { payload: 100 }), u.seed);
    assert.equal(c.nc.info?.max_payload, 100);
    await c.nc.close();
    const s = await RawSession.connect(srv.port);
    try {
      const nonce = String(s.info.nonce);
      const connect = { jwt: userJwt(u.pub, limited.kp), sig: signNonce(u.kp, nonce), protocol: 1, verbose: false, pedantic: false };
      // The account's 512 is lower than the server's 4096: INFO says so before the first PONG.
      const first = await s.request(`CONNECT ${JSON.stringify(connect)}\r\nPING\r\n`, 'PONG\r\n');
      assert.match(first, /^INFO \{.*"max_payload":512[,}].*\r\nPONG\r\n$/);
      s.send(`PUB big 600\r\n${'x'.repeat(600)}\r\n`);
      assert.equal(await s.until("-ERR 'Maximum Payload Violation'\r\n"), "-ERR 'Maximum Payload Violation'\r\n");
      assert.equal(await s.waitClosed(), true);
    } finally {
      s.close();
    }
  });

  it('cuts the oldest connections when an update lowers the conn limit, and applies new subs limits', async () => {
    const [u1, u2] = [newUser(), newUser()];
    const c1 = await dial(srv.url, userJwt(u1.pub, open.kp), u1.seed, 'older');
    const c2 = await dial(srv.url, userJwt(u2.pub, open.kp), u2.seed, 'newer');
    c2.nc.subscribe('x');
    c2.nc.subscribe('y');
    await c2.nc.flush();
    const reply = await claimsRequest(sys.nc, `$SYS.REQ.ACCOUNT.${open.pub}.CLAIMS.UPDATE`, accountJwt(open.pub, w.op.kp, { limits: { ...ALL, conn: 1, subs: 2 } }, { iat: nowSec() + 1 }));
    assert.deepEqual(reply, { data: { account: open.pub, code: 200, message: 'jwt updated' } });
    assert.equal(await closeReason(c1), 'maximum account active connections exceeded');
    // The newer client holds two subscriptions, the new limit: it is told and closed.
    assert.equal(await closeReason(c2), 'maximum subscriptions exceeded');
  });
});

describe('expiry', () => {
  it('disconnects a user at its JWT exp with User Authentication Expired', async () => {
    const u = newUser();
    const started = Date.now();
    // exp is in whole seconds: nowSec() + 1 may be only milliseconds away, and
    // a -ERR that lands inside connect() never reaches the status listener
    // dial() adds afterwards; + 2 keeps the user connected for at least a second.
    const c = await dial(srv.url, userJwt(u.pub, limited.kp, {}, { exp: nowSec() + 2 }), u.seed);
    assert.equal(await closeReason(c), 'User Authentication Expired');
    assert.ok(Date.now() - started < 5000, 'closed at its exp, not later');
    assert.deepEqual(c.errors, ['User Authentication Expired']);
  });

  it('disconnects a user at the end of its connect-time window', async (t) => {
    const hms = (ms: number): string => new Date(ms).toISOString().slice(11, 19);
    const now = Date.now();
    const secondOfDay = Math.floor(now / 1000) % 86400;
    if (secondOfDay < 120 || secondOfDay > 86400 - 10) {
      t.skip('too close to midnight UTC for a window of today');
      return;
    }
    const u = newUser();
    const window = { times: [{ start: hms(now - 60_000), end: hms(now + 2000) }], times_location: 'UTC' };
    const c = await dial(srv.url, userJwt(u.pub, limited.kp, window), u.seed);
    assert.equal(await closeReason(c), 'User Authentication Expired');
    assert.ok(Date.now() - now < 6000, 'closed at the end of the window, not later');
  });

  it('disconnects every client of an account when the account JWT expires', async () => {
    const u = newUser();
    const c = await dial(srv.url, userJwt(u.pub, expiring.kp), u.seed);
    // exp is in whole seconds: nowSec() + 1 may already be past when the update
    // lands, and an update that is expired on arrival disconnects nobody (as in
    // nats-server); + 2 leaves at least a second.
    const reply = await claimsRequest(sys.nc, `$SYS.REQ.ACCOUNT.${expiring.pub}.CLAIMS.UPDATE`, accountJwt(expiring.pub, w.op.kp, {}, { exp: nowSec() + 2 }));
    assert.deepEqual(reply, { data: { account: expiring.pub, code: 200, message: 'jwt updated' } });
    assert.equal(await closeReason(c), 'Account Authentication Expired');
    assert.match(await connectError(srv.url, userJwt(u.pub, expiring.kp), u.seed), /Authorization Violation/);
  });
});
