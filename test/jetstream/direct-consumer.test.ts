/**
 * Direct consumers: the push consumers (`"direct": true`) that a
 * nats-server source or mirror creates on its origin stream. A nats-server
 * 2.9.10 hub sources and mirrors a stream of a Natter leaf in another
 * JetStream domain; in a Natter cluster, the stream's leader alone answers
 * the create, keeps the consumer outside the meta layer, and lets it go
 * when it stops leading the stream.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { removeDir, tempStoreDir } from '../helpers/jetstream.js';
import { closeAllNatter } from '../helpers/natter.js';
import { startNatsServer } from '../helpers/nats-server.js';
import { freePort } from '../helpers/ports.js';
import { sleep, waitUntil } from '../helpers/wait.js';
import { dial, startLeafNatter, waitLeafs } from '../leafnode/helpers.js';
import { JsCluster, metaOf, repliesTo } from './cluster/api-helpers.js';
import { GLOBAL_ACCOUNT } from '../../src/accounts/names.js';
import type { NatterNode } from '../cluster/helpers.js';

const dirs: string[] = [];
after(async () => {
  await closeAllNatter();
  for (const d of dirs) removeDir(d);
});

function storeDir(): string {
  const d = tempStoreDir();
  dirs.push(d);
  return d;
}

async function messagesIn(jsm: JetStreamManager, stream: string, n: number): Promise<void> {
  let has = -1;
  await waitUntil(async () => (has = (await jsm.streams.info(stream)).state.messages) === n, 10_000, `${n} messages in ${stream} (has ${has})`, 50);
}

describe('direct consumers', () => {
  test('a nats-server hub sources and mirrors the stream of a Natter leaf in another domain', async () => {
    const leafPort = await freePort();
    const hub = await startNatsServer({ config: `jetstream { store_dir: "${storeDir()}", domain: hub }\nleafnodes { listen: "127.0.0.1:${leafPort}" }\n` });
    const edge = await startLeafNatter({ remotes: [{ url: `nats-leaf://127.0.0.1:${leafPort}` }] }, { jetstream: { store_dir: storeDir(), domain: 'edge' } });
    const hc = await dial(hub.url);
    const ec = await dial(edge.natter.url);
    try {
      await waitLeafs(edge.natter, 1);
      const ejsm = await jetstreamManager(ec);
      await ejsm.streams.add({ name: 'ORDERS', subjects: ['order.>'] });
      const ejs = jetstream(ec);
      for (let i = 0; i < 4; i++) await ejs.publish(`order.${i}`, `o${i}`);
      const hjsm = await jetstreamManager(hc);
      await hjsm.streams.add({ name: 'ALL', sources: [{ name: 'ORDERS', domain: 'edge' }] });
      await hjsm.streams.add({ name: 'COPY', mirror: { name: 'ORDERS', domain: 'edge' } });
      await messagesIn(hjsm, 'ALL', 4);
      await messagesIn(hjsm, 'COPY', 4);
      for (let i = 4; i < 6; i++) await ejs.publish(`order.${i}`, `o${i}`);
      await messagesIn(hjsm, 'ALL', 6);
      await messagesIn(hjsm, 'COPY', 6);
      assert.equal((await hjsm.streams.getMessage('COPY', { seq: 6 }))?.string(), 'o5');
      assert.equal((await hjsm.streams.getMessage('ALL', { seq: 1 }))?.subject, 'order.0');
      // The origin's consumers are the sources' own: no durable, nothing kept.
      const infos = await (await ejsm.consumers.list('ORDERS')).next();
      assert.ok(infos.length >= 2, 'one direct consumer per source and mirror');
      for (const ci of infos) {
        assert.equal((ci.config as { direct?: boolean }).direct, true);
        assert.equal(ci.config.durable_name, undefined);
      }
    } finally {
      await hc.close();
      await ec.close();
      await edge.natter.close();
      await hub.stop();
    }
  });

  test('in a cluster, the stream leader alone makes it, meta does not list it, and a leadership change drops it', async () => {
    const cluster = new JsCluster(['d1', 'd2', 'd3']);
    await cluster.start();
    try {
      const leaderOf = (): NatterNode | undefined => cluster.nodes.find((n) => metaOf(n).streamReplica(GLOBAL_ACCOUNT, 'ORIG')?.isActiveLeader() === true);
      const nc = await cluster.connect(cluster.nodes[0]);
      const jsm = await jetstreamManager(nc, { timeout: 10_000 });
      await jsm.streams.add({ name: 'ORIG', subjects: ['orig.>'], num_replicas: 3 });
      await waitUntil(() => leaderOf() !== undefined, 10_000, 'a stream leader');
      const js = jetstream(nc);
      // A new leader takes publishes once it captures the stream's subjects: until then a publish finds no responder.
      const publish = async (subject: string, data: string): Promise<void> => {
        await waitUntil(async () => js.publish(subject, data).then(() => true, () => false), 10_000, `a PubAck for ${subject}`, 100);
      };
      for (let i = 1; i <= 3; i++) await publish(`orig.${i}`, `m${i}`);

      const got: string[] = [];
      nc.subscribe('src.inbox', {
        callback: (_e, m) => {
          if (m.reply !== undefined && m.reply !== '' && !m.reply.startsWith('$JS.ACK.')) m.respond(); // flow control
          else if (m.data.length > 0) got.push(m.string());
        },
      });
      await nc.flush();
      const config = { name: 'src1', direct: true, deliver_subject: 'src.inbox', ack_policy: 'none', deliver_policy: 'all', flow_control: true, idle_heartbeat: 1_000_000_000, inactive_threshold: 30_000_000_000 };
      const answers = await repliesTo(nc, '$JS.API.CONSUMER.CREATE.ORIG', { stream_name: 'ORIG', config }, { quietMs: 500 });
      assert.equal(answers.length, 1, 'one server answers: the stream leader');
      assert.equal(answers[0].error, undefined, JSON.stringify(answers[0]));
      assert.equal((answers[0].config as { direct?: boolean }).direct, true);
      await waitUntil(() => got.length >= 3, 10_000, 'deliveries of the direct consumer');
      assert.deepEqual(got, ['m1', 'm2', 'm3']);
      assert.deepEqual(await (await jsm.consumers.list('ORIG')).next(), [], 'the meta layer knows no consumer');

      // The leadership moves: the old leader drops the consumer, so nothing more is delivered.
      const old = leaderOf() as NatterNode;
      metaOf(old).streamReplica(GLOBAL_ACCOUNT, 'ORIG')?.stepDown();
      await waitUntil(() => leaderOf() !== undefined && leaderOf() !== old, 10_000, 'a new stream leader');
      await publish('orig.4', 'm4');
      await sleep(500);
      assert.deepEqual(got, ['m1', 'm2', 'm3'], 'no delivery from a follower');

      // The source makes it again: now on the new leader, from where it stood.
      const again = await repliesTo(nc, '$JS.API.CONSUMER.CREATE.ORIG', { stream_name: 'ORIG', config: { ...config, deliver_policy: 'by_start_sequence', opt_start_seq: 4 } }, { quietMs: 500 });
      assert.equal(again.length, 1);
      assert.equal(again[0].error, undefined, JSON.stringify(again[0]));
      await waitUntil(() => got.length >= 4, 10_000, 'delivery from the new leader');
      assert.deepEqual(got, ['m1', 'm2', 'm3', 'm4']);

      // An unknown stream: nobody answers a direct create (as nats-server).
      assert.deepEqual(await repliesTo(nc, '$JS.API.CONSUMER.CREATE.NOPE', { stream_name: 'NOPE', config }, { quietMs: 200, timeoutMs: 1500 }), []);
      await nc.close();
    } finally {
      await cluster.stop();
    }
  });
});
