/**
 * Clustering: the route listener, solicited routes, and what the routes of
 * a full mesh agree on, speaking nats-server's route protocol so Natter
 * and nats-server nodes can share one cluster.
 *
 * This module is the cluster itself: its name (a generated one gives way
 * to a configured or greater one during handshakes), the INFO and CONNECT
 * every route starts with, route credentials, the client URLs the cluster
 * offers, and what monitoring shows. The connections live in the mesh
 * (mesh.ts), what flows over them in the traffic (traffic.ts); the server
 * sees only the handle (handle.ts).
 */
import { randomBytes } from 'node:crypto';
import { verifySecret } from '../auth/passwords.js';
import type { SubjectPermissionConfig } from '../auth/permissions.js';
import type { Logger } from '../log/logger.js';
import type { ConnectionUpkeep } from '../server/connection-upkeep.js';
import type { ServerCore, Unregister } from '../server/core.js';
import type { ServerOptions } from '../server/options.js';
import { SERVER_VERSION, NATTER_VERSION } from '../server/version.js';
import { clusterConfigFrom, joinHostPort, type ClusterConfig, type RouteURL } from './config.js';
import { ConnectURLs, ownClientURLs } from './connect-urls.js';
import type { ClusterHandle, ClusterVarz, RouteInfo, RouteSubscription } from './handle.js';
import type { RemoteInterest } from './interest.js';
import { plainIP, RouteMesh, type MeshHost } from './mesh.js';
import { PeerCloseReason } from '../server/peer-connection.js';
import type { PeerInfo, Route } from './route.js';
import { RouteTraffic } from './traffic.js';

/**
 * nats-server's MsgTraceProto: routes carry account names (RouteProtoV2,
 * 2) and traced messages (3, src/trace); older peers only compare against 1.
 */
const ROUTE_PROTO = 3;
/** nats-server's TLS_TIMEOUT, shown in /varz for every cluster. */
const DEFAULT_TLS_TIMEOUT_S = 2;

/** What clustering needs of the server beyond its core. */
export interface ClusterDeps {
  /** The server's connection upkeep: routes are kept alive and watched for stuck writes by it. */
  readonly upkeep: ConnectionUpkeep;
  /** This server's websocket client URLs (host:port) for route INFO `ws_connect_urls`; empty without a websocket listener. */
  readonly websocketURLs?: readonly string[];
}

const started = new WeakSet<ServerCore>();

/**
 * Starts clustering for a started server (its client port must be bound:
 * route INFO carries the client URLs). Without a cluster block, or with
 * port 0, nothing runs and the handle is empty. One call per server.
 */
export async function startCluster(core: ServerCore, deps: ClusterDeps): Promise<ClusterHandle> {
  if (started.has(core)) throw new Error('clustering is already started for this server');
  started.add(core);
  const config = clusterConfigFrom(core.options.cluster);
  if (config === null) {
    return {
      close: () => Promise.resolve(),
      routes: () => [],
      clientConnectURLs: () => [],
      onConnectURLsChanged: () => undefined,
      websocketConnectURLs: () => [],
      onWebsocketConnectURLsChanged: () => undefined,
      varz: () => null,
      listenURLs: () => [],
      permissions: () => null,
      enterLameDuck: () => undefined,
    };
  }
  const cluster = new Cluster(core, config, deps.upkeep, deps.websocketURLs ?? []);
  await cluster.start();
  core.onShutdown(() => cluster.close());
  return {
    close: () => cluster.close(),
    routes: () => cluster.routeInfos(),
    clientConnectURLs: () => cluster.urls.clients.list(),
    onConnectURLsChanged: (l) => cluster.urls.clients.onChange(l),
    websocketConnectURLs: () => cluster.urls.websocket.list(),
    onWebsocketConnectURLsChanged: (l) => cluster.urls.websocket.onChange(l),
    varz: () => cluster.varz(),
    listenURLs: () => [cluster.listenURL()],
    permissions: () => config.permissions,
    enterLameDuck: () => cluster.enterLameDuck(),
  };
}

class Cluster implements MeshHost {
  readonly core: ServerCore;
  readonly config: ClusterConfig;
  readonly logger: Logger;
  clusterName: string;
  /** No name was configured: the cluster settles on one during handshakes. */
  private dynamicName: boolean;
  readonly headersSupported: boolean;
  readonly urls: ConnectURLs;
  private readonly mesh: RouteMesh;
  private readonly traffic: RouteTraffic;
  private readonly upkeep: ConnectionUpkeep;
  /** Undoes the registrations with the core and the upkeep. */
  private readonly unregisters: Unregister[] = [];
  private closing = false;

  constructor(core: ServerCore, config: ClusterConfig, upkeep: ConnectionUpkeep, websocketURLs: readonly string[]) {
    this.core = core;
    this.config = config;
    this.logger = core.logger;
    this.dynamicName = config.name === null;
    this.clusterName = config.name ?? generatedName();
    this.headersSupported = !core.options.no_header_support;
    this.upkeep = upkeep;
    this.urls = new ConnectURLs(ownClientURLs(core.options, core.port), websocketURLs, core.logger);
    this.mesh = new RouteMesh(this, this.urls, upkeep);
    this.traffic = new RouteTraffic(core, config, this.mesh.remotes);
  }

  get options(): ServerOptions {
    return this.core.options;
  }

  get remoteInterest(): RemoteInterest<Route> {
    return this.traffic.remoteInterest;
  }

  async start(): Promise<void> {
    // Taken first: when another subsystem forwards already, nothing else may start.
    const unsetForwarder = this.core.setForwarder(this.traffic);
    try {
      await this.mesh.listen();
    } catch (e) {
      unsetForwarder();
      throw e;
    }
    this.unregisters.push(unsetForwarder);
    const c = this.config;
    this.logger.info(`Cluster name is ${this.clusterName}`);
    if (this.dynamicName) this.logger.warn('Cluster name was dynamically generated, consider setting one');
    this.logger.info(`Listening for route connections on ${joinHostPort(c.host, this.mesh.boundPort)}`);
    // No route is registered yet: this only counts what the first routes will be told.
    this.traffic.countExisting();
    this.unregisters.push(this.core.addInterestListener(this.traffic));
    // Leaf connections are told routed interest, and JetStream asks it (nats-server keeps it in the account sublist).
    const remote = this.traffic.remoteInterest;
    const routed = this.core.routedInterest;
    remote.onChange = (sub, added) => routed.changed(sub.account, sub.subject, sub.queue, added);
    this.unregisters.push(routed.setSource({
      entries: (account) => remote.entries(account),
      has: (account, subject) => remote.hasInterest(account, subject),
    }), () => { remote.onChange = null; });
    this.unregisters.push(this.upkeep.addChore(() => this.traffic.resyncShadows()));
    this.mesh.dialConfigured();
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const closed = this.mesh.close();
    for (const unregister of this.unregisters) unregister();
    await closed;
  }

  // ---- what routes ask (RouteHost, MeshHost) ----------------------------------------

  /** INFO for routes, in nats-server's key order; `ldm` announces lame duck mode. */
  infoJSON(ldm = false): string {
    const c = this.config;
    const o = this.core.options;
    const info: Record<string, unknown> = {
      server_id: this.core.id,
      server_name: this.core.name,
      version: SERVER_VERSION,
      proto: ROUTE_PROTO,
      go: `node${process.versions.node}`,
      host: c.host,
      port: this.mesh.boundPort,
      headers: this.headersSupported,
    };
    if (c.user !== null) info.auth_required = true;
    if (c.tls !== null) {
      info.tls_required = true;
      info.tls_verify = true;
    }
    info.max_payload = o.max_payload;
    const adv = this.mesh.advertised;
    if (adv !== null) {
      info.host = adv.host;
      info.port = adv.port;
      info.ip = `nats-route://${joinHostPort(adv.host, adv.port)}/`;
    }
    info.cluster = this.clusterName;
    if (this.dynamicName) info.cluster_dynamic = true;
    if (!c.noAdvertise && this.urls.clients.own.length > 0) info.connect_urls = this.urls.clients.own;
    if (!c.noAdvertise && this.urls.websocket.own.length > 0) info.ws_connect_urls = this.urls.websocket.own;
    if (ldm) info.ldm = true;
    const p = c.permissions;
    if (p?.import) info.import = permissionJSON(p.import);
    if (p?.export) info.export = permissionJSON(p.export);
    info.natter_version = NATTER_VERSION;
    return JSON.stringify(info);
  }

  enterLameDuck(): void {
    const line = `INFO ${this.infoJSON(true)}\r\n`;
    for (const r of this.mesh.remotes.values()) r.send(line, false);
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
    o.name = this.core.id;
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
    this.mesh.closeAllBut(route, PeerCloseReason.ClusterNameConflict);
    return true;
  }

  acceptRemoteSub(route: Route, account: string, subject: string): string | null {
    return this.traffic.acceptRemoteSub(route, account, subject);
  }

  deliver(route: Route, account: string, subject: string, reply: string | null, queues: readonly string[], hdrLen: number, buf: Buffer, start: number, end: number): void {
    this.traffic.deliver(route, account, subject, reply, queues, hdrLen, buf, start, end);
  }

  routeInfo(route: Route, info: PeerInfo, raw: Record<string, unknown>): void {
    this.mesh.routeInfo(route, info, raw);
  }

  routeRegistered(route: Route): void {
    this.traffic.sendAllInterest(route);
  }

  routeClosed(route: Route): void {
    this.mesh.routeClosed(route);
  }

  /** Routes share the server's per-turn flush with client connections. */
  queueFlush(route: Route): void {
    this.core.flusher.queue(route);
  }

  // ---- monitoring -----------------------------------------------------------------------

  routeInfos(): RouteInfo[] {
    const out: RouteInfo[] = [];
    for (const r of this.mesh.remotes.values()) {
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

  /** Where the route listener is bound, for the ports file. */
  listenURL(): string {
    return `nats://${joinHostPort(dialableHost(this.config.host), this.mesh.boundPort)}`;
  }

  varz(): ClusterVarz {
    const c = this.config;
    // nats-server's key order: urls (left out when none are configured), then the TLS fields.
    const urls = c.routes.length > 0 ? { urls: c.routes.map((u) => joinHostPort(u.host, u.port)) } : {};
    const head = { name: this.clusterName, addr: c.host, cluster_port: this.mesh.boundPort, auth_timeout: c.authTimeoutMs / 1000, ...urls };
    if (c.tls === null) return { ...head, tls_timeout: DEFAULT_TLS_TIMEOUT_S };
    return { ...head, tls_timeout: c.tls.config.timeoutMs / 1000, tls_required: true, tls_verify: true };
  }
}

/** A wildcard listen address is reported as loopback, as the client URLs are. */
function dialableHost(host: string): string {
  return host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
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
