/**
 * A rolling restart of all three nodes under load, as Kubernetes does it:
 * one node at a time is stopped, started again with the same config and
 * store, and the next one goes only once the restarted node reports
 * healthy (`/healthz`, which checks that its replicas are current).
 */
import type { FaultRun } from './scenario.js';
import { waitFor } from './wait-for.js';

export type Stop = 'SIGTERM' | 'lame duck';

export async function rollingRestart(run: FaultRun, how: Stop): Promise<void> {
  for (let i = 0; i < run.c.size; i++) {
    const n = run.c.nodes[i];
    const t0 = performance.now();
    if (how === 'SIGTERM') await run.c.shutdown(i);
    else await run.c.lameDuck(i);
    const down = performance.now() - t0;
    await run.c.restart(i);
    let status = 0;
    await waitFor(
      async () => {
        status = await fetch(`${n.httpBase}/healthz`, { signal: AbortSignal.timeout(1000) }).then((r) => r.status).catch(() => 0);
        return status === 200;
      },
      30_000,
      () => `${n.name} healthy after its restart (last /healthz status ${status})`,
      100,
    );
    run.note(`${n.name}: ${how} until exit ${Math.round(down)} ms, healthy ${Math.round(performance.now() - t0)} ms after the signal`);
    await run.progress(300, 30_000);
  }
}

