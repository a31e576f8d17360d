/**
 * `natter auth` as a user runs it: the store layout and file modes, what
 * each command writes into the JWTs, describe output, creds format, and
 * clear errors with a non-zero exit for bad input.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import { parseCreds } from '../../../src/jwt/creds.js';
import { decodeJwt } from '../../../src/jwt/jwt.js';
import { NATTER_BIN, ToolStore } from './tool.js';

function mode(p: string): number {
  return statSync(p).mode & 0o777;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? [p, ...walk(p)] : [p];
  });
}

describe('natter auth store', () => {
  const t = new ToolStore();
  after(() => t.remove());

  before(() => {
    t.ok('init', '--operator', 'KO', '--sk');
    t.ok('add', 'account', 'CHAT', '--conn', '10', '--payload', '1K');
    t.ok('add', 'account', '--name', 'ADMIN');
    t.ok('edit', 'account', 'ADMIN', '--sk', 'generate');
    t.ok('add', 'user', '-a', 'CHAT', 'alice', '--allow-pub', 'chat.>,_INBOX.>', '--allow-sub', 'chat.>', '--deny-pub', 'chat.secret', '--tag', 'Dev');
  });

  it('lays out operators, accounts, users, keys and creds as documented', () => {
    for (const rel of [
      'natter-auth.json',
      'operators/KO/KO.jwt',
      'operators/KO/accounts/SYS/SYS.jwt',
      'operators/KO/accounts/SYS/users/sys.jwt',
      'operators/KO/accounts/CHAT/CHAT.jwt',
      'operators/KO/accounts/ADMIN/ADMIN.jwt',
      'operators/KO/accounts/CHAT/users/alice.jwt',
      'creds/KO/SYS/sys.creds',
      'creds/KO/CHAT/alice.creds',
    ]) {
      assert.ok(existsSync(path.join(t.dir, rel)), rel);
    }
    const op = t.claims('operator');
    assert.deepEqual(op, t.stored('KO'));
    const keyFile = path.join(t.dir, 'keys', 'O', String(op.sub).slice(1, 3), `${String(op.sub)}.nk`);
    assert.match(readFileSync(keyFile, 'utf8'), /^SO[A-Z2-7]{56}$/);
    // Operator with a signing key, and SYS as its system account.
    assert.equal((op.nats.signing_keys as string[]).length, 1);
    assert.equal(op.nats.system_account, t.pubOf('KO', 'SYS'));
    assert.equal(op.iss, op.sub);
  });

  it('keeps seeds and creds 0600 and directories 0700', () => {
    for (const p of walk(t.dir)) {
      if (statSync(p).isDirectory()) assert.equal(mode(p), 0o700, p);
      else if (p.endsWith('.nk') || p.endsWith('.creds')) assert.equal(mode(p), 0o600, p);
      else assert.equal(mode(p) & 0o077 & ~0o044, 0, `${p} writable by others`);
    }
    assert.equal(mode(t.dir), 0o700);
    const keys = walk(path.join(t.dir, 'keys')).filter((p) => p.endsWith('.nk'));
    // operator + operator signing key + SYS + sys + CHAT + ADMIN + ADMIN signing key + alice
    assert.equal(keys.length, 8);
  });

  it('writes creds in the decorated format the clients and servers read', () => {
    const text = t.creds('KO', 'CHAT', 'alice');
    assert.match(
      text,
      /^-----BEGIN NATS USER JWT-----\n[\w-]+\.[\w-]+\.[\w-]+\n------END NATS USER JWT------\n\n\*{25} IMPORTANT \*{25}\n[^\n]+\n[^\n]+\n\n-----BEGIN USER NKEY SEED-----\nSU[A-Z2-7]{56}\n------END USER NKEY SEED------\n\n\*{61}\n$/,
    );
    const { jwt, seed } = parseCreds(text);
    assert.equal(decodeJwt(jwt).payload.sub, t.pubOf('KO', 'CHAT', 'alice'));
    assert.ok(seed.startsWith('SU'));
    // generate creds prints the same, and --output writes it 0600.
    assert.equal(t.ok('generate', 'creds', '-a', 'CHAT', '-n', 'alice'), text);
    const out = path.join(t.dir, 'out', 'alice.creds');
    t.ok('generate', 'creds', '-a', 'CHAT', '-n', 'alice', '--output', out);
    assert.equal(readFileSync(out, 'utf8'), text);
    assert.equal(mode(out), 0o600);
  });

  it('writes nsc-compatible account and user claims', () => {
    const chat = t.stored('KO', 'CHAT');
    assert.equal(chat.iss, t.pubOf('KO'));
    assert.equal(chat.name, 'CHAT');
    assert.deepEqual(chat.nats.limits, { subs: -1, data: -1, payload: 1000, imports: -1, exports: -1, wildcards: true, conn: 10, leaf: -1 });
    assert.deepEqual(chat.nats.default_permissions, { pub: {}, sub: {} });
    assert.equal(chat.nats.type, 'account');
    assert.equal(chat.nats.version, 2);
    assert.match(String(chat.jti), /^[A-Z2-7]{52}$/);
    const alice = t.stored('KO', 'CHAT', 'alice');
    assert.equal(alice.iss, chat.sub);
    assert.deepEqual(alice.nats, {
      pub: { allow: ['chat.>', '_INBOX.>'], deny: ['chat.secret'] },
      sub: { allow: ['chat.>'] },
      subs: -1,
      data: -1,
      payload: -1,
      tags: ['dev'],
      type: 'user',
      version: 2,
    });
  });

  it('edits users: adds and removes permissions, response permission, bearer, expiry; keeps the key', () => {
    const before = t.stored('KO', 'CHAT', 'alice');
    t.ok('edit', 'user', '-a', 'CHAT', '-n', 'alice', '--rm', 'chat.secret', '--allow-pub-response=3', '--response-ttl', '2s', '--bearer', '--expiry', '2030-01-02');
    const u = t.stored('KO', 'CHAT', 'alice');
    assert.equal(u.sub, before.sub);
    assert.deepEqual(u.nats.pub, { allow: ['chat.>', '_INBOX.>'] });
    assert.deepEqual(u.nats.resp, { max: 3, ttl: 2_000_000_000 });
    assert.equal(u.nats.bearer_token, true);
    assert.equal(u.exp, Date.UTC(2030, 0, 2) / 1000);
    t.ok('edit', 'user', '-a', 'CHAT', '-n', 'alice', '--bearer=false', '--rm-response-perms', '--expiry', '0');
    const v = t.stored('KO', 'CHAT', 'alice');
    assert.equal(v.nats.bearer_token, undefined);
    assert.equal(v.nats.resp, undefined);
    assert.equal(v.exp, undefined);
    // The creds file follows the edit.
    const userFile = path.join(t.dir, 'operators', 'KO', 'accounts', 'CHAT', 'users', 'alice.jwt');
    assert.equal(parseCreds(t.creds('KO', 'CHAT', 'alice')).jwt, readFileSync(userFile, 'utf8'));
  });

  it('issues users with an account signing key (-K public key or .nk file)', () => {
    const admin = t.stored('KO', 'ADMIN');
    const sk = (admin.nats.signing_keys as string[])[0];
    t.ok('add', 'user', '-a', 'ADMIN', 'svc', '-K', sk, '--allow-sub', 'chat.req.access', '--allow-pub-response');
    const u = t.stored('KO', 'ADMIN', 'svc');
    assert.equal(u.iss, sk);
    assert.equal(u.nats.issuer_account, admin.sub);
    assert.deepEqual(u.nats.resp, { max: 1, ttl: 0 });
    const nk = path.join(t.dir, 'keys', 'A', sk.slice(1, 3), `${sk}.nk`);
    t.ok('add', 'user', '-a', 'ADMIN', 'svc2', '--signing-key', nk);
    assert.equal(t.stored('KO', 'ADMIN', 'svc2').iss, sk);
    // Editing keeps the signing key as issuer.
    t.ok('edit', 'user', '-a', 'ADMIN', 'svc', '--allow-pub', 'x');
    assert.equal(t.stored('KO', 'ADMIN', 'svc').iss, sk);
    // A key of another account is refused.
    const chatKey = t.pubOf('KO', 'CHAT');
    t.fails(/is not a signing key of account/, 'add', 'user', '-a', 'ADMIN', 'bad', '-K', chatKey);
  });

  it('edits account signing keys and JetStream limits', () => {
    t.ok('edit', 'account', 'CHAT', '--sk', 'generate', '--js-mem', '1M', '--js-streams', '5');
    let chat = t.stored('KO', 'CHAT');
    const keys = chat.nats.signing_keys as string[];
    assert.equal(keys.length, 1);
    const limits = chat.nats.limits as Record<string, unknown>;
    assert.equal(limits.mem_storage, 1_000_000);
    assert.equal(limits.streams, 5);
    assert.equal(limits.disk_storage, -1);
    assert.equal(limits.consumer, -1);
    t.ok('edit', 'account', 'CHAT', '--rm-sk', keys[0]);
    chat = t.stored('KO', 'CHAT');
    assert.equal(chat.nats.signing_keys, undefined);
    t.fails(/is not a signing key of account CHAT/, 'edit', 'account', 'CHAT', '--rm-sk', keys[0]);
    // Accounts issued by the operator signing key keep it as issuer when edited.
    const opSk = (t.stored('KO').nats.signing_keys as string[])[0];
    t.ok('add', 'account', 'OPS', '-K', opSk);
    t.ok('edit', 'account', 'OPS', '--conn', '5');
    assert.equal(t.stored('KO', 'OPS').iss, opSk);
    t.fails(/is not a signing key of operator KO/, 'add', 'account', 'BAD', '-K', t.pubOf('KO', 'CHAT'));
    // Operator signing keys: add one, remove the one OPS was issued by (a warning names OPS).
    t.ok('edit', 'operator', '--sk', 'generate');
    const opKeys = t.stored('KO').nats.signing_keys as string[];
    assert.equal(opKeys.length, 2);
    const r = t.run('edit', 'operator', '--rm-sk', opSk);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /no longer trusted until re-issued: OPS/);
    assert.deepEqual(t.stored('KO').nats.signing_keys, [opKeys[1]]);
    assert.equal(t.stored('KO').nats.system_account, t.pubOf('KO', 'SYS'));
  });

  it('adds exports, imports and activation tokens', () => {
    t.ok('add', 'export', '-a', 'ADMIN', '--service', '-n', 'chat-access', '-s', 'chat.req.access');
    t.ok('add', 'export', '-a', 'CHAT', '-n', 'chat-online', '-s', 'chat.KUBECON.online');
    t.ok('add', 'export', '-a', 'CHAT', '-s', 'chat.private.>', '--private');
    t.ok('add', 'import', '-a', 'CHAT', '--service', '--src-account', 'ADMIN', '--remote-subject', 'chat.req.access', '-n', 'chat-access');
    t.ok('add', 'import', '-a', 'ADMIN', '--src-account', t.pubOf('KO', 'CHAT'), '--remote-subject', 'chat.KUBECON.online', '--local-subject', 'online');
    // A private export: the tool mints the activation token itself.
    t.ok('add', 'import', '-a', 'ADMIN', '--src-account', 'CHAT', '--remote-subject', 'chat.private.admin');
    const admin = t.stored('KO', 'ADMIN');
    const chat = t.stored('KO', 'CHAT');
    assert.deepEqual(admin.nats.exports, [{ name: 'chat-access', subject: 'chat.req.access', type: 'service' }]);
    assert.deepEqual(chat.nats.exports, [
      { name: 'chat-online', subject: 'chat.KUBECON.online', type: 'stream' },
      { name: 'chat.private.>', subject: 'chat.private.>', type: 'stream', token_req: true },
    ]);
    assert.deepEqual(chat.nats.imports, [{ name: 'chat-access', subject: 'chat.req.access', account: admin.sub, type: 'service' }]);
    const imports = admin.nats.imports as Record<string, unknown>[];
    assert.deepEqual(imports[0], { name: 'chat.KUBECON.online', subject: 'chat.KUBECON.online', account: chat.sub, local_subject: 'online', type: 'stream' });
    const token = decodeJwt(String(imports[1].token));
    assert.equal(token.kind, 'activation');
    assert.equal(token.issuer, chat.sub);
    assert.equal(token.payload.sub, admin.sub);
    assert.deepEqual(token.payload.nats, { subject: 'chat.private.admin', kind: 'stream', type: 'activation', version: 2 });
    // generate activation prints one for another importer; public exports need none.
    const printed = t.ok('generate', 'activation', '-a', 'CHAT', '-s', 'chat.private.sys', '--target-account', 'SYS').trim();
    assert.equal(decodeJwt(printed).payload.sub, t.pubOf('KO', 'SYS'));
    t.fails(/is public: it needs no activation token/, 'generate', 'activation', '-a', 'CHAT', '-s', 'chat.KUBECON.online', '--target-account', 'SYS');
    t.fails(/has no service export covering nope/, 'add', 'import', '-a', 'CHAT', '--service', '--src-account', 'ADMIN', '--remote-subject', 'nope');
    t.fails(/already imports/, 'add', 'import', '-a', 'CHAT', '--service', '--src-account', 'ADMIN', '--remote-subject', 'chat.req.access');
    t.fails(/applies to service exports only/, 'add', 'export', '-a', 'CHAT', '-s', 'x', '--response-type', 'Stream');
  });

  it('revokes users by name or key, re-signing the account', () => {
    t.ok('add', 'user', '-a', 'CHAT', 'mallory');
    const pub = t.pubOf('KO', 'CHAT', 'mallory');
    const r = t.run('revoke', 'user', '-a', 'CHAT', '-n', 'mallory');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /push the account/);
    const revs = t.stored('KO', 'CHAT').nats.revocations as Record<string, number>;
    assert.ok(Math.abs(revs[pub] - Date.now() / 1000) < 60);
    t.ok('revoke', 'user', '-a', 'CHAT', '--user-key', '*', '--at', '2020-01-01');
    assert.equal((t.stored('KO', 'CHAT').nats.revocations as Record<string, number>)['*'], Date.UTC(2020, 0, 1) / 1000);
  });

  it('describes operators, accounts, users and any JWT file or token as a table or JSON', () => {
    const acc = t.ok('describe', 'account', 'ADMIN');
    assert.match(acc, /^Account Details\n/);
    const sk = (t.stored('KO', 'ADMIN').nats.signing_keys as string[])[0];
    assert.match(acc, new RegExp(`^  Signing Keys +${sk}$`, 'm'));
    assert.match(acc, /^  Max Connections +Unlimited$/m);
    assert.match(acc, /^ +service chat.req.access "chat-access" public$/m);
    const op = t.ok('describe', 'operator');
    assert.match(op, /^Operator Details\n  Name +KO$/m);
    assert.match(op, new RegExp(`^  System Account +${t.pubOf('KO', 'SYS')}$`, 'm'));
    const user = t.ok('describe', 'jwt', '-f', t.credsPath('KO', 'ADMIN', 'svc'));
    assert.match(user, /^User\n/);
    assert.match(user, /^  Sub Allow +chat.req.access$/m);
    assert.match(user, /^  Response Permissions +max 1, ttl 0s$/m);
    const file = path.join(t.dir, 'operators', 'KO', 'accounts', 'CHAT', 'CHAT.jwt');
    const json = JSON.parse(t.ok('describe', 'jwt', file, '--json')) as Record<string, unknown>;
    assert.equal(json.name, 'CHAT');
    const token = readFileSync(file, 'utf8');
    assert.deepEqual(JSON.parse(t.ok('describe', 'jwt', token, '--json')), json);
  });

  it('lists accounts, users and keys', () => {
    const accounts = t.ok('list', 'accounts').trim().split('\n').map((l) => l.split(/\s+/));
    assert.deepEqual(accounts.map((a) => a[0]), ['ADMIN', 'CHAT', 'OPS', 'SYS']);
    assert.equal(accounts[1][1], t.pubOf('KO', 'CHAT'));
    assert.deepEqual(t.ok('list', 'users', '-a', 'ADMIN').trim().split('\n').map((l) => l.split(/\s+/)[0]), ['svc', 'svc2']);
    const keys = t.ok('list', 'keys');
    assert.match(keys, new RegExp(`^account +${t.pubOf('KO', 'CHAT')} `, 'm'));
    assert.match(t.ok('list', 'operators'), /^\* KO +O[A-Z2-7]{55}$/m);
  });

  it('refuses bad input with a clear message and exit status 1', () => {
    t.fails(/account "NOPE" does not exist under operator KO \(known: ADMIN, CHAT, OPS, SYS\)/, 'add', 'user', '-a', 'NOPE', 'x');
    t.fails(/unknown flag --allow-publish/, 'add', 'user', '-a', 'CHAT', 'x', '--allow-publish', 'a');
    t.fails(/flag --subject needs a value/, 'add', 'export', '-a', 'CHAT', '--subject');
    t.fails(/account "CHAT" already exists/, 'add', 'account', 'CHAT');
    t.fails(/user "alice" already exists/, 'add', 'user', '-a', 'CHAT', 'alice');
    t.fails(/"a b" is not a valid subject/, 'add', 'user', '-a', 'CHAT', 'y', '--allow-pub', 'a b');
    t.fails(/invalid account name/, 'add', 'account', '../evil');
    t.fails(/--conn: expected an integer/, 'edit', 'account', 'CHAT', '--conn', 'lots');
    t.fails(/--expiry: "soon" is not a duration/, 'add', 'user', '-a', 'CHAT', 'z', '--expiry', 'soon');
    t.fails(/--src: "10.0.0.300\/8" is not a CIDR/, 'add', 'user', '-a', 'CHAT', 'w', '--src', '10.0.0.300/8');
    t.fails(/choose one of --mem-resolver and --full-resolver/, 'generate', 'config');
    t.fails(/unknown command "frobnicate"/, 'frobnicate');
    t.fails(/user "ghost" does not exist in account CHAT/, 'revoke', 'user', '-a', 'CHAT', 'ghost');
    t.fails(/name the accounts to push with -a ACCOUNT, or use --all/, 'push');
    t.fails(/cannot connect to nats:\/\/127.0.0.1:1 as the system user/, 'push', '--server', 'nats://127.0.0.1:1', '-a', 'CHAT');
    // Nothing half-made by the refused commands.
    assert.ok(!existsSync(path.join(t.dir, 'operators', 'KO', 'accounts', 'CHAT', 'users', 'y.jwt')));
    assert.ok(!existsSync(path.join(t.dir, 'operators', 'KO', 'accounts', 'CHAT', 'users', 'z.jwt')));
    // A tampered JWT in the store is reported, not trusted.
    const file = path.join(t.dir, 'operators', 'KO', 'accounts', 'SYS', 'SYS.jwt');
    const [h, p, s] = readFileSync(file, 'utf8').split('.');
    writeFileSync(file, `${h}.${p.slice(0, 10)}${p[10] === 'A' ? 'B' : 'A'}${p.slice(11)}.${s}`);
    t.fails(/SYS.jwt: not a valid JWT/, 'describe', 'account', 'SYS');
  });
});

describe('natter auth store location', () => {
  it('uses $NATTER_AUTH_DIR, and prints usage for help', () => {
    const t = new ToolStore();
    try {
      const env = { ...process.env, NATTER_AUTH_DIR: t.dir };
      const r = spawnSync(process.execPath, [NATTER_BIN, 'auth', 'init', '--operator', 'ENV'], { encoding: 'utf8', env });
      assert.equal(r.status, 0, r.stderr);
      assert.ok(existsSync(path.join(t.dir, 'operators', 'ENV', 'ENV.jwt')));
      const help = spawnSync(process.execPath, [NATTER_BIN, 'auth', 'help'], { encoding: 'utf8', env });
      assert.equal(help.status, 0);
      assert.match(help.stdout, /^ +add account +create an account/m);
      const cmdHelp = spawnSync(process.execPath, [NATTER_BIN, 'auth', 'add', 'user', '--help'], { encoding: 'utf8', env });
      assert.match(cmdHelp.stdout, /--allow-pub-response\[=value\]/);
      const bad = spawnSync(process.execPath, [NATTER_BIN, 'nope'], { encoding: 'utf8', env });
      assert.equal(bad.status, 1);
      assert.match(bad.stderr, /unknown command "nope"/);
    } finally {
      t.remove();
    }
  });
});
