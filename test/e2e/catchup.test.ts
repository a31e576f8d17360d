/**
 * A restarted replica catching up: one follower is killed, 100k messages
 * are published to the R3 stream while it is down (the other two are a
 * quorum), then it restarts and must catch up to the leader. The times are
 * reported (publish rate, catch-up time from the restart); the history
 * check covers all 100k messages on every replica.
 */
import { describe, it } from 'node:test';
import { faultRun, SUBJECT, PAYLOAD_SIZE } from './scenario.js';
import { e2eServerKind } from './cluster-harness.js';
import { AsyncPublisher } from './workload.js';
import { localState } from './replicas.js';
import { waitFor } from './wait-for.js';

const MESSAGES = Number(process.env.E2E_CATCHUP_MESSAGES ?? 100_000);
/** The bulk publish must be done by then (here: nats-server 10-13 s, Natter 30-50 s on a busy machine). */
const PUBLISH_BOUND_MS = 80_000;

describe(`e2e (${e2eServerKind()}): a restarted replica catches up`, () => {
  it(`catches up ${MESSAGES} messages published while it was down`, { timeout: 150_000 }, async (t) => {
    await faultRun(t, { publishers: 0, consumer: false, settleMs: 30_000 }, async (run) => {
      const leader = await run.leader();
      const follower = (leader + 1) % run.c.size;
      await run.c.kill9(follower);
      const pub = new AsyncPublisher(run.history, await run.c.client('e2e-bulk', leader), 'bulk', {
        subject: SUBJECT,
        inflight: 256,
        size: PAYLOAD_SIZE,
        ackTimeoutMs: 10_000,
        max: MESSAGES,
      });
      const t0 = performance.now();
      run.note(`${run.c.nodes[follower].name} killed; publishing ${MESSAGES} messages`);
      pub.start();
      const bound = setTimeout(() => void pub.stop(), PUBLISH_BOUND_MS);
      await pub.finished();
      clearTimeout(bound);
      if (pub.ackCount < MESSAGES) throw new Error(`only ${pub.ackCount} of ${MESSAGES} publishes acked within ${PUBLISH_BOUND_MS} ms with one node down`);
      const pubS = (performance.now() - t0) / 1000;
      run.note(`published ${MESSAGES} x ${PAYLOAD_SIZE} B (${pub.ackCount} acked) with ${run.c.nodes[follower].name} down in ${pubS.toFixed(1)} s (${Math.round(pub.ackCount / pubS)} msgs/s)`);
      const target = await localState(run.c, leader, 'E2E');
      if (target === null) throw new Error('the leader does not report the stream');
      const restartAt = performance.now();
      await run.c.restart(follower);
      const listening = performance.now() - restartAt;
      let last = '';
      await waitFor(
        async () => {
          const s = await localState(run.c, follower, 'E2E');
          last = JSON.stringify(s);
          return s !== null && s.lastSeq >= target.lastSeq && s.messages >= target.messages;
        },
        30_000,
        () => `${run.c.nodes[follower].name} to reach seq ${target.lastSeq} (last: ${last})`,
        50,
      );
      run.note(`catch-up of ${run.c.nodes[follower].name}: ${Math.round(performance.now() - restartAt)} ms from restart (client port up after ${Math.round(listening)} ms) to last_seq ${target.lastSeq}`);
    });
  });
});
