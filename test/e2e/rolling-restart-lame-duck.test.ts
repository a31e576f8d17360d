/**
 * The rolling restart of rolling-restart.ts through lame duck mode: each
 * node gets SIGUSR2, hands over its leaderships, and closes its clients
 * spread over `lame_duck_duration` (30 s, nats-server's minimum; it exits
 * as soon as its last client is closed) before it exits. Every replica
 * must end in sync (history check). In a file of its own: lame duck mode
 * alone takes over a minute for three nodes.
 */
import { describe, it } from 'node:test';
import { faultRun } from './scenario.js';
import { e2eServerKind } from './cluster-harness.js';
import { rollingRestart } from './rolling-restart.js';

describe(`e2e (${e2eServerKind()}): rolling restart through lame duck mode under load`, () => {
  it('restarts every node in turn through lame duck mode', { timeout: 170_000 }, async (t) => {
    await faultRun(t, { settleMs: 40_000, ratePerSec: 500, extraConfig: ['lame_duck_duration: "30s"', 'lame_duck_grace_period: "1s"'] }, (run) => rollingRestart(run, 'lame duck'));
  });
});
