/**
 * Mirrors and sources between streams of the same server. A follower reads
 * its origin's store directly: from where it left off up to the origin's
 * last message, then again whenever the origin stores something (the
 * origin wakes its followers). Catching up and following live are the same
 * loop, so nothing is missed between the two. A missing origin is looked for
 * again every second.
 *
 * A mirror keeps the origin's sequences; its position is its own last
 * sequence. A sourced message carries a `Nats-Stream-Source` header naming
 * the source and origin sequence, from which the position is recovered
 * after a restart, as nats-server does.
 *
 * In a JetStream cluster the origin may have no replica on this server
 * (the follower runs on its stream's leader): it is then read through the
 * API, one message at a time with `STREAM.MSG.GET` (`next_by_subj`), which
 * the origin's leader answers wherever it is; at the end of the origin the
 * follower asks again every quarter second.
 */
import { randomBytes } from 'node:crypto';
import type { Account } from '../accounts/account.js';
import { SubjectTransform } from '../accounts/subject-transform.js';
import type { Subscription } from '../server/subscription.js';
import { StoreError } from './store/types.js';
import type { StoredMessage, StreamStore } from './store/types.js';
import type { StreamConfig, StreamSourceConfig } from './types.js';
import type { JetStreamContext, OriginStream } from './engine-context.js';
import { headerValue } from './headers.js';
import { subjectMatches } from '../subjects/validate.js';

const HDR_STREAM_SOURCE = 'Nats-Stream-Source';
/** Messages copied per turn before yielding to other work. */
const BATCH = 512;
const RETRY_MS = 1000;
/** A remote origin at its end is asked again this often. */
const REMOTE_POLL_MS = 250;
/** A remote read with no answer within this long is asked again. */
const REMOTE_TIMEOUT_MS = 2000;
/** nats-server's "no message found" error code. */
const NO_MESSAGE_FOUND = 10037;

/** The stream a mirror or its sources copy into (implemented by the Stream). */
export interface SourceTarget {
  readonly account: Account;
  readonly store: StreamStore;
  readonly closed: boolean;
  /** A replica in a JetStream cluster: an origin not held here is read through the API. */
  readonly replicated: boolean;
  config(): StreamConfig;
  /** Stores a mirrored message at the origin's sequence. */
  storeMirrored(seq: number, subject: string, hdr: Buffer | null, data: Buffer, ts: number): void;
  /** Runs a sourced message through the stream's publish checks (`sourced` true); returns its sequence or 0. */
  processMsg(subject: string, reply: string | null, hdr: Buffer | null, data: Buffer, sourced: boolean): number;
}

interface Route {
  readonly filter: string;
  readonly transform: SubjectTransform | null;
}

class Follower {
  readonly cfg: StreamSourceConfig;
  readonly mirror: boolean;
  /** Identifies this source in Nats-Stream-Source headers. */
  readonly key: string;
  /** Next origin sequence to read. */
  next = 0;
  lastActive = 0;
  private origin: OriginStream | null = null;
  private readonly routes: Route[];
  private readonly filters: string[] | null;
  private scheduled = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  /** Reading a remote origin: the reply inbox, the pending request's timer. */
  private remote: Subscription | null = null;
  private remoteInbox = '';
  private remoteTimer: NodeJS.Timeout | null = null;
  private readonly stream: SourceTarget;
  private readonly js: JetStreamContext;

  constructor(stream: SourceTarget, js: JetStreamContext, cfg: StreamSourceConfig, mirror: boolean, next: number) {
    this.stream = stream;
    this.js = js;
    this.cfg = cfg;
    this.mirror = mirror;
    this.next = next;
    this.key = sourceKey(cfg);
    const transforms = cfg.subject_transforms ?? [];
    this.routes = transforms.length > 0
      ? transforms.map((t) => {
        const src = t.src === '' ? '>' : t.src;
        const tr = t.dest === '' ? null : SubjectTransform.create(src, t.dest);
        return { filter: src, transform: tr instanceof SubjectTransform ? tr : null };
      })
      : [{ filter: cfg.filter_subject ?? '>', transform: null }];
    const filters = this.routes.map((r) => r.filter).filter((f) => f !== '>');
    this.filters = filters.length === this.routes.length && filters.length > 0 ? filters : null;
  }

  start(): void {
    this.attach();
    this.timer = setInterval(() => this.attach(), RETRY_MS);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.origin?.followers.delete(this.wake);
    this.origin = null;
    this.stopRemote();
  }

  /** Finds (or re-finds, after the origin was recreated) the origin stream. */
  private attach(): void {
    if (this.stopped) return;
    if (this.cfg.external !== undefined) {
      // An origin in another JetStream domain (across a leaf connection) is read through its API only.
      this.startRemote();
      return;
    }
    const found = this.js.findStream(this.stream.account, this.cfg.name);
    const live = found !== null && !found.closed ? found : null;
    if (live === null && this.origin === null && this.stream.replicated) {
      this.startRemote();
      return;
    }
    if (live === this.origin) return;
    this.origin?.followers.delete(this.wake);
    this.origin = live;
    if (live === null) return;
    this.stopRemote();
    if (this.next === 0) this.next = this.startSeq(live);
    live.followers.add(this.wake);
    this.wake();
  }

  private startSeq(origin: OriginStream): number {
    if (this.cfg.opt_start_seq !== undefined && this.cfg.opt_start_seq > 0) return this.cfg.opt_start_seq;
    if (this.cfg.opt_start_time !== undefined) {
      const t = Date.parse(this.cfg.opt_start_time);
      for (let m = origin.store.loadNextMsg(null, 1); m !== null; m = origin.store.loadNextMsg(null, m.seq + 1)) {
        if (m.ts >= t) return m.seq;
      }
      return origin.store.state().lastSeq + 1;
    }
    return 1;
  }

  readonly wake = (): void => {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(this.pull);
  };

  private readonly pull = (): void => {
    this.scheduled = false;
    const origin = this.origin;
    if (origin === null || this.stopped || this.stream.closed) return;
    for (let n = 0; n < BATCH; n++) {
      const m = origin.store.loadNextMsg(this.filters, this.next);
      if (m === null) return;
      this.next = m.seq + 1;
      this.lastActive = Date.now();
      if (!this.copy(m)) return;
    }
    this.wake();
  };

  // ---- an origin on another server ----

  private startRemote(): void {
    if (this.remote !== null) return;
    this.remoteInbox = `_INBOX.natter.source.${randomBytes(8).toString('hex')}`;
    this.remote = this.js.core.subscribeInternal(this.stream.account, this.remoteInbox, null, this.onRemoteReply);
    if (this.next === 0) this.next = this.cfg.opt_start_seq !== undefined && this.cfg.opt_start_seq > 0 ? this.cfg.opt_start_seq : 1;
    this.askRemote();
  }

  private stopRemote(): void {
    if (this.remoteTimer !== null) clearTimeout(this.remoteTimer);
    this.remoteTimer = null;
    if (this.remote !== null) this.js.core.unsubscribeInternal(this.stream.account, this.remote);
    this.remote = null;
  }

  /** Asks the origin's leader for the next message from `next` (also the retry when an answer did not come). */
  private readonly askRemote = (): void => {
    this.remoteTimer = null;
    if (this.remote === null || this.stopped || this.stream.closed) return;
    const filter = this.filters !== null && this.filters.length === 1 ? this.filters[0] : '>';
    this.remoteTimer = setTimeout(this.askRemote, REMOTE_TIMEOUT_MS);
    const api = this.cfg.external?.api ?? '$JS.API';
    this.js.core.publishInternal(this.stream.account, `${api}.STREAM.MSG.GET.${this.cfg.name}`, this.remoteInbox, JSON.stringify({ seq: this.next, next_by_subj: filter }));
  };

  private askRemoteIn(ms: number): void {
    if (this.remoteTimer !== null) clearTimeout(this.remoteTimer);
    this.remoteTimer = setTimeout(this.askRemote, ms);
  }

  private readonly onRemoteReply = (_subject: string, _reply: string | null, hdrLen: number, msg: Buffer): void => {
    if (this.remote === null || this.stopped) return;
    const m = remoteMessage(hdrLen > 0 ? msg.subarray(hdrLen) : msg);
    if (m === null) return;
    if ('error' in m) {
      this.askRemoteIn(m.error === NO_MESSAGE_FOUND ? REMOTE_POLL_MS : RETRY_MS);
      return;
    }
    // An answer to an earlier request that was asked again: only the message at `next` or later counts.
    if (m.seq < this.next) return;
    this.next = m.seq + 1;
    this.lastActive = Date.now();
    this.copy(m);
    // The next request leaves after this delivery is done, never from inside it.
    this.askRemoteIn(0);
  };

  /** Copies one origin message; false when the stream refused it for good (sealed, full). */
  private copy(m: StoredMessage): boolean {
    const route = this.routes.length === 1 ? this.routes[0] : this.routes.find((r) => r.filter === '>' || subjectMatches(r.filter, m.subject));
    if (route === undefined) return true;
    const subject = route.transform?.apply(m.subject) ?? m.subject;
    if (this.mirror) {
      try {
        this.stream.storeMirrored(m.seq, subject, m.hdr, m.data, m.ts);
      } catch (e) {
        if (e instanceof StoreError || e instanceof RangeError) return true;
        throw e;
      }
      return true;
    }
    const line = `${HDR_STREAM_SOURCE}: ${this.key} ${m.seq}\r\n`;
    const hdr = m.hdr === null
      ? Buffer.from('NATS/1.0\r\n' + line + '\r\n', 'latin1')
      : Buffer.concat([m.hdr.subarray(0, m.hdr.length - 2), Buffer.from(line + '\r\n', 'latin1')]);
    this.stream.processMsg(subject, null, hdr, m.data, true);
    return true;
  }

  /** `{ name, lag, active, … }` as in stream info. */
  info(): Record<string, unknown> {
    const o: Record<string, unknown> = { name: this.cfg.name };
    if (this.cfg.filter_subject !== undefined) o.filter_subject = this.cfg.filter_subject;
    if (this.cfg.subject_transforms !== undefined) o.subject_transforms = this.cfg.subject_transforms;
    const origin = this.origin;
    o.lag = origin === null ? 0 : origin.store.numPending(Math.max(this.next, 1), this.filters, false);
    o.active = this.lastActive === 0 ? -1 : (Date.now() - this.lastActive) * 1_000_000;
    return o;
  }
}

/** A STREAM.MSG.GET answer: the message, or the error's code. */
function remoteMessage(body: Buffer): StoredMessage | { error: number } | null {
  let v: { message?: { subject?: unknown; seq?: unknown; hdrs?: unknown; data?: unknown; time?: unknown }; error?: { err_code?: unknown } };
  try {
    v = JSON.parse(body.toString('utf8')) as typeof v;
  } catch {
    return null;
  }
  if (v.error !== undefined) return { error: typeof v.error.err_code === 'number' ? v.error.err_code : 0 };
  const m = v.message;
  if (m === undefined || typeof m.subject !== 'string' || typeof m.seq !== 'number') return null;
  return {
    seq: m.seq,
    subject: m.subject,
    hdr: typeof m.hdrs === 'string' ? Buffer.from(m.hdrs, 'base64') : null,
    data: typeof m.data === 'string' ? Buffer.from(m.data, 'base64') : Buffer.alloc(0),
    ts: typeof m.time === 'string' ? timeStringToMs(m.time) : Date.now(),
  };
}

/** RFC 3339 with up to nanoseconds to milliseconds with the fraction the stores keep. */
function timeStringToMs(t: string): number {
  const whole = Date.parse(t.replace(/\.\d+/, ''));
  const frac = /\.(\d+)/.exec(t);
  return frac === null ? whole : whole + Number(`0.${frac[1]}`) * 1000;
}

function sourceKey(cfg: StreamSourceConfig): string {
  const parts = [cfg.name];
  if (cfg.filter_subject !== undefined) parts.push(cfg.filter_subject);
  for (const t of cfg.subject_transforms ?? []) parts.push(`${t.src}>${t.dest}`);
  // Spaces separate the key from the sequence in the header value.
  return parts.join(':').replace(/\s/g, '_');
}

/** The mirror or sources of one stream. */
export class SourceSet {
  private readonly stream: SourceTarget;
  private readonly js: JetStreamContext;
  private mirror: Follower | null = null;
  private sources: Follower[] = [];

  constructor(stream: SourceTarget, js: JetStreamContext) {
    this.stream = stream;
    this.js = js;
  }

  start(): void {
    const cfg = this.stream.config();
    if (cfg.mirror !== undefined) {
      const last = this.stream.store.state().lastSeq;
      this.mirror = new Follower(this.stream, this.js, cfg.mirror, true, last > 0 ? last + 1 : 0);
      this.mirror.start();
    }
    const list = cfg.sources ?? [];
    if (list.length === 0) return;
    const positions = this.recoverPositions(list.map(sourceKey));
    this.sources = list.map((s) => new Follower(this.stream, this.js, s, false, positions.get(sourceKey(s)) ?? 0));
    for (const f of this.sources) f.start();
  }

  /** After a config update: keep followers whose config is unchanged, start new ones, stop removed ones. */
  update(): void {
    const cfg = this.stream.config();
    if (cfg.mirror === undefined && this.mirror !== null) {
      // Removing the mirror promotes the stream to a normal one.
      this.mirror.stop();
      this.mirror = null;
    }
    const wanted = cfg.sources ?? [];
    const keep: Follower[] = [];
    for (const f of this.sources) {
      if (wanted.some((w) => sourceKey(w) === f.key)) keep.push(f);
      else f.stop();
    }
    const added = wanted.filter((w) => !keep.some((f) => f.key === sourceKey(w)));
    for (const w of added) {
      const f = new Follower(this.stream, this.js, w, false, 0);
      keep.push(f);
      f.start();
    }
    this.sources = keep;
  }

  stop(): void {
    this.mirror?.stop();
    for (const f of this.sources) f.stop();
  }

  /** The last origin sequence of each source, from the newest message carrying its header. */
  private recoverPositions(keys: string[]): Map<string, number> {
    const out = new Map<string, number>();
    const store = this.stream.store;
    const last = store.state().lastSeq;
    for (let m = last > 0 ? store.loadPrevMsg(null, last) : null; m !== null && out.size < keys.length; m = m.seq > 1 ? store.loadPrevMsg(null, m.seq - 1) : null) {
      if (m.hdr === null) continue;
      const v = headerValue(m.hdr, HDR_STREAM_SOURCE);
      if (v === null) continue;
      const cut = v.lastIndexOf(' ');
      const key = v.slice(0, cut);
      if (keys.includes(key) && !out.has(key)) out.set(key, Number(v.slice(cut + 1)) + 1);
    }
    return out;
  }

  mirrorInfo(): Record<string, unknown> | null {
    return this.mirror?.info() ?? null;
  }

  sourcesInfo(): Record<string, unknown>[] {
    return this.sources.map((f) => f.info());
  }
}
