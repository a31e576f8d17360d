/**
 * natter-server's start-up against nats-server 2.9.10 run with the same
 * command line: the fatal line and exit status for port values no listener
 * can take, the banner's Cluster and Node lines, and operator mode's
 * trusted operators and resolver directory lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NATS_SERVER_BIN } from '../helpers/nats-server.js';
import { trackChild } from '../helpers/children.js';
import { freePort } from '../helpers/ports.js';

const NATTER_SERVER = fileURLToPath(new URL('../../src/cli/natter-server.js', import.meta.url));
const NATTER = fileURLToPath(new URL('../../src/cli/natter.js', import.meta.url));

interface Run {
  /** Log lines without the `[pid] date time ` prefix. */
  lines: string[];
  code: number | null;
}

/**
 * Runs a server until it exits or logs a line matching `until` (then stops
 * it with SIGINT), at most `timeoutMs`.
 */
function runServer(cmd: string, args: string[], until: RegExp, timeoutMs = 10_000): Promise<Run> {
  const isNode = cmd === NATTER_SERVER;
  const proc = spawn(isNode ? process.execPath : cmd, isNode ? [cmd, ...args] : args, { stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(proc);
  let output = '';
  const lines = (): string[] => output.split('\n').filter((l) => l !== '').map((l) => l.replace(/^\[\d+\] \S+ \S+ /, ''));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${cmd} neither exited nor logged ${String(until)} within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (d: Buffer): void => {
      output += d.toString();
      if (until.test(output)) proc.kill('SIGINT');
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ lines: lines(), code });
    });
  });
}

/** What follows the banner, up to the client listener. */
function notes(r: Run): string[] {
  const from = r.lines.findIndex((l) => l.startsWith('[INF]   ID:'));
  const to = r.lines.findIndex((l) => l.startsWith('[INF] Listening for client connections'));
  assert.ok(from >= 0 && to > from, `a banner, then the client listener:\n${r.lines.join('\n')}`);
  return r.lines.slice(from + 1, to);
}

/** The first [FTL] line. */
function fatal(r: Run): string | undefined {
  return r.lines.find((l) => l.startsWith('[FTL]'));
}

test('ports no listener can take: nats-server\'s fatal line and exit status', async () => {
  const port = String(await freePort());
  const cases: string[][] = [
    ['-p', '99999'],
    ['-p', '-5'],
    ['-p', port, '-m', '99999'],
    ['-p', port, '-m', '-5'],
    ['-p', '70000', '-m', '99999'],
  ];
  for (const args of cases) {
    const full = ['-a', '127.0.0.1', ...args];
    const [expected, got] = [await runServer(NATS_SERVER_BIN, full, /Server is ready/), await runServer(NATTER_SERVER, full, /Server is ready/)];
    assert.ok(fatal(expected) !== undefined, `nats-server refuses ${args.join(' ')}`);
    assert.equal(fatal(got), fatal(expected), args.join(' '));
    assert.equal(got.code, expected.code, `exit status for ${args.join(' ')}`);
  }
});

test('the banner names the cluster and, with JetStream, the Raft node', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'natter-banner-'));
  try {
    const args = ['-a', '127.0.0.1', '-p', String(await freePort()), '-n', 'srv-1', '-js', '-sd', dir, '--cluster_name', 'c1', '-cluster', `nats://127.0.0.1:${await freePort()}`];
    const banner = (r: Run): string[] => r.lines.filter((l) => /^\[INF\] {3}(Cluster|Name|Node): /.test(l));
    // nats-server then refuses a JetStream cluster without routes; its banner comes first.
    const expected = banner(await runServer(NATS_SERVER_BIN, args, /Server is ready/));
    assert.equal(expected.length, 3);
    assert.deepEqual(banner(await runServer(NATTER_SERVER, args, /Server is ready/)), expected);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('JetStream: the JETSTREAM frame with its fields, and the shutdown lines, as nats-server logs them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'natter-jsframe-'));
  try {
    const args = ['-a', '127.0.0.1', '-p', String(await freePort()), '-js', '-sd', dir];
    // The frame's lines and the two JetStream shutdown lines (nats-server's ASCII art and Natter's Sync line aside).
    const frame = (r: Run): string[] => {
      const from = r.lines.indexOf('[INF] ---------------- JETSTREAM ----------------');
      const to = r.lines.indexOf('[INF] -------------------------------------------');
      assert.ok(from >= 0 && to > from, r.lines.join('\n'));
      return r.lines.slice(from, to + 1).filter((l) => !l.startsWith('[INF]   Sync:') && !l.startsWith('[INF]   Max '))
        .concat(r.lines.filter((l) => /JetStream Shutdown/.test(l)));
    };
    const expected = frame(await runServer(NATS_SERVER_BIN, args, /Server is ready/));
    assert.ok(expected.includes(`[INF]   Store Directory: "${join(dir, 'jetstream')}"`), expected.join('\n'));
    assert.deepEqual(frame(await runServer(NATTER_SERVER, args, /Server is ready/)), expected);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('operator mode logs the config file, the trusted operators and the resolver directory as nats-server does', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'natter-operator-log-'));
  try {
    const auth = (...args: string[]): string => execFileSync(process.execPath, [NATTER, 'auth', '--store', join(dir, 'store'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    auth('init', '--operator', 'KO');
    auth('add', 'account', 'CHAT');
    const confs: Record<string, string> = {
      memory: auth('generate', 'config', '--mem-resolver'),
      full: auth('generate', 'config', '--full-resolver', '--dir', join(dir, 'jwt')),
    };
    for (const [kind, text] of Object.entries(confs)) {
      const conf = join(dir, `${kind}.conf`);
      writeFileSync(conf, text);
      const args = ['-a', '127.0.0.1', '-p', String(await freePort()), '-c', conf];
      rmSync(join(dir, 'jwt'), { recursive: true, force: true });
      mkdirSync(join(dir, 'jwt'));
      const expected = notes(await runServer(NATS_SERVER_BIN, args, /Server is ready/));
      assert.ok(expected.includes('[INF] Trusted Operators'), `nats-server lists the operator (${kind})`);
      rmSync(join(dir, 'jwt'), { recursive: true, force: true });
      mkdirSync(join(dir, 'jwt'));
      assert.deepEqual(notes(await runServer(NATTER_SERVER, args, /Server is ready/)), expected, kind);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('plaintext passwords are warned about after the banner, bcrypt hashes are not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'natter-plaintext-'));
  try {
    const hash = '$2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.CXMZw2';
    const confs: Record<string, string> = {
      plain: 'authorization { user: a, password: b }\n',
      account: 'accounts { A: { users: [ { user: x, password: y } ] } }\n',
      bcrypt: `authorization { users: [ { user: a, password: "${hash}" } ] }\n`,
    };
    for (const [name, text] of Object.entries(confs)) {
      const conf = join(dir, `${name}.conf`);
      writeFileSync(conf, text);
      const args = ['-a', '127.0.0.1', '-p', String(await freePort()), '-c', conf];
      const expected = notes(await runServer(NATS_SERVER_BIN, args, /Server is ready/));
      assert.equal(expected.some((l) => l.includes('Plaintext passwords')), name !== 'bcrypt', `nats-server's warning for ${name}`);
      assert.deepEqual(notes(await runServer(NATTER_SERVER, args, /Server is ready/)), expected, name);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
