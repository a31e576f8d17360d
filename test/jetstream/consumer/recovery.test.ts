/**
 * Consumers survive a restart with a file store: config, delivered and ack
 * floor, pending acks (redelivered after ack_wait) and the position in the
 * stream come back; a deleted consumer stays deleted.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { AckPolicy, StorageType, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { startNatter } from '../../helpers/natter.js';

const MS = 1_000_000;

describe('consumer recovery with a file store', () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'natter-consumer-'));
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  async function withServer<T>(fn: (url: string) => Promise<T>): Promise<T> {
    const srv = await startNatter({ jetstream: { store_dir: dir } });
    try {
      return await fn(srv.url);
    } finally {
      await srv.close();
    }
  }

  it('keeps delivered, ack floor and pending acks across a restart', async () => {
    await withServer(async (url) => {
      const nc = await connect({ servers: url });
      const jsm = await jetstreamManager(nc);
      const js = jetstream(nc);
      await jsm.streams.add({ name: 'REC', subjects: ['rec.>'], storage: StorageType.File });
      for (let i = 1; i <= 10; i++) await js.publish('rec.x', `m${i}`);
      await jsm.consumers.add('REC', { durable_name: 'dur', ack_policy: AckPolicy.Explicit, ack_wait: 700 * MS, description: 'kept' });
      await jsm.consumers.add('REC', { durable_name: 'gone', ack_policy: AckPolicy.Explicit });
      await jsm.consumers.delete('REC', 'gone');
      const c = await js.consumers.get('REC', 'dur');
      const got: JsMsg[] = [];
      for await (const m of await c.fetch({ max_messages: 5, expires: 2000 })) got.push(m);
      assert.equal(got.length, 5);
      for (const m of got.slice(0, 3)) assert.ok(await m.ackAck());
      const info = await c.info();
      assert.deepEqual([info.delivered.stream_seq, info.ack_floor.stream_seq, info.num_ack_pending, info.num_pending], [5, 3, 2, 5]);
      await nc.close();
    });
    await withServer(async (url) => {
      const nc = await connect({ servers: url });
      const jsm = await jetstreamManager(nc);
      const js = jetstream(nc);
      assert.deepEqual(await jsm.consumers.list('REC').next().then((l) => l.map((ci) => ci.name)), ['dur']);
      const info = await jsm.consumers.info('REC', 'dur');
      assert.equal(info.config.description, 'kept');
      assert.equal(info.config.ack_wait, 700 * MS);
      assert.deepEqual([info.delivered.consumer_seq, info.delivered.stream_seq], [5, 5]);
      assert.deepEqual([info.ack_floor.consumer_seq, info.ack_floor.stream_seq], [3, 3]);
      assert.equal(info.num_ack_pending, 2);
      assert.equal(info.num_pending, 5);
      const c = await js.consumers.get('REC', 'dur');
      const seen = new Map<number, boolean>();
      for await (const m of await c.fetch({ max_messages: 7, expires: 4000 })) {
        seen.set(m.seq, m.info.redelivered);
        m.ack();
        if (seen.size === 7) break;
      }
      // The stream goes on from 6; the two unacked come back once their ack_wait (kept across the restart) ran out.
      assert.deepEqual([...seen.keys()].sort((a, b) => a - b), [4, 5, 6, 7, 8, 9, 10]);
      assert.deepEqual([seen.get(4), seen.get(5), seen.get(6)], [true, true, false]);
      await nc.flush();
      await nc.close();
    });
  });
});
