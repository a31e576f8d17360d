/**
 * The seed scenarios (shared/seeds), as the nats-server configurations in
 * test/fixtures/security: who gets in, into which account, allowed to do
 * what, and where imported messages go.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromSeed } from '@nats-io/nkeys';
import { generateNonce } from '../../src/auth/nkey.js';
import type { AuthenticatedUser } from '../../src/auth/users.js';
import { fixture } from './helpers.js';
import { CHAT_ACCESS, CHAT_USER } from './keys.js';

const enc = new TextEncoder();

async function login(file: string, user: string, pass: string): Promise<AuthenticatedUser | null> {
  return fixture(file).userTable.authenticate({ user, pass }, null);
}

describe('messaging Helm chart', () => {
  it('lets nats_client in with its password only, within a 2s authorization timeout', async () => {
    assert.equal((await login('helm-single-user.conf', 'nats_client', 'T0pS3cr3t'))?.account, '$G');
    assert.equal(await login('helm-single-user.conf', 'nats_client', 'asdf'), null);
    assert.equal(fixture('helm-single-user.conf').userTable.timeoutMs, 2000);
    assert.equal(await fixture('helm-single-user.conf').userTable.authenticate({}, null), null);
  });

  it('rotates passwords: user2 is added while user1 stays, then user1 is gone', async () => {
    const steps = ['helm-rotation-1.conf', 'helm-rotation-2.conf', 'helm-rotation-3.conf'];
    const can = async (step: string, user: string, pass: string): Promise<boolean> => (await login(step, user, pass)) !== null;
    assert.deepEqual([await can(steps[0], 'user1', 'password1'), await can(steps[0], 'user2', 'password2')], [true, false]);
    assert.deepEqual([await can(steps[1], 'user1', 'password1'), await can(steps[1], 'user2', 'password2')], [true, true]);
    assert.deepEqual([await can(steps[2], 'user1', 'password1'), await can(steps[2], 'user2', 'password2')], [false, true]);
  });

  it('applies the per-subject rules of the jwtUsers example', async () => {
    const svc = (await login('helm-permissions.conf', 'my-service', 'my-service-pass'))?.permissions;
    assert.ok(svc);
    assert.equal(svc.canPublish('events.mysubject.created'), true);
    assert.equal(svc.canPublish('events.mysubject.a.b'), true);
    assert.equal(svc.canPublish('events.mysubject'), false, '> needs at least one more token');
    assert.equal(svc.canPublish('system-events.mysubject'), true);
    assert.equal(svc.canPublish('system-events.other'), false);
    assert.equal(svc.canSubscribe('events.somesubject', null), true);
    assert.equal(svc.canSubscribe('events.*', null), false);
    const nats = (await login('helm-permissions.conf', 'my-service-nats', 'my-service-nats-pass'))?.permissions;
    assert.ok(nats);
    assert.equal(nats.canPublish('events.mysubject1'), true);
    assert.equal(nats.canPublish('events.mysubject.x'), false);
    assert.equal(nats.canSubscribe('events.somesubject1', null), true);
  });
});

describe('secure NATS cluster (operator, TLS users)', () => {
  it('gives the default permissions to users without their own', async () => {
    const acme = (await login('operator-tls-users.conf', 'CN=nats.io,OU=ACME', 'acme-pass'))?.permissions;
    assert.ok(acme);
    assert.equal(acme.canPublish('SANDBOX.x'), true);
    assert.equal(acme.canPublish('SANDBOX.x.y'), false);
    assert.equal(acme.canPublish('hello.x'), false);
    assert.equal(acme.canSubscribe('PUBLIC.a.b', null), true);
    assert.equal(acme.canSubscribe('PUBLIC.>', null), true);
    assert.equal(acme.canSubscribe('hello.world', null), false);
  });

  it('keeps the CNCF user to its own permissions', async () => {
    const cncf = (await login('operator-tls-users.conf', 'CN=nats.io,OU=CNCF', 'cncf-pass'))?.permissions;
    assert.ok(cncf);
    assert.equal(cncf.canPublish('hello.x'), true);
    assert.equal(cncf.canPublish('SANDBOX.x'), false);
    assert.equal(cncf.canSubscribe('hello.world', null), true);
    assert.equal(cncf.canSubscribe('hello.*', null), false);
    assert.equal(fixture('operator-tls-users.conf').userTable.timeoutMs, 5000);
  });
});

describe('KubeCon 2020 streams and services (CHAT / ADMIN)', () => {
  const s = fixture('kubecon-chat-admin.conf');

  it('has CHAT, ADMIN and the system account SYS', () => {
    assert.deepEqual(s.accounts.map((a) => a.name), ['ADMIN', 'CHAT', 'SYS']);
    assert.equal(s.systemAccount, 'SYS');
    assert.equal(s.anonymousGlobal, false);
    assert.equal(s.userTable.nonceRequired, true);
  });

  it('authenticates the provisioner by its nkey into ADMIN, with its permissions', async () => {
    const nonce = generateNonce();
    const sig = Buffer.from(fromSeed(enc.encode(CHAT_ACCESS.seed)).sign(enc.encode(nonce))).toString('base64url');
    const who = await s.userTable.authenticate({ nkey: CHAT_ACCESS.publicKey, sig }, nonce);
    assert.equal(who?.account, 'ADMIN');
    const perms = who?.permissions?.forClient();
    assert.ok(perms);
    assert.equal(perms.canSubscribe('chat.req.access', null), true);
    assert.equal(perms.canSubscribe('chat.KUBECON.online', null), true);
    assert.equal(perms.canSubscribe('chat.req.other', null), false);
    assert.equal(perms.canPublish('chat.req.provisioned'), true);
    assert.equal(perms.canPublish('chat.req.access'), false);
    assert.equal(perms.canPublish('_INBOX.abc.1'), true);
    // --allow-pub-response: it may answer whatever reply subject a request carried.
    assert.equal(perms.canPublish('reply.from.requester'), false);
    perms.allowReply('reply.from.requester');
    assert.equal(perms.canPublish('reply.from.requester'), true);
    assert.equal(perms.canPublish('reply.from.requester'), false, 'one response by default');
  });

  it('lets the bootstrap user request credentials but not serve them', async () => {
    const who = await s.userTable.authenticate({ user: 'chat-creds-request', pass: 'bootstrap' }, generateNonce());
    assert.equal(who?.account, 'ADMIN');
    const perms = who?.permissions;
    assert.ok(perms);
    assert.equal(perms.canPublish('chat.req.access'), true);
    assert.equal(perms.canSubscribe('_INBOX.x.*', null), true);
    assert.equal(perms.canSubscribe('chat.req.access', null), false);
    assert.equal(perms.canPublish('chat.req.revoke'), false);
  });

  it('puts chat users in CHAT', async () => {
    const nonce = generateNonce();
    const sig = Buffer.from(fromSeed(enc.encode(CHAT_USER.seed)).sign(enc.encode(nonce))).toString('base64url');
    assert.equal((await s.userTable.authenticate({ nkey: CHAT_USER.publicKey, sig }, nonce))?.account, 'CHAT');
    assert.equal((await s.userTable.authenticate({ user: 'chatter', pass: 'chat' }, nonce))?.account, 'CHAT');
  });

  it('routes the online stream from CHAT to ADMIN and access requests from CHAT to ADMIN', () => {
    assert.deepEqual(s.routes.streamDeliveries('CHAT', 'chat.KUBECON.online').map((d) => [d.route.importer, d.subject]),
      [['ADMIN', 'chat.KUBECON.online']]);
    assert.deepEqual(s.routes.streamDeliveries('CHAT', 'chat.KUBECON.offline'), []);
    assert.deepEqual(s.routes.streamDeliveries('ADMIN', 'chat.KUBECON.online'), [], 'ADMIN exports no stream');
    const [access] = s.routes.serviceImportsFor('CHAT', 'chat.req.access');
    assert.equal(access.exporter, 'ADMIN');
    assert.equal(access.toExporter('chat.req.access'), 'chat.req.access');
    assert.equal(access.responseType, 'singleton');
    assert.deepEqual(s.routes.serviceImportsFor('ADMIN', 'chat.req.access'), [], 'ADMIN serves it itself');
  });

  it('never routes a random subject across accounts except through a configured import', () => {
    const accounts = ['ADMIN', 'CHAT', 'SYS', '$G'];
    const tokens = ['chat', 'req', 'access', 'KUBECON', 'online', 'x', '_INBOX', 'revoke'];
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 2000; i++) {
      const subject = Array.from({ length: 1 + rand(4) }, () => tokens[rand(tokens.length)]).join('.');
      const from = accounts[rand(accounts.length)];
      for (const d of s.routes.streamDeliveries(from, subject)) {
        assert.deepEqual([from, subject, d.route.importer, d.subject], ['CHAT', 'chat.KUBECON.online', 'ADMIN', 'chat.KUBECON.online']);
      }
      for (const r of s.routes.serviceImportsFor(from, subject)) {
        assert.deepEqual([from, subject, r.exporter], ['CHAT', 'chat.req.access', 'ADMIN']);
      }
    }
  });
});

describe('Harmony ADR-019 (account-isolated JetStream KV)', () => {
  const s = fixture('harmony-kv.conf');

  it('puts the agent in HARMONY, with JetStream, checking its bcrypt password', async () => {
    assert.equal(await s.userTable.authenticate({ user: 'harmony-agent', pass: 'wrong' }, null), null);
    const who = await s.userTable.authenticate({ user: 'harmony-agent', pass: 'harmony-pass' }, null);
    assert.equal(who?.account, 'HARMONY');
    assert.deepEqual(s.accounts.find((a) => a.name === 'HARMONY')?.jetstream, { enabled: true, limits: null });
    assert.equal(s.systemAccount, 'SYS');
    assert.equal((await s.userTable.authenticate({ user: 'admin', pass: 'sys-admin' }, null))?.account, 'SYS');
  });

  it('scopes the agent to the KV bucket and the JetStream API', async () => {
    const perms = (await s.userTable.authenticate({ user: 'harmony-agent', pass: 'harmony-pass' }, null))?.permissions;
    assert.ok(perms);
    assert.equal(perms.canPublish('$KV.HARMONY.site1.config'), true);
    assert.equal(perms.canPublish('$JS.API.STREAM.INFO.KV_HARMONY'), true);
    assert.equal(perms.canPublish('$JS.API.CONSUMER.CREATE.KV_HARMONY'), true);
    assert.equal(perms.canPublish('$KV.OTHER.x'), false);
    assert.equal(perms.canPublish('TEST.x'), false, 'the hole the ADR describes');
    assert.equal(perms.canSubscribe('$KV.HARMONY.>', null), true);
    assert.equal(perms.canSubscribe('$JS.API.>', null), false);
  });
});
