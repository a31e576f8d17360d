import { performance } from 'node:perf_hooks';

/** Wall-clock milliseconds with the sub-millisecond fraction stored timestamps carry. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
