/**
 * The cluster's leadership and membership requests on three Natter nodes
 * with accounts: `$JS.API.META.LEADER.STEPDOWN` and `$JS.API.SERVER.REMOVE`
 * in the system account only (a removed server's streams move away),
 * STREAM.PEER.REMOVE, the leader-elected
 * and quorum-lost advisories (account and system account), an account
 * without JetStream answered once, and the Raft families of /metrics.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NatsConnection } from '@nats-io/transport-node';
import { JsCluster, metaOf, repliesTo } from './api-helpers.js';
import { waitUntil } from '../../helpers/wait.js';
import { peerIdOf } from '../../../src/jetstream/cluster/peers.js';

const ACCOUNTS = {
  accounts: {
    APP: { jetstream: 'enabled', users: [{ user: 'app', password: 'p' }] },
    NOJS: { users: [{ user: 'nojs', password: 'p' }] },
    SYS: { users: [{ user: 'sys', password: 'p' }] },
  },
  system_account: 'SYS',
};

describe('leadership and membership requests on three nodes', () => {
  const cluster = new JsCluster(['Y1', 'Y2', 'Y3'], ACCOUNTS);
  const as = (user: string, node = cluster.nodes[0]): Promise<NatsConnection> => cluster.connect(node, { user, pass: 'p' });

  before(async () => {
    await cluster.start();
  });
  after(async () => {
    await cluster.stop();
  });

  it('answers an account without JetStream once', async () => {
    const nc = await as('nojs', cluster.nodes[1]);
    const res = await repliesTo(nc, '$JS.API.STREAM.INFO.S', undefined, { quietMs: 700 });
    assert.equal(res.length, 1);
    assert.equal((res[0].error as { err_code: number }).err_code, 10039);
  });

  it('sends LEADER_ELECTED advisories to the account and the system account when a stream leader steps down', async () => {
    const app = await as('app');
    const sys = await as('sys');
    const created = await repliesTo(app, '$JS.API.STREAM.CREATE.S', { name: 'S', subjects: ['s.>'], num_replicas: 3 });
    assert.equal(created[0].error, undefined, JSON.stringify(created[0]));
    const inApp: Array<Record<string, unknown>> = [];
    const inSys: Array<Record<string, unknown>> = [];
    app.subscribe('$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED.S', { callback: (_e, m) => { inApp.push(m.json()); } });
    sys.subscribe('$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED.S', { callback: (_e, m) => { inSys.push(m.json()); } });
    await app.flush();
    await sys.flush();
    const down = await repliesTo(app, '$JS.API.STREAM.LEADER.STEPDOWN.S', undefined, { quietMs: 500 });
    assert.deepEqual(down, [{ type: 'io.nats.jetstream.api.v1.stream_leader_stepdown_response', success: true }]);
    await waitUntil(() => inApp.length > 0 && inSys.length > 0, 20_000, 'leader elected advisories', 50);
    assert.equal(inApp[0].type, 'io.nats.jetstream.advisory.v1.stream_leader_elected');
    assert.equal(inApp[0].stream, 'S');
    assert.ok(cluster.names.includes(inApp[0].leader as string));
    assert.equal((inApp[0].replicas as unknown[]).length, 2);
    assert.equal(inSys[0].account, 'APP');
  });

  it('refuses STREAM.PEER.REMOVE without a peer, for a non-member, and when no server can take the place', async () => {
    const app = await as('app');
    const type = 'io.nats.jetstream.api.v1.stream_remove_peer_response';
    assert.deepEqual(await repliesTo(app, '$JS.API.STREAM.PEER.REMOVE.S', {}, { quietMs: 300 }),
      [{ type, error: { code: 400, err_code: 10003, description: 'bad request' } }]);
    assert.deepEqual(await repliesTo(app, '$JS.API.STREAM.PEER.REMOVE.S', { peer: 'NOPE' }, { quietMs: 300 }),
      [{ type, error: { code: 400, err_code: 10040, description: 'peer not a member' } }]);
    assert.deepEqual(await repliesTo(app, '$JS.API.STREAM.PEER.REMOVE.S', { peer: 'Y2' }, { quietMs: 300 }),
      [{ type, error: { code: 503, err_code: 10075, description: 'peer remap failed' } }]);
  });

  it('moves an R1 stream off a removed peer', async () => {
    const app = await as('app');
    const created = await repliesTo(app, '$JS.API.STREAM.CREATE.ONE', { name: 'ONE', subjects: ['one'], num_replicas: 1 });
    const from = (created[0].cluster as { leader: string }).leader;
    const res = await repliesTo(app, '$JS.API.STREAM.PEER.REMOVE.ONE', { peer: from }, { quietMs: 300 });
    assert.deepEqual(res, [{ type: 'io.nats.jetstream.api.v1.stream_remove_peer_response', success: true }]);
    for (const n of cluster.nodes) {
      const peers = metaOf(n).stream('APP', 'ONE')?.group.peers ?? [];
      assert.equal(peers.length, 1);
      assert.notEqual(peers[0], peerIdOf(from));
    }
  });

  it('serves META.LEADER.STEPDOWN and SERVER.REMOVE in the system account only', async () => {
    const app = await as('app');
    assert.deepEqual(await repliesTo(app, '$JS.API.META.LEADER.STEPDOWN', undefined, { timeoutMs: 1500 }), []);
    const sys = await as('sys', cluster.nodes[2]);
    assert.deepEqual(await repliesTo(sys, '$JS.API.SERVER.REMOVE', { peer: 'NOPE' }, { quietMs: 300 }),
      [{ type: 'io.nats.jetstream.api.v1.meta_server_remove_response', error: { code: 400, err_code: 10044, description: 'server is not a member of the cluster' } }]);
    const domain: Array<Record<string, unknown>> = [];
    sys.subscribe('$JS.EVENT.ADVISORY.DOMAIN.LEADER_ELECTED', { callback: (_e, m) => { domain.push(m.json()); } });
    const before = await cluster.waitForMetaLeader();
    const res = await repliesTo(sys, '$JS.API.META.LEADER.STEPDOWN', undefined, { quietMs: 500 });
    assert.deepEqual(res, [{ type: 'io.nats.jetstream.api.v1.meta_leader_stepdown_response', success: true }]);
    await waitUntil(() => cluster.nodes.some((n) => n !== before && metaOf(n).isLeader()), 20_000, 'another meta leader', 50);
    const after = await cluster.waitForMetaLeader();
    assert.notEqual(after.name, before.name);
    await waitUntil(() => domain.length > 0, 5000, 'the domain leader advisory', 50);
    assert.equal(domain[0].leader, peerIdOf(after.name));
  });

  it('shows the meta group and every Raft group in /metrics', async () => {
    const leader = await cluster.waitForMetaLeader();
    const text = await (await fetch(`${leader.srv.server.monitorURLs[0]}/metrics`)).text();
    assert.match(text, /^natter_jetstream_meta_leader 1$/m);
    assert.match(text, /^natter_raft_group_leader\{group="_meta_",kind="meta",account="",stream="",consumer=""\} 1$/m);
    assert.match(text, /^natter_raft_group_apply_lag\{group="S-R3F-[0-9A-Za-z]{8}",kind="stream",account="APP",stream="S",consumer=""\} \d+$/m);
    assert.match(text, /^natter_jetstream_meta_leader_changes_total \d+$/m);
  });

  it('removes a closed server from the meta group with SERVER.REMOVE, moving its R1 streams away', async () => {
    const app = await as('app');
    for (const name of ['M1', 'M2', 'M3']) {
      const r = await repliesTo(app, `$JS.API.STREAM.CREATE.${name}`, { name, subjects: [name.toLowerCase()], num_replicas: 1 });
      assert.equal(r[0].error, undefined, JSON.stringify(r[0]));
    }
    const metaLeader = await cluster.waitForMetaLeader();
    const gone = cluster.nodes.find((n) => n !== metaLeader && metaOf(n).streamReplica('APP', 'S')?.isActiveLeader() !== true)!;
    await cluster.close(gone);
    const sys = await as('sys', metaLeader);
    const res = await repliesTo(sys, '$JS.API.SERVER.REMOVE', { peer: gone.name }, { quietMs: 500 });
    assert.deepEqual(res, [{ type: 'io.nats.jetstream.api.v1.meta_server_remove_response', success: true }]);
    const id = peerIdOf(gone.name);
    await waitUntil(() => !metaOf(metaLeader).raft.peers().includes(id), 10_000, `${gone.name} out of the meta group`, 50);
    await waitUntil(() => ['M1', 'M2', 'M3'].every((s) => !(metaOf(metaLeader).stream('APP', s)?.group.peers.includes(id) ?? true)), 10_000, 'the R1 streams moved', 50);
  });

  it('sends QUORUM_LOST from a stream leader that no longer hears from the other replicas', async () => {
    const leader = cluster.nodes.find((n) => metaOf(n).streamReplica('APP', 'S')?.isActiveLeader() === true);
    assert.ok(leader !== undefined, 'S has a leader');
    const app = await as('app', leader);
    const lost: Array<Record<string, unknown>> = [];
    app.subscribe('$JS.EVENT.ADVISORY.STREAM.QUORUM_LOST.S', { callback: (_e, m) => { lost.push(m.json()); } });
    await app.flush();
    for (const n of cluster.nodes.filter((x) => x !== leader)) await cluster.close(n);
    await waitUntil(() => lost.length > 0, 15_000, 'a quorum lost advisory', 100);
    assert.equal(lost[0].type, 'io.nats.jetstream.advisory.v1.stream_quorum_lost');
    assert.equal(lost[0].stream, 'S');
    assert.equal((lost[0].replicas as unknown[]).length, 2);
  });

  it('once the group has been leaderless for a while, the member left answers INFO with its own view and MSG.GET with 10008', async () => {
    const last = cluster.nodes[0];
    const app = await as('app', last);
    await waitUntil(() => metaOf(last).streamReplica('APP', 'S')?.raft.leader() === null, 30_000, 'S without a leader', 100);
    let info: Array<Record<string, unknown>> = [];
    await waitUntil(async () => {
      info = await repliesTo(app, '$JS.API.STREAM.INFO.S', undefined, { quietMs: 300, timeoutMs: 1500 });
      return info.length > 0;
    }, 30_000, 'an INFO answer from the leaderless member', 500);
    assert.equal(info.length, 1);
    assert.equal(info[0].error, undefined, JSON.stringify(info[0]));
    assert.equal((info[0].config as { name: string }).name, 'S');
    const get = await repliesTo(app, '$JS.API.STREAM.MSG.GET.S', { seq: 1 }, { quietMs: 300 });
    assert.deepEqual(get.map((r) => r.error), [{ code: 503, err_code: 10008, description: 'JetStream system temporarily unavailable' }]);
  });
});
