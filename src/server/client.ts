import '../protocol/buffer-internals.js';
import { ClientParser, type ClientOpHandler } from '../protocol/parser.js';
import { ERR, errLine } from '../protocol/errors.js';
import { isValidLiteralSubject } from '../subjects/validate.js';
import { traceIn, traceInPayload, traceOut } from '../protocol/trace.js';
import type { Logger } from '../log/logger.js';
import { redactConnectJson } from '../log/redact.js';
import { OutboundQueue, type OutboundSink } from './outbound.js';
import { MsgFramer } from './msg-frame.js';
import { InputSlice, inNextTurn, inSlices } from './input-slice.js';
import type { FlushScheduler } from './flush-scheduler.js';
import type { ServerOptions } from './options.js';
import type { ClientIdentity } from './client-identity.js';
import type { Publisher, RoutedMessage } from './routed-message.js';
import { Subscription, type Subscriber } from './subscription.js';
import type { UpkeptConnection } from './connection-upkeep.js';
import type { Account } from '../accounts/account.js';
import { TraceKind } from '../trace/msg-trace.js';
import { tracerOf } from '../trace/tracer-registry.js';
import type { AuthenticatedUser } from '../auth/users.js';
import {
  isReservedReply, publishViolation, replyViolation, subscriptionViolation, SYSTEM_QUEUE_GROUP,
  type ClientPermissions,
} from '../auth/permissions.js';

/** Why a connection ended, in nats-server's /connz wording. */
export const enum CloseReason {
  ClientClosed = 'Client Closed',
  ServerShutdown = 'Server Shutdown',
  ProtocolViolation = 'Protocol Violation',
  ParseError = 'Parse Error',
  AuthViolation = 'Authentication Failure',
  AuthTimeout = 'Authentication Timeout',
  StaleConnection = 'Stale Connection',
  SlowConsumerPendingBytes = 'Slow Consumer (Pending Bytes)',
  SlowConsumerWriteDeadline = 'Slow Consumer (Write Deadline)',
  MaxPayload = 'Maximum Message Payload Exceeded',
  MaxControlLine = 'Maximum Control Line Exceeded',
  LameDuck = 'Lame Duck Mode',
  ReadError = 'Read Error',
  Revocation = 'Credentials Revoked',
  AuthenticationExpired = 'Authentication Expired',
  MaxAccountConnections = 'Maximum Account Connections Exceeded',
  MaxSubscriptions = 'Maximum Subscriptions Exceeded',
  TlsHandshakeError = 'TLS Handshake Failure',
}

/** What a new connection is told about authentication (its INFO's nonce) and held to. */
export interface ConnectionAuth {
  readonly required: boolean;
  /** How long the connection has to authenticate. */
  readonly timeoutMs: number;
  /** The nonce its INFO carries (nkey and JWT users sign it), or null. */
  readonly nonce: string | null;
}

/**
 * What a client connection needs from the server it belongs to. Declared
 * here so that a Client knows no Server: the server implements it.
 */
export interface ClientHost {
  /** The options in force; a reload replaces the object, so read it each time. */
  readonly options: ServerOptions;
  readonly logger: Logger;
  /** One flush per connection per event-loop turn. */
  readonly flusher: FlushScheduler;
  /** Kernel-bound backlog above which a consumer is stalled and its producers wait. */
  readonly stallThreshold: number;
  /** Whether clients must authenticate. */
  readonly authRequired: boolean;
  /** The INFO line for a connection; `maxPayload` replaces the server's when a user or account lowered it. */
  infoFor(cid: number, ip: string, nonce: string | null, maxPayload?: number | null): string;
  /** Who a CONNECT makes the client; null when it does not authenticate. */
  authenticateClient(c: Client, connect: Record<string, unknown>): Promise<AuthenticatedUser | null>;
  /** The user a client that sends no CONNECT is (no_auth_user), or null. */
  noAuthIdentity(): AuthenticatedUser | null;
  /** Binds an authenticated client to its account and permissions; false when that account cannot take it. */
  bindClient(c: Client, who: AuthenticatedUser): boolean;
  /** The client passed CONNECT (and authentication, when required). */
  clientConnected(c: Client): void;
  clientAuthFailed(c: Client): void;
  /** The connection ended; the server forgets it. */
  removeClient(c: Client): void;
  countSlowConsumer(c: Client): void;
  subscriptionAdded(acc: Account, sub: Subscription): void;
  subscriptionRemoved(acc: Account, sub: Subscription): void;
  /** Routes a message this client published in `acc`; returns how many subscriptions (and peers) got it. */
  routeMessage(pub: Client, acc: Account, subject: string, reply: string | null, hdrLen: number, buf: Buffer, start: number, end: number, sizeText: string | null): number;
}

/**
 * What a client connection reads and writes through: a TCP or TLS socket,
 * or an adapter over another framing (a websocket connection). Its owner
 * feeds input to Client.onData and tells Client.onDrain; the client only
 * steers it.
 */
export interface ClientTransport extends OutboundSink {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  /** Bytes handed over that the kernel has not taken yet. */
  readonly writableLength: number;
  readonly destroyed: boolean;
  pause(): void;
  resume(): void;
  /** Ends the connection once what was written is sent. */
  end(): void;
  destroy(): void;
  once(event: 'close', listener: () => void): unknown;
}

/** How long a paused fast producer waits for its consumer at most. */
const MAX_PRODUCER_STALL_MS = 1000;

const NO_RESPONDERS_HDR = 'NATS/1.0 503\r\n\r\n';
const STATUS_LEN = NO_RESPONDERS_HDR.length;
const PING = 'PING\r\n';
const PONG = 'PONG\r\n';
const OK = '+OK\r\n';

/** CONNECT fields and the JSON type nats-server decodes each into. */
const CONNECT_FIELD_TYPES: Readonly<Record<string, 'boolean' | 'string' | 'int'>> = {
  verbose: 'boolean', pedantic: 'boolean', tls_required: 'boolean', echo: 'boolean',
  headers: 'boolean', no_responders: 'boolean',
  name: 'string', lang: 'string', version: 'string', user: 'string', pass: 'string',
  auth_token: 'string', nkey: 'string', sig: 'string', jwt: 'string',
  protocol: 'int',
};

/**
 * Decodes a CONNECT argument with the strictness of Go's JSON decoder into
 * nats-server's struct: a known field of the wrong type fails the whole
 * CONNECT; null leaves a field alone; unknown fields are ignored.
 */
function parseConnect(json: string): Record<string, unknown> | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return null;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  const o = parsed as Record<string, unknown>;
  for (const [key, want] of Object.entries(CONNECT_FIELD_TYPES)) {
    const v = o[key];
    if (v === undefined || v === null) continue;
    if (want === 'int' ? !Number.isInteger(v) : typeof v !== want) return null;
  }
  return o;
}

/** A client connection: protocol state, subscriptions and the outbound queue. */
export class Client implements ClientOpHandler, ClientIdentity, Publisher, Subscriber, UpkeptConnection {
  readonly cid: number;
  /** The server this connection belongs to, as far as a client needs it. */
  readonly server: ClientHost;
  readonly socket: ClientTransport;
  readonly parser: ClientParser;
  readonly out = new OutboundQueue();
  readonly subs = new Map<string, Subscription>();
  account: Account;
  readonly host: string;
  readonly port: number;
  readonly start = new Date();
  /** Date.now() of the last read; lets the PING timer skip busy clients. */
  lastActivity = Date.now();

  // CONNECT options. nats-server's defaults before CONNECT are verbose and pedantic.
  verbose = true;
  pedantic = true;
  echo = true;
  headers = false;
  noResponders = false;
  name = '';
  lang = '';
  version = '';
  protocol = 0;
  connectReceived = false;
  /** Observers were told this connection is up (once, on its first good CONNECT). */
  announced = false;
  /** False until CONNECT passes authentication when the server requires it. */
  authorized: boolean;
  authUser = '';
  /** The nonce this connection's INFO carried (nkey users sign it), or null. */
  readonly nonce: string | null;
  /** The CONNECT that authenticated this connection; a reload checks it again. */
  credentials: Record<string, unknown> | null = null;
  /** Publish/subscribe rules of the authenticated user; null means unrestricted. */
  perms: ClientPermissions | null = null;
  /**
   * Subscriptions this connection may hold when its user or account sets a
   * limit (operator mode), -1 for none; null defers to max_subscriptions.
   */
  subsLimit: number | null = null;
  /** The parser's limits; operator mode lowers maxPayload for a user or account. */
  readonly parserLimits: { maxControlLine: number; maxPayload: number };
  /** A max_payload of this connection's own (operator mode), announced in INFO; null for the server's. */
  maxPayloadOverride: number | null = null;
  /** The first PONG went out (a changed max_payload is announced before it, as nats-server does). */
  private firstPongSent = false;


  inMsgs = 0;
  inBytes = 0;
  outMsgs = 0;
  outBytes = 0;
  pingsOut = 0;
  rttStart = 0;
  rtt = 0;

  /** On the server's flush list for this turn. */
  flushQueued = false;
  private readonly flusher: FlushScheduler;
  closed = false;
  closeReason: CloseReason | null = null;
  stop: Date | null = null;
  /** Kernel-bound bytes are backed up past the stall mark. */
  stalled = false;
  /** Producers paused because they fed this connection while it was stalled. */
  stalledProducers: Publisher[] | null = null;
  /** This producer fed a stalled consumer during the current read; pause after it. */
  pauseRequested = false;
  paused = false;
  /** Bytes handed to the socket so far; with writableLength this tells whether writes progress. */
  bytesHanded = 0;
  private authTimer: NodeJS.Timeout | null = null;
  /** This connection's share of the current event-loop turn (see input-slice.ts). */
  private readonly inputSlice = new InputSlice();
  /** Frames the messages this connection delivers (see msg-frame.ts). */
  private readonly framer = new MsgFramer();

  constructor(server: ClientHost, socket: ClientTransport, cid: number, account: Account, auth: ConnectionAuth) {
    this.server = server;
    this.flusher = server.flusher;
    this.socket = socket;
    this.cid = cid;
    this.account = account;
    this.authorized = !auth.required;
    this.nonce = auth.nonce;
    this.host = socket.remoteAddress ?? '';
    this.port = socket.remotePort ?? 0;
    this.parserLimits = { maxControlLine: server.options.max_control_line, maxPayload: server.options.max_payload };
    this.parser = new ClientParser(this, this.parserLimits);
    this.parser.tracing = server.logger.traceEnabled;
    if (auth.required) {
      this.authTimer = setTimeout(() => this.authTimeout(), auth.timeoutMs);
    }
  }

  // ---- inbound -------------------------------------------------------------

  /** Socket 'data' handler body. */
  onData(chunk: Buffer): void {
    this.lastActivity = Date.now();
    this.inputSlice.begin();
    this.parseInput(chunk);
  }

  /** Parses `chunk`, or (null) the input held while the parser was suspended. */
  private parseInput(chunk: Buffer | null): void {
    try {
      if (chunk === null) this.parser.resume();
      else this.parser.parse(chunk);
    } catch (e) {
      // A defect triggered by one connection's input must cost that connection, not the server.
      this.server.logger.error(`${this.label()} - internal error while processing input: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      this.close(CloseReason.ParseError, true);
      return;
    }
    if (this.pauseRequested && !this.closed) {
      this.pauseRequested = false;
      this.paused = true;
      this.socket.pause();
      // A consumer that never drains must not silence its producers for good.
      setTimeout(() => this.resume(), MAX_PRODUCER_STALL_MS).unref();
    }
  }

  processConnect(json: string): void {
    const o = parseConnect(json);
    if (o === null) {
      // nats-server fails to decode such a CONNECT and drops the connection without a word.
      this.protocolViolation(null, `connect parse error: ${redactConnectJson(json).slice(0, 64)}`);
      return;
    }
    if (typeof o.verbose === 'boolean') this.verbose = o.verbose;
    if (typeof o.pedantic === 'boolean') this.pedantic = o.pedantic;
    if (typeof o.echo === 'boolean') this.echo = o.echo;
    if (typeof o.headers === 'boolean') this.headers = o.headers && !this.server.options.no_header_support;
    if (typeof o.no_responders === 'boolean') this.noResponders = o.no_responders;
    if (typeof o.name === 'string') this.name = o.name;
    if (typeof o.lang === 'string') this.lang = o.lang;
    if (typeof o.version === 'string') this.version = o.version;
    if (typeof o.protocol === 'number') this.protocol = o.protocol;
    this.connectReceived = true;
    if (this.protocol < 0 || this.protocol > 1) {
      this.sendErrAndClose('invalid client protocol', CloseReason.ProtocolViolation);
      return;
    }
    if (this.noResponders && !this.headers) {
      this.sendErrAndClose(ERR.noRespondersNeedsHeaders, CloseReason.ProtocolViolation);
      return;
    }
    if (!this.server.authRequired) {
      if (this.verbose) this.send(OK);
      this.server.clientConnected(this);
      return;
    }
    // Every CONNECT is checked, not just the first: a second one may not swap identities.
    // Checks can be slow (bcrypt), so later input waits instead of the whole server.
    this.parser.suspend();
    this.socket.pause();
    this.server.authenticateClient(this, o).then(
      (who) => this.connectAuthenticated(o, who),
      (e: unknown) => {
        this.server.logger.error(`${this.label()} - authentication failed: ${e instanceof Error ? e.message : String(e)}`);
        this.connectAuthenticated(o, null);
      },
    );
  }

  private connectAuthenticated(o: Record<string, unknown>, who: AuthenticatedUser | null): void {
    if (this.closed) return;
    const bound = who !== null && this.server.bindClient(this, who);
    // Binding may refuse with its own error and close (an account's connection limit).
    if (this.closed) return;
    if (!bound) {
      this.authorized = false;
      this.authFailed();
      return;
    }
    this.credentials = o;
    this.authorized = true;
    if (this.authTimer) {
      clearTimeout(this.authTimer);
      this.authTimer = null;
    }
    if (this.verbose) this.send(OK);
    this.server.clientConnected(this);
    this.parser.resume();
    this.resumeReading();
  }

  traceOp(text: string): void {
    traceIn(this.server.logger, this.label(), text);
  }

  tracePayload(buf: Buffer, start: number, end: number): void {
    traceInPayload(this.server.logger, this.label(), buf, start, end);
  }

  private traceOut(text: string): void {
    traceOut(this.server.logger, this.label(), text);
  }

  processPing(): void {
    if (this.inputSlice.spend()) this.yieldInput();
    if (!this.authorized && !this.bindNoAuthUser()) return this.authFailed();
    if (!this.firstPongSent && this.connectReceived) {
      this.firstPongSent = true;
      const max = this.maxPayloadOverride;
      // Clients read max_payload from INFO; one lowered for this user is told before the first PONG.
      if (this.protocol >= 1 && max !== null && max !== this.server.options.max_payload) this.send(this.server.infoFor(this.cid, this.host, null, max));
    }
    this.send(PONG);
  }

  processInfo(json: string): void {
    try {
      JSON.parse(json);
    } catch {
      this.protocolViolation(null, `info parse error: ${json.slice(0, 64)}`);
    }
  }

  processPong(): void {
    this.pingsOut = 0;
    if (this.rttStart !== 0) {
      this.rtt = performance.now() - this.rttStart;
      this.rttStart = 0;
    }
  }

  processErr(text: string): void {
    this.server.logger.error(`${this.label()} - Client Error ${text}`);
    this.close(CloseReason.ClientClosed);
  }

  processSub(subject: string, queue: string | null, sid: string): void {
    if (this.inputSlice.spend()) this.yieldInput();
    if (!this.authorized && !this.bindNoAuthUser()) return this.authFailed();
    if (this.subs.has(sid)) {
      // nats-server keeps the first subscription for a reused sid.
      if (this.verbose) this.send(OK);
      return;
    }
    const serverMax = this.server.options.max_subscriptions;
    const max = this.subsLimit ?? (serverMax > 0 ? serverMax : -1);
    if (max >= 0 && this.subs.size >= max) {
      this.server.logger.error(`${this.label()} - Maximum Subscriptions Exceeded: ${this.subs.size}`);
      this.sendErr(ERR.maxSubscriptions);
      return;
    }
    if (queue === SYSTEM_QUEUE_GROUP || (this.perms !== null && !this.perms.canSubscribe(subject, queue))) {
      this.server.logger.error(`${this.label()} - Subscription Violation - ${this.authUser !== '' ? `User "${this.authUser}", ` : ''}Subject "${subject}"${queue !== null ? `, Queue: "${queue}"` : ''}, SID ${sid}`);
      this.sendErr(subscriptionViolation(subject, queue));
      return;
    }
    const sub = new Subscription(this, subject, queue, sid);
    if (!this.account.sublist.insert(sub)) {
      this.sendErr(ERR.invalidSubject);
      return;
    }
    this.subs.set(sid, sub);
    if (this.verbose) this.send(OK);
    this.server.subscriptionAdded(this.account, sub);
  }

  processUnsub(sid: string, max: number): void {
    if (this.inputSlice.spend()) this.yieldInput();
    if (!this.authorized && !this.bindNoAuthUser()) return this.authFailed();
    const sub = this.subs.get(sid);
    if (this.verbose) this.send(OK);
    if (sub === undefined) return;
    if (max > 0) {
      sub.max = max;
    } else {
      this.removeSub(sub);
    }
  }

  processMsg(subject: string, reply: string | null, hdrLen: number, buf: Buffer, start: number, end: number, sizeText: string | null): void {
    if (this.inputSlice.spend()) this.yieldInput();
    if (!this.authorized && !this.bindNoAuthUser()) return this.authFailed();
    if (hdrLen >= 0 && !this.headers) {
      this.protocolViolation(null, 'message headers not supported by this connection');
      return;
    }
    this.inMsgs++;
    this.inBytes += end - start;
    if (this.pedantic && !isValidLiteralSubject(subject)) {
      // nats-server reports this but still routes the message.
      this.sendErr(ERR.invalidPublishSubject);
    }
    if (this.perms !== null && !this.perms.canPublish(subject)) {
      this.server.logger.error(`${this.label()} - Publish Violation - ${this.authUser !== '' ? `User "${this.authUser}", ` : ''}Subject "${subject}"`);
      this.sendErr(publishViolation(subject));
      // Message tracing (src/trace): a traced publish reports the refusal as its ingress error.
      if (hdrLen > 0) tracerOf(this.server)?.refused(TraceKind.Client, this.cid, this.name, this.perms, this.account, subject, buf, start, hdrLen, end, this, publishViolation(subject));
      return;
    }
    if (reply !== null && isReservedReply(reply)) {
      this.sendErr(replyViolation(reply));
      return;
    }
    // The +OK precedes any MSG this connection gets for its own publish, as in nats-server.
    if (this.verbose) this.send(OK);
    const delivered = this.server.routeMessage(this, this.account, subject, reply, hdrLen, buf, start, end, sizeText);
    if (delivered === 0 && reply !== null && this.noResponders) {
      this.sendNoResponders(reply);
    }
  }

  /** The 503 status a requester gets when nobody is subscribed to the subject. */
  private sendNoResponders(reply: string): void {
    const r = this.account.sublist.match(reply);
    for (const sub of r.psubs) {
      if (sub.client === this) {
        this.send(`HMSG ${reply} ${sub.sidSp}${STATUS_LEN} ${STATUS_LEN}\r\n${NO_RESPONDERS_HDR}\r\n`);
        return;
      }
    }
  }

  // ---- delivery --------------------------------------------------------------

  /**
   * Takes a routed message for one of this connection's subscriptions,
   * unless the connection or the subscription is closed, it is this
   * connection's own message and echo is off, or a deny rule inside a
   * wildcard subscription's range forbids the subject. Counts towards the
   * subscription's max (the last allowed delivery removes it), strips the
   * headers for a connection that did not negotiate them, opens the reply
   * for allow_responses, and asks the publisher to pause when this
   * connection is stalled.
   */
  deliver(sub: Subscription, m: RoutedMessage, head: string, tail: string): boolean {
    if (sub.closed || this.closed) return false;
    const pub = m.publisher;
    if (pub === this && !this.echo) return false;
    const perms = this.perms;
    // Deny rules inside a wildcard subscription's range are enforced here, per subject.
    if (perms !== null && perms.filtersDeliveries && perms.deniesDelivery(m.subject)) return false;
    sub.delivered++;
    if (sub.max > 0 && sub.delivered >= sub.max) {
      if (sub.delivered > sub.max) {
        this.removeSub(sub);
        return false;
      }
      this.removeSub(sub);
    }
    const reply = m.reply;
    if (m.hdrLen >= 0 && !this.headers) {
      // A subscriber that did not negotiate headers gets the payload alone.
      const bodyStart = m.start + m.hdrLen;
      this.enqueueMsg(sub, 'MSG' + head.slice(4), (reply === null ? '' : reply + ' ') + (m.end - bodyStart) + '\r\n', m.buf, bodyStart, m.end);
    } else {
      this.enqueueMsg(sub, head, tail, m.buf, m.start, m.end);
    }
    if (reply !== null && perms !== null && perms.tracksReplies) perms.allowReply(reply);
    if (this.stalled && pub !== null) this.addStalledProducer(pub);
    return true;
  }

  /**
   * Frames one message for `sub` into this connection's outbound queue.
   * `head` is "MSG <subject> " or "HMSG <subject> "; `tail` is "[reply ]<sizes>\r\n";
   * the body is buf[start..end).
   */
  enqueueMsg(sub: Subscription, head: string, tail: string, buf: Buffer, start: number, end: number): void {
    const sidSp = sub.sidSp;
    const size = end - start;
    this.framer.frame(this.out, head, sidSp, tail, buf, start, end);
    this.outMsgs++;
    this.outBytes += size;
    if (this.parser.tracing) this.traceOut(head + sidSp + tail.slice(0, -2));
    if (!this.flushQueued) this.flusher.queue(this);
  }

  /** Appends a protocol line and schedules a flush. */
  send(line: string): void {
    if (this.closed) return;
    if (this.parser.tracing) this.traceOut(line.slice(0, line.indexOf('\r')).replace(/^\+OK$/, 'OK').replace(/^-ERR '(.*)'$/, '-ERR $1'));
    this.out.appendString(line);
    if (!this.flushQueued) this.flusher.queue(this);
  }

  sendErr(text: string): void {
    this.send(errLine(text));
  }

  /** Quiet for a whole interval, or a PING is already out: keepalive is due. */
  wantsPing(now: number, pingInterval: number): boolean {
    return this.pingsOut > 0 || now - this.lastActivity >= pingInterval;
  }

  closeStale(): void {
    this.sendErrAndClose(ERR.staleConnection, CloseReason.StaleConnection);
  }

  writeDeadlineExceeded(): void {
    this.slowConsumer(CloseReason.SlowConsumerWriteDeadline);
  }

  sendPing(): void {
    this.pingsOut++;
    this.rttStart = performance.now();
    this.send(PING);
  }

  /** Hands pending bytes to the socket; called once per connection per turn. */
  flush(): void {
    this.flushQueued = false;
    if (this.closed) return;
    const socket = this.socket;
    this.bytesHanded += this.out.flush(socket);
    const backlog = socket.writableLength;
    if (backlog > this.server.options.max_pending) {
      this.slowConsumer(CloseReason.SlowConsumerPendingBytes);
    } else if (backlog > this.server.stallThreshold) {
      this.stalled = true;
    }
  }

  /** Socket 'drain': the kernel took everything we queued. */
  onDrain(): void {
    if (this.stalled) {
      this.stalled = false;
      this.releaseProducers();
    }
  }

  /** A producer that fed this stalled connection waits for it to drain. */
  private addStalledProducer(producer: Publisher): void {
    if (producer === this || !producer.requestPause()) return;
    (this.stalledProducers ??= []).push(producer);
  }

  /** Asked by a stalled consumer this connection fed: pause reading after the current input (see onData). */
  requestPause(): boolean {
    if (this.pauseRequested || this.paused) return false;
    this.pauseRequested = true;
    return true;
  }

  private releaseProducers(): void {
    const list = this.stalledProducers;
    if (list === null) return;
    this.stalledProducers = null;
    for (const p of list) p.resume();
  }

  resume(): void {
    this.pauseRequested = false;
    if (this.paused && !this.closed) {
      this.paused = false;
      this.resumeReading();
    }
  }

  /** Reads on unless something still holds the input (authentication, a yield) or the producer is paused. */
  private resumeReading(): void {
    if (!this.closed && !this.paused && !this.parser.isSuspended) this.socket.resume();
  }

  /**
   * This connection's slice of the turn is used up: the rest of its input
   * (after the current op) waits for a later turn, so other connections are
   * served in between.
   */
  private yieldInput(): void {
    this.parser.suspend();
    this.socket.pause();
    inNextTurn(() => this.continueInput());
  }

  private continueInput(): void {
    if (this.closed) return;
    this.inputSlice.begin();
    // Parsing what was held may use up this slice too and yield again.
    this.parseInput(null);
    this.resumeReading();
  }

  // ---- subscriptions ---------------------------------------------------------

  removeSub(sub: Subscription): void {
    if (sub.closed) return;
    if (this.parser.tracing) this.server.logger.trace(`${this.label()} - <-> [DELSUB ${sub.sid}]`);
    sub.closed = true;
    this.subs.delete(sub.sid);
    if (this.account.sublist.remove(sub)) this.server.subscriptionRemoved(this.account, sub);
  }

  // ---- errors and closing ----------------------------------------------------

  protocolViolation(errText: string | null, detail: string): void {
    this.parser.stopped = true;
    if (errText === ERR.maxPayload) {
      this.server.logger.error(`${this.label()} - ${detail}`);
      this.sendErrAndClose(errText, CloseReason.MaxPayload);
      return;
    }
    if (errText === ERR.maxControlLine) {
      this.server.logger.error(`${this.label()} - ${detail}`);
      this.sendErrAndClose(errText, CloseReason.MaxControlLine);
      return;
    }
    this.server.logger.error(`${this.label()} - Client parser ERROR: ${detail}`);
    if (errText !== null) this.sendErrAndClose(errText, CloseReason.ParseError);
    else this.close(CloseReason.ParseError);
  }

  sendErrAndClose(text: string, reason: CloseReason): void {
    this.sendErr(text);
    this.close(reason);
  }

  /**
   * A first op that is not CONNECT: with `no_auth_user` configured the
   * client is that user (nats-server's parser does the same).
   */
  private bindNoAuthUser(): boolean {
    const who = this.server.noAuthIdentity();
    if (who === null || !this.server.bindClient(this, who)) return false;
    this.authorized = true;
    if (this.authTimer) {
      clearTimeout(this.authTimer);
      this.authTimer = null;
    }
    return true;
  }

  private authFailed(): void {
    this.server.logger.error(`${this.label()} - authentication error`);
    this.server.clientAuthFailed(this);
    this.sendErrAndClose(ERR.authViolation, CloseReason.AuthViolation);
  }

  private authTimeout(): void {
    this.authTimer = null;
    if (this.closed || this.authorized) return;
    this.server.logger.error(`${this.label()} - Authentication Timeout`);
    this.sendErrAndClose(ERR.authTimeout, CloseReason.AuthTimeout);
  }

  slowConsumer(reason: CloseReason): void {
    this.server.countSlowConsumer(this);
    this.server.logger.info(`${this.label()} - Slow Consumer Detected: ${reason === CloseReason.SlowConsumerWriteDeadline ? 'WriteDeadline exceeded' : 'MaxPending exceeded'}`);
    // A slow consumer cannot take an -ERR either: drop what is queued and cut it.
    this.out.clear();
    this.close(reason, true);
  }

  /**
   * Ends the connection: queued bytes are flushed first unless `abort`,
   * then subscriptions leave the sublist and the server forgets the client.
   */
  close(reason: CloseReason, abort = false): void {
    if (this.closed) return;
    this.parser.stopped = true;
    this.closeReason = reason;
    this.stop = new Date();
    if (!abort) this.out.flush(this.socket);
    this.closed = true;
    this.out.clear();
    if (this.authTimer) {
      clearTimeout(this.authTimer);
      this.authTimer = null;
    }
    // Closed subscriptions take no more messages; a connection may hold hundreds
    // of thousands, so they leave the sublist in slices. The subs map stays as it
    // was: it is the closed connection's record.
    for (const sub of this.subs.values()) sub.closed = true;
    const acc = this.account;
    inSlices(this.subs.values(), (sub) => {
      if (acc.sublist.remove(sub)) this.server.subscriptionRemoved(acc, sub);
    });
    this.releaseProducers();
    if (abort) this.socket.destroy();
    else this.socket.end();
    this.server.removeClient(this);
  }

  /** nats-server's connection type, which users' allowed_connection_types name: STANDARD on the client port. */
  connectionType(): string {
    return 'STANDARD';
  }

  /** nats-server's log prefix for a client: `127.0.0.1:54321 - cid:5`. */
  label(): string {
    return `${this.host}:${this.port} - cid:${this.cid}`;
  }
}
