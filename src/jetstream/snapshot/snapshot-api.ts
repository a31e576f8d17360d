/**
 * `$JS.API.STREAM.SNAPSHOT.<stream>`: answers with the stream's config and
 * state, then streams the snapshot (archive.ts) to the request's
 * `deliver_subject` as nats-server does:
 *
 * - chunks of `chunk_size` bytes (default 128 KiB, clamped to 1 KiB..1 MiB),
 *   each with the reply `$JS.SNAPSHOT.ACK.<stream>.<id>.<size>.<index>`;
 * - at most `window_size / chunk_size` chunks unacknowledged (window default
 *   8 MiB, clamped to 1 KiB..32 MiB, at least one chunk); every ack frees one;
 * - a final empty message whose header is the outcome: `NATS/1.0 204` when
 *   complete, `408 No Interest` when the receiver went away, `408 No Flow
 *   Response` after 5 s without an ack, `500 <error>` when reading failed.
 *
 * Delivery waits up to 2 s for someone to subscribe the deliver subject.
 * `no_consumers` leaves the consumers out; `jsck` (check_msgs) reads every
 * message back first (the store verifies each record's checksum) and fails
 * the request if one cannot be read.
 */
import { randomBytes } from 'node:crypto';
import type { ApiRequest, ApiResponse } from '../api/context.js';
import type { JetStream } from '../jetstream.js';
import type { JsAccount } from '../js-account.js';
import type { Stream } from '../stream.js';
import { badRequest, snapshotDeliverSubjectInvalid, streamNotFound, streamSnapshot } from '../api/errors.js';
import { isEmptyRequest, parseRequest } from '../api/request.js';
import { isValidLiteralSubject } from '../../subjects/validate.js';
import { streamConfigJson } from '../stream-config.js';
import { publishAdvisory } from '../advisories.js';
import { clientInfo } from '../../accounts/client-info.js';
import { nowTimeString } from '../time.js';
import { runInSlices } from '../slices.js';
import type { ConsumerState } from '../store/types.js';
import { type ConsumerSnapshot, type SnapshotSource, snapshotBytes } from './archive.js';

const TYPE = 'io.nats.jetstream.api.v1.stream_snapshot_response';
const DEFAULT_CHUNK = 128 * 1024;
const DEFAULT_WINDOW = 8 * 1024 * 1024;
/** How long delivery waits for an ack before it gives up (nats-server's snapshotAckTimeout). */
const SNAPSHOT_ACK_TIMEOUT_MS = 5_000;
/** How long delivery waits for the deliver subject to be subscribed. */
const INTEREST_WAIT_MS = 2_000;
const POLL_MS = 20;
const CHECK_STEP = 4096;

function fail(err: { toJSON(): unknown }): ApiResponse {
  return { type: TYPE, error: err.toJSON() };
}

function clamp(v: unknown, dflt: number, min: number, max: number): number {
  const n = typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : dflt;
  return Math.min(Math.max(n, min), max);
}

function cloneState(s: ConsumerState): ConsumerState {
  return {
    delivered: { ...s.delivered },
    ackFloor: { ...s.ackFloor },
    pending: new Map([...s.pending].map(([seq, p]) => [seq, { ...p }])),
    redelivered: new Map(s.redelivered),
  };
}

/**
 * Captures what the snapshot holds, all at one moment. In a cluster a
 * consumer's position is its group's applied state (the consumer here may
 * be a passive follower, and a leader's own may run ahead of what was agreed).
 */
function sourceOf(js: JetStream, s: Stream, withConsumers: boolean): SnapshotSource {
  const st = s.store.state();
  const stateOf = (name: string, own: () => ConsumerState): ConsumerState =>
    js.cluster?.consumerReplica(s.account.name, s.name, name)?.state ?? own();
  const consumers: ConsumerSnapshot[] = withConsumers
    ? s.consumers.sorted().map((c) => ({
      name: c.name, config: structuredClone(c.config), created: Number(c.created / 1_000_000n), state: cloneState(stateOf(c.name, () => c.state())),
    }))
    : [];
  return { config: s.config(), created: s.createdText, store: s.store, firstSeq: st.firstSeq, lastSeq: st.lastSeq, consumers };
}

/** Reads every message back; null when all could be, else what went wrong. */
function* checkMessages(s: Stream): Generator<void, string | null> {
  const st = s.store.state();
  let n = 0;
  for (let m = s.store.loadNextMsg(null, st.firstSeq); m !== null && m.seq <= st.lastSeq; m = s.store.loadNextMsg(null, m.seq + 1)) {
    if (++n % CHECK_STEP === 0) yield;
  }
  if (s.store.damagedOnLoad) return 'the store found damaged records when it was opened';
  const now = s.store.state();
  // Messages removed meanwhile (limits, acks) are not damage; fewer readable than stored and still there is.
  if (n < Math.min(st.msgs, now.msgs)) return `only ${n} of ${st.msgs} messages could be read`;
  return null;
}

export async function handleSnapshot(req: ApiRequest, js: JetStream, jsa: JsAccount): Promise<ApiResponse> {
  if (isEmptyRequest(req.body)) return fail(badRequest());
  const s = jsa.streams.get(req.tokens[2]);
  if (s === undefined) return fail(streamNotFound());
  const parsed = parseRequest(req.body);
  if (parsed instanceof Error) return fail(parsed);
  const deliver = typeof parsed.deliver_subject === 'string' ? parsed.deliver_subject : '';
  if (!isValidLiteralSubject(deliver)) return fail(snapshotDeliverSubjectInvalid());
  const log = js.core.logger;
  const what = `stream '${jsa.account.name} > ${s.name}'`;
  const check = parsed.jsck === true;
  log.info(check ? `Starting health check and snapshot for ${what}` : `Starting snapshot for ${what}`);
  if (check) {
    const problem = await runInSlices(checkMessages(s));
    if (problem !== null) {
      log.warn(`Snapshot of ${what} failed: ${problem}`);
      return fail(streamSnapshot(problem));
    }
  }
  const source = sourceOf(js, s, parsed.no_consumers !== true);
  const chunkSize = clamp(parsed.chunk_size, DEFAULT_CHUNK, 1024, 1024 * 1024);
  const windowSize = Math.max(clamp(parsed.window_size, DEFAULT_WINDOW, 1024, 32 * 1024 * 1024), chunkSize);
  const state = s.stateJson();
  const started = nowTimeString();
  // Delivery starts once the router has sent this answer (it does so before the next macrotask).
  setImmediate(() => {
    const domain = js.config.domain;
    const client = req.client === null ? undefined : clientInfo(req.client, null);
    publishAdvisory(js.core, jsa.account, `$JS.EVENT.ADVISORY.STREAM.SNAPSHOT_CREATE.${s.name}`, 'io.nats.jetstream.advisory.v1.snapshot_create', {
      stream: s.name, state, client, ...(domain !== '' ? { domain } : {}),
    });
    void deliverSnapshot(js, jsa, s, source, { deliver, chunkSize, maxInflight: Math.floor(windowSize / chunkSize) }).then((result) => {
      publishAdvisory(js.core, jsa.account, `$JS.EVENT.ADVISORY.STREAM.SNAPSHOT_COMPLETE.${s.name}`, 'io.nats.jetstream.advisory.v1.snapshot_complete', {
        stream: s.name, start: started, end: nowTimeString(), client, ...(domain !== '' ? { domain } : {}), ...(result.error !== '' ? { error: result.error } : {}),
      });
      if (result.error !== '') log.warn(`Snapshot for ${what} failed: ${result.error}`);
      else log.info(`Completed snapshot of ${result.bytes} bytes for ${what}`);
    });
  });
  return { type: TYPE, config: streamConfigJson(s.config()), state };
}

interface DeliveryOptions {
  readonly deliver: string;
  readonly chunkSize: number;
  readonly maxInflight: number;
}

/** Sends the snapshot with flow control; resolves with what was sent and the error ('' when complete). */
async function deliverSnapshot(js: JetStream, jsa: JsAccount, s: Stream, source: SnapshotSource, o: DeliveryOptions): Promise<{ bytes: number; error: string }> {
  const core = js.core;
  const acc = jsa.account;
  const interested = (): boolean => acc.sublist.hasInterest(o.deliver) || core.routedInterest.has(acc.name, o.deliver);
  for (let waited = 0; !interested() && waited < INTEREST_WAIT_MS; waited += POLL_MS) await sleep(POLL_MS);

  let slots = o.maxInflight;
  let wake: (() => void) | null = null;
  const ackSubject = `$JS.SNAPSHOT.ACK.${s.name}.${randomBytes(11).toString('base64url')}`;
  const ackSub = core.subscribeInternal(acc, `${ackSubject}.>`, null, () => {
    slots++;
    const w = wake;
    wake = null;
    w?.();
  });
  /** Waits for a free slot: null when there is one, else the final status header. */
  const slot = async (): Promise<string | null> => {
    const deadline = Date.now() + SNAPSHOT_ACK_TIMEOUT_MS;
    while (slots === 0) {
      if (!interested()) return 'NATS/1.0 408 No Interest\r\n\r\n';
      const left = deadline - Date.now();
      if (left <= 0) return 'NATS/1.0 408 No Flow Response\r\n\r\n';
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    slots--;
    return null;
  };

  let status: string | null = null;
  let error = '';
  let bytes = 0;
  let index = 1;
  let pending: Buffer[] = [];
  let pendingLen = 0;
  /** Sends one chunk once a slot is free; the last, partial one goes without an ack reply (nats-server's last read). */
  const send = async (chunk: Buffer, last: boolean): Promise<boolean> => {
    const refused = await slot();
    if (refused !== null) {
      status = refused;
      error = refused.includes('No Interest') ? 'no interest' : 'no flow response';
      return false;
    }
    if (core.shuttingDown) {
      status = 'NATS/1.0 500 server shutting down\r\n\r\n';
      error = 'server shutting down';
      return false;
    }
    core.publishInternal(acc, o.deliver, last ? null : `${ackSubject}.${chunk.length}.${index++}`, chunk);
    bytes += chunk.length;
    if (!last) status ??= 'NATS/1.0 204\r\n\r\n';
    return true;
  };
  try {
    let open = true;
    for await (const piece of snapshotBytes(source)) {
      pending.push(piece);
      pendingLen += piece.length;
      while (open && pendingLen >= o.chunkSize) {
        const all = Buffer.concat(pending, pendingLen);
        open = await send(all.subarray(0, o.chunkSize), false);
        const rest = all.subarray(o.chunkSize);
        pending = rest.length > 0 ? [rest] : [];
        pendingLen = rest.length;
      }
      if (!open) break;
    }
    if (open && pendingLen > 0) await send(Buffer.concat(pending, pendingLen), true);
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
    status = `NATS/1.0 500 ${error.replace(/[\r\n]+/g, ' ')}\r\n\r\n`;
  } finally {
    core.unsubscribeInternal(acc, ackSub);
  }
  core.publishInternal(acc, o.deliver, null, Buffer.alloc(0), status);
  return { bytes, error };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
