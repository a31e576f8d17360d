/**
 * Distributed counters (ADR-49, nats-server 2.12): in a stream with
 * `allow_msg_counter` every subject is a counter. A publish carries
 * `Nats-Incr: <signed integer>` and no payload; the server adds it to the
 * subject's last value and stores `{"val":"<total>"}` with the publish's
 * headers, and the PubAck gains `"val":"<total>"`. Values are arbitrary
 * precision (BigInt), as nats-server's big.Int.
 *
 * A message that arrives through a source (it has `Nats-Stream-Source`)
 * carries its origin's running total: the increment applied is the
 * difference from the last total seen from that origin stream and subject,
 * kept in the `Nats-Counter-Sources` header (`{"<stream>":{"<subject>":"<val>"}}`)
 * that every later message of the subject carries on. So an aggregate stays
 * right when source messages are lost or a source is re-added.
 *
 * Refusals, as nats-server: an unparsable `Nats-Incr` (10171) on any stream;
 * on a stream without counters an increment (10168) unless sourced; an
 * increment with a payload (10170) or with a rollup or expected-* header
 * (10171); on a counter stream a message without one (10169); a last value
 * that is not a counter (10172).
 */
import {
  type JsApiError, messageCounterBroken, messageIncrDisabled, messageIncrInvalid, messageIncrMissing, messageIncrPayload,
} from './api/errors.js';
import type { PublishHeaders } from './headers.js';

const INCR_LINE = '\r\nNats-Incr:';
const HDR_INCR = 'Nats-Incr';
const HDR_COUNTER_SOURCES = 'Nats-Counter-Sources';
const HDR_STREAM_SOURCE = 'Nats-Stream-Source';
const INCR_SYNTAX = /^[+-]?\d+$/;

/** The last message of a counter's subject, as the stream can load it. */
export interface CounterBase {
  readonly hdr: Buffer | null;
  readonly data: Buffer;
}

/** A counted message: what to store instead of what was published, and the total for the PubAck. */
export interface Counted {
  readonly hdr: Buffer;
  readonly data: Buffer;
}

type CounterSources = Record<string, Record<string, string>>;

/** The value of header `name` (exact case, as nats-server matches it), or null; a cheap scan when absent. */
function header(hdr: Buffer, name: string): string | null {
  const at = hdr.indexOf(`\r\n${name}:`, 0, 'latin1');
  if (at < 0) return null;
  const start = at + name.length + 3;
  const end = hdr.indexOf('\r\n', start, 'latin1');
  return hdr.toString('utf8', start, end < 0 ? hdr.length : end).trim();
}

/** The header block with `name` set to `value` (replacing every line of that name). */
function setHeader(hdr: Buffer, name: string, value: string): Buffer {
  const lines = hdr.toString('utf8').split('\r\n');
  const out: string[] = [lines[0]];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon) === name) continue;
    out.push(line);
  }
  out.push(`${name}: ${value}`);
  return Buffer.from(out.join('\r\n') + '\r\n\r\n', 'utf8');
}

function valueOf(data: Buffer): bigint | null {
  try {
    const v = JSON.parse(data.toString('utf8')) as { val?: unknown };
    if (typeof v !== 'object' || v === null) return null;
    // nats-server's big.Int SetString leaves a missing or malformed value at zero.
    return typeof v.val === 'string' && INCR_SYNTAX.test(v.val) ? BigInt(v.val) : 0n;
  } catch {
    return null;
  }
}

/** The increment a header block carries (unparsed), or null; a cheap scan when there is none. */
function incrOf(hdr: Buffer | null): string | null {
  return hdr === null || hdr.indexOf(INCR_LINE, 0, 'latin1') < 0 ? null : header(hdr, HDR_INCR);
}

/**
 * The checks nats-server runs on `Nats-Incr` before any other header:
 * null when the message may go on (to countMessage on a counter stream).
 */
export function incrRefusal(enabled: boolean, hdr: Buffer, dataLen: number, sourced: boolean, h: PublishHeaders): JsApiError | null {
  const raw = incrOf(hdr);
  if (raw === null) return null;
  if (!INCR_SYNTAX.test(raw)) return messageIncrInvalid();
  if (sourced) return null;
  if (!enabled) return messageIncrDisabled();
  if (dataLen > 0) return messageIncrPayload();
  if (h.rollup !== null || h.expectedStream !== null || h.expectedLastMsgId !== null || h.expectedLastSubjSeqSubject !== null ||
      h.expectedLastSeq !== null || h.expectedLastSubjSeq !== null) {
    return messageIncrInvalid();
  }
  return null;
}

/**
 * Counts one message of a counter stream (incrRefusal passed): the message
 * to store, or the refusal. `last` loads the subject's last message (what
 * the active leader has in flight included).
 */
export function countMessage(subject: string, hdr: Buffer | null, data: Buffer, last: (subject: string) => CounterBase | null): Counted | JsApiError {
  const raw = incrOf(hdr);
  if (raw === null || hdr === null) return messageIncrMissing();
  if (!INCR_SYNTAX.test(raw)) return messageIncrInvalid();
  let incr = BigInt(raw);
  let total = 0n;
  let sources: CounterSources | null = null;
  const prev = last(subject);
  if (prev !== null) {
    const v = valueOf(prev.data);
    if (v === null) return messageCounterBroken();
    total = v;
    const cs = prev.hdr === null ? null : header(prev.hdr, HDR_COUNTER_SOURCES);
    if (cs !== null) {
      try {
        sources = JSON.parse(cs) as CounterSources;
      } catch {
        return messageCounterBroken();
      }
    }
  }
  let out = hdr;
  const origin = header(hdr, HDR_STREAM_SOURCE);
  if (origin !== null) {
    // Sourced: the body holds the origin's total; what counts is how far it moved since last seen.
    const fields = origin.split(' ');
    const originStream = fields[0];
    const originSubject = fields.length >= 5 ? fields[4] : subject;
    const sourcedVal = valueOf(data);
    if (sourcedVal === null) return messageCounterBroken();
    sources ??= {};
    sources[originStream] ??= {};
    const seen = sources[originStream][originSubject];
    sources[originStream][originSubject] = sourcedVal.toString();
    incr = sourcedVal - (seen !== undefined && INCR_SYNTAX.test(seen) ? BigInt(seen) : 0n);
    out = setHeader(out, HDR_INCR, incr.toString());
  }
  total += incr;
  if (sources !== null && Object.keys(sources).length > 0) out = setHeader(out, HDR_COUNTER_SOURCES, JSON.stringify(sources));
  return { hdr: out, data: Buffer.from(`{"val":"${total.toString()}"}`) };
}

/** The PubAck's end for a counter message: `,"val":"<total>"}` (the stored body is `{"val":"<total>"}`). */
export function counterAckTail(data: Buffer): string {
  return ',' + data.toString('utf8', 1);
}
