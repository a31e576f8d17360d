/**
 * A rolling restart of all three nodes under load, as Kubernetes does it:
 * one node at a time is shut down gracefully (SIGTERM), started again with
 * the same config and store, and the next one goes only once the restarted
 * node reports healthy (`/healthz`, which checks that its replicas are
 * current). Every replica must end in sync (history check).
 *
 * The lame duck variant stops each node with SIGUSR2 instead: it hands
 * over its leaderships and closes its clients spread over
 * `lame_duck_duration` (30 s, nats-server's minimum; a node exits as soon as
 * its last client is closed) before it exits.
 */
import { describe, it } from 'node:test';
import { faultRun, type FaultRun } from './scenario.js';
import { e2eServerKind } from './cluster-harness.js';
import { waitFor } from './wait-for.js';

type Stop = 'SIGTERM' | 'lame duck';

async function rollingRestart(run: FaultRun, how: Stop): Promise<void> {
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

describe(`e2e (${e2eServerKind()}): rolling restart under load`, () => {
  it('restarts every node in turn (SIGTERM) without losing or diverging', { timeout: 120_000 }, async (t) => {
    await faultRun(t, { settleMs: 40_000 }, (run) => rollingRestart(run, 'SIGTERM'));
  });

  it('restarts every node in turn through lame duck mode', { timeout: 240_000 }, async (t) => {
    await faultRun(t, { settleMs: 40_000, ratePerSec: 500, extraConfig: ['lame_duck_duration: "30s"', 'lame_duck_grace_period: "1s"'] }, (run) => rollingRestart(run, 'lame duck'));
  });
});
