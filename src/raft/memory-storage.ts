/**
 * RaftStorage kept in memory: for groups whose data is not durable anyway
 * (memory streams) and for tests. Every operation is complete when its
 * promise resolves; nothing survives the process. It checks the contract's
 * preconditions (contiguous appends) so a node bug shows up as an error
 * instead of a silently holed log.
 */
import type { HardState, LoadedState, LogEntry, RaftStorage, Snapshot } from './types.js';

export class MemoryRaftStorage implements RaftStorage {
  protected hard: HardState = { term: 0, vote: null };
  protected snapshot: Snapshot | null = null;
  protected entries: LogEntry[] = [];

  async load(): Promise<LoadedState> {
    return { hard: this.hard, snapshot: this.snapshot, entries: this.entries.slice(), damaged: false };
  }

  async saveHardState(state: HardState): Promise<void> {
    this.hard = { term: state.term, vote: state.vote };
  }

  async append(entries: readonly LogEntry[]): Promise<void> {
    this.appendNow(entries);
  }

  async truncateFrom(index: number): Promise<void> {
    this.truncateNow(index);
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    this.saveSnapshotNow(snapshot);
  }

  async discardLog(): Promise<void> {
    // Memory storage never reports damage: a memory group's state machine loses everything on restart anyway.
    this.snapshot = null;
    this.entries = [];
  }

  async close(): Promise<void> {}

  /** The index of the last entry held (or covered by the snapshot). */
  lastIndex(): number {
    const last = this.entries[this.entries.length - 1];
    return last ? last.index : (this.snapshot?.meta.lastIndex ?? 0);
  }

  protected appendNow(entries: readonly LogEntry[]): void {
    let expected = this.lastIndex() + 1;
    for (const entry of entries) {
      if (entry.index !== expected) throw new Error(`raft storage: append of index ${entry.index}, expected ${expected}`);
      this.entries.push(entry);
      expected++;
    }
  }

  protected truncateNow(index: number): void {
    const keep = this.entries.findIndex((e) => e.index >= index);
    if (keep >= 0) this.entries.length = keep;
  }

  protected saveSnapshotNow(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    const first = this.entries.findIndex((e) => e.index > snapshot.meta.lastIndex);
    this.entries = first < 0 ? [] : this.entries.slice(first);
  }
}
