/**
 * The client protocol parser: the shared framing (framing.ts) finds lines
 * and payloads; this class interprets the client ops.
 */

import './buffer-internals.js';
import { FramedParser, NOT_QUICK } from './framing.js';
import { ERR } from './errors.js';
import { ArgTokens, parseSize, upper } from './args.js';

/** What a client connection does with each operation. */
export interface ClientOpHandler {
  /**
   * PUB/HPUB. hdrLen is -1 for PUB. buf[start..end) is headers+payload, no
   * trailing CRLF, valid only during the call. `sizeText` is the size field(s)
   * as the client wrote them when that differs from the canonical decimal
   * (e.g. "01"): nats-server echoes them verbatim in MSG/HMSG.
   */
  processMsg(subject: string, reply: string | null, hdrLen: number, buf: Buffer, start: number, end: number, sizeText: string | null): void;
  processSub(subject: string, queue: string | null, sid: string): void;
  processUnsub(sid: string, max: number): void;
  processPing(): void;
  processPong(): void;
  processConnect(json: string): void;
  /** INFO from a client: nats-server parses it and drops the connection when it is not JSON. */
  processInfo(json: string): void;
  /** Protocol trace (-V): an inbound op as nats-server logs it, e.g. "PUB foo 5", and a payload. */
  traceOp(text: string): void;
  tracePayload(buf: Buffer, start: number, end: number): void;
  /** A client sent -ERR: nats-server treats this as the end of the conversation. */
  processErr(text: string): void;
  /** Close the connection; `errText` (if any) goes to the peer as -ERR first. */
  protocolViolation(errText: string | null, detail: string): void;
}

export interface ParserLimits {
  maxControlLine: number;
  maxPayload: number;
}

const CR = 13;
const LF = 10;
const SP = 32;
const TAB = 9;

const enum Op {
  None,
  Pub,
  Hpub,
  Sub,
  Unsub,
  Ping,
  Pong,
  Connect,
  Info,
  Ok,
  Err,
}

/** Keyword text by op, upper case; the parser compares case-insensitively. */
const KEYWORD_TEXT: Readonly<Record<Op, string>> = {
  [Op.None]: '',
  [Op.Pub]: 'PUB',
  [Op.Hpub]: 'HPUB',
  [Op.Sub]: 'SUB',
  [Op.Unsub]: 'UNSUB',
  [Op.Ping]: 'PING',
  [Op.Pong]: 'PONG',
  [Op.Connect]: 'CONNECT',
  [Op.Info]: 'INFO',
  [Op.Ok]: '+OK',
  [Op.Err]: '-ERR',
};

/** matchKeyword results besides an Op. */
const UNKNOWN = -1;
const PARTIAL = -2;

/** Max arguments we split per op (PUB/HPUB need at most 4). */
const MAX_ARGS = 4;

export class ClientParser extends FramedParser {
  private readonly h: ClientOpHandler;
  private readonly limits: ParserLimits;
  /** The PUB/HPUB whose payload the framing delivers next. */
  private pendSubject = '';
  private pendReply: string | null = null;
  private pendHdr = -1;
  private pendSizeText: string | null = null;
  /** Argument tokens of the current line; more than MAX_ARGS is always an error. */
  private readonly args = new ArgTokens(MAX_ARGS, MAX_ARGS);
  /** Index after the keyword matched last. */
  private kwEnd = 0;
  /** The subject of the last PUB/HPUB (see subjectOf). */
  private lastSubject = '';

  constructor(handler: ClientOpHandler, limits: ParserLimits) {
    super();
    this.h = handler;
    this.limits = limits;
  }

  protected deliver(buf: Buffer, start: number, end: number): void {
    if (this.tracing) this.h.tracePayload(buf, start, end);
    this.h.processMsg(this.pendSubject, this.pendReply, this.pendHdr, buf, start, end, this.pendSizeText);
  }

  protected fail(): void {
    this.stopped = true;
    this.h.protocolViolation(ERR.unknownOp, 'parser error');
  }

  /**
   * Identifies the op at buf[start..end). Returns the op (and leaves the index
   * after the keyword in `kwEnd`), UNKNOWN, or PARTIAL when an incomplete line
   * could still become a valid op. Hand-unrolled and allocation-free because
   * it runs once per message.
   */
  private matchKeyword(buf: Buffer, start: number, end: number, complete: boolean): number {
    if (start >= end) return complete ? UNKNOWN : PARTIAL;
    let op: Op;
    let kwLen: number;
    const c0 = upper(buf[start]);
    const c1 = start + 1 < end ? upper(buf[start + 1]) : 0;
    switch (c0) {
      case 80: // P
        if (c1 === 85) { op = Op.Pub; kwLen = 3; break; } // PU
        if (c1 === 73) { op = Op.Ping; kwLen = 4; break; } // PI
        if (c1 === 79) { op = Op.Pong; kwLen = 4; break; } // PO
        if (c1 === 0) return complete ? UNKNOWN : PARTIAL;
        return UNKNOWN;
      case 72: op = Op.Hpub; kwLen = 4; break; // H
      case 83: op = Op.Sub; kwLen = 3; break; // S
      case 85: op = Op.Unsub; kwLen = 5; break; // U
      case 67: op = Op.Connect; kwLen = 7; break; // C
      case 73: op = Op.Info; kwLen = 4; break; // I
      case 43: op = Op.Ok; kwLen = 3; break; // +
      case 45: op = Op.Err; kwLen = 4; break; // -
      default: return UNKNOWN;
    }
    const kw = KEYWORD_TEXT[op];
    for (let i = 1; i < kwLen; i++) {
      const p = start + i;
      if (p >= end) return complete ? UNKNOWN : PARTIAL;
      if (upper(buf[p]) !== kw.charCodeAt(i)) return UNKNOWN;
    }
    const after = start + kwLen;
    this.kwEnd = after;
    // CONNECT and INFO treat whatever follows the keyword as their JSON argument.
    if (op === Op.Connect || op === Op.Info) return op;
    const takesArgs = op !== Op.Ping && op !== Op.Pong && op !== Op.Ok;
    if (after >= end) {
      if (!complete) return PARTIAL;
      return takesArgs ? UNKNOWN : op;
    }
    if (takesArgs) {
      const c = buf[after];
      return c === SP || c === TAB ? op : UNKNOWN;
    }
    // Argument-less ops ignore the rest of their line.
    return op;
  }

  /** On an incomplete line: reject unknown ops early and enforce the control line limit. */
  protected checkPartialLine(buf: Buffer): void {
    const end = buf.length;
    const m = this.matchKeyword(buf, 0, end, false);
    if (m === UNKNOWN) {
      this.fail();
      return;
    }
    if (m === PARTIAL) return;
    // Whatever the op, an unterminated line may not grow past the limit: we buffer it.
    let argEnd = end;
    if (argEnd > 0 && buf[argEnd - 1] === CR) argEnd--;
    if (argEnd - skipSpace(buf, this.kwEnd, argEnd) > this.limits.maxControlLine) {
      this.controlLineTooLong();
    }
  }

  private controlLineTooLong(): void {
    this.stopped = true;
    this.h.protocolViolation(ERR.maxControlLine, 'control line too long');
  }


  /**
   * Handles one control line buf[start..nl) (nl is the LF). Returns the number of
   * payload bytes that follow for PUB/HPUB, else -1.
   */
  protected processLine(buf: Buffer, start: number, nl: number): number {
    let end = nl;
    if (end > start && buf[end - 1] === CR) end--;
    const op = this.matchKeyword(buf, start, end, true);
    if (op < 0) {
      this.fail();
      return -1;
    }
    if (this.tracing) {
      const args = skipSpace(buf, this.kwEnd, end);
      this.h.traceOp(args < end ? `${KEYWORD_TEXT[op as Op]} ${buf.toString('utf8', args, end)}` : KEYWORD_TEXT[op as Op]);
    }
    switch (op) {
      case Op.Ping:
        this.h.processPing();
        return -1;
      case Op.Pong:
        this.h.processPong();
        return -1;
      case Op.Ok:
        return -1;
      default:
        break;
    }
    // nats-server measures the argument text, from its first non-blank byte.
    const argPos = skipSpace(buf, this.kwEnd, end);
    if (end - argPos > this.limits.maxControlLine) {
      this.controlLineTooLong();
      return -1;
    }
    switch (op) {
      case Op.Connect:
        this.h.processConnect(buf.toString('utf8', argPos, end));
        return -1;
      case Op.Info:
        this.h.processInfo(buf.toString('utf8', argPos, end));
        return -1;
      case Op.Err:
        this.h.processErr(buf.latin1Slice(argPos, end));
        return -1;
      default:
        break;
    }
    const n = this.args.split(buf, argPos, end);
    const as = this.args.starts;
    const ae = this.args.ends;
    switch (op) {
      case Op.Pub: {
        if (n !== 2 && n !== 3) return this.argError(buf, argPos, end, 'processPub Parse Error');
        const size = parseSize(buf, as[n - 1], ae[n - 1]);
        if (size < 0) return this.argError(buf, argPos, end, 'processPub Bad or Missing Size');
        if (size > this.limits.maxPayload) return this.payloadTooBig();
        this.pendSubject = this.subjectOf(buf, as[0], ae[0]);
        this.pendReply = n === 3 ? buf.latin1Slice(as[1], ae[1]) : null;
        this.pendHdr = -1;
        this.pendSizeText = isCanonical(buf, as[n - 1], ae[n - 1]) ? null : buf.latin1Slice(as[n - 1], ae[n - 1]);
        return size;
      }
      case Op.Hpub: {
        if (n !== 3 && n !== 4) return this.argError(buf, argPos, end, 'processHeaderPub Parse Error');
        const hdr = parseSize(buf, as[n - 2], ae[n - 2]);
        const size = parseSize(buf, as[n - 1], ae[n - 1]);
        if (hdr < 0) return this.argError(buf, argPos, end, 'processHeaderPub Bad or Missing Header Size');
        if (size < 0 || hdr > size) return this.argError(buf, argPos, end, 'processHeaderPub Bad or Missing Total Size');
        if (size > this.limits.maxPayload) return this.payloadTooBig();
        this.pendSubject = this.subjectOf(buf, as[0], ae[0]);
        this.pendReply = n === 4 ? buf.latin1Slice(as[1], ae[1]) : null;
        // A zero-length header block is a plain message, as nats-server delivers it.
        this.pendHdr = hdr === 0 ? -1 : hdr;
        const canonical = isCanonical(buf, as[n - 2], ae[n - 2]) && isCanonical(buf, as[n - 1], ae[n - 1]);
        this.pendSizeText = canonical ? null : hdr === 0
          ? buf.latin1Slice(as[n - 1], ae[n - 1])
          : buf.latin1Slice(as[n - 2], ae[n - 2]) + ' ' + buf.latin1Slice(as[n - 1], ae[n - 1]);
        return size;
      }
      case Op.Sub: {
        if (n !== 2 && n !== 3) return this.argError(buf, argPos, end, 'processSub Parse Error');
        const subject = buf.latin1Slice(as[0], ae[0]);
        const queue = n === 3 ? buf.latin1Slice(as[1], ae[1]) : null;
        this.h.processSub(subject, queue, buf.latin1Slice(as[n - 1], ae[n - 1]));
        return -1;
      }
      case Op.Unsub: {
        if (n !== 1 && n !== 2) return this.argError(buf, argPos, end, 'processUnsub Parse Error');
        const max = n === 2 ? parseSize(buf, as[1], ae[1]) : -1;
        this.h.processUnsub(buf.latin1Slice(as[0], ae[0]), max);
        return -1;
      }
      default:
        this.fail();
        return -1;
    }
  }

  /**
   * A whole, well-formed PUB line at buf[pos..]: found, split and taken in
   * one pass, as most of the work on a small message is here. Anything
   * unusual (tabs, a bad or non-canonical size, too long or too big, a line
   * that continues in the next chunk, tracing on) returns NOT_QUICK and goes
   * the general way, which has the exact errors.
   */
  protected override quickLine(buf: Buffer, pos: number, len: number): number {
    if (this.tracing || len - pos < 9 || !isPubKeyword(buf, pos)) return NOT_QUICK;
    let i = pos + 4;
    while (i < len && buf[i] === SP) i++;
    const argStart = i;
    // The subject, compared with the last one while it is scanned (see subjectOf).
    const last = this.lastSubject;
    let same = true;
    for (; i < len; i++) {
      const c = buf[i];
      if (c === SP) break;
      if (c < 33) return NOT_QUICK;
      if (c !== last.charCodeAt(i - argStart)) same = false;
    }
    const subjectEnd = i;
    while (i < len && buf[i] === SP) i++;
    let sizeStart = i;
    i = tokenEnd(buf, i, len);
    let sizeEnd = i;
    while (i < len && buf[i] === SP) i++;
    let replyStart = -1;
    if (i < len && buf[i] !== CR && buf[i] !== LF) {
      // Three arguments: the second was the reply.
      replyStart = sizeStart;
      sizeStart = i;
      i = tokenEnd(buf, i, len);
      sizeEnd = i;
      while (i < len && buf[i] === SP) i++;
    }
    // The line must end here, in this chunk, with LF or CRLF.
    const lineEnd = i;
    if (i < len && buf[i] === CR) i++;
    if (i >= len || buf[i] !== LF) return NOT_QUICK;
    if (subjectEnd === argStart || sizeEnd === sizeStart || lineEnd - argStart > this.limits.maxControlLine) return NOT_QUICK;
    if (!isCanonical(buf, sizeStart, sizeEnd)) return NOT_QUICK;
    const size = parseSize(buf, sizeStart, sizeEnd);
    if (size < 0 || size > this.limits.maxPayload) return NOT_QUICK;
    if (same && subjectEnd - argStart === last.length) {
      this.pendSubject = last;
    } else {
      this.pendSubject = this.lastSubject = buf.latin1Slice(argStart, subjectEnd);
    }
    // A reply token ends where the size's leading spaces begin.
    this.pendReply = replyStart < 0 ? null : buf.latin1Slice(replyStart, tokenEnd(buf, replyStart, len));
    this.pendHdr = -1;
    this.pendSizeText = null;
    this.lineNext = i + 1;
    return size;
  }

  /**
   * The subject buf[start..end) as a string. A publisher mostly repeats its
   * subject, and comparing a few dozen bytes costs far less than making a
   * string (a native call and an allocation); the same string object also
   * keeps its hash, so the sublist's cache finds it without rehashing.
   */
  private subjectOf(buf: Buffer, start: number, end: number): string {
    const last = this.lastSubject;
    const n = end - start;
    if (last.length === n) {
      let i = 0;
      while (i < n && last.charCodeAt(i) === buf[start + i]) i++;
      if (i === n) return last;
    }
    const subject = buf.latin1Slice(start, end);
    this.lastSubject = subject;
    return subject;
  }

  private argError(buf: Buffer, start: number, end: number, what: string): number {
    this.stopped = true;
    this.h.protocolViolation(null, `${what}: '${buf.latin1Slice(start, end)}'`);
    return -1;
  }

  private payloadTooBig(): number {
    this.stopped = true;
    this.h.protocolViolation(ERR.maxPayload, 'maximum payload exceeded');
    return -1;
  }
}

/**
 * End of the token at `i` (the next space, CR or LF, or `len`). A tab or
 * other control byte inside gives `len`, which no quick line accepts.
 */
function tokenEnd(buf: Buffer, i: number, len: number): number {
  for (; i < len; i++) {
    const c = buf[i];
    if (c === SP || c === CR || c === LF) return i;
    if (c < 33) return len;
  }
  return len;
}

/** `PUB ` in any case at buf[start] (the caller checked there are more than 4 bytes). */
function isPubKeyword(buf: Buffer, start: number): boolean {
  // OR-ing 32 folds exactly 'P'/'p' to 112 (and 'U'/'u', 'B'/'b' likewise).
  return (buf[start] | 32) === 112 && (buf[start + 1] | 32) === 117 && (buf[start + 2] | 32) === 98 && buf[start + 3] === SP;
}

/** Index of the first byte at or after `i` that is not a space or tab. */
function skipSpace(buf: Buffer, i: number, end: number): number {
  while (i < end && (buf[i] === SP || buf[i] === TAB)) i++;
  return i;
}

/** True when the digits have no leading zero, so re-rendering the number gives the same text. */
function isCanonical(buf: Buffer, start: number, end: number): boolean {
  return buf[start] !== 48 || end - start === 1;
}
