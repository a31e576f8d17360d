/**
 * Leaf node test helpers: a Natter hub and a Natter leaf (or either next
 * to nats-server 2.9.10), waits on the leaf handshake and on interest
 * crossing the hop, and the traffic checked across it.
 */
import assert from 'node:assert/strict';
import { connect, type NatsConnection, type ConnectionOptions } from '@nats-io/transport-node';
import type { StartOptions } from '../../src/index.js';
import type { RawBlock } from '../../src/server/options.js';
import { LogCapture } from '../helpers/log-capture.js';
import { startNatter, type TestNatter } from '../helpers/natter.js';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';
import { freePort } from '../helpers/ports.js';
import { sleep, waitUntil } from '../helpers/wait.js';

export interface Side {
  readonly natter: TestNatter;
  readonly log: LogCapture;
}

/** A Natter with a leafnodes block and a log to look at. */
export async function startLeafNatter(leafnodes: RawBlock, extra: StartOptions = {}): Promise<Side> {
  const log = new LogCapture({ debug: true });
  const natter = await startNatter({ ...extra, leafnodes, logger: log });
  return { natter, log };
}

/** The port a Natter's leafnode listener is bound to. */
export function leafPort(n: TestNatter): number {
  const port = n.server.leafnodes?.varz().port;
  if (typeof port !== 'number') throw new Error('no leafnode listener');
  return port;
}

/** Waits until `n` has `count` leaf connections past their handshake. */
export async function waitLeafs(n: TestNatter, count: number, timeoutMs = 5000): Promise<void> {
  await waitUntil(() => (n.server.leafnodes?.leafs().length ?? 0) === count, timeoutMs, `${count} leaf connection(s)`);
}

/** Waits until a leaf connection of `n` (bound to `account`, if given) holds interest in `subject`. */
export async function waitLeafInterest(n: TestNatter, subject: string, account?: string, timeoutMs = 5000): Promise<void> {
  await waitUntil(
    () => (n.server.leafnodes?.leafs() ?? []).some((l) => (account === undefined || l.account === account) && l.subscriptions.includes(subject)),
    timeoutMs,
    `leaf interest in "${subject}"`,
  );
}

export function dial(url: string, opts: Partial<ConnectionOptions> = {}): Promise<NatsConnection> {
  return connect({ servers: url, reconnect: false, timeout: 3000, ...opts });
}

/** Collects the payloads a subscription receives, as text. */
export function collect(nc: NatsConnection, subject: string, queue?: string): string[] {
  const got: string[] = [];
  nc.subscribe(subject, { queue, callback: (_e, m) => { got.push(m.string()); } });
  return got;
}

/** Publishes, requests and queue-group traffic between a client of the hub and one of the leaf. */
export async function exchange(hubConn: NatsConnection, leafConn: NatsConnection, waitHub: (s: string) => Promise<void>, waitLeaf: (s: string) => Promise<void>): Promise<void> {
  const atLeaf = collect(leafConn, 'down');
  const atHub = collect(hubConn, 'up');
  leafConn.subscribe('svc.leaf', { callback: (_e, m) => { m.respond(`leaf: ${m.string()}`); } });
  hubConn.subscribe('svc.hub', { callback: (_e, m) => { m.respond(`hub: ${m.string()}`); } });
  const qHub = collect(hubConn, 'work', 'q');
  const qLeaf = collect(leafConn, 'work', 'q');
  await hubConn.flush();
  await leafConn.flush();
  // The hub must hold the leaf's interest, and the leaf the hub's.
  await waitHub('svc.leaf');
  await waitHub('work');
  await waitLeaf('svc.hub');
  await waitLeaf('work');
  hubConn.publish('down', 'd1');
  leafConn.publish('up', 'u1');
  assert.equal((await hubConn.request('svc.leaf', 'x', { timeout: 2000 })).string(), 'leaf: x');
  assert.equal((await leafConn.request('svc.hub', 'y', { timeout: 2000 })).string(), 'hub: y');
  for (let i = 0; i < 40; i++) {
    hubConn.publish('work', `h${i}`);
    leafConn.publish('work', `l${i}`);
  }
  await hubConn.flush();
  await leafConn.flush();
  await waitUntil(() => atLeaf.length === 1 && atHub.length === 1 && qHub.length + qLeaf.length >= 80, 3000, 'all messages');
  await sleep(100);
  assert.deepEqual(atLeaf, ['d1']);
  assert.deepEqual(atHub, ['u1']);
  // Exactly once, each side's publishes to its own member (both servers prefer local members).
  assert.equal(qHub.length + qLeaf.length, 80);
  assert.ok(qHub.every((s) => s.startsWith('h')) && qLeaf.every((s) => s.startsWith('l')), `${qHub} / ${qLeaf}`);
}

/** nats-server with monitoring, so the test can see its leaf connections. */
export async function startRef(config: string): Promise<{ ref: NatsServerHandle; http: string }> {
  const httpPort = await freePort();
  const ref = await startNatsServer({ config, args: ['-m', String(httpPort)] });
  return { ref, http: `http://127.0.0.1:${httpPort}` };
}

export interface RefLeaf {
  readonly account: string;
  readonly subscriptions_list?: string[];
}

export async function refLeafs(http: string): Promise<RefLeaf[]> {
  const r = await (await fetch(`${http}/leafz?subs=1`)).json() as { leafs: RefLeaf[] | null };
  return r.leafs ?? [];
}

/** Waits until nats-server holds leaf interest in `subject` (from its leaf connection). */
export async function waitRefInterest(http: string, subject: string): Promise<void> {
  let last: RefLeaf[] = [];
  await waitUntil(async () => {
    last = await refLeafs(http);
    return last.some((l) => l.subscriptions_list?.includes(subject) === true);
  }, 5000, `nats-server leaf interest in "${subject}": ${JSON.stringify(last)}`, 20);
}
