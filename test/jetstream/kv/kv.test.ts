/**
 * Key-value buckets through the official @nats-io/kv client, against the
 * reference nats-server and Natter with the same expectations.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';
import { JETSTREAM_TARGETS, type JetStreamTarget } from '../../helpers/jetstream-targets.js';
import { sleep } from '../../helpers/wait.js';

const text = (v: Uint8Array | undefined): string => new TextDecoder().decode(v);

for (const starter of JETSTREAM_TARGETS) {
  describe(`KV on ${starter.name}`, () => {
    let target: JetStreamTarget;
    let nc: NatsConnection;
    let kvm: Kvm;

    before(async () => {
      target = await starter.start();
      nc = await connect({ servers: target.url });
      kvm = new Kvm(nc);
    });

    after(async () => {
      await nc?.close();
      await target?.stop();
    });

    it('creates a bucket and reports its status', async () => {
      const kv = await kvm.create('status', { history: 5 });
      const st = await kv.status();
      assert.equal(st.bucket, 'status');
      assert.equal(st.history, 5);
      assert.equal(st.values, 0);
      assert.equal(st.streamInfo.config.name, 'KV_status');
      assert.equal(st.streamInfo.config.allow_direct, true);
      assert.equal(st.streamInfo.config.max_msgs_per_subject, 5);
    });

    it('puts and gets values with revisions', async () => {
      const kv = await kvm.create('basic');
      const r1 = await kv.put('a.b', 'one');
      const r2 = await kv.put('c', 'two');
      assert.equal(r2, r1 + 1);
      const e = await kv.get('a.b');
      assert.ok(e);
      assert.equal(e.key, 'a.b');
      assert.equal(e.revision, r1);
      assert.equal(e.operation, 'PUT');
      assert.equal(text(e.value), 'one');
      assert.equal(await kv.get('missing'), null);
      const old = await kv.put('a.b', 'uno');
      assert.equal(text((await kv.get('a.b'))?.value), 'uno');
      assert.equal(old, r2 + 1);
    });

    it('create refuses an existing key and update is compare-and-set', async () => {
      const kv = await kvm.create('cas');
      const r = await kv.create('k', 'v1');
      await assert.rejects(kv.create('k', 'again'));
      await assert.rejects(kv.update('k', 'stale', r + 10));
      const r2 = await kv.update('k', 'v2', r);
      assert.equal(r2, r + 1);
      assert.equal(text((await kv.get('k'))?.value), 'v2');
      // After a delete, create may take the key again.
      await kv.delete('k');
      const r3 = await kv.create('k', 'v3');
      assert.ok(r3 > r2);
    });

    it('delete leaves a marker in history; purge leaves only the purge marker', async () => {
      const kv = await kvm.create('hist', { history: 10 });
      await kv.put('x', '1');
      await kv.put('x', '2');
      await kv.delete('x');
      const ops = await collect(await kv.history({ key: 'x' }));
      assert.deepEqual(ops.map((e) => e.operation), ['PUT', 'PUT', 'DEL']);
      assert.deepEqual(ops.slice(0, 2).map((e) => text(e.value)), ['1', '2']);
      const gone = await kv.get('x');
      assert.ok(gone === null || gone.operation === 'DEL');
      await kv.put('x', '3');
      await kv.purge('x');
      const after = await collect(await kv.history({ key: 'x' }));
      assert.deepEqual(after.map((e) => e.operation), ['PURGE']);
    });

    it('keeps only `history` revisions per key', async () => {
      const kv = await kvm.create('limited', { history: 3 });
      for (let i = 0; i < 6; i++) await kv.put('k', String(i));
      const h = await collect(await kv.history({ key: 'k' }));
      assert.deepEqual(h.map((e) => text(e.value)), ['3', '4', '5']);
      assert.equal((await kv.status()).values, 3);
    });

    it('lists keys, without deleted ones, and with a filter', async () => {
      const kv = await kvm.create('keys');
      await Promise.all(Array.from({ length: 50 }, (_, i) => kv.put(`user.${i}`, `v${i}`)));
      await kv.put('other.a', 'x');
      await kv.delete('user.7');
      const all = (await collect(await kv.keys())).sort();
      assert.equal(all.length, 50);
      assert.ok(!all.includes('user.7'));
      assert.ok(all.includes('other.a'));
      const users = await collect(await kv.keys('user.*'));
      assert.equal(users.length, 49);
    });

    it('watch yields current values then live updates in order', async () => {
      const kv = await kvm.create('watched');
      await kv.put('w.1', 'a');
      const it = await kv.watch({ key: 'w.>' });
      const seen: string[] = [];
      const done = (async () => {
        for await (const e of it) {
          seen.push(`${e.operation}:${e.key}:${text(e.value)}`);
          if (seen.length === 4) break;
        }
      })();
      await kv.put('w.2', 'b');
      await kv.put('w.1', 'c');
      await kv.delete('w.2');
      await done;
      assert.deepEqual(seen, ['PUT:w.1:a', 'PUT:w.2:b', 'PUT:w.1:c', 'DEL:w.2:']);
    });

    it('expires values after the bucket TTL', async () => {
      const kv = await kvm.create('ttl', { ttl: 1000 });
      await kv.put('t', 'soon gone');
      assert.equal(text((await kv.get('t'))?.value), 'soon gone');
      // Poll rather than sleep past the TTL: a loaded machine may need longer.
      const deadline = Date.now() + 6000;
      while ((await kv.get('t')) !== null && Date.now() < deadline) await sleep(50);
      assert.equal(await kv.get('t'), null);
      assert.equal((await kv.status()).values, 0);
    });

    it('lists buckets and destroys one', async () => {
      const kv: KV = await kvm.create('doomed');
      await kv.put('a', '1');
      const names: string[] = [];
      for await (const s of kvm.list()) names.push(s.bucket);
      assert.ok(names.includes('doomed'));
      assert.equal(await kv.destroy(), true);
      const after: string[] = [];
      for await (const s of kvm.list()) after.push(s.bucket);
      assert.ok(!after.includes('doomed'));
    });
  });
}

async function collect<T>(it: AsyncIterable<T> & { stop?: () => void }): Promise<T[]> {
  const out: T[] = [];
  for await (const v of it) out.push(v);
  return out;
}
