/**
 * The in-memory view of a node's log: what the last snapshot covers
 * (index and term only) plus the entries after it. It mirrors what the
 * node has asked the storage to hold, including appends not yet durable;
 * the node tracks durability separately (its stable index).
 */
import { ENTRY_OVERHEAD_BYTES } from './codec.js';
import type { LogEntry } from './types.js';

export class RaftLog {
  private entries: LogEntry[];

  constructor(
    private snapIndex: number,
    private snapTerm: number,
    entries: readonly LogEntry[],
  ) {
    this.entries = entries.slice();
  }

  /** The last index the snapshot covers (0 without one). */
  snapshotIndex(): number {
    return this.snapIndex;
  }

  snapshotTerm(): number {
    return this.snapTerm;
  }

  lastIndex(): number {
    return this.snapIndex + this.entries.length;
  }

  lastTerm(): number {
    const last = this.entries[this.entries.length - 1];
    return last ? last.term : this.snapTerm;
  }

  /** The term of the entry at `index`: 0 for index 0, -1 when compacted away or past the end. */
  termAt(index: number): number {
    if (index === this.snapIndex) return this.snapTerm;
    return this.entry(index)?.term ?? -1;
  }

  /** The entry at `index` when the log still holds it. */
  entry(index: number): LogEntry | undefined {
    return this.entries[index - this.snapIndex - 1];
  }

  /** Entries from `from` on, at least one (when any), then up to `maxBytes` of wire size. */
  slice(from: number, maxBytes: number): LogEntry[] {
    const out: LogEntry[] = [];
    let bytes = 0;
    for (let i = from - this.snapIndex - 1; i < this.entries.length && i >= 0; i++) {
      const entry = this.entries[i]!;
      bytes += entry.data.length + ENTRY_OVERHEAD_BYTES;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(entry);
    }
    return out;
  }

  append(entry: LogEntry): void {
    this.entries.push(entry);
  }

  /** Drops the entries from `index` on. */
  truncateFrom(index: number): void {
    const keep = Math.max(0, index - this.snapIndex - 1);
    if (keep < this.entries.length) this.entries.length = keep;
  }

  /**
   * A snapshot now covers everything up to `index` (term `term`): entries
   * up to it go; entries after it stay when the log agrees on `index`,
   * otherwise the whole log goes (it contradicts the snapshot).
   */
  compact(index: number, term: number): void {
    if (index <= this.snapIndex) return;
    if (this.termAt(index) === term) this.entries.splice(0, index - this.snapIndex);
    else this.entries = [];
    this.snapIndex = index;
    this.snapTerm = term;
  }

  /** The data of the newest 'peers' entry at or below `index` still in the log, or null. */
  peersEntryAtOrBelow(index: number): { readonly index: number; readonly data: Buffer } | null {
    for (let i = Math.min(index, this.lastIndex()) - this.snapIndex - 1; i >= 0; i--) {
      const entry = this.entries[i]!;
      if (entry.kind === 'peers') return entry;
    }
    return null;
  }
}
