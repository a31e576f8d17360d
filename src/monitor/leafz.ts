/**
 * /leafz: the leaf connections of this server (accepted and solicited)
 * with nats-server 2.9's keys. `subs=1` lists the subjects each holds for
 * its other side; `acc=<name>` keeps one account's. With no connection
 * `leafs` is null, as nats-server never allocates the list then.
 */
import { type Handler, type MonitorContext, jsonReply } from './context.js';
import { formatRtt, formatTime, nowNanos } from '../text/go-format.js';

export const handleLeafz: Handler = (ctx, q) => {
  ctx.count('/leafz');
  const subs = q.bool('subs');
  const acc = q.get('acc');
  return jsonReply(leafzData(ctx, subs, acc === '' ? null : acc));
};

/** The /leafz object (also `$SYS.REQ...LEAFZ`, for the server or one account). */
export function leafzData(ctx: MonitorContext, withSubs = false, account: string | null = null): Record<string, unknown> {
  const all = ctx.source.leafnodes?.leafs() ?? [];
  const leafs = account === null ? all : all.filter((l) => l.account === account);
  return {
    server_id: ctx.source.id,
    now: formatTime(nowNanos()),
    leafnodes: leafs.length,
    leafs: leafs.length === 0 ? null : leafs.map((l) => {
      const o: Record<string, unknown> = {
        account: l.account,
        ip: l.ip,
        port: l.port,
        rtt: formatRtt(l.rttMs),
        in_msgs: l.inMsgs,
        out_msgs: l.outMsgs,
        in_bytes: l.inBytes,
        out_bytes: l.outBytes,
        subscriptions: l.subscriptions.length,
      };
      if (withSubs && l.subscriptions.length > 0) o.subscriptions_list = l.subscriptions;
      return o;
    }),
  };
}
