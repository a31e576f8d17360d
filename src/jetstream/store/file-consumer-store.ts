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
 * A consumer's files under `<stream>/obs/<name>/`: `meta.json` (config and
 * creation time) and `state.json`, each replaced atomically (temp file +
 * rename). State updates are coalesced: the last one of an event-loop turn
 * is written at its end, off the loop, and while a write is in flight only
 * the newest state waits for the next one. Under `sync: always` the file and
 * directory are fsynced; with a sync interval the rename alone makes it safe
 * against process death (a machine crash may lose the latest acks, which
 * only means redelivery).
 */
export class FileConsumerStore implements ConsumerStore {
  private latest: ConsumerState | null = null;
  private scheduled: NodeJS.Immediate | null = null;
  private writing: Promise<void> | null = null;
  /** Updates received, and how many of them the last finished write covered. */
  private updates = 0;
  private written = 0;
  private durableWaiters: Array<{ gen: number; cb: (err: Error | null) => void }> = [];

  constructor(private readonly dir: string, private readonly sync: SyncPolicy, private readonly logger: Logger,
    private readonly onDelete: () => void) {}

  saveConfig(config: unknown, created: number): void {
    mkdirSync(this.dir, { recursive: true });
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
    this.scheduled ??= setImmediate(() => {
      this.scheduled = null;
      this.startWrite();
    });
  }

  whenDurable(cb: (err: Error | null) => void): void {
    if (this.written >= this.updates) {
      cb(null);
      return;
    }
    this.durableWaiters.push({ gen: this.updates, cb });
  }

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
        mkdirSync(this.dir, { recursive: true });
        await writeFileAtomicAsync(join(this.dir, STATE_FILE), file, this.sync === 'always');
      } catch (err) {
        failure = err as Error;
        this.logger.error(`JetStream consumer state write to ${this.dir} failed: ${failure.message}`);
      }
      this.written = gen;
      this.releaseWaiters(gen, failure);
      this.writing = null;
      // Updates that came in meanwhile: only the newest is written.
      if (this.latest !== null && this.scheduled === null) this.startWrite();
    })();
  }

  private releaseWaiters(gen: number, err: Error | null): void {
    if (this.durableWaiters.length === 0) return;
    const due = this.durableWaiters.filter((w) => w.gen <= gen);
    this.durableWaiters = this.durableWaiters.filter((w) => w.gen > gen);
    for (const w of due) w.cb(err);
  }

  private cancel(): void {
    if (this.scheduled !== null) clearImmediate(this.scheduled);
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
  return {
    delivered: { consumer_seq: s.delivered.consumerSeq, stream_seq: s.delivered.streamSeq },
    ack_floor: { consumer_seq: s.ackFloor.consumerSeq, stream_seq: s.ackFloor.streamSeq },
    pending: [...s.pending].map(([sseq, p]) => [sseq, p.consumerSeq, p.ts]),
    redelivered: [...s.redelivered],
  };
}
