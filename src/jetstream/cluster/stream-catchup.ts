/**
 * Catching a replica up from far behind: the Raft log was compacted past
 * it, so it got the leader's snapshot (the stream's first and last sequence
 * and interior deletes) and fetches the messages it lacks from the leader's
 * store, over request/reply on system subjects.
 *
 * The follower asks for one batch at a time (`{id, from, to}`) and asks for
 * the next once it stored the previous: that is the flow control, and a
 * lost request or reply is simply asked again after a timeout. A batch is
 * an f64 "next sequence to ask for" followed by message entries in the
 * Raft entry layout (stream-entries.ts); `next > to` ends the catch-up.
 *
 * Every replica serves requests from its own store, so whoever leads when
 * a follower asks can answer.
 */
import type { Unregister } from '../../server/core.js';
import type { PeerId } from '../../raft/types.js';
import { StateLostError } from '../../raft/state-lost.js';
import type { StoredMessage, StreamStore } from '../store/types.js';
import { StoreError } from '../store/types.js';
import type { GroupContext } from './types.js';
import { msgEntrySize, readMsgEntry, writeMsgEntry } from './stream-entries.js';

/** The state a stream snapshot records (RaftStateMachine.snapshot). */
export interface StreamSnapshotState {
  /** First sequence held (last + 1 when empty). */
  readonly first: number;
  readonly last: number;
  /** Interior deleted sequences (the first 100k of them). */
  readonly deleted: readonly number[];
  /** How many interior deletes there are (more than `deleted` lists when it was cut). */
  readonly numDeleted: number;
}

const BATCH_MSGS = 512;
const BATCH_BYTES = 1 << 20;
const REQUEST_TIMEOUT_MS = 2000;
/** A catch-up that makes no progress for this long fails (the Raft node tries the snapshot again later). */
const STALL_LIMIT_MS = 30_000;

export function syncSubject(group: string, peer: PeerId): string {
  return `$NATTER.JSC.SYNC.${group}.${peer}`;
}

function replySubject(group: string, peer: PeerId): string {
  return `$NATTER.JSC.R.${group}.${peer}`;
}

export function snapshotOf(store: StreamStore): StreamSnapshotState {
  const st = store.state();
  return { first: st.msgs > 0 ? st.firstSeq : st.lastSeq + 1, last: st.lastSeq, deleted: store.deletedSeqs(), numDeleted: st.numDeleted };
}

export function decodeSnapshot(data: Buffer): StreamSnapshotState | null {
  try {
    const v = JSON.parse(data.toString('utf8')) as Partial<StreamSnapshotState>;
    if (typeof v.first !== 'number' || typeof v.last !== 'number') return null;
    const deleted = Array.isArray(v.deleted) ? v.deleted.filter((n) => typeof n === 'number') : [];
    return { first: v.first, last: v.last, deleted, numDeleted: typeof v.numDeleted === 'number' ? v.numDeleted : deleted.length };
  } catch {
    return null;
  }
}

/** Answers catch-up requests for one replica's group from its store. */
export function serveCatchUp(ctx: GroupContext, group: string, store: () => StreamStore | null): Unregister {
  return ctx.subscribeSystem(syncSubject(group, ctx.selfId), (_subject, reply, payload) => {
    const s = store();
    if (reply === null || s === null) return;
    let req: { id?: unknown; from?: unknown; to?: unknown };
    try {
      req = JSON.parse(payload.toString('utf8')) as typeof req;
    } catch {
      return;
    }
    if (typeof req.id !== 'number' || typeof req.from !== 'number' || typeof req.to !== 'number') return;
    ctx.publishSystem(reply, null, batchOf(s, req.id, req.from, req.to));
  });
}

/** id (f64), next (f64), then message entries from `from` up to `to`, within the batch limits. */
function batchOf(store: StreamStore, id: number, from: number, to: number): Buffer {
  const msgs: StoredMessage[] = [];
  let bytes = 0;
  let next = to + 1;
  for (let m = store.loadNextMsg(null, from); m !== null && m.seq <= to; m = store.loadNextMsg(null, m.seq + 1)) {
    if (msgs.length >= BATCH_MSGS || bytes >= BATCH_BYTES) {
      next = m.seq;
      break;
    }
    msgs.push(m);
    bytes += msgEntrySize(m.subject, m.hdr, m.data);
  }
  const out = Buffer.allocUnsafe(16 + bytes);
  out.writeDoubleLE(id, 0);
  out.writeDoubleLE(next, 8);
  let p = 16;
  for (const m of msgs) p = writeMsgEntry(out, p, 0, m.seq, m.ts, m.subject, m.hdr, m.data);
  return out;
}

/** Where a catch-up stores what it fetched and whom it tells. */
export interface CatchUpTarget {
  readonly store: StreamStore;
  /** A fetched message was stored (the stream's consumers hear of it). */
  stored(seq: number, subject: string): void;
  /** False once the replica stopped: the catch-up gives up. */
  alive(): boolean;
  /** Other replicas hold the stream too (what this one lost can be fetched again). */
  readonly replicated: boolean;
}

/**
 * Brings the target's store to the snapshot's state with the messages
 * `leader` sends: drops what lies below the snapshot's first sequence,
 * fetches what lies after the store's last one up to the snapshot's last,
 * removes the snapshot's interior deletes.
 */
export async function catchUp(ctx: GroupContext, group: string, leader: PeerId, target: CatchUpTarget, snap: StreamSnapshotState): Promise<void> {
  const store = target.store;
  if (snap.first > 1) store.compact(snap.first);
  if (snap.numDeleted > snap.deleted.length && store.state().msgs > 0) {
    // Messages this replica already held and the leader removed past the listed ones stay here until removed again.
    ctx.core.logger.warn(`JetStream: ${group} catch-up: the snapshot lists ${snap.deleted.length} of ${snap.numDeleted} deleted sequences; removals beyond them are not repeated here`);
  }
  if (store.state().lastSeq < snap.last) {
    // At start the node restores its own snapshot (leader = self), taken once the store was durable: it should hold all of it.
    // When it does not (damaged, or rebuilt after damage), the Raft node recovers everything from a leader; alone, it keeps what is left.
    if (leader === ctx.selfId) {
      const problem = `${group} holds messages up to ${store.state().lastSeq} but its snapshot covers up to ${snap.last}`;
      if (target.replicated) throw new StateLostError(problem);
      ctx.core.logger.warn(`JetStream: ${problem}; the rest was lost locally and no replica holds it`);
    } else {
      await fetchRange(ctx, group, leader, target, snap.last);
    }
  }
  const st = store.state();
  if (st.lastSeq < snap.last) {
    // The leader holds nothing more up to its snapshot's last sequence: the sequences were used all the same.
    if (st.msgs === 0) store.compact(snap.last + 1);
    else for (let s = st.lastSeq; s < snap.last;) s = store.skipMsg();
  }
  for (const seq of snap.deleted) store.removeMsg(seq);
  // The node records the snapshot as applied once this resolves: what it covers must be on disk first.
  await new Promise<void>((resolve, reject) => store.whenSynced((err) => (err === null ? resolve() : reject(err))));
}

async function fetchRange(ctx: GroupContext, group: string, leader: PeerId, target: CatchUpTarget, to: number): Promise<void> {
  const store = target.store;
  let id = 0;
  let waiting: ((batch: Buffer) => void) | null = null;
  const inbox = replySubject(group, ctx.selfId);
  const unsubscribe = ctx.subscribeSystem(inbox, (_subject, _reply, payload) => {
    if (payload.length >= 16 && payload.readDoubleLE(0) === id && waiting !== null) waiting(payload);
  });
  try {
    let from = store.state().lastSeq + 1;
    let progressAt = Date.now();
    while (from <= to) {
      if (!target.alive()) throw new Error('stream replica stopped during catch-up');
      if (Date.now() - progressAt > STALL_LIMIT_MS) throw new Error(`catch-up from ${leader} made no progress for ${STALL_LIMIT_MS / 1000}s`);
      id++;
      const batch = await new Promise<Buffer | null>((resolve) => {
        const timer = setTimeout(() => resolve(null), REQUEST_TIMEOUT_MS);
        waiting = (b) => {
          clearTimeout(timer);
          resolve(b);
        };
        ctx.publishSystem(syncSubject(group, leader), inbox, JSON.stringify({ id, from, to }));
      });
      waiting = null;
      if (batch === null) continue;
      progressAt = Date.now();
      for (let r = readMsgEntry(batch, 16); r !== null; r = readMsgEntry(batch, r.end)) {
        const e = r.entry;
        if (e.seq <= store.state().lastSeq) continue;
        try {
          store.storeMsgAt(e.seq, e.subject, e.hdr, e.data, e.ts);
          target.stored(e.seq, e.subject);
        } catch (err) {
          if (!(err instanceof StoreError)) throw err;
          ctx.core.logger.warn(`JetStream: catch-up of ${group} could not store message ${e.seq}: ${err.message}`);
        }
      }
      from = Math.max(from, batch.readDoubleLE(8));
    }
  } finally {
    unsubscribe();
  }
}
