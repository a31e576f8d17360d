/**
 * Nats-Expected-Last-Subject-Sequence-Subject (nats-server 2.11): the
 * expected last sequence is checked against the subject the header names
 * (wildcards allowed) instead of the message's own, as the official
 * clients send it (@nats-io/jetstream `expect.lastSubjectSequenceSubject`).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { headers } from '@nats-io/transport-node';
import { JetStreamApiError, StorageType } from '@nats-io/jetstream';
import { jetStreamSuite } from '../helpers/jetstream.js';

function expect(seq: number, subject: string): ReturnType<typeof headers> {
  const h = headers();
  h.set('Nats-Expected-Last-Subject-Sequence', String(seq));
  h.set('Nats-Expected-Last-Subject-Sequence-Subject', subject);
  return h;
}

describe('Nats-Expected-Last-Subject-Sequence-Subject', () => {
  const s = jetStreamSuite();

  it('checks the named subject, wildcards included', async () => {
    await s.jsm.streams.add({ name: 'O', subjects: ['orders.>'], storage: StorageType.Memory });
    await s.js.publish('orders.a', '1');
    await s.js.publish('orders.b', '2');
    // orders.* last is 2; orders.a's own last is 1.
    const ok = await s.js.publish('orders.c', '3', { headers: expect(2, 'orders.*') });
    assert.equal(ok.seq, 3);
    const ok2 = await s.js.publish('orders.c', '4', { headers: expect(1, 'orders.a') });
    assert.equal(ok2.seq, 4);
    try {
      await s.js.publish('orders.d', '5', { headers: expect(3, 'orders.*') });
      assert.fail('accepted a stale expectation');
    } catch (e) {
      assert.ok(e instanceof JetStreamApiError, String(e));
      assert.equal(e.code, 10071);
      assert.equal(e.message, 'wrong last sequence: 4');
    }
  });
});
