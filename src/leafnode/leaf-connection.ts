/**
 * One leaf connection, accepted (this server is the hub) or solicited
 * (this server is the leaf): the handshake, PING/PONG, interest (LS+/LS-)
 * and messages (LMSG/HMSG), over the outbound queue, flush scheduler and
 * connection upkeep every connection kind shares.
 *
 * The other side's interest lives in the bound account's sublist as
 * subscriptions of this connection, as nats-server keeps it: local
 * publishes, routed messages and other leafs' messages reach it through
 * ordinary matching, and the interest spreads to routes and other leafs
 * like a client's. The connection takes each message once (it is a
 * GatheringSubscriber), naming the queue groups it was picked for. It is
 * also the publisher of what the other side sends, so nothing goes back
 * where it came from.
 */
import type { Account } from '../accounts/account.js';
import type { ClientPermissions, Permissions } from '../auth/permissions.js';
import { redactConnectJson } from '../log/redact.js';
import { ERR } from '../protocol/errors.js';
import type { ServerCore } from '../server/core.js';
import { decodePeerJson, PeerCloseReason, PeerConnection, type PeerContext, type PeerTransport } from '../server/peer-connection.js';
import type { GatheringSubscriber } from '../server/peer-gather.js';
import type { Publisher, RoutedMessage } from '../server/routed-message.js';
import { Subscription } from '../server/subscription.js';
import { Sublist } from '../subjects/sublist.js';
import { LeafParser, type LeafOpHandler } from './leaf-parser.js';

/** The INFO fields a leaf acts on. */
export interface LeafPeerInfo {
  readonly server_id: string;
  readonly server_name: string;
  readonly headers: boolean;
  readonly tls_required: boolean;
  readonly nonce: string;
  readonly client_id: number;
  /** The INFO lists leafnode URLs: only a leafnode listener sends them (with a client id). */
  readonly has_leafnode_urls: boolean;
}

/** What a leaf connection asks of the leaf node layer. */
export interface LeafHost extends PeerContext {
  readonly core: ServerCore;
  /** The INFO an accepted connection starts with (its nonce included), or the one answering its CONNECT. */
  acceptInfoJSON(conn: LeafConnection, afterConnect: boolean): string;
  /** CONNECT for a solicited connection, answering the hub's INFO; null when credentials failed to load. */
  connectJSON(conn: LeafConnection, info: LeafPeerInfo): string | null;
  /** Checks an accepted connection's CONNECT; resolves to the account to bind, or null for a violation. */
  authorize(conn: LeafConnection, connect: Record<string, unknown>): Promise<Account | null>;
  /** The account's limits take one more leaf connection; false: it closed `conn` saying why. */
  admit(conn: LeafConnection, acc: Account): boolean;
  /** The hub's first INFO arrived on a solicited connection: TLS (when asked) then CONNECT. */
  hubInfo(conn: LeafConnection, info: LeafPeerInfo): void;
  /** The handshake is done: announce interest both ways. */
  registered(conn: LeafConnection): void;
  /** The loop-detection subject of an account on this server. */
  loopSubject(acc: Account): string;
  closed(conn: LeafConnection): void;
}

const JS_ACK_PREFIX = '$JS.ACK.';
/** A connection closed for a loop waits this long before dialling again (leafNodeReconnectDelayAfterLoopDetected). */
export const LOOP_RECONNECT_DELAY_MS = 30_000;
const LOOP_ERR = 'Loop detected';
/** How long a reply subject without interest is held for its answer (see LeafConnection.replies). */
const REPLY_HOLD_MS = 10_000;

export class LeafConnection extends PeerConnection implements LeafOpHandler, GatheringSubscriber, Publisher {
  readonly cid: number;
  readonly parser: LeafParser;
  /** True for connections this server dialled (it is the leaf); false for accepted ones (it is the hub). */
  readonly solicited: boolean;
  readonly host: string;
  readonly port: number;
  /** The account the connection is bound to; set at once when solicited, after CONNECT when accepted. */
  account: Account;
  /** Deny lists of the remote (deny_exports as publish, deny_imports as subscribe rules); null: none. */
  denies: Permissions | null;

  remoteId = '';
  remoteName = '';
  /** The hub's nonce, for signing CONNECT (solicited), or ours (accepted). */
  nonce = '';
  registered = false;
  infoReceived = false;
  /** The other side's interest: subscriptions held in the account on its behalf, by "subject[ queue]". */
  readonly subs = new Map<string, Subscription>();
  /** The same subscriptions, matched to tell whether the other side can hear an answer. */
  private readonly announced = new Sublist<Subscription>();
  /**
   * Reply subjects of requests that came over this connection without
   * interest of the other side covering them (nats-server's JetStream
   * internals reply on such subjects): held a while, so the answer can
   * go back the way the request came.
   */
  private readonly replies = new Map<string, { readonly sub: Subscription; readonly expires: number }>();
  private nextSid = 1;

  /** The other side reported a loop: wait longer before dialling again. */
  loopDetected = false;
  /** An accepted connection's CONNECT, checked again when a reload changes the users. */
  connect: Readonly<Record<string, unknown>> | null = null;
  private readonly leafHost: LeafHost;

  // ---- Publisher / ClientIdentity ---------------------------------------------
  readonly echo = true;
  authUser = '';
  readonly lang = '';
  version = '';
  readonly perms: ClientPermissions | null = null;

  constructor(host: LeafHost, socket: PeerTransport, cid: number, solicited: boolean, account: Account, denies: Permissions | null) {
    super(host, socket);
    this.leafHost = host;
    this.cid = cid;
    this.solicited = solicited;
    this.account = account;
    this.denies = denies;
    this.host = plainIP(socket.remoteAddress ?? '');
    this.port = socket.remotePort ?? 0;
    this.parser = new LeafParser(this);
    this.parser.tracing = host.logger.traceEnabled;
  }

  get name(): string {
    return this.remoteName;
  }

  label(): string {
    return `${this.host}:${this.port} - lid:${this.cid}`;
  }

  /** An accepted connection: INFO first, then CONNECT within the auth timeout. */
  beginAccepted(authTimeoutMs: number): void {
    this.parser.requireConnect = true;
    this.send(`INFO ${this.leafHost.acceptInfoJSON(this, false)} \r\n`, false);
    this.armAuthTimer(authTimeoutMs);
  }

  // ---- inbound -------------------------------------------------------------------

  processErr(text: string): void {
    const t = text.replace(/^'(.*)'$/, '$1');
    if (t.includes(LOOP_ERR)) {
      // The other side found our own loop-detection interest coming back: it closes, we wait.
      this.loopDetected = true;
      this.leafHost.logger.error(`${this.label()} - ${t}`);
      this.close(PeerCloseReason.ProtocolViolation);
      return;
    }
    this.leafHost.logger.error(`${this.label()} - Leafnode Error '${t}'`);
    this.close(PeerCloseReason.ParseError);
  }

  processInfo(json: string): void {
    const info = decodeInfo(json);
    if (typeof info === 'string') {
      this.leafHost.logger.error(`${this.label()} - ${info}`);
      this.close(PeerCloseReason.ProtocolViolation);
      return;
    }
    if (!this.solicited) return;
    if (this.infoReceived) return;
    this.infoReceived = true;
    this.remoteId = info.server_id;
    this.remoteName = info.server_name;
    this.nonce = info.nonce;
    this.headers = info.headers;
    if (info.client_id === 0 || !info.has_leafnode_urls) {
      // A client port's INFO has no leafnode URLs, a route's or gateway's no client id.
      this.leafHost.logger.error(`${this.label()} - attempted to connect to wrong port`);
      this.close(PeerCloseReason.WrongPort);
      return;
    }
    this.leafHost.hubInfo(this, info);
  }

  /** Sends CONNECT on a solicited connection and starts exchanging interest. */
  sendConnect(info: LeafPeerInfo): void {
    const json = this.leafHost.connectJSON(this, info);
    if (json === null) {
      this.close(PeerCloseReason.ClientClosed);
      return;
    }
    this.send(`CONNECT ${json}\r\n`, false);
    if (this.leafHost.logger.debugEnabled) this.leafHost.logger.debug(`${this.label()} - Remote leafnode connect msg sent`);
    this.registered = true;
    this.leafHost.registered(this);
  }

  processConnect(json: string): void {
    if (this.solicited) return;
    const o = decodePeerJson(json);
    if (typeof o === 'string') {
      // JSON.parse quotes the text it choked on, which may hold the password.
      this.leafHost.logger.error(`${this.label()} - ${redactConnectJson(o)}`);
      this.close(PeerCloseReason.ProtocolViolation);
      return;
    }
    const bad = badField(o);
    if (bad !== null) {
      this.leafHost.logger.error(`${this.label()} - ${bad}`);
      this.close(PeerCloseReason.ProtocolViolation);
      return;
    }
    this.clearAuthTimer();
    this.parser.requireConnect = false;
    this.connect = o;
    this.remoteId = str(o.server_id);
    this.remoteName = str(o.name);
    this.version = str(o.version);
    this.headers = o.headers === true;
    // Authorization may check a bcrypt hash or a JWT: input waits for it.
    this.parser.suspend();
    this.socket.pause();
    this.leafHost.authorize(this, o).then(
      (acc) => {
        if (this.closed) return;
        if (acc === null) {
          this.authViolation();
          return;
        }
        if (!this.leafHost.admit(this, acc)) return;
        this.account = acc;
        this.registered = true;
        this.send(`INFO ${this.leafHost.acceptInfoJSON(this, true)} \r\n`, false);
        this.leafHost.registered(this);
        this.parser.resume();
        if (!this.closed) this.socket.resume();
      },
      () => this.authViolation(),
    );
  }

  /** The other side's queue group counts as one member here, whatever its weight there. */
  processSub(subject: string, queue: string | null): void {
    if (!this.registered) return;
    const acc = this.account;
    if (subject === this.leafHost.loopSubject(acc)) {
      this.loopFound();
      return;
    }
    const key = queue === null ? subject : subject + ' ' + queue;
    if (this.subs.has(key)) return;
    const sub = new Subscription(this, subject, queue, String(this.nextSid++));
    if (!this.leafHost.core.subscribePeer(acc, sub)) {
      this.leafHost.logger.error(`${this.label()} - Could not insert subscription: invalid subject "${subject}"`);
      return;
    }
    this.subs.set(key, sub);
    this.announced.insert(sub);
  }

  processUnsub(subject: string, queue: string | null): void {
    const key = queue === null ? subject : subject + ' ' + queue;
    const sub = this.subs.get(key);
    if (sub === undefined) return;
    this.subs.delete(key);
    this.announced.remove(sub);
    this.leafHost.core.unsubscribePeer(this.account, sub);
  }

  processMsg(subject: string, reply: string | null, queues: readonly string[] | null, hdrLen: number, buf: Buffer, start: number, end: number): void {
    this.inMsgs++;
    this.inBytes += end - start;
    if (!this.registered) return;
    // deny_imports: what this side does not take.
    const d = this.denies;
    if (d !== null && !d.canSubscribe(subject, null)) return;
    if (reply !== null) this.holdReply(reply);
    this.leafHost.core.routeFromLeaf(this, this.account, subject, reply, queues, hdrLen, buf, start, end);
  }

  /** Makes sure an answer on `reply` can come back over this connection (see `replies`). */
  private holdReply(wire: string): void {
    // A JetStream delivery's reply carries the shown subject after '@': the ack goes to the part before.
    const at = wire.startsWith(JS_ACK_PREFIX) ? wire.indexOf('@') : -1;
    const reply = at > 0 ? wire.slice(0, at) : wire;
    if (this.replies.has(reply)) return;
    const r = this.announced.match(reply);
    if (r.psubs.length > 0 || r.qsubs.length > 0) return;
    const sub = new Subscription(this, reply, null, String(this.nextSid++));
    if (!this.leafHost.core.subscribePeer(this.account, sub)) return;
    this.replies.set(reply, { sub, expires: Date.now() + REPLY_HOLD_MS });
  }

  /** Lets go of the reply subjects held past their time. */
  expireReplies(now: number): void {
    for (const [reply, held] of this.replies) {
      if (held.expires > now) continue;
      this.replies.delete(reply);
      this.leafHost.core.unsubscribePeer(this.account, held.sub);
    }
  }

  /** Our own loop-detection interest came back over this connection. */
  private loopFound(): void {
    const text = `${LOOP_ERR} for leafnode account=${JSON.stringify(this.account.name)}. Delaying attempt to reconnect for ${LOOP_RECONNECT_DELAY_MS / 1000}s`;
    this.loopDetected = true;
    this.sendErr(text);
    this.leafHost.logger.error(`${this.label()} - ${text}`);
    this.close(PeerCloseReason.ProtocolViolation);
  }

  authViolation(): void {
    this.leafHost.logger.error(`${this.label()} - authentication error`);
    this.sendErr(ERR.authViolation);
    this.close(PeerCloseReason.AuthViolation);
  }

  protected authTimedOut(): void {
    if (this.registered) return;
    this.leafHost.logger.error(`${this.label()} - Authentication Timeout`);
    this.sendErrAndClose(ERR.authTimeout, PeerCloseReason.AuthTimeout);
  }

  // ---- delivery (GatheringSubscriber) ---------------------------------------------

  deliver(sub: Subscription, m: RoutedMessage): boolean {
    if (sub.closed || this.closed || m.publisher === this) return false;
    // deny_exports: what this side does not send.
    const d = this.denies;
    if (d !== null && !d.canPublish(m.subject)) return false;
    sub.delivered++;
    this.leafHost.core.peerGather.add(this, sub.queue);
    return true;
  }

  /**
   * LMSG (HMSG with headers when the other side takes them) with the queue
   * section: `+ reply q1 q2` or `| q1 q2` when queue groups are named.
   */
  sendGathered(m: RoutedMessage, queues: readonly string[]): void {
    let reply = m.reply;
    // A JetStream delivery shows another subject than it is routed on: the reply carries it, as over routes.
    if (m.shown !== null && reply !== null && reply.startsWith(JS_ACK_PREFIX)) reply = reply + '@' + m.shown;
    this.sendMessage('LMSG ', null, m.subject, reply, queues.length > 0 ? queues : null, m.hdrLen, m.buf, m.start, m.end);
  }

  // ---- interest out -------------------------------------------------------------------

  /** LS+ (weight > 0) or LS- (weight 0) for one interest of this server. */
  sendInterest(subject: string, queue: string | null, weight: number): void {
    let line: string;
    if (weight > 0) line = queue === null ? `LS+ ${subject}\r\n` : `LS+ ${subject} ${queue} ${weight}\r\n`;
    else line = queue === null ? `LS- ${subject}\r\n` : `LS- ${subject} ${queue}\r\n`;
    this.send(line);
  }

  // ---- Publisher --------------------------------------------------------------------

  requestPause(): boolean {
    if (this.socket.isPaused() || this.closed) return false;
    this.socket.pause();
    return true;
  }

  resume(): void {
    if (!this.closed && !this.parser.isSuspended) this.socket.resume();
  }

  /** Drops the interest the connection held, then tells the host. */
  protected ended(): void {
    const core = this.leafHost.core;
    for (const sub of this.subs.values()) core.unsubscribePeer(this.account, sub);
    this.subs.clear();
    for (const held of this.replies.values()) core.unsubscribePeer(this.account, held.sub);
    this.replies.clear();
    this.leafHost.closed(this);
  }
}

/** An IPv4 peer seen through a dual-stack socket is reported as ::ffff:a.b.c.d. */
function plainIP(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/**
 * CONNECT fields by the Go struct nats-server decodes them into first (the
 * client options, then the leaf's own), with their Go types.
 */
const CONNECT_FIELDS: ReadonlyArray<readonly [string, 'ClientOpts' | 'leafConnectInfo', 'string' | 'bool']> = [
  ['verbose', 'ClientOpts', 'bool'], ['pedantic', 'ClientOpts', 'bool'], ['tls_required', 'ClientOpts', 'bool'],
  ['nkey', 'ClientOpts', 'string'], ['jwt', 'ClientOpts', 'string'], ['sig', 'ClientOpts', 'string'],
  ['user', 'ClientOpts', 'string'], ['pass', 'ClientOpts', 'string'], ['name', 'ClientOpts', 'string'],
  ['version', 'ClientOpts', 'string'], ['headers', 'ClientOpts', 'bool'],
  ['server_id', 'leafConnectInfo', 'string'], ['domain', 'leafConnectInfo', 'string'], ['is_hub', 'leafConnectInfo', 'bool'],
  ['cluster', 'leafConnectInfo', 'string'], ['jetstream', 'leafConnectInfo', 'bool'],
];

/** Go's JSON decoder's name for a value's kind in its type errors. */
function jsonKind(v: unknown): string {
  if (typeof v === 'number') return 'number';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  return Array.isArray(v) ? 'array' : 'object';
}

/** A CONNECT field of the wrong JSON type, in Go's decoder's words; null when all fit. */
function badField(o: Record<string, unknown>): string | null {
  for (const [k, struct, type] of CONNECT_FIELDS) {
    const v = o[k];
    if (v === undefined || v === null || typeof v === (type === 'bool' ? 'boolean' : 'string')) continue;
    return `json: cannot unmarshal ${jsonKind(v)} into Go struct field ${struct}.${k} of type ${type}`;
  }
  return null;
}

function decodeInfo(json: string): LeafPeerInfo | string {
  const o = decodePeerJson(json);
  if (typeof o === 'string') return o;
  return {
    server_id: str(o.server_id),
    server_name: str(o.server_name),
    headers: o.headers === true,
    tls_required: o.tls_required === true,
    nonce: str(o.nonce),
    client_id: typeof o.client_id === 'number' ? o.client_id : 0,
    has_leafnode_urls: Array.isArray(o.leafnode_urls),
  };
}
