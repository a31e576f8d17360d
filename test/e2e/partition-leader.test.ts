/**
 * A network partition isolating the stream leader (its own network
 * namespace cut off from the others' cluster network; clients still reach
 * every node), then heal. The majority side elects a new leader and keeps
 * accepting writes; the isolated node must not acknowledge anything it
 * cannot commit, and after the heal it rejoins as a follower and catches
 * up (history check).
 */
import { describe, it } from 'node:test';
import { faultRun, firstAckSentAfter } from './scenario.js';
import { e2eServerKind } from './cluster-harness.js';
import { sleep, waitUntil } from '../helpers/wait.js';

describe(`e2e (${e2eServerKind()}): partition isolating the stream leader`, () => {
  it('keeps writing on the majority side and reconciles after the heal', { timeout: 90_000 }, async (t) => {
    await faultRun(t, { network: 'netns' }, async (run) => {
      const leader = await run.leader();
      const cutAt = performance.now();
      run.c.isolate(leader);
      run.note(`isolated ${run.c.nodes[leader].name} (stream leader)`);
      // The publisher on the majority side (p2 prefers a follower) must go on.
      const majority = run.publishers[1];
      let newLeader = leader;
      await waitUntil(async () => (newLeader = await run.leader().catch(() => leader)) !== leader, 40_000, 'a new stream leader on the majority side', 250);
      await majority.waitMoreAcks(500, 30_000);
      const first = firstAckSentAfter(run.history, cutAt);
      run.note(`majority leader ${run.c.nodes[newLeader].name}; first PubAck for a message sent after the cut: ${first === null ? '?' : Math.round(first - cutAt)} ms after it`);
      await sleep(3000);
      run.c.heal();
      run.note(`healed after ${Math.round(performance.now() - cutAt)} ms`);
      await run.progress(1000, 40_000);
    });
  });
});
