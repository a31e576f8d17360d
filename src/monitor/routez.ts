/**
 * /routez: the routes of this server's cluster with nats-server's keys
 * (no routes and no permissions when clustering is off).
 */
import { type Handler, type MonitorContext, jsonReply } from './context.js';
import { decodeSubs } from './connz.js';
import { formatRtt, formatTime, formatUptime, msToNanos, nanosBetween, nowNanos } from '../text/go-format.js';

export const handleRoutez: Handler = (ctx, q) => {
  const { subs, detail } = decodeSubs(q);
  ctx.count('/routez');
  return jsonReply(routezData(ctx, subs || detail));
};

/** The /routez object (also `$SYS.REQ...ROUTEZ`). */
export function routezData(ctx: MonitorContext, withSubs = false): Record<string, unknown> {
  const cluster = ctx.source.cluster;
  const routes = cluster === null ? [] : cluster.routes();
  const now = nowNanos();
  const out: Record<string, unknown> = { server_id: ctx.source.id, now: formatTime(now) };
  const perms = cluster?.permissions() ?? null;
  if (perms?.import) out.import = perms.import;
  if (perms?.export) out.export = perms.export;
  out.num_routes = routes.length;
  out.routes = routes.map((r) => {
    const start = msToNanos(r.start.getTime());
    const last = msToNanos(r.lastActivity.getTime());
    const route: Record<string, unknown> = { rid: r.rid, remote_id: r.remoteId };
    if (r.remoteName !== '') route.remote_name = r.remoteName;
    route.did_solicit = r.didSolicit;
    route.is_configured = r.isConfigured;
    route.ip = r.ip;
    route.port = r.port;
    route.start = formatTime(start);
    route.last_activity = formatTime(last);
    route.rtt = formatRtt(r.rttMs);
    route.uptime = formatUptime(nanosBetween(start, now));
    route.idle = formatUptime(nanosBetween(last, now));
    if (r.import) route.import = r.import;
    if (r.export) route.export = r.export;
    route.pending_size = r.pendingBytes;
    route.in_msgs = r.inMsgs;
    route.out_msgs = r.outMsgs;
    route.in_bytes = r.inBytes;
    route.out_bytes = r.outBytes;
    route.subscriptions = r.subscriptions.length;
    // nats-server 2.9 lists the subjects only, whatever the subs level.
    if (withSubs && r.subscriptions.length > 0) route.subscriptions_list = r.subscriptions.map((s) => s.subject);
    return route;
  });
  return out;
}
