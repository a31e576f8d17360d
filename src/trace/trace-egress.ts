/**
 * Where a traced message leaves this server: each client subscription it
 * reaches (or would reach, for Nats-Trace-Only), each leaf connection, each
 * route, with nats-server's reasons when it does not go. The message
 * router and the route forwarder call in here only while a trace is
 * active (see trace-scope.ts).
 */
import type { ClientPermissions } from '../auth/permissions.js';
import type { RoutedMessage } from '../server/routed-message.js';
import type { Subscriber, Subscription } from '../server/subscription.js';
import { TRACE_ERR, TraceKind, type MsgTrace } from './msg-trace.js';
import { withTraceHop } from './trace-headers.js';

/** nats-server's server-to-server protocol level that understands message tracing (MsgTraceProto). */
export const MSG_TRACE_PROTO = 3;

/** What a client connection shows of itself to a trace. */
interface TracedClient {
  readonly closed: boolean;
  readonly echo: boolean;
  readonly name: string;
  readonly account: { readonly name: string };
  readonly perms: ClientPermissions | null;
}

/** What a leaf connection shows of itself to a trace. */
interface TracedLeaf {
  readonly remoteName: string;
  readonly account: { readonly name: string };
}

/** A route as the forwarder hands traced messages to it. */
export interface TracedRoute {
  readonly rid: number;
  readonly remoteName: string;
  /** The peer's INFO; its `proto` tells whether it traces too. */
  readonly info: { readonly proto: number } | null;
  sendMsg(account: string, subject: string, reply: string | null, queues: readonly string[] | null, hdrLen: number, buf: Buffer, start: number, end: number): void;
}

/**
 * Delivers `m` to `sub` of connection `c` under trace `t` and records the
 * egress. Trace-only: a client subscription is reported, not delivered
 * to. `leaf`: `c` stands for a leaf node server, which takes the message
 * once whatever number of its subscriptions match.
 */
export function traceEgress(t: MsgTrace, c: Subscriber, sub: Subscription, m: RoutedMessage, head: string, tail: string, leaf: boolean): boolean {
  if (leaf) return leafEgress(t, c, sub, m, head, tail);
  const cl = c as unknown as TracedClient;
  let refusal = '';
  if (m.publisher === (c as unknown) && !cl.echo) refusal = TRACE_ERR.noEcho;
  else if (cl.perms !== null && cl.perms.filtersDeliveries && cl.perms.deniesDelivery(m.subject)) refusal = TRACE_ERR.subDeny;
  else if (sub.closed) refusal = TRACE_ERR.subClosed;
  if (t.traceOnly) {
    t.addEgress(TraceKind.Client, c.cid, cl.name, '', cl.account.name, sub.subject, sub.queue, refusal);
    return refusal === '';
  }
  if (refusal === '') {
    if (sub.max > 0 && sub.delivered >= sub.max) refusal = TRACE_ERR.autoSubExceeded;
    else if (cl.closed) refusal = TRACE_ERR.clientClosed;
  }
  const delivered = c.deliver(sub, m, head, tail);
  t.addEgress(TraceKind.Client, c.cid, cl.name, '', cl.account.name, sub.subject, sub.queue, delivered ? '' : refusal || TRACE_ERR.clientClosed);
  return delivered;
}

/**
 * Natter's leaf connections do not carry Nats-Trace-Hop, so the remote's
 * own trace event (if it makes one) cannot be linked to this one: the
 * egress says what nats-server says of a remote without tracing, and a
 * trace-only message does not go, lest the remote deliver it.
 */
function leafEgress(t: MsgTrace, c: Subscriber, sub: Subscription, m: RoutedMessage, head: string, tail: string): boolean {
  const l = c as unknown as TracedLeaf;
  if (t.traceOnly) {
    if (t.firstLeafEgress(c.cid)) t.addEgress(TraceKind.Leaf, c.cid, l.remoteName, '', l.account.name, '', null, TRACE_ERR.onlyNoSupport);
    return false;
  }
  const delivered = c.deliver(sub, m, head, tail);
  if (delivered && t.firstLeafEgress(c.cid)) t.addEgress(TraceKind.Leaf, c.cid, l.remoteName, '', l.account.name, '', null, TRACE_ERR.noSupport);
  return delivered;
}

/**
 * Sends a traced message to the routes picked for it: each tracing peer
 * gets it with its own Nats-Trace-Hop (and makes its own trace event);
 * a peer that does not trace gets it only when it is delivered for real.
 * Returns how many routes got it.
 */
export function forwardTraced(t: MsgTrace, routes: readonly TracedRoute[], queues: readonly (readonly string[] | null)[], count: number,
  account: string, subject: string, reply: string | null, hdrLen: number, buf: Buffer, start: number, end: number): number {
  let sent = 0;
  for (let i = 0; i < count; i++) {
    const r = routes[i];
    if ((r.info?.proto ?? 0) < MSG_TRACE_PROTO) {
      if (t.traceOnly) {
        t.addEgress(TraceKind.Router, r.rid, r.remoteName, '', '', '', null, TRACE_ERR.onlyNoSupport);
        continue;
      }
      r.sendMsg(account, subject, reply, queues[i], hdrLen, buf, start, end);
      t.addEgress(TraceKind.Router, r.rid, r.remoteName, '', '', '', null, TRACE_ERR.noSupport);
      sent++;
      continue;
    }
    const hop = t.nextHop();
    const w = withTraceHop(buf, start, hdrLen, end, hop);
    r.sendMsg(account, subject, reply, queues[i], w.hdrLen, w.buf, 0, w.buf.length);
    t.addEgress(TraceKind.Router, r.rid, r.remoteName, hop, '', '', null, '');
    sent++;
  }
  return sent;
}
