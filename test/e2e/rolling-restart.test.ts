/**
 * A rolling restart of all three nodes under load, each node shut down
 * gracefully (SIGTERM) in turn (rolling-restart.ts): every replica must end
 * in sync (history check).
 */
import { describe, it } from 'node:test';
import { faultRun } from './scenario.js';
import { e2eServerKind } from './cluster-harness.js';
import { rollingRestart } from './rolling-restart.js';

describe(`e2e (${e2eServerKind()}): rolling restart under load`, () => {
  it('restarts every node in turn (SIGTERM) without losing or diverging', { timeout: 120_000 }, async (t) => {
    await faultRun(t, { settleMs: 40_000 }, (run) => rollingRestart(run, 'SIGTERM'));
  });
});
