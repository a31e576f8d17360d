/**
 * The log of a file-backed Raft storage: segment files in `<dir>/log`, each
 * named by the index of its first entry (zero-padded so names sort), holding
 * records (log-record.ts) back to back. Appends go to the last segment; a
 * new one starts when the next record would take it past `segmentBytes`
 * (a record larger than that gets a segment of its own). Compaction deletes
 * whole segments; truncation cuts one and deletes those after it.
 *
 * Not safe for concurrent calls: the storage runs one operation at a time.
 */
import { open, readdir, readFile, rm, truncate, type FileHandle } from 'node:fs/promises';
import { writeSync } from 'node:fs';
import { join } from 'node:path';
import { encodeLogRecord, recordBytes, scanSegment } from './log-record.js';
import { makeDir, syncDir } from './state-files.js';
import type { LogEntry } from './types.js';

const NAME_DIGITS = 20;
const SEGMENT_NAME = /^(\d{20})\.seg$/;

interface Segment {
  readonly first: number;
  readonly path: string;
  size: number;
  /** Where each record starts, entry `first + i` at `offsets[i]`. */
  offsets: number[];
}

export interface LoadedLog {
  /** Entries after `after` (the snapshot's last index), contiguous. */
  readonly entries: LogEntry[];
  /** A record was damaged or missing: the log was cut before it. */
  readonly damaged: boolean;
  /** The damage found and what was dropped for it, for the log. */
  readonly problems: string[];
  /** Torn tails cut: what a crash leaves, no damage. */
  readonly repairs: string[];
}

export class SegmentLog {
  private readonly logDir: string;
  private segments: Segment[] = [];
  /** Open for appending: the last segment's file. */
  private active: FileHandle | null = null;
  /** The index after the last entry on disk. */
  private next = 1;

  constructor(dir: string, private readonly sync: boolean, private readonly segmentBytes: number) {
    this.logDir = join(dir, 'log');
  }

  /** The last index on disk (0 or the compaction point when the log is empty). */
  lastIndex(): number {
    return this.next - 1;
  }

  /**
   * Reads every segment, keeps the entries after `after` (whose term must
   * not be below `afterTerm`), cuts the files at a torn tail (quietly) or at
   * the first damage (reported), and deletes segments wholly at or before
   * `after` that a compaction left behind.
   */
  async load(after: number, afterTerm: number): Promise<LoadedLog> {
    await this.close();
    await makeDir(this.logDir, this.sync);
    const found = await this.listSegments();
    const problems: string[] = [];
    const repairs: string[] = [];
    const entries: LogEntry[] = [];
    const kept: Segment[] = [];
    const removed: Segment[] = [];
    let damaged = false;
    // Segments before the one holding `after + 1` are a compaction's unfinished deletes: not even read.
    let first = 0;
    while (first + 1 < found.length && found[first + 1].first <= after + 1) removed.push(found[first++]);
    let expected = first < found.length ? Math.min(found[first].first, after + 1) : after + 1;
    let term = 0;
    for (let i = first; i < found.length; i++) {
      const seg = found[i];
      if (damaged) {
        removed.push(seg);
        continue;
      }
      if (seg.first !== expected) {
        problems.push(`${seg.path} starts at entry ${seg.first} where ${expected} was expected`);
        damaged = true;
        removed.push(seg);
        continue;
      }
      const buf = await readFile(seg.path);
      const scan = scanSegment(buf, seg.first, term, i === found.length - 1);
      let count = 0;
      let stop = scan.stop;
      let problem = scan.problem;
      for (const e of scan.entries) {
        if (e.index > after && e.term < afterTerm) {
          stop = 'damage';
          problem = `entry ${e.index} has term ${e.term}, below the snapshot's ${afterTerm}`;
          break;
        }
        if (e.index > after) entries.push({ index: e.index, term: e.term, kind: e.kind, data: Buffer.from(e.data) });
        term = e.term;
        count++;
      }
      const end = count < scan.entries.length ? scan.offsets[count] : scan.end;
      seg.offsets = scan.offsets.slice(0, count);
      seg.size = end;
      expected = seg.first + count;
      if (stop === 'torn') repairs.push(`${seg.path}: dropped a torn tail: ${problem}`);
      if (stop === 'damage') {
        problems.push(`${seg.path}: ${problem}; dropped the log from entry ${expected} on`);
        damaged = true;
      }
      if (end < buf.length && count > 0) await this.cut(seg, end);
      if (count === 0 || expected <= after + 1) removed.push(seg);
      else kept.push(seg);
    }
    for (const seg of removed) await rm(seg.path);
    if (removed.length > 0 && this.sync) await syncDir(this.logDir);
    this.segments = kept;
    this.next = Math.max(expected, after + 1);
    if (kept.length > 0) this.active = await open(kept[kept.length - 1].path, 'r+');
    return { entries, damaged, problems, repairs };
  }

  /**
   * Writes `entries` (which follow each other) encoded into one buffer per
   * segment touched, each with one write, then fsyncs when durable.
   */
  async append(entries: readonly LogEntry[]): Promise<void> {
    if (entries.length === 0) return;
    if (this.active === null || entries[0].index !== this.next) await this.startSegment(entries[0].index);
    let from = 0;
    let bytes = 0;
    let segmentSize = this.tail().size;
    for (let i = 0; i < entries.length; i++) {
      const length = recordBytes(entries[i]);
      if (segmentSize > 0 && segmentSize + length > this.segmentBytes) {
        if (i > from) await this.writeRecords(entries, from, i, bytes);
        await this.startSegment(entries[i].index);
        from = i;
        bytes = 0;
        segmentSize = 0;
      }
      bytes += length;
      segmentSize += length;
    }
    await this.writeRecords(entries, from, entries.length, bytes);
    if (this.sync) await this.active!.datasync();
  }

  /** Drops the entries from `index` on, durably. */
  async truncateFrom(index: number): Promise<void> {
    if (index >= this.next) return;
    const keep = this.segments.filter((s) => s.first < index);
    const drop = this.segments.slice(keep.length);
    await this.closeActive();
    // Later segments go first, newest first, and durably before the cut: a crash half-way then
    // leaves a log that is longer than asked, never one with a hole in it.
    for (const seg of drop.reverse()) await rm(seg.path);
    if (this.sync && drop.length > 0) await syncDir(this.logDir);
    this.segments = keep;
    this.next = index;
    const tail = keep.length > 0 ? keep[keep.length - 1] : null;
    if (tail !== null) {
      const size = tail.offsets[index - tail.first];
      if (size !== undefined) {
        await truncate(tail.path, size);
        tail.size = size;
        tail.offsets.length = index - tail.first;
      }
      this.active = await open(tail.path, 'r+');
      if (this.sync) await this.active.sync();
    }
  }

  /**
   * Deletes the segments whose entries are all at or before `upTo` (a
   * snapshot's last index); the segment holding `upTo + 1` stays whole.
   */
  async compact(upTo: number): Promise<void> {
    let drop = 0;
    while (drop < this.segments.length && this.segmentEnd(drop) <= upTo) drop++;
    if (drop === 0) return;
    if (drop === this.segments.length) await this.closeActive();
    for (const seg of this.segments.slice(0, drop)) await rm(seg.path);
    this.segments = this.segments.slice(drop);
    if (this.segments.length === 0) this.next = Math.max(this.next, upTo + 1);
    if (this.sync) await syncDir(this.logDir);
  }

  async close(): Promise<void> {
    await this.closeActive();
    this.segments = [];
  }

  /** Segment files in index order. */
  private async listSegments(): Promise<Segment[]> {
    const out: Segment[] = [];
    for (const name of await readdir(this.logDir)) {
      const m = SEGMENT_NAME.exec(name);
      if (m !== null) out.push({ first: Number(m[1]), path: join(this.logDir, name), size: 0, offsets: [] });
    }
    return out.sort((a, b) => a.first - b.first);
  }

  /** Cuts `seg` at `end`, durably. */
  private async cut(seg: Segment, end: number): Promise<void> {
    await truncate(seg.path, end);
    if (this.sync) {
      const fh = await open(seg.path, 'r+');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  }

  /** The last index in segment `i`. */
  private segmentEnd(i: number): number {
    const seg = this.segments[i];
    return seg.first + seg.offsets.length - 1;
  }

  private tail(): Segment {
    return this.segments[this.segments.length - 1];
  }

  /** Closes the full segment (durably) and opens a new one for `first`. */
  private async startSegment(first: number): Promise<void> {
    if (this.active !== null && this.sync) await this.active.datasync();
    await this.closeActive();
    const path = join(this.logDir, `${String(first).padStart(NAME_DIGITS, '0')}.seg`);
    this.active = await open(path, 'w');
    this.segments.push({ first, path, size: 0, offsets: [] });
    this.next = first;
    // The new name must be durable before anything written into it is acknowledged.
    if (this.sync) await syncDir(this.logDir);
  }

  /** Writes entries `from` .. `to` - 1, `bytes` of records, at the end of the last segment. */
  private async writeRecords(entries: readonly LogEntry[], from: number, to: number, bytes: number): Promise<void> {
    const seg = this.tail();
    const buf = Buffer.allocUnsafe(bytes);
    for (let i = from, at = 0; i < to; i++) at = encodeLogRecord(entries[i], buf, at);
    // On the loop: a page-cache write of one batch takes microseconds, while a thread-pool round
    // trip would add tens of them to every replicated publish (the fsync that follows must wait anyway).
    writeAllSync(this.active!.fd, buf, seg.size);
    for (let i = from; i < to; i++) {
      seg.offsets.push(seg.size);
      seg.size += recordBytes(entries[i]);
    }
    this.next += to - from;
  }

  private async closeActive(): Promise<void> {
    const fh = this.active;
    this.active = null;
    if (fh !== null) await fh.close();
  }
}

/** Writes all of `buf` at `position`, synchronously. */
function writeAllSync(fd: number, buf: Buffer, position: number): void {
  let done = 0;
  while (done < buf.length) {
    const n = writeSync(fd, buf, done, buf.length - done, position + done);
    if (n === 0) throw new Error(`no progress writing ${buf.length} bytes`);
    done += n;
  }
}
