/**
 * Per-message TTLs (ADR-43) as a store keeps them: the `Nats-TTL` header of
 * a stored message says how many seconds after its timestamp it goes, or
 * `never` (it then outlives the stream's max_age too). The store reads the
 * header when it stores or recovers a message of a stream that allows TTLs
 * and keeps here when each one is due; the header stays in the message, so
 * a restart or a replica derives the same deadline from the same bytes.
 */
import { DurationError, parseGoDurationNs } from '../../config/durations.js';

export const HDR_TTL = 'Nats-TTL';
/** A TTL of `never` (or -1): kept until removed by other means than age. */
export const TTL_NEVER = -1;

const NS_PER_S = 1_000_000_000n;
const MS_PER_S = 1000;
const TTL_NAME = Buffer.from(HDR_TTL + ':', 'latin1');
/** The header of the subject delete markers a stream writes when a subject's last message ages out. */
export const HDR_MARKER_REASON = 'Nats-Marker-Reason';
const MARKER_NAME = Buffer.from(HDR_MARKER_REASON + ':', 'latin1');
const CR = 13;
const LF = 10;

/**
 * A `Nats-TTL` value in whole seconds (TTL_NEVER for `never`), or null
 * when nats-server refuses it: a Go duration ("90s", "1h30m") or an integer
 * of seconds, at least one second; a duration's fraction of a second is
 * dropped, as nats-server does.
 */
export function parseTtl(value: string): number | null {
  if (value.toLowerCase() === 'never') return TTL_NEVER;
  if (/^-?\d+$/.test(value)) {
    const n = Number(value);
    return n === TTL_NEVER || (n >= 1 && Number.isSafeInteger(n)) ? n : null;
  }
  try {
    const ns = parseGoDurationNs(value);
    return ns < NS_PER_S ? null : Number(ns / NS_PER_S);
  } catch (e) {
    if (e instanceof DurationError) return null;
    throw e;
  }
}

/** The TTL a stored header block carries (seconds or TTL_NEVER), or null when it has none or an invalid one. */
export function ttlOfHeader(hdr: Buffer): number | null {
  // A header line starts after a LF; the status line comes first, so the name never starts the block.
  for (let at = hdr.indexOf(TTL_NAME); at > 0; at = hdr.indexOf(TTL_NAME, at + 1)) {
    if (hdr[at - 1] !== LF) continue;
    let end = hdr.indexOf(LF, at);
    if (end < 0) end = hdr.length;
    if (end > at && hdr[end - 1] === CR) end--;
    return parseTtl(hdr.latin1Slice(at + TTL_NAME.length, end).trim());
  }
  return null;
}

/** Whether a stored header block is a subject delete marker's. */
export function isMarkerHeader(hdr: Buffer): boolean {
  return hdr.indexOf(MARKER_NAME) > 0;
}

/**
 * When messages with a TTL are due: a binary min-heap of (due time,
 * sequence) plus the set of `never` sequences. Removing a message does not
 * touch the heap (sequences are never reused, so a popped sequence that is
 * no longer stored is skipped); the heap is compacted when such leftovers
 * outnumber the messages it still holds.
 */
export class TtlSchedule {
  private dueAt: number[] = [];
  private seqs: number[] = [];
  /** Sequences whose TTL is `never`: max_age passes them by. */
  readonly never = new Set<number>();
  /** Sequences of subject delete markers: their own expiry leaves no new marker. */
  readonly markers = new Set<number>();

  get size(): number {
    return this.seqs.length;
  }

  /** Records message `seq` stored at `ts` (ms) with a TTL of `ttl` seconds or TTL_NEVER; `marker` for a delete marker. */
  add(seq: number, ts: number, ttl: number, marker: boolean): void {
    if (marker) this.markers.add(seq);
    if (ttl === TTL_NEVER) {
      this.never.add(seq);
      return;
    }
    this.dueAt.push(ts + ttl * MS_PER_S);
    this.seqs.push(seq);
    this.up(this.seqs.length - 1);
  }

  /** A message left the store (only the sets hold on to it). */
  forget(seq: number): void {
    if (this.never.size > 0) this.never.delete(seq);
    if (this.markers.size > 0) this.markers.delete(seq);
  }

  /** The earliest due time, or Infinity. */
  nextDue(): number {
    return this.seqs.length === 0 ? Infinity : this.dueAt[0];
  }

  /** Removes and returns the sequence due first if it is due at `now`, else -1. */
  popDue(now: number): number {
    if (this.seqs.length === 0 || this.dueAt[0] > now) return -1;
    const seq = this.seqs[0];
    const lastDue = this.dueAt.pop() as number;
    const lastSeq = this.seqs.pop() as number;
    if (this.seqs.length > 0) {
      this.dueAt[0] = lastDue;
      this.seqs[0] = lastSeq;
      this.down(0);
    }
    return seq;
  }

  /** Drops entries of messages no longer stored once they are most of the heap. */
  compactIfStale(isStored: (seq: number) => boolean, stored: number): void {
    if (this.seqs.length < 1024 || this.seqs.length <= 2 * stored) return;
    const dueAt = this.dueAt;
    const seqs = this.seqs;
    this.dueAt = [];
    this.seqs = [];
    for (let i = 0; i < seqs.length; i++) {
      if (!isStored(seqs[i])) continue;
      this.dueAt.push(dueAt[i]);
      this.seqs.push(seqs[i]);
    }
    for (let i = (this.seqs.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  clear(): void {
    this.dueAt = [];
    this.seqs = [];
    this.never.clear();
    this.markers.clear();
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.dueAt[parent] <= this.dueAt[i]) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const n = this.seqs.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let least = i;
      if (l < n && this.dueAt[l] < this.dueAt[least]) least = l;
      if (r < n && this.dueAt[r] < this.dueAt[least]) least = r;
      if (least === i) return;
      this.swap(i, least);
      i = least;
    }
  }

  private swap(a: number, b: number): void {
    const d = this.dueAt[a];
    this.dueAt[a] = this.dueAt[b];
    this.dueAt[b] = d;
    const s = this.seqs[a];
    this.seqs[a] = this.seqs[b];
    this.seqs[b] = s;
  }
}
