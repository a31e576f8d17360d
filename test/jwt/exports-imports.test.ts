/**
 * JWT exports and imports through the real server: public stream and
 * service exports, private ones that need an activation token (issued by
 * the exporter or one of its signing keys, for the importing account, not
 * expired, not revoked by the export), account_token_position, and changes
 * applied live by claim updates (a new import, a revoked activation) and by
 * an activation's expiry.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NatsConnection } from '@nats-io/transport-node';
import { startNatter, type TestNatter } from '../helpers/natter.js';
import { waitUntil } from '../helpers/wait.js';
import { encodeActivation } from '../../src/jwt/encode.js';
import { accountJwt, newAccount, newUser, nowSec, userJwt } from './encoder.js';
import { claimsRequest, dial, OperatorWorld, sysUserJwt, type Dialled } from './operator-world.js';

const w = new OperatorWorld();
const exporter = newAccount();
const exporterSk = newAccount();
const importer = newAccount();
const outsider = newAccount();

const EXPORTS = [
  { name: 'news', subject: 'news.>', type: 'stream' },
  { name: 'time', subject: 'svc.time', type: 'service' },
  { name: 'private', subject: 'private.>', type: 'stream', token_req: true },
  { name: 'psvc', subject: 'psvc.echo', type: 'service', token_req: true },
  { name: 'per-account', subject: 'acct.*.data', type: 'stream', account_token_position: 2 },
];

function exporterJwt(extra: Record<string, unknown> = {}, std: Record<string, unknown> = {}): string {
  return accountJwt(exporter.pub, w.op.kp, { signing_keys: [exporterSk.pub], exports: EXPORTS, ...extra }, std);
}

const privateToken = encodeActivation(importer.pub, exporter.kp, { subject: 'private.>', kind: 'stream' });
const serviceToken = encodeActivation(importer.pub, exporterSk.kp, { subject: 'psvc.echo', kind: 'service', issuerAccount: exporter.pub });

const IMPORTS = [
  { name: 'news', subject: 'news.>', account: exporter.pub, type: 'stream', to: 'ext' },
  { name: 'time', subject: 'svc.time', account: exporter.pub, type: 'service', local_subject: 'time' },
  { name: 'private', subject: 'private.>', account: exporter.pub, type: 'stream', token: privateToken },
  { name: 'psvc', subject: 'psvc.echo', account: exporter.pub, type: 'service', token: serviceToken },
  { name: 'mine', subject: `acct.${importer.pub}.data`, account: exporter.pub, type: 'stream' },
];

let srv: TestNatter;
let sys: Dialled;
let exp: Dialled;
let imp: Dialled;

/** Collects what a subscription receives. */
function collect(nc: NatsConnection, subject: string): string[] {
  const got: string[] = [];
  nc.subscribe(subject, { callback: (_e, m) => { got.push(`${m.subject}:${m.string()}`); } });
  return got;
}

/** Both clients' traffic so far was processed: what was not delivered by now will not be. */
async function flushBoth(): Promise<void> {
  await exp.nc.flush();
  await imp.nc.flush();
}

before(async () => {
  srv = await startNatter({
    operator: w.operatorFile,
    resolver: 'MEMORY',
    resolver_preload: {
      [w.sys.pub]: w.sysJwt(),
      [exporter.pub]: exporterJwt({}, { iat: nowSec() - 60 }),
      [importer.pub]: accountJwt(importer.pub, w.op.kp, { imports: IMPORTS }, { iat: nowSec() - 60 }),
      [outsider.pub]: accountJwt(outsider.pub, w.op.kp, {
        // No token: a token naming another account would make this account JWT invalid as a whole.
        imports: [{ name: 'stolen', subject: 'private.>', account: exporter.pub, type: 'stream' }],
      }),
    },
  });
  sys = await dial(srv.url, sysUserJwt(w), w.sysUser.seed, 'sys');
  const [e, i] = [newUser(), newUser()];
  exp = await dial(srv.url, userJwt(e.pub, exporter.kp), e.seed, 'exporter');
  imp = await dial(srv.url, userJwt(i.pub, importer.kp), i.seed, 'importer');
  exp.nc.subscribe('svc.time', { callback: (_e, m) => { m.respond('noon'); } });
  exp.nc.subscribe('psvc.echo', { callback: (_e, m) => { m.respond(`echo ${m.string()}`); } });
  await exp.nc.flush();
});

after(async () => {
  await exp.nc.close();
  await imp.nc.close();
  await sys.nc.close();
  await srv.close();
  w.cleanup();
});

describe('JWT exports and imports', () => {
  it('public stream export with a prefix, public service export with a local subject', async () => {
    const got = collect(imp.nc, 'ext.news.>');
    await imp.nc.flush();
    exp.nc.publish('news.today', 'sunny');
    await waitUntil(() => got.length === 1, 2000, 'the stream import');
    assert.deepEqual(got, ['ext.news.today:sunny']);
    assert.equal((await imp.nc.request('time', '', { timeout: 2000 })).string(), 'noon');
  });

  it('private exports need an activation token for the importing account', async () => {
    const got = collect(imp.nc, 'private.>');
    const stolen = newUser();
    const thief = await dial(srv.url, userJwt(stolen.pub, outsider.kp), stolen.seed, 'outsider');
    const stole = collect(thief.nc, 'private.>');
    await thief.nc.flush();
    await imp.nc.flush();
    exp.nc.publish('private.data', 'secret');
    await waitUntil(() => got.length === 1, 2000, 'the private stream import');
    await flushBoth();
    await thief.nc.flush();
    assert.deepEqual(got, ['private.data:secret']);
    assert.deepEqual(stole, [], 'no token, no import');
    await thief.nc.close();
    // A token issued by a signing key of the exporter, naming it as issuer_account.
    assert.equal((await imp.nc.request('psvc.echo', 'hi', { timeout: 2000 })).string(), 'echo hi');
  });

  it('account_token_position lets an account import only its own subject', async () => {
    const got = collect(imp.nc, 'acct.>');
    await imp.nc.flush();
    exp.nc.publish(`acct.${outsider.pub}.data`, 'not yours');
    exp.nc.publish(`acct.${importer.pub}.data`, 'yours');
    await waitUntil(() => got.length >= 1, 2000, 'the per-account stream');
    await flushBoth();
    assert.deepEqual(got, [`acct.${importer.pub}.data:yours`]);
  });

  it('applies a claim update: revoking an activation cuts the import, a new import starts', async () => {
    const got = collect(imp.nc, 'private.>');
    await imp.nc.flush();
    const revoked = EXPORTS.map((e) => (e.name === 'private' ? { ...e, revocations: { [importer.pub]: nowSec() } } : e));
    const reply = await claimsRequest(sys.nc, `$SYS.REQ.ACCOUNT.${exporter.pub}.CLAIMS.UPDATE`, exporterJwt({ exports: [...revoked, { subject: 'extra.>', type: 'stream' }] }));
    assert.deepEqual(reply, { data: { account: exporter.pub, code: 200, message: 'jwt updated' } });
    exp.nc.publish('private.data', 'after revocation');
    await flushBoth();
    await imp.nc.flush();
    assert.deepEqual(got, []);

    const extra = collect(imp.nc, 'extra.>');
    await imp.nc.flush();
    const withExtra = accountJwt(importer.pub, w.op.kp, { imports: [...IMPORTS, { subject: 'extra.>', account: exporter.pub, type: 'stream' }] });
    assert.deepEqual(await claimsRequest(sys.nc, `$SYS.REQ.ACCOUNT.${importer.pub}.CLAIMS.UPDATE`, withExtra),
      { data: { account: importer.pub, code: 200, message: 'jwt updated' } });
    exp.nc.publish('extra.one', '1');
    await waitUntil(() => extra.length === 1, 2000, 'the new import');
    assert.deepEqual(extra, ['extra.one:1']);
  });

  it('stops an import when its activation expires', async () => {
    // exp is in whole seconds: nowSec() + 1 may be only milliseconds away, too
    // soon for the update and the first delivery; + 2 leaves at least a second.
    const soon = encodeActivation(importer.pub, exporter.kp, { subject: 'private.>', kind: 'stream' }, { exp: nowSec() + 2 });
    const update = accountJwt(importer.pub, w.op.kp, {
      imports: IMPORTS.map((i) => (i.name === 'private' ? { ...i, token: soon } : i)),
    }, { iat: nowSec() + 1 });
    // The export's revocation from the previous test is lifted first.
    await claimsRequest(sys.nc, `$SYS.REQ.ACCOUNT.${exporter.pub}.CLAIMS.UPDATE`, exporterJwt({}, { iat: nowSec() + 1 }));
    assert.deepEqual(await claimsRequest(sys.nc, `$SYS.REQ.ACCOUNT.${importer.pub}.CLAIMS.UPDATE`, update),
      { data: { account: importer.pub, code: 200, message: 'jwt updated' } });
    const got = collect(imp.nc, 'private.>');
    await imp.nc.flush();
    exp.nc.publish('private.data', 'before');
    await waitUntil(() => got.length === 1, 2000, 'delivery while the activation is valid');
    const account = srv.server.accounts.get(exporter.pub);
    await waitUntil(() => account?.streamExports.every((r) => r.from !== 'private.>') ?? false, 5000, 'the expired activation to drop the route');
    exp.nc.publish('private.data', 'after');
    await flushBoth();
    assert.deepEqual(got, ['private.data:before']);
  });
});
