/**
 * Restart recovery with the file store: streams come back from
 * `<store_dir>/jetstream/<account>/streams/<name>/` with their config,
 * messages, sequence numbering and duplicate window; memory streams do not
 * (as in nats-server); deleted streams leave nothing on disk.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connectTo, api, apiError } from './helpers.js';
import { startJsNatter, tempStoreDir, removeDir } from '../helpers/jetstream.js';

describe('JetStream restart recovery', () => {
  const dir = tempStoreDir();
  after(() => removeDir(dir));

  it('recovers file streams with their messages, config and dedupe state', async () => {
    let s = await startJsNatter({}, dir);
    let nc = await connectTo(s.srv.url);
    let jsm = await jetstreamManager(nc);
    let js = jetstream(nc);
    await jsm.streams.add({ name: 'DISK', subjects: ['disk.>'], max_msgs_per_subject: 3, description: 'kept' });
    await jsm.streams.add({ name: 'RAM', subjects: ['ram'], storage: StorageType.Memory });
    for (let i = 0; i < 10; i++) await js.publish(`disk.${i % 2}`, `m${i}`, { msgID: `id-${i}` });
    await js.publish('ram', 'volatile');
    await jsm.streams.add({ name: 'TEMP', subjects: ['temp'] });
    await jsm.streams.delete('TEMP');
    const before = await jsm.streams.info('DISK');
    await nc.close();
    await s.stop(true);

    const meta = join(dir, 'jetstream', '$G', 'streams', 'DISK', 'meta.json');
    assert.ok(existsSync(meta));
    assert.equal((JSON.parse(readFileSync(meta, 'utf8')) as { config: { name: string } }).config.name, 'DISK');
    assert.equal(existsSync(join(dir, 'jetstream', '$G', 'streams', 'TEMP')), false);

    s = await startJsNatter({}, dir);
    nc = await connectTo(s.srv.url);
    jsm = await jetstreamManager(nc);
    js = jetstream(nc);
    try {
      const after = await jsm.streams.info('DISK');
      assert.deepEqual(after.config, before.config);
      assert.equal(after.created, before.created);
      assert.equal(after.state.messages, 6);
      assert.equal(after.state.first_seq, before.state.first_seq);
      assert.equal(after.state.last_seq, 10);
      assert.equal(after.state.last_ts, before.state.last_ts);
      const last = await jsm.streams.getMessage('DISK', { last_by_subj: 'disk.1' });
      assert.equal(last?.string(), 'm9');
      // The duplicate window survived the restart.
      const dup = await js.publish('disk.0', 'again', { msgID: 'id-8' });
      assert.equal(dup.duplicate, true);
      assert.equal(dup.seq, 9);
      const next = await js.publish('disk.0', 'new');
      assert.equal(next.seq, 11);
      const ram = await api(nc, '$JS.API.STREAM.INFO.RAM');
      assert.equal(apiError(ram)?.err_code, 10059);
      assert.deepEqual(await jsm.streams.names().next(), ['DISK']);
    } finally {
      await nc.close();
      await s.stop(true);
    }
  });
});
