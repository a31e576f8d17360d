/**
 * What the rest of the server sees of the leaf node layer: the handle
 * startLeafNodes returns and the shapes /leafz, /varz and /metrics read.
 * Types only, so the server and monitoring depend on this module and not
 * on the leaf node implementation.
 */

import type { PeerTransport } from '../server/peer-connection.js';

/**
 * A leaf connection's websocket as the websocket listener hands it over
 * (websocket/peer-transport.ts). Named by its shape, so that these types,
 * which the server's own declarations reach, do not name the `ws` library's.
 */
export interface UpgradedLeafTransport extends PeerTransport {
  /** The websocket runs over TLS (wss). */
  readonly secure: boolean;
}

/** One leaf connection as /leafz shows it (raw values; the monitor formats them). */
export interface LeafInfo {
  /** The server on the other side: its id and name (from its INFO or CONNECT). */
  readonly remoteId: string;
  readonly remoteName: string;
  /** The local account the connection is bound to. */
  readonly account: string;
  readonly ip: string;
  readonly port: number;
  /** Round trip of the last PING, in milliseconds; 0 before the first PONG. */
  readonly rttMs: number;
  readonly inMsgs: number;
  readonly outMsgs: number;
  readonly inBytes: number;
  readonly outBytes: number;
  /** The subjects of the interest the other side announced (held here on its behalf). */
  readonly subscriptions: readonly string[];
}

export interface LeafNodeHandle {
  /**
   * A leaf connection the websocket listener upgraded on the leafnode path;
   * false when this server accepts no leaf connections (no leafnode port).
   */
  acceptWebsocket(transport: UpgradedLeafTransport): boolean;
  /** Open leaf connections (both accepted and solicited) that finished their handshake. */
  leafs(): LeafInfo[];
  /** The `leaf` object of /varz, in nats-server's key order. */
  varz(): Record<string, unknown>;
  close(): Promise<void>;
}
