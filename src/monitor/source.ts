/**
 * What monitoring reads of a server beyond the core: the connection tables,
 * traffic totals, and the subsystems it reports on. Types only; the HTTP
 * endpoints, `/metrics` and the `$SYS.REQ.SERVER` responders all take a
 * MonitorSource, never the concrete Server.
 */
import type { ClusterHandle } from '../cluster/handle.js';
import type { LeafNodeHandle } from '../leafnode/handle.js';
import type { JetStream } from '../jetstream/jetstream.js';
import type { Client } from '../server/client.js';
import type { ClosedConnections } from '../server/closed-connections.js';
import type { ServerCore } from '../server/core.js';
import type { WebsocketHandle } from '../websocket/handle.js';

/** Traffic and connection counters, as /varz, /connz and `$SYS` report them. */
export interface ServerStats {
  inMsgs: number;
  inBytes: number;
  outMsgs: number;
  outBytes: number;
  slowConsumers: number;
  totalConnections: number;
}

export interface MonitorSource extends ServerCore {
  /** Open client connections by connection id. */
  readonly clients: ReadonlyMap<number, Client>;
  /** The most recent closed connections, for /connz?state=closed. */
  readonly closed: ClosedConnections;
  /** Counters folded in from closed connections. */
  readonly stats: Readonly<ServerStats>;
  /** Counters including open connections. */
  totals(): ServerStats;
  /** When the configuration was last loaded (start or accepted reload). */
  readonly configLoadTime: Date;
  readonly inLameDuck: boolean;
  /** Whether clients must authenticate. */
  readonly authRequired: boolean;
  /** The cluster layer, when this server is part of one. */
  readonly cluster: ClusterHandle | null;
  /** Leaf node connections, when the configuration has a leafnodes block. */
  readonly leafnodes: LeafNodeHandle | null;
  /** The websocket listener, when it runs. */
  readonly websocket: WebsocketHandle | null;
  /** The JetStream engine when enabled. */
  readonly jetstream: JetStream | null;
}
