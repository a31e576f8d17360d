/**
 * Pull requests (`$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>`): the body
 * is empty (one message), a plain batch size, or JSON
 * `{batch, expires, no_wait, max_bytes, idle_heartbeat}` with durations in
 * nanoseconds.
 */

const NS_PER_MS = 1_000_000;

/** A request waiting for messages; `remaining`/`bytesLeft` shrink as they are delivered. */
export interface WaitingRequest {
  readonly reply: string;
  remaining: number;
  /** Bytes still allowed (0 = no max_bytes limit). */
  bytesLeft: number;
  delivered: number;
  /** Date.now() deadline, 0 = none. */
  readonly expires: number;
  readonly noWait: boolean;
  /** Heartbeat interval in ms (0 = none) and when the next one is due. */
  readonly heartbeatMs: number;
  nextHeartbeat: number;
}

export type PullParse = { ok: true; request: WaitingRequest } | { ok: false; error: string };

export function parsePullRequest(reply: string, body: Buffer, now: number): PullParse {
  const text = body.toString('latin1').trim();
  let batch = 1;
  let expiresNs = 0;
  let noWait = false;
  let maxBytes = 0;
  let hbNs = 0;
  if (text.startsWith('{')) {
    let o: unknown;
    try {
      o = JSON.parse(text);
    } catch (e) {
      return { ok: false, error: `Bad Request - ${e instanceof Error ? e.message : String(e)}` };
    }
    if (typeof o !== 'object' || o === null) return { ok: false, error: 'Bad Request - invalid request' };
    const r = o as Record<string, unknown>;
    const num = (k: string): number => (typeof r[k] === 'number' ? (r[k] as number) : 0);
    batch = num('batch');
    expiresNs = num('expires');
    maxBytes = num('max_bytes');
    hbNs = num('idle_heartbeat');
    noWait = r.no_wait === true;
    if (hbNs > 0 && hbNs * 2 > expiresNs) return { ok: false, error: 'Bad Request - heartbeat value too large' };
  } else if (text !== '') {
    const n = Number(text);
    if (Number.isInteger(n)) batch = n;
  }
  const heartbeatMs = hbNs > 0 ? Math.max(1, Math.round(hbNs / NS_PER_MS)) : 0;
  return {
    ok: true,
    request: {
      reply,
      remaining: batch > 0 ? batch : 1,
      bytesLeft: maxBytes > 0 ? maxBytes : 0,
      delivered: 0,
      expires: expiresNs > 0 ? now + Math.max(1, Math.round(expiresNs / NS_PER_MS)) : 0,
      noWait,
      heartbeatMs,
      nextHeartbeat: heartbeatMs > 0 ? now + heartbeatMs : 0,
    },
  };
}
