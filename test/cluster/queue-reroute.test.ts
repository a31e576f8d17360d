/**
 * A routed queue message for a group whose member on the receiving node
 * left meanwhile is handed on to another node that still has members, as
 * nats-server does, instead of being dropped: once with a scripted peer
 * (a raw route that names a group the node no longer serves), and under
 * load with a member draining while messages are in flight, in a Natter
 * cluster and in a cluster with nats-server 2.9.10 on either side of it.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { NatsConnection } from '@nats-io/transport-node';
import { sleep, waitUntil } from '../helpers/wait.js';
import {
  client, collect, routeTo, startNatsNode, startNode, waitForInterest, waitForMesh, type NatsNode, type NatterNode,
} from './helpers.js';

/** A hand-driven route peer: handshakes as server FAKE, then writes what it is given. */
async function fakeRoute(port: number): Promise<{ socket: net.Socket; received: () => string }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.on('error', () => undefined);
  await new Promise<void>((r) => socket.once('connect', () => r()));
  const info = { server_id: 'FAKEROUTEPEER', server_name: 'fake', cluster: 'c', headers: true, host: '127.0.0.1', port: 9 };
  socket.write(`CONNECT {"echo":false,"verbose":false,"pedantic":false,"headers":true,"name":"FAKEROUTEPEER","cluster":"c"}\r\n`);
  socket.write(`INFO ${JSON.stringify(info)}\r\n`);
  return { socket, received: () => text };
}

describe('queue messages whose member left are re-routed', () => {
  let s1: NatterNode;
  let s2: NatterNode;
  let s3: NatterNode;
  let nc1: NatsConnection;
  let nc2: NatsConnection;
  let nc3: NatsConnection;

  before(async () => {
    // Gossip is kept from dialling the fake peer's made-up address more than once.
    const clusterBlock = { connect_retries: 0 };
    s1 = await startNode('s1', { clusterBlock });
    s2 = await startNode('s2', { clusterBlock: { ...clusterBlock, routes: [routeTo(s1.routePort)] } });
    s3 = await startNode('s3', { clusterBlock: { ...clusterBlock, routes: [routeTo(s1.routePort)] } });
    await waitForMesh([s1, s2, s3], [], 2);
    [nc1, nc2, nc3] = await Promise.all([client(s1.url), client(s2.url), client(s3.url)]);
  });

  after(async () => {
    await Promise.all([nc1, nc2, nc3].map((nc) => nc?.close()));
    await Promise.all([s1, s2, s3].map((n) => n?.close()));
  });

  it('hands a routed message for a group it no longer serves to a node that does', async () => {
    const member = collect(nc3, 'jobs.one', { queue: 'q1' });
    await nc3.flush();
    await waitForInterest(s2, 'jobs.one q1', 1);
    const peer = await fakeRoute(s2.routePort);
    try {
      await waitUntil(() => s2.cluster.routes().some((r) => r.remoteName === 'fake'), 3000, 's2 to register the fake route');
      // The fake peer asks s2 to serve q1, which only s3 has.
      peer.socket.write('RMSG $G jobs.one | q1 5\r\nhello\r\n');
      await waitUntil(() => member.length === 1, 3000, 'the re-routed message');
      // Only s2 could have passed it on: a routed message reaches s3 no other way.
      assert.deepEqual(member, ['jobs.one:hello']);
      // Nothing went back to the sender.
      assert.ok(!peer.received().includes('RMSG'));
    } finally {
      peer.socket.destroy();
    }
  });

  it('sends it back to the sender when only the sender still has members', async () => {
    const peer = await fakeRoute(s2.routePort);
    try {
      await waitUntil(() => s2.cluster.routes().some((r) => r.remoteName === 'fake'), 3000, 's2 to register the fake route');
      peer.socket.write('RS+ $G jobs.two q2 1\r\n');
      await waitUntil(() => s2.cluster.routes().some((r) => r.remoteName === 'fake' && r.subscriptions.some((s) => s.queue === 'q2')), 3000, 'the fake interest');
      peer.socket.write('RMSG $G jobs.two | q2 2\r\nhi\r\n');
      await waitUntil(() => peer.received().includes('RMSG $G jobs.two | q2 2\r\nhi\r\n'), 3000, 'the message back at the sender');
    } finally {
      peer.socket.destroy();
    }
  });

  it('loses nothing and duplicates nothing while a member drains under load', async (t) => {
    const got2 = collect(nc2, 'work.*', { queue: 'w' });
    const got3 = collect(nc3, 'work.*', { queue: 'w' });
    await Promise.all([nc2.flush(), nc3.flush()]);
    await waitForInterest(s1, 'work.* w', 2);
    const rerouted = (): number => s2.cluster.routes().reduce((t, r) => t + r.outMsgs, 0);
    const before = rerouted();
    const n = 6000;
    let draining: Promise<void> | null = null;
    for (let i = 0; i < n; i++) {
      nc1.publish(`work.${i}`, String(i));
      // s2's member leaves halfway (its connection drains), with messages for it on the wire.
      if (i === n / 2) draining = nc2.drain();
      if (i % 500 === 0) await sleep(1);
    }
    await nc1.flush();
    await draining;
    const total = (): number => got2.length + got3.length;
    await waitUntil(() => total() >= n, 10000, 'every message');
    await sleep(100);
    const seqs = [...got2, ...got3].map((s) => Number(s.split(':')[1])).sort((a, b) => a - b);
    assert.equal(seqs.length, n, 'exactly once');
    assert.deepEqual(seqs, Array.from({ length: n }, (_, i) => i));
    assert.ok(got2.length > 0 && got3.length > 0, 'both nodes served');
    // How many s2 handed on depends on timing (what was in flight); the scripted tests above pin the behaviour.
    t.diagnostic(`re-routed by s2: ${rerouted() - before}`);
  });
});

describe('queue re-routing in a cluster of Natter and nats-server nodes', () => {
  let n: NatsNode;
  let a: NatterNode;
  let b: NatterNode;

  before(async () => {
    n = await startNatsNode('N', 'name: c');
    a = await startNode('A', { clusterBlock: { routes: [routeTo(n.routePort)] } });
    b = await startNode('B', { clusterBlock: { routes: [routeTo(n.routePort)] } });
    await waitForMesh([a, b], [n], 2);
  });

  after(async () => {
    await Promise.all([a, b].map((x) => x?.close()));
    await n?.close();
  });

  /**
   * Publishes `count` messages on `publisher` while the member on `leavingUrl`
   * drains halfway; the other member is on `stayingUrl`. Every message must
   * arrive exactly once.
   */
  async function drainUnderLoad(subject: string, publisher: NatterNode | NatsNode, leavingUrl: string, stayingUrl: string): Promise<void> {
    const pubUrl = publisher.url;
    const [pub, leaving, staying] = await Promise.all([client(pubUrl), client(leavingUrl), client(stayingUrl)]);
    try {
      const gone = collect(leaving, `${subject}.*`, { queue: 'w' });
      const kept = collect(staying, `${subject}.*`, { queue: 'w' });
      await Promise.all([leaving.flush(), staying.flush()]);
      await waitForInterest(publisher, `${subject}.* w`, 2);
      const count = 4000;
      let draining: Promise<void> | null = null;
      for (let i = 0; i < count; i++) {
        pub.publish(`${subject}.${i}`, String(i));
        if (i === count / 2) draining = leaving.drain();
        if (i % 500 === 0) await sleep(1);
      }
      await pub.flush();
      await draining;
      await waitUntil(() => gone.length + kept.length >= count, 10000, 'every message');
      await sleep(100);
      const seqs = [...gone, ...kept].map((s) => Number(s.split(':')[1])).sort((x, y) => x - y);
      assert.deepEqual(seqs, Array.from({ length: count }, (_, i) => i));
    } finally {
      await Promise.all([pub.close(), staying.close(), leaving.isClosed() ? Promise.resolve() : leaving.close()]);
    }
  }

  it('Natter hands on what nats-server sent for its departed member', async (t) => {
    const sent = (): number => a.cluster.routes().reduce((sum, r) => sum + r.outMsgs, 0);
    const before = sent();
    await drainUnderLoad('mq1', n, a.url, b.url);
    // A publishes nothing itself: all it sent on was re-routed.
    t.diagnostic(`re-routed by A: ${sent() - before}`);
  });

  it('Natter takes what nats-server hands on for its own departed member', async () => {
    await drainUnderLoad('mq2', a, n.url, b.url);
  });
});
