/**
 * Placement by nats-server's rules (cluster, tags and `!tags`, unique_tag,
 * online quorum, free space, load) and the meta group's entry and snapshot
 * codec, without servers.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JsApiError } from '../../../src/jetstream/api/errors.js';
import { placeConsumerGroup, placeGroup } from '../../../src/jetstream/cluster/placement.js';
import { decodeMetaOp, decodeMetaSnapshot, encodeMetaOp, encodeMetaSnapshot } from '../../../src/jetstream/cluster/assignment-codec.js';
import { MetaState } from '../../../src/jetstream/cluster/meta-state.js';
import type { JsPeer, MetaOp, MetaView, RaftGroupSpec, StreamAssignment } from '../../../src/jetstream/cluster/types.js';
import type { ConsumerConfig, StreamConfig } from '../../../src/jetstream/types.js';

const GB = 1024 ** 3;

function peer(name: string, o: Partial<JsPeer> = {}): JsPeer {
  return { id: `id-${name}`, name, cluster: 'c', tags: [], offline: false, lastSeenMs: 0, available: { memory: GB, file: 10 * GB }, haAssets: 0, ...o };
}

/** Just what placement reads of a MetaView: the peers, the cluster name, the options. */
function view(peers: JsPeer[], uniqueTag = ''): MetaView {
  const options = { jetstream: uniqueTag === '' ? { store_dir: '/x' } : { store_dir: '/x', unique_tag: uniqueTag } };
  return { peers: () => peers, context: { clusterName: 'c', core: { options } } } as unknown as MetaView;
}

function placed(r: RaftGroupSpec | JsApiError): RaftGroupSpec {
  if (r instanceof JsApiError) assert.fail(`placement failed: ${r.message}`);
  return r;
}

function failed(r: RaftGroupSpec | JsApiError): JsApiError {
  if (!(r instanceof JsApiError)) assert.fail(`placement succeeded on ${r.peers.join(', ')}`);
  return r;
}

describe('placeGroup', () => {
  const three = [peer('a'), peer('b'), peer('c')];

  it('places R3 on three servers of the cluster with a preferred online leader and a nats-server style name', () => {
    const g = placed(placeGroup(view(three), 'stream', 3, 'file', undefined, 'c', 0));
    assert.deepEqual([...g.peers].sort(), ['id-a', 'id-b', 'id-c']);
    assert.match(g.name, /^S-R3F-[0-9A-Za-z]{8}$/);
    assert.equal(g.store, 'file');
    assert.equal(g.cluster, 'c');
    assert.ok(g.peers.includes(g.preferred!));
    assert.match(placed(placeGroup(view(three), 'consumer', 1, 'memory', undefined, 'c', 0)).name, /^C-R1M-[0-9A-Za-z]{8}$/);
  });

  it('refuses more than 5 replicas and more replicas than servers', () => {
    const e = failed(placeGroup(view(three), 'stream', 6, 'file', undefined, 'c', 0));
    assert.deepEqual(e.toJSON(), { code: 500, err_code: 10052, description: 'maximum replicas is 5' });
    const e2 = failed(placeGroup(view(three), 'stream', 5, 'file', undefined, 'c', 0));
    assert.equal(e2.errCode, 10005);
    assert.equal(e2.message, 'no suitable peers for placement');
  });

  it('keeps to the placement cluster, else the client cluster', () => {
    const peers = [peer('a'), peer('x', { cluster: 'other' })];
    assert.deepEqual(placed(placeGroup(view(peers), 'stream', 1, 'file', { cluster: 'other' }, 'c', 0)).peers, ['id-x']);
    assert.deepEqual(placed(placeGroup(view(peers), 'stream', 1, 'file', undefined, 'c', 0)).peers, ['id-a']);
  });

  it('needs every wanted tag and none of the excluded ones', () => {
    const peers = [peer('a', { tags: ['ssd', 'az:1'] }), peer('b', { tags: ['ssd', 'az:2'] }), peer('c', { tags: ['hdd', 'az:3'] })];
    assert.deepEqual([...placed(placeGroup(view(peers), 'stream', 2, 'file', { tags: ['SSD'] }, 'c', 0)).peers].sort(), ['id-a', 'id-b']);
    assert.deepEqual(placed(placeGroup(view(peers), 'stream', 1, 'file', { tags: ['ssd', '!az:1'] }, 'c', 0)).peers, ['id-b']);
    const e = failed(placeGroup(view(peers), 'stream', 3, 'file', { tags: ['ssd'] }, 'c', 0));
    assert.equal(e.message, "no suitable peers for placement, tags not matched ['ssd']");
    const e2 = failed(placeGroup(view(peers), 'stream', 1, 'file', { tags: ['!ssd', '!hdd'] }, 'c', 0));
    assert.equal(e2.message, "no suitable peers for placement, tags excluded ['hdd', 'ssd']");
  });

  it('never places on a server tagged !jetstream', () => {
    const peers = [peer('a'), peer('b', { tags: ['!jetstream'] })];
    assert.equal(failed(placeGroup(view(peers), 'stream', 2, 'file', undefined, 'c', 0)).errCode, 10005);
  });

  it('spreads over distinct values of the unique tag', () => {
    const peers = [peer('a', { tags: ['az:1'] }), peer('b', { tags: ['az:1'] }), peer('c', { tags: ['az:2'] }), peer('d')];
    const g = placed(placeGroup(view(peers, 'az:'), 'stream', 2, 'file', undefined, 'c', 0));
    assert.ok(g.peers.includes('id-c'));
    assert.equal(g.peers.filter((p) => p === 'id-a' || p === 'id-b').length, 1);
    const e = failed(placeGroup(view(peers, 'az:'), 'stream', 3, 'file', undefined, 'c', 0));
    assert.equal(e.message, 'no suitable peers for placement, server tag not unique');
  });

  it('needs a quorum of the chosen servers online and prefers online ones', () => {
    const peers = [peer('a'), peer('b', { offline: true }), peer('c', { offline: true })];
    const e = failed(placeGroup(view(peers), 'stream', 3, 'file', undefined, 'c', 0));
    assert.equal(e.message, 'no suitable peers for placement, peer offline');
    assert.deepEqual(placed(placeGroup(view(peers), 'stream', 1, 'file', undefined, 'c', 0)).peers, ['id-a']);
    const two = [peer('a'), peer('b'), peer('c', { offline: true })];
    const g = placed(placeGroup(view(two), 'stream', 3, 'file', undefined, 'c', 0));
    assert.equal(g.peers.length, 3);
    assert.notEqual(g.preferred, 'id-c');
  });

  it('skips servers without room for max_bytes and prefers free space, then fewer replicated assets', () => {
    const peers = [peer('a', { available: { memory: GB, file: GB } }), peer('b', { available: { memory: GB, file: 5 * GB } })];
    assert.deepEqual(placed(placeGroup(view(peers), 'stream', 1, 'file', undefined, 'c', 2 * GB)).peers, ['id-b']);
    const e = failed(placeGroup(view(peers), 'stream', 1, 'file', undefined, 'c', 6 * GB));
    assert.equal(e.message, 'no suitable peers for placement, insufficient storage');
    assert.deepEqual(placed(placeGroup(view(peers), 'stream', 1, 'file', undefined, 'c', 0)).peers, ['id-b']);
    const loaded = [peer('a', { haAssets: 5 }), peer('b', { haAssets: 0 }), peer('c', { haAssets: 1 })];
    assert.deepEqual([...placed(placeGroup(view(loaded), 'stream', 2, 'file', undefined, 'c', 0)).peers].sort(), ['id-b', 'id-c']);
  });
});

describe('placeConsumerGroup', () => {
  const stream = { group: { name: 'S-R3F-abcdefgh', peers: ['id-a', 'id-b', 'id-c'], store: 'file', cluster: 'c' } } as unknown as StreamAssignment;

  it("uses the stream's servers: all of them, or an online-first subset", () => {
    const peers = [peer('a', { offline: true }), peer('b'), peer('c')];
    assert.deepEqual(placed(placeConsumerGroup(view(peers), stream, 0, 'file')).peers, ['id-a', 'id-b', 'id-c']);
    assert.deepEqual(placed(placeConsumerGroup(view(peers), stream, 3, 'file')).peers, ['id-a', 'id-b', 'id-c']);
    const one = placed(placeConsumerGroup(view(peers), stream, 1, 'memory'));
    assert.equal(one.peers.length, 1);
    assert.notEqual(one.peers[0], 'id-a');
    assert.match(one.name, /^C-R1M-/);

  it('spreads R1 consumers over the online servers of the stream', () => {
    const peers = [peer('a'), peer('b'), peer('c')];
    const used = new Set<string>();
    for (let i = 0; i < 200; i++) used.add(placed(placeConsumerGroup(view(peers), stream, 1, 'memory')).peers[0]);
    assert.deepEqual([...used].sort(), ['id-a', 'id-b', 'id-c']);
  });
  });

  it('needs a quorum of them online', () => {
    const peers = [peer('a', { offline: true }), peer('b', { offline: true }), peer('c')];
    assert.equal(failed(placeConsumerGroup(view(peers), stream, 0, 'file')).errCode, 10005);
  });
});

describe('meta entries', () => {
  const group: RaftGroupSpec = { name: 'S-R3F-abcdefgh', peers: ['p1', 'p2', 'p3'], store: 'file', cluster: 'c', preferred: 'p2' };
  const sa: StreamAssignment = {
    account: 'ACC',
    config: { name: 'S', subjects: ['s.>'], num_replicas: 3 } as StreamConfig,
    group,
    created: '2026-12-07T17:00:00.123456789Z',
    reply: '_INBOX.x',
    subject: '$JS.API.STREAM.CREATE.S',
  };
  const ops: MetaOp[] = [
    { op: 'add-stream', sa },
    { op: 'update-stream', sa: { ...sa, reply: undefined, subject: undefined } },
    { op: 'add-consumer', ca: { account: 'ACC', stream: 'S', name: 'C', config: { durable_name: 'C' } as ConsumerConfig, group: { ...group, name: 'C-R3F-abcdefgh' }, created: sa.created } },
    { op: 'remove-consumer', account: 'ACC', stream: 'S', consumer: 'C' },
    { op: 'remove-stream', account: 'ACC', stream: 'S' },
  ];

  it("round-trip with nats-server's op bytes and assignment shape", () => {
    assert.deepEqual(ops.map((op) => encodeMetaOp(op)[0]), [0, 11, 1, 3, 2]);
    const body = JSON.parse(encodeMetaOp(ops[0]).toString('utf8', 1)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body), ['account', 'created', 'stream', 'group', 'subject', 'reply']);
    assert.deepEqual(body.group, { name: 'S-R3F-abcdefgh', peers: ['p1', 'p2', 'p3'], store: 'file', cluster: 'c', preferred: 'p2' });
    const expected = ops.map((op) => (op.op === 'update-stream' ? { op: op.op, sa: { account: 'ACC', config: sa.config, group, created: sa.created } } : op));
    assert.deepEqual(ops.map((op) => decodeMetaOp(encodeMetaOp(op))), expected);
  });

  it('decode garbage to null', () => {
    for (const bad of [Buffer.alloc(0), Buffer.from([0]), Buffer.from('\u0000{'), Buffer.from('\u0007{}'), Buffer.from('\u0000{"account":"A"}')]) {
      assert.equal(decodeMetaOp(bad), null);
    }
  });

  it('snapshot every assignment and restore the same state', () => {
    const state = new MetaState();
    state.apply(ops[0]);
    state.apply(ops[2]);
    const copy = new MetaState();
    copy.restore(decodeMetaSnapshot(encodeMetaSnapshot(state.snapshot())));
    assert.deepEqual(copy.snapshot(), state.snapshot());
    assert.equal(copy.consumer('ACC', 'S', 'C')?.group.name, 'C-R3F-abcdefgh');
    assert.equal(copy.haAssetsOn('p1'), 2);
    assert.throws(() => decodeMetaSnapshot(Buffer.from('{"streams":[{}],"consumers":[]}')));
  });

  it('apply removals of unknown assets as no-ops', () => {
    const state = new MetaState();
    assert.deepEqual(state.apply(ops[4]), { kind: 'none' });
    assert.deepEqual(state.apply(ops[2]), { kind: 'none' }, 'a consumer of an unknown stream');
    state.apply(ops[0]);
    state.apply(ops[2]);
    const removed = state.apply(ops[4]);
    assert.equal(removed.kind, 'stream-removed');
    assert.deepEqual(state.streams('ACC'), []);
  });
});
