/**
 * Differential: the config and creds `natter auth` makes, served by
 * nats-server 2.9.10 and by natter-server from the same config file, used
 * through the official clients with the same creds. Both servers must
 * behave the same (and as the permissions say) for permissions, response
 * permissions, bearer tokens, expiry, not-before, revocation, users
 * issued by an account signing key (and one removed), accounts issued by
 * an operator signing key, private exports imported with activation
 * tokens, and account connection and subscription limits.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { closeAll, startFromFile, type Conn, type Kind } from '../../security/helpers.js';
import { connectCreds, connectJwtOnly, connectOutcome, jwtOfCreds, ToolStore } from './tool.js';

const KINDS: readonly Exclude<Kind, 'natter'>[] = ['nats-server', 'natter-cli'];

/** Whether `c` may publish to `subject`: an unrestricted listener sees the message or not. */
async function canPublish(c: Conn, listener: Conn, subject: string): Promise<boolean> {
  const got = listener.sub(subject);
  await listener.flush();
  c.pub(subject, 'p');
  await c.flush();
  await listener.flush();
  return got.length > 0;
}

/** Whether `c` may subscribe to `subject`: it receives what an unrestricted publisher sends, or not. */
async function canSubscribe(c: Conn, publisher: Conn, subject: string): Promise<boolean> {
  const got = c.sub(subject);
  await c.flush();
  publisher.pub(subject, 's');
  await publisher.flush();
  await c.flush();
  return got.length > 0;
}

function normalizeClose(text: string | null): string {
  if (text === null) return 'closed cleanly';
  if (/expired/i.test(text)) return 'authentication expired';
  return text;
}

describe('natter auth configs and creds: nats-server 2.9.10 and natter-server agree', () => {
  const t = new ToolStore();
  const work = mkdtempSync(path.join(tmpdir(), 'natter-auth-diff-'));
  let memConf = '';
  let shortUsers = 0;
  const creds = (u: string): string => t.creds('KO', 'APP', u);

  before(() => {
    t.ok('init', '--operator', 'KO', '--sk');
    // An account issued by the operator's signing key.
    t.ok('add', 'account', 'OPS', '-K', (t.stored('KO').nats.signing_keys as string[])[0]);
    t.ok('add', 'user', '-a', 'OPS', 'ops');
    t.ok('add', 'account', 'APP');
    t.ok('edit', 'account', 'APP', '--sk', 'generate');
    const sk = (t.stored('KO', 'APP').nats.signing_keys as string[])[0];
    t.ok('add', 'user', '-a', 'APP', 'admin');
    t.ok('add', 'user', '-a', 'APP', 'alice', '--allow-pub', 'foo.>', '--deny-pub', 'foo.secret', '--allow-sub', 'bar.>', '--deny-sub', 'bar.private');
    t.ok('add', 'user', '-a', 'APP', 'skuser', '-K', sk, '--allow-pubsub', 'sk.>');
    t.ok('add', 'user', '-a', 'APP', 'responder', '--allow-sub', 'svc.>', '--allow-pub', 'svc.log', '--allow-pub-response');
    t.ok('add', 'user', '-a', 'APP', 'bearer', '--bearer', '--allow-pub', 'b.>');
    t.ok('add', 'user', '-a', 'APP', 'expired', '--expiry', '2020-01-01');
    t.ok('add', 'user', '-a', 'APP', 'notyet', '--start', '2099-01-01');
    t.ok('add', 'user', '-a', 'APP', 'revoked');
    t.ok('revoke', 'user', '-a', 'APP', 'revoked');
    // A signing key removed from the account: its users no longer get in.
    t.ok('edit', 'account', 'APP', '--sk', 'generate');
    const sk2 = (t.stored('KO', 'APP').nats.signing_keys as string[])[1];
    t.ok('add', 'user', '-a', 'APP', 'orphan', '-K', sk2);
    t.ok('edit', 'account', 'APP', '--rm-sk', sk2);
    // Account limits: one connection, two subscriptions.
    t.ok('add', 'account', 'LIM', '--conn', '1', '--subs', '2');
    t.ok('add', 'user', '-a', 'LIM', 'lim');
    // Private exports: a stream import with the token the tool makes itself,
    // a service import with a token from `generate activation --output`.
    t.ok('add', 'account', 'EXP');
    t.ok('add', 'account', 'IMP');
    t.ok('add', 'user', '-a', 'EXP', 'exp');
    t.ok('add', 'user', '-a', 'IMP', 'imp');
    t.ok('add', 'export', '-a', 'EXP', '-s', 'priv.>', '--private');
    t.ok('add', 'export', '-a', 'EXP', '-s', 'psvc', '--service', '--private');
    t.ok('add', 'import', '-a', 'IMP', '--src-account', 'EXP', '--remote-subject', 'priv.data', '--local-subject', 'from-exp.data');
    const token = path.join(work, 'psvc.tok');
    t.ok('generate', 'activation', '-a', 'EXP', '-s', 'psvc', '--target-account', 'IMP', '--output', token);
    t.ok('add', 'import', '-a', 'IMP', '--service', '--src-account', 'EXP', '--remote-subject', 'psvc', '--token', token);
    memConf = path.join(work, 'mem.conf');
    writeFileSync(memConf, t.ok('generate', 'config', '--mem-resolver'));
  });

  /** A full-resolver config (every account preloaded) with a fresh resolver directory per server. */
  function fullConf(kind: string): string {
    const dir = path.join(work, `jwt-${kind}`);
    mkdirSync(dir);
    const file = path.join(work, `full-${kind}.conf`);
    writeFileSync(file, t.ok('generate', 'config', '--full-resolver', '--dir', dir));
    return file;
  }

  after(() => {
    t.remove();
    rmSync(work, { recursive: true, force: true });
  });

  /** Everything observable about the users on one server. */
  async function observe(kind: Exclude<Kind, 'natter'>, conf: string): Promise<Record<string, unknown>> {
    const srv = await startFromFile(kind, conf);
    const conns: Conn[] = [];
    try {
      const open = async (u: string, lib: 'v2' | 'v3' = 'v3', account = 'APP'): Promise<Conn> => {
        const c = await connectCreds(lib, srv.port, t.creds('KO', account, u));
        conns.push(c);
        return c;
      };
      const admin = await open('admin');
      const alice = await open('alice');
      const aliceV2 = await open('alice', 'v2');
      const sk = await open('skuser');
      const responder = await open('responder');
      responder.serve('svc.echo', (d) => [`echo ${d}`]);
      await responder.flush();
      const obs: Record<string, unknown> = {
        alicePub: {
          'foo.a': await canPublish(alice, admin, 'foo.a'),
          'foo.secret': await canPublish(alice, admin, 'foo.secret'),
          'bar.a': await canPublish(alice, admin, 'bar.a'),
        },
        aliceSub: {
          'bar.a': await canSubscribe(alice, admin, 'bar.a'),
          'bar.private': await canSubscribe(alice, admin, 'bar.private'),
          'foo.b': await canSubscribe(alice, admin, 'foo.b'),
        },
        aliceV2Pub: { 'foo.v2': await canPublish(aliceV2, admin, 'foo.v2'), 'nope.v2': await canPublish(aliceV2, admin, 'nope.v2') },
        skUser: { pub: await canPublish(sk, admin, 'sk.x'), sub: await canSubscribe(sk, admin, 'sk.y'), other: await canPublish(sk, admin, 'other') },
        responder: {
          reply: await admin.request('svc.echo', 'hi', 3000),
          pubLog: await canPublish(responder, admin, 'svc.log'),
          pubOther: await canPublish(responder, admin, 'svc.other'),
        },
        connect: {
          bearerJwtOnly: await connectOutcome(() => connectJwtOnly('v3', srv.port, jwtOfCreds(creds('bearer')))),
          aliceJwtOnly: await connectOutcome(() => connectJwtOnly('v3', srv.port, jwtOfCreds(creds('alice')))),
          expired: await connectOutcome(() => connectCreds('v3', srv.port, creds('expired'))),
          notyet: await connectOutcome(() => connectCreds('v3', srv.port, creds('notyet'))),
          revoked: await connectOutcome(() => connectCreds('v2', srv.port, creds('revoked'))),
          orphan: await connectOutcome(() => connectCreds('v3', srv.port, creds('orphan'))),
          operatorSigningKeyAccount: await connectOutcome(() => connectCreds('v3', srv.port, t.creds('KO', 'OPS', 'ops'))),
        },
      };
      const exp = await open('exp', 'v3', 'EXP');
      const imp = await open('imp', 'v3', 'IMP');
      exp.serve('psvc', (d) => [`served ${d}`]);
      const streamed = imp.sub('from-exp.data');
      await imp.flush();
      await exp.flush();
      exp.pub('priv.data', 'streamed');
      await exp.flush();
      await imp.flush();
      obs.privateExports = { stream: streamed.map((m) => m.data), service: await imp.request('psvc', 'q', 3000) };
      const lim = await connectCreds('v3', srv.port, t.creds('KO', 'LIM', 'lim'));
      conns.push(lim);
      obs.accountLimits = {
        secondConnection: (await connectOutcome(() => connectCreds('v3', srv.port, t.creds('KO', 'LIM', 'lim')))) === 'ok' ? 'ok' : 'refused',
        thirdSubscription: [await canSubscribe(lim, lim, 'l.1'), await canSubscribe(lim, lim, 'l.2'), await canSubscribe(lim, lim, 'l.3')],
      };
      await Promise.all(conns.map((c) => c.flush()));
      obs.limErrors = [...lim.errors].sort();
      obs.aliceErrors = [...alice.errors].sort();
      obs.adminErrors = admin.errors;

      // A user that expires while connected is cut off by the server.
      const short = `short-${kind}-${++shortUsers}`;
      const made = await t.runAsync('add', 'user', '-a', 'APP', short, '--expiry', '3s');
      assert.equal(made.status, 0, made.stderr);
      const s = await open(short);
      const started = Date.now();
      const why = await Promise.race([s.closed(), new Promise<string>((r) => setTimeout(() => r('still open after 8s'), 8000).unref())]);
      obs.shortLived = normalizeClose(why);
      assert.ok(Date.now() - started < 8000);
      return obs;
    } finally {
      await closeAll(conns);
      await srv.stop();
    }
  }

  async function compare(conf: (kind: string) => string): Promise<void> {
    const results: Record<string, Record<string, unknown>> = {};
    for (const kind of KINDS) results[kind] = await observe(kind, conf(kind));
    const ref = results['nats-server'];
    // What the permissions say (checked on the reference, so the test proves the tool made the right JWTs).
    assert.deepEqual(ref.alicePub, { 'foo.a': true, 'foo.secret': false, 'bar.a': false });
    assert.deepEqual(ref.aliceSub, { 'bar.a': true, 'bar.private': false, 'foo.b': false });
    assert.deepEqual(ref.aliceV2Pub, { 'foo.v2': true, 'nope.v2': false });
    assert.deepEqual(ref.skUser, { pub: true, sub: true, other: false });
    assert.deepEqual(ref.responder, { reply: 'echo hi', pubLog: true, pubOther: false });
    assert.deepEqual(ref.connect, {
      bearerJwtOnly: 'ok',
      aliceJwtOnly: 'authorization violation',
      expired: 'authorization violation',
      notyet: 'authorization violation',
      revoked: 'authorization violation',
      orphan: 'authorization violation',
      operatorSigningKeyAccount: 'ok',
    });
    assert.equal(ref.shortLived, 'authentication expired');
    assert.deepEqual(ref.privateExports, { stream: ['streamed'], service: 'served q' });
    // The server sends -ERR and closes; the client sees that or EPIPE, whichever comes first.
    assert.deepEqual(ref.accountLimits, { secondConnection: 'refused', thirdSubscription: [true, true, false] });
    assert.deepEqual(ref.limErrors, ['maximum subscriptions exceeded']);
    assert.deepEqual(ref.aliceErrors, [
      'Permissions Violation for Publish to "bar.a"',
      'Permissions Violation for Publish to "foo.secret"',
      'Permissions Violation for Subscription to "bar.private"',
      'Permissions Violation for Subscription to "foo.b"',
    ]);
    assert.deepEqual(results['natter-cli'], ref);
  }

  it('MEMORY resolver: same results on both servers, as the permissions say', () => compare(() => memConf));
  it('full resolver: same results on both servers', () => compare(fullConf));
});
