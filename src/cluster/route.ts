/**
 * One route connection, accepted or solicited: the handshake (CONNECT and
 * INFO both ways), PING/PONG, interest updates and routed messages, over
 * the same outbound queue the client connections use, kept alive and
 * watched for a stuck socket by the server's connection upkeep. Decisions
 * that concern the whole cluster (registration, duplicates, gossip,
 * interest bookkeeping) are its host's; the route reports to it.
 */
import type { Socket } from 'node:net';
import { ERR } from '../protocol/errors.js';
import { decodePeerJson, PeerCloseReason, PeerConnection, type PeerContext } from '../server/peer-connection.js';
import { isSecretConnectField, redactConnectJson } from '../log/redact.js';
import type { SubjectPermissionConfig } from '../auth/permissions.js';
import { RouteParser, type RouteOpHandler } from './route-parser.js';
import { RemoteSub, interestKey, type InterestSource, type RemoteInterest } from './interest.js';
import type { ClusterConfig, RouteURL } from './config.js';
import type { Solicit } from './solicit.js';

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
  /** The peer's websocket client URLs, for this server's websocket clients. */
  readonly ws_connect_urls: readonly string[];
  readonly import: SubjectPermissionConfig | null;
  readonly export: SubjectPermissionConfig | null;
  readonly ldm: boolean;
  /** The peer's route protocol level; 3 and up trace messages (nats-server's MsgTraceProto). */
  readonly proto: number;
}

/** What a route asks of the cluster it belongs to. */
export interface RouteHost extends PeerContext {
  readonly config: ClusterConfig;
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

export class Route extends PeerConnection<Socket> implements RouteOpHandler, InterestSource {
  readonly rid: number;
  readonly parser: RouteParser;
  /** The dial that made this connection; null for accepted routes. */
  readonly solicit: Solicit | null;
  /** Where the peer listens for routes: the dialled URL, or host:port from its INFO. */
  url: RouteURL | null;
  readonly ip: string;
  readonly port: number;

  remoteId = '';
  remoteName = '';
  infoReceived = false;
  connectReceived = false;
  /** Listed among the cluster's routes: carries traffic and interest. */
  registered = false;
  /** A duplicate of this route was dropped: if this one goes, dial the peer again. */
  retry = false;
  info: PeerInfo | null = null;
  /** Interest the peer announced, by "account subject[ queue]". */
  readonly remoteSubs = new Map<string, RemoteSub<Route>>();

  private readonly cluster: RouteHost;

  constructor(cluster: RouteHost, socket: Socket, rid: number, solicit: Solicit | null) {
    super(cluster, socket);
    this.cluster = cluster;
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
      this.armAuthTimer(c.config.authTimeoutMs);
    }
    this.send(`INFO ${c.infoJSON()} \r\n`, false);
    c.logger.info(`${this.label()} - Route connection created`);
  }

  label(): string {
    return `${this.ip}:${this.port} - rid:${this.rid}`;
  }

  // ---- inbound -----------------------------------------------------------------

  processErr(text: string): void {
    this.cluster.logger.error(`${this.label()} - Route Error ${text}`);
    this.close(PeerCloseReason.ParseError);
  }

  processConnect(json: string): void {
    const o = decodeConnect(json);
    if (typeof o === 'string') {
      // JSON.parse quotes the text it choked on, which may hold the password.
      this.cluster.logger.error(`${this.label()} - ${redactConnectJson(o)}`);
      this.close(PeerCloseReason.ProtocolViolation);
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
      this.sendErrAndClose(ROUTE_ERR.clientOnRoutePort, PeerCloseReason.WrongPort);
      this.cluster.logger.error(`${this.label()} - ${ROUTE_ERR.clientOnRoutePort}`);
      return;
    }
    if (o.gateway !== '') {
      const text = `Rejecting connection from gateway "${o.gateway}" on the Route port`;
      this.cluster.logger.error(`${this.label()} - ${text}`);
      this.sendErrAndClose(text, PeerCloseReason.WrongGateway);
      return;
    }
    if (!this.cluster.acceptClusterName(o.cluster, o.cluster_dynamic, this)) {
      const text = `Rejecting connection, cluster name "${o.cluster}" does not match "${this.cluster.clusterName}"`;
      this.cluster.logger.error(`${this.label()} - ${text}`);
      this.sendErrAndClose(text, PeerCloseReason.ClusterNameConflict);
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
      this.close(PeerCloseReason.ProtocolViolation);
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
    this.sendErrAndClose(ERR.authViolation, PeerCloseReason.AuthViolation);
  }

  protected authTimedOut(): void {
    if (this.connectReceived) return;
    this.cluster.logger.debug(`${this.label()} - Authentication Timeout`);
    this.sendErrAndClose(ERR.authTimeout, PeerCloseReason.AuthTimeout);
  }

  // ---- outbound ----------------------------------------------------------------

  /** RS+ (weight > 0) or RS- (weight 0) for one interest of this server. */
  sendInterest(account: string, subject: string, queue: string | null, weight: number): void {
    let line: string;
    if (weight > 0) line = queue === null ? `RS+ ${account} ${subject}\r\n` : `RS+ ${account} ${subject} ${queue} ${weight}\r\n`;
    else line = queue === null ? `RS- ${account} ${subject}\r\n` : `RS- ${account} ${subject} ${queue}\r\n`;
    this.send(line);
  }

  /** RMSG (or HMSG when both sides do headers), with the queue section when groups are named. */
  sendMsg(account: string, subject: string, reply: string | null, queues: readonly string[] | null, hdrLen: number, buf: Buffer, start: number, end: number): void {
    this.sendMessage('RMSG ', account, subject, reply, queues, hdrLen, buf, start, end);
  }

  protected ended(): void {
    this.cluster.routeClosed(this);
  }
}

// ---- decoding, with the strictness of Go's JSON decoder on the fields used ----

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
  const o = decodePeerJson(json);
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
  port: 'int', ip: 'string', headers: 'boolean', auth_required: 'boolean', connect_urls: 'strings', ws_connect_urls: 'strings',
  import: 'permission', export: 'permission', ldm: 'boolean',
};

function permissionOf(v: unknown): SubjectPermissionConfig | null {
  if (v === undefined || v === null) return null;
  const p = v as { allow?: string[] | null; deny?: string[] | null };
  return { allow: p.allow ?? null, deny: p.deny ?? null };
}

function decodeInfo(json: string): { info: PeerInfo; raw: Record<string, unknown> } | string {
  const o = decodePeerJson(json);
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
    ws_connect_urls: (o.ws_connect_urls as string[] | undefined) ?? [],
    import: permissionOf(o.import),
    export: permissionOf(o.export),
    ldm: o.ldm === true,
    proto: typeof o.proto === 'number' ? o.proto : 0,
  };
  return { info, raw: o };
}
