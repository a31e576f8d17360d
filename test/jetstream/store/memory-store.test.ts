import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../../src/jetstream/store/memory-store.js';
import { memStoreMsgSize } from '../../../src/jetstream/store/msg-size.js';
import { defineStoreSuite, unlimited } from './store-suite.js';

defineStoreSuite('memory', {
  open: (limits, firstSeq) => new MemoryStore(limits, firstSeq),
  size: memStoreMsgSize,
});

test('memory: 100k 128-byte messages store, filter and purge quickly', () => {
  const st = new MemoryStore(unlimited);
  const data = Buffer.alloc(128, 1);
  for (let i = 0; i < 100_000; i++) st.storeMsg(`ev.${i % 100}`, null, data);
  assert.equal(st.state().msgs, 100_000);
  assert.equal(st.numPending(50_001, ['ev.7'], false), 500);
  assert.equal(st.loadLastMsg('ev.7')?.seq, 99_908);
  assert.equal(st.purge({ subject: 'ev.*', keep: 1 }), 99_900);
  assert.deepEqual(st.lastSeqsPerSubject(null, 0).length, 100);
});
