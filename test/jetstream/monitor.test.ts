/**
 * JetStream in monitoring and events: /jsz and /varz report the real
 * figures, and stream create/update/delete publish nats-server's
 * stream-action advisories.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connectTo, text } from './helpers.js';
import { startJsNatter, type JsServer } from '../helpers/jetstream.js';

async function getJson(url: string): Promise<Record<string, unknown>> {
  const r = await fetch(url);
  assert.equal(r.status, 200);
  return (await r.json()) as Record<string, unknown>;
}

describe('JetStream monitoring and advisories', () => {
  let s: JsServer;
  let nc: NatsConnection;
  let base: string;

  before(async () => {
    s = await startJsNatter({ http_port: -1 });
    nc = await connectTo(s.srv.url);
    base = s.srv.server.monitorURLs[0];
  });

  after(async () => {
    await nc?.close();
    await s?.stop();
  });

  it('publishes stream created, updated and deleted advisories', async () => {
    const sub = nc.subscribe('$JS.EVENT.ADVISORY.STREAM.>', { max: 3 });
    await nc.flush();
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'ADV', subjects: ['adv'], storage: StorageType.Memory });
    await jsm.streams.update('ADV', { max_msgs: 5 });
    await jsm.streams.delete('ADV');
    const got: Array<[string, Record<string, unknown>]> = [];
    for await (const m of sub) got.push([m.subject, JSON.parse(text(m.data)) as Record<string, unknown>]);
    assert.deepEqual(got.map(([subj]) => subj), [
      '$JS.EVENT.ADVISORY.STREAM.CREATED.ADV', '$JS.EVENT.ADVISORY.STREAM.UPDATED.ADV', '$JS.EVENT.ADVISORY.STREAM.DELETED.ADV',
    ]);
    assert.deepEqual(got.map(([, b]) => b.action), ['create', 'modify', 'delete']);
    const first = got[0][1];
    assert.equal(first.type, 'io.nats.jetstream.advisory.v1.stream_action');
    assert.equal(first.stream, 'ADV');
    assert.equal(typeof first.id, 'string');
    assert.match(String(first.timestamp), /Z$/);
    assert.equal((first.client as { acc: string }).acc, '$G');
  });

  it('audits API requests on $JS.EVENT.ADVISORY.API', async () => {
    const sub = nc.subscribe('$JS.EVENT.ADVISORY.API', { max: 1 });
    await nc.flush();
    await nc.request('$JS.API.STREAM.NAMES', '{"subject":"audit"}');
    for await (const m of sub) {
      const e = JSON.parse(text(m.data)) as Record<string, unknown>;
      assert.equal(e.type, 'io.nats.jetstream.advisory.v1.api_audit');
      assert.equal(e.subject, '$JS.API.STREAM.NAMES');
      assert.equal(e.request, '{"subject":"audit"}');
      assert.equal((JSON.parse(String(e.response)) as { type: string }).type, 'io.nats.jetstream.api.v1.stream_names_response');
      assert.equal(e.server, s.srv.server.name);
    }
  });

  it('reports streams, messages and bytes in /jsz and /varz', async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'MON', subjects: ['mon'], storage: StorageType.Memory, max_bytes: 1_000_000 });
    const js = jetstream(nc);
    for (let i = 0; i < 3; i++) await js.publish('mon', 'payload');
    const jsz = await getJson(`${base}/jsz`);
    assert.equal(jsz.disabled, undefined);
    assert.equal(jsz.streams, 1);
    assert.equal(jsz.messages, 3);
    assert.ok((jsz.bytes as number) > 0);
    assert.equal(jsz.memory, jsz.bytes);
    assert.equal(jsz.reserved_memory, 1_000_000);
    assert.equal(jsz.accounts, 1);
    assert.ok((jsz.api as { total: number }).total >= 4);
    assert.equal((jsz.config as { store_dir: string }).store_dir, `${s.storeDir}/jetstream`);
    const detail = await getJson(`${base}/jsz?streams=true&config=true`);
    const acc = (detail.account_details as Array<Record<string, unknown>>)[0];
    assert.equal(acc.name, '$G');
    const sd = (acc.stream_detail as Array<Record<string, unknown>>)[0];
    assert.equal(sd.name, 'MON');
    assert.equal((sd.state as { messages: number }).messages, 3);
    assert.equal((sd.config as { max_bytes: number }).max_bytes, 1_000_000);
    const varz = await getJson(`${base}/varz`);
    const v = varz.jetstream as { config: Record<string, unknown>; stats: Record<string, unknown> };
    assert.equal(v.config.max_memory, (jsz.config as { max_memory: number }).max_memory);
    assert.equal(v.stats.memory, jsz.memory);
    assert.equal(v.stats.accounts, 1);
  });
});
