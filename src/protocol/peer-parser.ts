/**
 * The parser core of the server-to-server protocols (routes, leaf nodes):
 * one state machine for the ops they share (INFO, CONNECT, PING, PONG,
 * +OK, -ERR), the CONNECT-first rule of a connection that must
 * authenticate, and the argument forms of interest (RS+/LS+, RS-/LS-) and
 * messages with a payload (RMSG, LMSG, HMSG). What differs between the
 * protocols is data: the keyword table, how many leading tokens (origin,
 * account) precede the subject, and the function names nats-server puts
 * in its parse errors. Each protocol's parser (cluster/route-parser.ts,
 * leafnode/leaf-parser.ts) maps its own ops onto these forms.
 *
 * Lines and payloads come from the shared framing (framing.ts): payloads
 * are views of the chunk they arrived in, copied only when they span
 * chunks.
 */
import './buffer-internals.js';
import { ERR } from './errors.js';
import { FramedParser } from './framing.js';
import { ArgTokens, parseSize, upper } from './args.js';

/** What every peer connection does with the shared ops. */
export interface PeerOpHandler {
  processInfo(json: string): void;
  processConnect(json: string): void;
  processPing(): void;
  processPong(): void;
  processErr(text: string): void;
  /** The first operation of a connection that must authenticate was not CONNECT. */
  authViolation(): void;
  traceOp(text: string): void;
  tracePayload(buf: Buffer, start: number, end: number): void;
  /** Close the connection; `errText` (if any) goes to the peer as -ERR first. */
  protocolError(errText: string | null, detail: string): void;
}

/** The shared ops; a protocol numbers its own from `Own` up. */
export const enum PeerOp {
  Ping,
  Pong,
  Info,
  Connect,
  Ok,
  Err,
  Own,
}

/** A keyword (upper case) and its op. */
export type PeerKeyword = readonly [text: string, op: number];

/** The shared keywords, for a protocol's table (which lists its busiest ops first). */
export const SHARED_KEYWORDS: readonly PeerKeyword[] = [
  ['PING', PeerOp.Ping],
  ['PONG', PeerOp.Pong],
  ['INFO', PeerOp.Info],
  ['CONNECT', PeerOp.Connect],
  ['+OK', PeerOp.Ok],
  ['-ERR', PeerOp.Err],
];

/** How a protocol names itself in its errors. */
export interface PeerProtocolNames {
  /** Logged for an unknown op, e.g. "Router parser ERROR". */
  readonly unknownOp: string;
  /**
   * nats-server quotes a bad message line whole on routes but prints the
   * split arguments as a Go slice ("[a b c]") on leaf connections.
   */
  readonly msgArgsAsSlice: boolean;
}

const CR = 13;
const SP = 32;
const TAB = 9;
const PLUS = 43;
const BAR = 124;
/** 'C': the only first letter a connection that must authenticate may start with. */
const UPPER_C = 67;

/**
 * nats-server puts no limit on peer control lines; an unterminated line
 * still has to stop growing somewhere, and no legitimate one comes near this.
 */
const MAX_LINE = 1024 * 1024;
/** nats-server's MAX_PAYLOAD_MAX_SIZE: no peer can be configured to send more. */
const MAX_PAYLOAD = 64 * 1024 * 1024;

export abstract class PeerParser extends FramedParser {
  private readonly peer: PeerOpHandler;
  private readonly names: PeerProtocolNames;
  private readonly keywords: readonly PeerKeyword[];
  /** Keywords by their first (upper-case) character: one line of a busy peer costs one lookup. */
  private readonly byFirst = new Map<number, PeerKeyword[]>();
  /** Argument tokens of the current line; they grow for long queue lists. */
  private readonly args = new ArgTokens(16);
  private kwEnd = 0;
  /** The connection must authenticate and CONNECT has not arrived: anything else is a violation. */
  requireConnect = false;

  // The interest line interestArgs() read last.
  protected subject = '';
  protected queue: string | null = null;
  protected weight = 0;

  // The message whose payload the framing delivers next (msgArgs()).
  /** The token before the subject (a route's account); empty when the form has none. */
  protected pendAccount = '';
  protected pendSubject = '';
  protected pendReply: string | null = null;
  /** The queue groups named in the message's queue section; null without one. */
  protected pendQueues: readonly string[] | null = null;
  /** -1 without headers. */
  protected pendHdr = -1;

  constructor(peer: PeerOpHandler, keywords: readonly PeerKeyword[], names: PeerProtocolNames) {
    super();
    this.peer = peer;
    this.names = names;
    this.keywords = keywords;
    for (const k of keywords) {
      const c = k[0].charCodeAt(0);
      const list = this.byFirst.get(c);
      if (list === undefined) this.byFirst.set(c, [k]);
      else list.push(k);
    }
  }

  /**
   * One of the protocol's own ops, its arguments at buf[argPos..end).
   * Returns the payload size that follows, or -1.
   */
  protected abstract processOwn(op: number, buf: Buffer, argPos: number, end: number): number;

  protected fail(): void {
    this.unknownOp();
  }

  private unknownOp(): void {
    this.stopped = true;
    this.peer.protocolError(ERR.unknownOp, this.names.unknownOp);
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
    const candidates = this.byFirst.get(upper(buf[start]));
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
    if (this.requireConnect && upper(buf[0]) !== UPPER_C) {
      this.stopped = true;
      this.peer.authViolation();
      return;
    }
    if (this.matchKeyword(buf, 0, buf.length, false) === -1) {
      this.unknownOp();
      return;
    }
    if (buf.length > MAX_LINE) {
      this.stopped = true;
      this.peer.protocolError(ERR.maxControlLine, 'control line too long');
    }
  }

  /** One control line buf[start..nl); returns the payload size that follows, or -1. */
  protected processLine(buf: Buffer, start: number, nl: number): number {
    let end = nl;
    if (end > start && buf[end - 1] === CR) end--;
    if (this.requireConnect && upper(buf[start]) !== UPPER_C) {
      this.stopped = true;
      this.peer.authViolation();
      return -1;
    }
    const op = this.matchKeyword(buf, start, end, true);
    if (op < 0) {
      this.unknownOp();
      return -1;
    }
    let argPos = this.kwEnd;
    while (argPos < end && (buf[argPos] === SP || buf[argPos] === TAB)) argPos++;
    if (this.tracing && op !== PeerOp.Info) this.traceLine(op, buf, argPos, end);
    switch (op) {
      case PeerOp.Ping:
        this.peer.processPing();
        return -1;
      case PeerOp.Pong:
        this.peer.processPong();
        return -1;
      case PeerOp.Ok:
        return -1;
      case PeerOp.Info:
        this.peer.processInfo(buf.toString('utf8', argPos, end));
        return -1;
      case PeerOp.Connect:
        this.peer.processConnect(buf.toString('utf8', argPos, end));
        return -1;
      case PeerOp.Err:
        this.peer.processErr(buf.toString('utf8', argPos, end));
        return -1;
      default:
        return this.processOwn(op, buf, argPos, end);
    }
  }

  private traceLine(op: number, buf: Buffer, argPos: number, end: number): void {
    let keyword = '';
    for (const [text, o] of this.keywords) if (o === op) keyword = text;
    // CONNECT goes as it came: the shared trace (protocol/trace.ts) keeps its password out of the log.
    const args = argPos < end ? buf.toString('utf8', argPos, end) : '';
    this.peer.traceOp(args === '' ? keyword : `${keyword} ${args}`);
  }

  /**
   * An interest line: `lead` tokens (origin, account), the subject, then
   * `queue weight` (a sub) or `queue` (an unsub) optionally. Leaves them in
   * subject/queue/weight (0 without a queue) and the lead tokens for
   * token(); false after a parse error (`what` names it, nats-server's
   * words up to the quoted line).
   */
  protected interestArgs(buf: Buffer, start: number, end: number, lead: number, sub: boolean, what: string): boolean {
    const n = this.args.split(buf, start, end);
    if (n !== lead + 1 && n !== lead + (sub ? 3 : 2)) {
      this.argError(`${what}: '${buf.latin1Slice(start, end)}'`);
      return false;
    }
    this.subject = this.token(buf, lead);
    this.queue = n > lead + 1 ? this.token(buf, lead + 1) : null;
    this.weight = sub && n === lead + 3 ? parseSize(buf, this.args.starts[lead + 2], this.args.ends[lead + 2]) : 0;
    return true;
  }

  /** Token `i` of the line split last. */
  protected token(buf: Buffer, i: number): string {
    return buf.latin1Slice(this.args.starts[i], this.args.ends[i]);
  }

  /**
   * A message line: `lead` tokens (origin, account; the one just before the
   * subject is kept as pendAccount), the subject, then either an optional
   * reply, or a reply indicator (`+ reply` or `|`) followed by queue names;
   * then [header size] and total size. Returns the payload size, or -1
   * after a parse error (`what`: nats-server's function name).
   */
  protected msgArgs(buf: Buffer, start: number, end: number, lead: number, withHeader: boolean, what: string): number {
    const n = this.args.split(buf, start, end);
    const as = this.args.starts;
    const ae = this.args.ends;
    const sizes = withHeader ? 2 : 1;
    const base = lead + 1;
    if (n < base + sizes) return this.argError(`${what} Parse Error: '${this.shownLine(buf, start, end, n)}'`);
    let reply: string | null = null;
    let queues: string[] | null = null;
    if (n === base + sizes + 1) {
      reply = buf.latin1Slice(as[base], ae[base]);
    } else if (n > base + sizes + 1) {
      const ind = as[base];
      if (ae[base] - ind !== 1 || (buf[ind] !== PLUS && buf[ind] !== BAR)) {
        return this.argError(`${what} Bad or Missing Reply Indicator: '${buf.latin1Slice(ind, ae[base])}'`);
      }
      let q = base + 1;
      if (buf[ind] === PLUS) {
        reply = buf.latin1Slice(as[q], ae[q]);
        q++;
      }
      queues = [];
      for (; q < n - sizes; q++) queues.push(buf.latin1Slice(as[q], ae[q]));
    }
    const size = parseSize(buf, as[n - 1], ae[n - 1]);
    let hdr = -1;
    if (withHeader) {
      hdr = parseSize(buf, as[n - 2], ae[n - 2]);
      if (hdr < 0) return this.argError(`${what} Bad or Missing Header Size: '${this.shownLine(buf, start, end, n)}'`);
    }
    if (size < 0) return this.argError(`${what} Bad or Missing Size: '${this.shownLine(buf, start, end, n)}'`);
    if (hdr > size) return this.argError(`${what} Header Size larger then TotalSize: '${this.shownLine(buf, start, end, n)}'`);
    if (size > MAX_PAYLOAD) return this.argError(`${what} payload of ${size} bytes exceeds the largest a server may send`);
    this.pendAccount = lead > 0 ? buf.latin1Slice(as[lead - 1], ae[lead - 1]) : '';
    this.pendSubject = buf.latin1Slice(as[lead], ae[lead]);
    this.pendReply = reply;
    this.pendQueues = queues;
    // An empty header block carries nothing: deliver a plain message, as for HPUB.
    this.pendHdr = hdr <= 0 ? -1 : hdr;
    return size;
  }

  /** A bad message line as nats-server quotes it in its error (see PeerProtocolNames). */
  private shownLine(buf: Buffer, start: number, end: number, n: number): string {
    if (!this.names.msgArgsAsSlice) return buf.latin1Slice(start, end);
    const parts: string[] = [];
    for (let i = 0; i < n; i++) parts.push(this.token(buf, i));
    return `[${parts.join(' ')}]`;
  }

  private argError(detail: string): number {
    this.stopped = true;
    this.peer.protocolError(null, detail);
    return -1;
  }
}
