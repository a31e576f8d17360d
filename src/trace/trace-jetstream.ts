/**
 * The JetStream event of a traced message (ADR-41 `js`): which stream took
 * it, on what subject, whether an interest stream had no interest in it,
 * and the error when the stream refused it. A trace-only message is
 * reported, not stored.
 */
import type { JetStreamEventJson, MsgTrace } from './msg-trace.js';

/** The event of the message a stream is storing now (storing is synchronous up to the refusal or the proposal). */
let storing: JetStreamEventJson | null = null;

/**
 * Adds the event for `stream` storing the message on `subject` (after the
 * stream's subject transform). Returns false when the message must not
 * be stored (trace-only); otherwise refusals until endStreamTrace() are
 * written into the event.
 */
export function beginStreamTrace(t: MsgTrace, stream: string, subject: string, noInterest: boolean): boolean {
  const e = t.addJetStream(stream);
  e.subject = subject;
  if (noInterest) e.nointerest = true;
  if (t.traceOnly) return false;
  storing = e;
  return true;
}

export function endStreamTrace(): void {
  storing = null;
}

/** A stream refused the message being stored: nats-server's ApiError text, "<description> (<err_code>)". */
export function noteStreamRefusal(err: { readonly message: string; readonly errCode: number }): void {
  if (storing !== null) storing.error = `${err.message} (${err.errCode})`;
}
