/**
 * Stream snapshot and restore between two Natter servers, with the official
 * client creating, filling and consuming the streams and jsm.go's protocol
 * (backup-client.ts) moving the backup: the restored stream holds the same
 * messages (sequences, subjects, headers, payloads, timestamps, gaps) and
 * its consumers resume where they were.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, type JetStreamManager } from '@nats-io/jetstream';
import { connectJetStream, startJsNatter, type JsClients, type JsServer } from '../../helpers/jetstream.js';
import { api, apiError } from '../helpers.js';
import { backup, restore } from './backup-client.js';
import { S2Reader } from '../../../src/jetstream/snapshot/s2-stream.js';

const enc = new TextEncoder();

async function fill(c: JsClients, stream: string, storage: 'file' | 'memory', n: number): Promise<void> {
  await c.jsm.streams.add({ name: stream, subjects: [`${stream}.>`], storage: storage as never });
  for (let i = 1; i <= n; i++) {
    const h = headers();
    h.set('X-I', String(i));
    // Varied payloads: some compressible, some not.
    const body = i % 3 === 0 ? Buffer.from(Array.from({ length: 200 }, (_, k) => (i * 31 + k * 17) & 0xff)) : enc.encode(`message ${i} `.repeat(20));
    await c.js.publish(`${stream}.${i % 7}`, body, { headers: h });
  }
}

async function allMessages(jsm: JetStreamManager, stream: string): Promise<string[]> {
  const info = await jsm.streams.info(stream);
  const seqs = Array.from({ length: info.state.last_seq - info.state.first_seq + 1 }, (_, i) => info.state.first_seq + i);
  const got = await Promise.all(seqs.map((seq) => jsm.streams.getMessage(stream, { seq }).catch(() => null)));
  // Deleted sequences are null.
  return got.filter((m) => m !== null).map((m) => `${m.seq} ${m.subject} ${m.timestamp} ${m.header.get('X-I')} ${Buffer.from(m.data).toString('base64')}`);
}

function stateOf(s: Record<string, unknown>): Record<string, unknown> {
  const { messages, bytes, first_seq, last_seq, num_deleted, num_subjects } = s;
  return { messages, bytes, first_seq, last_seq, num_deleted, num_subjects };
}

describe('stream snapshot and restore', () => {
  let a: JsServer;
  let b: JsServer;
  let ca: JsClients;
  let cb: JsClients;

  before(async () => {
    a = await startJsNatter();
    b = await startJsNatter();
    ca = await connectJetStream(a.srv.url);
    cb = await connectJetStream(b.srv.url);
  });

  after(async () => {
    await ca.nc.close();
    await cb.nc.close();
    await a.stop();
    await b.stop();
  });

  it('restores a file stream on another server with the same messages and consumer positions', async () => {
    await fill(ca, 'ORDERS', 'file', 300);
    // Gaps: a purged prefix and interior deletes.
    await ca.jsm.streams.purge('ORDERS', { seq: 11 });
    await ca.jsm.streams.deleteMessage('ORDERS', 100);
    await ca.jsm.streams.deleteMessage('ORDERS', 101, false);
    await ca.jsm.consumers.add('ORDERS', { durable_name: 'worker', ack_policy: AckPolicy.Explicit, ack_wait: 60_000_000_000 });
    await ca.jsm.consumers.add('ORDERS', { durable_name: 'sevens', ack_policy: AckPolicy.Explicit, filter_subject: 'ORDERS.0' });
    const consumer = await ca.js.consumers.get('ORDERS', 'worker');
    const batch = await consumer.fetch({ max_messages: 30, expires: 2000 });
    let k = 0;
    for await (const m of batch) {
      // The first 20 acked, the rest left pending.
      if (++k <= 20) await m.ackAck();
    }
    const before = await ca.jsm.consumers.info('ORDERS', 'worker');
    const sInfo = await ca.jsm.streams.info('ORDERS');

    // Small chunks and a small window exercise the flow control.
    const bk = await backup(ca.nc, 'ORDERS', { chunk_size: 4096, window_size: 16 * 1024 });
    assert.equal(bk.status, '204');
    assert.ok(bk.chunks > 2, `${bk.chunks} chunks`);
    assert.equal(bk.meta.type, 'io.nats.jetstream.api.v1.stream_snapshot_response');
    assert.equal((bk.meta.config as Record<string, unknown>).name, 'ORDERS');
    assert.equal((bk.meta.state as Record<string, unknown>).messages, sInfo.state.messages);
    // The backup is a well-formed S2 stream (natscli's progress tracker decodes it as it arrives).
    const reader = new S2Reader();
    const tarBytes = Buffer.concat(reader.push(bk.data));
    reader.end();
    assert.ok(tarBytes.length > bk.data.length, 'compressed');

    const res = await restore(cb.nc, 'ORDERS', bk.meta, bk.data);
    assert.equal(res.type, 'io.nats.jetstream.api.v1.stream_create_response');
    assert.equal(res.error, undefined, JSON.stringify(res.error));
    const restoredState = (res.state as Record<string, unknown>);
    assert.deepEqual(stateOf(restoredState), stateOf(sInfo.state as unknown as Record<string, unknown>));
    assert.equal(res.created, sInfo.created);

    assert.deepEqual(await allMessages(cb.jsm, 'ORDERS'), await allMessages(ca.jsm, 'ORDERS'));
    const after = await cb.jsm.consumers.info('ORDERS', 'worker');
    // Positions, not activity times (last_active is when this server last delivered).
    const pos = (p: { consumer_seq: number; stream_seq: number }) => ({ consumer_seq: p.consumer_seq, stream_seq: p.stream_seq });
    assert.deepEqual(pos(after.delivered), pos(before.delivered));
    assert.deepEqual(pos(after.ack_floor), pos(before.ack_floor));
    assert.equal(after.num_ack_pending, before.num_ack_pending);
    assert.equal(after.num_pending, before.num_pending);
    assert.deepEqual((await cb.jsm.consumers.info('ORDERS', 'sevens')).num_pending, (await ca.jsm.consumers.info('ORDERS', 'sevens')).num_pending);

    // The consumer goes on from the same place on the new server.
    const next = await (await cb.js.consumers.get('ORDERS', 'worker')).next({ expires: 2000 });
    const expected = await (await ca.js.consumers.get('ORDERS', 'worker')).next({ expires: 2000 });
    assert.ok(next !== null && expected !== null);
    assert.equal(next.seq, expected.seq);
    next.ack();
    expected.ack();

    // The restored stream takes new messages after the old last sequence.
    const ack = await cb.js.publish('ORDERS.1', enc.encode('after restore'));
    assert.equal(ack.seq, sInfo.state.last_seq + 1);
  });

  it('survives a restart of the server it was restored on', async () => {
    const s1 = await cb.jsm.streams.info('ORDERS');
    await cb.nc.close();
    const dir = b.storeDir;
    await b.stop(true);
    b = await startJsNatter({}, dir);
    cb = await connectJetStream(b.srv.url);
    const s2 = await cb.jsm.streams.info('ORDERS');
    assert.deepEqual(stateOf(s2.state as unknown as Record<string, unknown>), stateOf(s1.state as unknown as Record<string, unknown>));
    const c = await cb.jsm.consumers.info('ORDERS', 'worker');
    assert.ok(c.delivered.stream_seq > 0);
  });

  it('leaves the consumers out with no_consumers, and restores memory streams', async () => {
    await fill(ca, 'MEM', 'memory', 50);
    await ca.jsm.consumers.add('MEM', { durable_name: 'd', ack_policy: AckPolicy.Explicit });
    const bk = await backup(ca.nc, 'MEM', { no_consumers: true, jsck: true });
    // Below one chunk: a single chunk without an ack reply, then the empty message without a status (as nats-server).
    assert.equal(bk.status, '');
    const res = await restore(cb.nc, 'MEM', bk.meta, bk.data);
    assert.equal(res.error, undefined, JSON.stringify(res.error));
    assert.equal((res.config as Record<string, unknown>).storage, 'memory');
    assert.equal((res.state as Record<string, unknown>).messages, 50);
    assert.equal((res.state as Record<string, unknown>).consumer_count, 0);
    assert.deepEqual(await allMessages(cb.jsm, 'MEM'), await allMessages(ca.jsm, 'MEM'));

    // With its consumers: a memory stream's consumer state travels too.
    const iter = await (await ca.js.consumers.get('MEM', 'd')).fetch({ max_messages: 7, expires: 2000 });
    for await (const m of iter) if (m.seq <= 5) m.ack();
    await ca.nc.flush();
    const want = await ca.jsm.consumers.info('MEM', 'd');
    await cb.jsm.streams.delete('MEM');
    const full = await backup(ca.nc, 'MEM');
    assert.equal((await restore(cb.nc, 'MEM', full.meta, full.data)).error, undefined);
    const got = await cb.jsm.consumers.info('MEM', 'd');
    assert.equal(got.delivered.stream_seq, want.delivered.stream_seq);
    assert.equal(got.ack_floor.stream_seq, want.ack_floor.stream_seq);
    assert.equal(got.num_ack_pending, want.num_ack_pending);
  });

  it('stops a snapshot nobody acknowledges (408 No Flow Response) and one nobody receives (408 No Interest)', async () => {
    // A window of one chunk: the second chunk waits for the first one's ack, which never comes.
    const stalled = await backup(ca.nc, 'ORDERS', { chunk_size: 1024, window_size: 1024, noAck: true }, 10_000);
    assert.equal(stalled.status, '408 No Flow Response');
    assert.equal(stalled.chunks, 1);

    const done = ca.nc.subscribe('$JS.EVENT.ADVISORY.STREAM.SNAPSHOT_COMPLETE.ORDERS', { max: 1 });
    const inbox = `gone.${Date.now()}`;
    const sub = ca.nc.subscribe(inbox, { max: 1, callback: () => undefined });
    await ca.nc.request('$JS.API.STREAM.SNAPSHOT.ORDERS', enc.encode(JSON.stringify({ deliver_subject: inbox, chunk_size: 1024, window_size: 1024 })));
    await sub.closed;
    for await (const m of done) {
      const adv = JSON.parse(Buffer.from(m.data).toString()) as Record<string, unknown>;
      assert.equal(adv.type, 'io.nats.jetstream.advisory.v1.snapshot_complete');
      assert.equal(adv.error, 'no interest');
    }
  });

  it('refuses bad snapshot requests with nats-server errors', async () => {
    const nc: NatsConnection = ca.nc;
    assert.equal(apiError(await api(nc, '$JS.API.STREAM.SNAPSHOT.ORDERS'))?.err_code, 10003);
    assert.equal(apiError(await api(nc, '$JS.API.STREAM.SNAPSHOT.NOPE', { deliver_subject: 'x' }))?.err_code, 10059);
    const bad = await api(nc, '$JS.API.STREAM.SNAPSHOT.ORDERS', { deliver_subject: 'x.*' });
    assert.deepEqual(bad, { type: 'io.nats.jetstream.api.v1.stream_snapshot_response', error: { code: 400, err_code: 10015, description: 'deliver subject not valid' } });
    assert.equal(apiError(await api(nc, '$JS.API.STREAM.SNAPSHOT.ORDERS', { no_consumers: true }))?.err_code, 10015);
  });

  it('refuses bad restores with nats-server errors', async () => {
    const nc = cb.nc;
    const type = 'io.nats.jetstream.api.v1.stream_restore_response';
    assert.equal(apiError(await api(nc, '$JS.API.STREAM.RESTORE.X'))?.err_code, 10003);
    assert.equal(apiError(await api(nc, '$JS.API.STREAM.RESTORE.X', { config: { name: 'Y' } }))?.err_code, 10056);
    assert.deepEqual(await api(nc, '$JS.API.STREAM.RESTORE.ORDERS', { config: { name: 'ORDERS', subjects: ['ORDERS.>'] } }), {
      type, error: { code: 400, err_code: 10130, description: 'stream name already in use, cannot restore' }, deliver_subject: '',
    });
    // A restore of the same name while one is under way.
    const first = await api(nc, '$JS.API.STREAM.RESTORE.TWICE', { config: { name: 'TWICE', subjects: ['twice'] } });
    assert.match(first.deliver_subject as string, /^\$JS\.SNAPSHOT\.RESTORE\.TWICE\./);
    assert.equal(apiError(await api(nc, '$JS.API.STREAM.RESTORE.TWICE', { config: { subjects: ['twice'] } }))?.err_code, 10130);
    // Garbage instead of a snapshot: the chunk's reply gets the failure, and the name is free again.
    const fail = await nc.request(first.deliver_subject as string, enc.encode('not an s2 stream at all'), { timeout: 3000 });
    const failure = JSON.parse(Buffer.from(fail.data).toString()) as Record<string, unknown>;
    assert.equal(failure.type, 'io.nats.jetstream.api.v1.stream_create_response');
    assert.equal(apiError(failure)?.err_code, 10062);
    assert.match(apiError(failure)?.description ?? '', /^restore failed: /);
    const again = await api(nc, '$JS.API.STREAM.RESTORE.TWICE', { config: { subjects: ['twice'] } });
    assert.equal(again.error, undefined);
    // An empty upload: no stream in it.
    const fin = await nc.request(again.deliver_subject as string, new Uint8Array(0), { timeout: 3000 });
    assert.equal(apiError(JSON.parse(Buffer.from(fin.data).toString()) as Record<string, unknown>)?.err_code, 10062);
    await assert.rejects(cb.jsm.streams.info('TWICE'));
  });

  it('refuses a snapshot made for another stream name', async () => {
    const bk = await backup(ca.nc, 'MEM');
    const cfg = { ...(bk.meta.config as Record<string, unknown>), name: 'OTHER', subjects: ['other.>'] };
    const res = await restore(cb.nc, 'OTHER', { config: cfg, state: bk.meta.state }, bk.data);
    assert.deepEqual(res.error, { code: 500, err_code: 10062, description: 'restore failed: stream names do not match' });
    await assert.rejects(cb.jsm.streams.info('OTHER'));
  });
});
