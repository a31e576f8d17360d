/**
 * /metrics: the server's figures in Prometheus' text exposition format
 * (version 0.0.4), so Prometheus can scrape Natter without the separate
 * exporter nats-server needs.
 *
 * Names follow Prometheus' conventions rather than prometheus-nats-exporter's
 * `gnatsd_varz_*`, which mirror /varz fields one to one in their raw units
 * (cpu in percent, for one): every family is `natter_`,
 * counters end in `_total`, units are base units (bytes, seconds). The names
 * are part of the public surface and are documented in the README.
 *
 * Everything is read from the core when scraped; the JSON builders are not
 * involved, and a scrape costs one pass over connections and accounts.
 */
import type { Account } from '../accounts/account.js';
import type { Client } from '../server/client.js';
import { NATTER_VERSION, SERVER_VERSION } from '../server/version.js';
import type { MonitorSource } from './source.js';
import type { JetStream } from '../jetstream/jetstream.js';
import type { MetaView } from '../jetstream/cluster/types.js';
import type { RaftNode } from '../raft/types.js';
import { leadershipCounters } from '../jetstream/cluster/leader-advisories.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type MetricType = 'counter' | 'gauge';

interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Builds the exposition text one family at a time, so a family's samples stay together. */
class Exposition {
  private text = '';

  family(name: string, type: MetricType, help: string, samples: readonly Sample[]): void {
    this.text += `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
    for (const s of samples) this.text += `${name}${formatLabels(s.labels)} ${formatValue(s.value)}\n`;
  }

  /** A family with one unlabelled sample. */
  single(name: string, type: MetricType, help: string, value: number): void {
    this.family(name, type, help, [{ labels: {}, value }]);
  }

  toString(): string {
    return this.text;
  }
}

/** HELP text escapes backslash and line feed only. */
function escapeHelp(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Label values escape backslash, double quote and line feed. */
function escapeLabelValue(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatLabels(labels: Readonly<Record<string, string>>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/** Go's ParseFloat spellings for the values JavaScript prints differently. */
function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** One account's traffic: live connections plus what its closed connections left behind. */
interface AccountFigures {
  readonly account: Account;
  readonly connections: number;
  readonly inMsgs: number;
  readonly inBytes: number;
  readonly outMsgs: number;
  readonly outBytes: number;
}

function accountFigures(acc: Account, clients: ReadonlySet<Client>): AccountFigures {
  const t = acc.closedTotals;
  let inMsgs = t.inMsgs;
  let inBytes = t.inBytes;
  let outMsgs = t.outMsgs;
  let outBytes = t.outBytes;
  for (const c of clients) {
    inMsgs += c.inMsgs;
    inBytes += c.inBytes;
    outMsgs += c.outMsgs;
    outBytes += c.outBytes;
  }
  return { account: acc, connections: clients.size, inMsgs, inBytes, outMsgs, outBytes };
}

/** A Raft group this server is in, with what names it. */
interface GroupSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly node: RaftNode;
}

/** The meta group and every stream and consumer group this server holds. */
function raftGroups(js: JetStream, meta: MetaView): GroupSample[] {
  const out: GroupSample[] = [{ labels: { group: meta.raft.group, kind: 'meta', account: '', stream: '', consumer: '' }, node: meta.raft }];
  for (const account of [...js.accounts.keys()].sort()) {
    for (const sa of meta.streams(account)) {
      const stream = sa.config.name;
      const sr = meta.streamReplica(account, stream);
      if (sr !== null) out.push({ labels: { group: sr.raft.group, kind: 'stream', account, stream, consumer: '' }, node: sr.raft });
      for (const ca of meta.consumers(account, stream)) {
        const cr = meta.consumerReplica(account, stream, ca.name);
        if (cr !== null) out.push({ labels: { group: cr.raft.group, kind: 'consumer', account, stream, consumer: ca.name }, node: cr.raft });
      }
    }
  }
  return out;
}

/** JetStream's figures, and in a cluster its Raft groups'. */
function jetStreamFamilies(out: Exposition, js: JetStream): void {
  const t = js.totals();
  out.single('natter_jetstream_streams', 'gauge', 'Streams (replicas, in a cluster) held by this server.', t.streams);
  out.single('natter_jetstream_consumers', 'gauge', 'Consumers (replicas, in a cluster) held by this server.', t.consumers);
  out.single('natter_jetstream_messages', 'gauge', 'Messages stored in this server\'s streams.', t.messages);
  out.single('natter_jetstream_bytes', 'gauge', 'Bytes stored in this server\'s streams.', t.bytes);
  out.single('natter_jetstream_api_requests_total', 'counter', 'JetStream API requests this server answered.', js.api.total);
  out.single('natter_jetstream_api_errors_total', 'counter', 'JetStream API requests this server answered with an error.', js.api.errors);
  const meta = js.cluster;
  if (meta === null) return;
  const counters = leadershipCounters(meta);
  out.single('natter_jetstream_meta_leader', 'gauge', '1 when this server is the JetStream meta leader.', meta.isLeader() ? 1 : 0);
  out.single('natter_jetstream_meta_leader_changes_total', 'counter', 'Meta leader changes this server has seen.', counters?.metaLeaderChanges ?? 0);
  const groups = raftGroups(js, meta);
  const per = (f: (g: GroupSample) => number): Sample[] => groups.map((g) => ({ labels: g.labels, value: f(g) }));
  const statuses = new Map(groups.map((g) => [g, g.node.status()]));
  const status = (g: GroupSample) => statuses.get(g) ?? g.node.status();
  out.family('natter_raft_group_leader', 'gauge', '1 when this server leads the Raft group.', per((g) => (g.node.isLeader() ? 1 : 0)));
  out.family('natter_raft_group_leader_changes_total', 'counter', 'Leader elections of the Raft group this server has seen (stream and consumer groups).',
    per((g) => counters?.groupLeaderChanges.get(g.node.group) ?? 0));
  out.family('natter_raft_group_term', 'gauge', 'The Raft group\'s current term here.', per((g) => status(g).term));
  out.family('natter_raft_group_commit_lag', 'gauge', 'Entries in this server\'s log of the group not yet known committed.', per((g) => Math.max(0, status(g).lastIndex - status(g).commit)));
  out.family('natter_raft_group_apply_lag', 'gauge', 'Committed entries of the group not yet applied here.', per((g) => Math.max(0, status(g).commit - status(g).applied)));
}

/** The whole /metrics body for `source`, as of now. */
export function renderMetrics(source: MonitorSource): string {
  const out = new Exposition();
  const totals = source.totals();
  const nowMs = Date.now();
  const accounts = [...source.accounts.values()]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((acc) => accountFigures(acc, source.clientsOf(acc)));
  let subscriptions = 0;
  for (const a of accounts) subscriptions += a.account.sublist.size;
  let pending = 0;
  // What /connz reports as each connection's pending_bytes: queued here plus buffered in its socket.
  let websockets = 0;
  for (const c of source.clients.values()) {
    pending += c.out.pending + c.socket.writableLength;
    if (c.connectionType() === 'WEBSOCKET') websockets++;
  }
  const cpu = process.cpuUsage();
  const perAccount = (value: (a: AccountFigures) => number): Sample[] =>
    accounts.map((a) => ({ labels: { account: a.account.name }, value: value(a) }));

  out.family('natter_info', 'gauge', 'Always 1; the labels identify the server.', [{
    labels: {
      server_id: source.id,
      server_name: source.name,
      version: SERVER_VERSION,
      natter_version: NATTER_VERSION,
    },
    value: 1,
  }]);
  out.single('natter_start_time_seconds', 'gauge', 'When the server started, in seconds since the Unix epoch.', source.started.getTime() / 1000);
  out.single('natter_uptime_seconds', 'gauge', 'Seconds since the server started.', (nowMs - source.started.getTime()) / 1000);

  out.single('natter_connections', 'gauge', 'Client connections open now.', source.clients.size);
  out.single('natter_connections_total', 'counter', 'Client connections accepted since the server started.', totals.totalConnections);
  out.single('natter_websocket_connections', 'gauge', 'Client connections over WebSocket open now (counted in natter_connections too).', websockets);
  out.single('natter_max_connections', 'gauge', 'The configured limit on client connections (max_connections).', source.options.max_connections);
  out.single('natter_subscriptions', 'gauge', 'Subscriptions in all accounts.', subscriptions);
  out.single('natter_pending_bytes', 'gauge', 'Bytes waiting to be sent to client connections (the sum of /connz pending_bytes).', pending);
  out.single('natter_slow_consumers_total', 'counter', 'Times a client connection was found to be a slow consumer.', totals.slowConsumers);

  out.single('natter_in_messages_total', 'counter', 'Messages received from client connections.', totals.inMsgs);
  out.single('natter_out_messages_total', 'counter', 'Messages delivered to client connections.', totals.outMsgs);
  out.single('natter_in_bytes_total', 'counter', 'Message bytes (headers and payload) received from client connections.', totals.inBytes);
  out.single('natter_out_bytes_total', 'counter', 'Message bytes (headers and payload) delivered to client connections.', totals.outBytes);

  out.single('natter_accounts', 'gauge', 'Accounts defined, including the global and system accounts.', accounts.length);
  out.family('natter_account_connections', 'gauge', 'Client connections open now, per account.', perAccount((a) => a.connections));
  out.family('natter_account_subscriptions', 'gauge', 'Subscriptions, per account.', perAccount((a) => a.account.sublist.size));
  out.family('natter_account_slow_consumers_total', 'counter', 'Slow consumers found among the account\'s connections.', perAccount((a) => a.account.slowConsumers));
  out.family('natter_account_in_messages_total', 'counter', 'Messages received from the account\'s client connections.', perAccount((a) => a.inMsgs));
  out.family('natter_account_out_messages_total', 'counter', 'Messages delivered to the account\'s client connections.', perAccount((a) => a.outMsgs));
  out.family('natter_account_in_bytes_total', 'counter', 'Message bytes (headers and payload) received from the account\'s client connections.', perAccount((a) => a.inBytes));
  out.family('natter_account_out_bytes_total', 'counter', 'Message bytes (headers and payload) delivered to the account\'s client connections.', perAccount((a) => a.outBytes));

  // Routes of the cluster, labelled by the peer's server id and name (no samples when not clustered).
  const routes = source.cluster?.routes() ?? [];
  const perRoute = (f: (r: (typeof routes)[number]) => number): Sample[] =>
    routes.map((r) => ({ labels: { remote_id: r.remoteId, remote_name: r.remoteName }, value: f(r) }));
  out.single('natter_routes', 'gauge', 'Routes to other cluster members open now.', routes.length);
  out.family('natter_route_pending_bytes', 'gauge', 'Bytes queued for a route and not yet written.', perRoute((r) => r.pendingBytes));
  out.family('natter_route_in_messages_total', 'counter', 'Messages received from a route.', perRoute((r) => r.inMsgs));
  out.family('natter_route_out_messages_total', 'counter', 'Messages sent over a route.', perRoute((r) => r.outMsgs));
  out.family('natter_route_in_bytes_total', 'counter', 'Message bytes received from a route.', perRoute((r) => r.inBytes));
  out.family('natter_route_out_bytes_total', 'counter', 'Message bytes sent over a route.', perRoute((r) => r.outBytes));
  out.family('natter_route_subscriptions', 'gauge', 'Interest a route\'s peer announced.', perRoute((r) => r.subscriptions.length));

  // Leaf node connections, labelled by the other server and the local account (no samples without any).
  const leafs = source.leafnodes?.leafs() ?? [];
  const perLeaf = (f: (l: (typeof leafs)[number]) => number): Sample[] =>
    leafs.map((l) => ({ labels: { remote_id: l.remoteId, remote_name: l.remoteName, account: l.account }, value: f(l) }));
  out.single('natter_leafnodes', 'gauge', 'Leaf node connections open now (accepted and solicited).', leafs.length);
  out.family('natter_leafnode_in_messages_total', 'counter', 'Messages received over a leaf node connection.', perLeaf((l) => l.inMsgs));
  out.family('natter_leafnode_out_messages_total', 'counter', 'Messages sent over a leaf node connection.', perLeaf((l) => l.outMsgs));
  out.family('natter_leafnode_in_bytes_total', 'counter', 'Message bytes received over a leaf node connection.', perLeaf((l) => l.inBytes));
  out.family('natter_leafnode_out_bytes_total', 'counter', 'Message bytes sent over a leaf node connection.', perLeaf((l) => l.outBytes));
  out.family('natter_leafnode_subscriptions', 'gauge', 'Interest the other side of a leaf node connection announced.', perLeaf((l) => l.subscriptions.length));

  const js = source.jetstream;
  if (js !== null) jetStreamFamilies(out, js);

  out.single('natter_process_resident_memory_bytes', 'gauge', 'Resident set size of the server process.', process.memoryUsage.rss());
  out.single('natter_process_heap_used_bytes', 'gauge', 'JavaScript heap in use by the server process.', process.memoryUsage().heapUsed);
  // Only ever grows, hence a counter: its rate() is the number of cores in use.
  out.single('natter_process_cpu_seconds_total', 'counter', 'User and system CPU time the server process has used.', (cpu.user + cpu.system) / 1e6);
  return out.toString();
}
