/**
 * Deterministic simulation of Raft groups under faults (see sim/cluster.ts),
 * run in a worker thread (sim/worker.ts). RAFT_SIM_SEED=<n> replays one
 * seed; RAFT_SIM_SEEDS=<n> changes how many run (default 2000).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import type { SeedsResult } from './sim/worker.js';

const single = process.env['RAFT_SIM_SEED'];
const count = Number(process.env['RAFT_SIM_SEEDS'] ?? 2000);
const seeds = single !== undefined ? [Number(single)] : Array.from({ length: count }, (_, i) => i + 1);

function runInWorker(list: readonly number[]): Promise<SeedsResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./sim/worker.js', import.meta.url), { workerData: list });
    worker.once('message', (result: SeedsResult) => resolve(result));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`simulation worker exited with ${code} before answering`)));
  });
}

test(`raft simulation: ${seeds.length} seeds keep safety and recover once faults stop`, async () => {
  const started = Date.now();
  const { totals, failure } = await runInWorker(seeds);
  if (failure) assert.fail(`seed ${failure.seed} failed (replay: RAFT_SIM_SEED=${failure.seed}): ${failure.message}`);
  console.log(`raft simulation: ${seeds.length} seeds in ${Date.now() - started} ms`, totals);
  if (seeds.length >= 100) {
    // The faults must actually have been exercised.
    for (const key of ['crashes', 'damaged', 'partitions', 'snapshotsInstalled', 'snapshotsTaken', 'membershipChanges', 'transfers'] as const) {
      assert.ok((totals[key] ?? 0) > 0, `no ${key} across the seeds`);
    }
  }
});
