/**
 * Differential test of the full resolver: one scenario (claim update over
 * `$SYS`, look-up, list, revocation of a live user, account limits, a JWT
 * stream import, refused updates, delete) run against Debian's nats-server
 * 2.9.10 and against Natter, both started from the same configuration text.
 * Everything a client sees is recorded (connect errors, -ERR texts, close
 * reasons, deliveries, INFO max_payload, request replies without the server
 * block, the files left in the directory) and must be the same. Then each
 * server is started on the directory the other one wrote.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startNatsServer } from '../helpers/nats-server.js';
import { startNatter } from '../helpers/natter.js';
import { waitUntil } from '../helpers/wait.js';
import { loadConfigFile } from '../../src/config/options-from-config.js';
import { encodeActivation, encodeGeneric } from '../../src/jwt/encode.js';
import type { KeyPair } from '@nats-io/nkeys';
import { RawSession } from '../helpers/session.js';
import { accountJwt, newAccount, newUser, nowSec, signNonce, userJwt } from './encoder.js';
import { claimsRequest, closeReason, connectError, dial, OperatorWorld, requestText, sysUserJwt } from './operator-world.js';

const w = new OperatorWorld('natter-jwt-diff-');
const limited = newAccount();
const feed = newAccount();
const reader = newAccount();
const late = newAccount();
const [u1, u2, u3, r1, f1, l1] = [newUser(), newUser(), newUser(), newUser(), newUser(), newUser()];
const LIMITS = { subs: 3, data: -1, payload: 256, imports: -1, exports: -1, wildcards: true, conn: 2, leaf: -1 };
const ISSUED = nowSec() - 30;

const preload: Record<string, string> = {
  [w.sys.pub]: w.sysJwt(),
  [limited.pub]: accountJwt(limited.pub, w.op.kp, { limits: LIMITS }, { iat: ISSUED }),
  [feed.pub]: accountJwt(feed.pub, w.op.kp, {
    exports: [
      { name: 'feed', subject: 'feed.>', type: 'stream' },
      { name: 'alerts', subject: 'alerts.>', type: 'stream' },
      { name: 'query', subject: 'svc.query', type: 'service', token_req: true },
    ],
  }),
  [reader.pub]: accountJwt(reader.pub, w.op.kp, {
    imports: [
      { name: 'feed', subject: 'feed.>', account: feed.pub, type: 'stream', local_subject: 'in.>' },
      { name: 'alerts', subject: 'alerts.>', account: feed.pub, type: 'stream', to: 'pre' },
      { name: 'query', subject: 'svc.query', account: feed.pub, type: 'service', local_subject: 'ask',
        token: encodeActivation(reader.pub, feed.kp, { subject: 'svc.query', kind: 'service' }) },
    ],
  }),
};

interface Target {
  readonly url: string;
  stop(): Promise<void>;
}

type Start = (conf: string) => Promise<Target>;

function confFile(name: string, dir: string, withPreload: boolean): string {
  const file = join(w.dir, `${name}.conf`);
  writeFileSync(file, w.confText(`{ type: full, dir: "${dir}", allow_delete: true }`, withPreload ? preload : { [w.sys.pub]: w.sysJwt() }));
  return file;
}

const startReference: Start = async (file) => {
  const s = await startNatsServer({ args: ['-c', file] });
  return { url: s.url, stop: () => s.stop() };
};

const startOurs: Start = async (file) => {
  const s = await startNatter(loadConfigFile(file).options);
  return { url: s.url, stop: () => s.close() };
};

/**
 * What a raw connection gets after CONNECT + PING, until the server closes it
 * (the official client may see EPIPE instead when the server is quick to close).
 */
async function rawConnect(url: string, jwt: string, kp: KeyPair): Promise<string> {
  const s = await RawSession.connect(Number(new URL(url).port));
  try {
    const connect = { jwt, sig: signNonce(kp, String(s.info.nonce)), protocol: 1, verbose: false, pedantic: false };
    s.send(`CONNECT ${JSON.stringify(connect)}\r\nPING\r\n`);
    await s.waitClosed(2000);
    return s.text();
  } finally {
    s.close();
  }
}

/** The scenario; returns what clients saw, in order. */
async function scenario(start: Start, name: string): Promise<Record<string, unknown>> {
  const dir = join(w.dir, name);
  mkdirSync(dir);
  const t = await start(confFile(name, dir, true));
  const seen: Record<string, unknown> = {};
  const sys = await dial(t.url, sysUserJwt(w), w.sysUser.seed, 'sys');
  try {
    seen.filesAtStart = readdirSync(dir).sort();
    // Limits: payload announced, subscriptions per client, connections per account.
    const a1 = await dial(t.url, userJwt(u1.pub, limited.kp, {}, { iat: ISSUED }), u1.seed, 'u1');
    seen.maxPayload = a1.nc.info?.max_payload;
    const subs = ['a', 'b', 'c', 'd'].map((s) => a1.nc.subscribe(s));
    await a1.nc.flush();
    await waitUntil(() => a1.errors.length > 0, 2000, 'the subscription limit');
    seen.subsErrors = [...a1.errors];
    // Below the limit again: a client at its limit is told so on every account update, racing
    // (in nats-server) with whatever else the update tells it.
    subs[0].unsubscribe();
    await a1.nc.flush();
    const a2 = await dial(t.url, userJwt(u2.pub, limited.kp), u2.seed, 'u2');
    seen.thirdConnection = await rawConnect(t.url, userJwt(u3.pub, limited.kp), u3.kp);
    // A stream import with a local subject.
    const r = await dial(t.url, userJwt(r1.pub, reader.kp), r1.seed, 'reader');
    const f = await dial(t.url, userJwt(f1.pub, feed.kp), f1.seed, 'feed');
    const got: string[] = [];
    r.nc.subscribe('in.>', { callback: (_e, m) => { got.push(`${m.subject} ${m.string()}`); } });
    r.nc.subscribe('pre.>', { callback: (_e, m) => { got.push(`${m.subject} ${m.string()}`); } });
    f.nc.subscribe('svc.query', { callback: (_e, m) => { m.respond(`answer to ${m.string()}`); } });
    await r.nc.flush();
    await f.nc.flush();
    f.nc.publish('feed.news', 'hello');
    f.nc.publish('alerts.fire', 'run');
    await waitUntil(() => got.length === 2, 2000, 'the imported messages');
    seen.imported = got.sort();
    seen.service = (await r.nc.request('ask', 'q1', { timeout: 2000 })).string();
    // A new account over $SYS, looked up and listed.
    const lateJwt = accountJwt(late.pub, w.op.kp);
    seen.unknownBefore = await connectError(t.url, userJwt(l1.pub, late.kp), l1.seed);
    seen.update = await claimsRequest(sys.nc, '$SYS.REQ.CLAIMS.UPDATE', lateJwt);
    const l = await dial(t.url, userJwt(l1.pub, late.kp), l1.seed, 'late');
    seen.lookup = (await requestText(sys.nc, `$SYS.REQ.ACCOUNT.${late.pub}.CLAIMS.LOOKUP`)) === lateJwt;
    seen.list = await claimsRequest(sys.nc, '$SYS.REQ.CLAIMS.LIST');
    seen.garbage = await claimsRequest(sys.nc, '$SYS.REQ.CLAIMS.UPDATE', 'garbage');
    seen.mismatch = await claimsRequest(sys.nc, `$SYS.REQ.ACCOUNT.${feed.pub}.CLAIMS.UPDATE`, lateJwt);
    seen.tooManyExports = await claimsRequest(sys.nc, '$SYS.REQ.CLAIMS.UPDATE',
      accountJwt(late.pub, w.op.kp, { limits: { ...LIMITS, exports: 0 }, exports: [{ subject: 'x', type: 'stream' }] }));
    // Revocation of a live user; the other user of the account stays.
    seen.revoke = await claimsRequest(sys.nc, `$SYS.REQ.ACCOUNT.${limited.pub}.CLAIMS.UPDATE`,
      accountJwt(limited.pub, w.op.kp, { limits: LIMITS, revocations: { [u1.pub]: ISSUED + 1 } }));
    seen.revokedClose = await closeReason(a1);
    seen.revokedErrors = a1.errors.slice(1);
    seen.revokedAgain = await connectError(t.url, userJwt(u1.pub, limited.kp, {}, { iat: ISSUED }), u1.seed);
    await a2.nc.flush();
    seen.otherStays = !a2.nc.isClosed();
    // Delete, with a bad request first.
    seen.deleteRefused = await claimsRequest(sys.nc, '$SYS.REQ.CLAIMS.DELETE', encodeGeneric(w.op.pub, w.op.kp, { accounts: [w.sys.pub] }));
    seen.delete = await claimsRequest(sys.nc, '$SYS.REQ.CLAIMS.DELETE', encodeGeneric(w.op.pub, w.op.kp, { accounts: [late.pub] }));
    seen.deletedClose = await closeReason(l);
    seen.deletedAgain = await connectError(t.url, userJwt(l1.pub, late.kp), l1.seed);
    seen.filesAtEnd = readdirSync(dir).sort();
    for (const c of [a2, r, f]) await c.nc.close();
  } finally {
    await sys.nc.close();
    await t.stop();
  }
  return seen;
}

/** A server started on a directory the other one wrote: an account pushed there works here. */
async function readsDirOf(start: Start, writer: Start, name: string): Promise<string> {
  const dir = join(w.dir, name);
  mkdirSync(dir);
  const pushed = newAccount();
  const first = await writer(confFile(`${name}-w`, dir, false));
  try {
    const sys = await dial(first.url, sysUserJwt(w), w.sysUser.seed, 'sys');
    await claimsRequest(sys.nc, '$SYS.REQ.CLAIMS.UPDATE', accountJwt(pushed.pub, w.op.kp));
    await sys.nc.close();
  } finally {
    await first.stop();
  }
  const second = await start(confFile(`${name}-r`, dir, false));
  try {
    const u = newUser();
    return await connectError(second.url, userJwt(u.pub, pushed.kp), u.seed);
  } finally {
    await second.stop();
  }
}

after(() => w.cleanup());

describe('full resolver: Natter and nats-server 2.9.10 agree', () => {
  it('on every client-visible result of the scenario', async () => {
    const reference = await scenario(startReference, 'ref');
    const ours = await scenario(startOurs, 'ours');
    // Sanity: the scenario exercised what it means to.
    assert.equal(reference.revokedClose, 'User Authentication Revoked');
    assert.deepEqual(reference.imported, ['in.news hello', 'pre.alerts.fire run']);
    assert.equal(reference.service, 'answer to q1');
    assert.deepEqual(ours, reference);
  });

  it('on directories written by the other server', async () => {
    assert.equal(await readsDirOf(startOurs, startReference, 'ref-to-ours'), '');
    assert.equal(await readsDirOf(startReference, startOurs, 'ours-to-ref'), '');
  });
});
