/**
 * Direct get (allow_direct streams): `$JS.API.DIRECT.GET.<stream>` with a
 * JSON request (seq, last_by_subj, next_by_subj, start_time, batch), and
 * `$JS.API.DIRECT.GET.<stream>.<subject…>` for the last message of a
 * subject. Answers are the stored message itself with Nats-Stream,
 * Nats-Subject, Nats-Sequence and Nats-Time-Stamp headers added, or a
 * status-only reply (404 Message Not Found, 408 …), as nats-server sends them.
 */
import type { ApiRequest, ApiResponse } from './context.js';
import type { JetStream } from '../jetstream.js';
import type { JsAccount } from '../js-account.js';
import type { Stream } from '../stream.js';
import type { StoredMessage } from '../store/types.js';
import { msToTimeString } from '../time.js';
import { seqFromTime } from './stream.js';
import { subjectMatches } from '../../subjects/validate.js';

const EMPTY = Buffer.alloc(0);

/** Sends a status-only reply; returns null, what the router is then told to send. */
function status(js: JetStream, req: ApiRequest, line: string): null {
  js.core.publishInternal(req.account, req.reply as string, null, EMPTY, `NATS/1.0 ${line}\r\n\r\n`);
  return null;
}

function headersFor(s: Stream, m: StoredMessage, extra: string): string {
  const lines = `Nats-Stream: ${s.name}\r\nNats-Subject: ${m.subject}\r\nNats-Sequence: ${m.seq}\r\nNats-Time-Stamp: ${msToTimeString(m.ts)}\r\n${extra}`;
  if (m.hdr === null || m.hdr.length < 12) return 'NATS/1.0\r\n' + lines + '\r\n';
  return m.hdr.toString('latin1', 0, m.hdr.length - 2) + lines + '\r\n';
}

function send(js: JetStream, req: ApiRequest, s: Stream, m: StoredMessage, extra: string, noHeaders: boolean): void {
  js.core.publishInternal(req.account, req.reply as string, null, m.data, noHeaders ? null : headersFor(s, m, extra));
}

interface DirectRequest {
  seq: number;
  multiLast: string[];
  upToSeq: number;
  lastBy: string;
  nextBy: string;
  startTime: string;
  batch: number;
  maxBytes: number;
  noHeaders: boolean;
}

function decode(body: Buffer): DirectRequest | null {
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  const num = (x: unknown): number => (typeof x === 'number' && x > 0 ? Math.floor(x) : 0);
  const str = (x: unknown): string => (typeof x === 'string' ? x : '');
  const multi = Array.isArray(o.multi_last) ? o.multi_last.filter((x): x is string => typeof x === 'string') : [];
  return {
    seq: num(o.seq), multiLast: multi, upToSeq: num(o.up_to_seq), lastBy: str(o.last_by_subj), nextBy: str(o.next_by_subj), startTime: str(o.start_time),
    batch: num(o.batch), maxBytes: num(o.max_bytes), noHeaders: o.no_hdr === true,
  };
}

/** Always answers through its own messages; the router sends nothing more (null). */
export function handleDirectGet(req: ApiRequest, js: JetStream, jsa: JsAccount): ApiResponse {
  if (req.reply === null) return null;
  const name = req.tokens[2];
  const s = jsa.streams.get(name);
  // Only streams that allow direct get listen on these subjects in nats-server; others leave the request unanswered.
  if (s === undefined || !(s.config().allow_direct || s.config().mirror_direct)) return null;
  if (req.tokens.length > 3) {
    // Last message of the subject in the request subject; a body may only be an empty request.
    if (req.body.length > 0) {
      const r = decode(req.body);
      if (r === null) return status(js, req, '408 Malformed Request');
      if (r.seq !== 0 || r.lastBy !== '' || r.nextBy !== '' || r.batch !== 0 || r.startTime !== '') return status(js, req, '408 Bad Request');
    }
    const m = s.store.loadLastMsg(req.tokens.slice(3).join('.'));
    if (m === null) status(js, req, '404 Message Not Found');
    else send(js, req, s, m, '', false);
    return null;
  }
  if (req.body.length === 0) return status(js, req, '408 Empty Request');
  const r = decode(req.body);
  if (r === null) return status(js, req, '408 Malformed Request');
  if (r.seq === 0 && r.lastBy === '' && r.nextBy === '' && r.startTime === '' && r.multiLast.length === 0) return status(js, req, '408 Empty Request');
  if ((r.lastBy !== '' || r.nextBy !== '') && r.multiLast.length > 0) return status(js, req, '408 Bad Request');
  if (r.multiLast.length > 0) {
    serveMultiLast(js, req, s, r);
    return null;
  }
  if ((r.seq > 0 && r.lastBy !== '') || (r.seq > 0 && r.startTime !== '') || (r.startTime !== '' && r.lastBy !== '') ||
      (r.lastBy !== '' && r.nextBy !== '') || (r.lastBy !== '' && r.batch > 0)) {
    return status(js, req, '408 Bad Request');
  }
  serve(js, req, s, r);
  return null;
}

function serve(js: JetStream, req: ApiRequest, s: Stream, r: DirectRequest): void {
  const store = s.store;
  let seq = r.startTime !== '' ? seqFromTime(s, Date.parse(r.startTime)) : r.seq;
  const isBatch = r.batch > 0;
  const filters = r.nextBy === '' ? null : [r.nextBy];
  let pending = isBatch ? store.numPending(Math.max(seq, 1), filters, false) : 0;
  const maxBytes = r.maxBytes > 0 ? r.maxBytes : js.core.options.max_pending;
  let sent = 0;
  let last = 0;
  for (let i = 0; i < Math.max(r.batch, 1); i++) {
    let m: StoredMessage | null;
    if (r.lastBy !== '') m = store.loadLastMsg(r.lastBy);
    else if (filters === null && i === 0 && !isBatch && r.startTime === '') m = store.loadMsg(seq);
    else m = store.loadNextMsg(filters, Math.max(seq, 1));
    if (m === null) {
      if (i > 0) break;
      status(js, req, '404 Message Not Found');
      return;
    }
    seq = m.seq + 1;
    if (isBatch && pending > 0) pending--;
    send(js, req, s, m, isBatch ? `Nats-Num-Pending: ${pending}\r\nNats-Last-Sequence: ${last}\r\n` : '', r.noHeaders);
    last = m.seq;
    sent += m.subject.length + (m.hdr?.length ?? 0) + m.data.length;
    if (sent >= maxBytes) break;
  }
  if (isBatch) {
    pending = store.numPending(seq, filters, false);
    status(js, req, `204 EOB\r\nNats-Num-Pending: ${pending}\r\nNats-Last-Sequence: ${last}`);
  }
}

/** Most answers one multi_last request may carry, as nats-server. */
const MAX_MULTI_RESPONSES = 1024;

/** The last message of every subject matching `multi_last` (from `seq`, up to `up_to_seq`), then an EOB status. */
function serveMultiLast(js: JetStream, req: ApiRequest, s: Stream, r: DirectRequest): void {
  const store = s.store;
  const upTo = r.upToSeq > 0 ? r.upToSeq : store.state().lastSeq;
  const seqs: number[] = [];
  for (const subject of store.subjectsState(r.multiLast.length === 1 ? r.multiLast[0] : '>').keys()) {
    if (r.multiLast.length > 1 && !r.multiLast.some((f) => subjectMatches(f, subject))) continue;
    const m = store.loadPrevMsg([subject], upTo);
    if (m !== null && m.seq >= Math.max(r.seq, 1)) seqs.push(m.seq);
  }
  if (seqs.length === 0) {
    status(js, req, '404 No Results');
    return;
  }
  if (seqs.length > MAX_MULTI_RESPONSES) {
    status(js, req, '413 Too Many Results');
    return;
  }
  seqs.sort((a, b) => a - b);
  const maxBytes = r.maxBytes > 0 ? r.maxBytes : js.core.options.max_pending;
  let last = 0;
  let sent = 0;
  let bytes = 0;
  for (let i = 0; i < seqs.length; i++) {
    const m = store.loadMsg(seqs[i]);
    if (m === null) continue;
    const pending = seqs.length - i - 1;
    send(js, req, s, m, `Nats-Num-Pending: ${pending}\r\nNats-Last-Sequence: ${last}\r\n`, false);
    last = m.seq;
    sent++;
    bytes += m.subject.length + (m.hdr?.length ?? 0) + m.data.length;
    if (bytes >= maxBytes || (r.batch > 0 && sent >= r.batch)) break;
  }
  status(js, req, `204 EOB\r\nNats-Num-Pending: ${seqs.length - sent}\r\nNats-Last-Sequence: ${last}\r\nNats-UpTo-Sequence: ${upTo}`);
}
