import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, fsync as fsyncAsync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../log/logger.js';
import { silentLogger } from '../../log/silent-logger.js';
import { syncDir } from './atomic-file.js';
import { scanBlock } from './block-scan.js';
import { FileConsumerStore } from './file-consumer-store.js';
import { GroupCommit, type SyncPolicy } from './group-commit.js';
import { IndexedStore, type IndexEntry, type RemovalKind } from './indexed-store.js';
import { MsgBlock, blockFileName, blockHolding, blockIds } from './msg-block.js';
import { MsgCache, type Cacheable } from './msg-cache.js';
import { fileStoreMsgSize } from './msg-size.js';
import {
  encodeErasedRecord, encodeMarkRecord, encodeMsgRecord, readIndexedMsg, RECORD_BODY_OFFSET, RECORD_OVERHEAD, RecordType,
  type RecordHead,
} from './record-codec.js';
import { ioStoreError } from './store-errors.js';
import type { ConsumerStore, StoreError, StoreLimits, StoredMessage } from './types.js';

export interface FileStoreOptions {
  /** 'always': fsync every batch before confirming it; a number: fsync every that many ms. */
  sync: SyncPolicy;
  /** Target block file size in bytes (a single larger message gets a block of its own). */
  blockSize?: number;
  logger?: Logger;
  /** Bytes of recent messages kept in memory for loads. */
  cacheBytes?: number;
  /** First sequence of a new stream (ignored when the directory already holds one). */
  firstSeq?: number;
}

interface FileEntry extends IndexEntry, Cacheable {
  readonly block: MsgBlock;
  readonly offset: number;
  readonly length: number;
}

const DEFAULT_BLOCK_SIZE = 8 * 1024 * 1024;
const DEFAULT_CACHE_BYTES = 8 * 1024 * 1024;
/** How long storeMsg refuses after a failed write before trying the disk again. */
const RETRY_AFTER_FAILURE_MS = 1000;
/** Disk reads fetch this much from the block, so a consumer catching up reads sequentially in chunks. */
const READ_AHEAD_BYTES = 64 * 1024;
/** Older blocks keep a descriptor open while recently read; at most this many per store. */
const MAX_OPEN_READERS = 16;
const MSGS_DIR = 'msgs';
const OBS_DIR = 'obs';

/**
 * A stream's messages in a segmented append-only log under `<dir>/msgs/`,
 * consumer state under `<dir>/obs/<name>/`. The index (sequence -> block and
 * offset, subject -> counts) lives in memory and is rebuilt by scanning the
 * blocks on open. See docs/jetstream-storage.md for the format and the
 * durability argument.
 */
export class FileStore extends IndexedStore<FileEntry> {
  readonly kind = 'file' as const;
  damagedOnLoad = false;
  private readonly msgsDir: string;
  private readonly obsDir: string;
  private readonly blockSize: number;
  private readonly logger: Logger;
  private readonly cache: MsgCache<FileEntry>;
  private readonly commit: GroupCommit;
  private readonly consumers = new Map<string, FileConsumerStore>();
  private blocks: MsgBlock[] = [];
  /** Blocks whose last live message went; afterBulkRemoval deletes them. */
  private emptied: MsgBlock[] = [];
  /** Older blocks with an open descriptor, least recently read first. */
  private readers: MsgBlock[] = [];
  private active!: MsgBlock;
  /** Encoded records of the current turn, not yet written to `active`. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** A Floor record owed for removals at the front; one per batch however many there were. */
  private pendingFloor = 0;
  /** Highest message sequence handed to the OS; the cache keeps everything above it. */
  private writtenSeq = 0;
  /** The last chunk read from disk, for the next loads of neighbouring records. */
  private readAhead: { block: MsgBlock; offset: number; buf: Buffer } | null = null;
  private failure: StoreError | null = null;
  private retryTimer: NodeJS.Timeout | null = null;

  private constructor(private readonly dir: string, limits: StoreLimits, private readonly opts: FileStoreOptions) {
    super(limits, opts.firstSeq ?? 1);
    this.msgsDir = join(dir, MSGS_DIR);
    this.obsDir = join(dir, OBS_DIR);
    this.blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
    this.logger = opts.logger ?? silentLogger;
    this.cache = new MsgCache(opts.cacheBytes ?? DEFAULT_CACHE_BYTES);
    this.commit = new GroupCommit(opts.sync, {
      write: () => this.writePending(),
      fsync: (cb) => {
        const b = this.active;
        fsyncAsync(b.pin(), (err) => {
          b.unpin();
          cb(err);
        });
      },
    }, (err) => this.noteFailure(err));
  }

  /** Opens (creating if needed) the store in `dir`, recovering whatever the blocks hold. */
  static open(dir: string, limits: StoreLimits, opts: FileStoreOptions): FileStore {
    const st = new FileStore(dir, limits, opts);
    try {
      st.recover();
    } catch (err) {
      st.dispose();
      throw err;
    }
    st.updateLimits(limits);
    return st;
  }

  whenDurable(cb: (err: Error | null) => void): void {
    this.commit.whenDurable(cb);
  }

  whenSynced(cb: (err: Error | null) => void): void {
    this.commit.whenSynced(cb);
  }

  consumerStore(name: string): ConsumerStore {
    if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
      throw new RangeError(`invalid consumer name for a file store: ${JSON.stringify(name)}`);
    }
    let cs = this.consumers.get(name);
    if (cs === undefined) {
      cs = new FileConsumerStore(join(this.obsDir, name), this.opts.sync, this.logger, () => this.consumers.delete(name));
      this.consumers.set(name, cs);
    }
    return cs;
  }

  consumerNames(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.obsDir);
    } catch {
      return [];
    }
    return names.filter((n) => existsSync(join(this.obsDir, n, 'meta.json'))).sort();
  }

  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.commit.flush();
    await this.commit.idle();
    try {
      this.active.sync();
      this.commit.markSynced();
    } catch (err) {
      this.logger.error(`JetStream store ${this.dir}: fsync on stop failed: ${(err as Error).message}`);
    }
    for (const cs of this.consumers.values()) await cs.stop();
    this.dispose();
    this.cache.clear();
  }

  /** Stops timers and closes files without writing anything (end of stop, failed open). */
  private dispose(): void {
    this.closed = true;
    this.commit.stop();
    this.clearExpiryTimer();
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.closeBlocks();
  }

  async delete(): Promise<void> {
    await this.stop();
    rmSync(this.msgsDir, { recursive: true, force: true });
    rmSync(this.obsDir, { recursive: true, force: true });
    this.entries.clear();
    this.subjects.clear();
    this.bytes = 0;
  }

  // ---- IndexedStore hooks ----

  protected msgSize(subject: string, hdr: Buffer | null, data: Buffer): number {
    return fileStoreMsgSize(subject.length, hdr === null ? 0 : hdr.length, data.length);
  }

  protected appendMsg(seq: number, subject: string, hdr: Buffer | null, data: Buffer, ts: number): FileEntry {
    if (this.failure !== null) throw this.failure;
    const rec = encodeMsgRecord(seq, ts, subject, hdr, data);
    this.makeRoom(rec.length);
    if (this.failure !== null) throw this.failure;
    const offset = this.queue(rec);
    const hdrLen = hdr === null ? 0 : hdr.length;
    const body = RECORD_BODY_OFFSET + subject.length;
    this.active.live++;
    this.active.maxSeq = seq;
    const entry: FileEntry = {
      subject, ts, size: fileStoreMsgSize(subject.length, hdrLen, data.length),
      block: this.active, offset, length: rec.length, cached: null,
    };
    // The cached copy is a view of the record buffer: one copy of the payload serves both.
    this.cache.add(entry, {
      seq,
      subject,
      hdr: hdr === null ? null : rec.subarray(body, body + hdrLen),
      data: rec.subarray(body + hdrLen, rec.length - 4),
      ts,
    });
    return entry;
  }

  protected readMsg(seq: number, entry: FileEntry): StoredMessage | null {
    if (entry.cached !== null) return entry.cached;
    if (entry.block === this.active && entry.offset >= this.active.written) this.commit.flush();
    if (entry.block !== this.active) this.touchReader(entry.block);
    let msg: StoredMessage | null;
    try {
      const ra = this.readAhead;
      if (ra !== null && ra.block === entry.block && entry.offset >= ra.offset &&
          entry.offset + entry.length <= ra.offset + ra.buf.length) {
        msg = readIndexedMsg(ra.buf, entry.offset - ra.offset, seq, entry.length, entry.subject);
      } else {
        const want = Math.min(Math.max(entry.length, READ_AHEAD_BYTES), entry.block.written - entry.offset);
        const buf = entry.block.read(entry.offset, want);
        this.readAhead = { block: entry.block, offset: entry.offset, buf };
        msg = readIndexedMsg(buf, 0, seq, entry.length, entry.subject);
      }
    } catch (err) {
      this.logger.error(`JetStream store ${this.dir}: reading seq ${seq} failed: ${(err as Error).message}`);
      return null;
    }
    if (msg === null) {
      this.logger.error(`JetStream store ${this.dir}: record of seq ${seq} in block ${entry.block.id} is corrupt; ` +
        'dropping it from the stream');
      this.unindex(seq, entry);
      if (--entry.block.live === 0) this.emptied.push(entry.block);
      return null;
    }
    return msg;
  }

  protected recordRemoval(seq: number, entry: FileEntry, kind: RemovalKind): void {
    if (--entry.block.live === 0) this.emptied.push(entry.block);
    this.cache.drop(entry);
    if (kind === 'erase') this.eraseOnDisk(seq, entry);
    if (kind === 'bulk') return;
    if (seq < this.firstSeq) {
      // It was the first message: a floor (coalesced per batch) says the same as a tombstone.
      this.recordFloor(this.firstSeq);
    } else {
      this.queueTombstone(seq);
    }
  }

  protected recordSkip(seq: number): void {
    this.queue(encodeMarkRecord(RecordType.Skip, seq));
  }

  protected recordFloor(floor: number): void {
    if (floor <= this.pendingFloor) return;
    this.pendingFloor = floor;
    this.commit.noteAppend();
  }

  /**
   * Deletes blocks left without live messages (never the active one).
   * Leading blocks simply go: records in a block only ever refer to messages
   * in it or in older blocks. A block further in may hold the tombstones
   * that keep messages of an older, remaining block removed, so those are
   * appended again (plus a Floor for everything below the first message) and
   * written before its file goes; if that write fails the block stays.
   */
  protected afterBulkRemoval(): void {
    if (this.emptied.length === 0) return;
    const gone = new Set(this.emptied.filter((b) => b.live === 0 && b !== this.active && this.blocks.includes(b)));
    this.emptied = [];
    while (this.blocks.length > 1 && gone.has(this.blocks[0])) {
      const b = this.blocks.shift() as MsgBlock;
      gone.delete(b);
      this.removeBlockFile(b);
    }
    if (gone.size === 0) return;
    const remaining = this.blocks.filter((b) => !gone.has(b));
    for (const b of gone) {
      for (const seq of b.tombstones) if (blockHolding(remaining, seq) !== null) this.queueTombstone(seq);
    }
    this.recordFloor(this.firstSeq);
    this.commit.flush();
    try {
      if (this.failure !== null) throw this.failure;
      if (this.opts.sync === 'always') {
        this.active.sync();
        this.commit.markSynced();
      }
    } catch (err) {
      if (err !== this.failure) this.noteFailure(err);
      this.emptied.push(...gone);
      return;
    }
    this.blocks = remaining;
    for (const b of gone) this.removeBlockFile(b);
  }

  private queueTombstone(seq: number): void {
    this.queue(encodeMarkRecord(RecordType.Delete, seq));
    this.active.tombstones.push(seq);
  }

  private removeBlockFile(b: MsgBlock): void {
    const r = this.readers.indexOf(b);
    if (r >= 0) this.readers.splice(r, 1);
    if (this.readAhead?.block === b) this.readAhead = null;
    try {
      b.remove();
    } catch (err) {
      this.logger.warn(`JetStream store ${this.dir}: removing block ${b.path} failed: ${(err as Error).message}`);
    }
  }

  private touchReader(b: MsgBlock): void {
    // A consumer reads one block for thousands of messages in a row.
    if (this.readers[this.readers.length - 1] === b) return;
    const i = this.readers.indexOf(b);
    if (i >= 0) this.readers.splice(i, 1);
    this.readers.push(b);
    if (this.readers.length > MAX_OPEN_READERS) this.releaseBlock(this.readers.shift() as MsgBlock);
  }

  private releaseBlock(b: MsgBlock): void {
    try {
      b.close();
    } catch (err) {
      this.logger.warn(`JetStream store ${this.dir}: closing ${b.path} failed: ${(err as Error).message}`);
    }
  }

  // ---- writing ----

  /** Adds an encoded record to the current batch; returns its offset in the active block. */
  private queue(rec: Buffer): number {
    const offset = this.active.written + this.pendingBytes;
    this.pending.push(rec);
    this.pendingBytes += rec.length;
    this.commit.noteAppend();
    return offset;
  }

  /** Starts a new block when `len` more bytes would overflow the active one. */
  private makeRoom(len: number): void {
    const used = this.active.written + this.pendingBytes;
    // A block holding only its Base record takes any message, however large.
    if (used + len <= this.blockSize || used <= RECORD_OVERHEAD) return;
    this.commit.flush();
    if (this.failure !== null) return;
    try {
      // Each finished block is fsynced once, whatever the policy: it costs
      // one fsync per block and the interval timer only syncs the active one.
      this.active.sync();
      this.commit.markSynced();
      this.releaseBlock(this.active);
      if (this.active.live === 0) this.emptied.push(this.active);
      this.addBlock();
    } catch (err) {
      this.noteFailure(err);
    }
  }

  private addBlock(): void {
    const id = this.blocks.length > 0 ? this.blocks[this.blocks.length - 1].id + 1 : 1;
    const b = MsgBlock.create(this.msgsDir, id);
    if (this.opts.sync === 'always') syncDir(this.msgsDir);
    b.base = this.lastSeq;
    this.blocks.push(b);
    this.active = b;
    // Lets recovery know the last sequence even once every earlier block is gone.
    this.queue(encodeMarkRecord(RecordType.Base, this.lastSeq));
  }

  /** The group commit's write: one write of the whole batch to the active block. */
  private writePending(): void {
    if (this.pendingFloor > 0) {
      const floor = encodeMarkRecord(RecordType.Floor, this.pendingFloor);
      this.pending.push(floor);
      this.pendingBytes += floor.length;
      this.pendingFloor = 0;
    }
    if (this.pendingBytes === 0) return;
    const batch = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    const records = this.pending;
    const start = this.active.written;
    this.pending = [];
    this.pendingBytes = 0;
    try {
      this.active.append(batch);
    } catch (err) {
      this.dropUnwritten(records, start);
      throw err;
    }
    this.writtenSeq = this.lastSeq;
    this.cache.trim(this.writtenSeq);
  }

  /**
   * A batch failed to reach the file: its messages were never stored, so they
   * leave the index (the listener hears of it) and their senders get the
   * error. Its marks (deletes, skips, floors) are kept for the next write.
   */
  private dropUnwritten(records: Buffer[], start: number): void {
    let offset = start;
    for (const rec of records) {
      if (rec[4] === RecordType.Msg) {
        const seq = rec.readDoubleLE(8);
        const e = this.entries.get(seq);
        if (e !== undefined && e.block === this.active && e.offset === offset) {
          this.unindex(seq, e);
          e.block.live--;
          this.cache.drop(e);
        }
      } else if (rec[4] === RecordType.Floor) {
        this.pendingFloor = Math.max(this.pendingFloor, rec.readDoubleLE(8));
      } else if (rec[4] !== RecordType.Base) {
        this.pending.push(rec);
        this.pendingBytes += rec.length;
      }
      offset += rec.length;
    }
  }

  private noteFailure(err: unknown): StoreError {
    const e = ioStoreError(err);
    this.logger.error(`JetStream store ${this.dir}: write failed: ${(err as Error).message}`);
    if (this.failure === null) {
      this.failure = e;
      this.scheduleRetry();
    }
    return e;
  }

  /** After a failure, new messages are refused until the disk takes a write again. */
  private scheduleRetry(): void {
    if (this.retryTimer !== null || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.failure = null;
      this.queue(encodeMarkRecord(RecordType.Base, this.lastSeq));
    }, RETRY_AFTER_FAILURE_MS);
    this.retryTimer.unref();
  }

  private eraseOnDisk(seq: number, entry: FileEntry): void {
    this.commit.flush();
    // A record that never reached the file (failed batch) has nothing to erase.
    if (entry.offset + entry.length > entry.block.written) return;
    this.readAhead = null;
    try {
      entry.block.overwrite(encodeErasedRecord(seq, entry.length), entry.offset);
    } catch (err) {
      this.logger.error(`JetStream store ${this.dir}: erasing seq ${seq} failed: ${(err as Error).message}`);
    }
  }

  // ---- recovery ----

  private recover(): void {
    mkdirSync(this.msgsDir, { recursive: true });
    const ids = blockIds(readdirSync(this.msgsDir));
    if (ids.length > 0) {
      // An existing log says where it starts; opts.firstSeq is for new streams only.
      this.lastSeq = 0;
      this.firstSeq = 1;
    }
    let appendable = true;
    for (let i = 0; i < ids.length; i++) {
      const isLast = i === ids.length - 1;
      const buf = readFileSync(join(this.msgsDir, blockFileName(ids[i])));
      const block = MsgBlock.open(this.msgsDir, ids[i], buf.length);
      this.blocks.push(block);
      const fault = scanBlock(buf, (rec, offset) => this.applyRecord(rec, block, offset, buf));
      if (fault === null) continue;
      if (isLast && fault.tail) {
        this.logger.warn(`JetStream store ${this.dir}: block ${block.path} ends in a torn record at ` +
          `offset ${fault.offset} (${fault.fault}); truncating ${buf.length - fault.offset} bytes`);
        block.truncate(fault.offset);
      } else {
        this.damagedOnLoad = true;
        this.logger.error(`JetStream store ${this.dir}: block ${block.path} has a corrupt record at ` +
          `offset ${fault.offset} (${fault.fault}); skipping the remaining ${buf.length - fault.offset} bytes of it`);
        if (isLast) appendable = false;
      }
    }
    if (this.entries.size === 0) this.firstSeq = this.lastSeq + 1;
    this.writtenSeq = this.lastSeq;
    if (this.blocks.length > 0 && appendable) {
      this.active = this.blocks[this.blocks.length - 1];
      if (this.active.written === 0) {
        this.active.base = this.lastSeq;
        this.queue(encodeMarkRecord(RecordType.Base, this.lastSeq));
      }
    } else {
      this.addBlock();
    }
    for (const b of this.blocks) if (b.live === 0) this.emptied.push(b);
    this.afterBulkRemoval();
    this.commit.flush();
    if (this.failure !== null) throw this.failure;
  }

  private applyRecord(rec: RecordHead, block: MsgBlock, offset: number, buf: Buffer): void {
    switch (rec.type) {
      case RecordType.Msg: {
        if (rec.seq <= this.lastSeq) {
          this.logger.warn(`JetStream store ${this.dir}: ignoring out-of-order seq ${rec.seq} in ${block.path}`);
          return;
        }
        const size = fileStoreMsgSize(rec.subject.length, Math.max(rec.hdrLen, 0), rec.dataLen);
        block.live++;
        block.maxSeq = rec.seq;
        const subject = this.subjects.intern(rec.subject);
        this.indexMsg(rec.seq, { subject, ts: rec.ts, size, block, offset, length: rec.length, cached: null });
        // A TTL lives in the message's header: recovery reads it back (only for streams that allow TTLs, only messages with headers).
        if (rec.hdrLen > 0 && this.limits.msgTtl === true) {
          const hdr = readIndexedMsg(buf, offset, rec.seq, rec.length, subject)?.hdr;
          if (hdr) this.trackTtl(rec.seq, hdr, rec.ts);
        }
        return;
      }
      case RecordType.Delete:
      case RecordType.Erased: {
        if (rec.type === RecordType.Delete) block.tombstones.push(rec.seq);
        const e = this.entries.get(rec.seq);
        if (e !== undefined) {
          this.unindex(rec.seq, e);
          e.block.live--;
        }
        this.lastSeq = Math.max(this.lastSeq, rec.seq);
        return;
      }
      case RecordType.Floor:
        for (let seq = this.entries.next(0); seq >= 0 && seq < rec.seq; seq = this.entries.next(seq + 1)) {
          const e = this.entries.get(seq) as FileEntry;
          this.unindex(seq, e);
          e.block.live--;
        }
        this.lastSeq = Math.max(this.lastSeq, rec.seq - 1);
        return;
      case RecordType.Base:
        if (offset === 0) block.base = rec.seq;
        this.lastSeq = Math.max(this.lastSeq, rec.seq);
        return;
      case RecordType.Skip:
        this.lastSeq = Math.max(this.lastSeq, rec.seq);
        return;
    }
  }

  private closeBlocks(): void {
    for (const b of this.blocks) this.releaseBlock(b);
    this.readers = [];
    this.readAhead = null;
  }
}

