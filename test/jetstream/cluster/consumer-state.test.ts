/**
 * The replicated consumer state machine without Raft: entries applied in
 * order give the consumer's own floors, releases for retention, and a
 * snapshot that restores to the same state.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConsumerOpBatch, decodeLeaderMarker, encodeLeaderMarker, isOpsEntry, ReplicatedConsumerState } from '../../../src/jetstream/cluster/consumer-state.js';

function applyAll(state: ReplicatedConsumerState, build: (b: ConsumerOpBatch) => void): number[] {
  const b = new ConsumerOpBatch();
  build(b);
  const released: number[] = [];
  assert.ok(state.apply(b.take(), released));
  return released;
}

describe('replicated consumer state', () => {
  it('tracks deliveries, moves the ack floor like the consumer and releases acknowledged sequences', () => {
    const st = new ReplicatedConsumerState(() => false);
    applyAll(st, (b) => {
      b.started(1, []);
      for (let i = 1; i <= 5; i++) b.delivered(i, i, 1, 1000 + i);
    });
    assert.deepEqual(st.state.delivered, { consumerSeq: 5, streamSeq: 5 });
    assert.equal(st.state.pending.size, 5);
    assert.deepEqual(applyAll(st, (b) => b.acked(2, 2)), [2]);
    assert.deepEqual(st.state.ackFloor, { consumerSeq: 0, streamSeq: 0 }, 'floor waits for 1');
    assert.deepEqual(applyAll(st, (b) => b.acked(1, 1)), [1]);
    assert.deepEqual(st.state.ackFloor, { consumerSeq: 2, streamSeq: 2 }, 'floor up to just below the oldest pending');
    applyAll(st, (b) => b.delivered(3, 6, 2, 2000));
    assert.equal(st.state.redelivered.get(3), 2);
    assert.deepEqual(st.state.pending.get(3), { consumerSeq: 6, ts: 2000 });
    assert.deepEqual(applyAll(st, (b) => b.terminated(4)), [4]);
    assert.deepEqual(applyAll(st, (b) => b.maxDelivered(5)), [], 'max deliveries keep the message in the stream');
    assert.deepEqual(applyAll(st, (b) => b.acked(3, 6)), [3]);
    assert.deepEqual(st.state.ackFloor, { consumerSeq: 6, streamSeq: 5 }, 'nothing pending: the floor is what was delivered');
    assert.deepEqual(applyAll(st, (b) => b.acked(3, 6)), [], 'a replayed ack changes nothing');
  });

  it('ack all releases everything up to the sequence; ack none releases each delivery', () => {
    const all = new ReplicatedConsumerState(() => false);
    applyAll(all, (b) => {
      for (let i = 1; i <= 4; i++) b.delivered(i, i, 1, 0);
    });
    assert.deepEqual(applyAll(all, (b) => b.ackedAll(3, 3)).sort(), [1, 2, 3]);
    assert.deepEqual(all.state.ackFloor, { consumerSeq: 3, streamSeq: 3 });
    assert.deepEqual([...all.state.pending.keys()], [4]);
    const none = new ReplicatedConsumerState(() => true);
    assert.deepEqual(applyAll(none, (b) => b.delivered(7, 1, 1, 0)), [7]);
    assert.deepEqual(none.state.ackFloor, { consumerSeq: 1, streamSeq: 7 });
    assert.equal(none.state.pending.size, 0);
  });

  it('a start is applied once; last_per_subject sequences go as they are delivered', () => {
    const st = new ReplicatedConsumerState(() => false);
    applyAll(st, (b) => b.started(11, [3, 7, 9]));
    applyAll(st, (b) => b.started(20, [1]));
    assert.equal(st.state.delivered.streamSeq, 10);
    assert.deepEqual(st.lastPerSubject, [3, 7, 9]);
    applyAll(st, (b) => b.delivered(3, 1, 1, 0));
    assert.deepEqual(st.lastPerSubject, [7, 9]);
    assert.equal(st.state.delivered.streamSeq, 10, 'the stream position stays after the seeds');
  });

  it('a snapshot restores the same state', () => {
    const st = new ReplicatedConsumerState(() => false);
    applyAll(st, (b) => {
      b.started(1, [5]);
      for (let i = 1; i <= 3; i++) b.delivered(i, i, 1, 100 * i);
      b.delivered(2, 4, 3, 999);
      b.progressed(1, 12345);
    });
    const copy = new ReplicatedConsumerState(() => false);
    assert.ok(copy.restore(st.encode()));
    assert.deepEqual(copy.state, st.state);
    assert.deepEqual(copy.lastPerSubject, [5]);
    assert.equal(copy.started, true);
    assert.equal(copy.state.pending.get(1)?.ts, 12345);
    assert.equal(copy.restore(Buffer.from([9, 9, 9])), false, 'garbage is refused');
    assert.deepEqual(copy.state, st.state, 'and leaves the state alone');
  });

  it('tells leader markers from op entries', () => {
    const m = encodeLeaderMarker(7, 'abcdefgh');
    assert.deepEqual(decodeLeaderMarker(m), { term: 7, peer: 'abcdefgh' });
    assert.equal(isOpsEntry(m), false);
    const b = new ConsumerOpBatch();
    assert.ok(b.empty);
    b.acked(1, 1);
    const e = b.take();
    assert.ok(isOpsEntry(e));
    assert.equal(decodeLeaderMarker(e), null);
    assert.ok(b.empty, 'take starts the batch over');
  });
});
