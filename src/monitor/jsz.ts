/**
 * /jsz: JetStream usage as nats-server 2.9 reports it. Without JetStream
 * every answer is the "disabled" report (zero usage, zero limits). In a
 * JetStream cluster it adds `meta_cluster` (the replicas only on the meta
 * leader, which alone knows their lag), each stream's group `cluster`, and
 * with `raft=1` the Raft group names; `leader-only` answers on the meta
 * leader only.
 */
import { type Handler, type MonitorContext, jsonReply } from './context.js';
import { BadRequest, FilteredRequest } from './query.js';
import { formatTime, nowNanos } from '../text/go-format.js';
import type { JetStream } from '../jetstream/jetstream.js';
import type { JsAccount } from '../jetstream/js-account.js';
import { streamConfigJson } from '../jetstream/stream-config.js';
import { consumerInfo } from '../jetstream/consumer/info.js';
import type { MetaView } from '../jetstream/cluster/types.js';
import { join } from 'node:path';

/** What /jsz may be asked for beyond the totals. */
export interface JszOptions {
  leaderOnly: boolean;
  accounts?: boolean;
  streams?: boolean;
  consumers?: boolean;
  config?: boolean;
  /** Raft group names of streams and consumers (`raft=1`). */
  raft?: boolean;
  /** Only this account's details. */
  account?: string;
}

export const handleJsz: Handler = (ctx, q) => {
  ctx.count('/jsz');
  // Same parameters and order as nats-server, for the same 400s.
  const accounts = q.bool('accounts');
  const streams = q.bool('streams');
  const consumers = q.bool('consumers');
  const config = q.bool('config');
  q.int('offset');
  q.int('limit');
  const leaderOnly = q.bool('leader-only');
  const raft = q.bool('raft');
  const account = q.get('acc');
  return jsonReply(jszData(ctx, { leaderOnly, accounts, streams, consumers, config, raft, account }));
};

/** The /jsz object (also `$SYS.REQ...JSZ`). */
export function jszData(ctx: MonitorContext, o: JszOptions): Record<string, unknown> {
  const js = ctx.source.jetstream;
  if (js === null) {
    // A server without JetStream is never the meta leader.
    if (o.leaderOnly) throw new FilteredRequest('filtered response: not leader');
    return {
      server_id: ctx.source.id,
      now: formatTime(nowNanos()),
      disabled: true,
      config: { max_memory: 0, max_storage: 0 },
      memory: 0,
      storage: 0,
      reserved_memory: 0,
      reserved_storage: 0,
      accounts: 0,
      ha_assets: 0,
      api: { total: 0, errors: 0 },
      streams: 0,
      consumers: 0,
      messages: 0,
      bytes: 0,
    };
  }
  const meta = js.cluster;
  // A single server is its own leader.
  if (o.leaderOnly && meta !== null && !meta.isLeader()) throw new FilteredRequest('filtered response: not leader');
  const t = js.totals();
  const out: Record<string, unknown> = {
    server_id: ctx.source.id,
    now: formatTime(nowNanos()),
    config: jetStreamConfigJson(js),
    ...jetStreamStats(js),
    streams: t.streams,
    consumers: t.consumers,
    messages: t.messages,
    bytes: t.bytes,
  };
  if (meta !== null) out.meta_cluster = metaClusterJson(meta);
  const wantDetails = o.accounts === true || o.streams === true || o.consumers === true || o.config === true || (o.account ?? '') !== '';
  if (wantDetails) {
    const details: Record<string, unknown>[] = [];
    for (const jsa of js.accounts.values()) {
      if (o.account !== undefined && o.account !== '' && jsa.account.name !== o.account) continue;
      details.push(accountDetail(ctx.source.name, meta, jsa, o));
    }
    if (details.length > 0) out.account_details = details;
  }
  return out;
}

/** `config` of /jsz and /varz: the server-wide limits and the store directory. */
export function jetStreamConfigJson(js: JetStream): Record<string, unknown> {
  const c = js.config;
  const o: Record<string, unknown> = { max_memory: c.maxMemory, max_storage: c.maxStore, store_dir: join(c.storeDir, 'jetstream') };
  if (c.domain !== '') o.domain = c.domain;
  return o;
}

/** `meta_cluster`: the meta group as this server sees it (nats-server 2.10's fields). */
function metaClusterJson(meta: MetaView): Record<string, unknown> {
  const ctx = meta.context;
  const st = meta.raft.status();
  const info = ctx.clusterInfo(meta.raft);
  const size = Math.max(meta.raft.peers().length, 1);
  const out: Record<string, unknown> = { name: ctx.clusterName };
  if (st.leader !== null) {
    out.leader = ctx.peerName(st.leader);
    out.peer = st.leader;
  }
  if (meta.isLeader()) out.replicas = info.replicas ?? [];
  out.cluster_size = size;
  out.quorum_needed = Math.floor(size / 2) + 1;
  out.pending = Math.max(0, st.lastIndex - st.applied);
  return out;
}

/** Replicas held here of groups with more than one member (nats-server's HA assets). */
function haAssets(js: JetStream): number {
  const meta = js.cluster;
  if (meta === null) return 0;
  // The meta group is one, as nats-server counts.
  let n = 1;
  for (const name of js.accounts.keys()) {
    for (const sa of meta.streams(name)) {
      const stream = sa.config.name;
      if ((meta.streamReplica(name, stream)?.raft.peers().length ?? 0) > 1) n++;
      for (const ca of meta.consumers(name, stream)) if ((meta.consumerReplica(name, stream, ca.name)?.raft.peers().length ?? 0) > 1) n++;
    }
  }
  return n;
}

/** The usage block shared by /jsz and /varz `jetstream.stats`. */
export function jetStreamStats(js: JetStream): Record<string, unknown> {
  let reservedMemory = 0;
  let reservedStorage = 0;
  for (const jsa of js.accounts.values()) {
    reservedMemory += jsa.reserved('memory', null);
    reservedStorage += jsa.reserved('file', null);
  }
  return {
    memory: js.used('memory'),
    storage: js.used('file'),
    reserved_memory: reservedMemory,
    reserved_storage: reservedStorage,
    accounts: js.accounts.size,
    ha_assets: haAssets(js),
    api: { total: js.api.total, errors: js.api.errors },
  };
}

/** Without clustering every stream's leader is the server holding it (`leader`); in a cluster each stream's group tells. */
function accountDetail(leader: string, meta: MetaView | null, jsa: JsAccount, o: JszOptions): Record<string, unknown> {
  const d: Record<string, unknown> = {
    name: jsa.account.name,
    id: jsa.account.name,
    memory: jsa.used('memory'),
    storage: jsa.used('file'),
    reserved_memory: jsa.reserved('memory', null),
    reserved_storage: jsa.reserved('file', null),
    accounts: 0,
    ha_assets: 0,
    api: { total: jsa.api.total, errors: jsa.api.errors },
  };
  if (o.streams === true || o.consumers === true || o.config === true) {
    const account = jsa.account.name;
    d.stream_detail = [...jsa.streams.values()].map((s) => {
      const replica = meta?.streamReplica(account, s.name) ?? null;
      const cluster = meta === null || replica === null ? { leader } : meta.context.clusterInfo(replica.raft);
      const sd: Record<string, unknown> = { name: s.name, created: s.createdText, cluster };
      if (o.config === true) sd.config = streamConfigJson(s.config());
      sd.state = s.stateJson();
      if (o.consumers === true) {
        const details = s.consumers.sorted().map((c) => consumerDetail(consumerInfo(c), o.config === true, meta !== null));
        if (details.length > 0) sd.consumer_detail = details;
      }
      if (o.raft === true && meta !== null && replica !== null) {
        sd.stream_raft_group = replica.raft.group;
        const groups = meta.consumers(account, s.name).flatMap((ca) => {
          const cr = meta.consumerReplica(account, s.name, ca.name);
          return cr === null ? [] : [{ name: ca.name, raft_group: cr.raft.group }];
        });
        if (groups.length > 0) sd.consumer_raft_groups = groups;
      }
      return sd;
    });
  }
  return d;
}

/**
 * A consumer as nats-server 2.9 lists it under `consumer_detail`: its
 * ConsumerInfo without the response time stamp (`ts`), with `config` only
 * when asked for, and `cluster` only in a JetStream cluster.
 */
function consumerDetail(info: Record<string, unknown>, withConfig: boolean, clustered: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(info)) {
    if (k === 'ts' || (k === 'config' && !withConfig) || (k === 'cluster' && !clustered)) continue;
    out[k] = v;
  }
  return out;
}

/** One account's JetStream usage (`$SYS.REQ.ACCOUNT.<acc>.JSZ`). */
export function jszAccountData(ctx?: MonitorContext, account?: string): Record<string, unknown> {
  const js = ctx?.source.jetstream ?? null;
  if (js === null || account === undefined || !js.accounts.has(account)) throw new BadRequest('jetstream not enabled');
  return jszData(ctx as MonitorContext, { leaderOnly: false, accounts: true, streams: true, account });
}
