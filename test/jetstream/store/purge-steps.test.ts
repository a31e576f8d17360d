/**
 * Purges in steps (StreamStore.purgeSteps): the API runs them in slices,
 * and between two steps the store must be consistent and keep storing.
 * Messages stored meanwhile are newer than the purge and stay; the result
 * is the one-piece purge's. Both stores, the file store also across a reopen.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../../../src/jetstream/store/memory-store.js';
import { FileStore } from '../../../src/jetstream/store/file-store.js';
import type { PurgeOptions, StreamStore } from '../../../src/jetstream/store/types.js';
import { unlimited } from './store-suite.js';

const N = 30_000;
const data = Buffer.from('payload');

function fill(st: StreamStore): void {
  for (let i = 0; i < N; i++) st.storeMsg(`ev.${i % 10}`, null, data);
}

/** Runs a purge a few steps at a time, storing one message between steps; the purge's count and the messages stored meanwhile. */
function purgeWithTraffic(st: StreamStore, opts: PurgeOptions): { purged: number; during: number[] } {
  const steps = st.purgeSteps(opts);
  const during: number[] = [];
  for (;;) {
    const step = steps.next();
    if (step.done === true) return { purged: step.value, during };
    during.push(st.storeMsg('ev.new', null, data).seq);
  }
}

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const kinds: Array<[string, () => StreamStore]> = [
  ['memory', () => new MemoryStore(unlimited)],
  ['file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'natter-purge-steps-'));
    dirs.push(dir);
    return FileStore.open(dir, unlimited, { sync: 25, blockSize: 64 * 1024 });
  }],
];

for (const [kind, open] of kinds) {
  describe(`${kind} store: purge in steps`, () => {
    it('purging everything leaves what was stored during the purge', async () => {
      const st = open();
      fill(st);
      const { purged, during } = purgeWithTraffic(st, {});
      assert.equal(purged, N);
      assert.ok(during.length > 1, 'the purge took several steps');
      const state = st.state();
      assert.equal(state.msgs, during.length);
      assert.equal(state.firstSeq, during[0]);
      assert.equal(state.lastSeq, N + during.length);
      assert.equal(st.loadMsg(N), null);
      await st.stop();
    });

    it('keep and seq purges take the oldest messages only, as the purge found them', async () => {
      const st = open();
      fill(st);
      const kept = purgeWithTraffic(st, { keep: 100 });
      assert.equal(kept.purged, N - 100);
      assert.equal(st.state().msgs, 100 + kept.during.length);
      assert.equal(st.state().firstSeq, N - 99);
      const below = purgeWithTraffic(st, { seq: N - 50 });
      assert.equal(below.purged, 49);
      assert.equal(st.state().firstSeq, N - 50);
      await st.stop();
    });

    it('a subject purge keeps the newest `keep` of each subject it found, and the new messages', async () => {
      const st = open();
      fill(st);
      const { purged, during } = purgeWithTraffic(st, { subject: 'ev.*', keep: 10 });
      assert.equal(purged, N - 100);
      assert.deepEqual(st.subjectsState('ev.*').get('ev.3'), 10);
      assert.equal(st.subjectsState('ev.new').get('ev.new'), during.length);
      await st.stop();
    });

    it('compacting past the end moves the sequence to the floor, unless messages came in meanwhile', async () => {
      const st = open();
      fill(st);
      const floor = N * 10;
      const busy = purgeWithTraffic(st, { seq: floor });
      assert.equal(busy.purged, N);
      // The new messages keep the sequences they got; nothing is left below them.
      assert.equal(busy.during[0], N + 1);
      assert.equal(st.state().firstSeq, N + 1);
      assert.equal(st.state().msgs, busy.during.length);
      // Without traffic, as the one-piece compact: the next message gets the floor.
      assert.equal(st.compact(floor), busy.during.length);
      assert.equal(st.storeMsg('ev.after', null, data).seq, floor);
      await st.stop();
    });
  });
}

describe('file store: purge in steps survives a reopen', () => {
  it('recovers the purged state', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'natter-purge-steps-'));
    dirs.push(dir);
    const st = FileStore.open(dir, unlimited, { sync: 25, blockSize: 64 * 1024 });
    fill(st);
    const { during } = purgeWithTraffic(st, { keep: 5 });
    const before = st.state();
    await st.stop();
    const again = FileStore.open(dir, unlimited, { sync: 25, blockSize: 64 * 1024 });
    const state = again.state();
    assert.equal(state.msgs, 5 + during.length);
    assert.equal(state.firstSeq, before.firstSeq);
    assert.equal(state.lastSeq, before.lastSeq);
    await again.stop();
  });
});
