/**
 * /healthz. Parameters and answers follow nats-server 2.10 (the feature level
 * Natter advertises): js-enabled-only, js-server-only, account, stream,
 * consumer and details. 2.9.10 knew only the first two and ignored the rest.
 *
 * The checks that apply without JetStream: the stream/consumer parameters must
 * be consistent (400), the server must be accepting clients (500), and a
 * configuration that asks for JetStream cannot be healthy while JetStream is
 * not running (503), exactly as nats-server reports a JetStream it could not
 * start.
 */
import type { ServerOptions } from '../server/options.js';
import { type Handler, type JsonReply, type MonitorContext } from './context.js';
import { goQuote, marshalCompact } from '../text/go-format.js';

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
  const problem = check(ctx, o.account, o.stream, o.consumer);
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

function check(ctx: MonitorContext, account: string, stream: string, consumer: string): HealthOutcome | null {
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
  if (jetStreamConfigured(source.options)) {
    return { status: 503, type: 'JETSTREAM', word: 'unavailable', text: 'JetStream not enabled (10076)' };
  }
  return null;
}

/** `jetstream: true`, `jetstream: enabled` or a block not switched off. */
function jetStreamConfigured(o: ServerOptions): boolean {
  const js = o.jetstream;
  if (js === undefined || js === false) return false;
  if (js === true) return true;
  const enabled = js.enabled ?? js.enable;
  return enabled !== false;
}
