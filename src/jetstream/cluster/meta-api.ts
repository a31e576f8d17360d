/**
 * Leadership and membership requests in a cluster:
 * - `STREAM.LEADER.STEPDOWN.<s>` / `CONSUMER.LEADER.STEPDOWN.<s>.<c>`: the
 *   asset's leader (the gate sends them nowhere else) answers `{success:true}`
 *   and then hands its leadership over;
 * - `STREAM.PEER.REMOVE.<s>` (meta leader): `{peer}` names a member by
 *   server name or peer id; the meta leader puts another server in its place
 *   (the stream's consumers follow) and answers once the new group is applied;
 * - `$JS.API.META.LEADER.STEPDOWN` and `$JS.API.SERVER.REMOVE`, system
 *   account only, served by the meta leader (the others stay silent, as
 *   servers that do not subscribe); a removed server's streams move to
 *   other servers as with PEER.REMOVE.
 */
import type { ApiRequest, ApiResponse } from '../api/context.js';
import { badRequest, JsApiError, streamNotFound, consumerNotFound } from '../api/errors.js';
import { parseRequest } from '../api/request.js';
import { publishAdvisory } from '../advisories.js';
import type { JetStream } from '../jetstream.js';
import type { PeerId } from '../../raft/types.js';
import { clusterNotAvailable, clusterPeerNotMember, clusterServerNotMember, noSuitablePeers, peerRemapFailed } from './cluster-errors.js';
import type { ConsumerAssignment, JsPeer, MetaView, StreamAssignment } from './types.js';

const API = 'io.nats.jetstream.api.v1.';
const STREAM_STEPDOWN_TYPE = `${API}stream_leader_stepdown_response`;
const CONSUMER_STEPDOWN_TYPE = `${API}consumer_leader_stepdown_response`;
const PEER_REMOVE_TYPE = `${API}stream_remove_peer_response`;
const META_STEPDOWN_TYPE = `${API}meta_leader_stepdown_response`;
const SERVER_REMOVE_TYPE = `${API}meta_server_remove_response`;
/** How long PEER.REMOVE waits for its new group to be applied. */
const APPLY_WAIT_MS = 10_000;

/** STREAM.LEADER.STEPDOWN.<s> on the stream's leader: answers, then steps down. */
export function streamLeaderStepdown(req: ApiRequest, meta: MetaView): ApiResponse {
  const replica = meta.streamReplica(req.account.name, req.tokens[3]);
  if (replica === null) return { type: STREAM_STEPDOWN_TYPE, error: streamNotFound().toJSON() };
  // The answer goes out when this returns; the hand-over follows it.
  setImmediate(() => replica.stepDown());
  return { type: STREAM_STEPDOWN_TYPE, success: true };
}

/** CONSUMER.LEADER.STEPDOWN.<s>.<c> on the consumer's leader. */
export function consumerLeaderStepdown(req: ApiRequest, meta: MetaView): ApiResponse {
  const replica = meta.consumerReplica(req.account.name, req.tokens[3], req.tokens[4]);
  if (replica === null) return { type: CONSUMER_STEPDOWN_TYPE, error: consumerNotFound().toJSON() };
  setImmediate(() => replica.stepDown());
  return { type: CONSUMER_STEPDOWN_TYPE, success: true };
}

/** A JetStream server named by server name or peer id. */
function findPeer(meta: MetaView, nameOrId: string): JsPeer | null {
  return meta.peers().find((p) => p.name === nameOrId || p.id === nameOrId) ?? null;
}

/**
 * Proposes `sa`'s group with `removed` replaced by the online server of its
 * cluster with the most free storage (the stream's consumers follow); false
 * when there is none.
 */
function movePeerOff(meta: MetaView, sa: StreamAssignment, removed: PeerId): boolean {
  const replacement = meta.peers()
    .filter((p) => !p.offline && p.id !== removed && !sa.group.peers.includes(p.id) && p.cluster === sa.group.cluster)
    .sort((a, b) => b.available[sa.config.storage] - a.available[sa.config.storage])[0];
  if (replacement === undefined) return false;
  const swap = (peers: readonly PeerId[]): PeerId[] => peers.map((p) => (p === removed ? replacement.id : p));
  const peers = swap(sa.group.peers);
  const next: StreamAssignment = {
    account: sa.account, config: sa.config, created: sa.created, ...(sa.client === undefined ? {} : { client: sa.client }),
    group: { ...sa.group, peers, preferred: peers.find((p) => p !== replacement.id) ?? replacement.id },
  };
  if (!meta.propose({ op: 'update-stream', sa: next })) return false;
  for (const ca of meta.consumers(sa.account, sa.config.name)) {
    if (!ca.group.peers.includes(removed)) continue;
    const moved: ConsumerAssignment = {
      account: ca.account, stream: ca.stream, name: ca.name, config: ca.config, created: ca.created,
      ...(ca.client === undefined ? {} : { client: ca.client }),
      group: { ...ca.group, peers: swap(ca.group.peers), preferred: ca.group.peers.find((p) => p !== removed) },
    };
    meta.propose({ op: 'add-consumer', ca: moved });
  }
  return true;
}

/** STREAM.PEER.REMOVE.<s> on the meta leader. */
export async function streamPeerRemove(req: ApiRequest, meta: MetaView): Promise<ApiResponse> {
  const fail = (e: JsApiError): ApiResponse => ({ type: PEER_REMOVE_TYPE, error: e.toJSON() });
  const parsed = parseRequest(req.body);
  if (parsed instanceof Error) return fail(parsed);
  const asked = typeof parsed.peer === 'string' ? parsed.peer : '';
  if (asked === '') return fail(badRequest());
  const account = req.account.name;
  const name = req.tokens[3];
  const sa = meta.stream(account, name);
  if (sa === null) return fail(streamNotFound());
  const peer = findPeer(meta, asked);
  const removed: PeerId = peer?.id ?? asked;
  if (!sa.group.peers.includes(removed)) return fail(clusterPeerNotMember());
  if (!movePeerOff(meta, sa, removed)) return fail(peerRemapFailed());
  const applied = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      off();
      resolve(false);
    }, APPLY_WAIT_MS);
    const off = meta.onApplied((op) => {
      if (op.op !== 'update-stream' || op.sa.account !== account || op.sa.config.name !== name) return;
      clearTimeout(timer);
      off();
      resolve(true);
    });
  });
  return applied ? { type: PEER_REMOVE_TYPE, success: true } : fail(clusterNotAvailable());
}

/** `$JS.API.META.LEADER.STEPDOWN` (system account) on the meta leader; the body may ask for a `placement` of the next leader. */
export function metaLeaderStepdown(body: Buffer, meta: MetaView): ApiResponse {
  const parsed = parseRequest(body);
  if (parsed instanceof Error) return { type: META_STEPDOWN_TYPE, error: parsed.toJSON() };
  const placement = parsed.placement;
  let preferred: PeerId | undefined;
  if (typeof placement === 'object' && placement !== null) {
    const p = placement as { cluster?: unknown; tags?: unknown };
    const tags = Array.isArray(p.tags) ? p.tags.filter((t): t is string => typeof t === 'string') : [];
    const fit = meta.peers().find((peer) => peer.id !== meta.context.selfId && !peer.offline &&
      (typeof p.cluster !== 'string' || p.cluster === '' || peer.cluster === p.cluster) &&
      tags.every((t) => peer.tags.includes(t)));
    if (fit === undefined) return { type: META_STEPDOWN_TYPE, error: noSuitablePeers().toJSON() };
    preferred = fit.id;
  }
  setImmediate(() => meta.raft.stepDown(preferred));
  return { type: META_STEPDOWN_TYPE, success: true };
}

/** `$JS.API.SERVER.REMOVE` (system account) on the meta leader: `{peer: "<server name>", peer_id?}`. */
export function serverRemove(body: Buffer, js: JetStream, meta: MetaView): ApiResponse {
  const fail = (e: JsApiError): ApiResponse => ({ type: SERVER_REMOVE_TYPE, error: e.toJSON() });
  const parsed = parseRequest(body);
  if (parsed instanceof Error) return fail(parsed);
  const name = typeof parsed.peer === 'string' ? parsed.peer : '';
  const id = typeof parsed.peer_id === 'string' ? parsed.peer_id : '';
  if (name === '' && id === '') return fail(badRequest());
  const peer = meta.peers().find((p) => (id === '' || p.id === id) && (name === '' || p.name === name)) ?? null;
  if (peer === null || !meta.raft.peers().includes(peer.id)) return fail(clusterServerNotMember());
  if (!meta.raft.removePeer(peer.id)) return fail(clusterNotAvailable());
  // Its streams move to other servers where there are any (the others keep it in their group until an operator acts).
  for (const account of js.accounts.keys()) {
    for (const sa of meta.streams(account)) {
      if (sa.group.peers.includes(peer.id) && !movePeerOff(meta, sa, peer.id)) {
        js.core.logger.warn(`JetStream cluster: stream '${account} > ${sa.config.name}' keeps removed server '${peer.name}' in its group: no other server can take its place`);
      }
    }
  }
  const sys = js.core.accounts.get(js.core.systemAccountName);
  if (sys !== undefined) {
    const advisory: Record<string, unknown> = { server: peer.name, server_id: peer.id, cluster: peer.cluster };
    if (js.config.domain !== '') advisory.domain = js.config.domain;
    publishAdvisory(js.core, sys, '$JS.EVENT.ADVISORY.SERVER.REMOVED', 'io.nats.jetstream.advisory.v1.server_removed', advisory);
  }
  return { type: SERVER_REMOVE_TYPE, success: true };
}
