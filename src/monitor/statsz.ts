/**
 * The server statistics nats-server sends as STATSZ over the system account
 * (periodically and on `$SYS.REQ.SERVER.PING`). There is no HTTP endpoint for
 * them; they are built from the same figures as /varz.
 */
import { availableParallelism } from 'node:os';
import type { MonitorContext } from './context.js';
import { formatDate } from '../text/go-format.js';

/** nats-server's DataStats. */
export interface DataStatsJson {
  msgs: number;
  bytes: number;
}

/** nats-server 2.9.10's ServerStats for a server without routes, gateways or JetStream. */
export interface StatszJson {
  start: string;
  mem: number;
  cores: number;
  cpu: number;
  connections: number;
  total_connections: number;
  active_accounts: number;
  subscriptions: number;
  sent: DataStatsJson;
  received: DataStatsJson;
  slow_consumers: number;
  active_servers: number;
}

export function statszData(ctx: MonitorContext): StatszJson {
  const source = ctx.source;
  const totals = source.totals();
  let activeAccounts = 0;
  for (const acc of source.accounts.values()) if (source.clientsOf(acc).size > 0) activeAccounts++;
  return {
    start: formatDate(source.started),
    mem: ctx.usage.mem(),
    cores: availableParallelism(),
    cpu: ctx.usage.cpu(),
    connections: source.clients.size,
    total_connections: source.stats.totalConnections,
    active_accounts: activeAccounts,
    subscriptions: ctx.subscriptionCount(),
    sent: { msgs: totals.outMsgs, bytes: totals.outBytes },
    received: { msgs: totals.inMsgs, bytes: totals.inBytes },
    slow_consumers: totals.slowConsumers,
    // Without routes this server is the only one it knows of.
    active_servers: 1,
  };
}
