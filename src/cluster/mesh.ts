/**
 * The route mesh: every route connection of this server and how they come
 * and go.
 *
 * - Listening: the route port accepts connections; with a `tls` block each
 *   starts with a handshake before any protocol byte (nats-server's
 *   createRoute: the dialling side is the TLS client, the accepting side the
 *   server), and both sides must present a certificate the CA vouches for:
 *   nats-server forces client certificate verification on routes whatever
 *   `verify` says. The dialling side also checks the peer's name against
 *   the route URL's host unless `insecure`.
 * - Dialling: configured routes are dialled at start and kept forever;
 *   failed dials retry with a backoff.
 * - Discovery: a new route's INFO is forwarded to the other routes, which
 *   dial it (gossip), so one seed is enough to join the mesh.
 * - Duplicates: the first connection registered for a server wins, the
 *   other one is closed, as in nats-server; configured routes stay known
 *   and are dialled again whenever their server has no route left.
 *
 * Every route is under the server's connection upkeep (keepalive, write
 * deadline) from its first byte to its close.
 */
import net from 'node:net';
import tls from 'node:tls';
import { networkInterfaces } from 'node:os';
import { lookup } from 'node:dns/promises';
import type { Logger } from '../log/logger.js';
import type { ConnectionUpkeep } from '../server/connection-upkeep.js';
import type { ServerCore } from '../server/core.js';
import { describeTlsError, pinnedCertId, TlsAcceptor } from '../tls/index.js';
import { joinHostPort, parseRouteURL, routeURL, type ClusterConfig, type RouteURL } from './config.js';
import type { ConnectURLs } from './connect-urls.js';
import { PeerCloseReason } from '../server/peer-connection.js';
import { Route, type PeerInfo, type RouteHost } from './route.js';
import { newSolicit, type Solicit } from './solicit.js';

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
const DEFAULT_CONNECT_ERROR_REPORTS = 3600;
const DEFAULT_RECONNECT_ERROR_REPORTS = 1;
/** nats-server's first PING to a route comes after at most a second (plus up to 20%). */
const FIRST_PING_MS = 1000;

/** What the mesh asks of the cluster beyond what its routes ask. */
export interface MeshHost extends RouteHost {
  /** The server the mesh belongs to: its id and name tell a route to self and duplicates apart. */
  readonly core: ServerCore;
  /** A route registered: it must learn this server's interest before anything else. */
  routeRegistered(route: Route): void;
}

export class RouteMesh {
  /** Every route connection, registered or not. */
  private readonly routes = new Set<Route>();
  /** Registered routes by remote server id: the ones that carry traffic. */
  readonly remotes = new Map<string, Route>();
  /** The bound route port (0 before listen()). */
  boundPort = 0;
  /** Where other servers should dial us, from `advertise`; null: the listen address. */
  advertised: { host: string; port: number } | null = null;

  private readonly host: MeshHost;
  private readonly core: ServerCore;
  private readonly config: ClusterConfig;
  private readonly logger: Logger;
  private readonly urls: ConnectURLs;
  private readonly upkeep: ConnectionUpkeep;
  private readonly explicit = new Map<string, Solicit>();
  private readonly implicit = new Map<string, Solicit>();
  /** host:port pairs that reach this server's route port. */
  private readonly selfAddrs = new Set<string>();
  private listener: net.Server | null = null;
  private nextRid = 1;
  /** Sockets of closed routes whose peer has not closed yet; shutdown cuts them. */
  private readonly lingering = new Set<net.Socket>();
  /** The server side of route TLS handshakes; null without route TLS. */
  private readonly acceptor: TlsAcceptor | null;
  /** Accepted sockets still in their TLS handshake; shutdown cuts them. */
  private readonly handshaking = new Set<net.Socket>();
  private closing = false;

  constructor(host: MeshHost, urls: ConnectURLs, upkeep: ConnectionUpkeep) {
    this.host = host;
    this.core = host.core;
    this.config = host.config;
    this.logger = host.logger;
    this.urls = urls;
    this.upkeep = upkeep;
    const t = host.config.tls;
    // Routes always verify the peer's certificate (nats-server's getTLSConfig forces RequireAndVerifyClientCert).
    this.acceptor = t === null ? null : new TlsAcceptor({ ...t, config: { ...t.config, verify: true } }, host.logger);
  }

  /** Binds the route port; an `advertise` value is checked first. */
  async listen(): Promise<void> {
    const c = this.config;
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
    this.findSelfAddresses();
  }

  /** Dials every configured route; each is retried until the server stops. */
  dialConfigured(): void {
    for (const url of this.config.routes) {
      const s = newSolicit(url, true);
      this.explicit.set(url.key, s);
      void this.dial(s);
    }
  }

  /** Closes every route and the listener; resolves once the listener is closed. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const listener = this.listener;
    this.listener = null;
    const listenerClosed = listener === null ? Promise.resolve() : new Promise<void>((r) => listener.close(() => r()));
    for (const s of [...this.explicit.values(), ...this.implicit.values()]) {
      if (s.timer !== null) clearTimeout(s.timer);
      s.timer = null;
      s.dialing?.destroy();
      s.dialing = null;
    }
    for (const socket of this.handshaking) socket.destroy();
    this.handshaking.clear();
    for (const r of [...this.routes]) r.close(PeerCloseReason.ServerShutdown);
    // Last bytes were handed to the kernel; one turn for them, then the listener may finish.
    await new Promise((r) => setImmediate(r));
    for (const socket of this.lingering) socket.destroy();
    await listenerClosed;
  }

  /** Closes every route but `keep` (the cluster's name changed under the others). */
  closeAllBut(keep: Route, reason: PeerCloseReason): void {
    for (const r of [...this.routes]) if (r !== keep) r.close(reason);
  }

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
    const route = new Route(this.host, socket, rid, solicit);
    this.routes.add(route);
    if (solicit !== null) solicit.routeOpen = true;
    socket.on('data', (chunk: Buffer) => route.onData(chunk));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (this.logger.debugEnabled) this.logger.debug(`${route.label()} - Router connection error: ${e.message}`);
      route.close(e.code === 'ECONNRESET' || e.code === 'EPIPE' ? PeerCloseReason.ClientClosed : PeerCloseReason.ReadError, true);
    });
    socket.on('close', () => route.close(PeerCloseReason.ClientClosed, true));
    const first = Math.min(this.core.options.ping_interval, FIRST_PING_MS);
    this.upkeep.watch(route, first + Math.random() * first * 0.2);
    route.begin();
    return route;
  }

  /** The first INFO of a route (registration) or a later one (gossip, lame duck). */
  routeInfo(route: Route, info: PeerInfo, raw: Record<string, unknown>): void {
    if (info.server_id === this.core.id) {
      const s = route.solicit;
      if (s !== null) {
        s.self = true;
        if (this.logger.debugEnabled) this.logger.debug(`Detected route to self, ignoring "${s.url.redacted}"`);
      }
      route.close(PeerCloseReason.DuplicateRoute);
      return;
    }
    if (info.cluster !== '' && info.cluster !== this.host.clusterName && !this.host.acceptClusterName(info.cluster, info.cluster_dynamic, route)) {
      // The dialling side drops it without a word; the other side says why.
      route.close(PeerCloseReason.ClusterNameConflict);
      return;
    }
    if (route.infoReceived) {
      this.laterInfo(route, info);
      return;
    }
    if (route.solicit === null && info.server_name !== '' && info.server_name === this.core.name) {
      this.logger.error(`${route.label()} - Remote server has a duplicate name: "${info.server_name}"`);
      route.close(PeerCloseReason.DuplicateServerName);
      return;
    }
    route.infoReceived = true;
    route.info = info;
    route.remoteId = info.server_id;
    route.remoteName = info.server_name;
    route.headers = this.host.headersSupported && info.headers;
    // An accepted route's address, should it have to be dialled: advertised, or where it came from.
    route.url ??= this.peerURL(info, route.ip);
    if (route.solicit !== null) route.solicit.remoteId = info.server_id;

    const existing = this.remotes.get(info.server_id);
    if (existing !== undefined) {
      if (this.logger.debugEnabled) this.logger.debug(`${route.label()} - Detected duplicate remote route "${info.server_id}"`);
      // Should the peer have kept this one and dropped the other, the survivor must dial again.
      existing.retry = true;
      route.close(PeerCloseReason.DuplicateRoute);
      return;
    }
    this.register(route, info, raw);
  }

  private register(route: Route, info: PeerInfo, raw: Record<string, unknown>): void {
    this.remotes.set(info.server_id, route);
    route.registered = true;
    if (route.solicit !== null) route.solicit.firstConnect = false;
    if (this.logger.debugEnabled) this.logger.debug(`${route.label()} - Registering remote route "${info.server_id}"`);
    this.host.routeRegistered(route);
    if (this.remotes.size > 1) {
      // Tell the others: each will dial the newcomer (nats-server's gossip).
      const fwd: Record<string, unknown> = { ...raw };
      delete fwd.nonce;
      if (info.ip === '') fwd.ip = `nats-route://${joinHostPort(plainIP(route.ip), info.port)}/`;
      const line = `INFO ${JSON.stringify(fwd)}\r\n`;
      for (const r of this.remotes.values()) if (r !== route) r.send(line, false);
    }
    if (!this.config.noAdvertise) this.urls.add(info);
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
      this.urls.remove(route.info);
      route.info = { ...route.info, connect_urls: [], ws_connect_urls: [] };
    }
  }

  /** A server we heard of through another route: dial it unless already connected or configured. */
  private implicitRoute(info: PeerInfo): void {
    const id = info.server_id;
    if (id === '' || id === this.core.id || this.remotes.has(id)) return;
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
    this.upkeep.unwatch(route);
    const socket = route.socket;
    if (!socket.destroyed) {
      // The peer gets write_deadline to take our last bytes and hang up.
      this.lingering.add(socket);
      socket.once('close', () => this.lingering.delete(socket));
      setTimeout(() => socket.destroy(), this.core.options.write_deadline).unref();
    }
    for (const sub of route.remoteSubs.values()) this.host.remoteInterest.remove(sub);
    route.remoteSubs.clear();
    const wasRegistered = route.registered && this.remotes.get(route.remoteId) === route;
    route.registered = false;
    if (wasRegistered) {
      this.remotes.delete(route.remoteId);
      if (!this.config.noAdvertise && route.info !== null) this.urls.remove(route.info);
    }
    this.logger.info(`${route.label()} - Router connection closed: ${route.closeReason ?? PeerCloseReason.ClientClosed}`);
    if (this.closing) return;
    const s = route.solicit;
    if (s !== null) {
      s.routeOpen = false;
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
    return s.remoteId !== null && s.remoteId < this.core.id ? base + RETRY_MAX_MS : base;
  }

  /**
   * A registered route went away: configured routes that lead to the same
   * server dial again, and so does a survivor of a duplicate race.
   */
  private redial(route: Route): void {
    const id = route.remoteId;
    let dialling = route.solicit !== null && route.solicit.timer !== null;
    for (const s of this.explicit.values()) {
      if (s === route.solicit || s.remoteId !== id || s.self || s.routeOpen || s.timer !== null || s.pending) continue;
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
    if (this.closing || s.routeOpen || s.pending) return;
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
    // No Nagle delay on what we send (the listening side sets the same): a
    // request crossing the route must not wait for the previous one's ACK.
    const socket = net.connect({ host: address, port: url.port, noDelay: true });
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
    const o = this.core.options;
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

/** `host[:port]` as nats-server's parseHostPort reads an advertise value; the port defaults to ours. */
function advertisedAddress(advertise: string, defaultPort: number): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d+))?$/.exec(advertise.trim());
  if (m === null) throw new Error(`Error setting route INFO with Cluster.Advertise value of ${advertise}`);
  const port = m[3] === undefined ? defaultPort : Number.parseInt(m[3], 10);
  return { host: m[1] ?? m[2], port };
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
export function plainIP(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}
