#!/usr/bin/env node
/**
 * The KubeCon 2020 "NATS Streams and Services" decentralized-auth flow,
 * end to end, with Natter alone: `natter auth` instead of nsc, natter-server
 * instead of nats-server, and the provisioner in ./provisioner.mjs.
 *
 *   npx tsc -p . && node examples/kubecon/walkthrough.mjs
 *
 * Environment: KUBECON_DIR keeps the store, config and resolver directory
 * there (default: a temporary directory, removed at the end);
 * SERVER_BIN runs another server binary with the same flags instead of
 * natter-server (e.g. /usr/sbin/nats-server, to compare). Exits 0 when every
 * step did what the walkthrough says, else prints the failed step and exits 1.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import { startProvisioner } from './provisioner.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const NATTER = resolve(here, '../../dist/src/cli/natter.js');
const NATTER_SERVER = resolve(here, '../../dist/src/cli/natter-server.js');

const keep = process.env.KUBECON_DIR !== undefined;
const work = keep ? resolve(process.env.KUBECON_DIR) : mkdtempSync(join(tmpdir(), 'natter-kubecon-'));
const store = join(work, 'store');
const jwtDir = join(work, 'jwt');
mkdirSync(jwtDir, { recursive: true });

const step = (s) => console.log(`\n==> ${s}`);
const check = (cond, what) => {
  if (!cond) throw new Error(`check failed: ${what}`);
  console.log(`    ok: ${what}`);
};

/** `natter auth --dir <store> ...`, echoed like a shell session. */
function auth(...args) {
  console.log(`$ natter auth ${args.map((a) => (/^[\w./:=@-]+$/.test(a) ? a : `'${a}'`)).join(' ')}`);
  return execFileSync(process.execPath, [NATTER, 'auth', '--dir', store, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

const signingKeyOf = (account) => JSON.parse(auth('describe', 'account', account, '--json')).nats.signing_keys[0];
const publicKeyOf = (account) => JSON.parse(auth('describe', 'account', account, '--json')).sub;
const keyFile = (pub) => join(store, 'keys', pub[0], pub.slice(1, 3), `${pub}.nk`);
const credsFile = (account, user) => join(store, 'creds', 'KO', account, `${user}.creds`);

async function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

async function waitFor(cond, what, ms = 5000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const listening = (port) =>
  new Promise((res) => {
    const s = tcpConnect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), res(true)));
    s.once('error', () => (s.destroy(), res(false)));
  });

const asUser = (servers, creds, name) => connect({ servers, authenticator: credsAuthenticator(new TextEncoder().encode(creds)), name, reconnect: false });

let server = null;
const closers = [];

async function main() {
  step('Operator KO with its system account (nsc init)');
  auth('init', '--operator', 'KO');

  step('The ADMIN and CHAT accounts, each with a signing key for users made at run time');
  auth('add', 'account', '--name', 'CHAT');
  auth('add', 'account', '--name', 'ADMIN');
  auth('edit', 'account', '-n', 'CHAT', '--sk', 'generate');
  auth('edit', 'account', '-n', 'ADMIN', '--sk', 'generate');
  process.stdout.write(auth('list', 'accounts'));
  const chatSk = signingKeyOf('CHAT');
  const adminSk = signingKeyOf('ADMIN');
  check(auth('describe', 'account', 'CHAT').includes(chatSk), 'CHAT lists its signing key');

  step('chat-access: the credentials provisioner, in ADMIN, issued by the ADMIN signing key');
  auth('add', 'user', '-a', 'ADMIN', 'chat-access', '-K', keyFile(adminSk),
    '--allow-sub', 'chat.req.access', '--allow-sub', 'chat.KUBECON.online',
    '--allow-pubsub', 'chat.req.provisioned', '--allow-pubsub', 'chat.req.provisioned.updates', '--allow-pubsub', 'chat.req.revoke',
    '--allow-pubsub', '_INBOX.>', '--allow-pubsub', '_R_.>', '--allow-pub-response');

  step('chat-creds-request: the shared bootstrap user, allowed only to request chat.req.access');
  auth('add', 'user', '-a', 'ADMIN', 'chat-creds-request', '-K', keyFile(adminSk), '--allow-pub', 'chat.req.access', '--allow-sub', '_INBOX.>');

  step('Exports and imports: the chat.req.access service (ADMIN -> CHAT), the chat.KUBECON.online stream (CHAT -> ADMIN)');
  auth('add', 'export', '-a', 'ADMIN', '--service', '-n', 'chat-access', '-s', 'chat.req.access');
  auth('add', 'export', '-a', 'CHAT', '-n', 'chat-online', '-s', 'chat.KUBECON.online');
  auth('add', 'import', '-a', 'CHAT', '--service', '--src-account', 'ADMIN', '-n', 'chat-access', '--remote-subject', 'chat.req.access', '--local-subject', 'chat.req.access');
  auth('add', 'import', '-a', 'ADMIN', '-n', 'chat-online', '--src-account', publicKeyOf('CHAT'), '--remote-subject', 'chat.KUBECON.online');

  step('Server config with the full resolver; only SYS preloaded, the rest is pushed');
  const conf = join(work, 'resolver.conf');
  auth('generate', 'config', '--full-resolver', '--sys-only', '--dir', jwtDir, '--output', conf);
  const port = await freePort();
  const url = `nats://127.0.0.1:${port}`;
  const bin = process.env.SERVER_BIN;
  const cmd = bin === undefined ? [process.execPath, [NATTER_SERVER]] : [bin, []];
  console.log(`$ ${bin ?? 'natter-server'} -c ${conf} -a 127.0.0.1 -p ${port}`);
  server = spawn(cmd[0], [...cmd[1], '-c', conf, '-a', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let serverLog = '';
  server.stderr.on('data', (d) => (serverLog += d));
  await waitFor(() => listening(port), `the server on port ${port}\n${serverLog}`, 10000);

  step('Push the accounts to the running server ($SYS.REQ.ACCOUNT.<id>.CLAIMS.UPDATE)');
  process.stdout.write(auth('push', '--server', url, '--all'));

  step('Start the provisioner with the CHAT signing key');
  const provisioner = await startProvisioner({
    servers: url,
    creds: readFileSync(credsFile('ADMIN', 'chat-access'), 'utf8'),
    chatAccount: publicKeyOf('CHAT'),
    signingKeySeed: readFileSync(keyFile(chatSk), 'utf8'),
    log: (s) => console.log(`    provisioner: ${s}`),
  });
  closers.push(provisioner);

  step('The bootstrap user asks for chat credentials (nats-req chat.req.access <name>)');
  const bootstrap = await asUser(url, readFileSync(credsFile('ADMIN', 'chat-creds-request'), 'utf8'), 'bootstrap');
  closers.push(bootstrap);
  const bootstrapErrors = [];
  void (async () => {
    for await (const s of bootstrap.status()) if (s.type === 'error') bootstrapErrors.push(String(s.error?.message ?? s.error));
  })();
  const aliceCreds = (await bootstrap.request('chat.req.access', 'alice', { timeout: 5000 })).string();
  const bobCreds = (await bootstrap.request('chat.req.access', 'bob', { timeout: 5000 })).string();
  check(aliceCreds.includes('-----BEGIN NATS USER JWT-----') && aliceCreds.includes('-----BEGIN USER NKEY SEED-----'), 'alice got a creds file');
  bootstrap.publish('chat.KUBECON.room', 'the bootstrap user tries to chat');
  await bootstrap.flush();
  await waitFor(() => bootstrapErrors.some((e) => /permissions violation/i.test(e)), 'a permissions violation for the bootstrap user');
  check(true, 'the bootstrap user may not publish to chat.KUBECON.room');

  step('alice and bob chat with the minted creds; ADMIN sees who is online through the stream import');
  const alice = await asUser(url, aliceCreds, 'alice');
  const bob = await asUser(url, bobCreds, 'bob');
  closers.push(alice, bob);
  const room = { alice: [], bob: [] };
  alice.subscribe('chat.KUBECON.room', { callback: (_e, m) => room.alice.push(m.string()) });
  bob.subscribe('chat.KUBECON.room', { callback: (_e, m) => room.bob.push(m.string()) });
  await alice.flush();
  await bob.flush();
  alice.publish('chat.KUBECON.online', 'alice');
  bob.publish('chat.KUBECON.online', 'bob');
  alice.publish('chat.KUBECON.room', 'alice: hello KubeCon!');
  // Two connections have no order between them: bob answers once he has read alice.
  await waitFor(() => room.bob.length === 1 && room.alice.length === 1, 'alice\'s message at both users');
  bob.publish('chat.KUBECON.room', 'bob: hi alice');
  await waitFor(() => room.alice.length === 2 && room.bob.length === 2, 'both chat messages at both users');
  for (const line of room.bob) console.log(`    bob sees "${line}"`);
  check(JSON.stringify(room.alice) === JSON.stringify(['alice: hello KubeCon!', 'bob: hi alice']), 'alice and bob see the conversation in order');
  await waitFor(() => provisioner.online().length === 2, 'the provisioner to see alice and bob online');
  // alice and bob announce themselves on two connections, which have no order between them.
  check([...provisioner.online()].sort().join(',') === 'alice,bob', 'the provisioner (ADMIN) sees alice and bob on chat.KUBECON.online');
  const more = (await bob.request('chat.req.access', 'bob-phone', { timeout: 5000 })).string();
  check(more.includes('-----BEGIN NATS USER JWT-----'), 'a CHAT user reaches the ADMIN service through the service import');

  step('Revoke alice (revocation in CHAT, then push CHAT): she is cut off, bob carries on');
  const alicePub = JSON.parse(execFileSync(process.execPath, [NATTER, 'auth', 'describe', 'jwt', '--json', aliceCreds.split('\n')[1]], { encoding: 'utf8' })).sub;
  auth('revoke', 'user', '-a', 'CHAT', '--user-key', alicePub);
  process.stdout.write(auth('push', '--server', url, '-a', 'CHAT'));
  const why = await Promise.race([alice.closed(), new Promise((r) => setTimeout(() => r(new Error('still connected after 5s')), 5000))]);
  check(why instanceof Error && /revoked/i.test(why.message), `alice's connection was closed (${why?.message})`);
  let refused = '';
  try {
    const again = await asUser(url, aliceCreds, 'alice again');
    await again.close();
  } catch (e) {
    refused = e.message;
  }
  check(/authorization violation/i.test(refused), 'alice cannot connect again');
  bob.publish('chat.KUBECON.room', 'bob: still here');
  await waitFor(() => room.bob.length === 3, "bob's message after the revocation");
  check(!bob.isClosed(), 'bob is still connected');

  console.log('\nKubeCon walkthrough: every step passed');
}

let failed = false;
try {
  await main();
} catch (e) {
  failed = true;
  console.error(`\nKubeCon walkthrough FAILED: ${e.stack ?? e}`);
} finally {
  for (const c of closers.reverse()) await c.close().catch(() => {});
  if (server !== null) {
    const gone = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    const t = setTimeout(() => server.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(t);
  }
  if (!keep) rmSync(work, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
