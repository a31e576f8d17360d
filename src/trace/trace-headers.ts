/**
 * The headers that ask for message tracing (ADR-41, nats-server 2.11):
 * finding them cheaply in a header block, lifting the block into the
 * map a trace event reports, and rewriting one header of a message.
 *
 * Header blocks are bytes (`NATS/1.0\r\nKey: value\r\n...\r\n`); nothing
 * here turns a payload into a string.
 */

export const TRACE_DEST = 'Nats-Trace-Dest';
export const TRACE_HOP = 'Nats-Trace-Hop';
export const TRACE_ONLY = 'Nats-Trace-Only';
/** A header older servers set when a message changed account; its presence disables tracing. */
export const TRACE_ORIGIN_ACCOUNT = 'Nats-Trace-Origin-Account';
/** W3C trace context: triggers tracing when the account has a `msg_trace` destination. */
const TRACE_PARENT = 'traceparent';
/**
 * Written over Nats-Trace-Dest to switch tracing off for the copies a
 * message leaves behind (stored in a stream, carried into an account that
 * does not allow tracing): not a valid subject, so no server traces it.
 */
export const TRACE_DEST_DISABLED = 'trace disabled';
const HDR_LINE = 'NATS/1.0\r\n';

const N = 0x4e; // 'N'
const T_LOWER = 0x74;
const T_UPPER = 0x54;
const DEST_BYTES = Buffer.from(TRACE_DEST, 'latin1');
const PARENT_BYTES = Buffer.from(TRACE_PARENT, 'latin1');

/**
 * Boyer-Moore-Horspool shifts for DEST_BYTES: every publish with headers
 * is scanned, so the scan looks at about one byte in ten of the block
 * (most bytes are not in "Nats-Trace-Dest" and skip its whole length).
 */
const DEST_SHIFT = new Uint8Array(256).fill(DEST_BYTES.length);
for (let k = 0; k < DEST_BYTES.length - 1; k++) DEST_SHIFT[DEST_BYTES[k]] = DEST_BYTES.length - 1 - k;
const DEST_LAST = DEST_BYTES[DEST_BYTES.length - 1];

/**
 * Whether the header block buf[start, start+hdrLen) may hold
 * `Nats-Trace-Dest` (exact case, as nats-server matches it). Only the
 * block is read: the buffer past it holds the payload and possibly other
 * messages.
 */
export function mayNameTraceDest(buf: Buffer, start: number, hdrLen: number): boolean {
  const end = start + hdrLen;
  const lastByte = DEST_BYTES.length - 1;
  for (let i = start; i + lastByte < end;) {
    const b = buf[i + lastByte];
    if (b === DEST_LAST && buf[i] === N && matchesAt(buf, i, DEST_BYTES)) return true;
    i += DEST_SHIFT[b];
  }
  return false;
}

/** Whether the header block may hold a `traceparent` key (any case): asked only in accounts with a trace destination. */
export function mayNameTraceParent(buf: Buffer, start: number, hdrLen: number): boolean {
  const end = start + hdrLen;
  for (let i = start; i + PARENT_BYTES.length <= end; i++) {
    const b = buf[i];
    if ((b === T_LOWER || b === T_UPPER) && matchesFoldedAt(buf, i, PARENT_BYTES)) return true;
  }
  return false;
}

function matchesAt(buf: Buffer, at: number, key: Buffer): boolean {
  for (let k = 1; k < key.length; k++) if (buf[at + k] !== key[k]) return false;
  return true;
}

function matchesFoldedAt(buf: Buffer, at: number, lowerKey: Buffer): boolean {
  for (let k = 1; k < lowerKey.length; k++) if ((buf[at + k] | 0x20) !== lowerKey[k]) return false;
  return true;
}

/** The header block as a trace event reports it: every key (case kept) with its values, in order of appearance. */
export type HeaderMap = Map<string, string[]>;

export interface TraceRequest {
  readonly headers: HeaderMap;
  /** True when only `traceparent` asked (the account's destination applies). */
  readonly external: boolean;
}

/**
 * Lifts the header block when it asks for tracing: null when it holds
 * neither a `Nats-Trace-Dest` nor a sampled `traceparent`, when the
 * destination says tracing was disabled upstream, or when the block does
 * not start with the plain `NATS/1.0` line (a status message).
 */
export function liftTraceHeaders(buf: Buffer, start: number, hdrLen: number): TraceRequest | null {
  const text = buf.latin1Slice(start, start + hdrLen);
  if (!text.startsWith(HDR_LINE)) return null;
  const headers: HeaderMap = new Map();
  let destFound = false;
  let parentFound = false;
  let i = HDR_LINE.length;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon < 0) break;
    const key = text.slice(i, colon);
    let v = colon + 1;
    while (v < text.length && (text.charCodeAt(v) === 0x20 || text.charCodeAt(v) === 0x09)) v++;
    const nl = text.indexOf('\r\n', v);
    if (nl < 0) break;
    let ve = nl;
    while (ve > v && (text.charCodeAt(ve - 1) === 0x20 || text.charCodeAt(ve - 1) === 0x09)) ve--;
    const value = text.slice(v, ve);
    if (key.length > 0 && value.length > 0) {
      if (!parentFound && key.toLowerCase() === TRACE_PARENT) {
        parentFound = sampledTraceParent(value);
      } else if (!destFound && key === TRACE_DEST) {
        if (value === TRACE_DEST_DISABLED) return null;
        destFound = true;
      }
      const list = headers.get(key);
      if (list === undefined) headers.set(key, [value]);
      else list.push(value);
    }
    i = nl + 2;
  }
  if (!destFound && !parentFound) return null;
  return { headers, external: !destFound };
}

/** `version-traceid-parentid-flags` with the sampled bit (0x01) set in the two hex digits of flags. */
function sampledTraceParent(value: string): boolean {
  const parts = value.split('-');
  if (parts.length !== 4 || parts[3].length !== 2) return false;
  const flags = Number.parseInt(parts[3], 16);
  return Number.isInteger(flags) && (flags & 1) === 1;
}

/** The first value of `key` (exact case), or ''. */
export function headerValue(h: HeaderMap, key: string): string {
  return h.get(key)?.[0] ?? '';
}

/** A message with a rewritten header block. */
export interface RewrittenMessage {
  readonly buf: Buffer;
  readonly hdrLen: number;
}

/**
 * The message buf[start, end) (a header block of hdrLen bytes, then the
 * payload) with `key` set to `value`: earlier lines of that key removed
 * and the new one last in the block, as nats-server sets its headers.
 */
export function setHeader(buf: Buffer, start: number, hdrLen: number, end: number, key: string, value: string): RewrittenMessage {
  let block = hdrLen > 2 ? buf.latin1Slice(start, start + hdrLen - 2) : HDR_LINE;
  if (!block.endsWith('\r\n')) block += '\r\n';
  const prefix = '\r\n' + key + ':';
  for (let at = block.indexOf(prefix); at >= 0; at = block.indexOf(prefix)) {
    const nl = block.indexOf('\r\n', at + 2);
    block = block.slice(0, at + 2) + (nl < 0 ? '' : block.slice(nl + 2));
  }
  const head = Buffer.from(block + key + ': ' + value + '\r\n\r\n', 'latin1');
  const body = buf.subarray(start + Math.max(hdrLen, 0), end);
  return { buf: Buffer.concat([head, body]), hdrLen: head.length };
}

/** The message with tracing switched off for whoever sees it next (Nats-Trace-Dest: trace disabled). */
export function withTraceDisabled(buf: Buffer, start: number, hdrLen: number, end: number): RewrittenMessage {
  return setHeader(buf, start, hdrLen, end, TRACE_DEST, TRACE_DEST_DISABLED);
}

/** The message as the next server gets it: Nats-Trace-Hop set to `hop`. */
export function withTraceHop(buf: Buffer, start: number, hdrLen: number, end: number, hop: string): RewrittenMessage {
  return setHeader(buf, start, hdrLen, end, TRACE_HOP, hop);
}
