/**
 * The publish path: PubAck bytes, Nats-Msg-Id dedupe, the expected-*
 * headers, rollups, size and discard-new limits, no_ack, republish, subject
 * transforms and retention, through @nats-io/jetstream and raw sockets.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { headers } from '@nats-io/transport-node';
import { StorageType, DiscardPolicy, RetentionPolicy } from '@nats-io/jetstream';
import { jetStreamSuite } from '../helpers/jetstream.js';
import { api, text } from './helpers.js';
import { RawSession } from '../helpers/session.js';

const mem = StorageType.Memory;

describe('JetStream publish', () => {
  const t = jetStreamSuite();

  it('acks with exact bytes, and errors in nats-server shape', async () => {
    await t.jsm.streams.add({ name: 'RAW', subjects: ['raw.>'], storage: mem, max_msg_size: 64 });
    const raw = await RawSession.connect(t.server.srv.port);
    try {
      raw.send('CONNECT {"verbose":false,"headers":true,"protocol":1}\r\nSUB _R.> 1\r\nPING\r\n');
      await raw.waitFor(() => raw.text().includes('PONG'), 2000, 'PONG');
      raw.send('PUB raw.a _R.1 5\r\nhello\r\n');
      const hdr = 'NATS/1.0\r\nNats-Expected-Stream: NOT\r\n\r\n';
      raw.send(`HPUB raw.a _R.2 ${hdr.length} ${hdr.length + 1}\r\n${hdr}x\r\n`);
      raw.send(`PUB raw.a _R.3 70\r\n${'y'.repeat(70)}\r\n`);
      const bodies: Array<[string, string]> = [
        ['_R.1', '{"stream":"RAW", "seq":1}'],
        ['_R.2', '{"error":{"code":400,"err_code":10060,"description":"expected stream does not match"},"stream":"RAW","seq":0}'],
        ['_R.3', '{"error":{"code":400,"err_code":10054,"description":"message size exceeds maximum allowed"},"stream":"RAW","seq":0}'],
      ];
      // nats-server 2.9.10 sends these with an empty reply field (two spaces) and a hand-written PubAck.
      const want = bodies.map(([reply, body]) => `MSG ${reply} 1  ${body.length}\r\n${body}\r\n`);
      await raw.waitFor(() => want.every((w) => raw.text().includes(w)), 3000, 'the three replies');
    } finally {
      raw.close();
    }
  });

  it('drops duplicates within the window and says so', async () => {
    await t.jsm.streams.add({ name: 'DUP', subjects: ['dup'], storage: mem });
    const a = await t.js.publish('dup', 'one', { msgID: 'id-1' });
    const b = await t.js.publish('dup', 'again', { msgID: 'id-1' });
    const c = await t.js.publish('dup', 'two', { msgID: 'id-2' });
    assert.equal(a.duplicate, false);
    assert.equal(b.duplicate, true);
    assert.equal(b.seq, a.seq);
    assert.equal(c.seq, a.seq + 1);
    assert.equal((await t.jsm.streams.info('DUP')).state.messages, 2);
  });

  it('checks the expected-stream, last-sequence, last-subject-sequence and last-msg-id headers', async () => {
    await t.jsm.streams.add({ name: 'EXP', subjects: ['exp.>'], storage: mem });
    const a = await t.js.publish('exp.a', '1', { msgID: 'm1' });
    await t.js.publish('exp.b', '2', { expect: { streamName: 'EXP', lastSequence: a.seq } });
    await assert.rejects(t.js.publish('exp.b', '3', { expect: { streamName: 'OTHER' } }), /expected stream does not match/);
    await assert.rejects(t.js.publish('exp.b', '3', { expect: { lastSequence: 1 } }), /wrong last sequence: 2/);
    await t.js.publish('exp.a', '3', { expect: { lastSubjectSequence: 1 } });
    await assert.rejects(t.js.publish('exp.a', '4', { expect: { lastSubjectSequence: 1 } }), /wrong last sequence: 3/);
    await assert.rejects(t.js.publish('exp.c', '4', { expect: { lastSubjectSequence: 5 } }), /wrong last sequence: 0/);
    await t.js.publish('exp.c', '4', { msgID: 'm4' });
    await assert.rejects(t.js.publish('exp.c', '5', { expect: { lastMsgID: 'm1' } }), /wrong last msg ID: m4/);
    await t.js.publish('exp.c', '5', { expect: { lastMsgID: 'm4' } });
  });

  it('rolls up a subject or the whole stream when allowed', async () => {
    await t.jsm.streams.add({ name: 'ROLL', subjects: ['roll.>'], storage: mem, allow_rollup_hdrs: true });
    for (const subj of ['roll.a', 'roll.a', 'roll.b']) await t.js.publish(subj, 'x');
    const sub = headers();
    sub.set('Nats-Rollup', 'sub');
    await t.js.publish('roll.a', 'y', { headers: sub });
    let si = await t.jsm.streams.info('ROLL', { subjects_filter: '>' });
    assert.deepEqual(si.state.subjects, { 'roll.a': 1, 'roll.b': 1 });
    const all = headers();
    all.set('Nats-Rollup', 'all');
    await t.js.publish('roll.c', 'z', { headers: all });
    si = await t.jsm.streams.info('ROLL');
    assert.equal(si.state.messages, 1);
    assert.equal(si.state.first_seq, 5);
    await t.jsm.streams.add({ name: 'NOROLL', subjects: ['noroll'], storage: mem });
    await assert.rejects(t.js.publish('noroll', 'x', { headers: all }), /rollup not permitted/);
  });

  it('refuses new messages past the limits with discard new', async () => {
    await t.jsm.streams.add({ name: 'FULL', subjects: ['full'], storage: mem, max_msgs: 2, discard: DiscardPolicy.New });
    await t.js.publish('full', '1');
    await t.js.publish('full', '2');
    await assert.rejects(t.js.publish('full', '3'), /maximum messages exceeded/);
    await t.jsm.streams.add({ name: 'OLD', subjects: ['old'], storage: mem, max_msgs: 2 });
    for (let i = 0; i < 5; i++) await t.js.publish('old', String(i));
    const si = await t.jsm.streams.info('OLD');
    assert.equal(si.state.messages, 2);
    assert.equal(si.state.first_seq, 4);
  });

  it('sends no ack for no_ack streams', async () => {
    await t.jsm.streams.add({ name: 'NOACK', subjects: ['noack'], storage: mem, no_ack: true });
    await assert.rejects(t.nc.request('noack', 'x', { timeout: 300 }));
    assert.equal((await t.jsm.streams.info('NOACK')).state.messages, 1);
  });

  it('republishes stored messages with the stream headers', async () => {
    await t.jsm.streams.add({ name: 'REP', subjects: ['rep.>'], storage: mem, republish: { src: 'rep.>', dest: 'out.>' } });
    const got = t.nc.subscribe('out.>', { max: 2 });
    await t.nc.flush();
    await t.js.publish('rep.a', 'p1');
    await t.js.publish('rep.a', 'p2');
    const msgs = [];
    for await (const m of got) msgs.push(m);
    assert.equal(msgs[0].subject, 'out.a');
    assert.equal(text(msgs[1].data), 'p2');
    assert.equal(msgs[1].headers?.get('Nats-Stream'), 'REP');
    assert.equal(msgs[1].headers?.get('Nats-Subject'), 'rep.a');
    assert.equal(msgs[1].headers?.get('Nats-Sequence'), '2');
    assert.equal(msgs[1].headers?.get('Nats-Last-Sequence'), '1');
  });

  it('numbers from first_seq', async () => {
    const si = await t.jsm.streams.add({ name: 'FIRST', subjects: ['first'], storage: mem, first_seq: 100 });
    assert.equal(si.config.first_seq, 100);
    assert.equal((await t.js.publish('first', 'x')).seq, 100);
  });

  it('stores under the transformed subject', async () => {
    await t.jsm.streams.add({ name: 'TR', subjects: ['in.*'], storage: mem, subject_transform: { src: 'in.*', dest: 'stored.$1' } });
    await t.js.publish('in.x', 'v');
    const m = await t.jsm.streams.getMessage('TR', { seq: 1 });
    assert.equal(m?.subject, 'stored.x');
  });

  it('interest retention keeps nothing without consumers but uses the sequence', async () => {
    await t.jsm.streams.add({ name: 'INT', subjects: ['int'], storage: mem, retention: RetentionPolicy.Interest });
    const a = await t.js.publish('int', 'x');
    const b = await t.js.publish('int', 'y');
    assert.equal(b.seq, a.seq + 1);
    const si = await t.jsm.streams.info('INT');
    assert.equal(si.state.messages, 0);
    assert.equal(si.state.last_seq, 2);
  });

  it('acks every message of an asynchronous burst, in order', async () => {
    await t.jsm.streams.add({ name: 'BURST', subjects: ['burst'], storage: mem });
    const acks = await Promise.all(Array.from({ length: 500 }, (_, i) => t.js.publish('burst', String(i))));
    assert.deepEqual(acks.map((a) => a.seq), Array.from({ length: 500 }, (_, i) => i + 1));
    const r = await api(t.nc, '$JS.API.STREAM.INFO.BURST');
    assert.equal((r.state as { messages: number }).messages, 500);
  });
});
