/**
 * Runs simulation seeds in a worker thread: outside the test runner's
 * promise tracking, which would double the cost of every simulated storage
 * operation. Posts one SeedsResult.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Simulation, type SimStats } from './cluster.js';

export interface SeedsResult {
  readonly totals: Partial<Record<keyof SimStats, number>>;
  /** The first failing seed and why, or null. */
  readonly failure: { readonly seed: number; readonly message: string } | null;
}

async function runSeeds(seeds: readonly number[]): Promise<SeedsResult> {
  const totals: Partial<Record<keyof SimStats, number>> = {};
  for (const seed of seeds) {
    const sim = new Simulation(seed);
    try {
      await sim.run();
    } catch (err) {
      return { totals, failure: { seed, message: err instanceof Error ? err.message : String(err) } };
    }
    for (const [key, value] of Object.entries(sim.stats) as [keyof SimStats, number][]) totals[key] = (totals[key] ?? 0) + value;
  }
  return { totals, failure: null };
}

if (parentPort) {
  const port = parentPort;
  runSeeds(workerData as number[]).then((result) => port.postMessage(result));
}
