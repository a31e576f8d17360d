/**
 * kill -9 of the stream leader under async publish load: the others elect a
 * new leader, publishing resumes, the killed node comes back and catches
 * up; no acknowledged message is lost (history check).
 */
import { describe, it } from 'node:test';
import { faultRun, firstAckSentAfter } from './scenario.js';
import { e2eServerKind } from './cluster-harness.js';

describe(`e2e (${e2eServerKind()}): kill -9 of the stream leader`, () => {
  it('keeps every acknowledged message through the failover and the restart', { timeout: 90_000 }, async (t) => {
    await faultRun(t, {}, async (run) => {
      const leader = await run.leader();
      const killedAt = performance.now();
      await run.c.kill9(leader);
      run.note(`killed ${run.c.nodes[leader].name} (stream leader)`);
      await run.progress(500, 45_000);
      const newLeader = await run.leader();
      const first = firstAckSentAfter(run.history, killedAt);
      run.note(`new leader ${run.c.nodes[newLeader].name}; first PubAck for a message sent after the kill: ${first === null ? '?' : Math.round(first - killedAt)} ms after the kill`);
      await run.c.restart(leader);
      await run.progress(1000, 30_000);
    });
  });
});
