/**
 * /leafz. Leaf nodes do not exist yet: no leaf connections, and (as in
 * nats-server, which never allocates the list then) `leafs` is null.
 */
import { type Handler, type MonitorContext, jsonReply } from './context.js';
import { formatTime, nowNanos } from '../text/go-format.js';

export const handleLeafz: Handler = (ctx, q) => {
  ctx.count('/leafz');
  q.bool('subs');
  return jsonReply(leafzData(ctx));
};

/** The /leafz object (also `$SYS.REQ...LEAFZ`, for the server or one account). */
export function leafzData(ctx: MonitorContext): Record<string, unknown> {
  return {
    server_id: ctx.source.id,
    now: formatTime(nowNanos()),
    leafnodes: 0,
    leafs: null,
  };
}
