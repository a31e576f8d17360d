/**
 * The behaviour every StreamStore must show, run against each implementation
 * (memory-store.test.ts, file-store.test.ts) so the two cannot drift apart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitUntil } from '../../helpers/wait.js';
import { Rng } from '../../helpers/random.js';
import { subjectMatches } from '../../../src/subjects/validate.js';
import { StoreError, type StoreLimits, type StreamStore } from '../../../src/jetstream/store/types.js';

export const unlimited: StoreLimits = {
  maxMsgs: -1, maxBytes: -1, maxAgeMs: 0, maxMsgsPerSubject: -1, maxMsgSize: -1, discard: 'old', discardNewPerSubject: false,
};

export function limitsWith(over: Partial<StoreLimits>): StoreLimits {
  return { ...unlimited, ...over };
}

export interface StoreFactory {
  /** Opens a fresh, empty store (the suite stops it after each test). */
  open(limits: StoreLimits, firstSeq?: number): StreamStore;
  /** nats-server's byte accounting for this kind. */
  size(subjectLen: number, hdrLen: number, dataLen: number): number;
  /** Stops `st` and opens its data again (persistent stores only). */
  reopen?(st: StreamStore, limits: StoreLimits): Promise<StreamStore>;
}

const b = (s: string): Buffer => Buffer.from(s);

function storeN(st: StreamStore, n: number, subject: (i: number) => string = () => 'foo'): void {
  for (let i = 1; i <= n; i++) st.storeMsg(subject(i), null, b(`m${i}`));
}

function expectStoreError(fn: () => unknown, kind: StoreError['kind'], text: string): void {
  assert.throws(fn, (err: unknown) => err instanceof StoreError && err.kind === kind && err.message === text);
}

export function defineStoreSuite(name: string, f: StoreFactory): void {
  const stores: StreamStore[] = [];
  const open = (limits: StoreLimits = unlimited, firstSeq?: number): StreamStore => {
    const st = f.open(limits, firstSeq);
    stores.push(st);
    return st;
  };
  const t = (title: string, fn: () => void | Promise<void>): void => {
    test(`${name}: ${title}`, async () => {
      try {
        await fn();
      } finally {
        for (const st of stores.splice(0)) await st.stop();
      }
    });
  };

  t('empty store reports first_seq 0 / last_seq 0, or first_seq N with a configured first sequence', () => {
    const st = open();
    assert.deepEqual(st.state(), {
      msgs: 0, bytes: 0, firstSeq: 0, firstTs: 0, lastSeq: 0, lastTs: 0, numDeleted: 0, numSubjects: 0,
    });
    const s10 = open(unlimited, 10);
    assert.equal(s10.state().firstSeq, 10);
    assert.equal(s10.state().lastSeq, 9);
    assert.equal(s10.storeMsg('a', null, b('x')).seq, 10);
  });

  t('store and load keep subject, header, payload and timestamp; bytes follow nats-server', () => {
    const st = open();
    const hdr = b('NATS/1.0\r\nA: 1\r\n\r\n');
    const r1 = st.storeMsg('foo.bar', hdr, b('hello'));
    const r2 = st.storeMsg('foo.baz', null, b(''), 1_700_000_000_123.456);
    assert.deepEqual([r1.seq, r2.seq], [1, 2]);
    assert.equal(r2.ts, 1_700_000_000_123.456);
    assert.ok(Math.abs(r1.ts - Date.now()) < 5_000);
    const m1 = st.loadMsg(1);
    assert.ok(m1);
    assert.equal(m1.subject, 'foo.bar');
    assert.deepEqual(m1.hdr, hdr);
    assert.deepEqual(m1.data, b('hello'));
    assert.equal(m1.ts, r1.ts);
    const m2 = st.loadMsg(2);
    assert.ok(m2);
    assert.equal(m2.hdr, null);
    assert.equal(m2.data.length, 0);
    assert.equal(st.loadMsg(3), null);
    const s = st.state();
    assert.equal(s.msgs, 2);
    assert.equal(s.bytes, f.size(7, hdr.length, 5) + f.size(7, 0, 0));
    assert.deepEqual([s.firstSeq, s.lastSeq, s.numSubjects, s.numDeleted], [1, 2, 2, 0]);
    assert.equal(s.firstTs, r1.ts);
    assert.equal(s.lastTs, r2.ts);
  });

  t('the store keeps its own copy of the payload', () => {
    const st = open();
    const data = b('abc');
    st.storeMsg('foo', null, data);
    data.fill(0x7a);
    assert.deepEqual(st.loadMsg(1)?.data, b('abc'));
  });

  t('removing interior, first and all messages: deleted list, first_seq moves, empty is last+1', () => {
    const st = open();
    storeN(st, 5);
    assert.equal(st.removeMsg(3), true);
    assert.equal(st.removeMsg(3), false);
    assert.deepEqual(st.deletedSeqs(), [3]);
    assert.equal(st.state().numDeleted, 1);
    // As nats-server: removing the newest message keeps last_seq and counts it deleted.
    assert.equal(st.removeMsg(5), true);
    assert.deepEqual([st.state().lastSeq, st.state().numDeleted], [5, 2]);
    assert.deepEqual(st.deletedSeqs(), [3, 5]);
    st.storeMsgAt(6, 'foo', null, b('m5'), 1);
    assert.equal(st.removeMsg(1), true);
    assert.equal(st.state().firstSeq, 2);
    assert.equal(st.removeMsg(2), true);
    assert.equal(st.state().firstSeq, 4);
    assert.deepEqual(st.deletedSeqs(), [5]);
    assert.equal(st.eraseMsg(6), true);
    assert.equal(st.loadMsg(6), null);
    assert.equal(st.removeMsg(4), true);
    assert.deepEqual(st.state(), {
      msgs: 0, bytes: 0, firstSeq: 7, firstTs: 0, lastSeq: 6, lastTs: 1, numDeleted: 0, numSubjects: 0,
    });
    assert.deepEqual(st.deletedSeqs(), []);
    assert.equal(st.storeMsg('foo', null, b('x')).seq, 7);
  });

  t('skipMsg and storeMsgAt leave gaps; on an empty store they move first_seq', () => {
    const st = open();
    assert.equal(st.skipMsg(), 1);
    assert.deepEqual([st.state().firstSeq, st.state().lastSeq], [2, 1]);
    st.storeMsgAt(5, 'a', null, b('5'), 1000);
    assert.deepEqual([st.state().firstSeq, st.state().lastSeq, st.state().numDeleted], [5, 5, 0]);
    st.storeMsgAt(8, 'a', null, b('8'), 1001);
    assert.equal(st.skipMsg(), 9);
    assert.deepEqual(st.deletedSeqs(), [6, 7, 9]);
    assert.equal(st.state().numDeleted, 3);
    assert.equal(st.storeMsg('a', null, b('10')).seq, 10);
    assert.throws(() => st.storeMsgAt(10, 'a', null, b('again'), 1002), RangeError);
  });

  t('purge variants: all, by subject (wildcards), keep, below a sequence', () => {
    const st = open();
    storeN(st, 10, (i) => (i % 2 === 0 ? 'a.even' : 'a.odd'));
    assert.equal(st.purge({ subject: 'a.even', keep: 2 }), 3);
    assert.deepEqual(st.subjectsState('a.*'), new Map([['a.odd', 5], ['a.even', 2]]));
    assert.equal(st.loadNextMsg(['a.even'], 0)?.seq, 8);
    assert.equal(st.purge({ subject: 'a.*', seq: 6 }), 3);
    assert.deepEqual(st.subjectsState('>'), new Map([['a.odd', 2], ['a.even', 2]]));
    assert.equal(st.purge({ keep: 3 }), 1);
    assert.equal(st.state().firstSeq, 8);
    assert.equal(st.purge({ seq: 10 }), 2);
    assert.deepEqual([st.state().msgs, st.state().firstSeq], [1, 10]);
    assert.equal(st.purge(), 1);
    assert.deepEqual([st.state().msgs, st.state().firstSeq, st.state().lastSeq], [0, 11, 10]);
    assert.equal(st.storeMsg('b', null, b('x')).seq, 11);
  });

  t('compact removes below a sequence, and past the end moves last_seq', () => {
    const st = open();
    storeN(st, 5);
    assert.equal(st.compact(3), 2);
    assert.deepEqual([st.state().firstSeq, st.state().msgs], [3, 3]);
    assert.equal(st.compact(2), 0);
    assert.equal(st.compact(20), 3);
    assert.deepEqual([st.state().firstSeq, st.state().lastSeq, st.state().msgs], [20, 19, 0]);
    assert.equal(st.storeMsg('x', null, b('y')).seq, 20);
  });

  t('filters: next/prev/last with literal, wildcard and several filters', () => {
    const st = open();
    const subs = ['orders.new', 'orders.paid', 'users.1', 'orders.new', 'users.2', 'orders.new.x'];
    for (const s of subs) st.storeMsg(s, null, b(s));
    assert.equal(st.loadNextMsg(null, 1)?.seq, 1);
    assert.equal(st.loadNextMsg([], 3)?.seq, 3);
    assert.equal(st.loadNextMsg(['orders.new'], 2)?.seq, 4);
    assert.equal(st.loadNextMsg(['orders.*'], 3)?.seq, 4);
    assert.equal(st.loadNextMsg(['orders.>'], 5)?.seq, 6);
    assert.equal(st.loadNextMsg(['users.*', 'orders.paid'], 1)?.seq, 2);
    assert.equal(st.loadNextMsg(['nope'], 1), null);
    assert.equal(st.loadNextMsg(null, 7), null);
    assert.equal(st.loadPrevMsg(['orders.new'], 3)?.seq, 1);
    assert.equal(st.loadPrevMsg(null, 100)?.seq, 6);
    assert.equal(st.loadPrevMsg(['users.*'], 4)?.seq, 3);
    assert.equal(st.loadLastMsg('orders.new')?.seq, 4);
    assert.equal(st.loadLastMsg('users.*')?.seq, 5);
    assert.equal(st.loadLastMsg('>')?.seq, 6);
    assert.equal(st.loadLastMsg('zzz'), null);
    st.removeMsg(4);
    assert.equal(st.loadLastMsg('orders.new')?.seq, 1);
    assert.equal(st.loadNextMsg(['orders.new'], 2), null);
  });

  t('filteredState, numPending, lastSeqsPerSubject, subjectsState', () => {
    const st = open();
    const subs = ['a.1', 'a.2', 'b.1', 'a.1', 'a.2', 'b.1', 'a.1'];
    for (const s of subs) st.storeMsg(s, null, b(s));
    assert.deepEqual(st.filteredState(1, null), { msgs: 7, first: 1, last: 7 });
    assert.deepEqual(st.filteredState(0, ['a.*']), { msgs: 5, first: 1, last: 7 });
    assert.deepEqual(st.filteredState(3, ['a.1']), { msgs: 2, first: 4, last: 7 });
    assert.deepEqual(st.filteredState(3, ['b.1', 'a.2']), { msgs: 3, first: 3, last: 6 });
    assert.deepEqual(st.filteredState(8, null), { msgs: 0, first: 0, last: 0 });
    assert.equal(st.numPending(1, null, false), 7);
    assert.equal(st.numPending(5, ['a.>'], false), 2);
    assert.equal(st.numPending(1, ['a.*'], true), 2);
    assert.equal(st.numPending(6, null, true), 2);
    assert.deepEqual(st.lastSeqsPerSubject(null, 0), [5, 6, 7]);
    assert.deepEqual(st.lastSeqsPerSubject(['a.*'], 6), [7]);
    assert.deepEqual(st.subjectsState('a.1'), new Map([['a.1', 3]]));
    assert.deepEqual(st.subjectsState('b.*'), new Map([['b.1', 2]]));
    st.removeMsg(7);
    assert.deepEqual(st.lastSeqsPerSubject(['a.1'], 0), [4]);
    assert.equal(st.state().numSubjects, 3);
  });

  t('max_msgs: discard old drops the oldest and tells the listener; discard new refuses', () => {
    const st = open(limitsWith({ maxMsgs: 3 }));
    const removed: number[] = [];
    st.setRemovalListener((seq) => removed.push(seq));
    storeN(st, 5);
    assert.deepEqual(removed, [1, 2]);
    assert.deepEqual([st.state().msgs, st.state().firstSeq], [3, 3]);
    const sn = open(limitsWith({ maxMsgs: 2, discard: 'new' }));
    storeN(sn, 2);
    expectStoreError(() => sn.storeMsg('foo', null, b('3')), 'max_msgs', 'maximum messages exceeded');
    assert.equal(sn.state().lastSeq, 2);
  });

  t('max_bytes: discard old keeps the total under the limit; discard new refuses', () => {
    const one = f.size(3, 0, 2);
    const st = open(limitsWith({ maxBytes: one * 3 }));
    storeN(st, 5);
    assert.equal(st.state().msgs, 3);
    assert.equal(st.state().bytes, one * 3);
    const sn = open(limitsWith({ maxBytes: one * 3, discard: 'new' }));
    storeN(sn, 2);
    // nats-server refuses when the new total would reach the limit, not only pass it.
    expectStoreError(() => sn.storeMsg('foo', null, b('m3')), 'max_bytes', 'maximum bytes exceeded');
  });

  t('max_msgs_per_subject: old ones replaced; discard_new_per_subject refuses', () => {
    const st = open(limitsWith({ maxMsgsPerSubject: 2 }));
    storeN(st, 6, (i) => `k.${i % 2}`);
    assert.deepEqual(st.subjectsState('>'), new Map([['k.1', 2], ['k.0', 2]]));
    assert.equal(st.state().firstSeq, 3);
    const sn = open(limitsWith({ maxMsgsPerSubject: 1, maxMsgs: 2, discard: 'new', discardNewPerSubject: true }));
    sn.storeMsg('a', null, b('1'));
    expectStoreError(() => sn.storeMsg('a', null, b('2')), 'max_msgs_per_subject', 'maximum messages per subject exceeded');
    sn.storeMsg('b', null, b('1'));
    expectStoreError(() => sn.storeMsg('c', null, b('1')), 'max_msgs', 'maximum messages exceeded');
    // Without discard_new_per_subject a subject at its limit replaces its own message even when the stream is full.
    const sr = open(limitsWith({ maxMsgsPerSubject: 1, maxMsgs: 2, discard: 'new' }));
    storeN(sr, 2, (i) => `s${i}`);
    assert.equal(sr.storeMsg('s1', null, b('new')).seq, 3);
    assert.deepEqual(sr.loadLastMsg('s1')?.data, b('new'));
    assert.equal(sr.state().msgs, 2);
  });

  t('max_msg_size refuses larger header + payload', () => {
    const st = open(limitsWith({ maxMsgSize: 10 }));
    st.storeMsg('a', b('12345'), b('12345'));
    expectStoreError(() => st.storeMsg('a', b('123456'), b('12345')), 'msg_too_large', 'message size exceeds maximum allowed');
  });

  t('updateLimits applies smaller limits at once', () => {
    const st = open();
    storeN(st, 10, (i) => `s.${i % 3}`);
    st.updateLimits(limitsWith({ maxMsgsPerSubject: 2 }));
    assert.equal(st.state().msgs, 6);
    st.updateLimits(limitsWith({ maxMsgsPerSubject: 2, maxMsgs: 4 }));
    assert.deepEqual([st.state().msgs, st.state().firstSeq], [4, 7]);
  });

  t('max_age expires messages on a timer and tells the listener', async () => {
    const st = open(limitsWith({ maxAgeMs: 80 }));
    const removed: number[] = [];
    st.setRemovalListener((seq) => removed.push(seq));
    storeN(st, 3);
    await waitUntil(() => removed.length === 3, 3000, 'expiry');
    assert.deepEqual(removed, [1, 2, 3]);
    assert.deepEqual([st.state().msgs, st.state().firstSeq], [0, 4]);
    st.storeMsg('foo', null, b('late'));
    await waitUntil(() => st.state().msgs === 0, 3000, 'second expiry');
  });

  t('operations on a stopped store fail with "store is closed"', async () => {
    const st = open();
    st.storeMsg('a', null, b('x'));
    await st.stop();
    expectStoreError(() => st.storeMsg('a', null, b('y')), 'closed', 'store is closed');
  });

  t('whenDurable runs after stored messages are durable', async () => {
    const st = open();
    st.storeMsg('a', null, b('x'));
    const err = await new Promise<Error | null>((resolve) => st.whenDurable(resolve));
    assert.equal(err, null);
  });

  t('consumer store keeps config and state', async () => {
    const st = open();
    const cs = st.consumerStore('dur');
    assert.equal(cs.loadConfig(), null);
    assert.equal(cs.load(), null);
    cs.saveConfig({ durable_name: 'dur', ack_policy: 'explicit' }, 1234);
    const state = {
      delivered: { consumerSeq: 5, streamSeq: 9 },
      ackFloor: { consumerSeq: 3, streamSeq: 6 },
      pending: new Map([[8, { consumerSeq: 4, ts: 111 }], [9, { consumerSeq: 5, ts: 112 }]]),
      redelivered: new Map([[8, 2]]),
    };
    cs.update(state);
    assert.deepEqual(cs.loadConfig(), { config: { durable_name: 'dur', ack_policy: 'explicit' }, created: 1234 });
    const loaded = cs.load();
    assert.equal(loaded?.pending.size, 2);
    assert.deepEqual(loaded?.redelivered, new Map([[8, 2]]));
    assert.deepEqual(st.consumerNames(), ['dur']);
    await cs.delete();
    assert.deepEqual(st.consumerNames(), []);
  });

  t('random operations agree with a simple model (per-subject limit 4)', async () => {
    const limits = limitsWith({ maxMsgsPerSubject: 4 });
    let st = open(limits);
    const model = new StoreModel(4);
    const rng = new Rng(0x5eed + name.length);
    const subjects = ['a.1', 'a.2', 'a.3', 'b.1', 'b.2.x', 'c'];
    for (let op = 0; op < 1500; op++) {
      const r = rng.next();
      const subject = rng.pick(subjects);
      if (r < 0.5) {
        const data = b(`d${op}`);
        assert.equal(st.storeMsg(subject, null, data).seq, model.store(model.lastSeq + 1, subject, data));
      } else if (r < 0.53) {
        const seq = model.lastSeq + rng.range(1, 5);
        st.storeMsgAt(seq, subject, null, b(`at${op}`), 1000 + op);
        model.store(seq, subject, b(`at${op}`));
      } else if (r < 0.56) {
        assert.equal(st.skipMsg(), model.skip());
      } else if (r < 0.72) {
        const seq = rng.range(Math.max(0, model.lastSeq - 30), model.lastSeq + 1);
        const erase = rng.chance(0.2);
        assert.equal(erase ? st.eraseMsg(seq) : st.removeMsg(seq), model.msgs.delete(seq), `remove ${seq}`);
      } else if (r < 0.75) {
        const filter = rng.pick(['a.*', 'a.1', 'b.>', 'c', '*']);
        const keep = rng.int(3);
        const below = rng.chance(0.5) ? rng.range(0, model.lastSeq + 1) : 0;
        const opts = { subject: filter, ...(keep > 0 ? { keep } : {}), ...(below > 0 ? { seq: below } : {}) };
        assert.equal(st.purge(opts), model.purgeSubject(filter, below, keep), JSON.stringify(opts));
      } else if (r < 0.76) {
        const keep = rng.range(1, 20);
        assert.equal(st.purge({ keep }), model.purgeKeep(keep));
      } else if (r < 0.77) {
        const seq = rng.range(model.lastSeq - 20, model.lastSeq + 3);
        assert.equal(st.compact(seq), model.compact(seq), `compact ${seq}`);
      } else if (r < 0.775) {
        assert.equal(st.purge(), model.compact(model.lastSeq + 1));
      } else if (r < 0.78 && f.reopen !== undefined) {
        const idx = stores.indexOf(st);
        st = await f.reopen(st, limits);
        stores[idx] = st;
      }
      model.check(st, f, rng, op);
    }
  });

}

/** The obvious, slow implementation the stores are checked against. */
class StoreModel {
  readonly msgs = new Map<number, { subject: string; data: Buffer }>();
  lastSeq = 0;

  constructor(private readonly perSubject: number) {}

  store(seq: number, subject: string, data: Buffer): number {
    this.msgs.set(seq, { subject, data });
    this.lastSeq = seq;
    const mine = this.seqs().filter((s) => this.msgs.get(s)?.subject === subject);
    for (const s of mine.slice(0, Math.max(0, mine.length - this.perSubject))) this.msgs.delete(s);
    return seq;
  }

  skip(): number {
    return ++this.lastSeq;
  }

  compact(seq: number): number {
    let n = 0;
    for (const s of this.seqs()) if (s < seq && this.msgs.delete(s)) n++;
    if (seq > this.lastSeq + 1) this.lastSeq = seq - 1;
    return n;
  }

  purgeKeep(keep: number): number {
    const all = this.seqs();
    if (keep >= all.length) return 0;
    return this.compact(all[all.length - keep]);
  }

  purgeSubject(filter: string, below: number, keep: number): number {
    let n = 0;
    const bySubject = new Map<string, number[]>();
    for (const s of this.seqs()) {
      const subject = (this.msgs.get(s) as { subject: string }).subject;
      if (!subjectMatches(filter, subject)) continue;
      bySubject.set(subject, [...(bySubject.get(subject) ?? []), s]);
    }
    for (const seqs of bySubject.values()) {
      let budget = seqs.length - keep;
      for (const s of seqs) {
        if (budget <= 0 || (below > 1 && s >= below)) break;
        this.msgs.delete(s);
        budget--;
        n++;
      }
    }
    return n;
  }

  seqs(): number[] {
    return [...this.msgs.keys()].sort((a, b) => a - b);
  }

  matching(filters: readonly string[] | null): number[] {
    return this.seqs().filter((s) => {
      const subject = (this.msgs.get(s) as { subject: string }).subject;
      return filters === null || filters.length === 0 || filters.some((f) => subjectMatches(f, subject));
    });
  }

  check(st: StreamStore, f: StoreFactory, rng: Rng, op: number): void {
    const seqs = this.seqs();
    const where = `after op ${op}`;
    const state = st.state();
    const first = seqs.length > 0 ? seqs[0] : this.lastSeq === 0 ? 0 : this.lastSeq + 1;
    assert.deepEqual(
      [state.msgs, state.firstSeq, state.lastSeq, state.numDeleted, state.numSubjects],
      [seqs.length, first, this.lastSeq, seqs.length > 0 ? this.lastSeq - seqs[0] + 1 - seqs.length : 0,
        new Set(seqs.map((s) => this.msgs.get(s)?.subject)).size], where);
    let bytes = 0;
    for (const m of this.msgs.values()) bytes += f.size(m.subject.length, 0, m.data.length);
    assert.equal(state.bytes, bytes, where);
    const deleted: number[] = [];
    for (let s = first + 1; seqs.length > 0 && s <= this.lastSeq; s++) if (!this.msgs.has(s)) deleted.push(s);
    assert.deepEqual(st.deletedSeqs(), deleted, where);
    const filters = rng.pick([null, ['a.*'], ['a.1'], ['b.>'], ['a.2', 'c'], ['>'], ['zz'], ['*.*']]);
    const start = rng.range(0, this.lastSeq + 2);
    const hits = this.matching(filters);
    const from = hits.filter((s) => s >= start);
    const w = `${where} start ${start} filters ${JSON.stringify(filters)}`;
    assert.deepEqual(st.filteredState(start, filters),
      { msgs: from.length, first: from[0] ?? 0, last: from[from.length - 1] ?? 0 }, w);
    assert.equal(st.numPending(start, filters, false), from.length, w);
    const lastPer = new Map<string, number>();
    for (const s of hits) lastPer.set((this.msgs.get(s) as { subject: string }).subject, s);
    const lastSeqs = [...lastPer.values()].filter((s) => s >= start).sort((a, b) => a - b);
    assert.deepEqual(st.lastSeqsPerSubject(filters, start), lastSeqs, w);
    assert.equal(st.numPending(start, filters, true), lastSeqs.length, w);
    assert.equal(st.loadNextMsg(filters, start)?.seq ?? null, from[0] ?? null, w);
    const upTo = hits.filter((s) => s <= start);
    assert.equal(st.loadPrevMsg(filters, start)?.seq ?? null, upTo[upTo.length - 1] ?? null, w);
    const one = filters?.[0] ?? '>';
    const oneHits = this.matching([one]);
    assert.equal(st.loadLastMsg(one)?.seq ?? null, oneHits[oneHits.length - 1] ?? null, w);
    const counts = new Map<string, number>();
    for (const s of oneHits) {
      const subject = (this.msgs.get(s) as { subject: string }).subject;
      counts.set(subject, (counts.get(subject) ?? 0) + 1);
    }
    assert.deepEqual(new Map([...st.subjectsState(one)].sort()), new Map([...counts].sort()), w);
    if (from.length > 0) assert.deepEqual(st.loadMsg(from[0])?.data, this.msgs.get(from[0])?.data, w);
  }
}
