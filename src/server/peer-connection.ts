/**
 * What every server-to-server connection (a route, a leaf connection) does
 * the same way: the outbound queue and its flush on the shared scheduler,
 * PING/PONG with RTT, the upkeep's stale and write-deadline verdicts, slow
 * consumers, the authentication timer, tracing, and the close sequence.
 * A kind extends it with its handshake, interest and message ops, and
 * says in ended() what its host must hear when the connection is gone.
 */
import '../protocol/buffer-internals.js';
import { errLine, ERR } from '../protocol/errors.js';
import type { PeerParser } from '../protocol/peer-parser.js';
import { traceIn, traceInPayload, traceOut } from '../protocol/trace.js';
import type { Logger } from '../log/logger.js';
import type { UpkeptConnection } from './connection-upkeep.js';
import type { Flushable } from './flush-scheduler.js';
import type { ServerOptions } from './options.js';
import { OutboundQueue, type OutboundSink } from './outbound.js';

/** Why a peer connection ended, in nats-server's words ("Router connection closed: ...", "Leafnode ..."). */
export const enum PeerCloseReason {
  ClientClosed = 'Client Closed',
  ServerShutdown = 'Server Shutdown',
  ProtocolViolation = 'Protocol Violation',
  ParseError = 'Parse Error',
  AuthViolation = 'Authentication Failure',
  AuthTimeout = 'Authentication Timeout',
  StaleConnection = 'Stale Connection',
  SlowConsumerPendingBytes = 'Slow Consumer (Pending Bytes)',
  SlowConsumerWriteDeadline = 'Slow Consumer (Write Deadline)',
  DuplicateRoute = 'Duplicate Route',
  DuplicateServerName = 'Duplicate Server Name',
  ClusterNameConflict = 'Cluster Name Conflict',
  WrongPort = 'Incorrect Port',
  WrongGateway = 'Wrong Gateway',
  ReadError = 'Read Error',
  MaxAccountConnections = 'Maximum Account Connections Exceeded',
}

/**
 * The byte stream a peer connection speaks over: a TCP or TLS socket
 * (net.Socket fits as it is), or a websocket carrying the same bytes.
 */
export interface PeerTransport extends OutboundSink {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  /** Bytes handed over that the kernel has not taken yet. */
  readonly writableLength: number;
  readonly destroyed: boolean;
  pause(): void;
  resume(): void;
  isPaused(): boolean;
  /** Ends the connection once what was written is sent. */
  end(): void;
  destroy(): void;
}

/** What a peer connection needs of the subsystem that owns it. */
export interface PeerContext {
  readonly logger: Logger;
  /** The server's options in force; a reload replaces the object. */
  readonly options: ServerOptions;
  /** Puts the connection on this turn's flush list, shared with every connection. */
  queueFlush(conn: Flushable): void;
}

/** Payloads and strings up to this size are copied byte by byte into the outbound buffer: cheaper than Buffer#copy there. */
const SMALL_COPY = 64;

const PING = 'PING\r\n';
const PONG = 'PONG\r\n';

/** RTT is measured again after an hour even on a busy connection (DEFAULT_RTT_MEASUREMENT_INTERVAL). */
const RTT_REFRESH_MS = 60 * 60 * 1000;

export abstract class PeerConnection<S extends PeerTransport = PeerTransport> implements UpkeptConnection, Flushable {
  socket: S;
  abstract readonly parser: PeerParser;
  readonly out = new OutboundQueue();
  readonly start = new Date();

  inMsgs = 0;
  inBytes = 0;
  outMsgs = 0;
  outBytes = 0;
  lastActivity = Date.now();
  pingsOut = 0;
  /** Milliseconds; 0 until the first PONG. */
  rtt = 0;
  private rttStart = 0;
  private rttAt = 0;
  /** When we last heard a PING from the peer: our own is then not needed. */
  private lastPingIn = 0;

  /** Both sides speak headers: HMSG may be sent. */
  headers = false;
  flushQueued = false;
  closed = false;
  closeReason: PeerCloseReason | null = null;
  bytesHanded = 0;
  private authTimer: NodeJS.Timeout | null = null;
  protected readonly ctx: PeerContext;

  constructor(ctx: PeerContext, socket: S) {
    this.ctx = ctx;
    this.socket = socket;
  }

  /** The connection's log prefix, e.g. `127.0.0.1:4567 - rid:3`. */
  abstract label(): string;
  /** The connection is closed and its socket let go: the kind's clean-up, and its host's bookkeeping. */
  protected abstract ended(): void;
  /** The authentication timer (armAuthTimer) ran out. */
  protected abstract authTimedOut(): void;

  // ---- inbound ---------------------------------------------------------------------

  onData(chunk: Buffer): void {
    this.lastActivity = Date.now();
    this.parser.parse(chunk);
  }

  traceOp(text: string): void {
    traceIn(this.ctx.logger, this.label(), text);
  }

  tracePayload(buf: Buffer, start: number, end: number): void {
    traceInPayload(this.ctx.logger, this.label(), buf, start, end);
  }

  protected traceOut(text: string): void {
    traceOut(this.ctx.logger, this.label(), text);
  }

  processPing(): void {
    this.lastPingIn = Date.now();
    this.send(PONG);
  }

  processPong(): void {
    this.pingsOut = 0;
    if (this.rttStart !== 0) {
      this.rtt = performance.now() - this.rttStart;
      this.rttAt = Date.now();
      this.rttStart = 0;
    }
  }

  protocolError(errText: string | null, detail: string): void {
    this.parser.stopped = true;
    this.ctx.logger.error(`${this.label()} - ${detail}`);
    if (errText !== null) this.sendErr(errText);
    this.close(PeerCloseReason.ProtocolViolation);
  }

  protected armAuthTimer(ms: number): void {
    this.authTimer = setTimeout(() => {
      this.authTimer = null;
      if (!this.closed) this.authTimedOut();
    }, ms);
  }

  protected clearAuthTimer(): void {
    if (this.authTimer !== null) {
      clearTimeout(this.authTimer);
      this.authTimer = null;
    }
  }

  // ---- upkeep (UpkeptConnection) -----------------------------------------------------

  wantsPing(now: number, pingInterval: number): boolean {
    const needRtt = this.rtt === 0 || now - this.rttAt > RTT_REFRESH_MS;
    // A busy connection, or one whose peer just pinged us, needs no PING of ours.
    return needRtt || (now - this.lastActivity >= pingInterval && now - this.lastPingIn >= pingInterval);
  }

  sendPing(): void {
    this.pingsOut++;
    this.rttStart = performance.now();
    this.send(PING);
  }

  closeStale(): void {
    this.sendErrAndClose(ERR.staleConnection, PeerCloseReason.StaleConnection);
  }

  writeDeadlineExceeded(): void {
    this.slowConsumer(PeerCloseReason.SlowConsumerWriteDeadline);
  }

  // ---- outbound ----------------------------------------------------------------------

  /** Appends a protocol line (traced unless `trace` is false) and schedules a flush. */
  send(line: string, trace = true): void {
    if (this.closed) return;
    if (trace && this.parser.tracing) this.traceOut(line.slice(0, line.indexOf('\r')).replace(/^-ERR '(.*)'$/, '-ERR $1'));
    this.out.appendString(line);
    this.queueFlush();
  }

  sendErr(text: string): void {
    this.send(errLine(text));
  }

  /**
   * A message: `<verb> [account] <subject> [reply/queue section] [hdr size] <size>`
   * and the payload buf[start..end). The queue section is `+ reply q1 q2`
   * or `| q1 q2` when queue groups are named. With headers (hdrLen >= 0)
   * it goes as HMSG when the peer takes them; otherwise nats-server strips
   * them and sends the rest under `verb`.
   */
  protected sendMessage(verb: string, account: string | null, subject: string, reply: string | null, queues: readonly string[] | null, hdrLen: number, buf: Buffer, start: number, end: number): void {
    if (this.closed) return;
    const withHeaders = hdrLen >= 0 && this.headers;
    const bodyStart = hdrLen >= 0 && !withHeaders ? start + hdrLen : start;
    const size = end - bodyStart;
    // The line goes into the buffer piece by piece: joining it into one string first cost more than the writes.
    const v = withHeaders ? 'HMSG ' : verb;
    let mid: string | null = null;
    if (queues !== null) mid = (reply === null ? '| ' : '+ ' + reply + ' ') + queues.join(' ') + ' ';
    else if (reply !== null) mid = reply + ' ';
    const tail = withHeaders ? hdrLen + ' ' + size + '\r\n' : size + '\r\n';
    const head = account === null ? 0 : account.length + 1;
    const n = v.length + head + subject.length + 1 + (mid === null ? 0 : mid.length) + tail.length + size + 2;
    const out = this.out;
    const seg = out.reserve(n);
    let off = putLatin1(seg, out.offset, v);
    if (account !== null) {
      off = putLatin1(seg, off, account);
      seg[off++] = 32;
    }
    off = putLatin1(seg, off, subject);
    seg[off++] = 32;
    if (mid !== null) off = putLatin1(seg, off, mid);
    off = putLatin1(seg, off, tail);
    putPayload(seg, off, buf, bodyStart, end);
    out.commit(n);
    this.outMsgs++;
    this.outBytes += size;
    if (this.parser.tracing) this.traceOut(v + (account === null ? '' : account + ' ') + subject + ' ' + (mid ?? '') + tail.slice(0, -2));
    this.queueFlush();
  }

  protected queueFlush(): void {
    if (!this.flushQueued) this.ctx.queueFlush(this);
  }

  /** Hands pending bytes to the socket; a peer that cannot keep up is cut. */
  flush(): void {
    this.flushQueued = false;
    if (this.closed) return;
    this.bytesHanded += this.out.flush(this.socket);
    if (this.socket.writableLength > this.ctx.options.max_pending) {
      this.slowConsumer(PeerCloseReason.SlowConsumerPendingBytes);
    }
  }

  private slowConsumer(reason: PeerCloseReason): void {
    this.ctx.logger.info(`${this.label()} - Slow Consumer Detected: ${reason === PeerCloseReason.SlowConsumerWriteDeadline ? 'WriteDeadline exceeded' : 'MaxPending exceeded'}`);
    this.out.clear();
    this.close(reason, true);
  }

  sendErrAndClose(text: string, reason: PeerCloseReason): void {
    this.sendErr(text);
    this.close(reason);
  }

  /** Ends the connection (queued bytes first unless `abort`), then ended() tells the host. */
  close(reason: PeerCloseReason, abort = false): void {
    if (this.closed) return;
    this.parser.stopped = true;
    this.closeReason = reason;
    if (!abort) this.bytesHanded += this.out.flush(this.socket);
    this.closed = true;
    this.out.clear();
    this.clearAuthTimer();
    if (abort) {
      this.socket.destroy();
    } else {
      this.socket.end();
      // Input may be paused (a password check): the peer's FIN must still be read.
      this.socket.resume();
    }
    this.ended();
  }
}

/** Writes a string of latin1 characters at `off`; returns the offset after it. Short ones by hand: cheaper than latin1Write. */
function putLatin1(seg: Buffer, off: number, s: string): number {
  const n = s.length;
  if (n > SMALL_COPY) return off + seg.latin1Write(s, off, n);
  for (let i = 0; i < n; i++) seg[off + i] = s.charCodeAt(i);
  return off + n;
}

/** Copies a payload buf[start..end) into `seg` at `off`, then CRLF; returns the offset after them. */
function putPayload(seg: Buffer, off: number, buf: Buffer, start: number, end: number): number {
  if (end - start <= SMALL_COPY) {
    for (let i = start; i < end; i++) seg[off++] = buf[i];
  } else {
    buf.copy(seg, off, start, end);
    off += end - start;
  }
  seg[off] = 13;
  seg[off + 1] = 10;
  return off + 2;
}

/**
 * The JSON object of an INFO or CONNECT, or the error to log: JSON.parse's
 * message, or Go's for a value that is not an object.
 */
export function decodePeerJson(json: string): Record<string, unknown> | string {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch (e) {
    return (e as Error).message;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return `cannot decode ${json.slice(0, 64)}`;
  return v as Record<string, unknown>;
}
