/**
 * The JetStream API of a clustered server, as the router (api/router.ts)
 * uses it: the gate that picks the one server answering each request, the
 * clustered handlers that replace the single-server ones on the meta leader,
 * the `cluster` blocks of local INFO answers, the system-account requests
 * (META.LEADER.STEPDOWN, SERVER.REMOVE), the `$JSC.SI`/`$JSC.CI` info
 * responder, and the leadership advisories and counters.
 */
import type { Subscription } from '../../server/subscription.js';
import type { ApiRequest, ApiResponse } from '../api/context.js';
import type { JetStream } from '../jetstream.js';
import type { JsAccount } from '../js-account.js';
import { ApiGate, apiTarget, directConsumerTarget, type ApiTarget, type GateDecision } from './api-gate.js';
import { ClusteredApi, type ClusterHandler } from './cluster-api.js';
import { clusteredAccountInfo, clusteredConsumerList, clusteredStreamList, clusteredStreamNames, installInfoResponder } from './cluster-list.js';
import { ClusterGroupContext } from './group-context.js';
import { ClusterWatch } from './leader-advisories.js';
import { consumerLeaderStepdown, metaLeaderStepdown, serverRemove, streamLeaderStepdown, streamPeerRemove } from './meta-api.js';
import type { MetaView } from './types.js';

export interface ClusteredApiLayer {
  /** Who answers; null when the subject is not one the API serves. */
  decide(req: ApiRequest): { target: ApiTarget; decision: GateDecision } | null;
  /** The meta leader answers for accounts without JetStream (the others stay silent). */
  answersForAccountWithoutJetStream(): boolean;
  /** The clustered handler replacing the single-server one for a request to `target`, or null. */
  handlerFor(tokens: readonly string[], target: ApiTarget): ClusterHandler | null;
  /** Gives a local INFO answer its group's `cluster` block. */
  decorate(req: ApiRequest, target: ApiTarget, res: ApiResponse): ApiResponse;
  uninstall(): void;
}

export function installClusteredApi(js: JetStream, meta: MetaView, prefixes: readonly string[]): ClusteredApiLayer {
  const gate = new ApiGate(meta);
  const api = new ClusteredApi(js, meta);
  const watch = new ClusterWatch(js, meta);
  const offResponder = installInfoResponder(js, meta);
  const ctx = meta.context;
  const offLeaders = ctx instanceof ClusterGroupContext
    ? ctx.onLeaderElected((kind, account, stream, consumer, self) => {
      watch.leaderElected(kind, account, stream, consumer, self);
      api.leaderElected(account, stream, consumer, self);
    })
    : () => undefined;
  const offSystem = subscribeSystemApi(js, meta, gate, prefixes);
  return {
    decide(req) {
      const target = directConsumerTarget(req.tokens, req.body) ?? apiTarget(req.tokens);
      return target === null ? null : { target, decision: gate.decide(req.account.name, target) };
    },
    answersForAccountWithoutJetStream: () => gate.isMetaLeader(),
    handlerFor(t, target) {
      // A direct consumer is the stream leader's own: the single-server create makes it.
      if (t[0] === 'CONSUMER' && target.answerer === 'stream') return null;
      if (t[0] === 'INFO') return (_req, jsa) => clusteredAccountInfo(js, meta, jsa);
      if (t[0] === 'STREAM') {
        if (t[1] === 'NAMES') return (req) => clusteredStreamNames(req, meta);
        if (t[1] === 'LIST') return (req) => clusteredStreamList(req, meta);
        if (t[1] === 'LEADER') return (req) => streamLeaderStepdown(req, meta);
        if (t[1] === 'PEER') return (req: ApiRequest, jsa: JsAccount) => jsa.serially(() => streamPeerRemove(req, meta));
      }
      if (t[0] === 'CONSUMER') {
        if (t[1] === 'NAMES' || t[1] === 'LIST') return (req) => clusteredConsumerList(req, meta, t[1] === 'NAMES');
        if (t[1] === 'LEADER') return (req) => consumerLeaderStepdown(req, meta);
      }
      return api.handlerFor(t);
    },
    decorate(req, target, res) {
      if (res === null || res.error !== undefined || !target.info) return res;
      const account = req.account.name;
      const replica = target.answerer === 'stream'
        ? meta.streamReplica(account, target.stream)
        : meta.consumerReplica(account, target.stream, target.consumer);
      if (replica !== null) res.cluster = ctx.clusterInfo(replica.raft);
      return res;
    },
    uninstall() {
      offSystem();
      offLeaders();
      offResponder();
      watch.close();
      api.close();
    },
  };
}

/** A request's payload, copied (the buffer is only valid during the handler's call). */
function bodyOf(hdrLen: number, msg: Buffer): Buffer {
  return Buffer.from(hdrLen > 0 ? msg.subarray(hdrLen) : msg);
}

/** `$JS.API.META.LEADER.STEPDOWN` and `$JS.API.SERVER.REMOVE` in the system account, answered by the meta leader. */
function subscribeSystemApi(js: JetStream, meta: MetaView, gate: ApiGate, prefixes: readonly string[]): () => void {
  const core = js.core;
  const sys = core.accounts.get(core.systemAccountName);
  if (sys === undefined) return () => undefined;
  const subs: Subscription[] = [];
  // Handled after the server finished routing the request, as every API request (a stepdown then follows its answer).
  const serve = (reply: string | null, handle: () => ApiResponse): void => {
    setImmediate(() => {
      const res = handle();
      if (reply !== null && res !== null && !core.shuttingDown) core.publishInternal(sys, reply, null, JSON.stringify(res));
    });
  };
  for (const prefix of prefixes) {
    subs.push(core.subscribeInternal(sys, `${prefix}META.LEADER.STEPDOWN`, null, (_s, reply, hdrLen, msg) => {
      const body = bodyOf(hdrLen, msg);
      if (gate.isMetaLeader()) serve(reply, () => metaLeaderStepdown(body, meta));
    }));
    subs.push(core.subscribeInternal(sys, `${prefix}SERVER.REMOVE`, null, (_s, reply, hdrLen, msg) => {
      const body = bodyOf(hdrLen, msg);
      if (gate.isMetaLeader()) serve(reply, () => serverRemove(body, js, meta));
    }));
  }
  return () => {
    for (const sub of subs) core.unsubscribeInternal(sys, sub);
  };
}
