/**
 * Per-message TTL (ADR-43) with the official clients: the Nats-TTL header
 * (durations, seconds, `never`), its refusals and error codes, expiry in the
 * memory and file stores (also across a restart), subject delete markers,
 * and the KV client's per-key TTL and limit markers (ADR-48).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { headers } from '@nats-io/transport-node';
import { JetStreamApiError, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KvEntry } from '@nats-io/kv';
import { connectJetStream, jetStreamSuite, removeDir, startJsNatter, tempStoreDir } from '../helpers/jetstream.js';
import { sleep, waitUntil } from '../helpers/wait.js';

const NS_PER_S = 1_000_000_000;

function ttl(value: string): ReturnType<typeof headers> {
  const h = headers();
  h.set('Nats-TTL', value);
  return h;
}

async function refusal(p: Promise<unknown>): Promise<{ code: number; description: string }> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof JetStreamApiError, String(e));
    return { code: e.code, description: e.message };
  }
  throw new Error('the publish was accepted');
}

async function messages(jsm: JetStreamManager, stream: string): Promise<number> {
  return (await jsm.streams.info(stream)).state.messages;
}

describe('per-message TTL (ADR-43)', () => {
  const s = jetStreamSuite();

  it('refuses Nats-TTL on a stream without allow_msg_ttl (10166)', async () => {
    await s.jsm.streams.add({ name: 'PLAIN', subjects: ['plain.>'], storage: StorageType.Memory });
    assert.deepEqual(await refusal(s.js.publish('plain.a', 'x', { headers: ttl('5s') })), { code: 10166, description: 'per-message TTL is disabled' });
  });

  it('refuses invalid TTLs (10165) and takes durations, seconds and never', async () => {
    await s.jsm.streams.add({ name: 'T', subjects: ['t.>'], storage: StorageType.Memory, allow_msg_ttl: true });
    for (const bad of ['abc', '500ms', '0', '-2', '']) {
      assert.deepEqual(await refusal(s.js.publish('t.bad', 'x', { headers: ttl(bad) })), { code: 10165, description: 'invalid per-message TTL' }, bad);
    }
    for (const good of ['1h', '90', 'never', '-1', '1m30s']) await s.js.publish('t.good', 'x', { headers: ttl(good) });
    const si = await s.jsm.streams.info('T');
    assert.equal(si.state.messages, 5);
    assert.equal(si.config.allow_msg_ttl, true);
  });

  it('expires a message at its TTL in a memory stream; never outlives max_age', async () => {
    await s.jsm.streams.add({ name: 'MEM', subjects: ['mem.>'], storage: StorageType.Memory, allow_msg_ttl: true, max_age: 1.5 * NS_PER_S });
    await s.js.publish('mem.short', 'x', { headers: ttl('1s') });
    await s.js.publish('mem.forever', 'x', { headers: ttl('never') });
    await s.js.publish('mem.plain', 'x');
    assert.equal(await messages(s.jsm, 'MEM'), 3);
    await waitUntil(async () => (await messages(s.jsm, 'MEM')) === 1, 6000, 'the TTL and max_age messages to go');
    const left = await s.jsm.streams.getMessage('MEM', { last_by_subj: 'mem.forever' });
    assert.equal(left?.subject, 'mem.forever');
  });

  it('refuses turning allow_msg_ttl off again', async () => {
    const si = await s.jsm.streams.info('T');
    await assert.rejects(s.jsm.streams.update('T', { ...si.config, allow_msg_ttl: false }), /message TTL status can not be disabled/);
  });

  it('writes a subject delete marker when the last message of a subject ages out, and none for the marker itself', async () => {
    const si = await s.jsm.streams.add({ name: 'MRK', subjects: ['mrk.>'], storage: StorageType.Memory, subject_delete_marker_ttl: NS_PER_S });
    // Markers need TTLs and roll-ups: nats-server turns both on.
    assert.equal(si.config.allow_msg_ttl, true);
    assert.equal(si.config.allow_rollup_hdrs, true);
    const first = await s.js.publish('mrk.k', 'v', { headers: ttl('1s') });
    await waitUntil(async () => {
      const m = await s.jsm.streams.getMessage('MRK', { last_by_subj: 'mrk.k' }).catch(() => null);
      return m !== null && m.seq > first.seq;
    }, 5000, 'the delete marker');
    const marker = await s.jsm.streams.getMessage('MRK', { last_by_subj: 'mrk.k' });
    assert.equal(marker?.header.get('Nats-Marker-Reason'), 'MaxAge');
    assert.equal(marker?.header.get('Nats-TTL'), '1s');
    assert.equal(marker?.data.length, 0);
    // The marker goes after its own TTL and leaves nothing behind.
    await waitUntil(async () => (await messages(s.jsm, 'MRK')) === 0, 5000, 'the marker to expire');
    const st = (await s.jsm.streams.info('MRK')).state;
    assert.equal(st.last_seq, 2, 'no second marker');
  });

  it('refuses markers under one second and on mirrors', async () => {
    await assert.rejects(s.jsm.streams.add({ name: 'M1', subjects: ['m1'], subject_delete_marker_ttl: NS_PER_S / 2 }), /subject delete marker TTL must be at least 1 second/);
    await assert.rejects(s.jsm.streams.add({ name: 'M2', mirror: { name: 'T' }, subject_delete_marker_ttl: NS_PER_S }), /subject delete markers forbidden on mirrors/);
  });

  it('KV: per-key TTL and limit markers as @nats-io/kv uses them', async () => {
    const kv = await new Kvm(s.nc).create('ttlkv', { markerTTL: 1000, storage: StorageType.Memory });
    const seen: KvEntry[] = [];
    const watch = await kv.watch({ key: 'k' });
    const watching = (async () => {
      for await (const e of watch) seen.push(e);
    })();
    await kv.create('k', 'v', '1s');
    await waitUntil(() => seen.some((e) => e.operation === 'PURGE'), 6000, 'the expiry to reach the watcher as a PURGE');
    assert.equal(seen[0].operation, 'PUT');
    assert.equal(await kv.get('k').then((e) => e?.operation), 'PURGE');
    // create() works again on an expired key.
    await kv.create('k', 'again');
    // A purge with a TTL is a marker that goes on its own.
    await kv.purge('k', { ttl: '1s' });
    await waitUntil(async () => (await s.jsm.streams.info('KV_ttlkv')).state.messages === 0, 6000, 'the purge marker to expire');
    watch.stop();
    await watching;
  });
});

describe('per-message TTL in the file store', () => {
  it('keeps the deadlines across a restart', async () => {
    const dir = tempStoreDir();
    let server = await startJsNatter({}, dir);
    let c: { nc: { close(): Promise<void> }; jsm: JetStreamManager; js: JetStreamClient } | null = await connectJetStream(server.srv.url);
    try {
      await c.jsm.streams.add({ name: 'F', subjects: ['f.>'], allow_msg_ttl: true });
      await c.js.publish('f.soon', 'x', { headers: ttl('1s') });
      await c.js.publish('f.later', 'x', { headers: ttl('3s') });
      await c.js.publish('f.keep', 'x');
      await c.nc.close();
      c = null;
      await server.stop(true);
      // Down past the first deadline: it is gone at start; the second goes on time.
      await sleep(1200);
      server = await startJsNatter({}, dir);
      c = await connectJetStream(server.srv.url);
      const jsm = c.jsm;
      assert.ok((await messages(jsm, 'F')) <= 2);
      await waitUntil(async () => (await messages(jsm, 'F')) === 1, 6000, 'the second TTL after the restart');
      assert.equal((await jsm.streams.getMessage('F', { last_by_subj: 'f.keep' }))?.subject, 'f.keep');
    } finally {
      await c?.nc.close();
      await server.stop(true);
      removeDir(dir);
    }
  });
});
