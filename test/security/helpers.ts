/**
 * Shared pieces of the end-to-end security suite: servers from a config file
 * (nats-server 2.9.10 and Natter's own command), embedded Natter from option
 * objects, and one small façade over the two official clients (nats.js v2
 * and @nats-io/transport-node v3) so every scenario runs with both.
 *
 * This module has no side effects at import: `node --test dist/test/` loads
 * every file under a test/ folder.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as v2 from 'nats';
import * as v3 from '@nats-io/transport-node';
import { fromSeed } from '@nats-io/nkeys';
import type { StartOptions } from '../../src/index.js';
import { startNatter } from '../helpers/natter.js';
import { NATS_SERVER_BIN } from '../helpers/nats-server.js';
import { freePort, waitForListen } from '../helpers/ports.js';
import { sleep } from '../helpers/wait.js';
import { trackChild } from '../helpers/children.js';

/** The repository root, whether this runs from test/ or dist/test/. */
export const REPO_ROOT: string = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package.json not found above the tests');
    dir = up;
  }
  return dir;
})();

export const SECURITY_FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'security');
export const E2E_FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'security-e2e');
export const NATTER_CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'natter-server.js');

// ---- config text -------------------------------------------------------------

const BARE_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** An options object in nats-server config syntax (strings quoted, so any subject is safe). */
export function toConf(v: unknown, indent = ''): string {
  if (Array.isArray(v)) return `[${v.map((x) => toConf(x, indent)).join(', ')}]`;
  if (v !== null && typeof v === 'object') {
    const inner = indent + '  ';
    const lines = Object.entries(v as Record<string, unknown>).map(
      ([k, x]) => `${inner}${BARE_KEY.test(k) ? k : JSON.stringify(k)}: ${toConf(x, inner)}`,
    );
    return `{\n${lines.join('\n')}\n${indent}}`;
  }
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

/** A whole config file for top-level options. */
export function confFile(opts: Record<string, unknown>): string {
  return Object.entries(opts).map(([k, v]) => `${k}: ${toConf(v)}`).join('\n') + '\n';
}

const tempDirs: string[] = [];
let cleanupInstalled = false;

/** Writes `text` to a fresh temporary file (removed when the process exits); returns its path. */
export function tempConf(text: string, name = 'server.conf'): string {
  if (!cleanupInstalled) {
    cleanupInstalled = true;
    process.on('exit', () => {
      for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
    });
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'natter-sec-e2e-'));
  tempDirs.push(dir);
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

// ---- servers -----------------------------------------------------------------

export type Kind = 'nats-server' | 'natter' | 'natter-cli';

export interface Running {
  readonly kind: Kind;
  readonly port: number;
  readonly url: string;
  /** Process output so far ('' for embedded Natter). */
  log(): string;
  stop(): Promise<void>;
}

export interface ProcServer extends Running {
  readonly file: string | null;
  /** Rewrites the config file (when given), sends SIGHUP and waits until the reload is logged. */
  reload(text?: string): Promise<void>;
}

/** A server process on a config file: the reference nats-server or `natter-server -c`. */
export async function startFromFile(kind: 'nats-server' | 'natter-cli', file: string | null, extraArgs: string[] = []): Promise<ProcServer> {
  const port = await freePort();
  const args = [...(file === null ? [] : ['-c', file]), '-a', '127.0.0.1', '-p', String(port), ...extraArgs];
  const proc = kind === 'nats-server'
    ? spawn(NATS_SERVER_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, [NATTER_CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(proc);
  let output = '';
  proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  let exited: string | null = null;
  const gone = new Promise<void>((resolve) => {
    proc.once('exit', (code, signal) => {
      exited = `${kind} exited (code ${code}, signal ${signal}): ${output}`;
      resolve();
    });
  });
  try {
    await waitForListen(port, 8000, '127.0.0.1', () => exited);
  } catch (e) {
    proc.kill('SIGKILL');
    throw e;
  }
  const count = (s: string): number => output.split(s).length - 1;
  return {
    kind,
    port,
    url: `nats://127.0.0.1:${port}`,
    file,
    log: () => output,
    async reload(text?: string) {
      if (text !== undefined) {
        if (file === null) throw new Error('no config file to rewrite');
        writeFileSync(file, text);
      }
      const before = count('Reloaded server configuration');
      const failedBefore = count('Failed to reload');
      proc.kill('SIGHUP');
      const deadline = Date.now() + 5000;
      while (count('Reloaded server configuration') === before) {
        if (exited !== null) throw new Error(exited);
        if (count('Failed to reload') > failedBefore) throw new Error(`${kind} refused the reload: ${output}`);
        if (Date.now() > deadline) throw new Error(`${kind} did not log a reload: ${output}`);
        await sleep(10);
      }
      // Clients are re-checked right after the log line (Natter checks credentials asynchronously).
      await sleep(50);
    },
    async stop() {
      if (exited !== null) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(t);
    },
  };
}

/** A server of `kind` configured by the option object (config file syntax for the processes). */
export async function startTarget(kind: Kind, opts: Record<string, unknown>): Promise<Running> {
  if (kind === 'natter') {
    const s = await startNatter(opts as StartOptions);
    return { kind, port: s.port, url: s.url, log: () => '', stop: () => s.close() };
  }
  return startFromFile(kind, tempConf(confFile(opts)));
}

// ---- clients -----------------------------------------------------------------

export type ClientLib = 'v2' | 'v3';
export const CLIENT_LIBS: readonly ClientLib[] = ['v2', 'v3'];

export interface Received {
  subject: string;
  reply: string;
  data: string;
}

export interface Auth {
  user?: string;
  pass?: string;
  token?: string;
  /** An nkey user seed: the client signs the server's nonce. */
  seed?: string;
}

/** What both official clients can do, reduced to what these tests need. */
export interface Conn {
  readonly lib: ClientLib;
  /** Server errors the client reported asynchronously (permission violations), as `-ERR` texts. */
  readonly errors: string[];
  sub(subject: string, queue?: string): Received[];
  pub(subject: string, data?: string, reply?: string): void;
  /** A request; resolves with the response payloads (one, or all within `collectMs` when set). */
  request(subject: string, data: string, timeoutMs?: number): Promise<string>;
  requestMany(subject: string, data: string, collectMs: number): Promise<string[]>;
  /** Answers every request on `subject` with `answers(data)` (each element one response). */
  serve(subject: string, answers: (data: string, subject: string) => string[], queue?: string): void;
  flush(): Promise<void>;
  isClosed(): boolean;
  /** Resolves when the connection closed: the error text that closed it, or null. */
  closed(): Promise<string | null>;
  close(): Promise<void>;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The text a v2 error code or v3 error stands for, in nats-server's words where known. */
function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Connects with the given library; throws what the client threw (e.g. an authorization error). */
export async function connectAs(lib: ClientLib, port: number, auth: Auth = {}, extra: Record<string, unknown> = {}): Promise<Conn> {
  const base: Record<string, unknown> = {
    servers: `127.0.0.1:${port}`,
    reconnect: false,
    timeout: 3000,
    ...extra,
  };
  if (auth.user !== undefined) {
    base.user = auth.user;
    base.pass = auth.pass;
  }
  if (auth.token !== undefined) base.token = auth.token;
  if (lib === 'v2') {
    if (auth.seed !== undefined) base.authenticator = v2.nkeyAuthenticator(enc.encode(auth.seed));
    const nc = await v2.connect(base as v2.ConnectionOptions);
    return wrapV2(nc);
  }
  if (auth.seed !== undefined) base.authenticator = v3.nkeyAuthenticator(enc.encode(auth.seed));
  const nc = await v3.connect(base as v3.NodeConnectionOptions);
  return wrapV3(nc);
}

function wrapV2(nc: v2.NatsConnection): Conn {
  const errors: string[] = [];
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === v2.Events.Error) {
        const pc = (s as { permissionContext?: { operation: string; subject: string; queue?: string } }).permissionContext;
        errors.push(pc ? permissionText(pc.operation, pc.subject, pc.queue) : String(s.data));
      }
    }
  })();
  const closed = nc.closed().then((e) => (e ? errorText(e) : null));
  return {
    lib: 'v2',
    errors,
    sub(subject, queue) {
      const got: Received[] = [];
      nc.subscribe(subject, {
        queue,
        callback: (err, m) => {
          if (err === null) got.push({ subject: m.subject, reply: m.reply ?? '', data: dec.decode(m.data) });
        },
      });
      return got;
    },
    pub(subject, data = '', reply) {
      nc.publish(subject, enc.encode(data), reply === undefined ? undefined : { reply });
    },
    async request(subject, data, timeoutMs = 2000) {
      const m = await nc.request(subject, enc.encode(data), { timeout: timeoutMs });
      return dec.decode(m.data);
    },
    async requestMany(subject, data, collectMs) {
      const out: string[] = [];
      const inbox = v2.createInbox();
      const sub = nc.subscribe(inbox, { callback: (_e, m) => {
        out.push(dec.decode(m.data));
      } });
      nc.publish(subject, enc.encode(data), { reply: inbox });
      await nc.flush();
      await sleep(collectMs);
      sub.unsubscribe();
      return out;
    },
    serve(subject, answers, queue) {
      nc.subscribe(subject, {
        queue,
        callback: (err, m) => {
          if (err !== null || !m.reply) return;
          for (const a of answers(dec.decode(m.data), m.subject)) nc.publish(m.reply, enc.encode(a));
        },
      });
    },
    flush: () => nc.flush(),
    isClosed: () => nc.isClosed(),
    closed: () => closed,
    close: () => nc.close(),
  };
}

function wrapV3(nc: v3.NatsConnection): Conn {
  const errors: string[] = [];
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'error') errors.push(errorText(s.error));
    }
  })();
  const closed = nc.closed().then((e) => (e ? errorText(e) : null));
  return {
    lib: 'v3',
    errors,
    sub(subject, queue) {
      const got: Received[] = [];
      nc.subscribe(subject, {
        queue,
        callback: (err, m) => {
          if (err === null) got.push({ subject: m.subject, reply: m.reply ?? '', data: m.string() });
        },
      });
      return got;
    },
    pub(subject, data = '', reply) {
      nc.publish(subject, data, reply === undefined ? undefined : { reply });
    },
    async request(subject, data, timeoutMs = 2000) {
      const m = await nc.request(subject, data, { timeout: timeoutMs });
      return m.string();
    },
    async requestMany(subject, data, collectMs) {
      const out: string[] = [];
      const inbox = v3.createInbox();
      const sub = nc.subscribe(inbox, { callback: (_e, m) => {
        out.push(m.string());
      } });
      nc.publish(subject, data, { reply: inbox });
      await nc.flush();
      await sleep(collectMs);
      sub.unsubscribe();
      return out;
    },
    serve(subject, answers, queue) {
      nc.subscribe(subject, {
        queue,
        callback: (err, m) => {
          if (err !== null || !m.reply) return;
          for (const a of answers(m.string(), m.subject)) nc.publish(m.reply, a);
        },
      });
    },
    flush: () => nc.flush(),
    isClosed: () => nc.isClosed(),
    closed: () => closed,
    close: () => nc.close(),
  };
}

/** nats-server's permission violation text (what v2 parsed out of it, put back together). */
export function permissionText(operation: string, subject: string, queue?: string): string {
  const op = operation === 'publish' ? 'Publish' : 'Subscription';
  return `Permissions Violation for ${op} to "${subject}"${queue ? ` using queue "${queue}"` : ''}`;
}

/** Connecting must fail with an authorization error (whatever the library calls it). */
export async function assertConnectRefused(lib: ClientLib, port: number, auth: Auth, what = 'connect'): Promise<void> {
  let conn: Conn | null = null;
  try {
    conn = await connectAs(lib, port, auth);
  } catch (e) {
    const text = errorText(e);
    const code = (e as { code?: unknown }).code;
    assert.ok(
      /authorization violation/i.test(text) || code === 'AUTHORIZATION_VIOLATION',
      `${what}: expected an authorization error, got ${JSON.stringify(text)} (code ${String(code)})`,
    );
    return;
  }
  await conn.close();
  assert.fail(`${what}: ${lib} connected with ${JSON.stringify(auth)}`);
}

/** Flushes every connection, then gives cross-connection deliveries a moment to land. */
export async function settle(conns: readonly Conn[], ms = 30): Promise<void> {
  for (const c of conns) await c.flush();
  await sleep(ms);
  for (const c of conns) await c.flush();
}

/** Subjects (and payloads) received, sorted: order across subscriptions is not defined. */
export function seen(got: readonly Received[]): string[] {
  return got.map((m) => `${m.subject}${m.reply !== '' ? ` reply=${m.reply}` : ''} ${m.data}`).sort();
}

/** The public key of an nkey user seed. */
export function publicKeyOf(seed: string): string {
  return fromSeed(enc.encode(seed)).getPublicKey();
}

export async function closeAll(xs: ReadonlyArray<{ close(): Promise<void> | void } | null | undefined>): Promise<void> {
  await Promise.allSettled(xs.map(async (x) => x?.close()));
}
