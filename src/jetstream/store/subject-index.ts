/**
 * Per-subject message count and first/last sequence, kept by both stores so
 * that last-by-subject loads, max_msgs_per_subject and subject counts do not
 * scan messages. Removing a subject's first or last message only marks that
 * bound stale (with a safe lower/upper bound); it is found again by a scan
 * when next asked for, as nats-server does, so bulk removals stay O(1) each.
 */

export interface SubjectState {
  readonly subject: string;
  msgs: number;
  first: number;
  last: number;
  firstStale: boolean;
  lastStale: boolean;
}

/** What the index reads of the messages: the subject at a sequence, and the stored sequences around one. */
export interface StoredSequences {
  /** The subject stored at `seq`, or undefined when no message is there. */
  subjectAt(seq: number): string | undefined;
  /** Smallest stored sequence >= `seq`, or -1. */
  next(seq: number): number;
  /** Largest stored sequence <= `seq`, or -1. */
  prev(seq: number): number;
}

export class SubjectIndex {
  private readonly bySubject = new Map<string, SubjectState>();

  constructor(private readonly stored: StoredSequences) {}

  get size(): number {
    return this.bySubject.size;
  }

  add(subject: string, seq: number): SubjectState {
    let ss = this.bySubject.get(subject);
    if (ss === undefined) {
      ss = { subject, msgs: 1, first: seq, last: seq, firstStale: false, lastStale: false };
      this.bySubject.set(subject, ss);
    } else {
      ss.msgs++;
      ss.last = seq;
      ss.lastStale = false;
    }
    return ss;
  }

  remove(subject: string, seq: number): void {
    const ss = this.bySubject.get(subject);
    if (ss === undefined) return;
    if (--ss.msgs === 0) {
      this.bySubject.delete(subject);
      return;
    }
    if (seq === ss.first) {
      ss.first = seq + 1;
      ss.firstStale = true;
    }
    if (seq === ss.last) {
      ss.last = seq - 1;
      ss.lastStale = true;
    }
    if (ss.msgs === 1) {
      if (ss.firstStale && !ss.lastStale) {
        ss.first = ss.last;
        ss.firstStale = false;
      } else if (ss.lastStale && !ss.firstStale) {
        ss.last = ss.first;
        ss.lastStale = false;
      }
    }
  }

  /** The subject's state with exact bounds, or undefined when it has no messages. */
  /**
   * The index's own copy of `subject` when it has one: every message of a
   * subject then shares one string instead of each holding its own.
   */
  intern(subject: string): string {
    return this.bySubject.get(subject)?.subject ?? subject;
  }

  get(subject: string): SubjectState | undefined {
    const ss = this.bySubject.get(subject);
    if (ss !== undefined) this.settle(subject, ss);
    return ss;
  }

  /** Every subject with its (settled) state. */
  *entries(): IterableIterator<[string, SubjectState]> {
    for (const [subject, ss] of this.bySubject) {
      this.settle(subject, ss);
      yield [subject, ss];
    }
  }

  /** Counts only; bounds may be stale. */
  *counts(): IterableIterator<[string, number]> {
    for (const [subject, ss] of this.bySubject) yield [subject, ss.msgs];
  }

  clear(): void {
    this.bySubject.clear();
  }

  private settle(subject: string, ss: SubjectState): void {
    // From stored message to stored message: gaps in the sequence (a mirror's jumps) cost nothing.
    if (ss.firstStale) {
      let seq = this.stored.next(ss.first);
      while (this.stored.subjectAt(seq) !== subject) seq = this.stored.next(seq + 1);
      ss.first = seq;
      ss.firstStale = false;
    }
    if (ss.lastStale) {
      let seq = this.stored.prev(ss.last);
      while (this.stored.subjectAt(seq) !== subject) seq = this.stored.prev(seq - 1);
      ss.last = seq;
      ss.lastStale = false;
    }
  }
}
