/**
 * Exactly one answer per JetStream API request in a cluster.
 *
 * Every JetStream server keeps its `$JS.API.>` subscriptions and, since
 * interest crosses routes, sees each request once, wherever the client is
 * connected. Nothing is forwarded: the server responsible answers and the
 * others stay silent (nats-server's model). Responsible is
 * - the meta leader for what changes or lists the assignments (creates,
 *   updates, deletes, NAMES, LIST, `$JS.API.INFO`, PEER.REMOVE), and for
 *   requests naming a stream or consumer nobody has (10059 / 10014);
 * - the stream's active leader for what reads or changes its data (INFO,
 *   MSG.GET, MSG.DELETE, PURGE, LEADER.STEPDOWN, DIRECT.GET, SNAPSHOT);
 * - the consumer's active leader for INFO, MSG.NEXT and LEADER.STEPDOWN.
 *
 * Without a meta leader for 10 s every server answers 10008 (the requests
 * about one stream after 500 ms, so that a leader that does exist answers
 * first); before that the client times out and retries. A group without a
 * leader for 10 s: its members answer INFO with their own view and refuse
 * the rest with 10008, as nats-server does.
 */
import type { JsApiError } from '../api/errors.js';
import { consumerNotFound, streamNotFound } from '../api/errors.js';
import type { RaftNode } from '../../raft/types.js';
import { clusterNotAvailable, streamOffline } from './cluster-errors.js';
import type { MetaView, RaftGroupSpec } from './types.js';

/** nats-server's lostQuorumInterval: how long a group may be leaderless before servers say so. */
export const LEADERLESS_AFTER_MS = 10_000;
/** How long a non-leader waits before it reports an unavailable cluster (the leader, if any, answers first). */
export const DELAYED_ERROR_MS = 500;

export type Answerer = 'meta' | 'stream' | 'consumer';

/** Who answers a request, and what it names. */
export interface ApiTarget {
  readonly answerer: Answerer;
  /** '' for account-wide requests. */
  readonly stream: string;
  readonly consumer: string;
  /** STREAM.INFO / CONSUMER.INFO: answered by a leaderless group's members with their own view. */
  readonly info: boolean;
  /** DIRECT.GET: no JSON answer; an unknown stream gets none. */
  readonly direct: boolean;
}

export type GateDecision =
  | { readonly kind: 'answer' }
  | { readonly kind: 'silent' }
  | { readonly kind: 'refuse'; readonly error: JsApiError; readonly delayMs: number };

const ANSWER: GateDecision = { kind: 'answer' };
const SILENT: GateDecision = { kind: 'silent' };

function target(answerer: Answerer, stream = '', consumer = '', flags: { info?: boolean; direct?: boolean } = {}): ApiTarget {
  return { answerer, stream, consumer, info: flags.info === true, direct: flags.direct === true };
}

/**
 * CONSUMER.CREATE of a direct consumer (what a nats-server source or
 * mirror on another server asks the origin stream for): answered by the
 * stream's leader alone, which makes it outside the meta layer; nobody
 * answers for an unknown stream.
 */
export function directConsumerTarget(t: readonly string[], body: Buffer): ApiTarget | null {
  if (t[0] !== 'CONSUMER' || t[1] !== 'CREATE' || t.length < 3 || !body.includes('"direct"')) return null;
  let req: unknown;
  try {
    req = JSON.parse(body.toString());
  } catch {
    return null;
  }
  const config = typeof req === 'object' && req !== null ? (req as { config?: unknown }).config : undefined;
  if (typeof config !== 'object' || config === null || (config as { direct?: unknown }).direct !== true) return null;
  return target('stream', t[2], '', { direct: true });
}

/** The target of the tokens after `$JS.API.`; null for subjects the API does not serve. */
export function apiTarget(t: readonly string[]): ApiTarget | null {
  const n = t.length;
  switch (t[0]) {
    case 'INFO':
      return n === 1 ? target('meta') : null;
    case 'STREAM':
      switch (t[1]) {
        case 'CREATE': case 'UPDATE': case 'DELETE': case 'RESTORE':
          return n === 3 ? target('meta', t[2]) : null;
        case 'NAMES': case 'LIST':
          return n === 2 ? target('meta') : null;
        case 'PEER':
          return n === 4 && t[2] === 'REMOVE' ? target('meta', t[3]) : null;
        case 'INFO':
          return n === 3 ? target('stream', t[2], '', { info: true }) : null;
        case 'PURGE': case 'SNAPSHOT':
          return n === 3 ? target('stream', t[2]) : null;
        case 'MSG':
          return n === 4 && (t[2] === 'GET' || t[2] === 'DELETE') ? target('stream', t[3]) : null;
        case 'LEADER':
          return n === 4 && t[2] === 'STEPDOWN' ? target('stream', t[3]) : null;
        default:
          return null;
      }
    case 'CONSUMER':
      switch (t[1]) {
        case 'CREATE':
          return n >= 3 ? target('meta', t[2], n >= 4 ? t[3] : '') : null;
        case 'DURABLE':
          return n === 5 && t[2] === 'CREATE' ? target('meta', t[3], t[4]) : null;
        case 'DELETE': case 'PAUSE': case 'UNPIN':
          return n === 4 ? target('meta', t[2], t[3]) : null;
        case 'NAMES': case 'LIST':
          return n === 3 ? target('meta', t[2]) : null;
        case 'INFO':
          return n === 4 ? target('consumer', t[2], t[3], { info: true }) : null;
        case 'MSG':
          return n === 5 && t[2] === 'NEXT' ? target('consumer', t[3], t[4]) : null;
        case 'LEADER':
          return n === 5 && t[2] === 'STEPDOWN' ? target('consumer', t[3], t[4]) : null;
        default:
          return null;
      }
    case 'DIRECT':
      return n >= 3 && t[1] === 'GET' ? target('stream', t[2], '', { direct: true }) : null;
    default:
      return null;
  }
}

export class ApiGate {
  /** When this server's meta layer started: "leaderless" is only said after a grace period. */
  private readonly started = Date.now();

  constructor(private readonly meta: MetaView) {}

  /** The meta leader, caught up with its own log (so the assignments it reads are complete). */
  isMetaLeader(): boolean {
    return this.meta.isLeader() && this.meta.isCurrent();
  }

  /** No meta leader, for longer than the grace period. */
  metaLeaderless(): boolean {
    return this.meta.leaderName() === '' && Date.now() - this.started > LEADERLESS_AFTER_MS;
  }

  decide(account: string, t: ApiTarget): GateDecision {
    switch (t.answerer) {
      case 'meta':
        if (this.isMetaLeader()) return ANSWER;
        return this.metaLeaderless() ? { kind: 'refuse', error: clusterNotAvailable(), delayMs: 0 } : SILENT;
      case 'stream':
        return this.decideStream(account, t);
      case 'consumer':
        return this.decideConsumer(account, t);
    }
  }

  private unknown(error: JsApiError, direct: boolean): GateDecision {
    if (this.isMetaLeader()) return direct ? SILENT : { kind: 'refuse', error, delayMs: 0 };
    return this.notResponsible();
  }

  private notResponsible(): GateDecision {
    return this.metaLeaderless() ? { kind: 'refuse', error: clusterNotAvailable(), delayMs: DELAYED_ERROR_MS } : SILENT;
  }

  private decideStream(account: string, t: ApiTarget): GateDecision {
    const sa = this.meta.stream(account, t.stream);
    if (sa === null) return this.unknown(streamNotFound(), t.direct);
    const replica = this.meta.streamReplica(account, t.stream);
    if (replica !== null && replica.isActiveLeader()) return ANSWER;
    if (this.isMetaLeader() && !t.direct && this.allPeersOffline(sa.group)) {
      return { kind: 'refuse', error: streamOffline(), delayMs: DELAYED_ERROR_MS };
    }
    if (replica !== null && this.groupLeaderless(replica.raft, sa.created)) {
      if (t.info) return ANSWER;
      return t.direct ? SILENT : { kind: 'refuse', error: clusterNotAvailable(), delayMs: 0 };
    }
    return this.notResponsible();
  }

  private decideConsumer(account: string, t: ApiTarget): GateDecision {
    if (this.meta.stream(account, t.stream) === null) return this.unknown(streamNotFound(), false);
    const ca = this.meta.consumer(account, t.stream, t.consumer);
    if (ca === null) return this.unknown(consumerNotFound(), false);
    const replica = this.meta.consumerReplica(account, t.stream, t.consumer);
    if (replica !== null && replica.isActiveLeader()) return ANSWER;
    if (replica !== null && this.groupLeaderless(replica.raft, ca.created)) {
      return t.info ? ANSWER : { kind: 'refuse', error: clusterNotAvailable(), delayMs: 0 };
    }
    return this.notResponsible();
  }

  /** No leader known to this member, and the group (or this server) is older than the grace period. */
  private groupLeaderless(node: RaftNode, created: string): boolean {
    if (node.leader() !== null) return false;
    const since = Math.max(this.started, Date.parse(created) || 0);
    return Date.now() - since > LEADERLESS_AFTER_MS;
  }

  private allPeersOffline(group: RaftGroupSpec): boolean {
    const self = this.meta.context.selfId;
    const known = new Map(this.meta.peers().map((p) => [p.id, p]));
    return group.peers.every((id) => id !== self && (known.get(id)?.offline ?? true));
  }
}
