/**
 * /varz: server identity, configuration and runtime totals, with nats-server
 * 2.9.10's keys in its order. Keys Go omits when empty (`omitempty`) are left
 * out under the same conditions.
 */
import { jetStreamConfigJson, jetStreamStats } from './jsz.js';
import { availableParallelism } from 'node:os';
import { PROTO_VERSION, SERVER_VERSION } from '../server/version.js';
import { type Handler, type MonitorContext, jsonReply } from './context.js';
import { formatDate, formatTime, formatUptime, msToGoDuration, nanosBetween, msToNanos, nowNanos } from '../text/go-format.js';

/** nats-server's TLS handshake timeout default (seconds); reported while no tls block says otherwise. */
const DEFAULT_TLS_TIMEOUT = 2;

export const handleVarz: Handler = (ctx) => {
  ctx.count('/varz');
  return jsonReply(varzData(ctx));
};

/** The /varz object (also `$SYS.REQ.SERVER...VARZ`). */
export function varzData(ctx: MonitorContext): Record<string, unknown> {
  const source = ctx.source;
  const o = source.options;
  const now = nowNanos();
  const totals = source.totals();

  const v: Record<string, unknown> = {
    server_id: source.id,
    server_name: source.name,
    version: SERVER_VERSION,
    proto: PROTO_VERSION,
    // The runtime in the slot nats-server uses for its Go version, as INFO does.
    go: `node${process.versions.node}`,
    host: o.host,
    port: source.port,
  };
  if (source.authRequired) v.auth_required = true;
  v.max_connections = o.max_connections;
  if (o.max_subscriptions !== 0) v.max_subscriptions = o.max_subscriptions;
  v.ping_interval = msToGoDuration(o.ping_interval);
  v.ping_max = o.ping_max;
  v.http_host = ctx.httpHost;
  v.http_port = o.http_port;
  v.http_base_path = o.http_base_path;
  v.https_port = o.https_port;
  v.auth_timeout = o.auth_timeout / 1000;
  v.max_control_line = o.max_control_line;
  v.max_payload = o.max_payload;
  v.max_pending = o.max_pending;
  // Gateways, leaf nodes, MQTT and websocket when not running (nor JetStream, unless enabled):
  // nats-server shows each as an empty object then (and the cluster too, when off).
  v.cluster = ctx.source.cluster?.varz() ?? {};
  v.gateway = {};
  v.leaf = ctx.source.leafnodes?.varz() ?? {};
  v.mqtt = {};
  v.websocket = ctx.source.websocket?.varz() ?? {};
  const js = ctx.source.jetstream;
  v.jetstream = js === null ? {} : { config: jetStreamConfigJson(js), stats: jetStreamStats(js) };
  v.tls_timeout = tlsTimeout(o.tls);
  v.write_deadline = msToGoDuration(o.write_deadline);
  v.start = formatDate(source.started);
  v.now = formatTime(now);
  v.uptime = formatUptime(nanosBetween(msToNanos(source.started.getTime()), now));
  v.mem = ctx.usage.mem();
  v.cores = availableParallelism();
  // Go's GOMAXPROCS counts threads that run Go code at once; Natter runs its
  // JavaScript on one thread.
  v.gomaxprocs = 1;
  v.cpu = ctx.usage.cpu();
  v.connections = source.clients.size;
  v.total_connections = source.stats.totalConnections;
  v.routes = ctx.source.cluster?.routes().length ?? 0;
  v.remotes = 0;
  v.leafnodes = ctx.source.leafnodes?.leafs().length ?? 0;
  v.in_msgs = totals.inMsgs;
  v.out_msgs = totals.outMsgs;
  v.in_bytes = totals.inBytes;
  v.out_bytes = totals.outBytes;
  v.slow_consumers = totals.slowConsumers;
  v.subscriptions = ctx.subscriptionCount();
  v.http_req_stats = ctx.requestStats();
  v.config_load_time = formatDate(ctx.source.configLoadTime);
  const sys = ctx.systemAccount();
  if (sys !== '') v.system_account = sys;
  return v;
}

function tlsTimeout(tls: Record<string, unknown> | undefined): number {
  const t = tls?.timeout;
  return typeof t === 'number' && t > 0 ? t : DEFAULT_TLS_TIMEOUT;
}
