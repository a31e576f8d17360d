/**
 * Push consumers (deliver_subject with a plain subscription), flow control,
 * idle heartbeats, push_bound, headers_only, replay original and the
 * inactive threshold, against a fake stream.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, headers, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, ReplayPolicy, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { startNatter, type TestNatter } from '../../helpers/natter.js';
import { waitUntil } from '../../helpers/wait.js';
import { FakeStream, serveConsumerApi, streamConfig } from './fake-stream.js';

const MS = 1_000_000;

describe('push and ordered consumers', () => {
  let srv: TestNatter;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const streams: FakeStream[] = [];
  let stopApi: () => void;

  before(async () => {
    srv = await startNatter();
    for (const n of ['P', 'Q', 'R', 'S', 'U', 'V', 'W', 'X']) streams.push(new FakeStream(srv.server, streamConfig(n, [`${n.toLowerCase()}.>`])));
    stopApi = serveConsumerApi(srv.server, streams);
    nc = await connect({ servers: srv.url });
    jsm = await jetstreamManager(nc, { checkAPI: false });
  });

  after(async () => {
    await nc.close();
    stopApi();
    for (const s of streams) await s.close();
    await srv.close();
  });

  it('delivers to the deliver subject once bound, with the stream subject and ack replies', async () => {
    const s = streams[0];
    for (let i = 1; i <= 3; i++) s.publish(`p.${i}`, `m${i}`);
    await jsm.consumers.add('P', { durable_name: 'pd', deliver_subject: 'deliver.p', ack_policy: AckPolicy.Explicit });
    let info = await jsm.consumers.info('P', 'pd');
    assert.equal(info.push_bound, undefined, 'nobody listens yet');
    assert.equal(info.delivered.stream_seq, 0);
    const got: Msg[] = [];
    const sub = nc.subscribe('deliver.p', {
      callback: (_e, m) => {
        got.push(m);
        m.respond();
      },
    });
    await waitUntil(() => got.length === 3, 3000, 'three deliveries');
    assert.deepEqual(got.map((m) => m.subject), ['p.1', 'p.2', 'p.3']);
    assert.match(got[0].reply ?? '', /^\$JS\.ACK\.P\.pd\.1\.1\.1\.\d+\.2$/);
    info = await jsm.consumers.info('P', 'pd');
    assert.equal(info.push_bound, true);
    await waitUntil(() => s.consumers.get('pd')?.info().numAckPending === 0, 2000, 'acked');
    sub.unsubscribe();
    await nc.flush();
    s.publish('p.4', 'while away');
    info = await jsm.consumers.info('P', 'pd');
    assert.equal(info.push_bound, undefined);
    assert.equal(info.num_pending, 1);
    const again: Msg[] = [];
    nc.subscribe('deliver.p', {
      callback: (_e, m) => {
        again.push(m);
      },
    });
    await waitUntil(() => again.length === 1, 3000, 'delivery after rebinding');
    assert.equal(again[0].subject, 'p.4');
  });

  it('idle heartbeats carry the last sequences; flow control requests stall until answered', async () => {
    const s = streams[1];
    s.publish('q.1', 'x');
    await jsm.consumers.add('Q', { durable_name: 'hb', deliver_subject: 'deliver.q', ack_policy: AckPolicy.None, idle_heartbeat: 100 * MS, flow_control: true });
    const status: Msg[] = [];
    const data: Msg[] = [];
    nc.subscribe('deliver.q', { callback: (_e, m) => {
        (m.headers?.code === 100 ? status : data).push(m);
      },
    });
    await waitUntil(() => status.some((m) => m.headers?.description === 'Idle Heartbeat'), 3000, 'a heartbeat');
    const hb = status.find((m) => m.headers?.description === 'Idle Heartbeat') as Msg;
    assert.equal(hb.headers?.get('Nats-Last-Consumer'), '1');
    assert.equal(hb.headers?.get('Nats-Last-Stream'), '1');
    assert.equal(data.length, 1);
    // Enough bytes to cross the flow-control window: deliveries stop until the request is answered.
    const big = Buffer.alloc(64 * 1024, 1);
    for (let i = 0; i < 80; i++) s.publish('q.big', big);
    await waitUntil(() => status.some((m) => m.headers?.description === 'FlowControl Request'), 5000, 'flow control request');
    const fc = status.find((m) => m.headers?.description === 'FlowControl Request') as Msg;
    assert.match(fc.reply ?? '', /^\$JS\.FC\.Q\.hb\./);
    const before = data.length;
    await waitUntil(() => data.length > before || data.length === 81, 2000, 'deliveries up to the window').catch(() => undefined);
    const stalledAt = data.length;
    assert.ok(stalledAt < 81, `stalled before the end (${stalledAt})`);
    await waitUntil(() => status.some((m) => m.headers?.get('Nats-Consumer-Stalled') === fc.reply), 3000, 'stalled heartbeat');
    fc.respond();
    await waitUntil(() => data.length === 81, 5000, 'the rest after the reply');
  });

  it('headers_only sends headers and Nats-Msg-Size without the payload', async () => {
    const s = streams[2];
    const h = headers();
    h.set('X-Test', 'yes');
    await jsm.consumers.add('R', { durable_name: 'ho', deliver_subject: 'deliver.r', ack_policy: AckPolicy.None, headers_only: true });
    const got: Msg[] = [];
    nc.subscribe('deliver.r', {
      callback: (_e, m) => {
        got.push(m);
      },
    });
    await nc.flush();
    nc.publish('r.1', 'twelve bytes', { headers: h });
    nc.publish('r.2', 'abc');
    await waitUntil(() => got.length === 2, 3000, 'two deliveries');
    assert.equal(got[0].data.length, 0);
    assert.equal(got[0].headers?.get('X-Test'), 'yes');
    assert.equal(got[0].headers?.get('Nats-Msg-Size'), '12');
    assert.equal(got[1].headers?.get('Nats-Msg-Size'), '3');
    void s;
  });

  it('replay original spaces deliveries as they were stored', async () => {
    const s = streams[3];
    s.publish('s.1', 'a');
    await new Promise((r) => setTimeout(r, 300));
    s.publish('s.2', 'b');
    await jsm.consumers.add('S', { durable_name: 'ro', deliver_subject: 'deliver.s', ack_policy: AckPolicy.None, replay_policy: ReplayPolicy.Original });
    const at: number[] = [];
    nc.subscribe('deliver.s', {
      callback: () => {
        at.push(Date.now());
      },
    });
    await waitUntil(() => at.length === 2, 3000, 'both');
    assert.ok(at[1] - at[0] >= 250, `paced (${at[1] - at[0]}ms)`);
  });

  it('rate_limit_bps paces a push consumer', async () => {
    const s = streams[5];
    for (let i = 0; i < 6; i++) s.publish('v.x', Buffer.alloc(500, 1));
    const got: number[] = [];
    nc.subscribe('deliver.v', {
      callback: () => {
        got.push(Date.now());
      },
    });
    await nc.flush();
    // 8000 bits/s = 1000 bytes/s with a one-second burst: two at once, then one every ~0.5 s.
    await jsm.consumers.add('V', { durable_name: 'rl', deliver_subject: 'deliver.v', ack_policy: AckPolicy.None, rate_limit_bps: 8000 });
    await waitUntil(() => got.length === 6, 5000, 'all six');
    const span = got[5] - got[0];
    assert.ok(span >= 1200, `paced (${span}ms)`);
  });

  it('sample_freq reports acks as metrics', async () => {
    const s = streams[6];
    s.publish('w.x', 'a');
    await jsm.consumers.add('W', { durable_name: 'sm', deliver_subject: 'deliver.w', ack_policy: AckPolicy.Explicit, sample_freq: '100%' });
    nc.subscribe('deliver.w', {
      callback: (_e, m) => {
        m.respond();
      },
    });
    await waitUntil(() => s.advisories.some((a) => a.subject === '$JS.EVENT.METRIC.CONSUMER.ACK.W.sm'), 3000, 'ack metric');
    const m = s.advisories.find((a) => a.subject === '$JS.EVENT.METRIC.CONSUMER.ACK.W.sm');
    assert.equal(m?.body.type, 'io.nats.jetstream.metric.v1.consumer_ack');
    assert.equal(m?.body.stream_seq, 1);
    assert.equal(m?.body.deliveries, 1);
  });

  it('deliver_group hands each message to one member of the queue group', async () => {
    const s = streams[7];
    const counts = [0, 0];
    for (const i of [0, 1]) {
      nc.subscribe('deliver.x', {
        queue: 'workers',
        callback: () => {
          counts[i]++;
        },
      });
    }
    await nc.flush();
    await jsm.consumers.add('X', { durable_name: 'q', deliver_subject: 'deliver.x', deliver_group: 'workers', ack_policy: AckPolicy.None });
    for (let i = 0; i < 40; i++) s.publish('x.y', `${i}`);
    await waitUntil(() => counts[0] + counts[1] === 40, 3000, 'all delivered once');
    assert.equal((await jsm.consumers.info('X', 'q')).push_bound, true);
  });

  it('ephemerals go away after the inactive threshold', async () => {
    const s = streams[4];
    const ci = await jsm.consumers.add('U', { ack_policy: AckPolicy.Explicit, inactive_threshold: 300 * MS });
    assert.equal(ci.config.inactive_threshold, 300 * MS);
    assert.ok(s.consumers.get(ci.name));
    await waitUntil(() => s.consumers.get(ci.name) === undefined, 3000, 'deleted when idle');
    assert.ok(s.advisories.some((a) => a.subject === `$JS.EVENT.ADVISORY.CONSUMER.DELETED.U.${ci.name}`));
    const d = await jsm.consumers.add('U', { durable_name: 'keep', ack_policy: AckPolicy.Explicit });
    assert.equal(d.config.inactive_threshold, undefined);
  });
});
