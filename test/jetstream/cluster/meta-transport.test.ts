/**
 * The Raft transport's framing on internal subjects: a message for group G
 * to peer P goes to `$NATTER.RAFT.G.P` carrying the sender and the codec's
 * bytes; the receiver hands it to its node of G, and drops messages for
 * groups it does not run (yet) and garbage. A loopback core stands in for
 * the server: whatever is published reaches the one subscription when its
 * subject matches.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Account } from '../../../src/accounts/account.js';
import type { ServerCore } from '../../../src/server/core.js';
import type { InternalHandler, Subscription } from '../../../src/server/subscription.js';
import { RaftNetwork } from '../../../src/jetstream/cluster/transport.js';
import type { PeerId, RaftMessage, RaftNode } from '../../../src/raft/types.js';

interface Loopback {
  core: ServerCore;
  published: string[];
  deliver(subject: string, payload: Buffer): void;
}

function loopback(): Loopback {
  let sub: { subject: string; handler: InternalHandler } | null = null;
  const published: string[] = [];
  const matches = (pattern: string, subject: string): boolean => {
    const p = pattern.split('.');
    const s = subject.split('.');
    return p.length === s.length && p.every((t, i) => t === '*' || t === s[i]);
  };
  const deliver = (subject: string, payload: Buffer): void => {
    if (sub !== null && matches(sub.subject, subject)) sub.handler(subject, null, -1, payload, null);
  };
  const core = {
    subscribeInternal: (_acc: Account, subject: string, _q: string | null, handler: InternalHandler) => {
      sub = { subject, handler };
      return { subject } as Subscription;
    },
    unsubscribeInternal: () => {
      sub = null;
    },
    publishInternal: (_acc: Account, subject: string, _reply: string | null, payload: Buffer | string) => {
      published.push(subject);
      deliver(subject, Buffer.from(payload));
      return 1;
    },
  } as unknown as ServerCore;
  return { core, published, deliver };
}

/** Records what a group's node receives. */
function recordingNode(group: string, got: Array<[PeerId, RaftMessage]>): RaftNode {
  return { group, receive: (from: PeerId, m: RaftMessage) => got.push([from, m]) } as unknown as RaftNode;
}

describe('Raft transport', () => {
  const vote: RaftMessage = { type: 'vote', term: 7, candidate: 'peerAAAA', lastIndex: 3, lastTerm: 2, preVote: true, transfer: false };

  it('sends to $NATTER.RAFT.<group>.<peer> and hands what arrives to the group with its sender', () => {
    const lb = loopback();
    const net = new RaftNetwork(lb.core, {} as Account, 'selfBBBB');
    net.start();
    const got: Array<[PeerId, RaftMessage]> = [];
    const node = recordingNode('S-R3F-abcdefgh', got);
    net.attach(node);
    // A peer's message to this server: what its network publishes, captured, then delivered here.
    const out = loopback();
    const peerNet = new RaftNetwork(out.core, {} as Account, 'peerAAAA');
    peerNet.start();
    let frame: Buffer | null = null;
    (out.core as unknown as { publishInternal: unknown }).publishInternal = (_a: Account, subject: string, _r: string | null, payload: Buffer) => {
      out.published.push(subject);
      frame = payload;
      return 1;
    };
    peerNet.transportFor('S-R3F-abcdefgh').send('selfBBBB', vote);
    assert.deepEqual(out.published, ['$NATTER.RAFT.S-R3F-abcdefgh.selfBBBB']);
    lb.deliver(out.published[0], frame!);
    assert.deepEqual(got, [['peerAAAA', vote]]);

    // Unknown groups and garbage are dropped; a detached node hears nothing more.
    lb.deliver('$NATTER.RAFT.C-R1F-unknown0.selfBBBB', frame!);
    lb.deliver('$NATTER.RAFT.S-R3F-abcdefgh.selfBBBB', Buffer.from([8, 1, 2]));
    lb.deliver('$NATTER.RAFT.S-R3F-abcdefgh.selfBBBB', Buffer.alloc(0));
    net.detach(node);
    lb.deliver(out.published[0], frame!);
    assert.equal(got.length, 1);
    peerNet.close();
    net.close();
  });

  it('sends nothing once closed', () => {
    const lb = loopback();
    const net = new RaftNetwork(lb.core, {} as Account, 'selfBBBB');
    net.start();
    const t = net.transportFor('_meta_');
    t.send('peerAAAA', vote);
    net.close();
    t.send('peerAAAA', vote);
    assert.deepEqual(lb.published, ['$NATTER.RAFT._meta_.peerAAAA']);
  });
});
