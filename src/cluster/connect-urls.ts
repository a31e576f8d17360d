/**
 * The URLs a clustered server offers its clients in INFO `connect_urls`:
 * its own and those every routed server reported, each counted per route
 * that reported it (a URL stays while any route still vouches for it).
 * Client-port clients and websocket clients are told different lists:
 * routes carry both (`connect_urls` and `ws_connect_urls`), as in
 * nats-server.
 */
import { networkInterfaces } from 'node:os';
import type { Logger } from '../log/logger.js';
import type { ServerOptions } from '../server/options.js';
import { joinHostPort } from './config.js';

/** What a routed server reported in its INFO, by kind of client. */
export interface PeerURLs {
  readonly connect_urls: readonly string[];
  readonly ws_connect_urls: readonly string[];
}

/** Both lists; the mesh adds and removes a peer's URLs through here, the server reads each kind. */
export class ConnectURLs {
  /** For clients of the client port. */
  readonly clients: URLSet;
  /** For websocket clients (empty `own` when the websocket listener is off). */
  readonly websocket: URLSet;

  constructor(ownClients: readonly string[], ownWebsocket: readonly string[], logger: Logger) {
    this.clients = new URLSet(ownClients, logger);
    this.websocket = new URLSet(ownWebsocket, logger);
  }

  /** A route registered and reported its server's URLs. */
  add(peer: PeerURLs): void {
    this.clients.add(peer.connect_urls);
    this.websocket.add(peer.ws_connect_urls);
  }

  /** The route that reported them went away, or its server entered lame duck mode. */
  remove(peer: PeerURLs): void {
    this.clients.remove(peer.connect_urls);
    this.websocket.remove(peer.ws_connect_urls);
  }
}

/** One kind's URLs: this server's and the routed servers'. */
export class URLSet {
  /** This server's URLs as host:port, as its route INFO announces them. */
  readonly own: readonly string[];
  private readonly logger: Logger;
  /** URLs of routed servers, counted per route that reported them. */
  private readonly remote = new Map<string, number>();
  private reported = false;
  private readonly listeners: Array<() => void> = [];

  constructor(own: readonly string[], logger: Logger) {
    this.own = own;
    this.logger = logger;
  }

  /** Ours and the routed servers'; empty until a route has reported some of this kind, as nats-server leaves the field out until then. */
  list(): string[] {
    if (!this.reported) return [];
    const out = [...this.own];
    for (const u of this.remote.keys()) if (!out.includes(u)) out.push(u);
    return out;
  }

  /** Called whenever list() changes: time for an async INFO to clients. */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** A route registered and reported its server's client URLs. */
  add(urls: readonly string[]): void {
    let changed = false;
    for (const u of urls) {
      const n = this.remote.get(u) ?? 0;
      this.remote.set(u, n + 1);
      if (n === 0) changed = true;
    }
    if (changed) this.changed();
  }

  /** The route that reported them went away, or its server entered lame duck mode. */
  remove(urls: readonly string[]): void {
    let changed = false;
    for (const u of urls) {
      const n = this.remote.get(u);
      if (n === undefined) continue;
      if (n <= 1) {
        this.remote.delete(u);
        changed = true;
      } else {
        this.remote.set(u, n - 1);
      }
    }
    if (changed) this.changed();
  }

  private changed(): void {
    this.reported = true;
    for (const l of this.listeners) {
      try {
        l();
      } catch (e) {
        this.logger.error(`connect_urls listener failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
}

/**
 * The host:port pairs clients can reach this server's client port at, as
 * nats-server lists them in connect_urls.
 */
export function ownClientURLs(o: ServerOptions, port: number): string[] {
  return ownURLs(o.client_advertise ?? null, o.host, port);
}

/**
 * nats-server's getConnectURLs: the advertised address (its port defaults
 * to the listen port), or the listen address, or for a wildcard listen
 * every non-loopback interface address.
 */
export function ownURLs(advertise: string | null, host: string, port: number): string[] {
  if (advertise !== null && advertise !== '') {
    return [/:\d+$/.test(advertise) && !advertise.endsWith(']') ? advertise : joinHostPort(advertise.replace(/^\[|\]$/g, ''), port)];
  }
  if (host !== '0.0.0.0' && host !== '::' && host !== '') return [joinHostPort(host, port)];
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
