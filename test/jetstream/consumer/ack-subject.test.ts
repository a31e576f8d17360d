import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ackPrefix, ackSubject, nanosString, parseAckSubject, type AckFields } from '../../../src/jetstream/consumer/ack-subject.js';

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

  it('writes nanosecond timestamps without losing digits', () => {
    assert.equal(nanosString(1_700_000_000_000), '1700000000000000000');
    assert.equal(nanosString(1.5), '1500000');
  });
});
