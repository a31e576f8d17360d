/**
 * Sequences that jump (a mirror following an origin that purged up to a
 * far sequence) cost nothing: the SeqMap starts a new segment instead of
 * filling the gap with holes, and everything that walks the stored messages
 * steps from message to message. Before, one such jump hung the server.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeqMap } from '../../../src/jetstream/store/seq-map.js';
import { MemoryStore } from '../../../src/jetstream/store/memory-store.js';
import { FileStore } from '../../../src/jetstream/store/file-store.js';
import { MAX_DELETED_DETAILS } from '../../../src/jetstream/store/indexed-store.js';
import type { StreamStore } from '../../../src/jetstream/store/types.js';
import { unlimited } from './store-suite.js';

const FAR = 1e12;

describe('SeqMap segments', () => {
  it('keeps far sequences in their own segments and walks across them', () => {
    const m = new SeqMap<string>();
    for (let s = 1; s <= 10; s++) m.append(s, `a${s}`);
    m.append(2000, 'b');
    m.append(FAR, 'c');
    m.append(FAR + 5, 'd');
    assert.throws(() => m.append(FAR + 4, 'late'), RangeError);
    assert.equal(m.size, 13);
    assert.deepEqual([m.get(10), m.get(11), m.get(2000), m.get(FAR), m.get(FAR + 1), m.get(FAR + 5)], ['a10', undefined, 'b', 'c', undefined, 'd']);
    assert.deepEqual([m.next(11), m.next(2001), m.next(FAR + 1), m.next(FAR + 6)], [2000, FAR, FAR + 5, -1]);
    assert.deepEqual([m.prev(FAR - 1), m.prev(1999), m.prev(0)], [2000, 10, -1]);
    // Emptying a segment drops it; the others stay reachable.
    assert.equal(m.delete(2000), true);
    assert.equal(m.next(11), FAR);
    for (let s = 1; s <= 10; s++) m.delete(s);
    assert.equal(m.first, FAR);
    assert.equal(m.delete(FAR), true);
    assert.equal(m.first, FAR + 5);
    assert.equal(m.delete(FAR + 5), true);
    assert.equal(m.size, 0);
    assert.equal(m.first, undefined);
  });
});

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const kinds: Array<[string, () => StreamStore]> = [
  ['memory', () => new MemoryStore(unlimited)],
  ['file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'natter-seq-gaps-'));
    dirs.push(dir);
    return FileStore.open(dir, unlimited, { sync: 25 });
  }],
];

for (const [kind, open] of kinds) {
  it(`${kind} store: a jump of a trillion sequences is stored, read, listed and purged at once`, async () => {
    const st = open();
    const data = Buffer.from('x');
    st.storeMsg('a', null, data);
    st.storeMsg('b', null, data);
    const started = performance.now();
    st.storeMsgAt(FAR, 'a', null, data, Date.now());
    st.storeMsg('c', null, data);
    assert.equal(st.loadMsg(FAR)?.subject, 'a');
    assert.equal(st.loadNextMsg(['c'], 3)?.seq, FAR + 1);
    assert.equal(st.state().numDeleted, FAR - 3);
    assert.equal(st.deletedSeqs().length, MAX_DELETED_DETAILS);
    // The first 'a' goes: the subject's first sequence is found again across the gap.
    assert.equal(st.removeMsg(1), true);
    assert.equal(st.loadNextMsg(['a'], 0)?.seq, FAR);
    assert.equal(st.purge({ keep: 1 }), 2);
    assert.ok(performance.now() - started < 2000, `took ${(performance.now() - started).toFixed(0)} ms`);
    assert.equal(st.state().firstSeq, FAR + 1);
    await st.stop();
  });
}
