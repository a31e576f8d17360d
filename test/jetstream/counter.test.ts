/**
 * Distributed counters (ADR-49): `allow_msg_counter` streams, `Nats-Incr`
 * publishes, `{"val":"N"}` bodies, the PubAck's `val`, the refusals of
 * nats-server's errors.json (10168-10173), and sourced aggregation through
 * `Nats-Counter-Sources`, with the official client.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { headers, type MsgHdrs } from '@nats-io/transport-node';
import { connectJetStream, startJsNatter, type JsClients, type JsServer } from '../helpers/jetstream.js';
import { api, apiError } from './helpers.js';
import { waitUntil } from '../helpers/wait.js';

const dec = new TextDecoder();

function hdrs(kv: Record<string, string>): MsgHdrs {
  const h = headers();
  for (const [k, v] of Object.entries(kv)) h.set(k, v);
  return h;
}

describe('distributed counters', () => {
  let srv: JsServer;
  let c: JsClients;

  before(async () => {
    srv = await startJsNatter();
    c = await connectJetStream(srv.srv.url);
    await c.jsm.streams.add({ name: 'CNT', subjects: ['cnt.>'], allow_msg_counter: true, allow_direct: true } as never);
  });

  after(async () => {
    await c.nc.close();
    await srv.stop();
  });

  /** Publishes an increment and returns the raw PubAck. */
  async function incr(subject: string, by: string, extra: Record<string, string> = {}, body = ''): Promise<Record<string, unknown>> {
    const m = await c.nc.request(subject, body, { headers: hdrs({ 'Nats-Incr': by, ...extra }), timeout: 3000 });
    return JSON.parse(dec.decode(m.data)) as Record<string, unknown>;
  }

  it('adds increments and answers with the total', async () => {
    assert.deepEqual(await incr('cnt.hits', '+1'), { stream: 'CNT', seq: 1, val: '1' });
    assert.equal((await incr('cnt.hits', '2')).val, '3');
    assert.equal((await incr('cnt.hits', '-10')).val, '-7');
    assert.equal((await incr('cnt.hits', '0')).val, '-7');
    assert.equal((await incr('cnt.other', '+5')).val, '5');
    // Arbitrary precision.
    assert.equal((await incr('cnt.big', '+99999999999999999999')).val, '99999999999999999999');
    assert.equal((await incr('cnt.big', '+1')).val, '100000000000000000000');
    const last = await c.jsm.streams.getMessage('CNT', { last_by_subj: 'cnt.hits' });
    assert.ok(last !== null);
    assert.equal(dec.decode(last.data), '{"val":"-7"}');
    assert.equal(last.header.get('Nats-Incr'), '0');
    // The official client's PubAck carries the value too.
    const ack = await c.js.publish('cnt.hits', undefined, { headers: hdrs({ 'Nats-Incr': '+8' }) });
    assert.equal((ack as unknown as { val: string }).val, '1');
  });

  it('refuses what nats-server refuses', async () => {
    const err = async (p: Promise<Record<string, unknown>>) => (await p).error as Record<string, unknown>;
    assert.deepEqual(await err(incr('cnt.hits', 'abc')), { code: 400, err_code: 10171, description: 'message counter increment is invalid' });
    assert.deepEqual(await err(incr('cnt.hits', '+1', {}, 'payload')), { code: 400, err_code: 10170, description: 'message counter has payload' });
    assert.equal((await err(incr('cnt.hits', '+1', { 'Nats-Expected-Last-Sequence': '3' }))).err_code, 10171);
    assert.equal((await err(incr('cnt.hits', '+1', { 'Nats-Rollup': 'sub' }))).err_code, 10171);
    const plain = JSON.parse(dec.decode((await c.nc.request('cnt.hits', 'x', { timeout: 3000 })).data)) as Record<string, unknown>;
    assert.deepEqual(plain.error, { code: 400, err_code: 10169, description: 'message counter increment is missing' });

    await c.jsm.streams.add({ name: 'PLAIN', subjects: ['plain.>'] });
    assert.deepEqual(await err(incr('plain.x', '+1')), { code: 400, err_code: 10168, description: 'message counters is disabled' });
    assert.equal((await err(incr('plain.x', '1.5'))).err_code, 10171);
    // The stream's totals were not touched by any of those.
    assert.equal((await incr('cnt.hits', '+1')).val, '2');
  });

  it('refuses counter configurations nats-server refuses', async () => {
    const create = async (cfg: Record<string, unknown>) => apiError(await api(c.nc, `$JS.API.STREAM.CREATE.${cfg.name as string}`, cfg));
    assert.equal((await create({ name: 'X1', subjects: ['x1'], allow_msg_counter: true, discard: 'new' }))?.description, 'counter stream cannot use discard new');
    assert.equal((await create({ name: 'X2', subjects: ['x2'], allow_msg_counter: true, allow_msg_ttl: true }))?.description, 'counter stream cannot use message TTLs');
    assert.equal((await create({ name: 'X3', subjects: ['x3'], allow_msg_counter: true, retention: 'workqueue' }))?.description, 'counter stream can only use limits retention');
    assert.deepEqual(await create({ name: 'X4', allow_msg_counter: true, mirror: { name: 'CNT' } }), {
      code: 400, err_code: 10173, description: 'stream mirrors can not also calculate counters',
    });
    const upd = apiError(await api(c.nc, '$JS.API.STREAM.UPDATE.CNT', { name: 'CNT', subjects: ['cnt.>'], allow_direct: true }));
    assert.equal(upd?.description, 'stream configuration update can not change message counter setting');
    const info = await c.jsm.streams.info('CNT');
    assert.equal((info.config as unknown as Record<string, unknown>).allow_msg_counter, true);
  });

  it('aggregates sourced counters by the change of each origin', async () => {
    await c.jsm.streams.add({ name: 'EU', subjects: ['eu.hits'], allow_msg_counter: true } as never);
    await c.jsm.streams.add({ name: 'US', subjects: ['us.hits'], allow_msg_counter: true } as never);
    await c.jsm.streams.add({
      name: 'ALL', allow_msg_counter: true,
      sources: [
        { name: 'EU', subject_transforms: [{ src: 'eu.hits', dest: 'all.hits' }] },
        { name: 'US', subject_transforms: [{ src: 'us.hits', dest: 'all.hits' }] },
      ],
    } as never);
    await incr('eu.hits', '+5');
    await incr('us.hits', '+3');
    await incr('eu.hits', '+2');
    const total = async (): Promise<string> => {
      const m = await c.jsm.streams.getMessage('ALL', { last_by_subj: 'all.hits' }).catch(() => null);
      return m === null ? '' : (JSON.parse(dec.decode(m.data)) as { val: string }).val;
    };
    await waitUntil(async () => (await total()) === '10', 5000, 'the aggregate to reach 10');
    const m = await c.jsm.streams.getMessage('ALL', { last_by_subj: 'all.hits' });
    assert.ok(m !== null);
    // The last sourced message's increment is its origin's change, and the origins' totals are kept.
    assert.equal(m.header.get('Nats-Incr'), '2');
    const sources = JSON.parse(m.header.get('Nats-Counter-Sources')) as Record<string, Record<string, string>>;
    assert.deepEqual(Object.values(sources).map((s) => Object.values(s)[0]).sort(), ['3', '7']);
  });
});
