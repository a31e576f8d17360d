/** Which leader answers each JetStream API subject in a cluster (api-gate.ts `apiTarget`). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apiTarget } from '../../../src/jetstream/cluster/api-gate.js';

const cases: Array<[string, string | null, string, string]> = [
  ['INFO', 'meta', '', ''],
  ['STREAM.CREATE.S', 'meta', 'S', ''],
  ['STREAM.UPDATE.S', 'meta', 'S', ''],
  ['STREAM.DELETE.S', 'meta', 'S', ''],
  ['STREAM.NAMES', 'meta', '', ''],
  ['STREAM.LIST', 'meta', '', ''],
  ['STREAM.PEER.REMOVE.S', 'meta', 'S', ''],
  ['STREAM.INFO.S', 'stream', 'S', ''],
  ['STREAM.PURGE.S', 'stream', 'S', ''],
  ['STREAM.MSG.GET.S', 'stream', 'S', ''],
  ['STREAM.MSG.DELETE.S', 'stream', 'S', ''],
  ['STREAM.LEADER.STEPDOWN.S', 'stream', 'S', ''],
  ['DIRECT.GET.S', 'stream', 'S', ''],
  ['DIRECT.GET.S.a.b', 'stream', 'S', ''],
  ['CONSUMER.CREATE.S', 'meta', 'S', ''],
  ['CONSUMER.CREATE.S.C', 'meta', 'S', 'C'],
  ['CONSUMER.CREATE.S.C.f.>', 'meta', 'S', 'C'],
  ['CONSUMER.DURABLE.CREATE.S.C', 'meta', 'S', 'C'],
  ['CONSUMER.DELETE.S.C', 'meta', 'S', 'C'],
  ['CONSUMER.NAMES.S', 'meta', 'S', ''],
  ['CONSUMER.LIST.S', 'meta', 'S', ''],
  ['CONSUMER.INFO.S.C', 'consumer', 'S', 'C'],
  ['CONSUMER.MSG.NEXT.S.C', 'consumer', 'S', 'C'],
  ['CONSUMER.LEADER.STEPDOWN.S.C', 'consumer', 'S', 'C'],
  ['STREAM.INFO', null, '', ''],
  ['STREAM.MSG.GET', null, '', ''],
  ['CONSUMER.INFO.S', null, '', ''],
  ['META.LEADER.STEPDOWN', null, '', ''],
  ['SERVER.REMOVE', null, '', ''],
];

test('every API subject has the leader nats-server gives it', () => {
  for (const [subject, answerer, stream, consumer] of cases) {
    const t = apiTarget(subject.split('.'));
    if (answerer === null) {
      assert.equal(t, null, subject);
      continue;
    }
    assert.ok(t !== null, subject);
    assert.deepEqual([t.answerer, t.stream, t.consumer], [answerer, stream, consumer], subject);
  }
  assert.equal(apiTarget(['STREAM', 'INFO', 'S'])?.info, true);
  assert.equal(apiTarget(['CONSUMER', 'INFO', 'S', 'C'])?.info, true);
  assert.equal(apiTarget(['DIRECT', 'GET', 'S'])?.direct, true);
  assert.equal(apiTarget(['STREAM', 'MSG', 'GET', 'S'])?.info, false);
});
