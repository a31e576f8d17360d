/**
 * Leaf node test helpers: a Natter hub and a Natter leaf (or either next
 * to nats-server 2.9.10), waits on the leaf handshake and on interest
 * crossing the hop.
 */
import { connect, type NatsConnection, type ConnectionOptions } from '@nats-io/transport-node';
import type { StartOptions } from '../../src/index.js';
import type { RawBlock } from '../../src/server/options.js';
import { LogCapture } from '../helpers/log-capture.js';
import { startNatter, type TestNatter } from '../helpers/natter.js';
import { waitUntil } from '../helpers/wait.js';

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
