/**
 * A replica whose stream store was damaged in the middle (a bit flipped in
 * a message block that is not the last one, so records after it in that
 * block are unreadable) while its Raft log had already been compacted into
 * a snapshot: the store cannot be mended from its own log. The replica
 * starts over: it never counts as current while it lacks messages, gets
 * everything back from its peers, and ends with every message byte for byte.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { JsCluster, metaOf } from './api-helpers.js';
import { waitUntil } from '../../helpers/wait.js';
import { GLOBAL_ACCOUNT } from '../../../src/accounts/names.js';
import type { NatterNode } from '../../cluster/helpers.js';

const STREAM = 'DMG';
/** Past the Raft snapshot threshold (8192 entries) and over two 8 MiB message blocks. */
const COUNT = 9000;
const SIZE = 2000;

function blockFiles(storeDir: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.blk') && p.includes(`/${STREAM}/msgs/`)) out.push(p);
    }
  };
  walk(storeDir);
  return out.sort();
}

/** A digest of every message the node's copy holds, in sequence order. */
function digestOf(node: NatterNode): { last: number; msgs: number; digest: string } | null {
  const stream = node.srv.server.jetstream?.accounts.get(GLOBAL_ACCOUNT)?.streams.get(STREAM);
  if (stream === undefined) return null;
  const st = stream.store.state();
  const h = createHash('sha256');
  for (let m = stream.store.loadNextMsg(null, 1); m !== null; m = stream.store.loadNextMsg(null, m.seq + 1)) {
    h.update(`${m.seq} ${m.subject} `);
    h.update(m.data);
  }
  return { last: st.lastSeq, msgs: st.msgs, digest: h.digest('hex') };
}

describe('a replica with a damaged store block and a compacted log', () => {
  const cluster = new JsCluster(['D1', 'D2', 'D3']);
  before(async () => {
    await cluster.start();
  });
  after(async () => {
    await cluster.stop();
  });

  it('starts over from its peers and ends identical to them', { timeout: 150_000 }, async () => {
    const nc = await cluster.connect(cluster.nodes[0]);
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    await jsm.streams.add({ name: STREAM, subjects: ['dmg.>'], num_replicas: 3 });
    await waitUntil(() => cluster.nodes.every((n) => metaOf(n).streamReplica(GLOBAL_ACCOUNT, STREAM) !== null), 10_000, 'a replica on every node');
    const js = jetstream(nc, { timeout: 20_000 });
    const body = Buffer.alloc(SIZE);
    for (let i = 0; i < COUNT; i += 250) {
      const acks = [];
      for (let k = i; k < Math.min(COUNT, i + 250); k++) {
        body.writeUInt32BE(k, 0);
        acks.push(js.publish(`dmg.${k % 7}`, body));
      }
      await Promise.all(acks);
    }
    const leaderNode = cluster.nodes.find((n) => metaOf(n).streamReplica(GLOBAL_ACCOUNT, STREAM)?.isActiveLeader() === true);
    assert.ok(leaderNode !== undefined, 'a stream leader');
    const victim = cluster.nodes.find((n) => n !== leaderNode && n !== cluster.nodes[0]) as NatterNode;
    await waitUntil(() => digestOf(victim)?.last === COUNT, 20_000, 'the victim holding every message');
    await waitUntil(() => (metaOf(victim).streamReplica(GLOBAL_ACCOUNT, STREAM)?.raft.status().applied ?? 0) > 8192 &&
      readdirSync(join(cluster.storeDir(victim.name))).length > 0, 20_000, 'the victim applied past the snapshot threshold');
    const expected = digestOf(leaderNode);
    assert.equal(expected?.msgs, COUNT);

    await cluster.close(victim);
    const blocks = blockFiles(cluster.storeDir(victim.name));
    assert.ok(blocks.length >= 2, `several message blocks (${blocks.length})`);
    const first = blocks[0];
    const buf = readFileSync(first);
    buf[Math.floor(statSync(first).size / 3)] ^= 0x10;
    writeFileSync(first, buf);

    const back = await cluster.restart(victim.name);
    // Repaired: the same messages, byte for byte, and the group sees it as current.
    await waitUntil(() => digestOf(back)?.digest === expected?.digest, 60_000, 'the damaged replica restored from its peers', 250);
    // It noticed the damage, and the snapshot it had could not be restored from its own copy.
    assert.ok(back.log.has(/block .* has a corrupt record/), 'the damage was detected');
    assert.ok(back.log.has(/store of stream '\$G > DMG' was damaged; rebuilding it/), 'the store was rebuilt');
    assert.ok(back.log.has(/starting over from a leader/), back.log.text().split('\n').filter((l) => /WRN|ERR/.test(l)).join('\n'));
    const replica = metaOf(back).streamReplica(GLOBAL_ACCOUNT, STREAM);
    assert.ok(replica !== null);
    // The store may match before the group has told it that it is current again (a loaded machine).
    await waitUntil(() => !replica.raft.status().recovering, 20_000, 'the repaired replica current in its group');
    // And it keeps up with new messages.
    await js.publish('dmg.after', Buffer.from('after'));
    await waitUntil(() => digestOf(back)?.last === COUNT + 1, 20_000, 'the next message on the repaired replica');
  });
});
