/**
 * /gatewayz. Gateways do not exist yet: nats-server's answer when they are not
 * configured is empty outbound and inbound maps and no name/host/port.
 */
import { type Handler, type MonitorContext, jsonReply } from './context.js';
import { formatTime, nowNanos } from '../text/go-format.js';

export const handleGatewayz: Handler = (ctx, q) => {
  ctx.count('/gatewayz');
  // gw_name and acc_name only narrow a list that is empty here; accs is still checked.
  q.bool('accs');
  return jsonReply(gatewayzData(ctx));
};

/** The /gatewayz object (also `$SYS.REQ...GATEWAYZ`). */
export function gatewayzData(ctx: MonitorContext): Record<string, unknown> {
  return {
    server_id: ctx.source.id,
    now: formatTime(nowNanos()),
    outbound_gateways: {},
    inbound_gateways: {},
  };
}
