/**
 * The stream API through the official @nats-io/jetstream manager, plus raw
 * requests where the client hides the answer: create/update/info/list/
 * names/purge/delete, message get/delete, config defaults and validation.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createInbox, headers, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { StorageType, DiscardPolicy } from '@nats-io/jetstream';
import { jetStreamSuite } from '../../helpers/jetstream.js';
import { api, apiError, text } from '../helpers.js';

const mem = StorageType.Memory;

/** A direct-get batch request: every reply up to and including the 204 EOB status. */
async function directBatch(nc: NatsConnection, stream: string, req: Record<string, unknown>): Promise<Msg[]> {
  const inbox = createInbox();
  const sub = nc.subscribe(inbox);
  nc.publish(`$JS.API.DIRECT.GET.${stream}`, JSON.stringify(req), { reply: inbox });
  const out: Msg[] = [];
  const timer = setTimeout(() => sub.unsubscribe(), 3000);
  for await (const m of sub) {
    out.push(m);
    if (m.headers?.code === 204) break;
  }
  clearTimeout(timer);
  return out;
}

describe('stream API', () => {
  const t = jetStreamSuite();

  it('creates a stream with nats-server defaults and reports it', async () => {
    const si = await t.jsm.streams.add({ name: 'DEF', storage: mem });
    assert.deepEqual(si.config.subjects, ['DEF']);
    assert.equal(si.config.retention, 'limits');
    assert.equal(si.config.max_msgs, -1);
    assert.equal(si.config.max_bytes, -1);
    assert.equal(si.config.max_msg_size, -1);
    assert.equal(si.config.max_consumers, -1);
    assert.equal(si.config.discard, 'old');
    assert.equal(si.config.num_replicas, 1);
    assert.equal(si.config.duplicate_window, 120_000_000_000);
    assert.equal(si.state.messages, 0);
    assert.equal(si.state.first_seq, 0);
    assert.equal(si.state.last_ts, '0001-01-01T00:00:00Z');
    assert.match(si.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    // Creating again with the same config is idempotent.
    const again = await t.jsm.streams.add({ name: 'DEF', storage: mem });
    assert.equal(again.created, si.created);
  });

  it('caps the duplicate window at max_age', async () => {
    const si = await t.jsm.streams.add({ name: 'AGE', subjects: ['age.>'], storage: mem, max_age: 30_000_000_000 });
    assert.equal(si.config.duplicate_window, 30_000_000_000);
    const r = await api(t.nc, '$JS.API.STREAM.CREATE.AGE2', { name: 'AGE2', storage: 'memory', max_age: 1_000_000_000, duplicate_window: 2_000_000_000 });
    assert.deepEqual(apiError(r), { code: 500, err_code: 10052, description: 'duplicates window can not be larger then max age' });
  });

  it('refuses what nats-server refuses, with its error codes', async () => {
    await t.jsm.streams.add({ name: 'ORDERS', subjects: ['orders.>'], storage: mem });
    const cases: Array<[string, unknown, number, string]> = [
      ['$JS.API.STREAM.CREATE.X', { name: 'X', subjects: ['orders.eu'], storage: 'memory' }, 10065, 'subjects overlap with an existing stream'],
      ['$JS.API.STREAM.CREATE.X', { name: 'Y', storage: 'memory' }, 10056, 'stream name in subject does not match request'],
      ['$JS.API.STREAM.CREATE.ORDERS', { name: 'ORDERS', subjects: ['other'], storage: 'memory' }, 10058, 'stream name already in use with a different configuration'],
      ['$JS.API.STREAM.CREATE.X', { name: 'X', storage: 'memory', sealed: true }, 10052, 'stream configuration for create can not be sealed'],
      ['$JS.API.STREAM.CREATE.X', { name: 'X', storage: 'memory', num_replicas: 3 }, 10074, 'replicas > 1 not supported in non-clustered mode'],
      // nats-server checks overlaps with later subjects before duplicates, so a repeated subject reads as an overlap.
      ['$JS.API.STREAM.CREATE.X', { name: 'X', subjects: ['a', 'a'], storage: 'memory' }, 10052, 'subject "a" overlaps with "a"'],
      ['$JS.API.STREAM.CREATE.X', { name: 'X', subjects: ['a.*', 'a.b'], storage: 'memory' }, 10052, 'subject "a.*" overlaps with "a.b"'],
      ['$JS.API.STREAM.CREATE.X', { name: 'X', subjects: ['>'], storage: 'memory' }, 10052, 'capturing all subjects requires no-ack to be true'],
      ['$JS.API.STREAM.CREATE.X', { name: 'X', subjects: ['$JS.API.foo'], storage: 'memory' }, 10052, 'subjects that overlap with jetstream api require no-ack to be true'],
      ['$JS.API.STREAM.CREATE.X', { name: 'X', storage: 'memory', max_age: 1000 }, 10052, 'max age needs to be >= 100ms'],
      ['$JS.API.STREAM.CREATE.X', { name: 'X', storage: 'memory', deny_purge: true, allow_rollup_hdrs: true }, 10052, 'roll-ups require the purge permission'],
      ['$JS.API.STREAM.CREATE.X', { name: 'X', storage: 'memory', discard_new_per_subject: true }, 10052, 'discard new per subject requires discard new policy to be set'],
      ['$JS.API.STREAM.CREATE.X', { name: 'X', storage: 'memory', max_msgs: 'ten' }, 10025, 'invalid JSON: json: cannot unmarshal string into Go struct field StreamConfig.max_msgs of type int64'],
      ['$JS.API.STREAM.CREATE.X', { name: 'X', storage: 'disk' }, 10025, 'invalid JSON: can not unmarshal "disk"'],
      ['$JS.API.STREAM.CREATE.X', { name: 'X', mirror: { name: 'ORDERS' }, subjects: ['m'] }, 10034, 'stream mirrors can not contain subjects'],
      ['$JS.API.STREAM.CREATE.X', { name: 'X', storage: 'memory', sources: [{ name: 'ORDERS' }, { name: 'ORDERS' }] }, 10140, 'duplicate source configuration detected'],
    ];
    for (const [subject, body, errCode, description] of cases) {
      const r = await api(t.nc, subject, body);
      assert.equal(r.type, 'io.nats.jetstream.api.v1.stream_create_response');
      assert.equal(apiError(r)?.err_code, errCode, `${JSON.stringify(body)}: ${JSON.stringify(r.error)}`);
      assert.equal(apiError(r)?.description, description);
    }
    const unknown = await api(t.nc, '$JS.API.STREAM.CREATE.X', { name: 'X', storage: 'memory', bogus: 1 });
    assert.deepEqual(apiError(unknown), { code: 400, err_code: 10025, description: 'invalid JSON: json: unknown field "bogus"' });
    const empty = await api(t.nc, '$JS.API.STREAM.CREATE.X', '');
    assert.equal(apiError(empty)?.err_code, 10025);
  });

  it('serializes concurrent creates of one name', async () => {
    const a = api(t.nc, '$JS.API.STREAM.CREATE.RACE', { name: 'RACE', subjects: ['race.a'], storage: 'memory' });
    const b = api(t.nc, '$JS.API.STREAM.CREATE.RACE', { name: 'RACE', subjects: ['race.b'], storage: 'memory' });
    const codes = (await Promise.all([a, b])).map((r) => apiError(r)?.err_code ?? 0).sort();
    assert.deepEqual(codes, [0, 10058]);
    assert.equal((await api(t.nc, '$JS.API.STREAM.NAMES', { subject: 'race.>' })).total, 1);
  });

  it('updates what may change and refuses the rest', async () => {
    await t.jsm.streams.add({ name: 'UPD', subjects: ['upd.>'], storage: mem, max_msgs: 10 });
    const si = await t.jsm.streams.update('UPD', { max_msgs: 20, subjects: ['upd.>', 'upd2.>'], description: 'changed' });
    assert.equal(si.config.max_msgs, 20);
    assert.deepEqual(si.config.subjects, ['upd.>', 'upd2.>']);
    assert.equal(si.config.description, 'changed');
    // The new subject is captured.
    const ack = await t.js.publish('upd2.x', 'v');
    assert.equal(ack.stream, 'UPD');
    const storage = await api(t.nc, '$JS.API.STREAM.UPDATE.UPD', { ...si.config, storage: 'file' });
    assert.deepEqual(apiError(storage), { code: 500, err_code: 10052, description: 'stream configuration update can not change storage type' });
    const wq = await api(t.nc, '$JS.API.STREAM.UPDATE.UPD', { ...si.config, retention: 'workqueue' });
    assert.equal(apiError(wq)?.description, 'stream configuration update can not change retention policy to/from workqueue');
    const missing = await api(t.nc, '$JS.API.STREAM.UPDATE.NOPE', { name: 'NOPE', storage: 'memory' });
    assert.deepEqual(apiError(missing), { code: 404, err_code: 10059, description: 'stream not found' });
    const sealed = (await api(t.nc, '$JS.API.STREAM.UPDATE.UPD', { ...si.config, sealed: true })).config as Record<string, unknown>;
    assert.equal(sealed.sealed, true);
    assert.equal(sealed.deny_delete, true);
    assert.equal(sealed.deny_purge, true);
    const unseal = await api(t.nc, '$JS.API.STREAM.UPDATE.UPD', { ...sealed, sealed: false });
    assert.equal(apiError(unseal)?.description, 'stream configuration update can not unseal a sealed stream');
    await assert.rejects(t.js.publish('upd.x', 'v'), /invalid operation on sealed stream/);
  });

  it('lists and names streams with subject filters and paging', async () => {
    for (const n of ['L1', 'L2', 'L3']) await t.jsm.streams.add({ name: n, subjects: [`list.${n}.>`], storage: mem });
    const names = await t.jsm.streams.names('list.L2.x').next();
    assert.deepEqual(names, ['L2']);
    const all = await api(t.nc, '$JS.API.STREAM.NAMES', { subject: 'list.>' });
    assert.deepEqual(all.streams, ['L1', 'L2', 'L3']);
    assert.equal(all.limit, 1024);
    const paged = await api(t.nc, '$JS.API.STREAM.NAMES', { subject: 'list.>', offset: 2 });
    assert.deepEqual(paged.streams, ['L3']);
    assert.equal(paged.total, 3);
    assert.equal(paged.offset, 2);
    const none = await api(t.nc, '$JS.API.STREAM.NAMES', { subject: 'nothing.here' });
    assert.equal(none.streams, null);
    const list = await api(t.nc, '$JS.API.STREAM.LIST', { subject: 'list.>' });
    assert.equal(list.limit, 256);
    assert.deepEqual((list.streams as Array<{ config: { name: string } }>).map((x) => x.config.name), ['L1', 'L2', 'L3']);
    const infos = [];
    for await (const si of t.jsm.streams.list('list.L1.a')) infos.push(si.config.name);
    assert.deepEqual(infos, ['L1']);
  });

  it('gets messages by sequence, last and next by subject; deletes them', async () => {
    await t.jsm.streams.add({ name: 'MSGS', subjects: ['m.>'], storage: mem });
    await t.js.publish('m.a', 'one');
    await t.js.publish('m.b', 'two');
    await t.js.publish('m.a', 'three');
    const bySeq = await t.jsm.streams.getMessage('MSGS', { seq: 2 });
    assert.equal(bySeq?.subject, 'm.b');
    assert.equal(bySeq?.string(), 'two');
    const last = await t.jsm.streams.getMessage('MSGS', { last_by_subj: 'm.a' });
    assert.equal(last?.seq, 3);
    const next = await api(t.nc, '$JS.API.STREAM.MSG.GET.MSGS', { next_by_subj: 'm.a', seq: 2 });
    assert.equal((next.message as { seq: number }).seq, 3);
    const missing = await api(t.nc, '$JS.API.STREAM.MSG.GET.MSGS', { seq: 99 });
    assert.deepEqual(apiError(missing), { code: 404, err_code: 10037, description: 'no message found' });
    const bad = await api(t.nc, '$JS.API.STREAM.MSG.GET.MSGS', { seq: 1, last_by_subj: 'm.a' });
    assert.equal(apiError(bad)?.err_code, 10003);
    assert.equal(await t.jsm.streams.deleteMessage('MSGS', 2), true);
    assert.equal(await t.jsm.streams.deleteMessage('MSGS', 1, false), true);
    const gone = await api(t.nc, '$JS.API.STREAM.MSG.DELETE.MSGS', { seq: 2 });
    assert.deepEqual(apiError(gone), { code: 400, err_code: 10043, description: 'sequence 2 not found' });
    const info = await api(t.nc, '$JS.API.STREAM.INFO.MSGS', { deleted_details: true });
    const st = info.state as Record<string, unknown>;
    assert.equal(st.messages, 1);
    assert.equal(st.first_seq, 3);
  });

  it('reports deleted details and per-subject counts in info', async () => {
    await t.jsm.streams.add({ name: 'DET', subjects: ['d.>'], storage: mem });
    for (const subj of ['d.a', 'd.b', 'd.a', 'd.c']) await t.js.publish(subj, 'x');
    await t.jsm.streams.deleteMessage('DET', 2);
    const info = await t.jsm.streams.info('DET', { subjects_filter: 'd.>', deleted_details: true });
    assert.deepEqual(info.state.subjects, { 'd.a': 2, 'd.c': 1 });
    assert.deepEqual(info.state.deleted, [2]);
    assert.equal(info.state.num_deleted, 1);
    assert.equal(info.state.num_subjects, 2);
    const raw = await api(t.nc, '$JS.API.STREAM.INFO.DET', { subjects_filter: 'd.a' });
    assert.equal(raw.total, 1);
    assert.equal(raw.limit, 100000);
  });

  it('purges all, by subject, keeping some, and up to a sequence', async () => {
    await t.jsm.streams.add({ name: 'PRG', subjects: ['p.>'], storage: mem });
    for (let i = 0; i < 10; i++) await t.js.publish(i % 2 === 0 ? 'p.even' : 'p.odd', String(i));
    assert.equal((await t.jsm.streams.purge('PRG', { filter: 'p.odd' })).purged, 5);
    assert.equal((await t.jsm.streams.purge('PRG', { filter: 'p.even', keep: 2 })).purged, 3);
    assert.equal((await t.jsm.streams.purge('PRG', { seq: 9 })).purged, 1);
    const bad = await api(t.nc, '$JS.API.STREAM.PURGE.PRG', { seq: 3, keep: 1 });
    assert.equal(apiError(bad)?.err_code, 10003);
    assert.equal((await t.jsm.streams.purge('PRG')).purged, 1);
    const si = await t.jsm.streams.info('PRG');
    assert.equal(si.state.messages, 0);
    assert.equal(si.state.first_seq, 11);
    assert.equal(si.state.last_seq, 10);
  });

  it('honours deny_delete and deny_purge', async () => {
    await t.jsm.streams.add({ name: 'DENY', subjects: ['deny'], storage: mem, deny_delete: true, deny_purge: true });
    await t.js.publish('deny', 'x');
    const del = await api(t.nc, '$JS.API.STREAM.MSG.DELETE.DENY', { seq: 1 });
    assert.deepEqual(apiError(del), { code: 500, err_code: 10057, description: 'message delete not permitted' });
    const purge = await api(t.nc, '$JS.API.STREAM.PURGE.DENY', '');
    assert.deepEqual(apiError(purge), { code: 500, err_code: 10110, description: 'stream purge not permitted' });
  });

  it('deletes streams and answers stream not found afterwards', async () => {
    await t.jsm.streams.add({ name: 'GONE', subjects: ['gone'], storage: mem });
    assert.equal(await t.jsm.streams.delete('GONE'), true);
    const r = await api(t.nc, '$JS.API.STREAM.INFO.GONE', '');
    assert.deepEqual(apiError(r), { code: 404, err_code: 10059, description: 'stream not found' });
    assert.equal(r.total, 0);
    const d = await api(t.nc, '$JS.API.STREAM.DELETE.GONE', '');
    assert.equal(apiError(d)?.err_code, 10059);
    // Its subjects are free again.
    await t.jsm.streams.add({ name: 'GONE2', subjects: ['gone'], storage: mem });
  });

  it('serves direct gets in both forms with the JetStream headers', async () => {
    await t.jsm.streams.add({ name: 'DG', subjects: ['dg.>'], storage: mem, allow_direct: true, discard: DiscardPolicy.Old });
    await t.js.publish('dg.a', 'first');
    const h = headers();
    h.set('X-App', 'kept');
    await t.js.publish('dg.b', 'second', { headers: h });
    await t.js.publish('dg.a', 'third');
    const m = await t.jsm.direct.getMessage('DG', { last_by_subj: 'dg.a' });
    assert.ok(m);
    assert.equal(m.seq, 3);
    assert.equal(m.subject, 'dg.a');
    assert.equal(m.string(), 'third');
    assert.equal(m.header.get('Nats-Stream'), 'DG');
    assert.equal(m.header.get('Nats-Sequence'), '3');
    assert.match(m.header.get('Nats-Time-Stamp'), /Z$/);
    const bySeq = await t.jsm.direct.getMessage('DG', { seq: 1 });
    assert.equal(bySeq?.string(), 'first');
    // The subject-suffix form.
    const raw = await t.nc.request('$JS.API.DIRECT.GET.DG.dg.b', new Uint8Array(), { timeout: 2000 });
    assert.equal(text(raw.data), 'second');
    assert.equal(raw.headers?.get('Nats-Subject'), 'dg.b');
    assert.equal(raw.headers?.get('X-App'), 'kept');
    const missing = await t.nc.request('$JS.API.DIRECT.GET.DG', JSON.stringify({ seq: 42 }), { timeout: 2000 });
    assert.equal(missing.headers?.code, 404);
    assert.equal(missing.headers?.description, 'Message Not Found');
    const empty = await t.nc.request('$JS.API.DIRECT.GET.DG', new Uint8Array(), { timeout: 2000 });
    assert.equal(empty.headers?.code, 408);
    // Batches (the client refuses them before 2.11, so raw): messages, then a 204 EOB status.
    const batch = await directBatch(t.nc, 'DG', { seq: 1, batch: 2 });
    assert.deepEqual(batch.map((b) => [b.headers?.get('Nats-Sequence'), text(b.data), b.headers?.get('Nats-Num-Pending')]), [['1', 'first', '2'], ['2', 'second', '1'], ['', '', '1']]);
    assert.equal(batch[2].headers?.code, 204);
    const lasts = await directBatch(t.nc, 'DG', { multi_last: ['dg.>'] });
    assert.deepEqual(lasts.map((b) => b.headers?.get('Nats-Subject')), ['dg.b', 'dg.a', '']);
    assert.equal(lasts[2].headers?.get('Nats-UpTo-Sequence'), '3');
  });

  it('answers account info with usage and API counters', async () => {
    const before = await t.jsm.getAccountInfo();
    assert.ok(before.streams >= 1);
    assert.equal(before.limits.max_streams, -1);
    assert.ok(before.memory > 0);
    const r = await api(t.nc, '$JS.API.INFO');
    assert.equal(r.type, 'io.nats.jetstream.api.v1.account_info_response');
    const counters = r.api as { total: number; errors: number };
    assert.ok(counters.total > before.api.total);
    assert.ok(counters.errors > 0);
  });

  it('does not answer subjects nats-server does not serve', async () => {
    await assert.rejects(t.nc.request('$JS.API.NOT.A.THING', '', { timeout: 300 }));
    await assert.rejects(t.nc.request('$JS.API.STREAM.INFO', '', { timeout: 300 }));
  });
});
