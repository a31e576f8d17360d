/**
 * What the rest of the server sees of the cluster layer: the handle
 * startCluster returns, and the shapes /routez and /varz read through it.
 * Types only, so the server and monitoring depend on this module and not on
 * the cluster's implementation.
 */
import type { SubjectPermissionConfig } from '../auth/permissions.js';
import type { ClusterPermissions } from './config.js';

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
  /** The same for websocket clients: this server's websocket URLs and those routed servers reported (`ws_connect_urls`). */
  websocketConnectURLs(): string[];
  /** Called whenever websocketConnectURLs() changes: time for an async INFO to websocket clients. */
  onWebsocketConnectURLsChanged(listener: () => void): void;
  /** The cluster section of /varz; null when clustering is off. */
  varz(): ClusterVarz | null;
  /** The configured route permissions (import/export), for /routez; null when none or clustering is off. */
  permissions(): ClusterPermissions | null;
  /** The route listener as a URL (`nats://host:port`) for the ports file; empty when clustering is off. */
  listenURLs(): string[];
  /**
   * For Server.lameDuck(): tells every route this server is going away, so
   * the other servers stop offering its client URLs (nats-server sends
   * this INFO once, with `ldm`).
   */
  enterLameDuck(): void;
}
