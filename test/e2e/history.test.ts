/** The history checker on fabricated histories: it passes a clean one and catches each kind of fault. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { check, History, type Finding, type ReplicaContent } from './history.js';

/** A history of `n` publishes by `p`, all acknowledged at seq 1..n. */
function cleanHistory(n: number, p = 'p'): History {
  const h = new History();
  for (let i = 0; i < n; i++) h.publishDone(h.publishStarted(p, i), { kind: 'ack', seq: i + 1, duplicate: false });
  return h;
}

function replica(node: string, ids: readonly (string | null)[], firstSeq = 1): ReplicaContent {
  const messages = new Map<number, string>();
  ids.forEach((id, k) => {
    if (id !== null) messages.set(firstSeq + k, id);
  });
  return { node, firstSeq, lastSeq: firstSeq + ids.length - 1, messages };
}

const ids = (n: number, p = 'p'): string[] => Array.from({ length: n }, (_, i) => `${p}:${i}`);
const kinds = (fs: readonly Finding[]): string[] => [...new Set(fs.map((x) => x.kind))].sort();

describe('history checker', () => {
  it('passes a clean history on three identical replicas', () => {
    const h = cleanHistory(5);
    const r = check(h, ['a', 'b', 'c'].map((n) => replica(n, ids(5))));
    assert.deepEqual(r.findings, []);
    assert.equal(r.stats.acked, 5);
  });

  it('catches a lost acknowledged message on one replica', () => {
    const h = cleanHistory(5);
    const lossy: (string | null)[] = ids(5);
    lossy[2] = null;
    const r = check(h, [replica('a', ids(5)), replica('b', lossy), replica('c', ids(5))]);
    assert.ok(kinds(r.findings).includes('lost'), JSON.stringify(r.findings));
    assert.ok(r.findings.some((x) => x.kind === 'lost' && x.detail.startsWith('b:') && x.detail.includes('p:2')));
  });

  it('catches a message lost on every replica (a shorter log everywhere)', () => {
    const h = cleanHistory(5);
    const r = check(h, ['a', 'b', 'c'].map((n) => replica(n, ids(4))));
    assert.deepEqual(kinds(r.findings), ['lost']);
  });

  it('catches a duplicate', () => {
    const h = cleanHistory(3);
    const dup = [...ids(3), 'p:1'];
    const r = check(h, ['a', 'b', 'c'].map((n) => replica(n, dup)));
    assert.deepEqual(kinds(r.findings), ['duplicate']);
  });

  it('catches a reorder on the replicas', () => {
    // Acks claim 1,2,3 but the replicas hold p:2 before p:1.
    const h = new History();
    h.publishDone(h.publishStarted('p', 0), { kind: 'ack', seq: 1, duplicate: false });
    h.publishDone(h.publishStarted('p', 1), { kind: 'ack', seq: 2, duplicate: false });
    h.publishDone(h.publishStarted('p', 2), { kind: 'ack', seq: 3, duplicate: false });
    const stored = ['p:0', 'p:2', 'p:1'];
    const r = check(h, ['a', 'b', 'c'].map((n) => replica(n, stored)));
    assert.ok(kinds(r.findings).includes('reorder'));
  });

  it('lets a message that got no PubAck be stored after later ones (read from a frozen server once it resumed)', () => {
    const h = new History();
    h.publishDone(h.publishStarted('p', 0), { kind: 'ack', seq: 1, duplicate: false });
    h.publishDone(h.publishStarted('p', 1), { kind: 'timeout' });
    h.publishDone(h.publishStarted('p', 2), { kind: 'ack', seq: 2, duplicate: false });
    const r = check(h, ['a', 'b', 'c'].map((n) => replica(n, ['p:0', 'p:2', 'p:1'])));
    assert.deepEqual(kinds(r.findings), []);
  });

  it('catches a reorder in the PubAcks', () => {
    const h = new History();
    h.publishDone(h.publishStarted('p', 0), { kind: 'ack', seq: 2, duplicate: false });
    h.publishDone(h.publishStarted('p', 1), { kind: 'ack', seq: 1, duplicate: false });
    const r = check(h, [replica('a', ['p:1', 'p:0'])]);
    assert.ok(kinds(r.findings).includes('reorder'));
  });

  it('catches a divergent replica (another message at a sequence nobody acknowledged)', () => {
    const h = cleanHistory(3);
    h.publishDone(h.publishStarted('p', 3), { kind: 'timeout' });
    h.publishDone(h.publishStarted('q', 0), { kind: 'timeout' });
    const r = check(h, [replica('a', [...ids(3), 'p:3']), replica('b', [...ids(3), 'q:0']), replica('c', [...ids(3), 'p:3'])]);
    assert.deepEqual(kinds(r.findings), ['divergent']);
    assert.equal(r.stats.storedUnacked, 1);
  });

  it('catches a replica that is behind', () => {
    const h = cleanHistory(3);
    h.publishDone(h.publishStarted('p', 3), { kind: 'error', message: 'timeout' });
    const r = check(h, [replica('a', ids(4)), replica('b', ids(3)), replica('c', ids(4))]);
    assert.deepEqual(kinds(r.findings), ['divergent']);
  });

  it('catches two messages acknowledged with one sequence', () => {
    const h = new History();
    h.publishDone(h.publishStarted('p', 0), { kind: 'ack', seq: 1, duplicate: false });
    h.publishDone(h.publishStarted('q', 0), { kind: 'ack', seq: 1, duplicate: false });
    const r = check(h, [replica('a', ['p:0'])]);
    assert.ok(kinds(r.findings).includes('ack-conflict'));
    assert.ok(kinds(r.findings).includes('changed'));
  });

  it('catches a phantom message', () => {
    const h = cleanHistory(2);
    const r = check(h, [replica('a', [...ids(2), 'zz:9'])]);
    assert.deepEqual(kinds(r.findings), ['phantom']);
  });

  it('allows redelivery of unconfirmed acks but catches redelivery after a confirmed ack', () => {
    const h = cleanHistory(3);
    // seq 1: acked and confirmed, then delivered again: lost ack.
    h.delivered('C', 1, 1, 'p:0');
    h.ackConfirmed(h.ackSent('C', 1, 1));
    // seq 2: ack sent, never confirmed, redelivered: allowed.
    h.delivered('C', 2, 1, 'p:1');
    h.ackSent('C', 2, 1);
    h.delivered('C', 2, 2, 'p:1');
    h.ackConfirmed(h.ackSent('C', 2, 2));
    // make the redelivery of seq 1 happen strictly after the confirmation
    const later = h.acks[0].confirmedAt as number;
    h.deliveries.push({ consumer: 'C', streamSeq: 1, deliveryCount: 2, id: 'p:0', at: later + 5 });
    h.delivered('C', 3, 1, 'p:2');
    h.drainedConsumers.add('C');
    const r = check(h, [replica('a', ids(3))]);
    assert.deepEqual(kinds(r.findings), ['ack-lost']);
    assert.equal(r.findings.filter((x) => x.kind === 'ack-lost').length, 1);
    assert.equal(r.stats.redeliveries, 2);
  });

  it('catches a skipped message and a delivery that does not match the stream', () => {
    const h = cleanHistory(3);
    h.delivered('C', 1, 1, 'p:0');
    h.delivered('C', 2, 1, 'p:9');
    h.drainedConsumers.add('C');
    const r = check(h, [replica('a', ids(3))]);
    assert.deepEqual(kinds(r.findings), ['delivery-mismatch', 'skipped']);
  });
});
