/** Receiving trace events (ADR-41) as JSON on a destination subject. */
import type { NatsConnection } from '@nats-io/transport-node';
import { waitUntil } from '../helpers/wait.js';

export interface TraceEventItem {
  type: string;
  ts: string;
  kind?: number;
  cid?: number;
  name?: string;
  acc?: string;
  subj?: string;
  sub?: string;
  queue?: string;
  hop?: string;
  error?: string;
  stream?: string;
  subject?: string;
  nointerest?: boolean;
  from?: string;
  to?: string;
}

export interface TraceEvent {
  server: { name: string; host: string; id: string; cluster?: string; ver: string; jetstream: boolean; flags: number; seq: number; time: string };
  request: { header?: Record<string, string[]>; msgsize?: number };
  hops?: number;
  events: TraceEventItem[];
}

/** Collects every trace event published to `dest` (in `nc`'s account). */
export function traceListener(nc: NatsConnection, dest: string): TraceEvent[] {
  const got: TraceEvent[] = [];
  nc.subscribe(dest, { callback: (_e, m) => { got.push(m.json<TraceEvent>()); } });
  return got;
}

/** Waits for (and removes) the oldest collected event. */
export async function nextEvent(got: TraceEvent[], timeoutMs = 2000): Promise<TraceEvent> {
  await waitUntil(() => got.length > 0, timeoutMs, 'a trace event');
  return got.shift() as TraceEvent;
}

/** Waits until `n` events arrived, and returns them all. */
export async function events(got: TraceEvent[], n: number, timeoutMs = 3000): Promise<TraceEvent[]> {
  await waitUntil(() => got.length >= n, timeoutMs, `${n} trace events`);
  return got.splice(0, got.length);
}
