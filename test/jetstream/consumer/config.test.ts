import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JsApiError } from '../../../src/jetstream/api/errors.js';
import { applyDefaults, checkConfig, checkUpdate, configJson, decodeConsumerConfig, FilterSet } from '../../../src/jetstream/consumer/config.js';
import type { ConsumerConfig } from '../../../src/jetstream/types.js';
import { streamConfig } from './fake-stream.js';

function decoded(raw: unknown): ConsumerConfig {
  const c = decodeConsumerConfig(raw);
  assert.ok(!(c instanceof JsApiError), String(c));
  return c;
}

describe('consumer config', () => {
  it('fills nats-server defaults: pull explicit, push none, ephemeral threshold', () => {
    const stream = streamConfig('S', ['s.>']);
    const pull = decoded({ durable_name: 'd', ack_policy: 'explicit' });
    applyDefaults(pull, stream);
    assert.deepEqual(configJson(pull), {
      durable_name: 'd', deliver_policy: 'all', ack_policy: 'explicit', ack_wait: 30e9, max_deliver: -1, replay_policy: 'instant', max_waiting: 512, max_ack_pending: 1000, num_replicas: 0,
    });
    const push = decoded({ deliver_subject: 'out' });
    applyDefaults(push, stream);
    assert.deepEqual(configJson(push), { deliver_policy: 'all', ack_policy: 'none', max_deliver: -1, replay_policy: 'instant', deliver_subject: 'out', inactive_threshold: 5e9, num_replicas: 0 });
  });

  it('turns type errors and unknown policies into invalid JSON errors', () => {
    const bad = decodeConsumerConfig({ ack_policy: 'sometimes' });
    assert.ok(bad instanceof JsApiError);
    assert.equal(bad.errCode, 10025);
    const wrongType = decodeConsumerConfig({ max_deliver: 'three' });
    assert.ok(wrongType instanceof JsApiError);
    assert.equal(wrongType.errCode, 10025);
  });

  it('checks in nats-server order with its error codes', () => {
    const stream = streamConfig('S', ['s.>'], { retention: 'workqueue' });
    const codeOf = (raw: unknown): number | undefined => {
      const c = decoded(raw);
      applyDefaults(c, stream);
      return checkConfig(c, stream)?.errCode;
    };
    assert.equal(codeOf({ ack_policy: 'none' }), 10084);
    assert.equal(codeOf({ ack_policy: 'explicit', deliver_subject: 's.x' }), 10081);
    assert.equal(codeOf({ ack_policy: 'explicit', filter_subjects: ['a.*', 'a.b'] }), 10138);
    assert.equal(codeOf({ ack_policy: 'explicit', filter_subject: 'a', filter_subjects: ['b'] }), 10136);
    assert.equal(codeOf({ ack_policy: 'explicit', durable_name: 'a', name: 'b' }), 10132);
    assert.equal(codeOf({ ack_policy: 'explicit', max_expires: 10 }), 10115);
    assert.equal(codeOf({ ack_policy: 'explicit' }), undefined);
  });

  it('allows only the mutable fields to change', () => {
    const stream = streamConfig('S', ['s.>']);
    const a = decoded({ durable_name: 'd', ack_policy: 'explicit' });
    applyDefaults(a, stream);
    const b = decoded({ durable_name: 'd', ack_policy: 'explicit', description: 'x', max_ack_pending: 3, filter_subject: 's.a' });
    applyDefaults(b, stream);
    assert.equal(checkUpdate(a, b, false), null);
    const c = decoded({ durable_name: 'd', ack_policy: 'explicit', replay_policy: 'original' });
    applyDefaults(c, stream);
    assert.equal(checkUpdate(a, c, false)?.message, 'replay policy can not be updated');
  });

  it('matches subjects against literal and wildcard filters', () => {
    const f = new FilterSet(['a.b', 'c.*', 'd.>']);
    assert.ok(f.matches('a.b'));
    assert.ok(f.matches('c.x'));
    assert.ok(f.matches('d.x.y'));
    assert.ok(!f.matches('c.x.y'));
    assert.ok(!f.matches('d'));
    assert.ok(!f.matches('a.c'));
    assert.ok(new FilterSet([]).matches('anything'));
  });
});
