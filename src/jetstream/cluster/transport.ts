/**
 * Raft messages between servers: internal subjects in the system account,
 * carried by the existing routes. A message for group G to peer P goes to
 * `$NATTER.RAFT.G.P`; each server subscribes once to `$NATTER.RAFT.*.<self>`
 * and hands what arrives to its node of that group. The payload is the
 * sender's peer id (one length byte, then the id) followed by the codec's
 * encoding of the message.
 *
 * The prefix is our own, not nats-server's `$NRG`: a nats-server in the same
 * cluster must never take our traffic for its own groups (or the reverse).
 * A message for a group this server does not run (yet) is dropped: Raft
 * retries, and the group may start a moment later.
 */
import type { Account } from '../../accounts/account.js';
import type { ServerCore } from '../../server/core.js';
import type { Subscription } from '../../server/subscription.js';
import { decodeRaftMessage, encodeRaftMessage } from '../../raft/codec.js';
import type { PeerId, RaftMessage, RaftNode, RaftTransport } from '../../raft/types.js';

const RAFT_SUBJECT_PREFIX = '$NATTER.RAFT.';

/** The sender header: one length byte, then the id's bytes. */
function senderHeader(id: PeerId): Buffer {
  const bytes = Buffer.from(id, 'utf8');
  if (bytes.length > 255) throw new RangeError(`peer id longer than 255 bytes: ${id}`);
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}

/** One group's way out: a precomputed subject prefix, no allocation besides the message itself. */
class GroupTransport implements RaftTransport {
  private readonly prefix: string;

  constructor(private readonly network: RaftNetwork, group: string) {
    this.prefix = `${RAFT_SUBJECT_PREFIX}${group}.`;
  }

  send(to: PeerId, message: RaftMessage): void {
    this.network.publish(this.prefix + to, message);
  }
}

export class RaftNetwork {
  private readonly core: ServerCore;
  private readonly sys: Account;
  private readonly selfId: PeerId;
  private readonly header: Buffer;
  private readonly groups = new Map<string, RaftNode>();
  private sub: Subscription | null = null;

  constructor(core: ServerCore, sys: Account, selfId: PeerId) {
    this.core = core;
    this.sys = sys;
    this.selfId = selfId;
    this.header = senderHeader(selfId);
  }

  start(): void {
    if (this.sub !== null) return;
    this.sub = this.core.subscribeInternal(this.sys, `${RAFT_SUBJECT_PREFIX}*.${this.selfId}`, null, (subject, _reply, hdrLen, msg) => {
      this.deliver(subject, hdrLen > 0 ? msg.subarray(hdrLen) : msg);
    });
  }

  /** The transport for one group's node (messages leave through it). */
  transportFor(group: string): RaftTransport {
    return new GroupTransport(this, group);
  }

  /** Routes arriving messages of `node.group` to `node` until detached. */
  attach(node: RaftNode): void {
    this.groups.set(node.group, node);
  }

  /** Stops routing to `node` (a newer node of the same group stays attached). */
  detach(node: RaftNode): void {
    if (this.groups.get(node.group) === node) this.groups.delete(node.group);
  }

  close(): void {
    if (this.sub !== null) this.core.unsubscribeInternal(this.sys, this.sub);
    this.sub = null;
    this.groups.clear();
  }

  /** Called by GroupTransport. */
  publish(subject: string, message: RaftMessage): void {
    if (this.sub === null) return;
    const body = encodeRaftMessage(message);
    this.core.publishInternal(this.sys, subject, null, Buffer.concat([this.header, body], this.header.length + body.length));
  }

  private deliver(subject: string, payload: Buffer): void {
    // `$NATTER.RAFT.<group>.<self>`: the group is between the prefix and the last dot.
    const end = subject.length - this.selfId.length - 1;
    const group = subject.slice(RAFT_SUBJECT_PREFIX.length, end);
    const node = this.groups.get(group);
    if (node === undefined || payload.length < 1) return;
    const idLen = payload[0];
    if (payload.length < 1 + idLen) return;
    const from = payload.toString('utf8', 1, 1 + idLen);
    const message = decodeRaftMessage(payload.subarray(1 + idLen));
    if (message === null) return;
    node.receive(from, message);
  }
}
