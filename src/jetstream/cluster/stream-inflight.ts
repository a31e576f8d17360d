/**
 * The active leader's view of messages it proposed that are not applied yet.
 * Publish checks (expected sequences, dedupe, discard-new limits) must see
 * them, or two publishes in one turn would both pass `Nats-Expected-Last-
 * Sequence: 5`. The applied state lives in the Stream and its store; this is
 * only the overlay, emptied whenever this server stops or starts leading.
 */

interface SubjectInFlight {
  last: number;
  count: number;
}

export class InFlight {
  /** Last sequence proposed; 0 when nothing is in flight. */
  lastSeq = 0;
  /** Messages (not skips) in flight and their store size. */
  count = 0;
  bytes = 0;
  /** The Nats-Msg-Id of the last proposed entry ('' for none). */
  lastMsgId = '';
  /** A rollup of the whole stream in flight: subjects not proposed since have no last message. */
  rollupAllSeq = 0;
  private entries = 0;
  /** Sequences at or below this were proposed before this leadership: applying them changes nothing here. */
  private base = 0;
  private readonly ids = new Map<string, number>();
  private readonly subjects = new Map<string, SubjectInFlight>();
  /** Publishers of a duplicate of a message still in flight, by its sequence: answered once it is applied, never if it is lost. */
  private readonly duplicates = new Map<number, string[]>();

  /** Starts over from the applied state (leadership gained or lost). */
  reset(appliedLastSeq: number): void {
    this.base = appliedLastSeq;
    this.clear();
  }

  get empty(): boolean {
    return this.entries === 0;
  }

  proposed(seq: number, subject: string, size: number, msgId: string | null, rollupAll: boolean, skip: boolean): void {
    this.entries++;
    this.lastSeq = seq;
    this.lastMsgId = msgId ?? '';
    if (msgId !== null) this.ids.set(msgId, seq);
    if (skip) return;
    this.count++;
    this.bytes += size;
    if (rollupAll) this.rollupAllSeq = seq;
    const s = this.subjects.get(subject);
    if (s === undefined) this.subjects.set(subject, { last: seq, count: 1 });
    else {
      s.last = seq;
      s.count++;
    }
  }

  /** A proposed entry was applied (or refused at apply): it is in the applied state now. */
  applied(seq: number, subject: string, size: number, msgId: string | null, skip: boolean): void {
    if (seq <= this.base || seq > this.lastSeq || this.entries === 0) return;
    if (--this.entries === 0) {
      this.clear();
      return;
    }
    if (msgId !== null && this.ids.get(msgId) === seq) this.ids.delete(msgId);
    if (skip) return;
    this.count--;
    this.bytes -= size;
    if (this.rollupAllSeq === seq) this.rollupAllSeq = 0;
    const s = this.subjects.get(subject);
    if (s !== undefined && --s.count === 0) this.subjects.delete(subject);
  }

  /** Answers `reply` as a duplicate of `seq` once `seq` is applied. */
  awaitDuplicate(seq: number, reply: string): void {
    const list = this.duplicates.get(seq);
    if (list === undefined) this.duplicates.set(seq, [reply]);
    else list.push(reply);
  }

  /** The duplicates waiting for `seq` (call before `applied`). */
  takeDuplicates(seq: number): string[] | null {
    if (this.duplicates.size === 0) return null;
    const list = this.duplicates.get(seq);
    if (list === undefined) return null;
    this.duplicates.delete(seq);
    return list;
  }

  /** The sequence a Nats-Msg-Id was proposed at, 0 when none in flight. */
  seqOfId(msgId: string): number {
    return this.ids.get(msgId) ?? 0;
  }

  /** The last in-flight sequence of a subject: > 0 found; 0 none in flight; -1 none in flight but a whole-stream rollup is. */
  lastOfSubject(subject: string): number {
    const s = this.subjects.get(subject);
    if (s !== undefined) return s.last;
    return this.rollupAllSeq > 0 ? -1 : 0;
  }

  countOfSubject(subject: string): number {
    return this.subjects.get(subject)?.count ?? 0;
  }

  private clear(): void {
    this.entries = 0;
    this.lastSeq = 0;
    this.count = 0;
    this.bytes = 0;
    this.lastMsgId = '';
    this.rollupAllSeq = 0;
    this.ids.clear();
    this.subjects.clear();
    this.duplicates.clear();
  }
}
