import { runToEnd } from '../slices.js';
import { nowMs } from './clock.js';
import { SeqMap } from './seq-map.js';
import { storeError } from './store-errors.js';
import { SubjectFilter } from './subject-filter.js';
import { SubjectIndex, type SubjectState } from './subject-index.js';
import { isMarkerHeader, TtlSchedule, ttlOfHeader } from './msg-ttl.js';
import type {
  ConsumerStore, FilteredState, PurgeOptions, RemovalListener, StoreLimits, StoreState, StoredMessage, StreamStore,
} from './types.js';

/**
 * Deleted sequences listed at most (stream info's `deleted`; num_deleted
 * still counts them all): more would be megabytes of JSON, and a mirror's
 * jump of a billion sequences would never finish.
 */
export const MAX_DELETED_DETAILS = 100_000;
/** Messages removed (or visited) between two yields of a purge run in steps: about a millisecond of work. */
const STEP_MSGS = 8192;
const ALL_SUBJECTS = new SubjectFilter(null);

/** What both stores keep in memory for every stored message. */
export interface IndexEntry {
  readonly subject: string;
  readonly ts: number;
  /** The message's size in nats-server's accounting for this store kind. */
  readonly size: number;
}

/** How a message left the index, so the file store knows what to persist. */
export type RemovalKind = 'delete' | 'erase' | 'bulk';

/**
 * Sequence bookkeeping, limits, expiry and every query, shared by the memory
 * and file stores. Subclasses only say how a message is kept (`appendMsg`),
 * read back (`readMsg`) and how removals, skips and compactions are recorded.
 *
 * Messages live in a SeqMap (sequence-indexed array): sequences only grow,
 * so lookups, appends and in-order scans are all array walks.
 */
export abstract class IndexedStore<E extends IndexEntry> implements StreamStore {
  abstract readonly kind: 'file' | 'memory';

  protected readonly entries = new SeqMap<E>();
  protected readonly subjects = new SubjectIndex({
    subjectAt: (seq) => this.entries.get(seq)?.subject,
    next: (seq) => this.entries.next(seq),
    prev: (seq) => this.entries.prev(seq),
  });
  protected limits: StoreLimits;
  /** Sequence of the first stored message; lastSeq + 1 when empty. */
  protected firstSeq: number;
  protected lastSeq: number;
  protected lastTs = 0;
  protected bytes = 0;
  protected closed = false;
  private listener: RemovalListener | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;
  private expiryAt = 0;
  /** Messages with a Nats-TTL header (limits.msgTtl only). */
  private readonly ttls = new TtlSchedule();
  private ttlTimer: NodeJS.Timeout | null = null;
  private ttlTimerAt = 0;
  private readonly filters = new WeakMap<readonly string[], SubjectFilter>();

  protected constructor(limits: StoreLimits, firstSeq: number) {
    this.limits = limits;
    this.firstSeq = firstSeq;
    this.lastSeq = firstSeq - 1;
  }

  /** Keeps the message (memory: copies it; file: queues its record) and returns its index entry. */
  protected abstract appendMsg(seq: number, subject: string, hdr: Buffer | null, data: Buffer, ts: number): E;
  /** Null when the stored copy turned out unreadable; the subclass logs it and drops the entry. */
  protected abstract readMsg(seq: number, entry: E): StoredMessage | null;
  /** A message left the index; 'bulk' removals are covered by a following `recordFloor`. */
  protected abstract recordRemoval(seq: number, entry: E, kind: RemovalKind): void;
  /** `seq` was consumed without a message. */
  protected abstract recordSkip(seq: number): void;
  /** Every sequence below `floor` is gone (purge, compact). */
  protected abstract recordFloor(floor: number): void;
  /** Called after removals that may have emptied whole storage units. */
  protected abstract afterBulkRemoval(): void;
  abstract whenDurable(cb: (err: Error | null) => void): void;
  abstract whenSynced(cb: (err: Error | null) => void): void;
  abstract readonly damagedOnLoad: boolean;
  abstract consumerStore(name: string): ConsumerStore;
  abstract consumerNames(): string[];
  abstract stop(): Promise<void>;
  abstract delete(): Promise<void>;

  // ---- writes ----

  storeMsg(subject: string, hdr: Buffer | null, data: Buffer, ts?: number): { seq: number; ts: number } {
    const when = ts ?? nowMs();
    const seq = this.lastSeq + 1;
    this.admit(subject, hdr, data);
    this.insert(seq, subject, hdr, data, when);
    return { seq, ts: when };
  }

  storeMsgAt(seq: number, subject: string, hdr: Buffer | null, data: Buffer, ts: number): void {
    if (seq <= this.lastSeq) throw new RangeError(`sequence ${seq} is not after the last sequence ${this.lastSeq}`);
    this.admit(subject, hdr, data);
    this.insert(seq, subject, hdr, data, ts);
  }

  skipMsg(): number {
    this.assertOpen();
    const seq = ++this.lastSeq;
    if (this.entries.size === 0) this.firstSeq = seq + 1;
    this.recordSkip(seq);
    return seq;
  }

  removeMsg(seq: number): boolean {
    return this.removeOne(seq, 'delete');
  }

  eraseMsg(seq: number): boolean {
    return this.removeOne(seq, 'erase');
  }

  purge(opts: PurgeOptions = {}): number {
    return runToEnd(this.purgeSteps(opts));
  }

  *purgeSteps(opts: PurgeOptions = {}): Generator<void, number> {
    this.assertOpen();
    const { subject, seq, keep } = opts;
    if (subject === undefined || subject === '' || subject === '>') {
      if (seq !== undefined && seq > 1) return yield* this.compactSteps(seq);
      if (keep !== undefined && keep > 0) {
        if (keep >= this.entries.size) return 0;
        let floor = this.entries.prev(this.lastSeq);
        for (let left = keep - 1; left > 0; left--) {
          floor = this.entries.prev(floor - 1);
          if (left % STEP_MSGS === 0) yield;
        }
        return yield* this.removeBelowSteps(floor, false);
      }
      return yield* this.removeBelowSteps(this.lastSeq + 1, false);
    }
    return yield* this.purgeSubjectsSteps(new SubjectFilter(subject), seq ?? 0, keep ?? 0);
  }

  compact(seq: number): number {
    return runToEnd(this.compactSteps(seq));
  }

  private *compactSteps(seq: number): Generator<void, number> {
    this.assertOpen();
    if (seq <= this.firstSeq && this.entries.size > 0) return 0;
    return yield* this.removeBelowSteps(seq, true);
  }

  updateLimits(limits: StoreLimits): void {
    this.limits = limits;
    const per = limits.maxMsgsPerSubject;
    if (per > 0) {
      const over: string[] = [];
      for (const [subject, msgs] of this.subjects.counts()) if (msgs > per) over.push(subject);
      for (const subject of over) this.enforcePerSubject(subject);
    }
    this.enforceTotals();
    this.clearExpiryTimer();
    this.expire();
    // Turning TTLs off keeps every message; turning them on applies to messages stored from then on.
    if (limits.msgTtl !== true) {
      this.ttls.clear();
      this.clearTtlTimer();
    } else {
      this.expireTtls();
    }
    this.afterBulkRemoval();
  }

  setRemovalListener(listener: RemovalListener | null): void {
    this.listener = listener;
  }

  // ---- reads ----

  loadMsg(seq: number): StoredMessage | null {
    const e = this.entries.get(seq);
    return e === undefined || this.closed ? null : this.readMsg(seq, e);
  }

  loadNextMsg(filters: readonly string[] | null, start: number): StoredMessage | null {
    const f = this.filterOf(filters);
    // A corrupt message is dropped by readMsg: look past it. One still indexed
    // failed to read (I/O error): stop there rather than skip it.
    for (let seq = this.nextMatch(f, start); seq >= 0; seq = this.nextMatch(f, seq + 1)) {
      const m = this.loadMsg(seq);
      if (m !== null || this.entries.has(seq)) return m;
    }
    return null;
  }

  loadPrevMsg(filters: readonly string[] | null, start: number): StoredMessage | null {
    const f = new SubjectFilter(filters);
    for (let seq = this.prevMatch(f, start); seq >= 0; seq = this.prevMatch(f, seq - 1)) {
      const m = this.loadMsg(seq);
      if (m !== null || this.entries.has(seq)) return m;
    }
    return null;
  }

  loadLastMsg(filter: string): StoredMessage | null {
    const f = new SubjectFilter(filter);
    if (f.all) return this.entries.size === 0 ? null : this.loadMsg(this.prevMatch(f, this.lastSeq));
    if (f.literal !== null) {
      const ss = this.subjects.get(f.literal);
      return ss === undefined ? null : this.loadMsg(ss.last);
    }
    let best = -1;
    for (const [subject, ss] of this.subjects.entries()) {
      if (ss.last > best && f.matches(subject)) best = ss.last;
    }
    return best < 0 ? null : this.loadMsg(best);
  }

  state(): StoreState {
    const msgs = this.entries.size;
    const first = msgs > 0 ? this.entries.get(this.firstSeq) : undefined;
    return {
      msgs,
      bytes: this.bytes,
      firstSeq: msgs > 0 ? this.firstSeq : this.lastSeq === 0 ? 0 : this.lastSeq + 1,
      firstTs: first?.ts ?? 0,
      lastSeq: this.lastSeq,
      lastTs: this.lastTs,
      numDeleted: msgs > 0 ? this.lastSeq - this.firstSeq + 1 - msgs : 0,
      numSubjects: this.subjects.size,
    };
  }

  filteredState(start: number, filters: readonly string[] | null): FilteredState {
    const f = new SubjectFilter(filters);
    const out: FilteredState = { msgs: 0, first: 0, last: 0 };
    if (this.entries.size === 0 || start > this.lastSeq) return out;
    if (start <= this.firstSeq) {
      if (f.all) return { msgs: this.entries.size, first: this.firstSeq, last: this.entries.prev(this.lastSeq) };
      for (const [, ss] of this.matchingSubjects(f)) {
        out.msgs += ss.msgs;
        if (out.first === 0 || ss.first < out.first) out.first = ss.first;
        if (ss.last > out.last) out.last = ss.last;
      }
      return out;
    }
    if (start - this.firstSeq < this.lastSeq - start) {
      // Nearer the front: the whole-store figures minus what lies below start.
      const total = this.filteredState(this.firstSeq, filters);
      let below = 0;
      let lastBelow = 0;
      this.scanFrom(this.firstSeq, (seq, e) => {
        if (seq >= start) return false;
        if (f.matches(e.subject)) {
          below++;
          lastBelow = seq;
        }
        return true;
      });
      if (below === total.msgs) return out;
      if (below === 0) return total;
      return { msgs: total.msgs - below, first: this.nextMatch(f, lastBelow + 1), last: total.last };
    }
    this.scanFrom(start, (seq, e) => {
      if (f.matches(e.subject)) {
        if (out.msgs++ === 0) out.first = seq;
        out.last = seq;
      }
      return true;
    });
    return out;
  }

  subjectsState(filter: string): Map<string, number> {
    const out = new Map<string, number>();
    const f = new SubjectFilter(filter);
    if (f.literal !== null) {
      const ss = this.subjects.get(f.literal);
      if (ss !== undefined) out.set(f.literal, ss.msgs);
      return out;
    }
    for (const [subject, msgs] of this.subjects.counts()) if (f.matches(subject)) out.set(subject, msgs);
    return out;
  }

  lastSeqsPerSubject(filters: readonly string[] | null, start: number): number[] {
    const out: number[] = [];
    for (const [, ss] of this.matchingSubjects(new SubjectFilter(filters))) {
      if (ss.last >= start) out.push(ss.last);
    }
    return out.sort((a, b) => a - b);
  }

  numPending(start: number, filters: readonly string[] | null, lastPerSubject: boolean): number {
    if (!lastPerSubject) return this.filteredState(start, filters).msgs;
    let n = 0;
    for (const [, ss] of this.matchingSubjects(new SubjectFilter(filters))) if (ss.last >= start) n++;
    return n;
  }

  deletedSeqs(): number[] {
    const out: number[] = [];
    if (this.entries.size === 0) return out;
    // The gaps between stored messages, found from one to the next: a gap may span a billion sequences.
    let from = this.firstSeq + 1;
    for (;;) {
      const seq = this.entries.next(from);
      // The last sequence counts too: removing the newest message (or skipping one) leaves last_seq where it was.
      const upTo = seq < 0 ? this.lastSeq + 1 : seq;
      for (let s = from; s < upTo && out.length < MAX_DELETED_DETAILS; s++) out.push(s);
      if (seq < 0 || out.length >= MAX_DELETED_DETAILS) return out;
      from = seq + 1;
    }
  }

  // ---- internals shared with subclasses ----

  protected assertOpen(): void {
    if (this.closed) throw storeError('closed');
  }

  /** Stops the expiry timers; subclasses call it when stopping. */
  protected clearExpiryTimer(): void {
    if (this.expiryTimer !== null) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    this.expiryAt = 0;
    this.clearTtlTimer();
  }

  private clearTtlTimer(): void {
    if (this.ttlTimer !== null) clearTimeout(this.ttlTimer);
    this.ttlTimer = null;
    this.ttlTimerAt = 0;
  }

  /** Notes the TTL of a stored or recovered message with headers (when the stream allows TTLs). */
  protected trackTtl(seq: number, hdr: Buffer, ts: number): void {
    if (this.limits.msgTtl !== true) return;
    const ttl = ttlOfHeader(hdr);
    if (ttl === null) return;
    this.ttls.add(seq, ts, ttl, isMarkerHeader(hdr));
    this.ttls.compactIfStale((s) => this.entries.get(s) !== undefined, this.entries.size);
  }

  /** Removes the messages whose TTL has passed, then waits for the next one. */
  protected expireTtls(): void {
    if (this.closed) return;
    const now = nowMs();
    let removed = false;
    for (let seq = this.ttls.popDue(now); seq >= 0; seq = this.ttls.popDue(now)) {
      const e = this.entries.get(seq);
      if (e === undefined) continue;
      this.dropMsg(seq, e, 'delete', !this.ttls.markers.has(seq));
      removed = true;
    }
    if (removed) this.afterBulkRemoval();
    this.scheduleTtlExpiry();
  }

  private scheduleTtlExpiry(): void {
    const at = this.ttls.nextDue();
    if (at === Infinity || this.closed) return;
    if (this.ttlTimer !== null && this.ttlTimerAt <= at) return;
    this.clearTtlTimer();
    this.ttlTimerAt = at;
    this.ttlTimer = setTimeout(() => {
      this.ttlTimer = null;
      this.ttlTimerAt = 0;
      this.expireTtls();
    }, Math.max(0, Math.ceil(at - nowMs()) + 1));
    this.ttlTimer.unref();
  }

  /** Adds a recovered or appended message to the index (no limits, no persistence). */
  protected indexMsg(seq: number, entry: E): void {
    if (this.entries.size === 0) this.firstSeq = seq;
    this.entries.append(seq, entry);
    this.subjects.add(entry.subject, seq);
    this.bytes += entry.size;
    if (seq > this.lastSeq) {
      this.lastSeq = seq;
      this.lastTs = entry.ts;
    }
  }

  /** Removes `seq` from the index and tells the listener; persistence is the caller's. */
  protected unindex(seq: number, entry: E, expired = false): void {
    this.entries.delete(seq);
    this.subjects.remove(entry.subject, seq);
    this.bytes -= entry.size;
    this.ttls.forget(seq);
    if (seq === this.firstSeq) this.firstSeq = this.nextPresent();
    this.listener?.(seq, entry.subject, expired);
  }

  /** Restarts expiry after recovery or a limits change. */
  protected expire(): void {
    const maxAge = this.limits.maxAgeMs;
    if (maxAge <= 0 || this.closed) return;
    const cutoff = nowMs() - maxAge;
    let removed = false;
    for (let seq = this.entries.next(0); seq >= 0; seq = this.entries.next(seq + 1)) {
      const e = this.entries.get(seq) as E;
      if (e.ts > cutoff) break;
      if (this.ttls.never.has(seq)) continue;
      this.dropMsg(seq, e, 'delete', !this.ttls.markers.has(seq));
      removed = true;
    }
    if (removed) this.afterBulkRemoval();
    this.scheduleExpiry();
  }

  /** Computes the size of a message in this store's accounting. */
  protected abstract msgSize(subject: string, hdr: Buffer | null, data: Buffer): number;

  private nextPresent(): number {
    return this.entries.first ?? this.lastSeq + 1;
  }

  private admit(subject: string, hdr: Buffer | null, data: Buffer): void {
    this.assertOpen();
    const lim = this.limits;
    const hdrLen = hdr === null ? 0 : hdr.length;
    if (lim.maxMsgSize >= 0 && hdrLen + data.length > lim.maxMsgSize) throw storeError('msg_too_large');
    if (lim.discard !== 'new') return;
    const ss = lim.maxMsgsPerSubject > 0 ? this.subjects.get(subject) : undefined;
    // At its subject limit the new message replaces that subject's oldest, so totals do not grow.
    const atSubjectLimit = ss !== undefined && ss.msgs >= lim.maxMsgsPerSubject;
    if (atSubjectLimit && lim.discardNewPerSubject) throw storeError('max_msgs_per_subject');
    if (lim.maxMsgs > 0 && this.entries.size >= lim.maxMsgs && !atSubjectLimit) throw storeError('max_msgs');
    if (lim.maxBytes > 0) {
      const size = this.msgSize(subject, hdr, data);
      if (this.bytes + size >= lim.maxBytes) {
        const replaced = atSubjectLimit ? this.entries.get((ss as SubjectState).first) : undefined;
        if (replaced === undefined || replaced.size < size) throw storeError('max_bytes');
      }
    }
  }

  private insert(seq: number, subjectIn: string, hdr: Buffer | null, data: Buffer, ts: number): void {
    const subject = this.subjects.intern(subjectIn);
    this.indexMsg(seq, this.appendMsg(seq, subject, hdr, data, ts));
    if (hdr !== null) this.trackTtl(seq, hdr, ts);
    let removed = false;
    const per = this.limits.maxMsgsPerSubject;
    if (per > 0) {
      const ss = this.subjects.get(subject);
      if (ss !== undefined && ss.msgs > per) removed = this.enforcePerSubject(subject);
    }
    removed = this.enforceTotals() || removed;
    if (removed) this.afterBulkRemoval();
    if (this.limits.maxAgeMs > 0 && this.expiryTimer === null) this.scheduleExpiry();
    if (this.ttls.size > 0) this.scheduleTtlExpiry();
  }

  private enforcePerSubject(subject: string): boolean {
    const per = this.limits.maxMsgsPerSubject;
    let removed = false;
    for (let ss = this.subjects.get(subject); ss !== undefined && ss.msgs > per; ss = this.subjects.get(subject)) {
      this.dropMsg(ss.first, this.entries.get(ss.first) as E, 'delete');
      removed = true;
    }
    return removed;
  }

  private enforceTotals(): boolean {
    const { maxMsgs, maxBytes } = this.limits;
    let removed = false;
    while (this.entries.size > 0 &&
           ((maxMsgs > 0 && this.entries.size > maxMsgs) || (maxBytes > 0 && this.bytes > maxBytes))) {
      this.dropMsg(this.firstSeq, this.entries.get(this.firstSeq) as E, 'delete');
      removed = true;
    }
    return removed;
  }

  private dropMsg(seq: number, entry: E, kind: RemovalKind, expired = false): void {
    this.unindex(seq, entry, expired);
    this.recordRemoval(seq, entry, kind);
  }

  private removeOne(seq: number, kind: RemovalKind): boolean {
    this.assertOpen();
    const e = this.entries.get(seq);
    if (e === undefined) return false;
    this.dropMsg(seq, e, kind);
    this.afterBulkRemoval();
    return true;
  }

  /**
   * Removes every message below `floor`, oldest first; `extend` lets the
   * floor pass lastSeq (compact: the next message then gets `floor`).
   * Between steps the store is consistent: everything below its first
   * message is gone and recorded as such. Messages stored meanwhile are
   * newer than the purge and stay, whatever their sequence: a compact past
   * the end then leaves the sequence where they put it.
   */
  private *removeBelowSteps(floor: number, extend: boolean): Generator<void, number> {
    const lastAtStart = this.lastSeq;
    const end = Math.min(floor, lastAtStart + 1);
    let n = 0;
    for (let seq = this.entries.next(0); seq >= 0 && seq < end; seq = this.entries.next(seq + 1)) {
      this.dropMsg(seq, this.entries.get(seq) as E, 'bulk');
      if (++n % STEP_MSGS === 0) {
        this.recordFloor(this.firstSeq);
        this.afterBulkRemoval();
        yield;
        if (this.closed) return n;
      }
    }
    const extended = extend && floor > end && this.lastSeq === lastAtStart;
    if (extended) this.lastSeq = floor - 1;
    if (this.entries.size === 0) this.firstSeq = this.lastSeq + 1;
    this.recordFloor(Math.min(extended ? floor : end, this.lastSeq + 1));
    this.afterBulkRemoval();
    return n;
  }

  private *purgeSubjectsSteps(f: SubjectFilter, below: number, keep: number): Generator<void, number> {
    // Per subject, the oldest (count - keep) messages go, only those below `below` when given.
    const budget = new Map<string, number>();
    let left = 0;
    let lo = Infinity;
    let visited = 0;
    for (const [subject, ss] of this.matchingSubjects(f)) {
      if (ss.msgs > keep) {
        budget.set(subject, ss.msgs - keep);
        left += ss.msgs - keep;
        if (ss.first < lo) lo = ss.first;
      }
      if (++visited % STEP_MSGS === 0) yield;
    }
    if (left === 0) return 0;
    // Messages stored while this runs are newer than the purge: never theirs.
    const end = below > 1 ? below : this.lastSeq + 1;
    let purged = 0;
    for (let seq = this.entries.next(lo); seq >= 0 && seq < end && left > 0; seq = this.entries.next(seq + 1)) {
      const e = this.entries.get(seq) as E;
      const quota = budget.get(e.subject);
      if (quota !== undefined && quota > 0) {
        budget.set(e.subject, quota - 1);
        left--;
        this.dropMsg(seq, e, 'delete');
        purged++;
      }
      if (++visited % STEP_MSGS === 0) {
        this.afterBulkRemoval();
        yield;
        if (this.closed) return purged;
      }
    }
    this.afterBulkRemoval();
    return purged;
  }

  private *matchingSubjects(f: SubjectFilter): IterableIterator<[string, SubjectState]> {
    if (f.literal !== null) {
      const ss = this.subjects.get(f.literal);
      if (ss !== undefined) yield [f.literal, ss];
      return;
    }
    for (const pair of this.subjects.entries()) if (f.matches(pair[0])) yield pair;
  }

  /** Visits stored messages with seq >= start in order until `visit` returns false. */
  private scanFrom(start: number, visit: (seq: number, e: E) => boolean): void {
    for (let seq = this.entries.next(start); seq >= 0; seq = this.entries.next(seq + 1)) {
      if (!visit(seq, this.entries.get(seq) as E)) return;
    }
  }

  /**
   * The filter for a list, kept while the list lives: a consumer asks with
   * the same array for every message it delivers, and the filter remembers
   * which subjects matched.
   */
  private filterOf(filters: readonly string[] | null): SubjectFilter {
    if (filters === null) return ALL_SUBJECTS;
    let f = this.filters.get(filters);
    if (f === undefined) {
      f = new SubjectFilter(filters);
      this.filters.set(filters, f);
    }
    return f;
  }

  private nextMatch(f: SubjectFilter, start: number): number {
    let from = Math.max(start, this.firstSeq);
    let to = this.lastSeq;
    if (f.literal !== null) {
      const ss = this.subjects.get(f.literal);
      if (ss === undefined) return -1;
      from = Math.max(from, ss.first);
      to = ss.last;
    }
    // A plain loop, no visitor closure: this runs once per delivered message.
    for (let seq = this.entries.next(from); seq >= 0 && seq <= to; seq = this.entries.next(seq + 1)) {
      if (f.all || f.matches((this.entries.get(seq) as E).subject)) return seq;
    }
    return -1;
  }

  private prevMatch(f: SubjectFilter, start: number): number {
    let from = Math.min(start, this.lastSeq);
    let to = this.firstSeq;
    if (f.literal !== null) {
      const ss = this.subjects.get(f.literal);
      if (ss === undefined) return -1;
      from = Math.min(from, ss.last);
      to = Math.max(to, ss.first);
    }
    for (let seq = this.entries.prev(from); seq >= to; seq = this.entries.prev(seq - 1)) {
      if (f.matches((this.entries.get(seq) as E).subject)) return seq;
    }
    return -1;
  }

  private scheduleExpiry(): void {
    const maxAge = this.limits.maxAgeMs;
    if (maxAge <= 0 || this.entries.size === 0 || this.closed) return;
    // Messages with a TTL of never do not age: the oldest other one sets the time.
    let firstAging = this.firstSeq;
    while (firstAging >= 0 && this.ttls.never.has(firstAging)) firstAging = this.entries.next(firstAging + 1);
    if (firstAging < 0) return;
    const first = this.entries.get(firstAging) as E;
    const at = first.ts + maxAge;
    if (this.expiryTimer !== null && this.expiryAt <= at) return;
    this.clearExpiryTimer();
    this.expiryAt = at;
    // +1 ms so the first message is strictly past its age when the timer fires.
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = null;
      this.expiryAt = 0;
      this.expire();
    }, Math.max(0, Math.ceil(at - nowMs()) + 1));
    this.expiryTimer.unref();
  }
}
