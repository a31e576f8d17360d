/**
 * Sequence -> entry for a log whose sequences only grow: a dense array
 * offset by the first sequence, so lookups are an index and appends a push
 * (a Map spent most of the store's time rehashing). Removed entries leave
 * holes; holes at the front are dropped, and the array is re-based once
 * they are half of it. Gaps from explicit sequences (storeMsgAt, compact)
 * are holes too; a store that is empty simply re-bases.
 */
export class SeqMap<E> {
  private slots: Array<E | undefined> = [];
  /** Sequence of slots[0]. */
  private base = 0;
  /** Index of the first live slot (slots.length when empty). */
  private head = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Smallest sequence held; undefined when empty. */
  get first(): number | undefined {
    return this.count === 0 ? undefined : this.base + this.head;
  }

  get(seq: number): E | undefined {
    const i = seq - this.base;
    return i >= this.head && i < this.slots.length ? this.slots[i] : undefined;
  }

  has(seq: number): boolean {
    return this.get(seq) !== undefined;
  }

  /** Adds `seq`, which must be above every sequence held. */
  append(seq: number, entry: E): void {
    if (this.count === 0) {
      this.slots = [entry];
      this.base = seq;
      this.head = 0;
    } else {
      const i = seq - this.base;
      if (i < this.slots.length) throw new RangeError(`sequence ${seq} is not above ${this.base + this.slots.length - 1}`);
      while (this.slots.length < i) this.slots.push(undefined);
      this.slots.push(entry);
    }
    this.count++;
  }

  delete(seq: number): boolean {
    const i = seq - this.base;
    if (i < this.head || i >= this.slots.length || this.slots[i] === undefined) return false;
    this.slots[i] = undefined;
    if (--this.count === 0) {
      this.slots = [];
      this.head = 0;
      return true;
    }
    if (i === this.head) {
      let h = i + 1;
      while (this.slots[h] === undefined) h++;
      this.head = h;
      if (h >= 1024 && h * 2 >= this.slots.length) {
        this.slots = this.slots.slice(h);
        this.base += h;
        this.head = 0;
      }
    }
    return true;
  }

  clear(): void {
    this.slots = [];
    this.head = 0;
    this.count = 0;
  }

  /** Smallest sequence held that is >= `seq`, or -1. */
  next(seq: number): number {
    const n = this.slots.length;
    for (let i = Math.max(seq - this.base, this.head); i < n; i++) {
      if (this.slots[i] !== undefined) return this.base + i;
    }
    return -1;
  }

  /** Largest sequence held that is <= `seq`, or -1. */
  prev(seq: number): number {
    for (let i = Math.min(seq - this.base, this.slots.length - 1); i >= this.head; i--) {
      if (this.slots[i] !== undefined) return this.base + i;
    }
    return -1;
  }
}
