import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../log/logger.js';
import { writeFileAtomic, writeFileAtomicAsync } from './atomic-file.js';
import type { SyncPolicy } from './group-commit.js';
import type { ConsumerState, ConsumerStore } from './types.js';

/** The JSON shape of `state.json`: pending and redelivered as [seq, ...] tuples. */
interface StateFile {
  delivered: { consumer_seq: number; stream_seq: number };
  ack_floor: { consumer_seq: number; stream_seq: number };
  pending: Array<[number, number, number]>;
  redelivered: Array<[number, number]>;
}

const CONFIG_FILE = 'meta.json';
const STATE_FILE = 'state.json';

/**
 * How long state updates gather before one write (nats-server's consumer
 * flusher waits the same after a change). Acks arrive in bursts of hundreds
 * a millisecond; a write per turn would rewrite state.json thousands of times
 * a second, and each write is four trips to the thread pool.
 */
const WRITE_DELAY_MS = 10;

/**
 * A consumer's files under `<stream>/obs/<name>/`: `meta.json` (config and
 * creation time) and `state.json`, each replaced atomically (temp file +
 * rename). State updates are coalesced: the first update after a write
 * starts a short delay, the state is read and written off the loop when it
 * ends, and while a write is in flight only the newest state waits for the
 * next one. A caller waiting for durability (a confirmed ack) cuts the delay
 * short. Under `sync: always` the file and directory are fsynced; with a sync
 * interval the rename alone makes it safe against process death (a crash may
 * lose the latest unconfirmed acks, which only means redelivery).
 */
export class FileConsumerStore implements ConsumerStore {
  /** The caller's state, read when the write starts (see ConsumerStore.update); null when nothing is owed. */
  private latest: ConsumerState | null = null;
  private scheduled: NodeJS.Timeout | null = null;
  /** The directory exists (made once; again after a write found it gone). */
  private dirMade = false;
  private writing: Promise<void> | null = null;
  /** Updates received, and how many of them the last finished write covered. */
  private updates = 0;
  private written = 0;
  private durableWaiters: Array<{ gen: number; cb: (err: Error | null) => void }> = [];

  constructor(private readonly dir: string, private readonly sync: SyncPolicy, private readonly logger: Logger,
    private readonly onDelete: () => void) {}

  saveConfig(config: unknown, created: number): void {
    mkdirSync(this.dir, { recursive: true });
    this.dirMade = true;
    writeFileAtomic(join(this.dir, CONFIG_FILE), JSON.stringify({ config, created }), this.sync === 'always');
  }

  loadConfig(): { config: unknown; created: number } | null {
    const parsed = this.readJson(CONFIG_FILE) as { config?: unknown; created?: unknown } | null;
    if (parsed === null || typeof parsed.created !== 'number') return null;
    return { config: parsed.config, created: parsed.created };
  }

  update(state: ConsumerState): void {
    this.updates++;
    this.latest = state;
    if (this.scheduled === null && this.writing === null) {
      this.scheduled = setTimeout(this.onDelay, WRITE_DELAY_MS);
      this.scheduled.unref();
    }
  }

  whenDurable(cb: (err: Error | null) => void): void {
    if (this.written >= this.updates) {
      cb(null);
      return;
    }
    this.durableWaiters.push({ gen: this.updates, cb });
    // Someone waits for this state: write it now rather than after the delay.
    if (this.scheduled !== null) {
      this.cancel();
      this.startWrite();
    }
  }

  private readonly onDelay = (): void => {
    this.scheduled = null;
    this.startWrite();
  };

  load(): ConsumerState | null {
    // A state not yet on disk is newer than the file.
    const f = this.latest !== null ? toFile(this.latest) : this.readJson(STATE_FILE) as StateFile | null;
    if (f === null) return null;
    return {
      delivered: { consumerSeq: f.delivered.consumer_seq, streamSeq: f.delivered.stream_seq },
      ackFloor: { consumerSeq: f.ack_floor.consumer_seq, streamSeq: f.ack_floor.stream_seq },
      pending: new Map(f.pending.map(([sseq, cseq, ts]) => [sseq, { consumerSeq: cseq, ts }])),
      redelivered: new Map(f.redelivered),
    };
  }

  /** Writes whatever state is still pending and waits for it. */
  async stop(): Promise<void> {
    this.cancel();
    while (this.writing !== null || this.latest !== null) {
      if (this.writing === null) this.startWrite();
      await this.writing;
    }
  }

  async delete(): Promise<void> {
    this.cancel();
    this.latest = null;
    if (this.writing !== null) await this.writing;
    rmSync(this.dir, { recursive: true, force: true });
    this.onDelete();
  }

  private startWrite(): void {
    if (this.writing !== null || this.latest === null) return;
    const file = JSON.stringify(toFile(this.latest));
    const gen = this.updates;
    this.latest = null;
    this.writing = (async () => {
      let failure: Error | null = null;
      try {
        if (!this.dirMade) mkdirSync(this.dir, { recursive: true });
        this.dirMade = true;
        await writeFileAtomicAsync(join(this.dir, STATE_FILE), file, this.sync === 'always');
      } catch (err) {
        failure = err as Error;
        this.dirMade = false;
        this.logger.error(`JetStream consumer state write to ${this.dir} failed: ${failure.message}`);
      }
      this.written = gen;
      this.releaseWaiters(gen, failure);
      this.writing = null;
      // Updates that came in meanwhile: only the newest is written, at once
      // when someone waits for it, else after the usual delay.
      if (this.latest === null || this.scheduled !== null) return;
      if (this.durableWaiters.length > 0) this.startWrite();
      else {
        this.scheduled = setTimeout(this.onDelay, WRITE_DELAY_MS);
        this.scheduled.unref();
      }
    })();
  }

  private releaseWaiters(gen: number, err: Error | null): void {
    if (this.durableWaiters.length === 0) return;
    const due = this.durableWaiters.filter((w) => w.gen <= gen);
    this.durableWaiters = this.durableWaiters.filter((w) => w.gen > gen);
    for (const w of due) w.cb(err);
  }

  private cancel(): void {
    if (this.scheduled !== null) clearTimeout(this.scheduled);
    this.scheduled = null;
  }

  private readJson(name: string): unknown {
    let text: string;
    try {
      text = readFileSync(join(this.dir, name), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      return JSON.parse(text);
    } catch {
      this.logger.error(`JetStream consumer file ${join(this.dir, name)} is corrupt; ignoring it`);
      return null;
    }
  }
}

function toFile(s: ConsumerState): StateFile {
  // Each read of a live view (a getter) builds its object: read each once.
  const { delivered, ackFloor } = s;
  return {
    delivered: { consumer_seq: delivered.consumerSeq, stream_seq: delivered.streamSeq },
    ack_floor: { consumer_seq: ackFloor.consumerSeq, stream_seq: ackFloor.streamSeq },
    pending: [...s.pending].map(([sseq, p]) => [sseq, p.consumerSeq, p.ts]),
    redelivered: [...s.redelivered],
  };
}
