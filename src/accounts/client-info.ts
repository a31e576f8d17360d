/**
 * nats-server's ClientInfo block: who a connection is, as `$SYS` connection
 * events and JetStream advisories describe it. A leaf module, so that every
 * subsystem can describe a client without importing the system services.
 */
import type { ClientIdentity } from '../server/client-identity.js';
import { formatDate } from '../text/go-format.js';

/** nats-server's ClientInfo as connection events fill it. */
export interface ClientInfoJson {
  start: string;
  host?: string;
  id: number;
  acc: string;
  user?: string;
  name?: string;
  lang?: string;
  ver?: string;
  /** Nanoseconds (a Go Duration). */
  rtt?: number;
  stop?: string;
  kind: 'Client';
  client_type: 'nats';
}

/**
 * A connection's ClientInfo in nats-server's key order, leaving out what Go's
 * omitempty leaves out. A stop time marks a closed connection, which also
 * reports its RTT.
 */
export function clientInfo(c: ClientIdentity, stop: Date | null, account = c.account.name): ClientInfoJson {
  const rtt = stop === null ? 0 : rttNanos(c.rtt);
  return {
    start: formatDate(c.start),
    ...(c.host !== '' ? { host: c.host } : {}),
    id: c.cid,
    acc: account,
    ...(c.authUser !== '' ? { user: c.authUser } : {}),
    ...(c.name !== '' ? { name: c.name } : {}),
    ...(c.lang !== '' ? { lang: c.lang } : {}),
    ...(c.version !== '' ? { ver: c.version } : {}),
    ...(rtt > 0 ? { rtt } : {}),
    ...(stop !== null ? { stop: formatDate(stop) } : {}),
    kind: 'Client',
    client_type: 'nats',
  };
}

/** A measured RTT (milliseconds) as nats-server's Duration: microseconds between 1µs and 1ms, else nanoseconds. */
function rttNanos(ms: number): number {
  const ns = Math.round(ms * 1_000_000);
  if (ns > 1000 && ns < 1_000_000) return Math.trunc(ns / 1000) * 1000;
  return ns;
}
