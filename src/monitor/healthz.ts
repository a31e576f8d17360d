/**
 * /healthz. Parameters and answers follow nats-server 2.10 (the feature level
 * Natter advertises): js-enabled-only, js-server-only, account, stream,
 * consumer and details. 2.9.10 knew only the first two and ignored the rest.
 *
 * The checks, in nats-server 2.10's order: the stream/consumer parameters
 * must be consistent (400); the server must be accepting clients (500;
 * `js-server-only` stops here); a configuration that asks for JetStream
 * cannot be healthy while JetStream is not running (503, as nats-server
 * reports a JetStream it could not start; `js-enabled-only` stops here). In a
 * JetStream cluster, then (all 503): a JetStream nats-server in the cluster
 * (mixed JetStream clusters are not supported); no meta leader, or this
 * server behind it (`js-meta-only` stops here); a stream or consumer replica
 * of this server that is not current (no leader, or behind its leader).
 */
import type { ServerOptions } from '../server/options.js';
import { type Handler, type JsonReply, type MonitorContext } from './context.js';
import { goQuote, marshalCompact } from '../text/go-format.js';
import type { JetStream } from '../jetstream/jetstream.js';
import type { MetaView } from '../jetstream/cluster/types.js';
import type { RaftNode } from '../raft/types.js';

type HealthErrorType = 'CONNECTION' | 'BAD_REQUEST' | 'JETSTREAM';

interface HealthOutcome {
  status: number;
  text: string;
  type: HealthErrorType;
  /** The status word when details are off ("error" or "unavailable"). */
  word: string;
}

/** nats-server's HealthzOptions (2.10's set). */
export interface HealthzOptions {
  jsEnabledOnly: boolean;
  jsServerOnly: boolean;
  /** Stop after the meta group checks (2.10). */
  jsMetaOnly?: boolean;
  account: string;
  stream: string;
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
    jsEnabledOnly: q.bool('js-enabled-only'),
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
  const problem = check(ctx, o);
  if (problem === null) return { code: 200, body: { status: 'ok' }, problem: null };
  const body = o.details
    ? { status: 'error', errors: [{ type: problem.type, error: problem.text }] }
    : { status: problem.word, error: problem.text };
  return { code: problem.status, body, problem: problem.text };
}

function reply(status: number, value: object): JsonReply {
  // nats-server marshals this one compactly.
  return { kind: 'json', status, body: marshalCompact(value) };
}

function check(ctx: MonitorContext, o: HealthzOptions): HealthOutcome | null {
  const { account, stream, consumer } = o;
  if (account === '' && stream !== '') {
    return { status: 400, type: 'BAD_REQUEST', word: 'error', text: '"account" must not be empty when checking stream health' };
  }
  if (stream === '' && consumer !== '') {
    return { status: 400, type: 'BAD_REQUEST', word: 'error', text: '"stream" must not be empty when checking consumer health' };
  }
  const source = ctx.source;
  if (source.inLameDuck || source.shuttingDown || source.port === 0) {
    return { status: 500, type: 'CONNECTION', word: 'error', text: 'failed to be ready for connections after 1ms: server' };
  }
  if (o.jsServerOnly) return null;
  if (!jetStreamConfigured(source.options)) return null;
  const js = source.jetstream;
  if (js === null) return unavailable('JetStream not enabled (10076)');
  if (o.jsEnabledOnly || js.cluster === null) return null;
  return clusterProblem(js, js.cluster, o.jsMetaOnly === true);
}

function unavailable(text: string): HealthOutcome {
  return { status: 503, type: 'JETSTREAM', word: 'unavailable', text };
}

/** A meta layer that also knows problems beyond Raft (the cluster layer's MetaLayer: a JetStream nats-server in the cluster). */
interface HealthReporting {
  healthProblem(): string | null;
}

/** Structural, so that monitoring does not load the cluster layer's code. */
function reportsHealth(meta: MetaView): meta is MetaView & HealthReporting {
  return typeof (meta as MetaView & Partial<HealthReporting>).healthProblem === 'function';
}

/** What keeps a clustered JetStream server from being healthy, or null. */
function clusterProblem(js: JetStream, meta: MetaView, metaOnly: boolean): HealthOutcome | null {
  const mixed = reportsHealth(meta) ? meta.healthProblem() : null;
  if (mixed !== null) return unavailable(mixed);
  if (meta.leaderName() === '') return unavailable('JetStream has not established contact with a meta leader');
  if (!meta.isCurrent()) return unavailable('JetStream is not current with the meta leader');
  if (metaOnly) return null;
  const self = meta.context.selfId;
  for (const [account] of js.accounts) {
    for (const sa of meta.streams(account)) {
      const name = sa.config.name;
      const streamWhy = sa.group.peers.includes(self) ? notCurrent(meta.streamReplica(account, name)?.raft ?? null) : null;
      if (streamWhy !== null) return unavailable(`JetStream stream '${account} > ${name}' is not current: ${streamWhy}`);
      for (const ca of meta.consumers(account, name)) {
        const why = ca.group.peers.includes(self) ? notCurrent(meta.consumerReplica(account, name, ca.name)?.raft ?? null) : null;
        if (why !== null) return unavailable(`JetStream consumer '${account} > ${name} > ${ca.name}' is not current: ${why}`);
      }
    }
  }
  return null;
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
