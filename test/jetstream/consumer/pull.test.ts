/**
 * Pull consumers through @nats-io/jetstream against a consumer set on a
 * fake stream: fetch/next/consume, acks of every kind, redelivery on
 * ack_wait, max_deliver, nak delay, term, backoff and num_pending.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createInbox, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { startNatter, type TestNatter } from '../../helpers/natter.js';
import { waitUntil } from '../../helpers/wait.js';
import { FakeStream, serveConsumerApi, streamConfig } from './fake-stream.js';

const MS = 1_000_000;

describe('pull consumers', () => {
  let srv: TestNatter;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  const streams: FakeStream[] = [];
  let stopApi: () => void;

  function stream(name: string, subjects: string[]): FakeStream {
    const s = new FakeStream(srv.server, streamConfig(name, subjects));
    streams.push(s);
    return s;
  }

  before(async () => {
    srv = await startNatter();
    for (const n of ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I']) stream(n, [`${n.toLowerCase()}.>`]);
    stopApi = serveConsumerApi(srv.server, streams);
    nc = await connect({ servers: srv.url });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc, { checkAPI: false });
  });

  after(async () => {
    await nc.close();
    stopApi();
    for (const s of streams) await s.close();
    await srv.close();
  });

  it('fetch delivers in order with metadata and acks move the ack floor', async () => {
    const s = streams[0];
    for (let i = 1; i <= 5; i++) s.publish(`a.${i}`, `m${i}`);
    await jsm.consumers.add('A', { durable_name: 'd', ack_policy: AckPolicy.Explicit });
    const c = await js.consumers.get('A', 'd');
    const got: JsMsg[] = [];
    for await (const m of await c.fetch({ max_messages: 3, expires: 2000 })) {
      got.push(m);
      if (got.length === 3) break;
    }
    assert.deepEqual(got.map((m) => m.subject), ['a.1', 'a.2', 'a.3']);
    assert.deepEqual(got.map((m) => m.info.streamSequence), [1, 2, 3]);
    assert.deepEqual(got.map((m) => m.info.deliverySequence), [1, 2, 3]);
    assert.deepEqual(got.map((m) => m.info.pending), [4, 3, 2]);
    assert.equal(got[0].string(), 'm1');
    let info = await c.info();
    assert.equal(info.num_ack_pending, 3);
    assert.equal(info.num_pending, 2);
    assert.deepEqual([info.delivered.consumer_seq, info.delivered.stream_seq], [3, 3]);
    assert.deepEqual([info.ack_floor.consumer_seq, info.ack_floor.stream_seq], [0, 0]);
    await got[1].ackAck();
    info = await c.info();
    assert.equal(info.ack_floor.stream_seq, 0, 'floor stays below the unacked first message');
    assert.ok(await got[0].ackAck());
    info = await c.info();
    assert.deepEqual([info.ack_floor.consumer_seq, info.ack_floor.stream_seq], [2, 2]);
    got[2].ack();
    await waitUntil(() => s.consumers.get('d')?.info().numAckPending === 0, 2000, 'last ack');
    info = await c.info();
    assert.deepEqual([info.ack_floor.consumer_seq, info.ack_floor.stream_seq], [3, 3]);
  });

  it('no_wait on an empty consumer gets 404 at once; next() returns null after expires', async () => {
    await jsm.consumers.add('B', { durable_name: 'e', ack_policy: AckPolicy.Explicit });
    const r = await nc.request('$JS.API.CONSUMER.MSG.NEXT.B.e', JSON.stringify({ batch: 10, no_wait: true }), { timeout: 2000 });
    assert.equal(r.headers?.code, 404);
    assert.equal(r.headers?.description, 'No Messages');
    const c = await js.consumers.get('B', 'e');
    const m = await c.next({ expires: 1000 });
    assert.equal(m, null);
    streams[1].publish('b.x', 'late');
    const m2 = await c.next({ expires: 5000 });
    assert.equal(m2?.subject, 'b.x');
    m2?.ack();
  });

  it('consume() receives a stream of messages with explicit acks', async () => {
    const s = streams[2];
    await jsm.consumers.add('C', { durable_name: 'w', ack_policy: AckPolicy.Explicit });
    const c = await js.consumers.get('C', 'w');
    const total = 2000;
    for (let i = 0; i < total / 2; i++) s.publish('c.x', `v${i}`);
    const msgs = await c.consume({ max_messages: 100 });
    let seen = 0;
    const done = (async () => {
      for await (const m of msgs) {
        m.ack();
        if (++seen === total) break;
      }
    })();
    for (let i = total / 2; i < total; i++) s.publish('c.y', `v${i}`);
    await done;
    await waitUntil(() => s.consumers.get('w')?.info().numAckPending === 0, 5000, 'all acked');
    const info = await c.info();
    assert.equal(info.delivered.stream_seq, total);
    assert.equal(info.ack_floor.stream_seq, total);
    assert.equal(info.num_pending, 0);
  });

  it('redelivers after ack_wait, counts deliveries and stops at max_deliver with an advisory', async () => {
    const s = streams[3];
    s.publish('d.1', 'x');
    await jsm.consumers.add('D', { durable_name: 'r', ack_policy: AckPolicy.Explicit, ack_wait: 200 * MS, max_deliver: 2 });
    const c = await js.consumers.get('D', 'r');
    // Taken before the first pull: the server's ack_wait clock starts at its
    // delivery, which a loaded machine may hand to us late, so a clock started
    // on receipt could see the redelivery "early".
    const t0 = Date.now();
    const first = await c.next({ expires: 2000 });
    assert.equal(first?.info.deliveryCount, 1);
    const again = await c.next({ expires: 3000 });
    assert.ok(Date.now() - t0 >= 190, `not before ack_wait (${Date.now() - t0}ms)`);
    assert.equal(again?.info.deliveryCount, 2);
    assert.equal(again?.info.redelivered, true);
    assert.equal(again?.info.streamSequence, 1);
    let info = await c.info();
    assert.equal(info.num_redelivered, 1);
    const none = await c.next({ expires: 1000 });
    assert.equal(none, null, 'max_deliver reached');
    info = await c.info();
    assert.equal(info.num_ack_pending, 0);
    const adv = s.advisories.find((a) => a.subject === '$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.D.r');
    assert.ok(adv);
    assert.equal(adv.body.stream_seq, 1);
    assert.equal(adv.body.deliveries, 2);
  });

  it('nak redelivers at once, nak with delay later, working resets the timer, term ends it', async () => {
    const s = streams[4];
    s.publish('e.1', 'one');
    s.publish('e.2', 'two');
    await jsm.consumers.add('E', { durable_name: 'n', ack_policy: AckPolicy.Explicit, ack_wait: 600 * MS });
    const c = await js.consumers.get('E', 'n');
    const m1 = await c.next({ expires: 2000 });
    assert.equal(m1?.info.streamSequence, 1);
    m1?.nak();
    const m1b = await c.next({ expires: 2000 });
    assert.equal(m1b?.info.streamSequence, 1);
    assert.equal(m1b?.info.deliveryCount, 2);
    const t0 = Date.now();
    m1b?.nak(300);
    const m2 = await c.next({ expires: 2000 });
    assert.equal(m2?.info.streamSequence, 2, 'the delayed one waits');
    m2?.term('bad');
    const m1c = await c.next({ expires: 3000 });
    assert.equal(m1c?.info.streamSequence, 1);
    assert.ok(Date.now() - t0 >= 250, `nak delay honoured (${Date.now() - t0}ms)`);
    // +WPI keeps it from being redelivered while work goes on past ack_wait.
    const beat = setInterval(() => m1c?.working(), 150);
    try {
      assert.equal(await c.next({ expires: 1200 }), null);
    } finally {
      clearInterval(beat);
    }
    assert.ok(await m1c?.ackAck());
    const term = s.advisories.find((a) => a.subject === '$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.E.n');
    assert.equal(term?.body.reason, 'bad');
    assert.equal(term?.body.stream_seq, 2);
    const info = await c.info();
    assert.equal(info.num_ack_pending, 0);
    assert.equal(info.ack_floor.stream_seq, 2);
  });

  it('backoff sets the wait for each redelivery', async () => {
    const s = streams[5];
    s.publish('f.1', 'x');
    await jsm.consumers.add('F', { durable_name: 'b', ack_policy: AckPolicy.Explicit, backoff: [100 * MS, 700 * MS], max_deliver: 4 });
    const c = await js.consumers.get('F', 'b');
    assert.equal((await c.info()).config.ack_wait, 100 * MS);
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await c.next({ expires: 3000 });
      assert.equal(m?.info.deliveryCount, i + 1);
      times.push(Date.now());
    }
    const gap1 = times[1] - times[0];
    const gap2 = times[2] - times[1];
    assert.ok(gap1 < 600, `first backoff short (${gap1})`);
    assert.ok(gap2 >= 600, `second backoff longer (${gap2})`);
  });

  it('ack all acknowledges everything up to the acked message; +NXT acks and asks for more', async () => {
    const s = streams[7];
    for (let i = 1; i <= 6; i++) s.publish('h.x', `m${i}`);
    await jsm.consumers.add('H', { durable_name: 'all', ack_policy: AckPolicy.All });
    const c = await js.consumers.get('H', 'all');
    const got: JsMsg[] = [];
    for await (const m of await c.fetch({ max_messages: 4, expires: 2000 })) got.push(m);
    assert.equal(got.length, 4);
    assert.ok(await got[2].ackAck());
    let info = await c.info();
    assert.deepEqual([info.ack_floor.stream_seq, info.num_ack_pending], [3, 1]);
    // +NXT on the last one: acked, and the next message comes to the ack's reply subject.
    const inbox = createInbox();
    const next = new Promise<string>((resolve) => {
      nc.subscribe(inbox, {
        max: 1,
        callback: (_e, m) => {
          resolve(m.subject + ' ' + m.string());
        },
      });
    });
    await nc.flush();
    got[3].next(inbox, { batch: 1 });
    assert.equal(await next, 'h.x m5');
    info = await c.info();
    assert.deepEqual([info.ack_floor.stream_seq, info.delivered.stream_seq, info.num_ack_pending], [4, 5, 1]);
  });

  it('an update may change the filter; num_pending follows', async () => {
    const s = streams[8];
    s.publish('i.a', '1');
    s.publish('i.b', '2');
    s.publish('i.b', '3');
    await jsm.consumers.add('I', { durable_name: 'f', ack_policy: AckPolicy.Explicit, filter_subject: 'i.a' });
    assert.equal((await jsm.consumers.info('I', 'f')).num_pending, 1);
    const up = await jsm.consumers.update('I', 'f', { filter_subject: 'i.b' });
    assert.equal(up.config.filter_subject, 'i.b');
    assert.equal(up.num_pending, 2);
    const c = await js.consumers.get('I', 'f');
    const m = await c.next({ expires: 2000 });
    assert.equal(m?.subject, 'i.b');
    m?.ack();
  });

  it('filters, deliver policies and num_pending', async () => {
    const s = streams[6];
    for (let i = 0; i < 4; i++) s.publish('g.a', `a${i}`);
    for (let i = 0; i < 3; i++) s.publish('g.b', `b${i}`);
    await jsm.consumers.add('G', { durable_name: 'fa', filter_subject: 'g.a', ack_policy: AckPolicy.None });
    await jsm.consumers.add('G', { durable_name: 'last', deliver_policy: DeliverPolicy.Last, ack_policy: AckPolicy.None });
    await jsm.consumers.add('G', { durable_name: 'new', deliver_policy: DeliverPolicy.New, ack_policy: AckPolicy.None });
    await jsm.consumers.add('G', { durable_name: 'seq', deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: 6, ack_policy: AckPolicy.None });
    await jsm.consumers.add('G', { durable_name: 'lps', deliver_policy: DeliverPolicy.LastPerSubject, filter_subject: 'g.*', ack_policy: AckPolicy.None });
    const pending = async (n: string): Promise<number> => (await jsm.consumers.info('G', n)).num_pending;
    assert.equal(await pending('fa'), 4);
    assert.equal(await pending('last'), 1);
    assert.equal(await pending('new'), 0);
    assert.equal(await pending('seq'), 2);
    assert.equal(await pending('lps'), 2);
    const lps = await js.consumers.get('G', 'lps');
    const seqs: number[] = [];
    for await (const m of await lps.fetch({ max_messages: 2, expires: 2000 })) seqs.push(m.seq);
    assert.deepEqual(seqs, [4, 7]);
    s.publish('g.a', 'more');
    assert.equal(await pending('fa'), 5);
    assert.equal(await pending('new'), 1);
    const fa = await js.consumers.get('G', 'fa');
    const subjects: string[] = [];
    for await (const m of await fa.fetch({ max_messages: 5, expires: 2000 })) subjects.push(m.subject);
    assert.deepEqual(subjects, ['g.a', 'g.a', 'g.a', 'g.a', 'g.a']);
    const info = await fa.info();
    assert.equal(info.num_pending, 0);
    assert.equal(info.ack_floor.stream_seq, 8, 'ack none: the floor follows deliveries');

    // by_start_time: the first message stored at or after the time.
    const t = new Date(Date.now() + 5);
    await new Promise((r) => setTimeout(r, 20));
    s.publish('g.c', 'after');
    const bt = await jsm.consumers.add('G', { durable_name: 'time', deliver_policy: DeliverPolicy.StartTime, opt_start_time: t.toISOString(), ack_policy: AckPolicy.None });
    assert.equal(bt.num_pending, 1);
    const tm = await (await js.consumers.get('G', 'time')).next({ expires: 2000 });
    assert.deepEqual([tm?.subject, tm?.seq], ['g.c', 9]);

    // Several filters at once, and metadata kept in the config.
    const multi = await jsm.consumers.add('G', { durable_name: 'multi', filter_subjects: ['g.b', 'g.c'], ack_policy: AckPolicy.None, metadata: { team: 'blue' } });
    assert.equal(multi.num_pending, 4);
    assert.deepEqual(multi.config.metadata, { team: 'blue' });
    const ms: string[] = [];
    for await (const m of await (await js.consumers.get('G', 'multi')).fetch({ max_messages: 4, expires: 2000 })) ms.push(m.subject);
    assert.deepEqual(ms, ['g.b', 'g.b', 'g.b', 'g.c']);
    const r = await nc.request('$JS.API.CONSUMER.CREATE.G.ovl', JSON.stringify({ stream_name: 'G', config: { name: 'ovl', filter_subjects: ['g.*', 'g.a'] } }));
    assert.equal(r.json<{ error: { err_code: number } }>().error.err_code, 10138);
  });
});
