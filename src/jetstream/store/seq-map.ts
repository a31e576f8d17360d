/**
 * Sequence -> entry for a log whose sequences only grow: dense arrays
 * offset by their first sequence, so lookups are an index and appends a push
 * (a Map spent most of the store's time rehashing). Removed entries leave
 * holes; holes at the front are dropped, and an array is re-based once they
 * are half of it. A small gap from an explicit sequence (storeMsgAt) is a
 * run of holes too, but a large one starts a new array (a segment): a mirror
 * whose origin jumped a billion sequences must not fill a billion holes.
 * Nearly always there is one segment; lookups try the newest first.
 */

interface Segment<E> {
  /** Sequence of slots[0]. */
  base: number;
  slots: Array<E | undefined>;
  /** Index of the first live slot. */
  head: number;
  /** Live slots. */
  count: number;
}

/** The longest gap filled with holes; a longer one starts a new segment. */
const MAX_HOLES = 1024;

export class SeqMap<E> {
  /** Ascending, none empty. */
  private segments: Array<Segment<E>> = [];
  private count = 0;
  /** One past the highest sequence appended (while not empty, appends must reach it). */
  private end = 0;

  get size(): number {
    return this.count;
  }

  /** Smallest sequence held; undefined when empty. */
  get first(): number | undefined {
    if (this.count === 0) return undefined;
    const s = this.segments[0];
    return s.base + s.head;
  }

  get(seq: number): E | undefined {
    const s = this.segmentOf(seq);
    if (s === undefined) return undefined;
    const i = seq - s.base;
    return i >= s.head && i < s.slots.length ? s.slots[i] : undefined;
  }

  has(seq: number): boolean {
    return this.get(seq) !== undefined;
  }

  /** Adds `seq`, which must be above every sequence held. */
  append(seq: number, entry: E): void {
    const last = this.segments[this.segments.length - 1];
    if (last === undefined) {
      this.segments.push({ base: seq, slots: [entry], head: 0, count: 1 });
    } else {
      if (seq < this.end) throw new RangeError(`sequence ${seq} is not above ${this.end - 1}`);
      const i = seq - last.base;
      if (i - last.slots.length > MAX_HOLES) {
        this.segments.push({ base: seq, slots: [entry], head: 0, count: 1 });
      } else {
        while (last.slots.length < i) last.slots.push(undefined);
        last.slots.push(entry);
        last.count++;
      }
    }
    this.end = seq + 1;
    this.count++;
  }

  delete(seq: number): boolean {
    const k = this.indexOf(seq);
    if (k < 0) return false;
    const s = this.segments[k];
    const i = seq - s.base;
    if (i < s.head || i >= s.slots.length || s.slots[i] === undefined) return false;
    s.slots[i] = undefined;
    this.count--;
    if (--s.count === 0) {
      this.segments.splice(k, 1);
      return true;
    }
    if (i === s.head) {
      let h = i + 1;
      while (s.slots[h] === undefined) h++;
      s.head = h;
      if (h >= 1024 && h * 2 >= s.slots.length) {
        s.slots = s.slots.slice(h);
        s.base += h;
        s.head = 0;
      }
    }
    return true;
  }

  clear(): void {
    this.segments = [];
    this.count = 0;
  }

  /** Smallest sequence held that is >= `seq`, or -1. */
  next(seq: number): number {
    const segs = this.segments;
    for (let k = Math.max(this.indexOf(seq), 0); k < segs.length; k++) {
      const s = segs[k];
      const n = s.slots.length;
      for (let i = Math.max(seq - s.base, s.head); i < n; i++) {
        if (s.slots[i] !== undefined) return s.base + i;
      }
    }
    return -1;
  }

  /** Largest sequence held that is <= `seq`, or -1. */
  prev(seq: number): number {
    for (let k = this.indexOf(seq); k >= 0; k--) {
      const s = this.segments[k];
      for (let i = Math.min(seq - s.base, s.slots.length - 1); i >= s.head; i--) {
        if (s.slots[i] !== undefined) return s.base + i;
      }
    }
    return -1;
  }

  /** The segment whose range may hold `seq`. */
  private segmentOf(seq: number): Segment<E> | undefined {
    const segs = this.segments;
    const last = segs[segs.length - 1];
    // The newest segment serves almost every lookup (and is the only one, mostly).
    if (last === undefined || seq >= last.base) return last;
    const k = this.indexOf(seq);
    return k < 0 ? undefined : segs[k];
  }

  /** Index of the last segment starting at or below `seq`; -1 when `seq` is below them all. */
  private indexOf(seq: number): number {
    const segs = this.segments;
    let lo = 0;
    let hi = segs.length - 1;
    if (hi < 0 || seq < segs[0].base) return -1;
    if (seq >= segs[hi].base) return hi;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segs[mid].base <= seq) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
