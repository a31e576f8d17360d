import { IndexedStore, type IndexEntry } from './indexed-store.js';
import { MemoryConsumerStore } from './memory-consumer-store.js';
import { memStoreMsgSize } from './msg-size.js';
import type { ConsumerStore, StoreLimits, StoredMessage } from './types.js';

interface MemoryEntry extends IndexEntry, StoredMessage {}

/**
 * Messages kept in memory only. The index entry is the message itself; header
 * and payload are copied into one allocation so the caller's (often much
 * larger) socket buffer is not retained.
 */
export class MemoryStore extends IndexedStore<MemoryEntry> {
  readonly kind = 'memory' as const;
  readonly damagedOnLoad = false;
  private readonly consumers = new Map<string, MemoryConsumerStore>();

  constructor(limits: StoreLimits, firstSeq = 1) {
    super(limits, firstSeq);
  }

  whenDurable(cb: (err: Error | null) => void): void {
    cb(null);
  }

  whenSynced(cb: (err: Error | null) => void): void {
    cb(null);
  }

  consumerStore(name: string): ConsumerStore {
    let cs = this.consumers.get(name);
    if (cs === undefined) {
      cs = new MemoryConsumerStore(() => this.consumers.delete(name));
      this.consumers.set(name, cs);
    }
    return cs;
  }

  consumerNames(): string[] {
    return [...this.consumers].filter(([, cs]) => cs.hasConfig).map(([name]) => name);
  }

  async stop(): Promise<void> {
    this.closed = true;
    this.clearExpiryTimer();
  }

  async delete(): Promise<void> {
    await this.stop();
    this.entries.clear();
    this.subjects.clear();
    this.consumers.clear();
    this.bytes = 0;
  }

  protected msgSize(subject: string, hdr: Buffer | null, data: Buffer): number {
    return memStoreMsgSize(subject.length, hdr === null ? 0 : hdr.length, data.length);
  }

  protected appendMsg(seq: number, subject: string, hdr: Buffer | null, data: Buffer, ts: number): MemoryEntry {
    const hdrLen = hdr === null ? 0 : hdr.length;
    const copy = Buffer.allocUnsafe(hdrLen + data.length);
    if (hdr !== null) hdr.copy(copy, 0);
    data.copy(copy, hdrLen);
    return {
      seq,
      subject,
      hdr: hdr === null ? null : copy.subarray(0, hdrLen),
      data: copy.subarray(hdrLen),
      ts,
      size: memStoreMsgSize(subject.length, hdrLen, data.length),
    };
  }

  protected readMsg(_seq: number, entry: MemoryEntry): StoredMessage {
    return entry;
  }

  protected recordRemoval(): void {
    // Removing the entry from the index is all a memory store has to do.
  }

  protected recordSkip(): void {
    // Sequence state is the index's; nothing else to record in memory.
  }

  protected recordFloor(): void {
    // As above: the index already moved its first sequence.
  }

  protected afterBulkRemoval(): void {
    // No storage units to reclaim in memory.
  }
}
