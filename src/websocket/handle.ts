/**
 * What the rest of the server sees of the websocket listener (/varz, the
 * ports file). Types only, so the server and monitoring depend on this
 * module and not on the listener's implementation.
 */
export interface WebsocketHandle {
  /** Where websocket clients connect: `ws://host:port` or `wss://host:port`. */
  readonly urls: readonly string[];
  /**
   * This server's websocket URLs as host:port, as route INFO announces
   * them in `ws_connect_urls` (the advertised address, or every interface
   * address for a wildcard listen, as nats-server's getConnectURLs).
   */
  readonly connectURLs: readonly string[];
  /**
   * The cluster's name and the websocket URLs of this server and its
   * routed servers, for websocket clients' INFO (`cluster`,
   * `connect_urls`); a changed URL list is sent to connected websocket
   * clients in an async INFO, as nats-server does.
   */
  setCluster(name: string, connectURLs: readonly string[]): void;
  /** /varz's `websocket` object, in nats-server's key order (empty keys left out, as Go's omitempty does). */
  varz(): Record<string, unknown>;
}
