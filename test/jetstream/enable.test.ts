/**
 * Turning JetStream on: the config block (with file:line:col errors), INFO,
 * which accounts get it, per-account and server-wide limits, and the
 * refusals accounts without JetStream get.
 */
import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { optionsFromConfigText } from '../../src/config/options-from-config.js';
import { ConfigError } from '../../src/config/errors.js';
import { startNatter } from '../helpers/natter.js';
import { RawSession } from '../helpers/session.js';
import { waitUntil } from '../helpers/wait.js';
import { connectTo, api, apiError } from './helpers.js';
import { startJsNatter, tempStoreDir, removeDir, type JsServer } from '../helpers/jetstream.js';

const mem = StorageType.Memory;

function configProblems(text: string): string[] {
  try {
    optionsFromConfigText(text, 'js.conf');
  } catch (e) {
    if (e instanceof ConfigError) return e.message.split('\n');
    throw e;
  }
  return [];
}

describe('JetStream configuration', () => {
  it('accepts nats-server keys and reports bad values with their position', () => {
    const ok = optionsFromConfigText('jetstream {\n  store_dir: "/x"\n  max_mem: 1G\n  max_file_store: "10GB"\n  sync_interval: always\n  domain: hub\n}\n', 'js.conf');
    assert.deepEqual(ok.warnings, []);
    assert.deepEqual(ok.options.jetstream, { store_dir: '/x', max_mem: 1_000_000_000, max_file_store: '10GB', sync_interval: 'always', domain: 'hub' });
    assert.deepEqual(configProblems('jetstream {\n  max_mem: "lots"\n  bogus: 1\n  strict: "yes"\n  sync: "fast"\n}\n'), [
      "js.conf:2:12: max_mem_store should be a number or a valid size, got 'lots'",
      'js.conf:3:3: unknown field "bogus"',
      "js.conf:4:11: Expected 'true' or 'false' for bool value, got 'yes'",
      'js.conf:5:9: error parsing sync: time: invalid duration "fast"',
    ]);
    assert.deepEqual(configProblems('accounts {\n  A: { jetstream: { max_streams: "x", max_bytes: 3 } }\n}\n'), [
      'js.conf:2:34: Expected a parseable size for "max_streams", got x',
      'js.conf:2:50: Expected a parseable bool for "max_bytes", got 3',
    ]);
  });

  it('announces jetstream in INFO only when enabled', async () => {
    const dir = tempStoreDir();
    const on = await startNatter({ jetstream: { store_dir: dir } });
    const off = await startNatter();
    try {
      const a = await RawSession.connect(on.port);
      const b = await RawSession.connect(off.port);
      assert.equal(a.info.jetstream, true);
      assert.equal(b.info.jetstream, undefined);
      a.close();
      b.close();
      const nc = await connectTo(off.url);
      await assert.rejects(nc.request('$JS.API.INFO', '', { timeout: 500 }));
      await nc.close();
    } finally {
      await on.close();
      await off.close();
      removeDir(dir);
    }
  });
});

describe('JetStream domain', () => {
  it('serves $JS.<domain>.API and names the domain in acks and account info', async () => {
    const s = await startJsNatter({}, tempStoreDir(), { domain: 'hub' });
    const nc = await connectTo(s.srv.url);
    try {
      const viaDomain = await api(nc, '$JS.hub.API.STREAM.CREATE.D', { name: 'D', storage: 'memory' });
      assert.equal(apiError(viaDomain), undefined);
      assert.equal(viaDomain.domain, 'hub');
      const ack = await nc.request('D', 'x');
      assert.deepEqual(JSON.parse(new TextDecoder().decode(ack.data)), { stream: 'D', domain: 'hub', seq: 1 });
      const info = await jetstreamManager(nc, { domain: 'hub' }).then((m) => m.getAccountInfo());
      assert.equal(info.domain, 'hub');
      assert.equal(info.streams, 1);
      const raw = await RawSession.connect(s.srv.port);
      assert.equal(raw.info.domain, 'hub');
      raw.close();
    } finally {
      await nc.close();
      await s.stop();
    }
  });
});

describe('JetStream accounts and limits', () => {
  let s: JsServer;
  before(async () => {
    s = await startJsNatter({
      accounts: {
        A: { jetstream: 'enabled', users: [{ user: 'a', password: 'p' }] },
        B: { users: [{ user: 'b', password: 'p' }] },
        C: { jetstream: { max_mem: 4096, max_file: 100_000, max_streams: 2, max_consumers: 3 }, users: [{ user: 'c', password: 'p' }] },
      },
    }, tempStoreDir(), { max_memory_store: 50_000 });
  });
  after(async () => {
    await s?.stop();
  });

  it('refuses every request in accounts without JetStream', async () => {
    const nc = await connectTo(s.srv.url, { user: 'b', pass: 'p' });
    try {
      const info = await api(nc, '$JS.API.INFO');
      assert.deepEqual(info, { type: 'io.nats.jetstream.api.v1.account_info_response', error: { code: 503, err_code: 10039, description: 'JetStream not enabled for account' } });
      const names = await api(nc, '$JS.API.STREAM.NAMES');
      assert.deepEqual(names, {
        type: 'io.nats.jetstream.api.v1.stream_names_response',
        error: { code: 503, err_code: 10039, description: 'JetStream not enabled for account' },
        total: 0, offset: 0, limit: 0, streams: null,
      });
      // The refusals carry the fields nats-server 2.9.10 puts next to them.
      const refused = { code: 503, err_code: 10039, description: 'JetStream not enabled for account' };
      assert.deepEqual(await api(nc, '$JS.API.STREAM.LIST'), { type: 'io.nats.jetstream.api.v1.stream_list_response', error: refused, total: 0, offset: 0, limit: 0, streams: [] });
      assert.deepEqual(await api(nc, '$JS.API.STREAM.PURGE.S'), { type: 'io.nats.jetstream.api.v1.stream_purge_response', error: refused, purged: 0 });
      assert.deepEqual(await api(nc, '$JS.API.CONSUMER.NAMES.S'), { type: 'io.nats.jetstream.api.v1.consumer_names_response', error: refused, total: 0, offset: 0, limit: 0, consumers: [] });
      assert.deepEqual(await api(nc, '$JS.API.CONSUMER.DURABLE.CREATE.S.d', {}), { type: 'io.nats.jetstream.api.v1.consumer_create_response', error: refused });
      await assert.rejects(nc.request('$JS.API.DIRECT.GET.S', '{"seq":1}', { timeout: 300 }));
    } finally {
      await nc.close();
    }
  });

  it('keeps accounts apart', async () => {
    const a = await connectTo(s.srv.url, { user: 'a', pass: 'p' });
    const c = await connectTo(s.srv.url, { user: 'c', pass: 'p' });
    try {
      await (await jetstreamManager(a)).streams.add({ name: 'SAME', subjects: ['same'], storage: mem });
      await (await jetstreamManager(c)).streams.add({ name: 'SAME', subjects: ['same'], storage: mem });
      await jetstream(a).publish('same', 'from a');
      const ci = await (await jetstreamManager(c)).streams.info('SAME');
      assert.equal(ci.state.messages, 0);
      await (await jetstreamManager(c)).streams.delete('SAME');
    } finally {
      await a.close();
      await c.close();
    }
  });

  it('applies the account limits', async () => {
    const nc = await connectTo(s.srv.url, { user: 'c', pass: 'p' });
    try {
      const jsm = await jetstreamManager(nc);
      const ai = await jsm.getAccountInfo();
      assert.deepEqual(ai.limits, {
        max_memory: 4096, max_storage: 100_000, max_streams: 2, max_consumers: 3, max_ack_pending: -1,
        memory_max_stream_bytes: -1, storage_max_stream_bytes: -1, max_bytes_required: false,
      });
      const big = await api(nc, '$JS.API.STREAM.CREATE.BIG', { name: 'BIG', storage: 'memory', max_bytes: 8192 });
      assert.deepEqual(apiError(big), { code: 500, err_code: 10028, description: 'insufficient memory resources available' });
      await jsm.streams.add({ name: 'C1', subjects: ['c1'], storage: mem });
      await jsm.streams.add({ name: 'C2', subjects: ['c2'], storage: mem });
      const third = await api(nc, '$JS.API.STREAM.CREATE.C3', { name: 'C3', storage: 'memory' });
      assert.deepEqual(apiError(third), { code: 400, err_code: 10027, description: 'maximum number of streams reached' });
      const js = jetstream(nc);
      const payload = new Uint8Array(1000);
      for (let i = 0; i < 4; i++) await js.publish('c1', payload);
      await assert.rejects(js.publish('c1', payload), /resource limits exceeded for account/);
      const after = await jsm.getAccountInfo();
      assert.ok(after.memory <= 4096, `memory ${after.memory}`);
      assert.equal(after.streams, 2);
    } finally {
      await nc.close();
    }
  });

  it('applies the server-wide max_memory_store', async () => {
    const nc = await connectTo(s.srv.url, { user: 'a', pass: 'p' });
    try {
      const big = await api(nc, '$JS.API.STREAM.CREATE.HUGE', { name: 'HUGE', storage: 'memory', max_bytes: 60_000 });
      assert.deepEqual(apiError(big), { code: 500, err_code: 10028, description: 'insufficient memory resources available' });
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'FILL', subjects: ['fill'], storage: mem });
      const js = jetstream(nc);
      const payload = new Uint8Array(10_000);
      let refused: unknown = null;
      for (let i = 0; i < 8 && refused === null; i++) {
        try {
          await js.publish('fill', payload);
        } catch (e) {
          refused = e;
        }
      }
      assert.match(String(refused), /insufficient resources/);
      const si = await jsm.streams.info('FILL');
      // As in nats-server, a message is refused once usage is past the limit: the last accepted one may cross it.
      assert.ok(si.state.bytes > 40_000 && si.state.bytes < 50_000 + 10_100, `bytes ${si.state.bytes}`);
    } finally {
      await nc.close();
    }
  });
});

describe('JetStream and configuration reload', () => {
  it('enables accounts that gain JetStream and applies new limits', async () => {
    const accounts = (bJs: unknown, aStreams: number): Record<string, unknown> => ({
      A: { jetstream: { max_streams: aStreams }, users: [{ user: 'a', password: 'p' }] },
      B: { ...(bJs === undefined ? {} : { jetstream: bJs }), users: [{ user: 'b', password: 'p' }] },
      N: { users: [{ user: 'n', password: 'p' }] },
    });
    const s = await startJsNatter({ accounts: accounts(undefined, 1) });
    const b = await connectTo(s.srv.url, { user: 'b', pass: 'p' });
    const a = await connectTo(s.srv.url, { user: 'a', pass: 'p' });
    try {
      assert.equal(apiError(await api(b, '$JS.API.INFO'))?.err_code, 10039);
      assert.equal((await api(a, '$JS.API.INFO') as { limits: { max_streams: number } }).limits.max_streams, 1);
      s.srv.server.reload({ ...s.srv.server.options, accounts: accounts('enabled', 5) });
      await waitUntil(() => s.srv.server.jetstream?.accounts.has('B') === true, 2000, 'account B enabled');
      const created = await api(b, '$JS.API.STREAM.CREATE.BS', { name: 'BS', storage: 'memory' });
      assert.equal(apiError(created), undefined);
      assert.equal((await api(a, '$JS.API.INFO') as { limits: { max_streams: number } }).limits.max_streams, 5);
    } finally {
      await a.close();
      await b.close();
      await s.stop();
    }
  });
});
