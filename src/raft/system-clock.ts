/**
 * The real RaftClock: wall timers and Math.random. A zero delay runs on
 * setImmediate, so a node that batches the proposals of one event-loop turn
 * flushes them at the end of that turn instead of a millisecond later.
 */
import type { RaftClock, TimerHandle } from './types.js';

type SystemTimer = { immediate: NodeJS.Immediate } | { timeout: NodeJS.Timeout };

export const systemClock: RaftClock = {
  now(): number {
    return performance.now();
  },
  setTimer(ms: number, fn: () => void): TimerHandle {
    if (ms <= 0) return { immediate: setImmediate(fn) } satisfies SystemTimer;
    const timeout = setTimeout(fn, ms);
    // Raft timers alone must not keep the process alive.
    timeout.unref();
    return { timeout } satisfies SystemTimer;
  },
  clearTimer(handle: TimerHandle): void {
    const timer = handle as SystemTimer | null | undefined;
    if (!timer) return;
    if ('immediate' in timer) clearImmediate(timer.immediate);
    else clearTimeout(timer.timeout);
  },
  random(): number {
    return Math.random();
  },
};
