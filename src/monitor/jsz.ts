/**
 * /jsz. JetStream does not run in this version, so every answer is nats-server's
 * "disabled" report: zero usage, zero limits, no accounts.
 */
import { type Handler, type MonitorContext, jsonReply } from './context.js';
import { BadRequest, FilteredRequest } from './query.js';
import { formatTime, nowNanos } from './go-format.js';

export const handleJsz: Handler = (ctx, q) => {
  ctx.count('/jsz');
  // Same parameters and order as nats-server, for the same 400s.
  q.bool('accounts');
  q.bool('streams');
  q.bool('consumers');
  q.bool('config');
  q.int('offset');
  q.int('limit');
  const leaderOnly = q.bool('leader-only');
  return jsonReply(jszData(ctx, { leaderOnly }));
};

/** The /jsz object (also `$SYS.REQ...JSZ`). */
export function jszData(ctx: MonitorContext, o: { leaderOnly: boolean }): Record<string, unknown> {
  // A server without JetStream is never the meta leader.
  if (o.leaderOnly) throw new FilteredRequest('filtered response: not leader');
  return {
    server_id: ctx.server.id,
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

/** One account's JetStream usage (`$SYS.REQ.ACCOUNT.<acc>.JSZ`): nats-server's refusal while JetStream is off. */
export function jszAccountData(): never {
  throw new BadRequest('jetstream not enabled');
}
