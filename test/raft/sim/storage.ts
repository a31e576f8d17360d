/**
 * A disk for the simulation. Operations queue up in order and each becomes
 * durable (and resolves) only after a simulated fsync delay; a crash loses
 * every operation not yet durable, so the disk keeps a prefix of what the
 * node asked for. Optionally, the next load finds a damaged tail: durable
 * entries cut off (as a corrupted record would), reported damaged the way
 * the file storage does it (a floor).
 */
import type { HardState, LoadedState, LogEntry, RaftStorage, Snapshot } from '../../../src/raft/types.js';
import type { Rng } from '../../helpers/random.js';
import type { Scheduler } from './scheduler.js';

type Op =
  | { kind: 'hard'; state: HardState }
  | { kind: 'append'; entries: readonly LogEntry[] }
  | { kind: 'truncate'; index: number }
  | { kind: 'snapshot'; snapshot: Snapshot }
  | { kind: 'discard' };

export class SimDisk {
  hard: HardState = { term: 0, vote: null };
  snapshot: Snapshot | null = null;
  entries: LogEntry[] = [];
  /** Raised by a crash: completions of the old life are dropped. */
  life = 0;
  private lastCompletion = 0;
  /** Entries to cut from the durable tail at the next load (0: none). */
  damageNext = 0;
  /**
   * The highest index the log durably reached (the file storage's floor):
   * a load shorter than it reports damage, also on later restarts, until
   * the log has grown back past it. Truncations lower it, except while the
   * damage lasts: a node told to truncate then may still lack entries it
   * acknowledged before the damage, beyond its log's end.
   */
  private floor = 0;
  private damaged = false;

  constructor(private readonly scheduler: Scheduler, private readonly rng: Rng, private readonly maxFsyncMs: number) {}

  /** A load now would report damage. */
  isDamaged(): boolean {
    return this.damaged || this.damageNext > 0;
  }

  crash(): void {
    this.life++;
    this.lastCompletion = this.scheduler.now;
  }

  lastIndex(): number {
    const last = this.entries[this.entries.length - 1];
    return last ? last.index : (this.snapshot?.meta.lastIndex ?? 0);
  }

  submit(op: Op): Promise<void> {
    const life = this.life;
    const done = Math.max(this.lastCompletion, this.scheduler.now + this.rng.next() * this.maxFsyncMs);
    this.lastCompletion = done;
    return new Promise<void>((resolve) => {
      this.scheduler.at(done, () => {
        if (life !== this.life) return;
        this.applyOp(op);
        this.scheduler.promisesPending = true;
        resolve();
      });
    });
  }

  private applyOp(op: Op): void {
    switch (op.kind) {
      case 'hard':
        this.hard = op.state;
        return;
      case 'append': {
        let expected = this.lastIndex() + 1;
        for (const e of op.entries) {
          if (e.index !== expected) throw new Error(`sim disk: append ${e.index}, expected ${expected}`);
          this.entries.push(e);
          expected++;
        }
        if (this.lastIndex() >= this.floor) this.damaged = false;
        this.floor = Math.max(this.floor, this.lastIndex());
        return;
      }
      case 'truncate': {
        const keep = this.entries.findIndex((e) => e.index >= op.index);
        if (keep >= 0) this.entries.length = keep;
        if (!this.damaged) this.floor = Math.min(this.floor, op.index - 1);
        return;
      }
      case 'discard':
        this.floor = Math.max(this.floor, this.lastIndex());
        this.snapshot = null;
        this.entries = [];
        this.damaged = true;
        return;
      case 'snapshot': {
        this.snapshot = op.snapshot;
        this.entries = this.entries.filter((e) => e.index > op.snapshot.meta.lastIndex);
        if (this.lastIndex() >= this.floor) this.damaged = false;
        this.floor = Math.max(this.floor, this.lastIndex());
        return;
      }
    }
  }

  load(): LoadedState {
    if (this.damageNext > 0) this.entries.length = Math.max(0, this.entries.length - this.damageNext);
    this.damageNext = 0;
    this.damaged = this.lastIndex() < this.floor;
    const damaged = this.damaged;
    return { hard: this.hard, snapshot: this.snapshot, entries: this.entries.slice(), damaged };
  }
}

/** The RaftStorage a node gets for one life. */
export class SimStorage implements RaftStorage {
  constructor(private readonly disk: SimDisk) {}

  load(): Promise<LoadedState> {
    return Promise.resolve(this.disk.load());
  }
  saveHardState(state: HardState): Promise<void> {
    return this.disk.submit({ kind: 'hard', state: { term: state.term, vote: state.vote } });
  }
  append(entries: readonly LogEntry[]): Promise<void> {
    return this.disk.submit({ kind: 'append', entries: entries.slice() });
  }
  truncateFrom(index: number): Promise<void> {
    return this.disk.submit({ kind: 'truncate', index });
  }
  saveSnapshot(snapshot: Snapshot): Promise<void> {
    return this.disk.submit({ kind: 'snapshot', snapshot });
  }
  discardLog(): Promise<void> {
    return this.disk.submit({ kind: 'discard' });
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
