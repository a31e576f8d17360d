/**
 * Clustering: the route listener, solicited routes, and what the routes of
 * a full mesh agree on, speaking nats-server's route protocol so Natter
 * and nats-server nodes can share one cluster.
 *
 * - Interest: every local subscription change is counted per account and
 *   announced to the registered routes (RS+/RS-, queue weights); a route
 *   that registers gets all of it at once.
 * - Messages: a client publish goes, after local delivery, to each route
 *   with matching interest (RMSG/HMSG) and, per queue group not served
 *   locally, to one route picked by weight, named in that route's queue
 *   section. A routed message is delivered locally only, never forwarded,
 *   except to a queue group whose member here left meanwhile: that goes on
 *   to another route serving the group, as nats-server does.
 * - Accounts: a subscription in an account that imports a stream is also
 *   announced as interest in the exporter (shadow interest), so a publish
 *   there reaches it; a service request this server moves into the
 *   exporter goes to the exporter's routes, with a reply under the
 *   exporter's response prefix, whose wildcard interest is announced
 *   first so that responders elsewhere can answer.
 * - Discovery: a new route's INFO is forwarded to the other routes, which
 *   dial it (gossip), so one seed is enough to join the mesh.
 * - Duplicates: the first connection registered for a server wins, the
 *   other one is closed, as in nats-server; configured routes stay known
 *   and are dialled again whenever their server has no route left.
 * - TLS: with a `tls` block every route starts with a handshake before any
 *   protocol byte (nats-server's createRoute: the dialling side is the TLS
 *   client, the accepting side the server), and both sides must present a
 *   certificate the CA vouches for: nats-server forces client certificate
 *   verification on routes whatever `verify` says. The dialling side also
 *   checks the peer's name against the route URL's host unless `insecure`.
 */
import net from 'node:net';
import tls from 'node:tls';
import { networkInterfaces } from 'node:os';
import { lookup } from 'node:dns/promises';
import { randomBytes } from 'node:crypto';
import { accountRoutesVersion, type Account } from '../accounts/account.js';
import type { Logger } from '../log/logger.js';
import { Permissions, type SubjectPermissionConfig } from '../auth/permissions.js';
import { verifySecret } from '../auth/passwords.js';
import { fromWire, toWire } from '../auth/wire-text.js';
import type { InterestListener, MessageForwarder, Server } from '../server/server.js';
import type { Subscription } from '../server/subscription.js';
import { SERVER_VERSION, NATTER_VERSION } from '../server/version.js';
import { describeTlsError, pinnedCertId, TlsAcceptor } from '../tls/index.js';
import { clusterConfigFrom, joinHostPort, parseRouteURL, routeURL, type ClusterConfig, type RouteURL } from './config.js';
import { LocalInterest, RemoteInterest, type InterestUpdate } from './interest.js';
import { StreamImportIndex, type Shadow } from './shadow-interest.js';
import { Route, RouteCloseReason, type PeerInfo } from './route.js';

/** nats-server's RouteProtoV2: routes carry account names. */
const ROUTE_PROTO = 2;
/** How long a route dial may take (DEFAULT_ROUTE_DIAL). */
const DIAL_TIMEOUT_MS = 1000;
/** First retry delay of a route that failed; doubles up to nats-server's fixed DEFAULT_ROUTE_CONNECT. */
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 1000;
/** A route that lasted this long was healthy: losing it resets the backoff. */
const HEALTHY_ROUTE_MS = 1000;
/**
 * Random delay before dialling a server whose route just went away: when
 * two servers dial each other at once, each may keep a different connection
 * and close the other, and a spread breaks the tie next time.
 */
const RECONNECT_JITTER_MS = 100;
/** nats-server's TLS_TIMEOUT, shown in /varz for every cluster. */
const DEFAULT_TLS_TIMEOUT_S = 2;
const DEFAULT_CONNECT_ERROR_REPORTS = 3600;
const DEFAULT_RECONNECT_ERROR_REPORTS = 1;

/** A route to dial: configured (kept and retried forever) or learned by gossip. */
export interface Solicit {
  readonly url: RouteURL;
  readonly explicit: boolean;
  /** Failed attempts since the last route that registered. */
  attempts: number;
  /** No route from this entry has registered yet (error reports are rarer then). */
  firstConnect: boolean;
  timer: NodeJS.Timeout | null;
  /** A dial is under way (name lookup or connect). */
  pending: boolean;
  /** The socket of that dial, once it connects; cut on shutdown. */
  dialing: net.Socket | null;
  route: Route | null;
  /** The server behind the URL, once an INFO told us. */
  remoteId: string | null;
  /** The URL leads back to this server: never dialled again. */
  self: boolean;
}

export interface RouteSubscription {
  readonly account: string;
  readonly subject: string;
  readonly queue: string | null;
  readonly weight: number;
}

/** One route as /routez shows it (raw values; the monitor formats them). */
export interface RouteInfo {
  readonly rid: number;
  readonly remoteId: string;
  readonly remoteName: string;
  readonly didSolicit: boolean;
  readonly isConfigured: boolean;
  readonly ip: string;
  readonly port: number;
  readonly start: Date;
  readonly lastActivity: Date;
  /** Round trip of the last PING, in milliseconds; 0 before the first PONG. */
  readonly rttMs: number;
  /** The peer's route permissions, from its INFO. */
  readonly import: SubjectPermissionConfig | null;
  readonly export: SubjectPermissionConfig | null;
  readonly pendingBytes: number;
  readonly inMsgs: number;
  readonly outMsgs: number;
  readonly inBytes: number;
  readonly outBytes: number;
  /** The interest the peer announced. */
  readonly subscriptions: readonly RouteSubscription[];
}

/** The cluster section of /varz, with nats-server's keys. */
export interface ClusterVarz {
  readonly name: string;
  readonly addr: string;
  readonly cluster_port: number;
  readonly auth_timeout: number;
  /** Configured routes as host:port; left out when there are none, as nats-server does. */
  readonly urls?: readonly string[];
  /** nats-server reports its default TLS handshake timeout (seconds) even without route TLS. */
  readonly tls_timeout: number;
  /** Present (true) only with route TLS, as nats-server's omitempty fields. */
  readonly tls_required?: true;
  readonly tls_verify?: true;
}

export interface ClusterHandle {
  close(): Promise<void>;
  /** Registered routes, for /routez. */
  routes(): RouteInfo[];
  /**
   * INFO `connect_urls` for clients: this server's client URLs and those of
   * every routed server. Empty until a route has reported some (nats-server
   * leaves the field out until then) or with `no_advertise`.
   */
  clientConnectURLs(): string[];
  /** Called whenever clientConnectURLs() changes: time for an async INFO to clients. */
  onConnectURLsChanged(listener: () => void): void;
  /** The cluster section of /varz; null when clustering is off. */
  varz(): ClusterVarz | null;
  /**
   * For Server.lameDuck(): tells every route this server is going away, so
   * the other servers stop offering its client URLs (nats-server sends
   * this INFO once, with `ldm`).
   */
  enterLameDuck(): void;
}

const started = new WeakSet<Server>();

/**
 * Starts clustering for a started server (its client port must be bound:
 * route INFO carries the client URLs). Without a cluster block, or with
 * port 0, nothing runs and the handle is empty. One call per server.
 */
export async function startCluster(server: Server): Promise<ClusterHandle> {
  if (started.has(server)) throw new Error('clustering is already started for this server');
  started.add(server);
  const config = clusterConfigFrom(server.options.cluster);
  if (config === null) {
    return {
      close: () => Promise.resolve(),
      routes: () => [],
      clientConnectURLs: () => [],
      onConnectURLsChanged: () => undefined,
      varz: () => null,
      enterLameDuck: () => undefined,
    };
  }
  const cluster = new Cluster(server, config);
  await cluster.start();
  server.onShutdown(() => cluster.close());
  return {
    close: () => cluster.close(),
    routes: () => cluster.routeInfos(),
    clientConnectURLs: () => cluster.clientConnectURLs(),
    onConnectURLsChanged: (l) => cluster.urlListeners.push(l),
    varz: () => cluster.varz(),
    enterLameDuck: () => cluster.enterLameDuck(),
  };
}

export class Cluster implements InterestListener, MessageForwarder {
  readonly server: Server;
  readonly config: ClusterConfig;
  readonly logger: Logger;
  clusterName: string;
  /** No name was configured: the cluster settles on one during handshakes. */
  private dynamicName: boolean;
  readonly headersSupported: boolean;
  readonly remoteInterest = new RemoteInterest<Route>();
  readonly urlListeners: Array<() => void> = [];

  private readonly localInterest = new LocalInterest();
  private readonly streamImports: StreamImportIndex;
  /** The shadow interest each subscription added, withdrawn exactly so when it goes (imports may change meanwhile). */
  private readonly shadowed = new Map<Subscription, readonly Shadow[]>();
  /** The account routes version the shadows were last checked against. */
  private shadowVersion = accountRoutesVersion();
  /** Accounts whose response wildcard (`_R_.<prefix>.>`) is announced; it stays, as in nats-server. */
  private readonly responseInterest = new Set<Account>();
  /** Queue groups a routed message found nobody here for (reused per message). */
  private readonly unserved: string[] = [];
  /** Every route connection, registered or not. */
  private readonly routes = new Set<Route>();
  /** Registered routes by remote server id. */
  private readonly remotes = new Map<string, Route>();
  private readonly explicit = new Map<string, Solicit>();
  private readonly implicit = new Map<string, Solicit>();
  private readonly importPerms: Permissions | null;
  private readonly exportPerms: Permissions | null;
  /** host:port pairs that reach this server's route port. */
  private readonly selfAddrs = new Set<string>();
  private readonly ownClientURLs: string[];
  /** Client URLs of routed servers, counted per route that reported them. */
  private readonly remoteClientURLs = new Map<string, number>();
  private connectURLsReported = false;
  private listener: net.Server | null = null;
  private boundPort = 0;
  private nextRid = 1;
  private sweepTimer: NodeJS.Timeout | null = null;
  /** Sockets of closed routes whose peer has not closed yet; shutdown cuts them. */
  private readonly lingering = new Set<net.Socket>();
  private readonly wireNames = new WeakMap<Account, string>();
  /** Where other servers should dial us, from `advertise`; null: the listen address. */
  private advertised: { host: string; port: number } | null = null;
  /** The server side of route TLS handshakes; null without route TLS. */
  private readonly acceptor: TlsAcceptor | null;
  /** Accepted sockets still in their TLS handshake; shutdown cuts them. */
  private readonly handshaking = new Set<net.Socket>();
  private closing = false;

  constructor(server: Server, config: ClusterConfig) {
    this.server = server;
    this.config = config;
    this.logger = server.logger;
    this.dynamicName = config.name === null;
    this.clusterName = config.name ?? generatedName();
    this.headersSupported = !server.options.no_header_support;
    const perms = config.permissions;
    this.importPerms = perms?.import ? new Permissions({ publish: perms.import, subscribe: null, response: null }) : null;
    this.exportPerms = perms?.export ? new Permissions({ publish: null, subscribe: perms.export, response: null }) : null;
    this.ownClientURLs = ownClientURLs(server);
    this.streamImports = new StreamImportIndex(server.accounts);
    const t = config.tls;
    // Routes always verify the peer's certificate (nats-server's getTLSConfig forces RequireAndVerifyClientCert).
    this.acceptor = t === null ? null : new TlsAcceptor({ ...t, config: { ...t.config, verify: true } }, server.logger);
  }

  async start(): Promise<void> {
    const c = this.config;
    if (this.server.forwarder !== null) throw new Error('another subsystem already forwards messages to peers');
    // Port 0 here stands for "the port we bind", known only after listening.
    const advertised = c.advertise === null ? null : advertisedAddress(c.advertise, 0);
    const listener = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      listener.once('error', (e: NodeJS.ErrnoException) => {
        const why = e.code === 'EADDRINUSE' ? 'bind: address already in use' : e.message;
        reject(new Error(`Error listening on router port: ${c.port} - listen tcp ${joinHostPort(c.host, c.port)}: ${why}`));
      });
      listener.listen({ host: c.host, port: c.port, backlog: 128 }, () => {
        listener.removeAllListeners('error');
        resolve();
      });
    });
    listener.on('error', (e) => this.logger.error(`Route listener error: ${e.message}`));
    this.listener = listener;
    const addr = listener.address();
    this.boundPort = typeof addr === 'object' && addr !== null ? addr.port : c.port;
    if (advertised !== null) this.advertised = { host: advertised.host, port: advertised.port || this.boundPort };
    this.logger.info(`Cluster name is ${this.clusterName}`);
    if (this.dynamicName) this.logger.warn('Cluster name was dynamically generated, consider setting one');
    this.logger.info(`Listening for route connections on ${joinHostPort(c.host, this.boundPort)}`);
    this.findSelfAddresses();

    // No route is registered yet: this only counts what the first routes will be told.
    for (const acc of this.server.accounts.values()) {
      for (const sub of acc.sublist.all()) this.subscriptionAdded(acc, sub);
    }
    this.server.interestListeners.push(this);
    this.server.forwarder = this;

    const sweepEvery = Math.max(10, Math.min(1000, this.server.options.write_deadline / 2));
    this.sweepTimer = setInterval(() => this.housekeeping(), sweepEvery);
    this.sweepTimer.unref();

    for (const url of c.routes) {
      const s = newSolicit(url, true);
      this.explicit.set(url.key, s);
      void this.dial(s);
    }
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const listener = this.listener;
    this.listener = null;
    const listenerClosed = listener === null ? Promise.resolve() : new Promise<void>((r) => listener.close(() => r()));
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    for (const s of [...this.explicit.values(), ...this.implicit.values()]) {
      if (s.timer !== null) clearTimeout(s.timer);
      s.timer = null;
      s.dialing?.destroy();
      s.dialing = null;
    }
    for (const socket of this.handshaking) socket.destroy();
    this.handshaking.clear();
    for (const r of [...this.routes]) r.close(RouteCloseReason.ServerShutdown);
    const i = this.server.interestListeners.indexOf(this);
    if (i >= 0) this.server.interestListeners.splice(i, 1);
    if (this.server.forwarder === this) this.server.forwarder = null;
    // Last bytes were handed to the kernel; one turn for them, then the listener may finish.
    await new Promise((r) => setImmediate(r));
    for (const socket of this.lingering) socket.destroy();
    await listenerClosed;
  }

  // ---- what the server and routes ask -----------------------------------------------

  /** INFO for routes, in nats-server's key order; `ldm` announces lame duck mode. */
  infoJSON(ldm = false): string {
    const c = this.config;
    const o = this.server.options;
    const info: Record<string, unknown> = {
      server_id: this.server.id,
      server_name: this.server.name,
      version: SERVER_VERSION,
      proto: ROUTE_PROTO,
      go: `node${process.versions.node}`,
      host: c.host,
      port: this.boundPort,
      headers: this.headersSupported,
    };
    if (c.user !== null) info.auth_required = true;
    if (c.tls !== null) {
      info.tls_required = true;
      info.tls_verify = true;
    }
    info.max_payload = o.max_payload;
    const adv = this.advertised;
    if (adv !== null) {
      info.host = adv.host;
      info.port = adv.port;
      info.ip = `nats-route://${joinHostPort(adv.host, adv.port)}/`;
    }
    info.cluster = this.clusterName;
    if (this.dynamicName) info.cluster_dynamic = true;
    if (!c.noAdvertise && this.ownClientURLs.length > 0) info.connect_urls = this.ownClientURLs;
    if (ldm) info.ldm = true;
    const p = c.permissions;
    if (p?.import) info.import = permissionJSON(p.import);
    if (p?.export) info.export = permissionJSON(p.export);
    info.natter_version = NATTER_VERSION;
    return JSON.stringify(info);
  }

  enterLameDuck(): void {
    const line = `INFO ${this.infoJSON(true)}\r\n`;
    for (const r of this.remotes.values()) r.send(line, false);
  }

  /** CONNECT for a route we dialled; credentials come from its URL. */
  connectJSON(url: RouteURL): string {
    const o: Record<string, unknown> = { echo: true, verbose: false, pedantic: false };
    if (url.user !== null) {
      o.user = url.user;
      o.pass = url.password ?? '';
    }
    o.tls_required = this.config.tls !== null;
    o.headers = this.headersSupported;
    o.name = this.server.id;
    o.cluster = this.clusterName;
    if (this.dynamicName) o.cluster_dynamic = true;
    return JSON.stringify(o);
  }

  checkRouteCredentials(user: string, pass: string): Promise<boolean> {
    const c = this.config;
    if (c.user === null) return Promise.resolve(true);
    if (user !== c.user) return Promise.resolve(false);
    return verifySecret(c.password ?? '', pass);
  }

  /**
   * The name a peer announced differs from ours (or not): with a generated
   * name we take a configured one, or the greater of two generated ones,
   * and drop every other route, as nats-server does. False: reject it.
   */
  acceptClusterName(theirs: string, theirsDynamic: boolean, route: Route): boolean {
    if (theirs === this.clusterName) return true;
    if (!this.dynamicName || theirs === '') return false;
    if (theirsDynamic && this.clusterName >= theirs) return false;
    this.clusterName = theirs;
    if (!theirsDynamic) this.dynamicName = false;
    this.logger.info(`Cluster name updated to ${theirs}`);
    for (const r of [...this.routes]) if (r !== route) r.close(RouteCloseReason.ClusterNameConflict);
    return true;
  }

  /**
   * An RS+ may enter when its account exists here and the export permission
   * allows it. Returns the account's name, or null to ignore the interest.
   */
  acceptRemoteSub(route: Route, account: string, subject: string): string | null {
    const acc = this.accountOf(account);
    if (acc === undefined) {
      this.logger.error(`${route.label()} - Unknown account "${fromWire(account)}" for remote subject "${subject}"`);
      return null;
    }
    if (this.exportPerms !== null && !this.exportPerms.canSubscribe(subject, null)) {
      if (this.logger.debugEnabled) this.logger.debug(`${route.label()} - Can not export "${subject}", ignoring remote subscription request`);
      return null;
    }
    return acc.name;
  }

  /** The account a route names (in wire form: UTF-8 bytes as latin1 characters). */
  private accountOf(wireName: string): Account | undefined {
    return this.server.accounts.get(wireName) ?? this.server.accounts.get(fromWire(wireName));
  }

  /** An account's name as routes must see it; cached, since every routed message carries it. */
  private wireName(acc: Account): string {
    let n = this.wireNames.get(acc);
    if (n === undefined) {
      n = toWire(acc.name);
      this.wireNames.set(acc, n);
    }
    return n;
  }

  deliver(route: Route, account: string, subject: string, reply: string | null, queues: readonly string[], hdrLen: number, buf: Buffer, start: number, end: number): void {
    const acc = this.accountOf(account);
    if (acc === undefined) {
      if (this.logger.debugEnabled) this.logger.debug(`${route.label()} - Unknown account "${account}" for routed message on subject: "${subject}"`);
      return;
    }
    if (queues.length === 0) {
      this.server.deliverFromPeer(acc, subject, reply, hdrLen, buf, start, end, queues);
      return;
    }
    const unserved = this.unserved;
    unserved.length = 0;
    this.server.deliverFromPeer(acc, subject, reply, hdrLen, buf, start, end, queues, unserved);
    if (unserved.length > 0) this.reroute(route, acc, subject, reply, [...unserved], hdrLen, buf, start, end);
  }

  /**
   * The sender picked this server for queue groups whose last member here
   * left before the message arrived: each goes on to a route that still
   * has members (the sender only if no other has), so it is not lost.
   */
  private reroute(from: Route, acc: Account, subject: string, reply: string | null, queues: readonly string[], hdrLen: number, buf: Buffer, start: number, end: number): void {
    const byRoute = new Map<Route, string[]>();
    for (const q of queues) {
      const to = this.remoteInterest.queueRoute(acc.name, subject, q, from);
      if (to === null) continue;
      const list = byRoute.get(to);
      if (list === undefined) byRoute.set(to, [q]);
      else list.push(q);
    }
    const account = this.wireName(acc);
    for (const [to, qs] of byRoute) {
      if (this.logger.debugEnabled) this.logger.debug(`${from.label()} - Re-routing message on "${subject}" for queue group(s) ${qs.join(', ')} to ${to.label()}`);
      to.sendMsg(account, subject, reply, qs, hdrLen, buf, start, end);
    }
  }

  // ---- interest (InterestListener) --------------------------------------------------

  subscriptionAdded(acc: Account, sub: Subscription): void {
    const u = this.localInterest.add(acc.name, sub.subject, sub.queue);
    if (u !== null) this.announce(u);
    const shadows = this.streamImports.shadowsOf(acc.name, sub.subject);
    if (shadows.length === 0) return;
    this.shadowed.set(sub, shadows);
    for (const sh of shadows) this.addShadow(sh, sub.queue);
  }

  subscriptionRemoved(acc: Account, sub: Subscription): void {
    const u = this.localInterest.remove(acc.name, sub.subject, sub.queue);
    if (u !== null) this.announce(u);
    const shadows = this.shadowed.get(sub);
    if (shadows === undefined) return;
    this.shadowed.delete(sub);
    for (const sh of shadows) this.removeShadow(sh, sub.queue);
  }

  private addShadow(sh: Shadow, queue: string | null): void {
    const u = this.localInterest.add(sh.account, sh.subject, queue);
    if (u !== null) this.announce(u);
  }

  private removeShadow(sh: Shadow, queue: string | null): void {
    const u = this.localInterest.remove(sh.account, sh.subject, queue);
    if (u !== null) this.announce(u);
  }

  /**
   * Imports changed (reload, JWT claim update): the shadow interest of
   * every existing subscription follows them; only the difference is
   * announced.
   */
  private resyncShadows(): void {
    this.shadowVersion = accountRoutesVersion();
    for (const acc of this.server.accounts.values()) {
      for (const sub of acc.sublist.all()) {
        const was = this.shadowed.get(sub) ?? [];
        const now = this.streamImports.shadowsOf(acc.name, sub.subject);
        for (const sh of was) if (!now.some((n) => sameShadow(n, sh))) this.removeShadow(sh, sub.queue);
        for (const sh of now) if (!was.some((w) => sameShadow(w, sh))) this.addShadow(sh, sub.queue);
        if (now.length === 0) this.shadowed.delete(sub);
        else this.shadowed.set(sub, now);
      }
    }
  }

  /** Only interest in subjects this server may import is announced. */
  private canImport(subject: string): boolean {
    return this.importPerms === null || this.importPerms.canPublish(subject);
  }

  private announce(u: InterestUpdate): void {
    if (this.remotes.size === 0 || !this.canImport(u.subject)) return;
    const account = toWire(u.account);
    for (const r of this.remotes.values()) r.sendInterest(account, u.subject, u.queue, u.weight);
  }

  private sendAllInterest(route: Route): void {
    for (const u of this.localInterest.all()) {
      if (this.canImport(u.subject)) route.sendInterest(toWire(u.account), u.subject, u.queue, u.weight);
    }
    if (this.logger.debugEnabled) this.logger.debug(`${route.label()} - Sent local subscriptions to route`);
  }

  // ---- messages (MessageForwarder) ----------------------------------------------------

  forward(acc: Account, subject: string, reply: string | null, hdrLen: number, buf: Buffer, start: number, end: number, localQueues: readonly string[]): number {
    const t = this.remoteInterest.select(acc.name, subject, localQueues);
    if (t === null) return 0;
    const routes = t.routes;
    const account = this.wireName(acc);
    for (let i = 0; i < t.count; i++) routes[i].sendMsg(account, subject, reply, t.queues[i], hdrLen, buf, start, end);
    return t.count;
  }

  forwardImport(acc: Account, subject: string, reply: string | null, hdrLen: number, buf: Buffer, start: number, end: number, localQueues: readonly string[]): number {
    if (reply !== null && !this.responseInterest.has(acc) && reply.startsWith(acc.responsePrefix)) {
      // Announced before the request goes out on the same connections, so the answer finds its way back.
      this.responseInterest.add(acc);
      const u = this.localInterest.add(acc.name, acc.responsePrefix + '>', null);
      if (u !== null) this.announce(u);
    }
    return this.forward(acc, subject, reply, hdrLen, buf, start, end, localQueues);
  }

  // ---- connections ------------------------------------------------------------------

  private accept(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const rid = this.nextRid++;
    const acceptor = this.acceptor;
    if (acceptor === null) {
      this.startRoute(socket, null, rid);
      return;
    }
    // TLS comes first: our INFO goes out only once the peer proved who it is.
    this.handshaking.add(socket);
    const done = (): boolean => this.handshaking.delete(socket);
    acceptor.upgrade({
      socket,
      label: `${socket.remoteAddress ?? ''}:${socket.remotePort ?? 0} - rid:${rid}`,
      deadline: Date.now() + acceptor.material.config.timeoutMs,
      onSecure: (secure) => {
        done();
        if (this.closing) secure.destroy();
        else this.startRoute(secure, null, rid);
      },
      onFailed: done,
    });
  }

  private startRoute(socket: net.Socket, solicit: Solicit | null, rid = this.nextRid++): Route {
    socket.setNoDelay(true);
    const route = new Route(this, socket, rid, solicit);
    this.routes.add(route);
    if (solicit !== null) solicit.route = route;
    socket.on('data', (chunk: Buffer) => route.onData(chunk));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (this.logger.debugEnabled) this.logger.debug(`${route.label()} - Router connection error: ${e.message}`);
      route.close(e.code === 'ECONNRESET' || e.code === 'EPIPE' ? RouteCloseReason.ClientClosed : RouteCloseReason.ReadError, true);
    });
    socket.on('close', () => route.close(RouteCloseReason.ClientClosed, true));
    route.begin();
    return route;
  }

  /** The first INFO of a route (registration) or a later one (gossip, lame duck). */
  routeInfo(route: Route, info: PeerInfo, raw: Record<string, unknown>): void {
    if (info.server_id === this.server.id) {
      const s = route.solicit;
      if (s !== null) {
        s.self = true;
        if (this.logger.debugEnabled) this.logger.debug(`Detected route to self, ignoring "${s.url.redacted}"`);
      }
      route.close(RouteCloseReason.DuplicateRoute);
      return;
    }
    if (info.cluster !== '' && info.cluster !== this.clusterName && !this.acceptClusterName(info.cluster, info.cluster_dynamic, route)) {
      // The dialling side drops it without a word; the other side says why.
      route.close(RouteCloseReason.ClusterNameConflict);
      return;
    }
    if (route.infoReceived) {
      this.laterInfo(route, info);
      return;
    }
    if (route.solicit === null && info.server_name !== '' && info.server_name === this.server.name) {
      this.logger.error(`${route.label()} - Remote server has a duplicate name: "${info.server_name}"`);
      route.close(RouteCloseReason.DuplicateServerName);
      return;
    }
    route.infoReceived = true;
    route.info = info;
    route.remoteId = info.server_id;
    route.remoteName = info.server_name;
    route.headers = this.headersSupported && info.headers;
    // An accepted route's address, should it have to be dialled: advertised, or where it came from.
    route.url ??= this.peerURL(info, route.ip);
    if (route.solicit !== null) route.solicit.remoteId = info.server_id;

    const existing = this.remotes.get(info.server_id);
    if (existing !== undefined) {
      if (this.logger.debugEnabled) this.logger.debug(`${route.label()} - Detected duplicate remote route "${info.server_id}"`);
      // Should the peer have kept this one and dropped the other, the survivor must dial again.
      existing.retry = true;
      route.close(RouteCloseReason.DuplicateRoute);
      return;
    }
    this.register(route, info, raw);
  }

  private register(route: Route, info: PeerInfo, raw: Record<string, unknown>): void {
    this.remotes.set(info.server_id, route);
    route.registered = true;
    if (route.solicit !== null) route.solicit.firstConnect = false;
    if (this.logger.debugEnabled) this.logger.debug(`${route.label()} - Registering remote route "${info.server_id}"`);
    this.sendAllInterest(route);
    if (this.remotes.size > 1) {
      // Tell the others: each will dial the newcomer (nats-server's gossip).
      const fwd: Record<string, unknown> = { ...raw };
      delete fwd.nonce;
      if (info.ip === '') fwd.ip = `nats-route://${joinHostPort(plainIP(route.ip), info.port)}/`;
      const line = `INFO ${JSON.stringify(fwd)}\r\n`;
      for (const r of this.remotes.values()) if (r !== route) r.send(line, false);
    }
    if (!this.config.noAdvertise) this.addClientURLs(info.connect_urls);
  }

  private peerURL(info: PeerInfo, remoteIP: string): RouteURL | null {
    try {
      return info.ip !== '' ? parseRouteURL(info.ip) : routeURL(plainIP(remoteIP), info.port, null, null);
    } catch {
      return null;
    }
  }

  private laterInfo(route: Route, info: PeerInfo): void {
    if (info.server_id !== route.remoteId) {
      this.implicitRoute(info);
      return;
    }
    // A peer entering lame duck mode: its clients should not be sent there any more.
    if (info.ldm && route.registered && !this.config.noAdvertise && route.info !== null) {
      this.removeClientURLs(route.info.connect_urls);
      route.info = { ...route.info, connect_urls: [] };
    }
  }

  /** A server we heard of through another route: dial it unless already connected or configured. */
  private implicitRoute(info: PeerInfo): void {
    const id = info.server_id;
    if (id === '' || id === this.server.id || this.remotes.has(id)) return;
    const configured = joinHostPort(info.host, info.port).toLowerCase();
    for (const s of this.explicit.values()) if (s.url.key === configured) return;
    let url: RouteURL;
    try {
      url = parseRouteURL(info.ip !== '' ? info.ip : `nats-route://${joinHostPort(info.host, info.port)}/`);
    } catch (e) {
      this.logger.error(`Error parsing URL from INFO: ${(e as Error).message}`);
      return;
    }
    if (this.implicit.has(url.key) || this.explicit.has(url.key)) return;
    const c = this.config;
    if (info.auth_required && c.user !== null) url = routeURL(url.host, url.port, c.user, c.password);
    const s = newSolicit(url, false);
    s.remoteId = id;
    this.implicit.set(url.key, s);
    void this.dial(s);
  }

  routeClosed(route: Route): void {
    this.routes.delete(route);
    const socket = route.socket;
    if (!socket.destroyed) {
      // The peer gets write_deadline to take our last bytes and hang up.
      this.lingering.add(socket);
      socket.once('close', () => this.lingering.delete(socket));
      setTimeout(() => socket.destroy(), this.server.options.write_deadline).unref();
    }
    for (const sub of route.remoteSubs.values()) this.remoteInterest.remove(sub);
    route.remoteSubs.clear();
    const wasRegistered = route.registered && this.remotes.get(route.remoteId) === route;
    route.registered = false;
    if (wasRegistered) {
      this.remotes.delete(route.remoteId);
      if (!this.config.noAdvertise && route.info !== null) this.removeClientURLs(route.info.connect_urls);
    }
    this.logger.info(`${route.label()} - Router connection closed: ${route.closeReason ?? RouteCloseReason.ClientClosed}`);
    if (this.closing) return;
    const s = route.solicit;
    if (s !== null) {
      s.route = null;
      // A peer that registers and then refuses us (bad credentials) must not be redialled at once.
      if (wasRegistered && Date.now() - route.start.getTime() >= HEALTHY_ROUTE_MS) s.attempts = 0;
      else s.attempts++;
      this.afterSolicitedClose(s);
    }
    if (wasRegistered) this.redial(route);
  }

  private afterSolicitedClose(s: Solicit): void {
    if (s.self) {
      if (!s.explicit) this.implicit.delete(s.url.key);
      return;
    }
    if (s.remoteId !== null && this.remotes.has(s.remoteId)) {
      if (this.logger.debugEnabled) this.logger.debug(`Not attempting reconnect for solicited route, already connected to "${s.remoteId}"`);
      if (!s.explicit) this.implicit.delete(s.url.key);
      return;
    }
    if (!s.explicit && s.attempts > this.config.connectRetries) {
      this.implicit.delete(s.url.key);
      return;
    }
    if (this.logger.debugEnabled) this.logger.debug(`Attempting reconnect for solicited route "${s.url.redacted}"`);
    this.schedule(s, this.redialDelay(s));
  }

  /**
   * When two servers that list each other redial at the same moment, each
   * registers the connection it dialled (its INFO arrives first) and closes
   * the other one as a duplicate: both routes die, again and again. So the
   * server with the greater id lets the other dial first; once that route
   * registers, its own dial finds the server connected and stays idle.
   */
  private redialDelay(s: Solicit): number {
    const base = s.attempts === 0 ? Math.random() * RECONNECT_JITTER_MS : retryDelay(s.attempts);
    return s.remoteId !== null && s.remoteId < this.server.id ? base + RETRY_MAX_MS : base;
  }

  /**
   * A registered route went away: configured routes that lead to the same
   * server dial again, and so does a survivor of a duplicate race.
   */
  private redial(route: Route): void {
    const id = route.remoteId;
    let dialling = route.solicit !== null && route.solicit.timer !== null;
    for (const s of this.explicit.values()) {
      if (s === route.solicit || s.remoteId !== id || s.self || s.route !== null || s.timer !== null || s.pending) continue;
      s.attempts = 0;
      this.schedule(s, this.redialDelay(s));
      dialling = true;
    }
    if (dialling || !route.retry || route.solicit !== null || route.url === null || this.remotes.has(id)) return;
    const url = route.url;
    if (this.implicit.has(url.key) || this.explicit.has(url.key)) return;
    const c = this.config;
    const s = newSolicit(route.info?.auth_required && c.user !== null ? routeURL(url.host, url.port, c.user, c.password) : url, false);
    s.remoteId = id;
    s.firstConnect = false;
    this.implicit.set(url.key, s);
    this.schedule(s, Math.random() * RECONNECT_JITTER_MS);
  }

  private schedule(s: Solicit, delayMs: number): void {
    if (this.closing || s.timer !== null) return;
    s.timer = setTimeout(() => {
      s.timer = null;
      void this.dial(s);
    }, delayMs);
  }

  /** One attempt to connect a route; failures schedule the next one. */
  private async dial(s: Solicit): Promise<void> {
    if (this.closing || s.route !== null || s.pending) return;
    if (s.remoteId !== null && this.remotes.has(s.remoteId)) {
      if (!s.explicit) this.implicit.delete(s.url.key);
      return;
    }
    const url = s.url;
    s.pending = true;
    let address: string;
    try {
      const found = await lookup(url.host, { all: true });
      // Addresses of this very server are skipped: a route to self is pointless.
      const candidates = found.map((a) => a.address).filter((a) => !this.selfAddrs.has(joinHostPort(a, url.port)));
      if (candidates.length === 0) {
        s.pending = false;
        if (this.logger.debugEnabled) this.logger.debug(`Detected route to self, ignoring "${url.redacted}"`);
        s.self = true;
        if (!s.explicit) this.implicit.delete(url.key);
        return;
      }
      address = candidates[(Math.random() * candidates.length) | 0];
    } catch (e) {
      s.pending = false;
      if (!this.closing) this.dialFailed(s, (e as Error).message);
      return;
    }
    if (this.closing) {
      s.pending = false;
      return;
    }
    if (this.logger.debugEnabled) this.logger.debug(`Trying to connect to route on ${joinHostPort(url.host, url.port)} (${joinHostPort(address, url.port)})`);
    const socket = net.connect({ host: address, port: url.port });
    s.dialing = socket;
    const timer = setTimeout(() => socket.destroy(Object.assign(new Error('i/o timeout'), { code: 'ETIMEDOUT' })), DIAL_TIMEOUT_MS);
    const onError = (e: NodeJS.ErrnoException): void => {
      clearTimeout(timer);
      s.pending = false;
      s.dialing = null;
      if (!this.closing) this.dialFailed(s, dialError(address, url.port, e));
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      if (this.closing) {
        s.pending = false;
        s.dialing = null;
        socket.destroy();
        return;
      }
      if (this.config.tls !== null) {
        this.secureDial(s, socket);
        return;
      }
      s.pending = false;
      s.dialing = null;
      this.startRoute(socket, s);
    });
  }

  /**
   * The client side of route TLS on a dialled socket: our certificate for
   * the peer to verify, and the peer's checked against the CA and the URL's
   * host (Go's ServerName) unless `insecure`. The route starts once it holds.
   */
  private secureDial(s: Solicit, socket: net.Socket): void {
    const t = this.config.tls;
    if (t === null) return;
    const rid = this.nextRid++;
    const label = `${socket.remoteAddress ?? ''}:${socket.remotePort ?? 0} - rid:${rid}`;
    if (this.logger.debugEnabled) this.logger.debug(`${label} - Starting TLS route client handshake`);
    const host = s.url.host;
    const secure = tls.connect({
      ...t.contextOptions,
      socket,
      // `host` is the name the certificate must carry; SNI cannot be an IP address.
      host,
      servername: net.isIP(host) === 0 ? host : undefined,
      rejectUnauthorized: !t.config.insecure,
    });
    // The TLS socket reports what happens underneath; this only keeps a raw error from going unhandled.
    socket.on('error', () => secure.destroy());
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.pending = false;
      s.dialing = null;
      secure.destroy();
      socket.destroy();
      if (this.closing) return;
      this.logger.error(`${label} - TLS route handshake error: ${why}`);
      this.retryLater(s);
    };
    const timer = setTimeout(() => fail('TLS handshake timeout'), t.config.timeoutMs);
    secure.once('error', (e: Error) => fail(describeTlsError(e)));
    secure.once('close', () => fail('EOF'));
    secure.once('secureConnect', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      secure.removeAllListeners('error');
      secure.removeAllListeners('close');
      s.pending = false;
      s.dialing = null;
      if (this.closing) {
        secure.destroy();
        return;
      }
      // pinned_certs hold for the servers we dial as for those that dial us (the acceptor checks those).
      const pinned = t.config.pinnedCerts;
      if (pinned !== null) {
        const cert = secure.getPeerX509Certificate();
        const id = cert === undefined ? null : pinnedCertId(cert);
        if (id === null || !pinned.has(id)) {
          if (this.logger.debugEnabled) this.logger.debug(`${label} - Failed pinned cert test for key id: ${id ?? ''}`);
          this.logger.error(`${label} - TLS route handshake error: certificate not pinned`);
          secure.destroy();
          this.retryLater(s);
          return;
        }
      }
      if (this.logger.debugEnabled) this.logger.debug(`${label} - TLS handshake complete`);
      this.startRoute(secure, s, rid);
    });
  }

  private dialFailed(s: Solicit, why: string): void {
    s.attempts++;
    const o = this.server.options;
    const every = s.firstConnect
      ? o.connect_error_reports ?? DEFAULT_CONNECT_ERROR_REPORTS
      : o.reconnect_error_reports ?? DEFAULT_RECONNECT_ERROR_REPORTS;
    const line = `Error trying to connect to route (attempt ${s.attempts}): ${why}`;
    if (s.attempts === 1 || (every > 0 && s.attempts % every === 0)) this.logger.error(line);
    else if (this.logger.debugEnabled) this.logger.debug(line);
    this.retryOrForget(s);
  }

  /** A connection that failed before it became a route: counts as a failed attempt. */
  private retryLater(s: Solicit): void {
    s.attempts++;
    this.retryOrForget(s);
  }

  private retryOrForget(s: Solicit): void {
    if (!s.explicit && s.attempts > this.config.connectRetries) {
      this.implicit.delete(s.url.key);
      return;
    }
    this.schedule(s, retryDelay(s.attempts));
  }

  // ---- client connect URLs --------------------------------------------------------------

  clientConnectURLs(): string[] {
    if (!this.connectURLsReported) return [];
    const out = [...this.ownClientURLs];
    for (const u of this.remoteClientURLs.keys()) if (!out.includes(u)) out.push(u);
    return out;
  }

  private addClientURLs(urls: readonly string[]): void {
    let changed = false;
    for (const u of urls) {
      const n = this.remoteClientURLs.get(u) ?? 0;
      this.remoteClientURLs.set(u, n + 1);
      if (n === 0) changed = true;
    }
    if (changed) this.connectURLsChanged();
  }

  private removeClientURLs(urls: readonly string[]): void {
    let changed = false;
    for (const u of urls) {
      const n = this.remoteClientURLs.get(u);
      if (n === undefined) continue;
      if (n <= 1) {
        this.remoteClientURLs.delete(u);
        changed = true;
      } else {
        this.remoteClientURLs.set(u, n - 1);
      }
    }
    if (changed) this.connectURLsChanged();
  }

  private connectURLsChanged(): void {
    this.connectURLsReported = true;
    for (const l of this.urlListeners) {
      try {
        l();
      } catch (e) {
        this.logger.error(`connect_urls listener failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  // ---- monitoring -----------------------------------------------------------------------

  routeInfos(): RouteInfo[] {
    const out: RouteInfo[] = [];
    for (const r of this.remotes.values()) {
      const subs: RouteSubscription[] = [];
      for (const s of r.remoteSubs.values()) subs.push({ account: s.account, subject: s.subject, queue: s.queue, weight: s.weight });
      out.push({
        rid: r.rid,
        remoteId: r.remoteId,
        remoteName: r.remoteName,
        didSolicit: r.solicit !== null,
        isConfigured: r.solicit?.explicit === true,
        ip: plainIP(r.ip),
        port: r.port,
        start: r.start,
        lastActivity: new Date(r.lastActivity),
        rttMs: r.rtt,
        import: r.info?.import ?? null,
        export: r.info?.export ?? null,
        pendingBytes: r.out.pending + r.socket.writableLength,
        inMsgs: r.inMsgs,
        outMsgs: r.outMsgs,
        inBytes: r.inBytes,
        outBytes: r.outBytes,
        subscriptions: subs,
      });
    }
    return out;
  }

  varz(): ClusterVarz {
    const c = this.config;
    // nats-server's key order: urls (left out when none are configured), then the TLS fields.
    const urls = c.routes.length > 0 ? { urls: c.routes.map((u) => joinHostPort(u.host, u.port)) } : {};
    const head = { name: this.clusterName, addr: c.host, cluster_port: this.boundPort, auth_timeout: c.authTimeoutMs / 1000, ...urls };
    if (c.tls === null) return { ...head, tls_timeout: DEFAULT_TLS_TIMEOUT_S };
    return { ...head, tls_timeout: c.tls.config.timeoutMs / 1000, tls_required: true, tls_verify: true };
  }

  // ---- outbound scheduling and upkeep ---------------------------------------------------

  /** Routes share the server's per-turn flush with client connections. */
  queueFlush(r: Route): void {
    this.server.flusher.queue(r);
  }

  /**
   * Cuts routes whose socket made no progress for write_deadline while
   * bytes waited, and brings shadow interest up to date after imports
   * changed (checked here rather than hooked into every way accounts change).
   */
  private housekeeping(): void {
    if (accountRoutesVersion() !== this.shadowVersion) this.resyncShadows();
    const deadline = this.server.options.write_deadline;
    const now = Date.now();
    for (const r of this.routes) {
      const waiting = r.socket.writableLength;
      if (waiting === 0 || r.closed) {
        r.stuckSince = 0;
        continue;
      }
      const sent = r.bytesHanded - waiting;
      if (r.stuckSince === 0 || sent !== r.sentMark) {
        r.sentMark = sent;
        r.stuckSince = now;
      } else if (now - r.stuckSince > deadline) {
        r.slowConsumer(RouteCloseReason.SlowConsumerWriteDeadline);
      }
    }
  }

  private findSelfAddresses(): void {
    const port = this.boundPort;
    const add = (ip: string): void => {
      this.selfAddrs.add(joinHostPort(ip, port));
    };
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) add(a.address);
    const h = this.config.host;
    if (h !== '0.0.0.0' && h !== '::' && h !== '') add(h);
  }
}

function sameShadow(a: Shadow, b: Shadow): boolean {
  return a.account === b.account && a.subject === b.subject;
}

/** `host[:port]` as nats-server's parseHostPort reads an advertise value; the port defaults to ours. */
function advertisedAddress(advertise: string, defaultPort: number): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d+))?$/.exec(advertise.trim());
  if (m === null) throw new Error(`Error setting route INFO with Cluster.Advertise value of ${advertise}`);
  const port = m[3] === undefined ? defaultPort : Number.parseInt(m[3], 10);
  return { host: m[1] ?? m[2], port };
}

function newSolicit(url: RouteURL, explicit: boolean): Solicit {
  return { url, explicit, attempts: 0, firstConnect: true, timer: null, pending: false, dialing: null, route: null, remoteId: null, self: false };
}

function retryDelay(attempts: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.max(0, attempts - 1));
}

/** Go's wording for a failed dial, e.g. "dial tcp 127.0.0.1:6222: connect: connection refused". */
function dialError(address: string, port: number, e: NodeJS.ErrnoException): string {
  const target = `dial tcp ${joinHostPort(address, port)}`;
  if (e.code === 'ECONNREFUSED') return `${target}: connect: connection refused`;
  if (e.code === 'ETIMEDOUT') return `${target}: i/o timeout`;
  if (e.code === 'EHOSTUNREACH') return `${target}: connect: no route to host`;
  return `${target}: ${e.message}`;
}

/** An IPv4 peer seen through a dual-stack socket is reported as ::ffff:a.b.c.d. */
function plainIP(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/** A name for a cluster nobody named, shaped like nats-server's (a NUID). */
function generatedName(): string {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  let s = '';
  for (const b of randomBytes(22)) s += alphabet[b % alphabet.length];
  return s;
}

function permissionJSON(p: SubjectPermissionConfig): Record<string, string[]> {
  const o: Record<string, string[]> = {};
  if (p.allow !== null) o.allow = [...p.allow];
  if (p.deny !== null) o.deny = [...p.deny];
  return o;
}

/**
 * The host:port pairs clients can reach this server at, as nats-server
 * lists them in connect_urls: the advertised address, or the listen
 * address, or for a wildcard listen every non-loopback interface address.
 */
function ownClientURLs(server: Server): string[] {
  const o = server.options;
  const port = server.port;
  if (o.client_advertise !== undefined && o.client_advertise !== '') {
    const adv = o.client_advertise;
    return [/:\d+$/.test(adv) && !adv.endsWith(']') ? adv : joinHostPort(adv.replace(/^\[|\]$/g, ''), port)];
  }
  if (o.host !== '0.0.0.0' && o.host !== '::' && o.host !== '') return [joinHostPort(o.host, port)];
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      // Global unicast only, as nats-server lists them: no loopback, no link-local.
      if (a.internal || /^fe[89ab]/i.test(a.address) || a.address.startsWith('169.254.')) continue;
      out.push(joinHostPort(a.address, port));
    }
  }
  return out;
}
