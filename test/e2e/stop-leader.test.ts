/**
 * SIGSTOP of the stream leader under load (the process freezes with its
 * sockets open, like a long GC pause or a stalled VM), then SIGCONT: the
 * others elect a new leader while it is frozen; when it wakes up as a
 * deposed leader it must not acknowledge or keep anything the new leader
 * did not commit (history check).
 */
import { describe, it } from 'node:test';
import { faultRun, firstAckSentAfter } from './scenario.js';
import { e2eServerKind } from './cluster-harness.js';
import { sleep, waitUntil } from '../helpers/wait.js';

describe(`e2e (${e2eServerKind()}): SIGSTOP/SIGCONT of the stream leader`, () => {
  it('fails over while the leader is frozen and stays consistent after it resumes', { timeout: 90_000 }, async (t) => {
    await faultRun(t, {}, async (run) => {
      const leader = await run.leader();
      const stoppedAt = performance.now();
      run.c.stop(leader);
      run.note(`SIGSTOP ${run.c.nodes[leader].name} (stream leader)`);
      let newLeader = leader;
      await waitUntil(async () => (newLeader = await run.leader().catch(() => leader)) !== leader, 40_000, 'a new stream leader', 200);
      await run.progress(500, 30_000);
      const first = firstAckSentAfter(run.history, stoppedAt);
      run.note(`new leader ${run.c.nodes[newLeader].name}; first PubAck for a message sent after the stop: ${first === null ? '?' : Math.round(first - stoppedAt)} ms after it`);
      // Frozen a while longer under load, so the old leader wakes up well behind.
      await sleep(2000);
      run.c.cont(leader);
      run.note(`SIGCONT ${run.c.nodes[leader].name} after ${Math.round(performance.now() - stoppedAt)} ms`);
      await run.progress(1000, 30_000);
    });
  });
});
