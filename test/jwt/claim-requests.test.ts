/**
 * The full resolver through the real server: account JWTs kept in a
 * directory across restarts, `$SYS` claim requests (update, lookup, list,
 * delete) from a system-account user, refusals that change nothing, and
 * changes applied to live clients (revocations, removed signing keys,
 * deleted accounts). Also the memory and cache resolvers' update subjects
 * and the resolver block's configuration errors.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as v2 from 'nats';
import { startNatter, type TestNatter } from '../helpers/natter.js';
import { loadConfigFile } from '../../src/config/options-from-config.js';
import { encodeGeneric } from '../../src/jwt/encode.js';
import { formatCreds } from '../../src/jwt/creds.js';
import { accountJwt, newAccount, newOperator, newUser, nowSec, userJwt } from './encoder.js';
import { claimsRequest, closeReason, connectError, dial, OperatorWorld, requestText, sysUserJwt, type Dialled } from './operator-world.js';

const w = new OperatorWorld();
const jwtDir = join(w.dir, 'jwt');
const appA = newAccount();
const appB = newAccount();
const alice = newUser();
const bob = newUser();
const sk = newAccount();

let srv: TestNatter;
let sys: Dialled;

function fullResolver(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    operator: w.operatorFile,
    system_account: w.sys.pub,
    resolver: { type: 'full', dir: jwtDir, allow_delete: true, ...extra },
    resolver_preload: { [w.sys.pub]: w.sysJwt(), [appA.pub]: accountJwt(appA.pub, w.op.kp, { signing_keys: [sk.pub] }, { iat: nowSec() - 60 }) },
  };
}

before(async () => {
  srv = await startNatter(fullResolver());
  sys = await dial(srv.url, sysUserJwt(w), w.sysUser.seed, 'sys');
});

after(async () => {
  await sys.nc.close();
  await srv.close();
  w.cleanup();
});

describe('full resolver', () => {
  it('stores preloads as <dir>/<account>.jwt and accepts claim updates for new accounts', async () => {
    assert.deepEqual(readdirSync(jwtDir).sort(), [`${appA.pub}.jwt`, `${w.sys.pub}.jwt`].sort());
    assert.match(await connectError(srv.url, userJwt(bob.pub, appB.kp), bob.seed), /Authorization Violation/);
    const b = accountJwt(appB.pub, w.op.kp);
    assert.deepEqual(await claimsRequest(sys.nc, '$SYS.REQ.CLAIMS.UPDATE', b), { data: { account: appB.pub, code: 200, message: 'jwt updated' } });
    assert.equal(readFileSync(join(jwtDir, `${appB.pub}.jwt`), 'utf8'), b);
    assert.equal(await connectError(srv.url, userJwt(bob.pub, appB.kp), bob.seed), '');
    assert.equal(await requestText(sys.nc, `$SYS.REQ.ACCOUNT.${appB.pub}.CLAIMS.LOOKUP`), b);
    assert.equal(await requestText(sys.nc, `$SYS.REQ.ACCOUNT.${newAccount().pub}.CLAIMS.LOOKUP`, '', 300), 'timeout');
    assert.deepEqual(await claimsRequest(sys.nc, '$SYS.REQ.CLAIMS.LIST'), { data: [appA.pub, appB.pub, w.sys.pub].sort() });
  });

  it('refuses bad updates with an error reply and changes nothing', async () => {
    const before = readFileSync(join(jwtDir, `${appA.pub}.jwt`), 'utf8');
    const refusals: Array<[string, string, string, string]> = [
      ['$SYS.REQ.CLAIMS.UPDATE', 'garbage', 'n/a', 'jwt update resulted in error - expected 3 chunks'],
      ['$SYS.REQ.CLAIMS.UPDATE', accountJwt(appA.pub, newOperator().kp), appA.pub, 'jwt update resulted in error - not signed by a trusted operator key'],
      [`$SYS.REQ.ACCOUNT.${appA.pub}.CLAIMS.UPDATE`, accountJwt(appB.pub, w.op.kp), appA.pub, 'jwt update resulted in error - subject does not match jwt content'],
      ['$SYS.REQ.CLAIMS.UPDATE', accountJwt(appA.pub, w.op.kp, {}, { iat: nowSec() - 3600 }), appA.pub, 'older than the current one'],
      ['$SYS.REQ.CLAIMS.UPDATE', accountJwt(appA.pub, w.op.kp, { limits: { imports: 0, exports: -1, subs: -1, conn: -1, payload: -1, data: -1 }, imports: [{ subject: 'x', account: appB.pub, type: 'stream' }] }), appA.pub,
        'jwt validation failed - validation errors: [the account contains more imports than allowed by the operator the account contains more imports than allowed by the operator]'],
      ['$SYS.REQ.CLAIMS.UPDATE', accountJwt(appA.pub, w.op.kp, { limits: { exports: 5, wildcards: false }, exports: [{ subject: 'x.*', type: 'stream' }] }), appA.pub,
        'jwt validation failed - validation errors: [the account contains wildcard exports that are not allowed by the operator]'],
    ];
    for (const [subject, body, account, description] of refusals) {
      const reply = await claimsRequest(sys.nc, subject, body);
      assert.ok(typeof reply !== 'string', `${subject} answered`);
      const error = reply.error as Record<string, unknown>;
      assert.equal(error.account, account, description);
      assert.equal(error.code, 500);
      assert.ok(String(error.description).includes(description), `${String(error.description)} has ${description}`);
    }
    assert.equal(readFileSync(join(jwtDir, `${appA.pub}.jwt`), 'utf8'), before);
    assert.equal(await requestText(sys.nc, `$SYS.REQ.ACCOUNT.${appA.pub}.CLAIMS.LOOKUP`), before);
  });

  it('revokes connected users at once and refuses them afterwards', async () => {
    const aliceJwt = userJwt(alice.pub, appA.kp, {}, { iat: nowSec() - 10 });
    const a = await dial(srv.url, aliceJwt, alice.seed, 'alice');
    const carol = newUser();
    const c = await dial(srv.url, userJwt(carol.pub, appA.kp), carol.seed, 'carol');
    const reply = await claimsRequest(sys.nc, `$SYS.REQ.ACCOUNT.${appA.pub}.CLAIMS.UPDATE`,
      accountJwt(appA.pub, w.op.kp, { signing_keys: [sk.pub], revocations: { [alice.pub]: nowSec() - 5 } }));
    assert.deepEqual(reply, { data: { account: appA.pub, code: 200, message: 'jwt updated' } });
    assert.equal(await closeReason(a), 'User Authentication Revoked');
    assert.deepEqual(a.errors, ['User Authentication Revoked']);
    assert.match(await connectError(srv.url, aliceJwt, alice.seed), /Authorization Violation/);
    // A JWT issued after the revocation time is a new credential.
    assert.equal(await connectError(srv.url, userJwt(alice.pub, appA.kp), alice.seed), '');
    await c.nc.flush();
    assert.equal(c.nc.isClosed(), false);
    await c.nc.close();
  });

  it('closes users of a signing key that was removed', async () => {
    const dave = newUser();
    const d = await dial(srv.url, userJwt(dave.pub, sk.kp, { issuer_account: appA.pub }), dave.seed, 'dave');
    const reply = await claimsRequest(sys.nc, '$SYS.REQ.CLAIMS.UPDATE', accountJwt(appA.pub, w.op.kp, {}, { iat: nowSec() + 1 }));
    assert.deepEqual(reply, { data: { account: appA.pub, code: 200, message: 'jwt updated' } });
    await d.closed;
    assert.equal(d.nc.isClosed(), true);
    assert.match(await connectError(srv.url, userJwt(dave.pub, sk.kp, { issuer_account: appA.pub }), dave.seed), /Authorization Violation/);
  });

  it('cuts bearer users when the account stops allowing bearer tokens', async () => {
    const eve = newUser();
    const bearerJwt = userJwt(eve.pub, appA.kp, { bearer_token: true });
    const e = await dial(srv.url, bearerJwt, eve.seed, 'eve');
    const update = accountJwt(appA.pub, w.op.kp, { limits: { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1, disallow_bearer: true } }, { iat: nowSec() + 2 });
    assert.deepEqual(await claimsRequest(sys.nc, '$SYS.REQ.CLAIMS.UPDATE', update), { data: { account: appA.pub, code: 200, message: 'jwt updated' } });
    assert.equal(await closeReason(e), 'Authorization Violation');
    assert.match(await connectError(srv.url, bearerJwt, eve.seed), /Authorization Violation/);
  });

  it('deletes accounts only for a request self-signed by an operator key, and cuts their clients', async () => {
    const b = await dial(srv.url, userJwt(bob.pub, appB.kp), bob.seed, 'bob');
    const other = newOperator();
    const refusals: Array<[string, string]> = [
      [encodeGeneric(other.pub, other.kp, { accounts: [appB.pub] }), `delete accounts request by ${other.pub} failed - not trusted`],
      [encodeGeneric(appB.pub, w.op.kp, { accounts: [appB.pub] }), `delete accounts request by ${appB.pub} failed - not self signed`],
      [encodeGeneric(w.op.pub, w.op.kp, { accounts: [w.sys.pub] }), `delete accounts request by ${w.op.pub} failed - not allowed to delete system account`],
      [encodeGeneric(w.op.pub, w.op.kp, { accounts: ['nope'] }), `delete accounts request by ${w.op.pub} failed - malformed request`],
    ];
    for (const [body, description] of refusals) {
      assert.deepEqual(await claimsRequest(sys.nc, '$SYS.REQ.CLAIMS.DELETE', body), { error: { code: 500, description } });
    }
    assert.equal(b.nc.isClosed(), false);
    const ok = await claimsRequest(sys.nc, '$SYS.REQ.CLAIMS.DELETE', encodeGeneric(w.op.pub, w.op.kp, { accounts: [appB.pub] }));
    assert.deepEqual(ok, { data: { code: 200, message: 'deleted 1 accounts' } });
    assert.equal(await closeReason(b), 'Account Authentication Expired');
    assert.ok(existsSync(join(jwtDir, `${appB.pub}.jwt.deleted`)));
    assert.ok(!existsSync(join(jwtDir, `${appB.pub}.jwt`)));
    assert.match(await connectError(srv.url, userJwt(bob.pub, appB.kp), bob.seed), /Authorization Violation/);
  });

  it('loads the accounts of its directory after a restart', async () => {
    const c = newAccount();
    const cJwt = accountJwt(c.pub, w.op.kp);
    assert.deepEqual(await claimsRequest(sys.nc, `$SYS.REQ.ACCOUNT.${c.pub}.CLAIMS.UPDATE`, cJwt), { data: { account: c.pub, code: 200, message: 'jwt updated' } });
    const again = await startNatter({ ...fullResolver(), resolver_preload: undefined });
    try {
      const u = newUser();
      assert.equal(await connectError(again.url, userJwt(u.pub, c.kp), u.seed), '');
      assert.match(await connectError(again.url, userJwt(u.pub, appB.kp), u.seed), /Authorization Violation/);
      assert.ok(again.server.accounts.has(c.pub));
    } finally {
      await again.close();
    }
  });
});

describe('memory and cache resolvers', () => {
  it('memory: per-account update subjects (new and old) replace preloaded accounts; others are skipped', async () => {
    const m = new OperatorWorld();
    const acc = newAccount();
    const s = await startNatter({ operator: m.operatorFile, resolver: 'MEMORY', resolver_preload: { [m.sys.pub]: m.sysJwt(), [acc.pub]: accountJwt(acc.pub, m.op.kp) } });
    const admin = await dial(s.url, sysUserJwt(m), m.sysUser.seed, 'sys');
    try {
      const u = newUser();
      const d = await dial(s.url, userJwt(u.pub, acc.kp, {}, { iat: nowSec() - 10 }), u.seed, 'u');
      const revoke = accountJwt(acc.pub, m.op.kp, { revocations: { [u.pub]: nowSec() } });
      assert.deepEqual(await claimsRequest(admin.nc, `$SYS.ACCOUNT.${acc.pub}.CLAIMS.UPDATE`, revoke), { data: { account: acc.pub, code: 200, message: 'jwt updated' } });
      assert.equal(await closeReason(d), 'User Authentication Revoked');
      // The nats v2 client with a creds file: it works, then its user is revoked.
      const v = newUser();
      const old = await v2.connect({
        servers: s.url, reconnect: false,
        authenticator: v2.credsAuthenticator(new TextEncoder().encode(formatCreds(userJwt(v.pub, acc.kp, {}, { iat: nowSec() - 10 }), v.seed))),
      });
      const echo = old.subscribe('v2.echo', { max: 1 });
      old.publish('v2.echo', 'hi');
      for await (const m of echo) assert.equal(m.string(), 'hi');
      const revokeBoth = accountJwt(acc.pub, m.op.kp, { revocations: { [u.pub]: nowSec(), [v.pub]: nowSec() } }, { iat: nowSec() + 1 });
      assert.deepEqual(await claimsRequest(admin.nc, `$SYS.REQ.ACCOUNT.${acc.pub}.CLAIMS.UPDATE`, revokeBoth), { data: { account: acc.pub, code: 200, message: 'jwt updated' } });
      const why = await old.closed();
      assert.match(String(why?.message), /User Authentication Revoked/);
      const stranger = newAccount();
      assert.deepEqual(await claimsRequest(admin.nc, `$SYS.REQ.ACCOUNT.${stranger.pub}.CLAIMS.UPDATE`, accountJwt(stranger.pub, m.op.kp)),
        { data: { account: stranger.pub, code: 200, message: 'jwt update skipped' } });
      assert.deepEqual(await claimsRequest(admin.nc, `$SYS.REQ.ACCOUNT.${acc.pub}.CLAIMS.UPDATE`, ''),
        { error: { account: acc.pub, code: 500, description: 'jwt update error - request body is empty' } });
      // The memory resolver has no directory services.
      assert.equal(await requestText(admin.nc, '$SYS.REQ.CLAIMS.LIST', '', 300), 'no responders');
    } finally {
      await admin.nc.close();
      await s.close();
      m.cleanup();
    }
  });

  it('cache: evicts the least recently used JWT past its limit and skips updates of unknown accounts', async () => {
    const m = new OperatorWorld();
    const dir = join(m.dir, 'cache');
    const [a1, a2] = [newAccount(), newAccount()];
    // Three preloads, room for two: the first one stored is evicted.
    const s = await startNatter({
      operator: m.operatorFile,
      resolver: { type: 'cache', dir, limit: 2 },
      resolver_preload: { [a1.pub]: accountJwt(a1.pub, m.op.kp), [a2.pub]: accountJwt(a2.pub, m.op.kp), [m.sys.pub]: m.sysJwt() },
    });
    const admin = await dial(s.url, sysUserJwt(m), m.sysUser.seed, 'sys');
    try {
      assert.deepEqual(await claimsRequest(admin.nc, '$SYS.REQ.CLAIMS.LIST'), { data: [a2.pub, m.sys.pub].sort() });
      const u = newUser();
      assert.match(await connectError(s.url, userJwt(u.pub, a1.kp), u.seed), /Authorization Violation/);
      assert.equal(await connectError(s.url, userJwt(u.pub, a2.kp), u.seed), '');
      assert.deepEqual(await claimsRequest(admin.nc, '$SYS.REQ.CLAIMS.UPDATE', accountJwt(a1.pub, m.op.kp)),
        { data: { account: a1.pub, code: 200, message: 'jwt update cache skipped' } });
      assert.deepEqual(await claimsRequest(admin.nc, '$SYS.REQ.CLAIMS.UPDATE', accountJwt(a2.pub, m.op.kp, {}, { iat: nowSec() + 1 })),
        { data: { account: a2.pub, code: 200, message: 'jwt updated cache' } });
    } finally {
      await admin.nc.close();
      await s.close();
      m.cleanup();
    }
  });
});

describe('resolver configuration', () => {
  it('reports resolver block problems at file:line:col', () => {
    const file = join(w.dir, 'bad.conf');
    writeFileSync(file, `operator: "${w.operatorFile}"\nresolver: {\n  type: full\n  dir: "${w.dir}/x"\n  ttl: "1h"\n}\n`);
    assert.throws(() => loadConfigFile(file), (e: Error) => e.message.includes(`${file}:5:8: FULL does not accept ttl`));
    writeFileSync(file, `operator: "${w.operatorFile}"\nresolver: URL("http://localhost:9090/jwt/v1/accounts/")\n`);
    assert.throws(() => loadConfigFile(file), (e: Error) => e.message.includes(`${file}:2:11: the URL account resolver is not supported`));
  });
});
