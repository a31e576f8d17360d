/**
 * Where a new stream or consumer group lives, by nats-server's rules: the
 * placement's cluster (else the requester's), servers carrying every wanted
 * tag and none of the `!x` excluded ones (nor `!jetstream`), room for
 * `max_bytes`, at most one server per value of the jetstream `unique_tag`
 * prefix; among those, online servers first, then the fewest replicated
 * assets (R>1), then the most free storage. At least a quorum (R/2+1) of the
 * chosen servers must be online. Failures are 10005 "no suitable peers for
 * placement" with what ruled the servers out.
 *
 * A consumer lives on its stream's servers: all of them when it has the
 * stream's replica count, an online-first subset when it has fewer.
 */
import { randomBytes } from 'node:crypto';
import type { PlacementConfig, StorageType } from '../types.js';
import { JsApiError, streamInvalidConfig } from '../api/errors.js';
import { uniqueTagOf } from './mode.js';
import type { JsPeer, MetaView, RaftGroupSpec, StreamAssignment } from './types.js';

const MAX_REPLICAS = 5;

const NAME_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A new group's name as nats-server makes them: `S-R3F-<8>` for a stream, `C-R1M-<8>` for a consumer. */
function newGroupName(kind: 'stream' | 'consumer', replicas: number, store: StorageType): string {
  let suffix = '';
  for (const b of randomBytes(8)) suffix += NAME_ALPHABET[b % NAME_ALPHABET.length];
  return `${kind === 'stream' ? 'S' : 'C'}-R${replicas}${store === 'memory' ? 'M' : 'F'}-${suffix}`;
}

/** nats-server's selectPeerError: why candidates were ruled out. */
class Reasons {
  offline = false;
  noStorage = false;
  uniqueTag = false;
  readonly tagsNotMatched = new Set<string>();
  readonly tagsExcluded = new Set<string>();

  error(): JsApiError {
    let text = 'no suitable peers for placement';
    if (this.offline) text += ', peer offline';
    if (this.noStorage) text += ', insufficient storage';
    if (this.uniqueTag) text += ', server tag not unique';
    if (this.tagsNotMatched.size > 0) text += `, tags not matched [${quoted(this.tagsNotMatched)}]`;
    if (this.tagsExcluded.size > 0) text += `, tags excluded [${quoted(this.tagsExcluded)}]`;
    return new JsApiError(400, 10005, text);
  }
}

function quoted(set: Set<string>): string {
  return [...set].sort().map((t) => `'${t}'`).join(', ');
}

function quorum(n: number): number {
  return Math.floor(n / 2) + 1;
}

/** The value of the unique tag (`az:1` → `1` for prefix `az:`), null when the server has none. */
function uniqueValue(peer: JsPeer, prefix: string): string | null {
  for (const t of peer.tags) if (t.startsWith(prefix)) return t.slice(prefix.length);
  return null;
}

/** Online first; for replicated groups the least loaded with replicated assets; then the most free space; ties at random. */
function preferenceOrder(peers: JsPeer[], storage: StorageType, replicated: boolean): JsPeer[] {
  const tiebreak = new Map(peers.map((p) => [p.id, Math.random()]));
  return [...peers].sort((a, b) => {
    if (a.offline !== b.offline) return a.offline ? 1 : -1;
    if (replicated && a.haAssets !== b.haAssets) return a.haAssets - b.haAssets;
    const free = (b.available[storage] ?? 0) - (a.available[storage] ?? 0);
    if (free !== 0) return free;
    return (tiebreak.get(a.id) ?? 0) - (tiebreak.get(b.id) ?? 0);
  });
}

/**
 * Chooses the servers of a new group. `maxBytes` is the stream's max_bytes
 * (≤ 0: no reservation). `clientCluster` is the requester's cluster, used
 * when the placement names none.
 */
export function placeGroup(
  view: MetaView,
  kind: 'stream' | 'consumer',
  replicas: number,
  storage: StorageType,
  placement: PlacementConfig | undefined,
  clientCluster: string,
  maxBytes: number,
): RaftGroupSpec | JsApiError {
  if (replicas > MAX_REPLICAS) return streamInvalidConfig(`maximum replicas is ${MAX_REPLICAS}`);
  const r = Math.max(1, replicas);
  const cluster = placement?.cluster !== undefined && placement.cluster !== '' ? placement.cluster : clientCluster !== '' ? clientCluster : view.context.clusterName;
  const wanted: string[] = [];
  const excluded: string[] = [];
  for (const raw of placement?.tags ?? []) {
    const t = raw.trim().toLowerCase();
    if (t.startsWith('!')) excluded.push(t.slice(1));
    else if (t !== '') wanted.push(t);
  }
  const uniquePrefix = uniqueTagOf(view.context.core.options);
  const reasons = new Reasons();
  const candidates: JsPeer[] = [];
  for (const p of view.peers()) {
    if (p.cluster !== cluster || p.tags.includes('!jetstream')) continue;
    const missing = wanted.filter((t) => !p.tags.includes(t));
    if (missing.length > 0) {
      for (const t of missing) reasons.tagsNotMatched.add(t);
      continue;
    }
    const hit = excluded.filter((t) => p.tags.includes(t));
    if (hit.length > 0) {
      for (const t of hit) reasons.tagsExcluded.add(t);
      continue;
    }
    if (maxBytes > 0 && (p.available[storage] ?? 0) < maxBytes) {
      reasons.noStorage = true;
      continue;
    }
    if (uniquePrefix !== '' && uniqueValue(p, uniquePrefix) === null) {
      reasons.uniqueTag = true;
      continue;
    }
    candidates.push(p);
  }
  const chosen: JsPeer[] = [];
  const usedUnique = new Set<string>();
  for (const p of preferenceOrder(candidates, storage, r > 1)) {
    if (chosen.length === r) break;
    if (uniquePrefix !== '') {
      const v = uniqueValue(p, uniquePrefix) ?? '';
      if (usedUnique.has(v)) {
        reasons.uniqueTag = true;
        continue;
      }
      usedUnique.add(v);
    }
    chosen.push(p);
  }
  const online = chosen.filter((p) => !p.offline);
  if (chosen.length < r) {
    if (candidates.some((p) => p.offline)) reasons.offline = true;
    return reasons.error();
  }
  if (online.length < quorum(r)) {
    reasons.offline = true;
    return reasons.error();
  }
  return { name: newGroupName(kind, r, storage), peers: chosen.map((p) => p.id), store: storage, cluster, preferred: online[0].id };
}

/**
 * A consumer's group on its stream's servers: the same set for the stream's
 * replica count (or 0), a subset (online servers first, chosen at random) for fewer. The
 * consumer configuration checks already refused more replicas than the stream has.
 */
export function placeConsumerGroup(view: MetaView, stream: StreamAssignment, replicas: number, storage: StorageType): RaftGroupSpec | JsApiError {
  const streamPeers = stream.group.peers;
  const r = replicas <= 0 || replicas >= streamPeers.length ? streamPeers.length : replicas;
  const byId = new Map(view.peers().map((p) => [p.id, p]));
  const offline = (id: string): boolean => byId.get(id)?.offline ?? true;
  // Online first, at random among equals: R1 consumers (ephemerals are) spread over the stream's servers.
  const tiebreak = new Map(streamPeers.map((id) => [id, Math.random()]));
  const ordered = [...streamPeers].sort((a, b) => Number(offline(a)) - Number(offline(b)) || (tiebreak.get(a) ?? 0) - (tiebreak.get(b) ?? 0));
  const chosen = r === streamPeers.length ? [...streamPeers] : ordered.slice(0, r);
  const online = chosen.filter((id) => !offline(id));
  if (online.length < quorum(r)) {
    const reasons = new Reasons();
    reasons.offline = true;
    return reasons.error();
  }
  return { name: newGroupName('consumer', r, storage), peers: chosen, store: storage, cluster: stream.group.cluster, preferred: online[0] };
}
