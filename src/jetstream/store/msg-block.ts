import { closeSync, fsyncSync, ftruncateSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const BLOCK_NAME = /^(\d{8})\.blk$/;

/** Block ids found in a directory, ascending. */
export function blockIds(names: readonly string[]): number[] {
  const ids: number[] = [];
  for (const name of names) {
    const m = BLOCK_NAME.exec(name);
    if (m !== null) ids.push(Number(m[1]));
  }
  return ids.sort((a, b) => a - b);
}

/**
 * One segment file of the message log. Only the newest block is appended to;
 * older ones are read (positional reads) and deleted whole once no live
 * message is left in them. The file descriptor is opened on first use and
 * may be released while the block is idle, so a long stream does not hold
 * one descriptor per block.
 */
export class MsgBlock {
  /** Bytes handed to the OS; records at or past this offset are still in the write buffer. */
  written: number;
  /** Messages of this block still in the store. */
  live = 0;
  /** The stream's last sequence when the block began: its messages are all above it. */
  base = 0;
  /** Highest message sequence recorded in the block. */
  maxSeq = 0;
  /** Sequences of the Delete records in the block, carried forward if it is deleted before their messages. */
  readonly tombstones: number[] = [];
  private fd: number;
  /** Asynchronous operations (fsync) in flight on `fd`; closing waits for them. */
  private pins = 0;
  private closeWhenUnpinned = false;

  private constructor(readonly id: number, readonly path: string, fd: number, size: number) {
    this.fd = fd;
    this.written = size;
  }

  static create(dir: string, id: number): MsgBlock {
    const path = join(dir, blockFileName(id));
    return new MsgBlock(id, path, openSync(path, 'wx+'), 0);
  }

  static open(dir: string, id: number, size: number): MsgBlock {
    const path = join(dir, blockFileName(id));
    return new MsgBlock(id, path, -1, size);
  }

  read(offset: number, length: number): Buffer {
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const n = readSync(this.open(), buf, got, length - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    return got === length ? buf : buf.subarray(0, got);
  }

  /** Appends `buf` at `written`. On failure the file is cut back so no partial record stays. */
  append(buf: Buffer): void {
    let done = 0;
    try {
      while (done < buf.length) done += writeSync(this.open(), buf, done, buf.length - done, this.written + done);
    } catch (err) {
      if (done > 0) this.truncateQuietly(this.written);
      throw err;
    }
    this.written += buf.length;
  }

  /** Overwrites bytes already written (secure erase). */
  overwrite(buf: Buffer, offset: number): void {
    let done = 0;
    while (done < buf.length) done += writeSync(this.open(), buf, done, buf.length - done, offset + done);
  }

  truncate(size: number): void {
    ftruncateSync(this.open(), size);
    this.written = size;
  }

  sync(): void {
    if (this.fd >= 0) fsyncSync(this.fd);
  }

  /** Keeps the descriptor open (and its number unreused) while an async operation uses it. */
  pin(): number {
    this.pins++;
    return this.open();
  }

  unpin(): void {
    if (--this.pins === 0 && this.closeWhenUnpinned) this.close();
  }

  close(): void {
    if (this.fd < 0) return;
    if (this.pins > 0) {
      this.closeWhenUnpinned = true;
      return;
    }
    this.closeWhenUnpinned = false;
    closeSync(this.fd);
    this.fd = -1;
  }

  remove(): void {
    this.close();
    unlinkSync(this.path);
  }

  private open(): number {
    if (this.fd < 0) this.fd = openSync(this.path, 'r+');
    return this.fd;
  }

  private truncateQuietly(size: number): void {
    try {
      ftruncateSync(this.fd, size);
    } catch {
      // The write already failed; the caller reports that error, and recovery
      // would cut a torn tail anyway.
    }
  }
}

export function blockFileName(id: number): string {
  return `${String(id).padStart(8, '0')}.blk`;
}

/** The block among `blocks` (ascending) whose message range holds `seq`, or null. */
export function blockHolding(blocks: readonly MsgBlock[], seq: number): MsgBlock | null {
  let lo = 0;
  let hi = blocks.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (blocks[mid].base < seq) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found >= 0 && seq <= blocks[found].maxSeq ? blocks[found] : null;
}
