import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AckSubjects, ackPrefix, ackSubject, nanosString, parseAckSubject, type AckFields } from '../../../src/jetstream/consumer/ack-subject.js';

describe('ack subjects', () => {
  it('round-trips the numbers a delivery carries', () => {
    const pre = ackPrefix('ORDERS', 'dur');
    const s = ackSubject(pre, 3, 1234, 99, 1_700_000_000_123.456, 7);
    assert.equal(s, '$JS.ACK.ORDERS.dur.3.1234.99.1700000000123456000.7');
    const f: AckFields = { deliveries: 0, sseq: 0, dseq: 0 };
    assert.ok(parseAckSubject(s, pre.length, f));
    assert.deepEqual(f, { deliveries: 3, sseq: 1234, dseq: 99 });
  });

  it('refuses what is not an ack subject', () => {
    const pre = ackPrefix('S', 'c');
    const f: AckFields = { deliveries: 0, sseq: 0, dseq: 0 };
    assert.equal(parseAckSubject(`${pre}1.2`, pre.length, f), false);
    assert.equal(parseAckSubject(`${pre}1.x.3.4.5`, pre.length, f), false);
    assert.equal(parseAckSubject(`${pre}1..3.4.5`, pre.length, f), false);
  });

  it('AckSubjects builds the same subjects as the plain join, for any name and number size', () => {
    const values = [0, 1, 9, 10, 99, 100, 12345, 2 ** 31, 2 ** 32 + 7, 999_999_999_999, 2 ** 53 - 1];
    const stamps = [0, 1.5, 999.9994, 1_700_000_000_123.456, 1_765_000_000_000.001];
    for (const [stream, consumer] of [['ORDERS', 'dur'], ['Ström', 'c'], ['雪', 'x']]) {
      const pre = ackPrefix(stream, consumer);
      const subjects = new AckSubjects(pre);
      for (const v of values) {
        for (const ts of stamps) {
          assert.equal(subjects.subject(3, v, v + 1, ts, v), ackSubject(pre, 3, v, v + 1, ts, v));
        }
      }
      const f: AckFields = { deliveries: 0, sseq: 0, dseq: 0 };
      assert.ok(parseAckSubject(subjects.subject(2, 77, 5, 1.5, 0), pre.length, f));
      assert.deepEqual(f, { deliveries: 2, sseq: 77, dseq: 5 });
    }
  });

  it('writes nanosecond timestamps without losing digits', () => {
    assert.equal(nanosString(1_700_000_000_000), '1700000000000000000');
    assert.equal(nanosString(1.5), '1500000');
  });
});
