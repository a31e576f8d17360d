/**
 * The meta group on three Natter nodes in one process: one leader, every
 * JetStream server known everywhere, assignments proposed on the leader
 * replicated to all, a new leader when the leader goes, the log replayed
 * after a restart of every node. Also: a lone node whose only route leads
 * nowhere never elects itself, and nats-server's refusals for a JetStream
 * cluster without server_name or cluster name.
 *
 * Assignments name a peer no server has, so no replica opens: this file
 * tests the meta layer alone.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { routeTo, startNode, type NatterNode } from '../../cluster/helpers.js';
import { removeDir, tempStoreDir } from '../../helpers/jetstream.js';
import { freePort } from '../../helpers/ports.js';
import { sleep, waitUntil } from '../../helpers/wait.js';
import { resolveOptions, validateOptions } from '../../../src/server/options.js';
import { MetaLayer } from '../../../src/jetstream/cluster/meta.js';
import { peerIdOf } from '../../../src/jetstream/cluster/peers.js';
import type { ConsumerAssignment, StreamAssignment } from '../../../src/jetstream/cluster/types.js';
import type { ConsumerConfig, StreamConfig } from '../../../src/jetstream/types.js';

const NOBODY = 'nobody01';

function metaOf(node: NatterNode): MetaLayer {
  const meta = node.srv.server.jetstream?.cluster;
  assert.ok(meta instanceof MetaLayer, `${node.name} runs clustered JetStream`);
  return meta;
}

function streamAssignment(name: string): StreamAssignment {
  return {
    account: '$G',
    config: { name, subjects: [`${name}.>`], storage: 'file', num_replicas: 1 } as StreamConfig,
    group: { name: `S-R1F-${name.padEnd(8, 'x')}`, peers: [NOBODY], store: 'file', cluster: 'c' },
    created: '2026-12-07T17:00:00.000000000Z',
  };
}

function consumerAssignment(stream: string, name: string): ConsumerAssignment {
  return {
    account: '$G',
    stream,
    name,
    config: { durable_name: name, ack_policy: 'explicit' } as ConsumerConfig,
    group: { name: `C-R1F-${name.padEnd(8, 'x')}`, peers: [NOBODY], store: 'file', cluster: 'c' },
    created: '2026-12-07T17:00:00.000000000Z',
  };
}

/** The one node all live nodes agree leads the meta group. */
async function waitForLeader(nodes: readonly NatterNode[], timeoutMs = 15_000): Promise<NatterNode> {
  let leader: NatterNode | null = null;
  await waitUntil(() => {
    const leaders = nodes.filter((n) => metaOf(n).isLeader());
    if (leaders.length !== 1) return false;
    const name = leaders[0].name;
    if (!nodes.every((n) => metaOf(n).leaderName() === name && metaOf(n).isCurrent())) return false;
    leader = leaders[0];
    return true;
  }, timeoutMs, `one meta leader known to ${nodes.map((n) => n.name).join(', ')}`, 20);
  return leader!;
}

describe('meta group on three nodes', () => {
  const dirs = new Map<string, string>();
  const clusterPorts = new Map<string, number>();
  let nodes: NatterNode[] = [];
  const names = ['M1', 'M2', 'M3'];

  async function start(name: string): Promise<NatterNode> {
    const routes = names.filter((n) => n !== name).map((n) => routeTo(clusterPorts.get(n)!));
    return startNode(name, {
      jetstream: { store_dir: dirs.get(name)! },
      clusterBlock: { listen: `127.0.0.1:${clusterPorts.get(name)!}`, routes },
    });
  }

  after(async () => {
    await Promise.allSettled(nodes.map((n) => n.close()));
    for (const d of dirs.values()) removeDir(d);
  });

  it('forms one meta group with one leader; every node knows every JetStream server', async () => {
    for (const n of names) {
      dirs.set(n, tempStoreDir());
      clusterPorts.set(n, await freePort());
    }
    nodes = await Promise.all(names.map(start));
    await waitForLeader(nodes);
    await waitUntil(() => nodes.every((n) => metaOf(n).raft.peers().length === 3), 10_000, 'three members everywhere', 20);
    for (const n of nodes) {
      const peers = metaOf(n).peers();
      assert.deepEqual(peers.map((p) => p.name).sort(), names, `${n.name} knows every JetStream server`);
      assert.ok(peers.every((p) => !p.offline && p.cluster === 'c'));
      assert.deepEqual([...metaOf(n).raft.peers()].sort(), names.map(peerIdOf).sort());
      assert.ok(n.log.has(/\[INF\] Starting JetStream cluster/));
      assert.ok(n.log.has(/\[INF\] JetStream cluster bootstrapping/));
      assert.ok(n.log.has(/Self is new JetStream cluster metadata leader|JetStream cluster new metadata leader: M\d\/c/));
    }
  });

  it('replicates assignments proposed on the leader to every node', async () => {
    const leader = await waitForLeader(nodes);
    const follower = nodes.find((n) => n !== leader)!;
    assert.equal(metaOf(follower).propose({ op: 'add-stream', sa: streamAssignment('S1') }), false, 'only the leader proposes');
    const applied: string[] = [];
    const off = metaOf(follower).onApplied((op) => applied.push(op.op));
    assert.ok(metaOf(leader).propose({ op: 'add-stream', sa: streamAssignment('S1') }));
    assert.ok(metaOf(leader).propose({ op: 'add-consumer', ca: consumerAssignment('S1', 'C1') }));
    assert.ok(metaOf(leader).propose({ op: 'add-consumer', ca: consumerAssignment('S1', 'C2') }));
    assert.ok(metaOf(leader).propose({ op: 'remove-consumer', account: '$G', stream: 'S1', consumer: 'C2' }));
    await waitUntil(() => nodes.every((n) => metaOf(n).consumer('$G', 'S1', 'C1') !== null && metaOf(n).consumer('$G', 'S1', 'C2') === null), 10_000, 'assignments on every node', 20);
    off();
    assert.deepEqual(applied, ['add-stream', 'add-consumer', 'add-consumer', 'remove-consumer']);
    for (const n of nodes) {
      const m = metaOf(n);
      assert.deepEqual(m.streams('$G').map((s) => s.config.name), ['S1']);
      assert.deepEqual(m.stream('$G', 'S1')?.group.peers, [NOBODY]);
      assert.deepEqual(m.consumers('$G', 'S1').map((c) => c.name), ['C1']);
      assert.equal(m.streamReplica('$G', 'S1'), null, 'nothing is placed here');
    }
  });

  it('elects a new leader when the leader closes, and the others see it leave', async () => {
    const leader = await waitForLeader(nodes);
    await leader.close();
    nodes = nodes.filter((n) => n !== leader);
    const next = await waitForLeader(nodes);
    assert.notEqual(next.name, leader.name);
    for (const n of nodes) {
      const gone = metaOf(n).peers().find((p) => p.name === leader.name);
      assert.equal(gone?.offline, true, `${n.name} heard ${leader.name} say goodbye`);
    }
    assert.ok(metaOf(next).propose({ op: 'add-stream', sa: streamAssignment('S2') }));
    await waitUntil(() => nodes.every((n) => metaOf(n).stream('$G', 'S2') !== null), 10_000, 'S2 on the survivors', 20);
    // Start the old leader again: it catches up with what it missed.
    const back = await start(leader.name);
    nodes.push(back);
    await waitUntil(() => metaOf(back).stream('$G', 'S2') !== null, 15_000, `${leader.name} caught up`, 20);
    assert.ok(back.log.has(/JetStream cluster recovering state/));
  });

  it('replays the assignments after every node restarted', async () => {
    await Promise.all(nodes.map((n) => n.close()));
    nodes = await Promise.all(names.map(start));
    await waitForLeader(nodes);
    await waitUntil(() => nodes.every((n) => metaOf(n).stream('$G', 'S2') !== null), 15_000, 'assignments replayed', 20);
    for (const n of nodes) {
      const m = metaOf(n);
      assert.deepEqual(m.streams('$G').map((s) => s.config.name).sort(), ['S1', 'S2']);
      assert.deepEqual(m.consumers('$G', 'S1').map((c) => c.name), ['C1']);
      assert.equal(m.raft.peers().length, 3);
    }
  });

  it('hands the meta leadership over in lame duck mode, before shutting down', async () => {
    const leader = await waitForLeader(nodes);
    const others = nodes.filter((n) => n !== leader);
    const server = leader.srv.server;
    const lameDuck = server.lameDuck();
    await waitUntil(() => others.some((n) => metaOf(n).isLeader()), 5000, 'a new leader', 10);
    assert.equal(server.shuttingDown, false, 'the new leader took over while the old one was still in lame duck mode');
    await lameDuck;
    nodes = others;
    for (const n of others) assert.equal(metaOf(n).peers().find((p) => p.name === leader.name)?.offline, true);
  });
});

describe('a lone node', () => {
  it('whose only route leads nowhere never elects itself', async () => {
    const dir = tempStoreDir();
    const dead = await freePort();
    const node = await startNode('L1', { jetstream: { store_dir: dir }, clusterBlock: { routes: [routeTo(dead)] } });
    try {
      // Elections time out within 2 s: three rounds of them must leave it leaderless.
      await sleep(4500);
      const meta = metaOf(node);
      assert.equal(meta.isLeader(), false);
      assert.equal(meta.leaderName(), '');
      assert.deepEqual([...meta.raft.peers()], [peerIdOf('L1')]);
      // One route is a seed-only configuration: the operator is told to list every member.
      assert.ok(node.log.has(/\[WRN\] JetStream cluster: the routes name 1 other server; list every member/));
    } finally {
      await node.close();
      removeDir(dir);
    }
  });
});

describe('clustered JetStream options', () => {
  const base = { jetstream: { store_dir: '/tmp/unused' }, cluster: { listen: '127.0.0.1:-1', name: 'c' } };

  it('needs server_name and cluster.name, in nats-server words', () => {
    assert.throws(() => validateOptions(resolveOptions({ ...base })), { message: 'jetstream cluster requires `server_name` to be set' });
    assert.throws(
      () => validateOptions(resolveOptions({ ...base, server_name: 'a', cluster: { listen: '127.0.0.1:-1' } })),
      { message: 'jetstream cluster requires `cluster.name` to be set' },
    );
    validateOptions(resolveOptions({ ...base, server_name: 'a' }));
    // A block naming no port listens on the customary 6222, as the cluster layer does: clustered.
    assert.throws(() => validateOptions(resolveOptions({ jetstream: true, cluster: { name: 'c' } })), /server_name/);
  });

  it('asks nothing of a cluster without JetStream, nor of JetStream without a cluster port', () => {
    validateOptions(resolveOptions({ cluster: { listen: '127.0.0.1:-1' } }));
    validateOptions(resolveOptions({ jetstream: true, cluster: { port: 0 } }));
    validateOptions(resolveOptions({ jetstream: { enabled: false }, cluster: { listen: '127.0.0.1:-1' } }));
  });

  it('computes peer ids as nats-server does', () => {
    // nats-server 2.9.10 logs "Node: MynGTXiX" for server_name c1.
    assert.equal(peerIdOf('c1'), 'MynGTXiX');
  });
});
