/**
 * Raft storage on files, in one directory per node and group:
 *
 *   state              term, vote and the log floor (state-files.ts)
 *   snapshot           the latest snapshot (state-files.ts)
 *   log/<first>.seg    the log, in segments (log-segments.ts, log-record.ts)
 *
 * Operations run one at a time in call order. Appends are group-committed:
 * every append called while the previous operation is in flight (or in the
 * same event-loop turn when idle) joins one batch, encoded into one buffer,
 * written with one write (one per segment when it rolls over) and made
 * durable with one fsync; every caller in it gets the batch's promise.
 * Entries are encoded when their batch is written: callers must leave their
 * data buffers alone until then (Raft keeps them unchanged anyway).
 *
 * An I/O failure stops the storage: that operation and every one after it
 * reject with the error, until the storage is closed and loaded again (a
 * write that failed half-way leaves a tail that load cuts).
 *
 * Damage that checksums cannot see, a log file cut at a record boundary,
 * is caught by the floor kept in `state`: an index the log durably reached,
 * recorded at most every `floorIntervalMs` and lowered before any
 * truncation below it. A log that loads shorter than its floor lost
 * entries, and the load reports damage until the log has grown past the
 * floor again (so a second restart before the node was caught up still
 * reports it).
 */
import { readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isEntryKind, MAX_RECORD_BYTES, RECORD_HEADER_BYTES } from './log-record.js';
import { SegmentLog } from './log-segments.js';
import {
  DAMAGED_SNAPSHOT_FILE, decodeSnapshot, decodeState, encodeSnapshot, encodeState, isNotFound, makeDir,
  RaftStorageError, removeLeftovers, replaceFile, SNAPSHOT_FILE, STATE_FILE, type PersistedState,
} from './state-files.js';
import type { HardState, LoadedState, LogEntry, RaftLogger, RaftStorage, Snapshot } from './types.js';

export interface FileRaftStorageOptions {
  /** Resolve only once changes are fsynced (true), or once the OS has them (false). */
  readonly sync: boolean;
  /** A new segment begins once the last one would grow past this (default 16 MiB). */
  readonly segmentBytes?: number;
  /** How often, at most, the log floor is recorded while appends go on (default 1000 ms). */
  readonly floorIntervalMs?: number;
  /** Told what a load repaired. */
  readonly logger?: RaftLogger;
}

/** Group-commit figures since the storage was opened. */
export interface FileRaftStorageStats {
  /** Append batches written (each one writev and, durable, one fsync). */
  readonly appendBatches: number;
  /** Entries in them. */
  readonly appendedEntries: number;
  /** The most entries one batch held. */
  readonly largestBatch: number;
}

export interface FileRaftStorage extends RaftStorage {
  stats(): FileRaftStorageStats;
}

const DEFAULT_SEGMENT_BYTES = 16 * 1024 * 1024;
const DEFAULT_FLOOR_INTERVAL_MS = 1000;

class Deferred<T> {
  readonly promise: Promise<T>;
  resolve!: (value: T) => void;
  reject!: (err: Error) => void;
  constructor() {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

interface AppendOp {
  readonly kind: 'append';
  readonly entries: LogEntry[];
  readonly done: Deferred<void>;
}

type Op =
  | AppendOp
  | { readonly kind: 'load'; readonly done: Deferred<LoadedState> }
  | { readonly kind: 'hard'; readonly state: HardState; readonly done: Deferred<void> }
  | { readonly kind: 'truncate'; readonly index: number; readonly done: Deferred<void> }
  /** `snapshot` null: one older than the stored snapshot, which only waits its turn. */
  | { readonly kind: 'snapshot'; readonly snapshot: Snapshot | null; readonly done: Deferred<void> }
  | { readonly kind: 'floor' }
  | { readonly kind: 'discard'; readonly done: Deferred<void> }
  | { readonly kind: 'close'; readonly done: Deferred<void> };

const WHAT: Record<Op['kind'], string> = {
  append: 'append to the log',
  load: 'load',
  hard: 'save the term and vote',
  truncate: 'truncate the log',
  snapshot: 'save a snapshot',
  floor: 'record the log floor',
  discard: 'discard the log',
  close: 'close',
};

export function openFileRaftStorage(dir: string, options: FileRaftStorageOptions): FileRaftStorage {
  return new FileStorage(dir, options);
}

class FileStorage implements FileRaftStorage {
  private readonly log: SegmentLog;
  private readonly sync: boolean;
  private readonly floorIntervalMs: number;
  private readonly queue: Op[] = [];
  private running = false;
  private scheduled = false;
  /** The batch at the end of the queue that appends still join. */
  private openBatch: AppendOp | null = null;
  /** As of the calls made so far: the index the next append must start at; null before load or after close. */
  private nextIndex: number | null = null;
  /** As of the calls made so far: the stored snapshot's last index. */
  private snapshotIndex = 0;
  /** As of the operations run so far: what `state` holds. */
  private persisted: PersistedState = { term: 0, vote: null, floor: 0 };
  private failure: Error | null = null;
  private floorTimer: NodeJS.Timeout | null = null;
  private appendBatches = 0;
  private appendedEntries = 0;
  private largestBatch = 0;

  constructor(private readonly dir: string, private readonly options: FileRaftStorageOptions) {
    this.sync = options.sync;
    this.floorIntervalMs = options.floorIntervalMs ?? DEFAULT_FLOOR_INTERVAL_MS;
    this.log = new SegmentLog(dir, options.sync, options.segmentBytes ?? DEFAULT_SEGMENT_BYTES);
  }

  load(): Promise<LoadedState> {
    const done = new Deferred<LoadedState>();
    this.nextIndex = null;
    this.enqueue({ kind: 'load', done });
    return done.promise;
  }

  saveHardState(state: HardState): Promise<void> {
    const refused = this.refusal();
    if (refused !== null) return Promise.reject(refused);
    if (!Number.isSafeInteger(state.term) || state.term < 0 || !(state.vote === null || typeof state.vote === 'string')) {
      return Promise.reject(new RangeError(`raft storage ${this.dir}: invalid hard state`));
    }
    const done = new Deferred<void>();
    this.enqueue({ kind: 'hard', state: { term: state.term, vote: state.vote }, done });
    return done.promise;
  }

  append(entries: readonly LogEntry[]): Promise<void> {
    const refused = this.refusal() ?? this.invalidAppend(entries);
    if (refused !== null) return Promise.reject(refused);
    let batch = this.openBatch;
    if (batch === null) {
      batch = { kind: 'append', entries: [], done: new Deferred<void>() };
      this.enqueue(batch);
      this.openBatch = batch;
    }
    for (const e of entries) batch.entries.push(e);
    this.nextIndex! += entries.length;
    return batch.done.promise;
  }

  truncateFrom(index: number): Promise<void> {
    const refused = this.refusal();
    if (refused !== null) return Promise.reject(refused);
    if (!Number.isSafeInteger(index) || index < 1) {
      return Promise.reject(new RangeError(`raft storage ${this.dir}: cannot truncate from ${index}`));
    }
    // Entries the snapshot covers are not the log's to drop: what goes is everything after the snapshot.
    const from = Math.max(index, this.snapshotIndex + 1);
    this.nextIndex = Math.min(this.nextIndex!, from);
    const done = new Deferred<void>();
    this.enqueue({ kind: 'truncate', index: from, done });
    return done.promise;
  }

  saveSnapshot(snapshot: Snapshot): Promise<void> {
    const refused = this.refusal();
    if (refused !== null) return Promise.reject(refused);
    const { lastIndex, lastTerm, peers } = snapshot.meta;
    if (!Number.isSafeInteger(lastIndex) || lastIndex < 0 || !Number.isSafeInteger(lastTerm) || lastTerm < 0
      || !Array.isArray(peers) || !Buffer.isBuffer(snapshot.data)) {
      return Promise.reject(new RangeError(`raft storage ${this.dir}: invalid snapshot (last index ${lastIndex})`));
    }
    // One older than the stored snapshot (taken locally while a newer one came from the leader) is
    // ignored: the stored one covers more, and the log may already be compacted past the older one.
    const newer = lastIndex >= this.snapshotIndex;
    if (newer) {
      this.snapshotIndex = lastIndex;
      this.nextIndex = Math.max(this.nextIndex!, lastIndex + 1);
    }
    const done = new Deferred<void>();
    this.enqueue({ kind: 'snapshot', snapshot: newer ? snapshot : null, done });
    return done.promise;
  }

  discardLog(): Promise<void> {
    const refused = this.refusal();
    if (refused !== null) return Promise.reject(refused);
    this.snapshotIndex = 0;
    this.nextIndex = 1;
    const done = new Deferred<void>();
    this.enqueue({ kind: 'discard', done });
    return done.promise;
  }

  close(): Promise<void> {
    this.nextIndex = null;
    if (this.floorTimer !== null) clearTimeout(this.floorTimer);
    this.floorTimer = null;
    const done = new Deferred<void>();
    this.enqueue({ kind: 'close', done });
    return done.promise;
  }

  stats(): FileRaftStorageStats {
    return { appendBatches: this.appendBatches, appendedEntries: this.appendedEntries, largestBatch: this.largestBatch };
  }

  /** Why no change can be accepted now, or null. */
  private refusal(): Error | null {
    if (this.failure !== null) return this.failure;
    if (this.nextIndex === null) return new Error(`raft storage ${this.dir}: not loaded (or closed)`);
    return null;
  }

  private invalidAppend(entries: readonly LogEntry[]): Error | null {
    let index = this.nextIndex!;
    for (const e of entries) {
      if (e.index !== index) {
        return new RangeError(`raft storage ${this.dir}: append of entry ${e.index} where ${index} comes next`);
      }
      if (!Number.isSafeInteger(e.term) || e.term < 0 || !isEntryKind(e.kind) || !Buffer.isBuffer(e.data)) {
        return new RangeError(`raft storage ${this.dir}: entry ${e.index} is malformed`);
      }
      if (e.data.length > MAX_RECORD_BYTES - RECORD_HEADER_BYTES) {
        return new RangeError(`raft storage ${this.dir}: entry ${e.index} has ${e.data.length} bytes, over the limit`);
      }
      index++;
    }
    return null;
  }

  private enqueue(op: Op): void {
    // Whatever comes after this operation must also run after it: no later append joins an earlier batch.
    this.openBatch = null;
    this.queue.push(op);
    if (!this.running && !this.scheduled) {
      this.scheduled = true;
      // Once the code that queued it is done (a route read hands over all its appends in one go), so
      // they join one batch; a microtask rather than the next turn, which would add a loop iteration
      // to every replicated write.
      queueMicrotask(() => void this.drain());
    }
  }

  private async drain(): Promise<void> {
    this.scheduled = false;
    this.running = true;
    while (this.queue.length > 0) {
      const op = this.queue.shift()!;
      if (op === this.openBatch) this.openBatch = null;
      await this.run(op);
    }
    this.running = false;
  }

  private async run(op: Op): Promise<void> {
    if (this.failure !== null && op.kind !== 'load' && op.kind !== 'close') {
      if (op.kind !== 'floor') op.done.reject(this.failure);
      return;
    }
    try {
      switch (op.kind) {
        case 'append':
          await this.log.append(op.entries);
          this.countBatch(op.entries.length);
          this.scheduleFloor();
          op.done.resolve();
          return;
        case 'load':
          op.done.resolve(await this.runLoad());
          return;
        case 'hard':
          await this.writeState({ ...op.state, floor: this.currentFloor() });
          op.done.resolve();
          return;
        case 'truncate':
          // Lowered first (a crash between the two then finds a log longer than its floor, not shorter),
          // and only while the log reaches its floor: a damaged log (shorter than its floor) may have
          // acknowledged entries it lost, so it stays marked until it has grown past the floor again.
          if (this.log.lastIndex() >= this.persisted.floor && op.index - 1 < this.persisted.floor) {
            await this.writeState({ ...this.persisted, floor: op.index - 1 });
          }
          await this.log.truncateFrom(op.index);
          op.done.resolve();
          return;
        case 'snapshot':
          if (op.snapshot !== null) {
            await replaceFile(this.dir, SNAPSHOT_FILE, encodeSnapshot(op.snapshot), this.sync);
            await this.log.compact(op.snapshot.meta.lastIndex);
          }
          op.done.resolve();
          return;
        case 'discard':
          // The floor first: a crash half-way then finds a log shorter than its floor, damaged as it should be.
          await this.writeState({ ...this.persisted, floor: this.currentFloor() });
          await this.log.truncateFrom(1);
          await rm(join(this.dir, SNAPSHOT_FILE), { force: true });
          op.done.resolve();
          return;
        case 'floor':
          if (this.nextIndex !== null && this.currentFloor() > this.persisted.floor) {
            await this.writeState({ ...this.persisted, floor: this.currentFloor() });
          }
          return;
        case 'close':
          if (this.failure === null && this.currentFloor() > this.persisted.floor) {
            await this.writeState({ ...this.persisted, floor: this.currentFloor() });
          }
          await this.log.close();
          op.done.resolve();
          return;
      }
    } catch (err) {
      const failure = err instanceof RaftStorageError ? err : new RaftStorageError(this.dir, WHAT[op.kind], err);
      if (op.kind !== 'load' && op.kind !== 'close') {
        this.failure = failure;
        // A failed write may have left a partial record: the log handle must not be written again.
        await this.log.close().catch(() => undefined);
      }
      if (op.kind !== 'floor') op.done.reject(failure);
    }
  }

  private countBatch(entries: number): void {
    if (entries === 0) return;
    this.appendBatches++;
    this.appendedEntries += entries;
    if (entries > this.largestBatch) this.largestBatch = entries;
  }

  /** The floor to record now: never lowered here (only truncation lowers it). */
  private currentFloor(): number {
    return Math.max(this.persisted.floor, this.log.lastIndex());
  }

  private scheduleFloor(): void {
    if (this.floorTimer !== null || this.nextIndex === null || this.log.lastIndex() <= this.persisted.floor) return;
    this.floorTimer = setTimeout(() => {
      this.floorTimer = null;
      if (this.nextIndex !== null) this.enqueue({ kind: 'floor' });
    }, this.floorIntervalMs);
    this.floorTimer.unref();
  }

  private async writeState(state: PersistedState): Promise<void> {
    await replaceFile(this.dir, STATE_FILE, encodeState(state), this.sync);
    this.persisted = state;
  }

  private async runLoad(): Promise<LoadedState> {
    await this.log.close();
    await makeDir(this.dir, this.sync);
    await removeLeftovers(this.dir);
    const problems: string[] = [];
    const stateBuf = await this.readOptional(STATE_FILE);
    const state = stateBuf === null ? { term: 0, vote: null, floor: 0 } : decodeState(stateBuf);
    if (state === null) problems.push(`${STATE_FILE} is damaged: the vote is forgotten`);
    const snapshotBuf = await this.readOptional(SNAPSHOT_FILE);
    const snapshot = snapshotBuf === null ? null : decodeSnapshot(snapshotBuf);
    if (snapshotBuf !== null && snapshot === null) {
      problems.push(`${SNAPSHOT_FILE} is damaged: set aside as ${DAMAGED_SNAPSHOT_FILE}`);
      await rename(join(this.dir, SNAPSHOT_FILE), join(this.dir, DAMAGED_SNAPSHOT_FILE));
    }
    const after = snapshot?.meta.lastIndex ?? 0;
    const log = await this.log.load(after, snapshot?.meta.lastTerm ?? 0);
    problems.push(...log.problems);
    let damaged = log.damaged || state === null || (snapshotBuf !== null && snapshot === null);
    if (state !== null && this.log.lastIndex() < state.floor) {
      problems.push(`the log ends at ${this.log.lastIndex()} but had reached ${state.floor}: entries were lost`);
      damaged = true;
    }
    // A forgotten term restarts from the highest one stored: a node's term is never below its log's.
    const lastTerm = log.entries.length > 0 ? log.entries[log.entries.length - 1].term : snapshot?.meta.lastTerm ?? 0;
    this.persisted = state ?? { term: lastTerm, vote: null, floor: 0 };
    this.snapshotIndex = after;
    this.nextIndex = this.log.lastIndex() + 1;
    this.failure = null;
    for (const r of log.repairs) this.options.logger?.info(`raft storage ${this.dir}: ${r}`);
    for (const p of problems) this.options.logger?.warn(`raft storage ${this.dir}: ${p}`);
    return {
      hard: { term: this.persisted.term, vote: this.persisted.vote },
      snapshot,
      entries: log.entries,
      damaged,
    };
  }

  private async readOptional(name: string): Promise<Buffer | null> {
    try {
      return await readFile(join(this.dir, name));
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }
}
