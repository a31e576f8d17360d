/**
 * Shared pieces of the monitoring tests: an embedded Natter with a random
 * monitoring port, a spawned reference nats-server, HTTP fetches, and a
 * "shape" (keys and JSON value types) for comparing the two servers' answers.
 */
import net from 'node:net';
import { connect, type NatsConnection, type ConnectionOptions } from '@nats-io/transport-node';
import type { StartOptions } from '../../src/index.js';
import { startNatsServer } from '../helpers/nats-server.js';
import { startNatter, type TestNatter } from '../helpers/natter.js';
import { freePort } from '../helpers/ports.js';

export interface Monitored {
  srv: TestNatter;
  /** Monitoring base URL, e.g. http://127.0.0.1:40123 */
  base: string;
  clients: NatsConnection[];
  connect(opts?: ConnectionOptions): Promise<NatsConnection>;
  close(): Promise<void>;
}

/** An embedded Natter with monitoring on a random port. */
export async function startMonitored(opts: StartOptions = {}): Promise<Monitored> {
  const srv = await startNatter({ http_port: -1, ...opts });
  const base = srv.server.monitorURLs[0];
  const clients: NatsConnection[] = [];
  return {
    srv,
    base,
    clients,
    async connect(o: ConnectionOptions = {}) {
      const nc = await connect({ servers: srv.url, ...o });
      clients.push(nc);
      return nc;
    },
    async close() {
      await Promise.allSettled(clients.map((c) => c.close()));
      await srv.close();
    },
  };
}

export interface HttpResult {
  status: number;
  contentType: string;
  headers: Headers;
  text: string;
}

export async function get(base: string, path: string, init: RequestInit = {}): Promise<HttpResult> {
  const r = await fetch(base + path, { redirect: 'manual', ...init });
  return { status: r.status, contentType: r.headers.get('content-type') ?? '', headers: r.headers, text: await r.text() };
}

/** GET expecting 200 JSON; returns the parsed body. */
export async function getJson<T = Record<string, unknown>>(base: string, path: string): Promise<T> {
  const r = await get(base, path);
  if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.text}`);
  if (r.contentType !== 'application/json') throw new Error(`GET ${path}: content-type ${r.contentType}`);
  return JSON.parse(r.text) as T;
}

/** Resolves when `s` has received a PONG (after `send` is written), rejects after `timeoutMs`. */
function awaitPong(s: net.Socket, send: () => void, timeoutMs: number, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let buf = '';
    const done = (err?: Error): void => {
      clearTimeout(timer);
      s.off('data', onData);
      s.off('error', onError);
      if (err) reject(err);
      else resolve();
    };
    const onData = (d: Buffer): void => {
      buf += d.toString('latin1');
      if (buf.includes('PONG\r\n')) done();
    };
    const onError = (e: Error): void => done(e);
    const timer = setTimeout(() => done(new Error(`${what}: no PONG after ${timeoutMs}ms (got ${JSON.stringify(buf)})`)), timeoutMs);
    s.on('data', onData);
    s.on('error', onError);
    send();
  });
}

/** A raw NATS connection that has sent CONNECT and got its PONG; cheap enough to open hundreds. */
export async function rawClient(port: number, connectJson = '{"verbose":false}'): Promise<net.Socket> {
  const s = net.connect({ host: '127.0.0.1', port });
  await awaitPong(s, () => s.once('connect', () => s.write(`CONNECT ${connectJson}\r\nPING\r\n`)), 5000, 'raw connect');
  return s;
}

/** Sends bytes on a raw connection and waits for the PONG that follows them. */
export function rawRoundTrip(s: net.Socket, bytes: string): Promise<void> {
  return awaitPong(s, () => s.write(bytes + 'PING\r\n'), 5000, 'raw round trip');
}

export interface Reference {
  url: string;
  base: string;
  stop(): Promise<void>;
}

/**
 * The reference nats-server with monitoring on a free port. Up once it logs
 * "Server is ready" (monitoring starts before that), without a probe
 * connection that would show in its connection counts.
 */
export async function startReference(): Promise<Reference> {
  const mport = await freePort();
  const ref = await startNatsServer({ args: ['-m', String(mport)], readyWhen: 'logged' });
  return { url: ref.url, base: `http://127.0.0.1:${mport}`, stop: () => ref.stop() };
}

/** JSON value types, recursively: objects by key, arrays by the union of their elements. */
export type Shape = string | { [key: string]: Shape } | Shape[];

export function shapeOf(v: unknown): Shape {
  if (v === null) return 'null';
  if (Array.isArray(v)) {
    let merged: Shape | null = null;
    for (const e of v) merged = merged === null ? shapeOf(e) : mergeShapes(merged, shapeOf(e));
    return merged === null ? [] : [merged];
  }
  if (typeof v === 'object') {
    const out: { [key: string]: Shape } = {};
    for (const k of Object.keys(v as object).sort()) out[k] = shapeOf((v as Record<string, unknown>)[k]);
    return out;
  }
  return typeof v;
}

function mergeShapes(a: Shape, b: Shape): Shape {
  if (typeof a === 'string' || typeof b === 'string') return a === b ? a : `${String(a)}|${String(b)}`;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length === 0) return b;
    if (b.length === 0) return a;
    return [mergeShapes(a[0], b[0])];
  }
  if (Array.isArray(a) || Array.isArray(b)) return 'mixed';
  const out: { [key: string]: Shape } = {};
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    out[k] = k in a && k in b ? mergeShapes(a[k], b[k]) : (a[k] ?? b[k]);
  }
  return out;
}

/** Removes `path` (dot-separated, `[]` steps into array elements) from a parsed JSON value. */
export function dropPath(v: unknown, path: string): void {
  const [head, ...rest] = path.split('.');
  if (v === null || typeof v !== 'object') return;
  if (head === '[]') {
    if (Array.isArray(v)) for (const e of v) dropPath(e, rest.join('.'));
    return;
  }
  const o = v as Record<string, unknown>;
  if (rest.length === 0) delete o[head];
  else dropPath(o[head], rest.join('.'));
}

/** The order in which keys appear (top level), for checking Go's field order. */
export function keyOrder(text: string): string[] {
  return Object.keys(JSON.parse(text) as object);
}
