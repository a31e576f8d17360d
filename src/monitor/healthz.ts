/**
 * /healthz. Parameters and answers follow nats-server 2.10 (the feature level
 * Natter advertises): js-enabled-only, js-server-only, js-meta-only, account,
 * stream, consumer and details. 2.9.10 knew only the first two and ignored
 * the rest. Kubernetes probes use it (the official chart: startup on
 * `/healthz`, readiness on `?js-server-only=true`, liveness on
 * `?js-enabled-only=true`), so it says 503 only when something really is not
 * ready.
 *
 * The checks, in nats-server 2.10's order: the stream/consumer parameters
 * must be consistent (400); the server must be accepting clients (500;
 * `js-server-only` stops here); a configuration that asks for JetStream
 * cannot be healthy while JetStream is not running (503, as nats-server
 * reports a JetStream it could not start; `js-enabled-only` and the
 * deprecated `js-enabled` stop here). On a single server, an account, stream
 * or consumer asked for must exist (404). In a JetStream cluster, then (all
 * 503): a JetStream nats-server in the cluster (mixed JetStream clusters are
 * not supported); no meta leader, or this server behind it (`js-meta-only`
 * stops here); an account, stream or consumer asked for that has no replica
 * here (404); a stream or consumer replica of this server (only those asked
 * for, when asked) that is not current (no leader, or behind its leader).
 * With `details` every such replica is listed, else the first one answers.
 */
import type { ServerOptions } from '../server/options.js';
import { type Handler, type JsonReply, type MonitorContext } from './context.js';
import { goQuote, marshalCompact } from '../text/go-format.js';
import type { JetStream } from '../jetstream/jetstream.js';
import type { MetaView } from '../jetstream/cluster/types.js';
import type { RaftNode } from '../raft/types.js';

type HealthErrorType = 'CONNECTION' | 'BAD_REQUEST' | 'JETSTREAM' | 'ACCOUNT' | 'STREAM' | 'CONSUMER';

/** One thing that is not healthy, as nats-server's HealthzError describes it. */
interface HealthProblem {
  status: number;
  type: HealthErrorType;
  text: string;
  /** The status word when details are off ("error" or "unavailable"). */
  word: string;
  account?: string;
  stream?: string;
  consumer?: string;
}

/** nats-server's HealthzOptions (2.10's set). */
export interface HealthzOptions {
  jsEnabledOnly: boolean;
  jsServerOnly: boolean;
  /** Stop after the meta group checks (2.10). */
  jsMetaOnly?: boolean;
  /** Only this account's streams (and consumers); 404 when it has none. */
  account: string;
  /** Only this stream of `account`; 404 when this server holds no replica of it. */
  stream: string;
  /** Only this consumer of `stream`. */
  consumer: string;
  details: boolean;
}

/** The health answer: the status code HTTP uses, the HealthStatus object, and the problem, if any. */
export interface Health {
  code: number;
  body: Record<string, unknown>;
  problem: string | null;
}

export const handleHealthz: Handler = (ctx, q) => {
  ctx.count('/healthz');
  const jsEnabled = q.bool('js-enabled');
  if (jsEnabled) ctx.source.logger.warn('Healthcheck: js-enabled deprecated, use js-enabled-only instead');
  const h = healthzData(ctx, {
    // The deprecated `js-enabled` still means what js-enabled-only does.
    jsEnabledOnly: q.bool('js-enabled-only') || jsEnabled,
    jsServerOnly: q.bool('js-server-only'),
    jsMetaOnly: q.bool('js-meta-only'),
    details: q.bool('details'),
    account: q.get('account'),
    stream: q.get('stream'),
    consumer: q.get('consumer'),
  });
  if (h.problem !== null) ctx.source.logger.warn(`Healthcheck failed: ${goQuote(h.problem)}`);
  return reply(h.code, h.body);
};

/** The health status (also `$SYS.REQ...HEALTHZ`, which carries `body` as its data). */
export function healthzData(ctx: MonitorContext, o: HealthzOptions): Health {
  // Without details the first problem answers; with them, every stream and consumer problem is listed.
  const problems = check(ctx, o);
  const first = problems[0];
  if (first === undefined) return { code: 200, body: { status: 'ok' }, problem: null };
  if (!o.details) return { code: first.status, body: { status: first.word, error: first.text }, problem: first.text };
  const errors = problems.map((p) => ({
    type: p.type,
    ...(p.account !== undefined ? { account: p.account } : {}),
    ...(p.stream !== undefined ? { stream: p.stream } : {}),
    ...(p.consumer !== undefined ? { consumer: p.consumer } : {}),
    error: p.text,
  }));
  return { code: first.status, body: { status: 'error', errors }, problem: problems.length === 1 ? first.text : `${problems.length} errors` };
}

function reply(status: number, value: object): JsonReply {
  // nats-server marshals this one compactly.
  return { kind: 'json', status, body: marshalCompact(value) };
}

function check(ctx: MonitorContext, o: HealthzOptions): HealthProblem[] {
  const { account, stream, consumer } = o;
  if (account === '' && stream !== '') {
    return [{ status: 400, type: 'BAD_REQUEST', word: 'error', text: '"account" must not be empty when checking stream health' }];
  }
  if (stream === '' && consumer !== '') {
    return [{ status: 400, type: 'BAD_REQUEST', word: 'error', text: '"stream" must not be empty when checking consumer health' }];
  }
  const source = ctx.source;
  if (source.inLameDuck || source.shuttingDown || source.port === 0) {
    return [{ status: 500, type: 'CONNECTION', word: 'error', text: 'failed to be ready for connections after 1ms: server' }];
  }
  if (o.jsServerOnly) return [];
  if (!jetStreamConfigured(source.options)) return [];
  const js = source.jetstream;
  if (js === null) return [unavailable('JetStream not enabled (10076)')];
  if (o.jsEnabledOnly) return [];
  if (js.cluster === null) return singleServerProblems(js, o);
  return clusterProblems(js, js.cluster, o);
}

function unavailable(text: string): HealthProblem {
  return { status: 503, type: 'JETSTREAM', word: 'unavailable', text };
}

function notFound(type: 'ACCOUNT' | 'STREAM' | 'CONSUMER', o: HealthzOptions): HealthProblem {
  const { account, stream, consumer } = o;
  const text = type === 'ACCOUNT'
    ? `JetStream account ${goQuote(account)} not found`
    : type === 'STREAM'
      ? `JetStream stream ${goQuote(stream)} not found on account ${goQuote(account)}`
      : `JetStream consumer ${goQuote(consumer)} not found for stream ${goQuote(stream)} on account ${goQuote(account)}`;
  return {
    status: 404, type, word: 'unavailable', text, account,
    ...(type !== 'ACCOUNT' ? { stream } : {}),
    ...(type === 'CONSUMER' ? { consumer } : {}),
  };
}

/** One server: the account, stream and consumer asked about must exist (its streams are all local). */
function singleServerProblems(js: JetStream, o: HealthzOptions): HealthProblem[] {
  if (o.account === '') return [];
  const jsa = js.accounts.get(o.account);
  if (jsa === undefined) return [notFound('ACCOUNT', o)];
  if (o.stream === '') return [];
  const stream = jsa.streams.get(o.stream);
  if (stream === undefined) return [notFound('STREAM', o)];
  if (o.consumer !== '' && stream.consumers.get(o.consumer) === undefined) return [notFound('CONSUMER', o)];
  return [];
}

/** A meta layer that also knows problems beyond Raft (the cluster layer's MetaLayer: a JetStream nats-server in the cluster). */
interface HealthReporting {
  healthProblem(): string | null;
}

/** Structural, so that monitoring does not load the cluster layer's code. */
function reportsHealth(meta: MetaView): meta is MetaView & HealthReporting {
  return typeof (meta as MetaView & Partial<HealthReporting>).healthProblem === 'function';
}

/** What keeps a clustered JetStream server from being healthy: the meta group, then this server's replicas. */
function clusterProblems(js: JetStream, meta: MetaView, o: HealthzOptions): HealthProblem[] {
  const mixed = reportsHealth(meta) ? meta.healthProblem() : null;
  if (mixed !== null) return [unavailable(mixed)];
  if (meta.leaderName() === '') return [unavailable('JetStream has not established contact with a meta leader')];
  if (!meta.isCurrent()) return [unavailable('JetStream is not current with the meta leader')];
  if (o.jsMetaOnly === true) return [];
  const self = meta.context.selfId;
  let accounts: string[];
  if (o.account === '') accounts = [...js.accounts.keys()];
  else if (meta.streams(o.account).length > 0) accounts = [o.account];
  else return [notFound('ACCOUNT', o)];
  if (o.stream !== '') {
    const sa = meta.stream(o.account, o.stream);
    if (sa === null || !sa.group.peers.includes(self)) return [notFound('STREAM', o)];
    if (o.consumer !== '') {
      const ca = meta.consumer(o.account, o.stream, o.consumer);
      if (ca === null || !ca.group.peers.includes(self)) return [notFound('CONSUMER', o)];
    }
  }
  const problems: HealthProblem[] = [];
  for (const account of accounts) {
    for (const sa of meta.streams(account)) {
      const name = sa.config.name;
      if (o.stream !== '' && name !== o.stream) continue;
      if (!sa.group.peers.includes(self)) continue;
      const streamWhy = notCurrent(meta.streamReplica(account, name)?.raft ?? null);
      if (streamWhy !== null) {
        problems.push({ ...unavailable(`JetStream stream '${account} > ${name}' is not current: ${streamWhy}`), type: 'STREAM', account, stream: name });
      }
      for (const ca of meta.consumers(account, name)) {
        if (o.consumer !== '' && ca.name !== o.consumer) continue;
        if (!ca.group.peers.includes(self)) continue;
        const why = notCurrent(meta.consumerReplica(account, name, ca.name)?.raft ?? null);
        if (why !== null) {
          problems.push({
            ...unavailable(`JetStream consumer '${account} > ${name} > ${ca.name}' is not current: ${why}`),
            type: 'CONSUMER', account, stream: name, consumer: ca.name,
          });
        }
      }
      if (problems.length > 0 && !o.details) return problems;
    }
  }
  return problems;
}

/** Why a replica assigned to this server is not current, or null when it is (null node: not opened yet). */
function notCurrent(node: RaftNode | null): string | null {
  if (node === null) return 'not running yet';
  if (node.isCurrent()) return null;
  const st = node.status();
  if (st.recovering) return 'recovering from damaged storage';
  if (st.leader === null) return 'no leader';
  return `behind the leader (applied ${st.applied} of ${st.commit})`;
}

/** `jetstream: true`, `jetstream: enabled` or a block not switched off. */
function jetStreamConfigured(o: ServerOptions): boolean {
  const js = o.jetstream;
  if (js === undefined || js === false) return false;
  if (js === true) return true;
  const enabled = js.enabled ?? js.enable;
  return enabled !== false;
}
