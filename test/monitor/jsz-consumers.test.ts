/**
 * /jsz?consumers=true against nats-server 2.9.10: the same stream and
 * consumers (a pull consumer with one message delivered and acknowledged,
 * a filtered push consumer) on both, then `consumer_detail` compared field
 * by field, in order, with and without `config=true`. Time stamps differ
 * between runs and are compared by presence only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { startNatsServer } from '../helpers/nats-server.js';
import { freePort } from '../helpers/ports.js';
import { startMonitored } from './helpers.js';

const TIMES = new Set(['created', 'last_active']);

async function setUp(url: string): Promise<void> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'S', subjects: ['s.>'] });
    const js = jetstream(nc);
    for (let i = 0; i < 3; i++) await js.publish('s.a', 'x');
    await jsm.consumers.add('S', { durable_name: 'D', ack_policy: AckPolicy.Explicit });
    await jsm.consumers.add('S', { durable_name: 'P', ack_policy: AckPolicy.Explicit, deliver_subject: 'dlv', filter_subject: 's.a' });
    const m = await (await js.consumers.get('S', 'D')).next({ expires: 5000 });
    assert.ok(m !== null);
    await m.ackAck();
  } finally {
    await nc.close();
  }
}

/** The consumer_detail of the one stream, as parsed JSON. */
async function consumerDetail(base: string, query: string): Promise<Array<Record<string, unknown>>> {
  const jsz = (await (await fetch(`${base}/jsz?${query}`)).json()) as { account_details?: Array<{ stream_detail?: Array<{ consumer_detail?: Array<Record<string, unknown>> }> }> };
  return jsz.account_details?.[0]?.stream_detail?.[0]?.consumer_detail ?? [];
}

/** Keys in order at every depth; values too, except time stamps (present or not). */
function comparable(v: unknown, key = ''): unknown {
  if (TIMES.has(key)) return typeof v === 'string' && v !== '' ? '<time>' : v;
  if (Array.isArray(v)) return v.map((e) => comparable(e));
  if (v !== null && typeof v === 'object') return Object.entries(v).map(([k, e]) => [k, comparable(e, k)]);
  return v;
}

test('/jsz consumer_detail as nats-server 2.9.10 returns it', async () => {
  const dirs = [mkdtempSync(join(tmpdir(), 'natter-jsz-ref-')), mkdtempSync(join(tmpdir(), 'natter-jsz-'))];
  const mport = await freePort();
  const ref = await startNatsServer({ args: ['-js', '-sd', dirs[0], '-m', String(mport)] });
  const natter = await startMonitored({ jetstream: { store_dir: dirs[1] } });
  try {
    await setUp(ref.url);
    await setUp(natter.srv.url);
    for (const query of ['consumers=true', 'consumers=true&config=true']) {
      const expected = await consumerDetail(`http://127.0.0.1:${mport}`, query);
      assert.equal(expected.length, 2, 'nats-server lists both consumers');
      assert.deepEqual(comparable(await consumerDetail(natter.base, query)), comparable(expected), query);
    }
    assert.deepEqual(await consumerDetail(natter.base, 'streams=true'), [], 'no consumer_detail unless asked for');
  } finally {
    await Promise.all([ref.stop(), natter.close()]);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});
