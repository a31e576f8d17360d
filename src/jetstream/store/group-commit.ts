/**
 * Group commit: many appends, one write per batch and (under `sync: always`)
 * one fsync per batch, however many messages it holds.
 *
 * Appends are counted; a durability callback waits for the count at the
 * moment it registered. The write runs in a microtask, so a batch is what
 * one I/O callback stored (every message of one socket read): the PubAcks
 * then go out in the same event-loop turn, where a write deferred to
 * setImmediate would cost each publish a further turn of latency. fsync
 * runs off the loop (fs.fsync) and while it is in flight the next batches
 * keep writing, so the following fsync covers all of them.
 */
export type SyncPolicy = 'always' | number;

export interface CommitIo {
  /** Writes everything appended so far, synchronously; throws when the write failed. */
  write(): void;
  /** fsyncs what `write` wrote. */
  fsync(cb: (err: Error | null) => void): void;
}

interface Waiter {
  gen: number;
  cb: (err: Error | null) => void;
}

export class GroupCommit {
  private appended = 0;
  private written = 0;
  private synced = 0;
  private waiters: Waiter[] = [];
  private scheduled = false;
  private syncing = false;
  private syncAgain = false;
  /** The last write failed (cleared by the next write that succeeds): whenSynced reports it. */
  private writeFailure: Error | null = null;
  /** whenSynced callers: released by fsyncs only, whatever the policy. */
  private syncWaiters: Waiter[] = [];
  private idleWaiters: Array<() => void> = [];
  private readonly timer: NodeJS.Timeout | null = null;

  constructor(private readonly policy: SyncPolicy, private readonly io: CommitIo,
    private readonly onFailure: (err: unknown) => Error) {
    if (typeof policy === 'number' && policy > 0) {
      this.timer = setInterval(() => {
        if (this.synced < this.written) this.startSync();
      }, policy);
      this.timer.unref();
    }
  }

  /** Something was appended; it goes out once the code that appended it returns. */
  noteAppend(): void {
    this.appended++;
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.scheduledFlush);
    }
  }

  private readonly scheduledFlush = (): void => {
    this.scheduled = false;
    this.flush();
  };

  whenDurable(cb: (err: Error | null) => void): void {
    const gen = this.appended;
    if (gen <= this.durable()) {
      // Covered already, so the last write took it (nothing was appended
      // since): when that write failed, so did this caller's append. A store
      // operation's own microtask can write before its caller asks here.
      cb(this.writeFailure);
      return;
    }
    this.waiters.push({ gen, cb });
  }

  /** Like whenDurable, but fsynced under any policy: writes now and forces an fsync when one is needed. */
  whenSynced(cb: (err: Error | null) => void): void {
    this.flush();
    if (this.writeFailure !== null) {
      // What failed to be written is not on disk, whatever an fsync says.
      cb(this.writeFailure);
      return;
    }
    const gen = this.written;
    if (gen <= this.synced) {
      cb(null);
      return;
    }
    this.syncWaiters.push({ gen, cb });
    this.startSync();
  }

  /** Writes now (block roll, erase, stop) instead of waiting for the end of the turn. */
  flush(): void {
    const target = this.appended;
    if (target === this.written) return;
    try {
      this.io.write();
    } catch (err) {
      this.written = target;
      this.synced = Math.max(this.synced, target);
      this.writeFailure = this.onFailure(err);
      this.release(target, this.writeFailure);
      return;
    }
    this.writeFailure = null;
    this.written = target;
    if (this.policy === 'always') this.startSync();
    else this.release(target, null);
  }

  /** The caller fsynced everything written so far itself (block roll, stop). */
  markSynced(): void {
    this.synced = Math.max(this.synced, this.written);
    this.release(this.durable(), null);
    this.releaseSynced(this.synced, null);
  }

  /** Resolves when no fsync is in flight, so the file can be closed. */
  idle(): Promise<void> {
    if (!this.syncing) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
  }

  private durable(): number {
    return this.policy === 'always' ? this.synced : this.written;
  }

  private startSync(): void {
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    this.syncing = true;
    const target = this.written;
    this.io.fsync((err) => {
      this.syncing = false;
      this.synced = Math.max(this.synced, target);
      const failure = err === null ? null : this.onFailure(err);
      if (this.policy === 'always') this.release(target, failure);
      this.releaseSynced(target, failure);
      if (this.syncAgain) {
        this.syncAgain = false;
        this.startSync();
      } else {
        for (const resolve of this.idleWaiters.splice(0)) resolve();
      }
    });
  }

  /**
   * Runs every waiter whose appends are covered by `upTo`, in a microtask:
   * a flush forced from inside a store operation (block roll, erase) must
   * not run callers' code in the middle of it.
   */
  private release(upTo: number, err: Error | null): void {
    releaseWaiters(this.waiters, upTo, err);
  }

  private releaseSynced(upTo: number, err: Error | null): void {
    releaseWaiters(this.syncWaiters, upTo, err);
  }
}

function releaseWaiters(waiters: Waiter[], upTo: number, err: Error | null): void {
  let n = 0;
  while (n < waiters.length && waiters[n].gen <= upTo) n++;
  if (n === 0) return;
  const done = waiters.splice(0, n);
  queueMicrotask(() => {
    for (const w of done) w.cb(err);
  });
}
