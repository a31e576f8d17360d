/**
 * Issue #14, "no silent ignoring" for the JetStream API: the stream and
 * consumer fields today's official clients send (nats.js v3, nats.py 2.x,
 * nats.go) are accepted at their default values, as nats-server accepts
 * them, and a feature a client asks for that Natter lacks is refused with a
 * JetStream error naming it instead of being dropped.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StorageType } from '@nats-io/jetstream';
import { jetStreamSuite } from '../helpers/jetstream.js';

interface ApiReply {
  error?: { code: number; err_code: number; description: string };
  config?: Record<string, unknown>;
  paused?: boolean;
}

/** nats.py 2.x (StreamConfig.as_dict of create_key_value): every field it sets, at what it sends. */
const NATS_PY_KV = {
  name: 'KV_py', subjects: ['$KV.py.>'], retention: 'limits', max_consumers: -1, max_msgs: -1, max_bytes: -1, discard: 'new',
  discard_new_per_subject: false, max_age: 0, max_msgs_per_subject: 1, max_msg_size: -1, storage: 'file', num_replicas: 1, no_ack: false,
  duplicate_window: 120_000_000_000, sealed: false, deny_delete: true, deny_purge: false, allow_rollup_hdrs: true, allow_direct: true,
  mirror_direct: false, allow_msg_ttl: false,
};

/** nats.go's StreamConfig marshalled with every 2.12 field present at its zero value. */
const NATS_GO_FULL = {
  name: 'GO', description: '', subjects: ['go.>'], retention: 'limits', max_consumers: -1, max_msgs: -1, max_bytes: -1, discard: 'old',
  max_age: 0, max_msgs_per_subject: -1, max_msg_size: -1, storage: 'memory', num_replicas: 1, no_ack: false, template_owner: '',
  duplicate_window: 0, sealed: false, deny_delete: false, deny_purge: false, allow_rollup_hdrs: false, compression: 'none', first_seq: 0,
  allow_direct: false, mirror_direct: false, consumer_limits: {}, metadata: {}, allow_msg_ttl: false, subject_delete_marker_ttl: 0,
  allow_msg_counter: false, allow_atomic: false, allow_msg_schedules: false, allow_batched: false, persist_mode: 'default',
};

/** A consumer config with the 2.11/2.12 fields at the values clients send when unused. */
const CONSUMER_DEFAULTS = {
  durable_name: 'dur', deliver_policy: 'all', ack_policy: 'explicit', replay_policy: 'instant', max_deliver: -1, num_replicas: 0,
  metadata: {}, pause_until: '0001-01-01T00:00:00Z', priority_groups: [], priority_policy: 'none', priority_timeout: 0, direct: false,
};

describe('client field sets (issue #14)', () => {
  const s = jetStreamSuite();

  async function api(subject: string, body: unknown): Promise<ApiReply> {
    const m = await s.nc.request(subject, JSON.stringify(body), { timeout: 5000 });
    return m.json<ApiReply>();
  }

  it('accepts the KV stream nats.py creates (allow_msg_ttl: false)', async () => {
    const r = await api('$JS.API.STREAM.CREATE.KV_py', NATS_PY_KV);
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    assert.equal(r.config?.allow_msg_ttl, undefined, 'a 2.10-level config shows no allow_msg_ttl when it is off');
  });

  it("accepts nats.go's full 2.12 field set at its zero values", async () => {
    const r = await api('$JS.API.STREAM.CREATE.GO', NATS_GO_FULL);
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    assert.equal(r.config?.compression, 'none');
  });

  it('accepts nats.js v3 stream fields at their defaults', async () => {
    const si = await s.jsm.streams.add({
      name: 'JSV3', subjects: ['jsv3.>'], allow_msg_ttl: false, allow_msg_schedules: false, allow_atomic: false, allow_batched: false,
      allow_msg_counter: false, subject_delete_marker_ttl: 0, metadata: {},
    });
    assert.equal(si.config.name, 'JSV3');
  });

  for (const [field, value, feature] of [
    ['allow_atomic', true, 'atomic batch publish (allow_atomic)'],
    ['allow_msg_schedules', true, 'message schedules (allow_msg_schedules)'],
    ['allow_batched', true, 'batched publish (allow_batched)'],
    ['persist_mode', 'async', 'asynchronous persistence (persist_mode: async)'],
    ['template_owner', 'T', 'stream templates'],
  ] as const) {
    it(`refuses ${field}: ${JSON.stringify(value)} with a clear error`, async () => {
      const r = await api('$JS.API.STREAM.CREATE.NO', { name: 'NO', subjects: ['no.>'], storage: 'memory', [field]: value });
      assert.deepEqual(r.error, { code: 500, err_code: 10052, description: `${feature} not supported by this server` });
    });
  }

  it('refuses s2 compression rather than storing uncompressed', async () => {
    const r = await api('$JS.API.STREAM.CREATE.NO', { name: 'NO', subjects: ['no.>'], compression: 's2' });
    assert.equal(r.error?.err_code, 10052);
    assert.match(r.error?.description ?? '', /compression \(s2\) not supported/);
  });

  it('reports a wrongly typed new field as Go would', async () => {
    const r = await api('$JS.API.STREAM.CREATE.NO', { name: 'NO', allow_atomic: 'yes' });
    assert.equal(r.error?.err_code, 10025);
    assert.match(r.error?.description ?? '', /cannot unmarshal string into Go struct field StreamConfig.allow_atomic of type bool/);
  });

  it('accepts a consumer with the 2.11/2.12 fields at their defaults', async () => {
    await s.jsm.streams.add({ name: 'C', subjects: ['c.>'], storage: StorageType.Memory });
    const r = await api('$JS.API.CONSUMER.CREATE.C.dur', { stream_name: 'C', config: CONSUMER_DEFAULTS });
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    // Go's zero time is no pause: nats-server leaves it out of the config.
    assert.equal(r.config?.pause_until, undefined);
  });

  for (const [what, extra, text] of [
    ['priority groups', { priority_groups: ['jobs'], priority_policy: 'overflow' }, 'priority groups (priority_groups) not supported by this server'],
    ['a priority policy', { priority_policy: 'pinned_client' }, 'priority policy pinned_client not supported by this server'],
    ['a pinned client timeout', { priority_timeout: 5_000_000_000 }, 'pinned client timeout (priority_timeout) not supported by this server'],
  ] as const) {
    it(`refuses ${what} on a consumer`, async () => {
      const r = await api('$JS.API.CONSUMER.CREATE.C.x', { stream_name: 'C', config: { ...CONSUMER_DEFAULTS, durable_name: 'x', ...extra } });
      assert.deepEqual(r.error, { code: 500, err_code: 10012, description: text });
    });
  }

  it('answers UNPIN (no consumer has priority groups here) instead of staying silent', async () => {
    const r = await api('$JS.API.CONSUMER.UNPIN.C.dur', { group: 'jobs' });
    assert.deepEqual(r.error, { code: 400, err_code: 10160, description: 'Provided priority group does not exist for this consumer' });
  });

  it('refuses an unknown consumer field instead of dropping it', async () => {
    const r = await api('$JS.API.CONSUMER.CREATE.C.y', { stream_name: 'C', config: { durable_name: 'y', ack_policy: 'explicit', bogus: 1 } });
    assert.deepEqual(r.error, { code: 400, err_code: 10025, description: 'invalid JSON: json: unknown field "bogus"' });
  });
});
