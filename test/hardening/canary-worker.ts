/**
 * The canary's request/reply loop, run in a worker thread by ./canary.ts.
 *
 * It lives on its own thread so that whatever the attacker's client does on
 * the test's main thread (writing 200k SUBs, parsing a huge reply, GC) is not
 * measured as server latency: only the server and the network sit between
 * the canary's request and its reply.
 *
 * Main → worker: 'stop'. Worker → main: 'ready', then a CanaryResult once stopped.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { connect, type NatsConnection } from '@nats-io/transport-node';

export interface CanaryWorkerConfig {
  url: string;
  user: string;
  pass: string;
  subject: string;
  /** Give up on one request after this long; it still counts as a sample of that length. */
  requestTimeoutMs: number;
  /** Pause between requests; 0 sends the next one as soon as the reply is in. */
  pauseMs: number;
}

/** What the canary saw between start() and stop(). Latencies in milliseconds. */
export interface CanaryResult {
  /** Requests answered. */
  count: number;
  /** Requests that failed (timeout, no responders, disconnect). */
  failures: number;
  /** Worst latency, including a failed request's wait and the one still in flight at stop(). */
  max: number;
  p50: number;
  p99: number;
}

// `node --test` may load every file under test/: only a worker started by canary.ts runs the loop.
if (parentPort !== null && (workerData as { canary?: CanaryWorkerConfig } | undefined)?.canary !== undefined) {
  await run(parentPort, (workerData as { canary: CanaryWorkerConfig }).canary);
}

async function run(port: NonNullable<typeof parentPort>, cfg: CanaryWorkerConfig): Promise<void> {
  const opts = { servers: cfg.url, user: cfg.user, pass: cfg.pass, maxReconnectAttempts: 0 };
  const responder = await connect(opts);
  responder.subscribe(cfg.subject, {
    callback: (_err, msg) => {
      msg.respond(msg.data);
    },
  });
  await responder.flush();
  const requester = await connect(opts);

  let stopping = false;
  // The stop message is read between the loop's awaits, so a request stuck in
  // a stall does not delay it: the stall is measured as it stands.
  const stopped = new Promise<void>((resolve) => port.once('message', () => resolve()));
  void stopped.then(() => (stopping = true));
  port.postMessage('ready');

  // Preallocated so recording a sample does not allocate; doubles if a run is long.
  let samples = new Float64Array(1 << 16);
  let n = 0;
  let failures = 0;
  const record = (ms: number): void => {
    if (n === samples.length) {
      const bigger = new Float64Array(samples.length * 2);
      bigger.set(samples);
      samples = bigger;
    }
    samples[n++] = ms;
  };

  const payload = new Uint8Array(16);
  let inFlightSince = 0;
  const loop = (async (): Promise<void> => {
    while (!stopping) {
      inFlightSince = performance.now();
      let failed = false;
      try {
        await requester.request(cfg.subject, payload, { timeout: cfg.requestTimeoutMs });
      } catch {
        failed = true;
      }
      // Ended after stop(): already measured as the request in flight.
      if (stopping) break;
      if (failed) failures++;
      record(performance.now() - inFlightSince);
      inFlightSince = 0;
      if (cfg.pauseMs > 0) await new Promise((r) => setTimeout(r, cfg.pauseMs));
    }
  })();
  await stopped;
  const answered = n - failures;
  // The request still waiting at stop() is a sample too: it is the stall in progress.
  if (inFlightSince !== 0) record(performance.now() - inFlightSince);

  const sorted = samples.subarray(0, n).sort();
  const at = (q: number): number => (n === 0 ? 0 : sorted[Math.min(n - 1, Math.ceil(q * n) - 1)]);
  const result: CanaryResult = { count: answered, failures, max: at(1), p50: at(0.5), p99: at(0.99) };
  port.postMessage(result);
  await closeQuietly(requester, loop);
  await closeQuietly(responder);
}

async function closeQuietly(nc: NatsConnection, pending?: Promise<void>): Promise<void> {
  await nc.close().catch(() => undefined);
  await pending?.catch(() => undefined);
}
