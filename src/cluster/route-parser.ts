/**
 * The route protocol parser: INFO, CONNECT, PING, PONG, +OK, -ERR, RS+/RS-,
 * LS+/LS- (leaf-origin interest), RMSG, HMSG, LMSG and A+/A-, as
 * nats-server's parser accepts them on a route connection. Like the client
 * parser it resumes across chunk boundaries, hands payloads over as views
 * of the chunk they arrived in, and copies only frames that span chunks.
 */
import '../protocol/buffer-internals.js';
import { ERR } from '../protocol/errors.js';
import { FramedParser } from '../protocol/framing.js';
import { ArgTokens, parseSize, upper } from '../protocol/args.js';

/** What a route connection does with each operation. */
export interface RouteOpHandler {
  processInfo(json: string): void;
  processConnect(json: string): void;
  processPing(): void;
  processPong(): void;
  processErr(text: string): void;
  /** RS+ / LS+: interest of the peer; `weight` is the queue group's member count there. */
  processSub(account: string, subject: string, queue: string | null, weight: number): void;
  /** RS- / LS-: the peer lost interest. */
  processUnsub(account: string, subject: string, queue: string | null): void;
  /**
   * RMSG / HMSG / LMSG. `queues` are the queue groups this server is asked
   * to serve; hdrLen is -1 without headers. buf[start..end) is valid only
   * during the call.
   */
  processMsg(account: string, subject: string, reply: string | null, queues: readonly string[], hdrLen: number, buf: Buffer, start: number, end: number): void;
  /** The first operation of a connection that must authenticate was not CONNECT. */
  authViolation(): void;
  traceOp(text: string): void;
  tracePayload(buf: Buffer, start: number, end: number): void;
  /** Close the connection; `errText` (if any) goes to the peer as -ERR first. */
  protocolError(errText: string | null, detail: string): void;
}

const CR = 13;
const SP = 32;
const TAB = 9;

/**
 * nats-server puts no limit on route control lines; an unterminated line
 * still has to stop growing somewhere, and no legitimate one comes near this.
 */
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
  RSub,
  RUnsub,
  LSub,
  LUnsub,
  RMsg,
  HMsg,
  LMsg,
  ASub,
  AUnsub,
}

/** Keywords, the busiest first within each first letter. */
const KEYWORDS: ReadonlyArray<readonly [string, Op]> = [
  ['RMSG', Op.RMsg],
  ['RS+', Op.RSub],
  ['RS-', Op.RUnsub],
  ['HMSG', Op.HMsg],
  ['LMSG', Op.LMsg],
  ['LS+', Op.LSub],
  ['LS-', Op.LUnsub],
  ['PING', Op.Ping],
  ['PONG', Op.Pong],
  ['INFO', Op.Info],
  ['CONNECT', Op.Connect],
  ['+OK', Op.Ok],
  ['-ERR', Op.Err],
  ['A+', Op.ASub],
  ['A-', Op.AUnsub],
];

/** Keywords by their first (upper-case) character: one line of a busy route costs one lookup. */
const BY_FIRST = new Map<number, Array<readonly [string, Op]>>();
for (const k of KEYWORDS) {
  const c = k[0].charCodeAt(0);
  const list = BY_FIRST.get(c);
  if (list === undefined) BY_FIRST.set(c, [k]);
  else list.push(k);
}

const NO_QUEUES: readonly string[] = Object.freeze([]);

export class RouteParser extends FramedParser {
  private readonly h: RouteOpHandler;
  // The message whose payload the framing delivers next.
  private pendAccount = '';
  private pendSubject = '';
  private pendReply: string | null = null;
  private pendQueues: readonly string[] = NO_QUEUES;
  private pendHdr = -1;
  /** Argument tokens of the current line; they grow for long queue lists. */
  private readonly args = new ArgTokens(16);
  private kwEnd = 0;
  /** Route authorization is on and CONNECT has not arrived: anything else is a violation. */
  requireConnect = false;

  constructor(handler: RouteOpHandler) {
    super();
    this.h = handler;
  }

  protected deliver(buf: Buffer, start: number, end: number): void {
    if (this.tracing) this.h.tracePayload(buf, start, end);
    this.h.processMsg(this.pendAccount, this.pendSubject, this.pendReply, this.pendQueues, this.pendHdr, buf, start, end);
  }

  protected fail(): void {
    this.unknownOp();
  }

  private unknownOp(): void {
    this.stopped = true;
    this.h.protocolError(ERR.unknownOp, 'Router parser ERROR');
  }

  /**
   * The op at buf[start..end): its keyword runs to the first blank. With
   * `complete` false the line may still grow, so a keyword prefix is fine.
   * Returns the op, -1 for garbage, -2 for "could still become an op".
   */
  private matchKeyword(buf: Buffer, start: number, end: number, complete: boolean): number {
    let kwEnd = start;
    while (kwEnd < end && buf[kwEnd] !== SP && buf[kwEnd] !== TAB && buf[kwEnd] !== CR) kwEnd++;
    const n = kwEnd - start;
    const whole = complete || kwEnd < end;
    if (n === 0) return whole ? -1 : -2;
    const candidates = BY_FIRST.get(upper(buf[start]));
    if (candidates === undefined) return -1;
    for (let k = 0; k < candidates.length; k++) {
      const text = candidates[k][0];
      if (n > text.length || (whole && n !== text.length)) continue;
      let same = true;
      for (let i = 1; i < n; i++) {
        if (upper(buf[start + i]) !== text.charCodeAt(i)) {
          same = false;
          break;
        }
      }
      if (!same) continue;
      if (!whole) return -2;
      this.kwEnd = kwEnd;
      return candidates[k][1];
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

  /** One control line buf[start..nl); returns the payload size that follows, or -1. */
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
    if (this.tracing && op !== Op.Info) this.traceLine(op as Op, buf, argPos, end);
    switch (op as Op) {
      case Op.Ping:
        this.h.processPing();
        return -1;
      case Op.Pong:
        this.h.processPong();
        return -1;
      case Op.Ok:
      case Op.ASub:
      case Op.AUnsub:
        // Account interest is a gateway matter; nats-server ignores it on routes.
        return -1;
      case Op.Info:
        this.h.processInfo(buf.toString('utf8', argPos, end));
        return -1;
      case Op.Connect:
        this.h.processConnect(buf.toString('utf8', argPos, end));
        return -1;
      case Op.Err:
        this.h.processErr(buf.latin1Slice(argPos, end));
        return -1;
      case Op.RSub:
        this.sub(buf, argPos, end, 0);
        return -1;
      case Op.LSub:
        this.sub(buf, argPos, end, 1);
        return -1;
      case Op.RUnsub:
      case Op.LUnsub:
        this.unsub(buf, argPos, end);
        return -1;
      case Op.RMsg:
        return this.msgArgs(buf, argPos, end, 0, false);
      case Op.HMsg:
        return this.msgArgs(buf, argPos, end, 0, true);
      case Op.LMsg:
        return this.msgArgs(buf, argPos, end, 1, true);
    }
  }

  private traceLine(op: Op, buf: Buffer, argPos: number, end: number): void {
    let keyword = '';
    for (const [text, o] of KEYWORDS) if (o === op) keyword = text;
    // CONNECT goes as it came: the shared trace (protocol/trace.ts) keeps its password out of the log.
    const args = argPos < end ? buf.toString('utf8', argPos, end) : '';
    this.h.traceOp(args === '' ? keyword : `${keyword} ${args}`);
  }

  private sub(buf: Buffer, start: number, end: number, off: number): void {
    const n = this.args.split(buf, start, end);
    const as = this.args.starts;
    const ae = this.args.ends;
    if (n !== 2 + off && n !== 4 + off) {
      this.argError(`processRemoteSub Parse Error: '${buf.latin1Slice(start, end)}'`);
      return;
    }
    const account = buf.latin1Slice(as[off], ae[off]);
    const subject = buf.latin1Slice(as[off + 1], ae[off + 1]);
    if (n === 2 + off) {
      this.h.processSub(account, subject, null, 0);
      return;
    }
    const weight = parseSize(buf, as[off + 3], ae[off + 3]);
    this.h.processSub(account, subject, buf.latin1Slice(as[off + 2], ae[off + 2]), weight);
  }

  private unsub(buf: Buffer, start: number, end: number): void {
    const n = this.args.split(buf, start, end);
    const as = this.args.starts;
    const ae = this.args.ends;
    if (n !== 2 && n !== 3) {
      this.argError(`processRemoteUnsub parse error: '${buf.latin1Slice(start, end)}'`);
      return;
    }
    this.h.processUnsub(
      buf.latin1Slice(as[0], ae[0]),
      buf.latin1Slice(as[1], ae[1]),
      n === 3 ? buf.latin1Slice(as[2], ae[2]) : null,
    );
  }

  /**
   * RMSG/HMSG/LMSG arguments: [origin] account subject, then either an
   * optional reply, or a reply indicator (`+ reply` or `|`) followed by
   * queue names; then [header size] and total size.
   */
  private msgArgs(buf: Buffer, start: number, end: number, off: number, withHeader: boolean): number {
    const what = off === 1 ? 'processRoutedOriginClusterMsgArgs' : withHeader ? 'processRoutedHeaderMsgArgs' : 'processRoutedMsgArgs';
    const n = this.args.split(buf, start, end);
    const as = this.args.starts;
    const ae = this.args.ends;
    const sizes = withHeader ? 2 : 1;
    const base = off + 2;
    if (n < base + sizes) return this.argError(`${what} Parse Error: '${buf.latin1Slice(start, end)}'`);
    let reply: string | null = null;
    let queues = NO_QUEUES;
    if (n === base + sizes + 1) {
      reply = buf.latin1Slice(as[base], ae[base]);
    } else if (n > base + sizes + 1) {
      const ind = as[base];
      if (ae[base] - ind !== 1 || (buf[ind] !== 43 && buf[ind] !== 124)) {
        return this.argError(`${what} Bad or Missing Reply Indicator: '${buf.latin1Slice(ind, ae[base])}'`);
      }
      let q = base + 1;
      if (buf[ind] === 43) {
        reply = buf.latin1Slice(as[q], ae[q]);
        q++;
      }
      const list: string[] = [];
      for (; q < n - sizes; q++) list.push(buf.latin1Slice(as[q], ae[q]));
      queues = list;
    }
    const size = parseSize(buf, as[n - 1], ae[n - 1]);
    let hdr = -1;
    if (withHeader) {
      hdr = parseSize(buf, as[n - 2], ae[n - 2]);
      if (hdr < 0) return this.argError(`${what} Bad or Missing Header Size: '${buf.latin1Slice(start, end)}'`);
    }
    if (size < 0) return this.argError(`${what} Bad or Missing Size: '${buf.latin1Slice(start, end)}'`);
    if (hdr > size) return this.argError(`${what} Header Size larger then TotalSize: '${buf.latin1Slice(start, end)}'`);
    if (size > MAX_PAYLOAD) return this.argError(`${what} payload of ${size} bytes exceeds the largest a server may send`);
    this.pendAccount = buf.latin1Slice(as[off], ae[off]);
    this.pendSubject = buf.latin1Slice(as[off + 1], ae[off + 1]);
    this.pendReply = reply;
    this.pendQueues = queues;
    // An empty header block carries nothing: deliver a plain message, as for HPUB.
    this.pendHdr = hdr <= 0 ? -1 : hdr;
    return size;
  }

  private argError(detail: string): number {
    this.stopped = true;
    this.h.protocolError(null, detail);
    return -1;
  }
}
