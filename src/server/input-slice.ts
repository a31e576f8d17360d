/**
 * A fair share of the event loop for one connection's input.
 *
 * libuv reads up to 32 chunks of 64 KiB from a readable socket per turn of
 * the event loop, and one chunk can carry thousands of ops: a client
 * streaming SUBs, UNSUBs or requests would otherwise hold the loop for
 * hundreds of milliseconds while every other connection waits. So each
 * connection's input runs in slices of INPUT_SLICE_MS per turn; a connection
 * whose slice is used up stops reading and goes on in a later turn (see
 * Client.yieldInput).
 */
import { performance } from 'node:perf_hooks';

/**
 * How long one connection's input may run per turn. Short enough that a
 * request/reply that needs two turns of a busy server stays in the tens of
 * milliseconds; long enough that yielding (pausing the socket, a copy of the
 * unparsed rest of the chunk, two setImmediates) costs a fast publisher of
 * tiny messages about 2% of its throughput, and bigger messages less.
 */
export const INPUT_SLICE_MS = 4;

/**
 * The clock is read about this often while input is parsed. Reading it
 * costs some 50 ns, a fifth of what a small PUB costs: so the number of ops
 * between readings follows the pace of the ops (a few hundred PUBs, or a
 * handful of expensive requests).
 */
const CLOCK_READ_MS = 0.25;
const MAX_OPS_PER_CLOCK_READ = 256;

let turn = 0;
let ticking = false;

function nextTurn(): void {
  turn++;
  ticking = false;
}

/**
 * A number that changes between turns of the event loop in which it is
 * asked for: the first call of a turn arms one setImmediate that counts on.
 */
export function eventLoopTurn(): number {
  if (!ticking) {
    ticking = true;
    setImmediate(nextTurn);
  }
  return turn;
}

/** One connection's input slice: when it began, and how much of it is left. */
export class InputSlice {
  private turn = -1;
  private started = 0;
  /** When the clock was read last, and how many ops were to pass until the next reading. */
  private lastRead = 0;
  private opsPerRead = 1;
  private opsUntilClockRead = 1;

  /** Input is about to be parsed: a new turn starts a new slice. */
  begin(): void {
    const t = eventLoopTurn();
    if (t !== this.turn) {
      this.turn = t;
      this.started = this.lastRead = performance.now();
    }
  }

  /**
   * Counts one op; true when the slice is used up and the connection should
   * yield. Kept to a decrement so that it adds next to nothing to the op
   * handlers the compiler inlines into the parser.
   */
  spend(): boolean {
    return --this.opsUntilClockRead <= 0 && this.readClock();
  }

  /** Reads the clock: is the slice used up? Sets when to read it next. */
  private readClock(): boolean {
    const now = performance.now();
    // The pace since the last reading sets the distance to the next one.
    const perOp = (now - this.lastRead) / this.opsPerRead;
    this.opsPerRead = perOp * MAX_OPS_PER_CLOCK_READ <= CLOCK_READ_MS ? MAX_OPS_PER_CLOCK_READ : Math.max(1, Math.floor(CLOCK_READ_MS / perOp));
    this.opsUntilClockRead = this.opsPerRead;
    this.lastRead = now;
    return now - this.started >= INPUT_SLICE_MS;
  }
}

/**
 * Runs `fn` in the next turn of the event loop. A setImmediate made while
 * reading (libuv's poll phase) runs in the same turn's check phase: a
 * connection that yielded there would get a second slice in the very turn
 * it gave up. The second hop puts it in the next turn's check phase.
 */
export function inNextTurn(fn: () => void): void {
  setImmediate(setImmediate, fn);
}

/** Steps of inSlices between two readings of the clock (a step is a sublist removal, about a microsecond). */
const STEPS_PER_CLOCK_READ = 64;

/**
 * Runs `step` over `items` in slices of INPUT_SLICE_MS, one per turn, for
 * work that belongs to no read (e.g. a closed connection's subscriptions
 * leaving the sublist).
 */
export function inSlices<T>(items: Iterator<T>, step: (item: T) => void): void {
  const started = performance.now();
  let n = 0;
  for (let next = items.next(); !next.done; next = items.next()) {
    step(next.value);
    if (++n % STEPS_PER_CLOCK_READ === 0 && performance.now() - started >= INPUT_SLICE_MS) {
      inNextTurn(() => inSlices(items, step));
      return;
    }
  }
}
