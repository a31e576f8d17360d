/**
 * Simulated time: a queue of events ordered by (time, insertion), run one
 * at a time. Nothing real (timers, I/O) is involved, so a seed replays
 * exactly; promise callbacks run between events (run() yields after an
 * event that settled a promise).
 */
import type { RaftClock, TimerHandle } from '../../../src/raft/types.js';
import type { Rng } from '../../helpers/random.js';

interface SimEvent {
  readonly time: number;
  readonly seq: number;
  fn: (() => void) | null;
}

export class Scheduler {
  now = 0;
  /** Set by whatever settles a promise (a disk completion, a state machine call): run() then yields to microtasks. */
  promisesPending = false;
  private seq = 0;
  private readonly heap: SimEvent[] = [];

  /** `yieldEveryEvent`: settle promises after every event (small tests), not only when flagged. */
  constructor(private readonly yieldEveryEvent = false) {}

  at(time: number, fn: () => void): SimEvent {
    const event: SimEvent = { time: Math.max(time, this.now), seq: this.seq++, fn };
    const heap = this.heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
    return event;
  }

  /** Events scheduled so far. */
  scheduled(): number {
    return this.seq;
  }

  after(ms: number, fn: () => void): SimEvent {
    return this.at(this.now + ms, fn);
  }

  private pop(): SimEvent | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  }

  /** Runs events up to `until` (simulated ms), or until `stop()` says so after an event. */
  async run(until: number, stop?: () => boolean): Promise<void> {
    while (this.heap.length > 0 && this.heap[0]!.time <= until) {
      const event = this.pop()!;
      this.now = event.time;
      const fn = event.fn;
      if (!fn) continue;
      event.fn = null;
      fn();
      if (this.promisesPending || this.yieldEveryEvent) {
        // Let the promise chains this event started (storage completions, votes) settle before the next event.
        this.promisesPending = false;
        for (let i = 0; i < 6; i++) await null;
      }
      if (stop?.()) return;
    }
    if (this.now < until && !stop?.()) this.now = until;
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

/**
 * One node's clock in one life: a crash kills the life, and with it every
 * timer the node had armed.
 */
export class SimClock implements RaftClock {
  alive = true;

  constructor(private readonly scheduler: Scheduler, private readonly rng: Rng) {}

  now(): number {
    return this.scheduler.now;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    return this.scheduler.after(ms, () => {
      if (this.alive) fn();
    });
  }

  clearTimer(handle: TimerHandle): void {
    (handle as SimEvent).fn = null;
  }

  random(): number {
    return this.rng.next();
  }
}
