/**
 * Replays a scripted raw session against a server and returns the normalised
 * byte stream it answered with (INFO included) and whether it closed the
 * connection. Used to compare Natter with nats-server byte for byte.
 */
import { RawSession, countOf } from './session.js';
import { normalizeStream } from './normalize.js';
import { sleep } from './wait.js';

/** Bytes to send on connection `conn` (default 0), or a pause in milliseconds. */
export type Step = string | Buffer | { pause: number } | { conn: number; send: string | Buffer };

export interface ReplayOptions {
  /** Connection 0 is done once this many PONGs arrived (default: the number of PING lines sent to it). */
  pongs?: number;
  /** Give up waiting for PONGs/close after this long (per wait). */
  timeoutMs?: number;
  /** After the end condition, keep listening this long for stray bytes. */
  settleMs?: number;
  /** Open this many idle, CONNECTed connections first (kept open during the replay). */
  hold?: number;
}

export interface ConnResult {
  /** Normalised output: INFO line with varying fields masked, then everything else. */
  out: string;
  closed: boolean;
}

export interface ReplayResult extends ConnResult {
  /** Every connection of the script, connection 0 first (same as out/closed). */
  conns: ConnResult[];
}

function pingLines(data: string | Buffer): number {
  const s = typeof data === 'string' ? data : data.toString('latin1');
  return (s.match(/^ping[ \t]*\r?$/gim) ?? []).length;
}

function connOf(step: Step): number {
  return typeof step === 'object' && !Buffer.isBuffer(step) && 'conn' in step ? step.conn : 0;
}

export async function replay(port: number, steps: Step[], o: ReplayOptions = {}): Promise<ReplayResult> {
  const held: RawSession[] = [];
  const timeout = o.timeoutMs ?? 1500;
  try {
    for (let i = 0; i < (o.hold ?? 0); i++) {
      const h = await RawSession.connect(port);
      held.push(h);
      await h.request('CONNECT {"verbose":false}\r\nPING\r\n', 'PONG\r\n');
    }
    const nConns = Math.max(0, ...steps.map(connOf)) + 1;
    const conns: RawSession[] = [];
    const pings: number[] = [];
    try {
      for (let i = 0; i < nConns; i++) {
        conns.push(await RawSession.connect(port));
        pings.push(0);
      }
      const done = (c: number): boolean => {
        const s = conns[c];
        const want = c === 0 && o.pongs !== undefined ? o.pongs : pings[c];
        return s.closed || (want > 0 && countOf(s.text(), 'PONG\r\n') >= want);
      };
      for (let i = 0; i < steps.length; i++) {
        const step = steps[i];
        const c = connOf(step);
        if (typeof step === 'object' && !Buffer.isBuffer(step) && 'pause' in step) {
          await sleep(step.pause);
          continue;
        }
        const data = typeof step === 'object' && !Buffer.isBuffer(step) ? step.send : step;
        conns[c].send(data);
        pings[c] += pingLines(data);
        // Before another connection acts, let this one's PINGs be answered.
        const next = steps[i + 1];
        if (next !== undefined && connOf(next) !== c && !(typeof next === 'object' && !Buffer.isBuffer(next) && 'pause' in next)) {
          await conns[c].wait(() => done(c), timeout);
        }
      }
      for (let c = 0; c < nConns; c++) await conns[c].wait(() => done(c), timeout);
      await sleep(o.settleMs ?? 25);
      const results = conns.map((s) => ({ out: normalizeStream(s.infoLine + s.text()), closed: s.closed }));
      return { ...results[0], conns: results };
    } finally {
      for (const s of conns) s.close();
    }
  } finally {
    for (const h of held) h.close();
    // Let the server notice those closes before the next case connects.
    if (held.length > 0) await sleep(100);
  }
}
