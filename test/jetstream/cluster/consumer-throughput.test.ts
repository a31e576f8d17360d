/**
 * Pull consume with ack on an R3 replicated consumer, in one process (the
 * harness's three servers and in-process Raft network), beside the same
 * consume from a single-server consumer on the same stream. Reports both
 * rates as diagnostics and checks the replicated one ends with every ack
 * replicated. CONSUMER_BENCH_MSGS sets the message count (default 5000).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { jetstream, AckPolicy, StorageType } from '@nats-io/jetstream';
import { decodeConsumerConfig } from '../../../src/jetstream/consumer/config.js';
import type { ConsumerConfig } from '../../../src/jetstream/types.js';
import { waitUntil } from '../../helpers/wait.js';
import { activeLeader, addStreamEverywhere, assignment, openEverywhere, publishEverywhere, startConsumerCluster, type ConsumerCluster, type TestMember } from './consumer-harness.js';

const N = Number(process.env.CONSUMER_BENCH_MSGS ?? 5000);

/** Consumes `n` messages with consume(), acking each; returns msgs/s from the first pull to the last ack sent. */
async function consumeAll(m: TestMember, stream: string, name: string, n: number): Promise<number> {
  const c = await jetstream(m.nc).consumers.get(stream, name);
  const start = performance.now();
  const it = await c.consume({ max_messages: 1000 });
  let got = 0;
  for await (const msg of it) {
    msg.ack();
    if (++got === n) break;
  }
  await m.nc.flush();
  return n / ((performance.now() - start) / 1000);
}

describe('replicated consumer throughput', () => {
  let cl: ConsumerCluster;
  before(async () => {
    cl = await startConsumerCluster(3);
    await addStreamEverywhere(cl, { name: 'T', subjects: ['t.>'], storage: StorageType.Memory });
    await publishEverywhere(cl, 't.x', N, 'x'.repeat(128));
  });
  after(async () => {
    await cl.close();
  });

  it(`pull consume with ack, ${N} messages of 128 B: R1 single server, then R3`, async (t) => {
    const single = cl.members[0];
    await single.jsm.consumers.add('T', { durable_name: 'S1', ack_policy: AckPolicy.Explicit });
    const r1 = await consumeAll(single, 'T', 'S1', N);
    await waitUntil(() => single.stream('T').consumers.get('S1')?.info().numAckPending === 0, 10_000, 'single-server acks');

    const raw = decodeConsumerConfig({ durable_name: 'R3', ack_policy: 'explicit' });
    if (raw instanceof Error) throw raw;
    const replicas = await openEverywhere(cl, assignment(cl, 'T', 'R3', raw as ConsumerConfig));
    const li = await activeLeader(replicas);
    const start = performance.now();
    const r3 = await consumeAll(cl.members[li], 'T', 'R3', N);
    for (const m of cl.members) {
      await waitUntil(() => m.stream('T').consumers.get('R3')?.info().ackFloor.stream_seq === N, 30_000, `acks replicated to ${m.id}`);
    }
    const replicated = N / ((performance.now() - start) / 1000);
    // Once more on one server, warmed up like the R3 run was.
    await single.jsm.consumers.add('T', { durable_name: 'S2', ack_policy: AckPolicy.Explicit });
    const r1again = await consumeAll(single, 'T', 'S2', N);
    t.diagnostic(`R1 single server: ${Math.round(r1)} then ${Math.round(r1again)} msgs/s; R3 replicated: ${Math.round(r3)} msgs/s delivered and acked, ${Math.round(replicated)} msgs/s until every replica applied every ack`);
    assert.ok(r3 > 0);
    for (const r of replicas) await r.stop();
  });
});
