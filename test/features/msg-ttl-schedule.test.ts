/**
 * The store side of per-message TTLs (store/msg-ttl.ts): reading Nats-TTL
 * values as nats-server does, finding the header in a stored block, and the
 * due-time heap (order, leftovers of removed messages, compaction).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isMarkerHeader, parseTtl, TTL_NEVER, TtlSchedule, ttlOfHeader } from '../../src/jetstream/store/msg-ttl.js';

describe('Nats-TTL values', () => {
  it('reads durations, whole seconds and never; refuses the rest', () => {
    assert.equal(parseTtl('1s'), 1);
    assert.equal(parseTtl('1m30s'), 90);
    assert.equal(parseTtl('1.9s'), 1, 'a fraction of a second is dropped');
    assert.equal(parseTtl('2h'), 7200);
    assert.equal(parseTtl('60'), 60);
    assert.equal(parseTtl('never'), TTL_NEVER);
    assert.equal(parseTtl('NEVER'), TTL_NEVER);
    assert.equal(parseTtl('-1'), TTL_NEVER);
    for (const bad of ['', '0', '0s', '999ms', '-2', '-5s', 'abc', '1x', '1.5']) assert.equal(parseTtl(bad), null, bad);
  });

  it('finds the header in a stored block, only at the start of a line', () => {
    assert.equal(ttlOfHeader(Buffer.from('NATS/1.0\r\nA: b\r\nNats-TTL: 5s\r\n\r\n')), 5);
    assert.equal(ttlOfHeader(Buffer.from('NATS/1.0\r\nX-Nats-TTL: 5s\r\n\r\n')), null);
    assert.equal(ttlOfHeader(Buffer.from('NATS/1.0\r\nNats-TTL: soon\r\n\r\n')), null);
    assert.equal(isMarkerHeader(Buffer.from('NATS/1.0\r\nNats-Marker-Reason: MaxAge\r\nNats-TTL: 1s\r\n\r\n')), true);
    assert.equal(isMarkerHeader(Buffer.from('NATS/1.0\r\nNats-TTL: 1s\r\n\r\n')), false);
  });
});

describe('TtlSchedule', () => {
  it('hands out sequences in due order, only once due', () => {
    const s = new TtlSchedule();
    s.add(1, 1000, 5, false);
    s.add(2, 1000, 1, false);
    s.add(3, 1000, 3, true);
    s.add(4, 1000, TTL_NEVER, false);
    assert.equal(s.nextDue(), 2000);
    assert.equal(s.popDue(1999), -1);
    assert.deepEqual([s.popDue(10_000), s.popDue(10_000), s.popDue(10_000), s.popDue(10_000)], [2, 3, 1, -1]);
    assert.ok(s.never.has(4));
    assert.ok(s.markers.has(3));
    s.forget(4);
    s.forget(3);
    assert.equal(s.never.size + s.markers.size, 0);
  });

  it('drops leftovers of removed messages once they are most of the heap', () => {
    const s = new TtlSchedule();
    for (let seq = 1; seq <= 2000; seq++) s.add(seq, 0, 60, false);
    // Only the last ten are still stored.
    s.compactIfStale((seq) => seq > 1990, 10);
    assert.equal(s.size, 10);
    const out: number[] = [];
    for (let seq = s.popDue(Infinity); seq >= 0; seq = s.popDue(Infinity)) out.push(seq);
    assert.deepEqual(out.sort((a, b) => a - b), [1991, 1992, 1993, 1994, 1995, 1996, 1997, 1998, 1999, 2000]);
  });
});
