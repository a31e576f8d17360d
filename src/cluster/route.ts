/**
 * One route connection, accepted or solicited: the handshake (CONNECT and
 * INFO both ways), PING/PONG, interest updates and routed messages, over
 * the same outbound queue the client connections use, kept alive and
 * watched for a stuck socket by the server's connection upkeep. Decisions
 * that concern the whole cluster (registration, duplicates, gossip,
 * interest bookkeeping) are its host's; the route reports to it.
 */
import type { Socket } from 'node:net';
import '../protocol/buffer-internals.js';
import { errLine, ERR } from '../protocol/errors.js';
import { OutboundQueue } from '../server/outbound.js';
import type { UpkeptConnection } from '../server/connection-upkeep.js';
import type { ServerOptions } from '../server/options.js';
import type { Logger } from '../log/logger.js';
import { isSecretConnectField, redactConnectJson } from '../log/redact.js';
import { traceIn, traceInPayload, traceOut } from '../protocol/trace.js';
import type { SubjectPermissionConfig } from '../auth/permissions.js';
import { RouteParser, type RouteOpHandler } from './route-parser.js';
import { RemoteSub, interestKey, type InterestSource, type RemoteInterest } from './interest.js';
import type { ClusterConfig, RouteURL } from './config.js';
import type { Solicit } from './solicit.js';

/** Why a route ended, in nats-server's words ("Router connection closed: ..."). */
export const enum RouteCloseReason {
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
}

/** nats-server's errors for a route that is not what it claims. */
export const ROUTE_ERR = {
  clientOnRoutePort: 'attempted to connect to route port',
  clusterNameConflict: 'cluster name from remote server conflicts',
} as const;

/** The INFO fields a route acts on, type-checked as Go's decoder would. */
export interface PeerInfo {
  readonly server_id: string;
  readonly server_name: string;
  readonly cluster: string;
  readonly cluster_dynamic: boolean;
  readonly host: string;
  readonly port: number;
  readonly ip: string;
  readonly headers: boolean;
  readonly auth_required: boolean;
  readonly connect_urls: readonly string[];
  readonly import: SubjectPermissionConfig | null;
  readonly export: SubjectPermissionConfig | null;
  readonly ldm: boolean;
}

/** What a route asks of the cluster it belongs to. */
export interface RouteHost {
  readonly logger: Logger;
  readonly config: ClusterConfig;
  /** The server's options in force; a reload replaces the object. */
  readonly options: ServerOptions;
  readonly clusterName: string;
  /** This server speaks headers on routes. */
  readonly headersSupported: boolean;
  /** Interest announced by every route, where RS+/RS- land. */
  readonly remoteInterest: RemoteInterest<Route>;
  /** The INFO a route sends first. */
  infoJSON(): string;
  /** CONNECT for a route we dialled; credentials come from its URL. */
  connectJSON(url: RouteURL): string;
  checkRouteCredentials(user: string, pass: string): Promise<boolean>;
  /** The cluster name a peer announced: false to reject it (a generated name of ours may give way). */
  acceptClusterName(theirs: string, theirsDynamic: boolean, route: Route): boolean;
  /** An RS+ may enter: returns the account's name, or null to ignore the interest. */
  acceptRemoteSub(route: Route, account: string, subject: string): string | null;
  /** A routed message, delivered here (queues: the groups this server is asked to serve). */
  deliver(route: Route, account: string, subject: string, reply: string | null, queues: readonly string[], hdrLen: number, buf: Buffer, start: number, end: number): void;
  /** The first INFO of a route (registration) or a later one (gossip, lame duck). */
  routeInfo(route: Route, info: PeerInfo, raw: Record<string, unknown>): void;
  routeClosed(route: Route): void;
  /** Puts the route on this turn's flush list, shared with every connection. */
  queueFlush(route: Route): void;
}

/** The CONNECT fields a route acts on. */
interface PeerConnect {
  readonly user: string;
  readonly pass: string;
  readonly name: string;
  readonly cluster: string;
  readonly cluster_dynamic: boolean;
  readonly headers: boolean;
  readonly lang: string;
  readonly gateway: string;
}

/** Payloads and strings up to this size are copied byte by byte into the outbound buffer. */
const SMALL_COPY = 64;

const PING = 'PING\r\n';
const PONG = 'PONG\r\n';

/** RTT is measured again after an hour even on a busy route (DEFAULT_RTT_MEASUREMENT_INTERVAL). */
const RTT_REFRESH_MS = 60 * 60 * 1000;

export class Route implements RouteOpHandler, InterestSource, UpkeptConnection {
  readonly rid: number;
  readonly socket: Socket;
  readonly parser: RouteParser;
  readonly out = new OutboundQueue();
  readonly start = new Date();
  /** The dial that made this connection; null for accepted routes. */
  readonly solicit: Solicit | null;
  /** Where the peer listens for routes: the dialled URL, or host:port from its INFO. */
  url: RouteURL | null;
  readonly ip: string;
  readonly port: number;

  remoteId = '';
  remoteName = '';
  /** Both sides support headers: HMSG may be sent. */
  headers = false;
  infoReceived = false;
  connectReceived = false;
  /** Listed among the cluster's routes: carries traffic and interest. */
  registered = false;
  /** A duplicate of this route was dropped: if this one goes, dial the peer again. */
  retry = false;
  info: PeerInfo | null = null;
  /** Interest the peer announced, by "account subject[ queue]". */
  readonly remoteSubs = new Map<string, RemoteSub<Route>>();

  inMsgs = 0;
  inBytes = 0;
  outMsgs = 0;
  outBytes = 0;
  lastActivity = Date.now();
  pingsOut = 0;
  private rttStart = 0;
  /** Milliseconds; 0 until the first PONG. */
  rtt = 0;
  private rttAt = 0;
  /** When we last heard a PING from the peer: our own is then not needed. */
  private lastPingIn = 0;

  flushQueued = false;
  closed = false;
  closeReason: RouteCloseReason | null = null;
  bytesHanded = 0;

  private readonly cluster: RouteHost;
  private authTimer: NodeJS.Timeout | null = null;

  constructor(cluster: RouteHost, socket: Socket, rid: number, solicit: Solicit | null) {
    this.cluster = cluster;
    this.socket = socket;
    this.rid = rid;
    this.solicit = solicit;
    this.url = solicit?.url ?? null;
    this.ip = socket.remoteAddress ?? '';
    this.port = socket.remotePort ?? 0;
    this.parser = new RouteParser(this);
    this.parser.tracing = cluster.logger.traceEnabled;
  }

  /** Greets the peer: a solicited route sends CONNECT then INFO, an accepted one INFO. */
  begin(): void {
    const c = this.cluster;
    if (this.solicit !== null) {
      if (c.logger.debugEnabled) c.logger.debug(`${this.label()} - Route connect msg sent`);
      this.send(`CONNECT ${c.connectJSON(this.solicit.url)}\r\n`, false);
    } else if (c.config.user !== null) {
      this.parser.requireConnect = true;
      this.authTimer = setTimeout(() => this.authTimeout(), c.config.authTimeoutMs);
    }
    this.send(`INFO ${c.infoJSON()} \r\n`, false);
    c.logger.info(`${this.label()} - Route connection created`);
  }

  label(): string {
    return `${this.ip}:${this.port} - rid:${this.rid}`;
  }

  // ---- inbound -----------------------------------------------------------------

  onData(chunk: Buffer): void {
    this.lastActivity = Date.now();
    this.parser.parse(chunk);
  }

  traceOp(text: string): void {
    traceIn(this.cluster.logger, this.label(), text);
  }

  tracePayload(buf: Buffer, start: number, end: number): void {
    traceInPayload(this.cluster.logger, this.label(), buf, start, end);
  }

  private traceOut(text: string): void {
    traceOut(this.cluster.logger, this.label(), text);
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

  processErr(text: string): void {
    this.cluster.logger.error(`${this.label()} - Route Error ${text}`);
    this.close(RouteCloseReason.ParseError);
  }

  processConnect(json: string): void {
    const o = decodeConnect(json);
    if (typeof o === 'string') {
      // JSON.parse quotes the text it choked on, which may hold the password.
      this.cluster.logger.error(`${this.label()} - ${redactConnectJson(o)}`);
      this.close(RouteCloseReason.ProtocolViolation);
      return;
    }
    this.clearAuthTimer();
    this.connectReceived = true;
    const cfg = this.cluster.config;
    if (cfg.user === null) {
      this.connectAuthorized(o);
      return;
    }
    // Passwords may be bcrypt hashes: the check is asynchronous, input waits for it.
    this.parser.suspend();
    this.socket.pause();
    this.cluster.checkRouteCredentials(o.user, o.pass).then(
      (ok) => {
        if (this.closed) return;
        if (!ok) {
          this.authViolation();
          return;
        }
        this.parser.requireConnect = false;
        this.connectAuthorized(o);
        this.parser.resume();
        if (!this.closed) this.socket.resume();
      },
      () => this.authViolation(),
    );
  }

  private connectAuthorized(o: PeerConnect): void {
    // Clients announce their language; routes never do.
    // nats-server logs these refusals twice: when sending the -ERR and when its read loop ends.
    if (o.lang !== '') {
      this.cluster.logger.error(`${this.label()} - ${ROUTE_ERR.clientOnRoutePort}`);
      this.sendErrAndClose(ROUTE_ERR.clientOnRoutePort, RouteCloseReason.WrongPort);
      this.cluster.logger.error(`${this.label()} - ${ROUTE_ERR.clientOnRoutePort}`);
      return;
    }
    if (o.gateway !== '') {
      const text = `Rejecting connection from gateway "${o.gateway}" on the Route port`;
      this.cluster.logger.error(`${this.label()} - ${text}`);
      this.sendErrAndClose(text, RouteCloseReason.WrongGateway);
      return;
    }
    if (!this.cluster.acceptClusterName(o.cluster, o.cluster_dynamic, this)) {
      const text = `Rejecting connection, cluster name "${o.cluster}" does not match "${this.cluster.clusterName}"`;
      this.cluster.logger.error(`${this.label()} - ${text}`);
      this.sendErrAndClose(text, RouteCloseReason.ClusterNameConflict);
      this.cluster.logger.error(`${this.label()} - ${ROUTE_ERR.clusterNameConflict}`);
      return;
    }
    this.remoteId = o.name;
    this.headers = o.headers && this.cluster.headersSupported;
  }

  processInfo(json: string): void {
    const decoded = decodeInfo(json);
    if (typeof decoded === 'string') {
      this.cluster.logger.error(`${this.label()} - ${decoded}`);
      this.close(RouteCloseReason.ProtocolViolation);
      return;
    }
    this.cluster.routeInfo(this, decoded.info, decoded.raw);
  }

  processSub(account: string, subject: string, queue: string | null, weight: number): void {
    const accName = this.cluster.acceptRemoteSub(this, account, subject);
    if (accName === null) return;
    const key = account + ' ' + interestKey(subject, queue);
    const existing = this.remoteSubs.get(key);
    const w = weight < 1 ? 1 : weight;
    if (existing !== undefined) {
      // A repeated queue RS+ is the group's new size there.
      existing.weight = w;
      return;
    }
    const sub = new RemoteSub<Route>(accName, subject, queue, w, this);
    if (!this.cluster.remoteInterest.insert(sub)) {
      this.cluster.logger.error(`${this.label()} - Could not insert subscription: invalid subject "${subject}"`);
      this.sendErr('Invalid Subscription');
      return;
    }
    this.remoteSubs.set(key, sub);
  }

  processUnsub(account: string, subject: string, queue: string | null): void {
    const key = account + ' ' + interestKey(subject, queue);
    const sub = this.remoteSubs.get(key);
    if (sub === undefined) return;
    this.remoteSubs.delete(key);
    this.cluster.remoteInterest.remove(sub);
  }

  processMsg(account: string, subject: string, reply: string | null, queues: readonly string[], hdrLen: number, buf: Buffer, start: number, end: number): void {
    this.inMsgs++;
    this.inBytes += end - start;
    this.cluster.deliver(this, account, subject, reply, queues, hdrLen, buf, start, end);
  }

  authViolation(): void {
    this.cluster.logger.error(`${this.label()} - authentication error`);
    this.sendErrAndClose(ERR.authViolation, RouteCloseReason.AuthViolation);
  }

  protocolError(errText: string | null, detail: string): void {
    this.parser.stopped = true;
    this.cluster.logger.error(`${this.label()} - ${detail}`);
    if (errText !== null) this.sendErr(errText);
    this.close(RouteCloseReason.ProtocolViolation);
  }

  private authTimeout(): void {
    this.authTimer = null;
    if (this.closed || this.connectReceived) return;
    this.cluster.logger.debug(`${this.label()} - Authentication Timeout`);
    this.sendErrAndClose(ERR.authTimeout, RouteCloseReason.AuthTimeout);
  }

  private clearAuthTimer(): void {
    if (this.authTimer !== null) {
      clearTimeout(this.authTimer);
      this.authTimer = null;
    }
  }

  // ---- upkeep (UpkeptConnection) -------------------------------------------------

  wantsPing(now: number, pingInterval: number): boolean {
    const needRtt = this.rtt === 0 || now - this.rttAt > RTT_REFRESH_MS;
    // A busy route, or one whose peer just pinged us, needs no PING of ours.
    return needRtt || (now - this.lastActivity >= pingInterval && now - this.lastPingIn >= pingInterval);
  }

  sendPing(): void {
    this.pingsOut++;
    this.rttStart = performance.now();
    this.send(PING);
  }

  closeStale(): void {
    this.sendErrAndClose(ERR.staleConnection, RouteCloseReason.StaleConnection);
  }

  writeDeadlineExceeded(): void {
    this.slowConsumer(RouteCloseReason.SlowConsumerWriteDeadline);
  }

  // ---- outbound ----------------------------------------------------------------

  /** Appends a protocol line (traced unless `trace` is false) and schedules a flush. */
  send(line: string, trace = true): void {
    if (this.closed) return;
    if (trace && this.parser.tracing) this.traceOut(line.slice(0, line.indexOf('\r')).replace(/^-ERR '(.*)'$/, '-ERR $1'));
    this.out.appendString(line);
    if (!this.flushQueued) this.cluster.queueFlush(this);
  }

  sendErr(text: string): void {
    this.send(errLine(text));
  }

  /** RS+ (weight > 0) or RS- (weight 0) for one interest of this server. */
  sendInterest(account: string, subject: string, queue: string | null, weight: number): void {
    let line: string;
    if (weight > 0) line = queue === null ? `RS+ ${account} ${subject}\r\n` : `RS+ ${account} ${subject} ${queue} ${weight}\r\n`;
    else line = queue === null ? `RS- ${account} ${subject}\r\n` : `RS- ${account} ${subject} ${queue}\r\n`;
    this.send(line);
  }

  /**
   * RMSG (or HMSG when both sides do headers) with the queue section:
   * `+ reply q1 q2` or `| q1 q2` when queue groups are listed. A peer
   * without headers gets the payload alone, as nats-server strips them.
   */
  sendMsg(account: string, subject: string, reply: string | null, queues: readonly string[] | null, hdrLen: number, buf: Buffer, start: number, end: number): void {
    if (this.closed) return;
    const withHeaders = hdrLen >= 0 && this.headers;
    const bodyStart = hdrLen >= 0 && !withHeaders ? start + hdrLen : start;
    const size = end - bodyStart;
    // The line goes into the buffer piece by piece: joining it into one string first cost more than the writes.
    const verb = withHeaders ? 'HMSG ' : 'RMSG ';
    let mid: string | null = null;
    if (queues !== null) mid = (reply === null ? '| ' : '+ ' + reply + ' ') + queues.join(' ') + ' ';
    else if (reply !== null) mid = reply + ' ';
    const tail = withHeaders ? hdrLen + ' ' + size + '\r\n' : size + '\r\n';
    const lineLen = verb.length + account.length + subject.length + 2 + (mid === null ? 0 : mid.length) + tail.length;
    const out = this.out;
    const n = lineLen + size + 2;
    const seg = out.reserve(n);
    let off = putLatin1(seg, out.offset, verb);
    off = putLatin1(seg, off, account);
    seg[off++] = 32;
    off = putLatin1(seg, off, subject);
    seg[off++] = 32;
    if (mid !== null) off = putLatin1(seg, off, mid);
    off = putLatin1(seg, off, tail);
    if (size <= SMALL_COPY) {
      // Buffer#copy costs more than the bytes it moves for small payloads.
      for (let i = bodyStart; i < end; i++) seg[off++] = buf[i];
    } else {
      buf.copy(seg, off, bodyStart, end);
      off += size;
    }
    seg[off] = 13;
    seg[off + 1] = 10;
    out.commit(n);
    this.outMsgs++;
    this.outBytes += size;
    if (this.parser.tracing) this.traceOut(verb + account + ' ' + subject + ' ' + (mid ?? '') + tail.slice(0, -2));
    if (!this.flushQueued) this.cluster.queueFlush(this);
  }

  /** Hands pending bytes to the socket; a peer that cannot keep up is cut. */
  flush(): void {
    this.flushQueued = false;
    if (this.closed) return;
    this.bytesHanded += this.out.flush(this.socket);
    if (this.socket.writableLength > this.cluster.options.max_pending) {
      this.slowConsumer(RouteCloseReason.SlowConsumerPendingBytes);
    }
  }

  private slowConsumer(reason: RouteCloseReason): void {
    this.cluster.logger.info(`${this.label()} - Slow Consumer Detected: ${reason === RouteCloseReason.SlowConsumerWriteDeadline ? 'WriteDeadline exceeded' : 'MaxPending exceeded'}`);
    this.out.clear();
    this.close(reason, true);
  }

  sendErrAndClose(text: string, reason: RouteCloseReason): void {
    this.sendErr(text);
    this.close(reason);
  }

  /** Ends the connection (queued bytes first unless `abort`) and tells the host. */
  close(reason: RouteCloseReason, abort = false): void {
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
    this.cluster.routeClosed(this);
  }
}

/** Writes a string of latin1 characters at `off`; returns the offset after it. Short ones by hand: cheaper than latin1Write. */
function putLatin1(seg: Buffer, off: number, s: string): number {
  const n = s.length;
  if (n > SMALL_COPY) return off + seg.latin1Write(s, off, n);
  for (let i = 0; i < n; i++) seg[off + i] = s.charCodeAt(i);
  return off + n;
}

// ---- decoding, with the strictness of Go's JSON decoder on the fields used ----

function decodeObject(json: string): Record<string, unknown> | string {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch (e) {
    return (e as Error).message;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return `cannot decode ${json.slice(0, 64)}`;
  return v as Record<string, unknown>;
}

type FieldType = 'string' | 'boolean' | 'int' | 'strings' | 'permission';

function fieldOk(v: unknown, t: FieldType): boolean {
  if (v === undefined || v === null) return true;
  switch (t) {
    case 'string':
      return typeof v === 'string';
    case 'boolean':
      return typeof v === 'boolean';
    case 'int':
      return Number.isInteger(v);
    case 'strings':
      return Array.isArray(v) && v.every((x) => typeof x === 'string');
    case 'permission':
      return typeof v === 'object' && !Array.isArray(v) &&
        fieldOk((v as Record<string, unknown>).allow, 'strings') && fieldOk((v as Record<string, unknown>).deny, 'strings');
  }
}

function checkFields(o: Record<string, unknown>, types: Readonly<Record<string, FieldType>>): string | null {
  for (const [k, t] of Object.entries(types)) {
    if (!fieldOk(o[k], t)) return `json: cannot unmarshal ${isSecretConnectField(k) ? typeof o[k] : JSON.stringify(o[k])} into field ${k}`;
  }
  return null;
}

const CONNECT_TYPES: Readonly<Record<string, FieldType>> = {
  user: 'string', pass: 'string', name: 'string', cluster: 'string', cluster_dynamic: 'boolean',
  headers: 'boolean', lang: 'string', gateway: 'string',
};

function decodeConnect(json: string): PeerConnect | string {
  const o = decodeObject(json);
  if (typeof o === 'string') return o;
  const bad = checkFields(o, CONNECT_TYPES);
  if (bad !== null) return bad;
  return {
    user: (o.user as string | undefined) ?? '',
    pass: (o.pass as string | undefined) ?? '',
    name: (o.name as string | undefined) ?? '',
    cluster: (o.cluster as string | undefined) ?? '',
    cluster_dynamic: o.cluster_dynamic === true,
    headers: o.headers === true,
    lang: (o.lang as string | undefined) ?? '',
    gateway: (o.gateway as string | undefined) ?? '',
  };
}

const INFO_TYPES: Readonly<Record<string, FieldType>> = {
  server_id: 'string', server_name: 'string', cluster: 'string', cluster_dynamic: 'boolean', host: 'string',
  port: 'int', ip: 'string', headers: 'boolean', auth_required: 'boolean', connect_urls: 'strings',
  import: 'permission', export: 'permission', ldm: 'boolean',
};

function permissionOf(v: unknown): SubjectPermissionConfig | null {
  if (v === undefined || v === null) return null;
  const p = v as { allow?: string[] | null; deny?: string[] | null };
  return { allow: p.allow ?? null, deny: p.deny ?? null };
}

function decodeInfo(json: string): { info: PeerInfo; raw: Record<string, unknown> } | string {
  const o = decodeObject(json);
  if (typeof o === 'string') return o;
  const bad = checkFields(o, INFO_TYPES);
  if (bad !== null) return bad;
  const info: PeerInfo = {
    server_id: (o.server_id as string | undefined) ?? '',
    server_name: (o.server_name as string | undefined) ?? '',
    cluster: (o.cluster as string | undefined) ?? '',
    cluster_dynamic: o.cluster_dynamic === true,
    host: (o.host as string | undefined) ?? '',
    port: (o.port as number | undefined) ?? 0,
    ip: (o.ip as string | undefined) ?? '',
    headers: o.headers === true,
    auth_required: o.auth_required === true,
    connect_urls: (o.connect_urls as string[] | undefined) ?? [],
    import: permissionOf(o.import),
    export: permissionOf(o.export),
    ldm: o.ldm === true,
  };
  return { info, raw: o };
}
