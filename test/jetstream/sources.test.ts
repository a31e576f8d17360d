/**
 * Mirrors and sources between streams of one server: catch-up, live
 * following, filters and transforms, origin sequences kept by mirrors,
 * stream-info source reports, and sourcing that resumes after a restart.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { type JetStreamManager, StorageType } from '@nats-io/jetstream';
import { connectJetStream, jetStreamSuite, removeDir, startJsNatter, tempStoreDir } from '../helpers/jetstream.js';

const mem = StorageType.Memory;

async function waitMessages(jsm: JetStreamManager, stream: string, n: number): Promise<void> {
  let last = -1;
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    last = (await jsm.streams.info(stream)).state.messages;
    if (last === n) return;
    await new Promise((r) => setImmediate(r));
  }
  assert.fail(`${stream} has ${last} messages, expected ${n}`);
}

describe('mirrors and sources', () => {
  const t = jetStreamSuite();

  it('a mirror copies what exists and follows new messages with the origin sequences', async () => {
    await t.jsm.streams.add({ name: 'ORIG', subjects: ['orig.>'], storage: mem });
    for (let i = 0; i < 5; i++) await t.js.publish(`orig.${i}`, `v${i}`);
    await t.jsm.streams.purge('ORIG', { seq: 3 });
    const si = await t.jsm.streams.add({ name: 'MIR', storage: mem, mirror: { name: 'ORIG' } });
    assert.equal(si.config.mirror?.name, 'ORIG');
    await waitMessages(t.jsm, 'MIR', 3);
    await t.js.publish('orig.new', 'live');
    await waitMessages(t.jsm, 'MIR', 4);
    const info = await t.jsm.streams.info('MIR');
    assert.equal(info.state.first_seq, 3);
    assert.equal(info.state.last_seq, 6);
    assert.equal(info.mirror?.name, 'ORIG');
    assert.equal(info.mirror?.lag, 0);
    const m = await t.jsm.streams.getMessage('MIR', { seq: 6 });
    assert.equal(m?.subject, 'orig.new');
    assert.equal(m?.string(), 'live');
  });

  it('sources merge several streams, filtered and transformed', async () => {
    await t.jsm.streams.add({ name: 'EU', subjects: ['eu.>'], storage: mem });
    await t.jsm.streams.add({ name: 'US', subjects: ['us.>'], storage: mem });
    await t.js.publish('eu.order', 'e1');
    await t.js.publish('us.order', 'u1');
    await t.js.publish('us.refund', 'u2');
    await t.jsm.streams.add({
      name: 'ALL', storage: mem,
      sources: [{ name: 'EU' }, { name: 'US', subject_transforms: [{ src: 'us.order', dest: 'all.us.order' }] }],
    });
    await waitMessages(t.jsm, 'ALL', 2);
    await t.js.publish('eu.order', 'e2');
    await t.js.publish('us.order', 'u3');
    await waitMessages(t.jsm, 'ALL', 4);
    const info = await t.jsm.streams.info('ALL', { subjects_filter: '>' });
    assert.deepEqual(info.state.subjects, { 'eu.order': 2, 'all.us.order': 2 });
    assert.deepEqual(info.sources?.map((x) => x.name).sort(), ['EU', 'US']);
    const m = await t.jsm.streams.getMessage('ALL', { last_by_subj: 'all.us.order' });
    assert.equal(m?.string(), 'u3');
    assert.match(m?.header.get('Nats-Stream-Source') ?? '', /^US/);
  });

  it('refuses mirrors with subjects and source cycles', async () => {
    await assert.rejects(t.jsm.streams.add({ name: 'BAD', storage: mem, subjects: ['x'], mirror: { name: 'ORIG' } }), /stream mirrors can not contain subjects/);
    await t.jsm.streams.add({ name: 'CYA', subjects: ['cya'], storage: mem });
    await t.jsm.streams.add({ name: 'CYB', subjects: ['cyb'], storage: mem, sources: [{ name: 'CYA' }] });
    await assert.rejects(t.jsm.streams.update('CYA', { sources: [{ name: 'CYB' }] }), /detected cycle/);
  });
});

describe('sources across a restart', () => {
  const dir = tempStoreDir();
  after(() => removeDir(dir));

  it('resumes where it left off without copying twice', async () => {
    let s = await startJsNatter({}, dir);
    let { nc, jsm, js } = await connectJetStream(s.srv.url);
    await jsm.streams.add({ name: 'SRC', subjects: ['src.>'] });
    await jsm.streams.add({ name: 'AGG', sources: [{ name: 'SRC' }] });
    for (let i = 0; i < 3; i++) await js.publish('src.a', String(i));
    await waitMessages(jsm, 'AGG', 3);
    await nc.close();
    await s.stop(true);
    s = await startJsNatter({}, dir);
    ({ nc, jsm, js } = await connectJetStream(s.srv.url));
    try {
      await js.publish('src.a', '3');
      await waitMessages(jsm, 'AGG', 4);
      // A re-copy would have happened at start-up, before the new message: the new one is fourth.
      const last = await jsm.streams.getMessage('AGG', { seq: 4 });
      assert.equal(last?.string(), '3');
      assert.equal((await jsm.streams.info('AGG')).state.last_seq, 4);
    } finally {
      await nc.close();
      await s.stop(true);
    }
  });
});
