/**
 * The frame every fault test runs in: a 3-node cluster, an R3 file stream
 * `E2E` and an R3 durable pull consumer, two async publishers (one
 * preferring the stream leader's node, one a follower's) and the acking
 * consumer (preferring the other follower) recording into one History.
 * The test's body injects its fault while the load runs. Afterwards the
 * publishers stop, the consumer drains, every replica must hold the same
 * messages, each replica is read and the checker must find nothing.
 * The cluster is torn down whatever happens; on failure the nodes' log
 * tails go into the error.
 */
import type { TestContext } from 'node:test';
import type { NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, jetstreamManager, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import { E2ECluster, type NetworkKind } from './cluster-harness.js';
import { check, describeResult, History, type CheckResult } from './history.js';
import { readReplicas, streamLeader, waitInSync } from './replicas.js';
import { AckingConsumer, AsyncPublisher } from './workload.js';
import { waitFor } from './wait-for.js';

export const STREAM = 'E2E';
export const SUBJECT = 'e2e.msg';
export const DURABLE = 'C';

export interface FaultRunOptions {
  readonly network?: NetworkKind;
  /** Async publishers started before the body (default 2). */
  readonly publishers?: number;
  /** PubAcks in flight per publisher (default 64). */
  readonly inflight?: number;
  /** Publishes per second per publisher (default: unlimited); long runs use it so the consumer can keep up. */
  readonly ratePerSec?: number;
  /** Run the acking consumer (default true). */
  readonly consumer?: boolean;
  /** PubAcks to see before the body runs (default 2000). */
  readonly warmupAcks?: number;
  /** Bound on drain + sync + read after the body (default 40 s). */
  readonly settleMs?: number;
  /** More top-level config lines for every node. */
  readonly extraConfig?: readonly string[];
}

export interface FaultRun {
  readonly c: E2ECluster;
  readonly history: History;
  /** An admin connection preferring a node that is not the stream leader at the start. */
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly publishers: AsyncPublisher[];
  readonly consumer: AckingConsumer | null;
  /** Index of the current stream leader. */
  leader(timeoutMs?: number): Promise<number>;
  /** Waits until every running publisher has `n` more PubAcks. */
  progress(n: number, timeoutMs: number): Promise<void>;
  /** Adds a line to the report (timings and facts the test measured); printed at once with E2E_VERBOSE=1. */
  note(line: string): void;
}

export const PAYLOAD_SIZE = 128;
const ACK_TIMEOUT_MS = 4000;

export async function faultRun(t: TestContext, o: FaultRunOptions, body: (run: FaultRun) => Promise<void>): Promise<CheckResult> {
  const c = await E2ECluster.start({ network: o.network ?? 'loopback', extraConfig: o.extraConfig });
  const history = new History();
  const notes: string[] = [];
  const started = performance.now();
  const note = (line: string): void => {
    notes.push(line);
    if (process.env.E2E_VERBOSE) process.stderr.write(`[e2e +${((performance.now() - started) / 1000).toFixed(1)}s] ${line}\n`);
  };
  const publishers: AsyncPublisher[] = [];
  let consumer: AckingConsumer | null = null;
  try {
    await c.waitMetaLeader(30000);
    const bootstrap = await c.client('e2e-setup', 0);
    const jsm0 = await jetstreamManager(bootstrap, { checkAPI: false });
    // Right after the meta election the leader may not know every peer yet: retry the create for a while.
    let createError = '';
    await waitFor(
      async () => {
        try {
          await jsm0.streams.add({ name: STREAM, subjects: ['e2e.>'], num_replicas: 3, storage: StorageType.File });
          return true;
        } catch (e) {
          createError = (e as Error).message;
          return false;
        }
      },
      20000,
      () => `an R3 stream to be created (last error: ${createError})`,
      250,
    );
    if (o.consumer !== false) {
      await jsm0.consumers.add(STREAM, { durable_name: DURABLE, ack_policy: AckPolicy.Explicit, ack_wait: 4_000_000_000, max_ack_pending: 2000 });
    }
    const leader0 = c.indexOf(await streamLeader(jsm0, STREAM, 20000));
    const followers = [1, 2].map((k) => (leader0 + k) % c.size);
    const nc = await c.client('e2e-admin', followers[0]);
    const jsm = await jetstreamManager(nc, { checkAPI: false });
    const prefs = [leader0, followers[0]];
    for (let k = 0; k < (o.publishers ?? 2); k++) {
      const pnc = await c.client(`e2e-pub${k + 1}`, prefs[k % prefs.length]);
      publishers.push(new AsyncPublisher(history, pnc, `p${k + 1}`, { subject: SUBJECT, inflight: o.inflight ?? 64, size: PAYLOAD_SIZE, ackTimeoutMs: ACK_TIMEOUT_MS, ratePerSec: o.ratePerSec }));
    }
    consumer = o.consumer === false ? null : new AckingConsumer(history, await c.client('e2e-consumer', followers[1]), { stream: STREAM, durable: DURABLE, batch: 100, ackTimeoutMs: ACK_TIMEOUT_MS });
    for (const p of publishers) p.start();
    consumer?.start();
    const run: FaultRun = {
      c,
      history,
      nc,
      jsm,
      publishers,
      consumer,
      note,
      leader: async (timeoutMs = 30000) => c.indexOf(await streamLeader(jsm, STREAM, timeoutMs)),
      progress: async (n, timeoutMs) => {
        await Promise.all(publishers.map((p) => p.waitMoreAcks(n, timeoutMs)));
      },
    };
    if (publishers.length > 0) await run.progress(Math.ceil((o.warmupAcks ?? 2000) / publishers.length), 30000);

    await body(run);

    await Promise.all(publishers.map((p) => p.stop()));
    const settleMs = o.settleMs ?? 40000;
    const t0 = performance.now();
    await consumer?.drain(settleMs);
    const t1 = performance.now();
    await waitInSync(c, STREAM, settleMs);
    const t2 = performance.now();
    const trace: string[] = [];
    const replicas = await readReplicas(c, nc, STREAM, settleMs, trace);
    trace.forEach(note);
    const ms = (a: number, b: number): number => Math.round(b - a);
    note(`settle: consumer drained ${ms(t0, t1)} ms, replicas in sync ${ms(t1, t2)} ms, ${replicas.length} replicas read ${ms(t2, performance.now())} ms`);
    const result = check(history, replicas);
    t.diagnostic(`${c.kind}: ${describeResult(result)}`);
    for (const n of notes) t.diagnostic(n);
    if (result.findings.length > 0) throw new Error(`history check failed on ${c.kind}:\n${describeResult(result)}`);
    return result;
  } catch (e) {
    const err = e as Error;
    err.message += `\n${notes.join('\n')}\n${c.logs(15)}`;
    throw err;
  } finally {
    // A failed run leaves the load running: stop it before the cluster goes.
    await Promise.all([...publishers.map((p) => p.stop()), consumer?.stop()].map((p) => p?.catch(() => undefined)));
    await c.close();
  }
}

/** performance.now() of the first PubAck, by any publisher, for a message sent at or after `since`. */
export function firstAckSentAfter(h: History, since: number): number | null {
  let best: number | null = null;
  for (const p of h.publishes) {
    if (p.outcome?.kind === 'ack' && p.sentAt >= since && (best === null || p.doneAt < best)) best = p.doneAt;
  }
  return best;
}
