/**
 * The leafnode protocol parser: INFO, CONNECT, PING, PONG, +OK, -ERR,
 * LS+/LS- and LMSG/HMSG, as nats-server's parser accepts them on a leaf
 * connection. A leaf connection is bound to one account on each side, so
 * unlike the route forms these carry no account:
 *
 *     LS+ <subject> [<queue> <weight>]      LS- <subject> [<queue>]
 *     LMSG <subject> [<reply> | + <reply> <q>... | \| <q>...] <size>
 *     HMSG <subject> [same reply/queue section] <hdr size> <size>
 *
 * It rides on the shared framing (protocol/framing.ts) and argument
 * splitting (protocol/args.ts): payloads are views of the chunk they came
 * in, copied only when they span chunks.
 */
import '../protocol/buffer-internals.js';
import { ERR } from '../protocol/errors.js';
import { FramedParser } from '../protocol/framing.js';
import { ArgTokens, parseSize, upper } from '../protocol/args.js';

/** What a leaf connection does with each operation. */
export interface LeafOpHandler {
  processInfo(json: string): void;
  processConnect(json: string): void;
  processPing(): void;
  processPong(): void;
  processErr(text: string): void;
  /** LS+: interest of the other side; `weight` is the queue group's member count there (0 for plain). */
  processSub(subject: string, queue: string | null, weight: number): void;
  processUnsub(subject: string, queue: string | null): void;
  /**
   * LMSG / HMSG. `queues` names the queue groups the sender picked this
   * side for; null when the message carries no queue section. hdrLen is
   * -1 without headers; buf[start..end) is valid only during the call.
   */
  processMsg(subject: string, reply: string | null, queues: readonly string[] | null, hdrLen: number, buf: Buffer, start: number, end: number): void;
  /** The first operation of an accepted connection was not CONNECT. */
  authViolation(): void;
  traceOp(text: string): void;
  tracePayload(buf: Buffer, start: number, end: number): void;
  /** Close the connection; `errText` (if any) goes to the peer as -ERR first. */
  protocolError(errText: string | null, detail: string): void;
}

const CR = 13;
const SP = 32;
const TAB = 9;
/** nats-server puts no limit on leaf control lines; an unterminated one still has to stop somewhere. */
const MAX_LINE = 1024 * 1024;
/** nats-server's MAX_PAYLOAD_MAX_SIZE: no peer can be configured to send more. */
const MAX_PAYLOAD = 64 * 1024 * 1024;

const enum Op {
  Ping,
  Pong,
  Info,
  Connect,
  Ok,
  Err,
  LSub,
  LUnsub,
  LMsg,
  HMsg,
}

const KEYWORDS: ReadonlyArray<readonly [string, Op]> = [
  ['LMSG', Op.LMsg],
  ['LS+', Op.LSub],
  ['LS-', Op.LUnsub],
  ['HMSG', Op.HMsg],
  ['PING', Op.Ping],
  ['PONG', Op.Pong],
  ['INFO', Op.Info],
  ['CONNECT', Op.Connect],
  ['+OK', Op.Ok],
  ['-ERR', Op.Err],
];

export class LeafParser extends FramedParser {
  private readonly h: LeafOpHandler;
  private pendSubject = '';
  private pendReply: string | null = null;
  private pendQueues: readonly string[] | null = null;
  private pendHdr = -1;
  private readonly args = new ArgTokens(16);
  private kwEnd = 0;
  /** An accepted connection before its CONNECT: anything else is a violation. */
  requireConnect = false;

  constructor(handler: LeafOpHandler) {
    super();
    this.h = handler;
  }

  protected deliver(buf: Buffer, start: number, end: number): void {
    if (this.tracing) this.h.tracePayload(buf, start, end);
    this.h.processMsg(this.pendSubject, this.pendReply, this.pendQueues, this.pendHdr, buf, start, end);
  }

  protected fail(): void {
    this.unknownOp();
  }

  private unknownOp(): void {
    this.stopped = true;
    this.h.protocolError(ERR.unknownOp, 'Leafnode parser ERROR');
  }

  /** The op at buf[start..end): -1 for garbage, -2 for a keyword prefix that may still grow (`complete` false). */
  private matchKeyword(buf: Buffer, start: number, end: number, complete: boolean): number {
    let kwEnd = start;
    while (kwEnd < end && buf[kwEnd] !== SP && buf[kwEnd] !== TAB && buf[kwEnd] !== CR) kwEnd++;
    const n = kwEnd - start;
    const whole = complete || kwEnd < end;
    if (n === 0) return whole ? -1 : -2;
    for (const [text, op] of KEYWORDS) {
      if (n > text.length || (whole && n !== text.length)) continue;
      let same = true;
      for (let i = 0; i < n && same; i++) same = upper(buf[start + i]) === text.charCodeAt(i);
      if (!same) continue;
      if (!whole) return -2;
      this.kwEnd = kwEnd;
      return op;
    }
    return -1;
  }

  protected checkPartialLine(buf: Buffer): void {
    if (this.requireConnect && upper(buf[0]) !== 67) {
      this.stopped = true;
      this.h.authViolation();
      return;
    }
    if (this.matchKeyword(buf, 0, buf.length, false) === -1) {
      this.unknownOp();
      return;
    }
    if (buf.length > MAX_LINE) {
      this.stopped = true;
      this.h.protocolError(ERR.maxControlLine, 'control line too long');
    }
  }

  protected processLine(buf: Buffer, start: number, nl: number): number {
    let end = nl;
    if (end > start && buf[end - 1] === CR) end--;
    if (this.requireConnect && upper(buf[start]) !== 67) {
      this.stopped = true;
      this.h.authViolation();
      return -1;
    }
    const op = this.matchKeyword(buf, start, end, true);
    if (op < 0) {
      this.unknownOp();
      return -1;
    }
    let argPos = this.kwEnd;
    while (argPos < end && (buf[argPos] === SP || buf[argPos] === TAB)) argPos++;
    if (this.tracing && op !== Op.Info) {
      const kw = KEYWORDS.find((k) => k[1] === op)?.[0] ?? '';
      this.h.traceOp(argPos < end ? `${kw} ${buf.toString('utf8', argPos, end)}` : kw);
    }
    switch (op as Op) {
      case Op.Ping:
        this.h.processPing();
        return -1;
      case Op.Pong:
        this.h.processPong();
        return -1;
      case Op.Ok:
        return -1;
      case Op.Info:
        this.h.processInfo(buf.toString('utf8', argPos, end));
        return -1;
      case Op.Connect:
        this.h.processConnect(buf.toString('utf8', argPos, end));
        return -1;
      case Op.Err:
        this.h.processErr(buf.toString('utf8', argPos, end));
        return -1;
      case Op.LSub:
        this.sub(buf, argPos, end);
        return -1;
      case Op.LUnsub:
        this.unsub(buf, argPos, end);
        return -1;
      case Op.LMsg:
        return this.msgArgs(buf, argPos, end, false);
      case Op.HMsg:
        return this.msgArgs(buf, argPos, end, true);
    }
  }

  private sub(buf: Buffer, start: number, end: number): void {
    const n = this.args.split(buf, start, end);
    const as = this.args.starts;
    const ae = this.args.ends;
    if (n !== 1 && n !== 3) {
      this.argError(`processLeafSub Parse Error: '${buf.latin1Slice(start, end)}'`);
      return;
    }
    const subject = buf.latin1Slice(as[0], ae[0]);
    if (n === 1) {
      this.h.processSub(subject, null, 0);
      return;
    }
    this.h.processSub(subject, buf.latin1Slice(as[1], ae[1]), parseSize(buf, as[2], ae[2]));
  }

  private unsub(buf: Buffer, start: number, end: number): void {
    const n = this.args.split(buf, start, end);
    const as = this.args.starts;
    const ae = this.args.ends;
    if (n !== 1 && n !== 2) {
      this.argError(`processLeafUnsub Parse Error: '${buf.latin1Slice(start, end)}'`);
      return;
    }
    this.h.processUnsub(buf.latin1Slice(as[0], ae[0]), n === 2 ? buf.latin1Slice(as[1], ae[1]) : null);
  }

  private msgArgs(buf: Buffer, start: number, end: number, withHeader: boolean): number {
    const what = withHeader ? 'processLeafHeaderMsgArgs' : 'processLeafMsgArgs';
    const n = this.args.split(buf, start, end);
    const as = this.args.starts;
    const ae = this.args.ends;
    // nats-server prints the split arguments as Go prints a slice: "[a b c]".
    const shown = (): string => {
      const parts: string[] = [];
      for (let i = 0; i < n; i++) parts.push(buf.latin1Slice(as[i], ae[i]));
      return `[${parts.join(' ')}]`;
    };
    const sizes = withHeader ? 2 : 1;
    if (n < 1 + sizes) return this.argError(`${what} Parse Error: '${shown()}'`);
    let reply: string | null = null;
    let queues: string[] | null = null;
    if (n === 2 + sizes) {
      reply = buf.latin1Slice(as[1], ae[1]);
    } else if (n > 2 + sizes) {
      const ind = as[1];
      if (ae[1] - ind !== 1 || (buf[ind] !== 43 && buf[ind] !== 124)) {
        return this.argError(`${what} Bad or Missing Reply Indicator: '${buf.latin1Slice(ind, ae[1])}'`);
      }
      let q = 2;
      if (buf[ind] === 43) reply = buf.latin1Slice(as[q], ae[q++]);
      queues = [];
      for (; q < n - sizes; q++) queues.push(buf.latin1Slice(as[q], ae[q]));
    }
    const size = parseSize(buf, as[n - 1], ae[n - 1]);
    let hdr = -1;
    if (withHeader) {
      hdr = parseSize(buf, as[n - 2], ae[n - 2]);
      if (hdr < 0) return this.argError(`${what} Bad or Missing Header Size: '${shown()}'`);
    }
    if (size < 0) return this.argError(`${what} Bad or Missing Size: '${shown()}'`);
    if (hdr > size) return this.argError(`${what} Header Size larger then TotalSize: '${shown()}'`);
    if (size > MAX_PAYLOAD) return this.argError(`${what} payload of ${size} bytes exceeds the largest a server may send`);
    this.pendSubject = buf.latin1Slice(as[0], ae[0]);
    this.pendReply = reply;
    this.pendQueues = queues;
    this.pendHdr = hdr <= 0 ? -1 : hdr;
    return size;
  }

  private argError(detail: string): number {
    this.stopped = true;
    this.h.protocolError(null, detail);
    return -1;
  }
}
