/**
 * Leadership news of a JetStream cluster: the advisories nats-server sends
 * and the counters /metrics shows.
 * - `$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED.<s>` and
 *   `CONSUMER.LEADER_ELECTED.<s>.<c>` from the new leader of a group with
 *   more than one replica; `STREAM.QUORUM_LOST.<s>` / `CONSUMER.QUORUM_LOST.<s>.<c>`
 *   from a leader that no longer hears from a quorum (at most one per group
 *   per 10 s). Each goes to the asset's account and, with `account`, to the
 *   system account.
 * - `$JS.EVENT.ADVISORY.DOMAIN.LEADER_ELECTED` (system account) from a new
 *   meta leader.
 * The meta leader and quorums are looked at once a second: Raft has no
 * listener for them beyond the replicas' own.
 */
import type { Account } from '../../accounts/account.js';
import { publishAdvisory } from '../advisories.js';
import type { JetStream } from '../jetstream.js';
import type { RaftNode } from '../../raft/types.js';
import type { MetaView } from './types.js';

const ADVISORY = '$JS.EVENT.ADVISORY.';
const TYPE = 'io.nats.jetstream.advisory.v1.';
const WATCH_EVERY_MS = 1000;
/** At most one quorum-lost advisory per group in this long (nats-server's rule). */
const QUORUM_LOST_EVERY_MS = 10_000;
/** A peer heard from within this long counts towards a leader's quorum (three heartbeats). */
const QUORUM_SEEN_MS = 3000;

/** Counters /metrics reads. */
export interface LeadershipCounters {
  /** Meta leader changes seen by this server. */
  readonly metaLeaderChanges: number;
  /** Leader elections seen by this server, by Raft group name. */
  readonly groupLeaderChanges: ReadonlyMap<string, number>;
}

const watches = new WeakMap<MetaView, ClusterWatch>();

/** The counters of the watch running for `meta`, if any. */
export function leadershipCounters(meta: MetaView): LeadershipCounters | null {
  return watches.get(meta) ?? null;
}

export class ClusterWatch implements LeadershipCounters {
  metaLeaderChanges = 0;
  readonly groupLeaderChanges = new Map<string, number>();
  private lastMetaLeader = '';
  private readonly quorumLostAt = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly js: JetStream, private readonly meta: MetaView) {
    watches.set(meta, this);
    this.timer = setInterval(() => this.tick(), WATCH_EVERY_MS);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    watches.delete(this.meta);
  }

  /** A group this server is in has a leader (`self`: this server). */
  leaderElected(kind: 'stream' | 'consumer', account: Account, stream: string, consumer: string | null, self: boolean): void {
    const replica = consumer === null ? this.meta.streamReplica(account.name, stream) : this.meta.consumerReplica(account.name, stream, consumer);
    if (replica === null) return;
    const group = replica.raft.group;
    this.groupLeaderChanges.set(group, (this.groupLeaderChanges.get(group) ?? 0) + 1);
    if (!self || replica.raft.peers().length <= 1) return;
    const body: Record<string, unknown> = { stream };
    if (kind === 'consumer') body.consumer = consumer;
    body.leader = this.js.core.name;
    body.replicas = this.meta.context.clusterInfo(replica.raft).replicas ?? [];
    const subject = kind === 'stream' ? `${ADVISORY}STREAM.LEADER_ELECTED.${stream}` : `${ADVISORY}CONSUMER.LEADER_ELECTED.${stream}.${consumer}`;
    this.send(account, subject, `${TYPE}${kind}_leader_elected`, body);
  }

  /** To the asset's account, and to the system account naming the account (nats-server's field order: account first). */
  private send(account: Account, subject: string, type: string, body: Record<string, unknown>): void {
    const domain = this.js.config.domain;
    const full = domain === '' ? body : { ...body, domain };
    publishAdvisory(this.js.core, account, subject, type, full);
    const sys = this.js.core.accounts.get(this.js.core.systemAccountName);
    if (sys !== undefined && sys !== account) publishAdvisory(this.js.core, sys, subject, type, { account: account.name, ...full });
  }

  private tick(): void {
    const leader = this.meta.leaderName();
    if (leader !== this.lastMetaLeader) {
      if (leader !== '') this.metaLeaderChanges++;
      this.lastMetaLeader = leader;
      if (this.meta.isLeader()) this.domainLeaderElected();
    }
    for (const [name, jsa] of this.js.accounts) {
      for (const sa of this.meta.streams(name)) {
        const stream = sa.config.name;
        const sr = this.meta.streamReplica(name, stream);
        if (sr !== null) this.checkQuorum(jsa.account, sr.raft, 'stream', stream, null);
        for (const ca of this.meta.consumers(name, stream)) {
          const cr = this.meta.consumerReplica(name, stream, ca.name);
          if (cr !== null) this.checkQuorum(jsa.account, cr.raft, 'consumer', stream, ca.name);
        }
      }
    }
  }

  private domainLeaderElected(): void {
    const sys = this.js.core.accounts.get(this.js.core.systemAccountName);
    if (sys === undefined) return;
    const body: Record<string, unknown> = {};
    if (this.js.config.domain !== '') body.domain = this.js.config.domain;
    body.cluster = this.meta.context.clusterName;
    body.leader = this.meta.context.selfId;
    body.replicas = this.meta.context.clusterInfo(this.meta.raft).replicas ?? [];
    publishAdvisory(this.js.core, sys, `${ADVISORY}DOMAIN.LEADER_ELECTED`, `${TYPE}domain_leader_elected`, body);
  }

  private checkQuorum(account: Account, node: RaftNode, kind: 'stream' | 'consumer', stream: string, consumer: string | null): void {
    if (!node.isLeader()) return;
    const st = node.status();
    if (st.peers.length <= 1) return;
    let heard = 1;
    for (const p of st.peers) if (p.id !== st.id && p.lastSeenMs >= 0 && p.lastSeenMs < QUORUM_SEEN_MS) heard++;
    const quorum = Math.floor(node.peers().length / 2) + 1;
    if (heard >= quorum) return;
    const now = Date.now();
    if (now - (this.quorumLostAt.get(node.group) ?? 0) < QUORUM_LOST_EVERY_MS) return;
    this.quorumLostAt.set(node.group, now);
    const body: Record<string, unknown> = { stream };
    if (consumer !== null) body.consumer = consumer;
    body.replicas = this.meta.context.clusterInfo(node).replicas ?? [];
    const subject = consumer === null ? `${ADVISORY}STREAM.QUORUM_LOST.${stream}` : `${ADVISORY}CONSUMER.QUORUM_LOST.${stream}.${consumer}`;
    this.send(account, subject, `${TYPE}${kind}_quorum_lost`, body);
  }
}
