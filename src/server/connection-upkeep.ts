/**
 * Connection upkeep, the same for every kind of connection (clients,
 * routes, and later gateways, leaf nodes and websocket connections):
 *
 * - Write deadline: a connection whose socket made no progress for longer
 *   than write_deadline while bytes were waiting is cut as a slow consumer
 *   (a peer that stopped reading). Progress, not emptiness, is what counts,
 *   so a busy stream is never cut.
 * - Keepalive: every ping_interval a connection is asked whether it wants a
 *   PING (it was quiet, its RTT is due...); when it does and ping_max PINGs
 *   already went unanswered, it is stale and closed instead.
 *
 * One timer per server drives both, running only while something is
 * watched; periodic chores of the server and its subsystems ride on it.
 * Options are read on every tick, so a reload needs no restart.
 */
import type { Logger } from '../log/logger.js';
import type { ServerOptions } from './options.js';

/** What the upkeep needs of a connection; each kind implements it. */
export interface UpkeptConnection {
  readonly closed: boolean;
  /** Bytes queued in the socket that the kernel has not taken yet. */
  readonly socket: { readonly writableLength: number };
  /** Bytes handed to the socket so far; with writableLength this tells whether writes progress. */
  readonly bytesHanded: number;
  /** PINGs sent and not answered yet. */
  readonly pingsOut: number;
  /** The connection's log prefix, e.g. `127.0.0.1:4567 - rid:3`. */
  label(): string;
  /** A PING check is due: does the connection want one now (quiet for an interval, RTT to measure...)? */
  wantsPing(now: number, pingInterval: number): boolean;
  /** Counts the PING as outstanding and sends it. */
  sendPing(): void;
  /** Too many PINGs went unanswered: -ERR 'Stale Connection', then close. */
  closeStale(): void;
  /** The socket made no progress for write_deadline: cut as a slow consumer. */
  writeDeadlineExceeded(): void;
}

/** Where the upkeep reads its settings and logs; a ServerCore is one. */
export interface UpkeepHost {
  /** Read on every tick: a reload replaces the object. */
  readonly options: ServerOptions;
  readonly logger: Logger;
}

/** The upkeep's bookkeeping for one connection. */
interface Watch {
  readonly conn: UpkeptConnection;
  /** When the socket was last seen making progress with bytes waiting (0: nothing waits), and how far it was. */
  stuckSince: number;
  sentMark: number;
  /** Date.now() from which the next PING check is due. */
  pingDue: number;
}

/** The longest and shortest tick; write_deadline and ping_interval set it in between. */
const MAX_TICK_MS = 1000;
const MIN_TICK_MS = 10;
/** PING checks are due every ping_interval and run on the first tick after: at most this share of an interval late. */
const PING_CHECKS_PER_INTERVAL = 4;

export class ConnectionUpkeep {
  private readonly host: UpkeepHost;
  private readonly watched = new Map<UpkeptConnection, Watch>();
  private readonly chores: Array<() => void> = [];
  private timer: NodeJS.Timeout | null = null;
  private tickMs = 0;
  private readonly tickBound = (): void => this.tick();

  constructor(host: UpkeepHost) {
    this.host = host;
  }

  /** Watches a connection from now on; its first PING check is due after `firstPingMs`. */
  watch(conn: UpkeptConnection, firstPingMs: number): void {
    this.watched.set(conn, { conn, stuckSince: 0, sentMark: 0, pingDue: Date.now() + firstPingMs });
    this.run();
  }

  /** Stops watching a connection (it closed). */
  unwatch(conn: UpkeptConnection): void {
    if (this.watched.delete(conn)) this.stopWhenIdle();
  }

  /** Runs `chore` on every tick, before the connections are checked; returns its removal. */
  addChore(chore: () => void): () => void {
    this.chores.push(chore);
    this.run();
    return () => {
      const i = this.chores.indexOf(chore);
      if (i < 0) return;
      this.chores.splice(i, 1);
      this.stopWhenIdle();
    };
  }

  private tick(): void {
    for (let i = 0; i < this.chores.length; i++) this.chores[i]();
    const o = this.host.options;
    const now = Date.now();
    const deadline = o.write_deadline;
    const interval = o.ping_interval;
    for (const w of this.watched.values()) {
      const c = w.conn;
      if (c.closed) {
        w.stuckSince = 0;
        continue;
      }
      const waiting = c.socket.writableLength;
      if (waiting === 0) {
        w.stuckSince = 0;
      } else {
        const sent = c.bytesHanded - waiting;
        if (w.stuckSince === 0 || sent !== w.sentMark) {
          w.sentMark = sent;
          w.stuckSince = now;
        } else if (now - w.stuckSince > deadline) {
          c.writeDeadlineExceeded();
          continue;
        }
      }
      if (interval <= 0 || now < w.pingDue) continue;
      w.pingDue = now + interval;
      if (!c.wantsPing(now, interval)) continue;
      if (c.pingsOut + 1 > o.ping_max) {
        this.host.logger.debug(`${c.label()} - Stale Client Connection - Closing`);
        c.closeStale();
      } else {
        c.sendPing();
      }
    }
    // A reload may have changed write_deadline or ping_interval.
    if (this.timer !== null && tickFor(o) !== this.tickMs) this.restart();
  }

  /** Starts ticking unless already running. */
  private run(): void {
    if (this.timer === null) this.restart();
  }

  private restart(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.tickMs = tickFor(this.host.options);
    this.timer = setInterval(this.tickBound, this.tickMs);
    this.timer.unref();
  }

  private stopWhenIdle(): void {
    if (this.timer === null || this.watched.size > 0 || this.chores.length > 0) return;
    clearInterval(this.timer);
    this.timer = null;
  }
}

/**
 * A tick at least once a second, and more often for a short write_deadline
 * or ping_interval: a stuck socket is found within half its deadline, a due
 * PING check runs at most a quarter interval late.
 */
function tickFor(o: ServerOptions): number {
  const forPings = o.ping_interval > 0 ? o.ping_interval / PING_CHECKS_PER_INTERVAL : MAX_TICK_MS;
  return Math.max(MIN_TICK_MS, Math.min(MAX_TICK_MS, o.write_deadline / 2, forPings));
}
