/** Users: the authorization block, account users, and checking CONNECT credentials. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { fromSeed } from '@nats-io/nkeys';
import { generateNonce } from '../../src/auth/nkey.js';
import { isBcrypt, verifySecret } from '../../src/auth/passwords.js';
import { SecurityConfigError } from '../../src/auth/conf-input.js';
import { securityFromOptions } from '../../src/auth/security-config.js';
import { ConfigError } from '../../src/config/errors.js';
import { assertProblem, security } from './helpers.js';
import { ACCOUNT_KEY, CHAT_ACCESS, CHAT_USER } from './keys.js';

const enc = new TextEncoder();
// Cost 4 keeps the tests fast; the cost is part of the hash, so nothing else changes.
const HASH = bcrypt.hashSync('s3cr3t', 4).replace(/^\$2b\$/, '$2a$');

function sign(seed: string, nonce: string): string {
  return Buffer.from(fromSeed(enc.encode(seed)).sign(enc.encode(nonce))).toString('base64url');
}

describe('passwords', () => {
  it('tell bcrypt hashes from plain text as nats-server does', () => {
    assert.equal(isBcrypt(HASH), true);
    assert.equal(isBcrypt('$2y$10$abc'), true);
    assert.equal(isBcrypt('$2x$10$abc'), true);
    assert.equal(isBcrypt('$2c$10$abc'), false);
    assert.equal(isBcrypt('$2a$1$abc'), false);
    assert.equal(isBcrypt('T0pS3cr3t'), false);
  });

  it('verify bcrypt hashes of every revision, and plain text exactly', async () => {
    assert.equal(await verifySecret(HASH, 's3cr3t'), true);
    assert.equal(await verifySecret(HASH, 's3cr3T'), false);
    for (const rev of ['2b', '2x', '2y']) assert.equal(await verifySecret(`$${rev}$${HASH.slice(4)}`, 's3cr3t'), true, rev);
    assert.equal(await verifySecret('$2a$10$tooShort', 'x'), false, 'a malformed hash matches nothing');
    assert.equal(await verifySecret('plain', 'plain'), true);
    assert.equal(await verifySecret('plain', 'plain '), false);
    assert.equal(await verifySecret('', ''), true);
    assert.equal(await verifySecret('pässword', 'pässword'), true);
  });

  it('let the event loop run during a bcrypt compare', async () => {
    const slow = bcrypt.hashSync('pw', 10);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const ok = await verifySecret(slow, 'pw');
    clearInterval(timer);
    assert.equal(ok, true);
    assert.ok(ticks > 0, 'timers fired while bcrypt worked');
  });
});

describe('the authorization block', () => {
  it('reads token, single user, timeout and aliases, case-insensitively', () => {
    const a = security('authorization { USERNAME: alice, Pass: pw, timeout: 2.5 }').authorization;
    assert.deepEqual({ user: a?.user, password: a?.password, timeoutMs: a?.timeoutMs, token: a?.token }, {
      user: 'alice', password: 'pw', timeoutMs: 2500, token: null,
    });
    assert.equal(security('authorization { token: abc, timeout: 1 }').authorization?.token, 'abc');
    assert.equal(security('authorization { token: abc, timeout: 0 }').authorization?.timeoutMs, null, '0 keeps the default');
  });

  it('refuses combinations nats-server refuses, with its wording', () => {
    assertProblem('authorization { user: a, password: b, token: c }', 'Cannot have a user/pass and token');
    assertProblem('authorization { user: a, password: b, users: [ {user: c, password: d} ] }',
      'Can not have a single user/pass and a users array');
    assertProblem('authorization { token: t, users: [] }', 'Can not have a token and a users array');
    assertProblem('authorization { users: [ {user: c, password: d}, {user: c, password: e} ] }', 'Duplicate user "c" detected');
    assertProblem(`authorization { users: [ {nkey: ${CHAT_USER.publicKey}}, {nkey: ${CHAT_USER.publicKey}} ] }`,
      `Duplicate nkey "${CHAT_USER.publicKey}" detected`);
    assertProblem('authorization { token: t }\naccounts { A: { users: [ {user: u, password: p} ] } }', 'Can not have a token and accounts');
    assertProblem('authorization { user: a, password: b }\naccounts { A: { users: [ {user: u, password: p} ] } }',
      'Can not have a single user/pass and accounts');
  });

  it('refuses malformed users with nats-server wording', () => {
    assertProblem('authorization { users: { user: a } }', 'Expected users field to be an array, got a map');
    assertProblem('authorization { users: [ "alice" ] }', 'Expected user entry to be a map/struct, got string "alice"');
    assertProblem('authorization { users: [ {password: x} ] }', 'User entry requires a user');
    assertProblem('authorization { users: [ {nkey: UABC} ] }', 'Not a valid public nkey for a user');
    assertProblem(`authorization { users: [ {nkey: ${ACCOUNT_KEY}} ] }`, 'Not a valid public nkey for a user');
    assertProblem(`authorization { users: [ {nkey: ${CHAT_USER.publicKey}, password: x} ] }`,
      'Nkey users do not take usernames or passwords');
    assertProblem('authorization { users: [ {user: a, password: b, color: red} ] }', 'unknown field "color"');
    assertProblem('authorization { colour: red }', 'unknown field "colour"');
    assertProblem('authorization { users: [ {user: a, allowed_connection_types: ["STANDARD", "FOO"]} ] }',
      'invalid connection types ["FOO"]');
    assertProblem('authorization { user: 5 }', 'user must be a string, got integer 5');
    assertProblem('authorization { timeout: "2s" }', 'timeout must be a number of seconds, got string "2s"');
    assertProblem('authorization { timeout: -1 }', 'timeout can not be negative');
  });

  it('reports every problem at once, with positions', () => {
    try {
      security('authorization {\n  users: [\n    {password: x}\n    {user: a, permissions: {pub: "a..b"}}\n  ]\n}');
      assert.fail('expected a refusal');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.errors.map((e) => `${e.line}:${e.col} ${e.problem}`), [
        '3:5 User entry requires a user',
        '4:34 subject "a..b" is not a valid subject',
      ]);
    }
  });

  it('names paths when the values have no positions', () => {
    assert.throws(() => securityFromOptions({ authorization: { users: [{ user: 'a', permissions: { pub: 'a..b' } }] } }),
      (err: unknown) => err instanceof SecurityConfigError &&
        err.message === 'authorization.users[0].permissions.pub: subject "a..b" is not a valid subject');
  });

  it('gives default_permissions to users without their own, wherever it stands', () => {
    const s = security(`authorization {
      users: [ {user: a, password: a}, {user: b, password: b, permissions: {publish: "b"}}, {nkey: ${CHAT_USER.publicKey}} ]
      default_permissions: { publish: "d" }
    }`);
    assert.deepEqual(s.users.get('a')?.permissions?.publish, { allow: ['d'], deny: null });
    assert.deepEqual(s.users.get('b')?.permissions?.publish, { allow: ['b'], deny: null });
    assert.deepEqual(s.nkeys.get(CHAT_USER.publicKey)?.permissions?.publish, { allow: ['d'], deny: null });
    const alias = security('authorization { permissions: { subscribe: "x" }, users: [ {user: a, password: a} ] }');
    assert.deepEqual(alias.users.get('a')?.permissions?.subscribe, { allow: ['x'], deny: null });
  });

  it('puts authorization users in $G and account users in their account', () => {
    const s = security(`authorization { users: [ {user: g, password: g} ] }
      accounts { A: { users: [ {user: a, password: a} ], default_permissions: { publish: "only.a" } } }`);
    assert.equal(s.users.get('g')?.account, '$G');
    assert.equal(s.users.get('a')?.account, 'A');
    assert.deepEqual(s.users.get('a')?.permissions?.publish, { allow: ['only.a'], deny: null });
    assert.equal(s.users.get('g')?.permissions, null);
  });

  it('checks no_auth_user against the defined users', () => {
    assertProblem('no_auth_user: zed\nauthorization { users: [ {user: c, password: d} ] }',
      'no_auth_user: "zed" not present as user in authorization block or account configuration');
    assertProblem('no_auth_user: zed', 'no_auth_user: "zed" present, but users are not defined');
    assertProblem(`no_auth_user: ${CHAT_USER.publicKey}\nauthorization { users: [ {nkey: ${CHAT_USER.publicKey}} ] }`,
      `no_auth_user: "${CHAT_USER.publicKey}" present, but users are not defined`);
    assert.equal(security('no_auth_user: zed\naccounts { A: { users: [ {user: zed, password: s} ] } }').noAuthUser, 'zed');
  });

  it('accepts nats-server\'s example block with a bcrypt hash in a block variable', () => {
    const s = security(`authorization {\n  PASS: ${HASH}\n  users = [ {user: a, password: $PASS} ]\n  timeout: 1.5\n}`);
    assert.equal(s.users.get('a')?.password, HASH);
  });
});

describe('checking CONNECT credentials', () => {
  it('lets everyone in as $G when nothing is configured', async () => {
    const table = security('port: 4222').userTable;
    assert.equal(table.authRequired, false);
    assert.equal(table.nonceRequired, false);
    assert.deepEqual(await table.authenticate({}, null), { kind: 'none', name: '', account: '$G', permissions: null });
  });

  it('checks a token, plain or bcrypt', async () => {
    const plain = security('authorization { token: abc }').userTable;
    assert.equal(plain.authRequired, true);
    assert.equal((await plain.authenticate({ auth_token: 'abc' }, null))?.kind, 'token');
    assert.equal(await plain.authenticate({ auth_token: 'abd' }, null), null);
    assert.equal(await plain.authenticate({}, null), null);
    assert.equal(await plain.authenticate({ user: 'abc', pass: 'abc' }, null), null);
    const hashed = security(`authorization { token: "${HASH}" }`).userTable;
    assert.equal((await hashed.authenticate({ auth_token: 's3cr3t' }, null))?.account, '$G');
    assert.equal(await hashed.authenticate({ auth_token: HASH }, null), null, 'the hash itself is not the token');
  });

  it('checks a single user, plain or bcrypt', async () => {
    const t = security('authorization { user: nats_client, password: T0pS3cr3t }').userTable;
    assert.deepEqual(await t.authenticate({ user: 'nats_client', pass: 'T0pS3cr3t' }, null),
      { kind: 'user', name: 'nats_client', account: '$G', permissions: null });
    assert.equal(await t.authenticate({ user: 'nats_client', pass: 'asdf' }, null), null);
    assert.equal(await t.authenticate({ user: 'other', pass: 'T0pS3cr3t' }, null), null);
    assert.equal(await t.authenticate({ pass: 'T0pS3cr3t' }, null), null);
    const b = security(`authorization { user: u, password: ${HASH} }`).userTable;
    assert.equal((await b.authenticate({ user: 'u', pass: 's3cr3t' }, null))?.name, 'u');
  });

  it('checks users of every account, with their account and shared compiled permissions', async () => {
    const s = security(`
      authorization { users: [ {user: g, password: ${HASH}, permissions: {publish: "g.>"}} ] }
      accounts { A: { users: [ {user: a, password: pa} ], default_permissions: {subscribe: "a.>"} } }
    `);
    const g = await s.userTable.authenticate({ user: 'g', pass: 's3cr3t' }, null);
    assert.equal(g?.account, '$G');
    assert.equal(g?.permissions?.canPublish('g.x'), true);
    assert.equal(g?.permissions?.canPublish('h'), false);
    assert.equal(await s.userTable.authenticate({ user: 'g', pass: 'wrong' }, null), null);
    const a1 = await s.userTable.authenticate({ user: 'a', pass: 'pa' }, null);
    const a2 = await s.userTable.authenticate({ user: 'a', pass: 'pa' }, null);
    assert.equal(a1?.account, 'A');
    assert.ok(a1?.permissions !== null && a1?.permissions === a2?.permissions, 'compiled once per user');
    assert.equal(await s.userTable.authenticate({ user: 'nobody', pass: 'pa' }, null), null);
    assert.equal(await s.userTable.authenticate({}, null), null, 'no credentials, no no_auth_user');
    assert.equal(await s.userTable.authenticate({ user: 5, pass: 'pa' }, null), null, 'a user that is not a string');
  });

  it('uses no_auth_user for clients that send no credentials at all', async () => {
    const s = security(`no_auth_user: guest
      authorization { users: [ {user: guest, password: gp, permissions: {publish: "public.>"}}, {user: admin, password: ap} ] }`);
    const who = await s.userTable.authenticate({}, null);
    assert.equal(who?.name, 'guest');
    assert.equal(who?.permissions?.canPublish('public.x'), true);
    assert.equal(who?.permissions?.canPublish('private'), false);
    assert.equal(await s.userTable.authenticate({ user: 'admin', pass: 'wrong' }, null), null, 'credentials are checked when sent');
    assert.equal(await s.userTable.authenticate({ pass: 'x' }, null), null, 'a password alone is a credential');
    assert.equal((await s.userTable.authenticate({ user: 'admin', pass: 'ap' }, null))?.name, 'admin');
  });

  it('never matches a bcrypt-hashed no_auth_user, as nats-server 2.9', async () => {
    const s = security(`no_auth_user: b\nauthorization { users: [ {user: b, password: "${HASH}"} ] }`);
    assert.equal(await s.userTable.authenticate({}, null), null);
    assert.equal((await s.userTable.authenticate({ user: 'b', pass: 's3cr3t' }, null))?.name, 'b');
  });

  it('verifies nkey users against the nonce', async () => {
    const s = security(`accounts { CHAT: { users: [ {nkey: ${CHAT_USER.publicKey}, permissions: {publish: "chat.>"}}, {user: u, password: p} ] } }`);
    const table = s.userTable;
    assert.equal(table.nonceRequired, true);
    const nonce = generateNonce();
    const who = await table.authenticate({ nkey: CHAT_USER.publicKey, sig: sign(CHAT_USER.seed, nonce) }, nonce);
    assert.equal(who?.kind, 'nkey');
    assert.equal(who?.name, CHAT_USER.publicKey);
    assert.equal(who?.account, 'CHAT');
    assert.equal(who?.permissions?.canPublish('chat.x'), true);
    assert.equal(await table.authenticate({ nkey: CHAT_USER.publicKey, sig: sign(CHAT_USER.seed, nonce) }, generateNonce()), null,
      'a signature of another nonce');
    assert.equal(await table.authenticate({ nkey: CHAT_USER.publicKey, sig: sign(CHAT_ACCESS.seed, nonce) }, nonce), null,
      'signed by another key');
    assert.equal(await table.authenticate({ nkey: CHAT_USER.publicKey }, nonce), null, 'no signature');
    assert.equal(await table.authenticate({ nkey: CHAT_USER.publicKey, sig: sign(CHAT_USER.seed, nonce) }, null), null, 'no nonce sent');
    assert.equal(await table.authenticate({ nkey: CHAT_ACCESS.publicKey, sig: sign(CHAT_ACCESS.seed, nonce) }, nonce), null, 'unknown nkey');
    assert.equal(await table.authenticate({ nkey: 'garbage', sig: 'garbage' }, nonce), null);
    assert.equal((await table.authenticate({ user: 'u', pass: 'p' }, nonce))?.name, 'u', 'password users still work');
  });

  it('enforces allowed connection types', async () => {
    const s = security(`authorization { users: [
      {user: ws, password: p, allowed_connection_types: ["websocket"]}
      {user: std, password: p, allowed_connection_types: ["standard", "websocket"]}
    ] }`);
    assert.equal(await s.userTable.authenticate({ user: 'ws', pass: 'p' }, null), null);
    assert.equal((await s.userTable.authenticate({ user: 'ws', pass: 'p' }, null, 'WEBSOCKET'))?.name, 'ws');
    assert.equal((await s.userTable.authenticate({ user: 'std', pass: 'p' }, null))?.name, 'std');
    assert.deepEqual([...(s.users.get('std')?.allowedConnectionTypes ?? [])], ['STANDARD', 'WEBSOCKET']);
  });

  it('lets clients without credentials into $G when the system account is the only account', async () => {
    const s = security('system_account: SYS\nauthorization { users: [ {user: g, password: g} ] }\naccounts { SYS: { users: [ {user: s, password: s} ] } }');
    assert.equal(s.anonymousGlobal, true);
    assert.equal(s.userTable.authRequired, true);
    assert.deepEqual(await s.userTable.authenticate({}, null), { kind: 'user', name: '', account: '$G', permissions: null });
    assert.equal((await s.userTable.authenticate({ user: 's', pass: 's' }, null))?.account, 'SYS');
    assert.equal(await s.userTable.authenticate({ user: 'x', pass: 'y' }, null), null);
    assert.equal(security('accounts { $SYS: {} }').anonymousGlobal, true, 'a configured $SYS counts');
    assert.equal(security('system_account: SYS\naccounts { SYS: {}, A: {} }').anonymousGlobal, false);
    assert.equal(security('accounts { A: {} }').anonymousGlobal, false);
    assert.equal(security('no_auth_user: s\nsystem_account: SYS\naccounts { SYS: { users: [ {user: s, password: s} ] } }').anonymousGlobal, false);
  });

  it('exposes the authorization timeout', () => {
    assert.equal(security('authorization { user: a, password: b, timeout: 0.5 }').userTable.timeoutMs, 500);
    assert.equal(security('authorization { user: a, password: b }').userTable.timeoutMs, null);
  });

  it('loads the same model from plain option blocks', async () => {
    const s = securityFromOptions({
      authorization: { users: [{ user: 'a', password: 'b', permissions: { publish: 'x' } }] },
      accounts: { B: { users: [{ user: 'c', password: 'd' }] } },
      no_auth_user: 'a',
    });
    assert.equal((await s.userTable.authenticate({}, null))?.name, 'a');
    assert.equal((await s.userTable.authenticate({ user: 'c', pass: 'd' }, null))?.account, 'B');
    assert.equal(security('authorization { users: [] }\nno_auth_user: ""').noAuthUser, null, 'empty means unset');
  });
});
