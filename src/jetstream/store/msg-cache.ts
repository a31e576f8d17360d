import type { StoredMessage } from './types.js';

/** An index entry that can hold its message in memory. */
export interface Cacheable {
  cached: StoredMessage | null;
}

/**
 * Recently stored messages, so consumers reading fresh data (the common
 * case) never touch the disk. The message hangs off its index entry; a FIFO
 * of entries decides what goes first. Bounded by bytes, except that messages
 * not yet written to the file are never evicted, since the file cannot serve
 * them yet.
 */
export class MsgCache<T extends Cacheable> {
  private queue: T[] = [];
  private head = 0;
  private live = 0;
  private bytes = 0;

  constructor(private readonly budget: number) {}

  add(owner: T, msg: StoredMessage): void {
    owner.cached = msg;
    this.queue.push(owner);
    this.live++;
    this.bytes += weight(msg);
  }

  /** The entry's message left the store. */
  drop(owner: T): void {
    const m = owner.cached;
    if (m === null) return;
    owner.cached = null;
    this.live--;
    this.bytes -= weight(m);
    // Entries dropped behind a long-lived one would pile up in the queue: sweep when they dominate.
    if (this.queue.length - this.head > 2 * this.live + 1024) {
      this.queue = this.queue.slice(this.head).filter((o) => o.cached !== null);
      this.head = 0;
    }
  }

  /** Evicts the oldest messages over budget, none with a sequence above `writtenSeq`. */
  trim(writtenSeq: number): void {
    const q = this.queue;
    while (this.head < q.length) {
      const o = q[this.head];
      const m = o.cached;
      if (m !== null) {
        if (this.bytes <= this.budget || m.seq > writtenSeq) break;
        o.cached = null;
        this.live--;
        this.bytes -= weight(m);
      }
      this.head++;
    }
    if (this.head >= 1024 && this.head * 2 >= q.length) {
      this.queue = q.slice(this.head);
      this.head = 0;
    }
  }

  clear(): void {
    for (let i = this.head; i < this.queue.length; i++) this.queue[i].cached = null;
    this.queue = [];
    this.head = 0;
    this.live = 0;
    this.bytes = 0;
  }
}

function weight(m: StoredMessage): number {
  return m.data.length + (m.hdr === null ? 0 : m.hdr.length) + m.subject.length + 64;
}
