/**
 * /routez. Natter does not cluster yet, so this is nats-server's answer for a
 * server without routes: no routes, and no import/export permissions.
 */
import { type Handler, type MonitorContext, jsonReply } from './context.js';
import { decodeSubs } from './connz.js';
import { formatTime, nowNanos } from './go-format.js';

export const handleRoutez: Handler = (ctx, q) => {
  // Parsed for nats-server's 400 on a bad value even though there is nothing to list.
  decodeSubs(q);
  ctx.count('/routez');
  return jsonReply(routezData(ctx));
};

/** The /routez object (also `$SYS.REQ...ROUTEZ`). */
export function routezData(ctx: MonitorContext): Record<string, unknown> {
  return {
    server_id: ctx.server.id,
    now: formatTime(nowNanos()),
    num_routes: 0,
    routes: [],
  };
}
