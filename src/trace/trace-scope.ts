/**
 * The message being traced right now, if any. Routing is synchronous, so
 * the one traced message under way is a value, not a parameter threaded
 * through every delivery call: the router, the route forwarder and
 * JetStream read it here, and untraced traffic pays one property load
 * per delivery. Whoever starts routing a traced message sets `active` and
 * puts it back when done; an internal subscriber runs with `active`
 * cleared (what it publishes is not part of the trace) and the trace
 * `handed` to it instead, for JetStream to take.
 */
import type { MsgTrace } from './msg-trace.js';

export const traceScope: { active: MsgTrace | null; handed: MsgTrace | null } = { active: null, handed: null };

/** The trace handed to the internal subscriber now running (JetStream's stream capture); taken once. */
export function takeHandedTrace(): MsgTrace | null {
  const t = traceScope.handed;
  if (t !== null) traceScope.handed = null;
  return t;
}
