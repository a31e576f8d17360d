/**
 * The JSON the server publishes in the system account, with nats-server
 * 2.9.10's keys, order and omissions (Go's `omitempty`): the `server` block
 * every event and API reply carries, the `client` block of connection
 * events, and the events themselves.
 *
 * Deliberate difference: nats-server reports a token user's token as the
 * client's `user`; a credential has no place in an event stream, so a token
 * client has no `user` here.
 */
import type { Account } from './account.js';
import type { Client } from '../server/client.js';
import type { ServerCore } from '../server/core.js';
import { SERVER_VERSION } from '../server/version.js';
import { formatDate, formatTime, marshalCompact, nowNanos } from '../text/go-format.js';
import type { DataStatsJson } from '../monitor/statsz.js';
import type { AccountStatJson } from '../monitor/accountz.js';
import { EventIds } from './event-ids.js';
import { clientInfo, type ClientInfoJson } from './client-info.js';

export const CONNECT_EVENT_TYPE = 'io.nats.server.advisory.v1.client_connect';
export const DISCONNECT_EVENT_TYPE = 'io.nats.server.advisory.v1.client_disconnect';
export const ACCOUNT_CONNECTIONS_EVENT_TYPE = 'io.nats.server.advisory.v1.account_connections';

/** nats-server's ServerInfo: who sent a system message, with a per-server message sequence. */
export interface ServerInfoJson {
  name: string;
  host: string;
  id: string;
  ver: string;
  seq: number;
  jetstream: boolean;
  time: string;
}

export interface ConnectEventJson {
  type: typeof CONNECT_EVENT_TYPE;
  id: string;
  timestamp: string;
  server: ServerInfoJson;
  client: ClientInfoJson;
}

export interface DisconnectEventJson {
  type: typeof DISCONNECT_EVENT_TYPE;
  id: string;
  timestamp: string;
  server: ServerInfoJson;
  client: ClientInfoJson;
  /** What the client sent (the server's inbound), as nats-server counts it. */
  sent: DataStatsJson;
  received: DataStatsJson;
  reason: string;
}

/** nats-server's AccountNumConns: an account's connection count and traffic. */
export interface AccountConnectionsEventJson {
  type: typeof ACCOUNT_CONNECTIONS_EVENT_TYPE;
  id: string;
  timestamp: string;
  server: ServerInfoJson;
  acc: string;
  conns: number;
  leafnodes: number;
  total_conns: number;
  sent: DataStatsJson;
  received: DataStatsJson;
  slow_consumers: number;
}

/** Stamps and sends the server's own messages. */
export class SystemMessages {
  private readonly server: ServerCore;
  private readonly ids = new EventIds();
  private seq = 0;

  constructor(server: ServerCore) {
    this.server = server;
  }

  /** The `server` block for the next message; each call takes the next sequence number. */
  serverInfo(): ServerInfoJson {
    const s = this.server;
    return {
      name: s.name,
      host: s.options.host,
      id: s.id,
      ver: SERVER_VERSION,
      seq: ++this.seq,
      jetstream: false,
      time: formatTime(nowNanos()),
    };
  }

  /** The `server` block without a sequence number, for identity-only answers. */
  serverId(): { name: string; host: string; id: string } {
    const s = this.server;
    return { name: s.name, host: s.options.host, id: s.id };
  }


  /**
   * Whether a message to `subject` in `acc` could reach anyone. Events are
   * built only then: they sum counters over connections, and a connection
   * storm should not pay for events nobody listens to.
   */
  wanted(acc: Account, subject: string): boolean {
    return acc.crossAccount || acc.sublist.hasInterest(subject);
  }

  /** Publishes `body` as Go would marshal it, routed in `acc` like any publish. */
  publish(acc: Account, subject: string, body: unknown): void {
    this.server.publishInternal(acc, subject, null, marshalCompact(body));
  }

  connectEvent(c: Client): ConnectEventJson {
    return {
      type: CONNECT_EVENT_TYPE,
      id: this.ids.next(),
      timestamp: formatTime(nowNanos()),
      server: this.serverInfo(),
      client: clientInfo(c, null),
    };
  }

  /**
   * The account's connection count. nats-server sends it to two subjects with
   * one id and timestamp, each copy with its own sequence number: call the
   * result once per copy.
   */
  accountConnectionsEvent(stat: AccountStatJson): () => AccountConnectionsEventJson {
    const id = this.ids.next();
    const timestamp = formatTime(nowNanos());
    return () => ({ type: ACCOUNT_CONNECTIONS_EVENT_TYPE, id, timestamp, server: this.serverInfo(), ...stat });
  }

  /** A closed (or refused) connection; `account` is the name the event reports. */
  disconnectEvent(c: Client, stop: Date, reason: string, account: string): DisconnectEventJson {
    return {
      type: DISCONNECT_EVENT_TYPE,
      id: this.ids.next(),
      timestamp: formatDate(stop),
      server: this.serverInfo(),
      client: clientInfo(c, stop, account),
      sent: { msgs: c.inMsgs, bytes: c.inBytes },
      received: { msgs: c.outMsgs, bytes: c.outBytes },
      reason,
    };
  }
}

