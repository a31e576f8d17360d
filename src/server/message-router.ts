import { randomBytes } from 'node:crypto';
import type { Account } from '../accounts/account.js';
import type { Logger } from '../log/logger.js';
import type { MessageForwarder } from './core.js';
import { RoutedMessage, type Publisher } from './routed-message.js';
import type { SublistResult } from '../subjects/sublist.js';
import type { Subscription } from './subscription.js';
import { PeerGather, type GatheringSubscriber } from './peer-gather.js';
import type { ServiceImportRoute, StreamImportRoute } from '../accounts/import-routes.js';
import { NOT_TRACED, TraceKind, type MsgTrace, type TraceStarter } from '../trace/msg-trace.js';
import { traceEgress } from '../trace/trace-egress.js';
import { withTraceDisabled } from '../trace/trace-headers.js';
import { traceScope } from '../trace/trace-scope.js';

/** Service responses travel back on `_R_.<random>` subjects, as in nats-server. */
const RESPONSE_PREFIX = '_R_.';
/** Longest chain of cross-account hops one message may take. */
const MAX_IMPORT_DEPTH = 8;
/** Replies of JetStream deliveries (a peer may append the shown subject to them). */
const JS_ACK_PREFIX = '$JS.ACK.';
const NO_QUEUES: readonly string[] = [];


/**
 * Message routing, the hot path: a publish reaches the matching
 * subscriptions of its account (all plain subscribers, one member of each
 * queue group), the accounts its imports and exports lead to, and peers
 * through the forwarder.
 *
 * The message travels down the path as one RoutedMessage record. Records
 * are taken from a stack by nesting level, because an internal handler may
 * publish (and a peer's message may reach one) while an outer message is
 * still being delivered; each hop into another account takes a record of
 * its own, since the route that led there goes on with its own subject.
 */
export class MessageRouter {
  /** Set by the cluster layer (ServerCore.setForwarder): carries publishes to peers with interest. */
  forwarder: MessageForwarder | null = null;
  private readonly accounts: ReadonlyMap<string, Account>;
  private readonly logger: Logger;
  /** Records by nesting level; `level` of them are in use. */
  private readonly records: RoutedMessage[] = [];
  private level = 0;
  /** Queue groups of the publishing account served locally by the publish being routed (for the forwarder). */
  private readonly localQueues: string[] = [];
  /** Where deliverMatched notes the queue groups it served; null: nobody asks. */
  private queueRecord: string[] | null = null;
  /** routeMessage calls under way (internal handlers can publish from inside one). */
  private routing = 0;
  /** Queue groups served for the routed message being delivered (peer input never nests). */
  private readonly peerQueues: string[] = [];
  /** Leaf connections picked by the delivery under way (they take each message once). */
  readonly gather = new PeerGather();
  /** Set by the server: message tracing (src/trace), asked only about messages with headers. */
  tracer: TraceStarter | null = null;

  /** `accounts` is the server's live table: imports name the accounts they lead to. */
  constructor(accounts: ReadonlyMap<string, Account>, logger: Logger) {
    this.accounts = accounts;
    this.logger = logger;
  }

  /**
   * Delivers a published message to every matching subscription of the
   * account and its routes, then offers it to peers. Returns how many
   * subscriptions (and peers) got it.
   */
  routeMessage(pub: Publisher | null, acc: Account, subject: string, reply: string | null, hdrLen: number, buf: Buffer, start: number, end: number, sizeText: string | null): number {
    // ---- message tracing (src/trace): a header block naming a trace header is routed with its trace ----
    if (hdrLen > 0 && pub !== null && this.tracer !== null && traceScope.active === null) {
      const d = this.tracer.begin(TraceKind.Client, pub.cid, pub.name, pub.perms, acc, subject, buf, start, hdrLen, end, pub);
      if (d !== NOT_TRACED) return this.tracer.run(d, buf, start, hdrLen, end, (b, s, h, e) => this.routeMessage(pub, acc, subject, reply, h, b, s, e, h === hdrLen ? sizeText : null));
    }
    const r = acc.sublist.match(subject);
    const local = r.psubs.length > 0 || r.qsubs.length > 0;
    const forwarder = this.forwarder;
    // A publish nobody here or elsewhere can want costs one match and nothing else.
    if (!local && forwarder === null && !acc.crossAccount) return 0;
    const m = this.enter();
    m.fill(pub, r.subject, reply, hdrLen, buf, start, end);
    m.sizeText = sizeText;
    const outer = this.queueRecord;
    let served: string[] | null = null;
    if (forwarder !== null) {
      // An internal handler may publish while an outer publish is being routed: that one keeps its list.
      served = this.routing === 0 ? this.localQueues : [];
      served.length = 0;
    }
    this.routing++;
    // Stream-import deliveries record too: an importer's queue group stands for the exporter's shadow group.
    this.queueRecord = served;
    let delivered = local ? this.deliverMatched(m, r, null) : 0;
    if (acc.crossAccount) delivered += this.routeAcrossAccounts(m, acc, 0, null, true);
    this.queueRecord = outer;
    this.routing--;
    this.leave(m);
    if (forwarder !== null) delivered += forwarder.forward(acc, subject, reply, hdrLen, buf, start, end, served as string[]);
    return delivered;
  }

  /**
   * Publishes a message from the server itself into `acc`, routed like a
   * client's (imports included). `headers` is a full NATS/1.0 header block.
   */
  publishInternal(acc: Account, subject: string, reply: string | null, payload: Buffer | string, headers: string | Buffer | null): number {
    // A trace handed to the internal subscriber publishing this (src/trace) is not this message's.
    traceScope.handed = null;
    const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
    let msg = body;
    let hdrLen = -1;
    if (headers !== null) {
      const h = typeof headers === 'string' ? Buffer.from(headers, 'latin1') : headers;
      msg = Buffer.concat([h, body]);
      hdrLen = h.length;
    }
    return this.routeMessage(null, acc, subject, reply, hdrLen, msg, 0, msg.length, null);
  }

  /**
   * A message that arrived from a peer server (route): delivered here only,
   * never forwarded again. `queues` names the queue groups this server
   * should serve (one member each); plain subscribers always get it. The
   * groups of `queues` nobody here could take (the member left meanwhile)
   * are added to `unserved`, for the caller to hand on.
   */
  deliverFromPeer(acc: Account, subject: string, reply: string | null, hdrLen: number, buf: Buffer, start: number, end: number, queues: readonly string[], unserved: string[] | null): number {
    const r = acc.sublist.match(subject);
    const m = this.enter();
    // A JetStream delivery from a peer: `<ack reply>@<stream subject>` (see deliverInternalAs).
    const at = reply !== null && reply.startsWith(JS_ACK_PREFIX) ? reply.indexOf('@') : -1;
    m.fill(null, r.subject, at > 0 ? (reply as string).slice(0, at) : reply, hdrLen, buf, start, end);
    if (at > 0) m.shown = (reply as string).slice(at + 1);
    const outer = this.queueRecord;
    let served: string[] | null = null;
    if (unserved !== null && queues.length > 0) {
      served = this.peerQueues;
      served.length = 0;
    }
    this.queueRecord = served;
    let delivered = r.psubs.length > 0 || r.qsubs.length > 0 ? this.deliverMatched(m, r, queues) : 0;
    if (acc.crossAccount) delivered += this.routeAcrossAccounts(m, acc, 0, queues, false);
    this.queueRecord = outer;
    this.leave(m);
    if (served !== null && unserved !== null) {
      for (let i = 0; i < queues.length; i++) if (!served.includes(queues[i])) unserved.push(queues[i]);
    }
    return delivered;
  }

  /**
   * A message that arrived over a leaf connection: routed like a client's
   * publish (local subscribers, routes, other leaf connections; never back
   * to `pub`, whose deliver refuses its own messages). `queues` limits the
   * queue groups served here to those the sender picked; null serves all.
   */
  routeFromLeaf(pub: Publisher, acc: Account, subject: string, reply: string | null, queues: readonly string[] | null, hdrLen: number, buf: Buffer, start: number, end: number): number {
    // ---- message tracing (src/trace) ----
    if (hdrLen > 0 && this.tracer !== null && traceScope.active === null) {
      const name = (pub as { readonly remoteName?: string }).remoteName ?? pub.name;
      const d = this.tracer.begin(TraceKind.Leaf, pub.cid, name, null, acc, subject, buf, start, hdrLen, end, null);
      if (d !== NOT_TRACED) return this.tracer.run(d, buf, start, hdrLen, end, (b, s, h, e) => this.routeFromLeaf(pub, acc, subject, reply, queues, h, b, s, e));
    }
    const r = acc.sublist.match(subject);
    const local = r.psubs.length > 0 || r.qsubs.length > 0;
    const forwarder = this.forwarder;
    if (!local && forwarder === null && !acc.crossAccount) return 0;
    const m = this.enter();
    // A JetStream delivery from the other side: `<ack reply>@<stream subject>` (see GatheringSubscriber senders).
    const at = reply !== null && reply.startsWith(JS_ACK_PREFIX) ? reply.indexOf('@') : -1;
    m.fill(pub, r.subject, at > 0 ? (reply as string).slice(0, at) : reply, hdrLen, buf, start, end);
    if (at > 0) m.shown = (reply as string).slice(at + 1);
    const outer = this.queueRecord;
    const served: string[] | null = forwarder === null ? null : [];
    this.routing++;
    this.queueRecord = served;
    let delivered = local ? this.deliverMatched(m, r, queues) : 0;
    if (acc.crossAccount) delivered += this.routeAcrossAccounts(m, acc, 0, queues, true);
    this.queueRecord = outer;
    this.routing--;
    this.leave(m);
    if (forwarder !== null) delivered += forwarder.forward(acc, subject, reply, hdrLen, buf, start, end, served as string[]);
    return delivered;
  }

  /**
   * Delivers a server-made message to the subscribers of `routeSubject` (local ones, else a peer's)
   * while showing them `shownSubject` in MSG/HMSG, as JetStream does: a pull
   * or push delivery travels to the consumer's inbox but carries the
   * stream message's own subject. `msg` holds the header block (hdrLen
   * bytes, -1 for none) followed by the payload.
   */
  deliverInternalAs(acc: Account, routeSubject: string, shownSubject: string, reply: string | null, hdrLen: number, msg: Buffer): number {
    traceScope.handed = null;
    const r = acc.sublist.match(routeSubject);
    if (r.psubs.length === 0 && r.qsubs.length === 0) {
      // The subscriber may be a peer's client (it pulls from a consumer led here). Over the route
      // the reply carries the shown subject after '@', as nats-server encodes JetStream deliveries.
      if (this.forwarder === null) return 0;
      const wire = reply === null || reply === '' ? null : shownSubject === routeSubject ? reply : reply + '@' + shownSubject;
      return this.forwarder.forward(acc, routeSubject, wire, hdrLen, msg, 0, msg.length, NO_QUEUES);
    }
    const m = this.enter();
    m.fill(null, r.subject, reply, hdrLen, msg, 0, msg.length);
    m.shown = shownSubject;
    const delivered = this.deliverMatched(m, r, null);
    this.leave(m);
    return delivered;
  }

  /** The record for the next nesting level. */
  private enter(): RoutedMessage {
    let m = this.records[this.level];
    if (m === undefined) {
      m = new RoutedMessage();
      this.records.push(m);
    }
    this.level++;
    return m;
  }

  private leave(m: RoutedMessage): void {
    m.clear();
    this.level--;
  }

  /**
   * A message entering `acc` from another account: its subscribers, peers
   * with interest in `acc` (only when the message began on this server:
   * a routed one was already spread by its origin), then `acc`'s own
   * onward routes.
   */
  private routeIn(m: RoutedMessage, acc: Account, depth: number, local: boolean): number {
    const forwarder = local ? this.forwarder : null;
    const outer = this.queueRecord;
    // Queue groups served here are not offered to peers; the caller's own record must not see `acc`'s groups.
    const served: string[] | null = forwarder === null ? null : [];
    this.queueRecord = served;
    let delivered = this.deliverLocal(m, acc, null);
    this.queueRecord = null;
    if (forwarder !== null) delivered += forwarder.forwardImport(acc, m.subject, m.reply, m.hdrLen, m.buf, m.start, m.end, served as string[]);
    if (acc.crossAccount) delivered += this.routeAcrossAccounts(m, acc, depth + 1, null, local);
    this.queueRecord = outer;
    return delivered;
  }

  /**
   * Stream exports, service imports and service responses of `acc`: the
   * message is delivered again in each account a route leads to, with the
   * subject (and for services the reply) mapped into that account's space.
   * Cycles are refused at load; the depth bound guards chains anyway.
   * A message from a peer (`local` false) takes responses and stream
   * imports only: its origin already went through the service imports, as
   * nats-server ignores them on routed messages. `queueFilter` is the
   * routed message's queue section: the importers' queue groups are the
   * exporter's shadow groups of the same names.
   */
  private routeAcrossAccounts(m: RoutedMessage, acc: Account, depth: number, queueFilter: readonly string[] | null, local: boolean): number {
    if (depth >= MAX_IMPORT_DEPTH) return 0;
    const pub = m.publisher;
    const subject = m.subject;
    const reply = m.reply;
    const hop = this.enter();
    let delivered = 0;
    if (acc.responses.size > 0 && subject.startsWith(RESPONSE_PREFIX)) {
      const e = acc.responses.get(subject);
      if (e !== undefined) {
        if (e.type === 'singleton') {
          acc.responses.delete(subject);
          acc.refreshCrossAccount();
        }
        hop.fill(pub, e.reply, reply, m.hdrLen, m.buf, m.start, m.end);
        delivered += this.routeIn(hop, e.account, depth, local);
      }
    }
    const streams = acc.streamExports;
    for (let i = 0; i < streams.length; i++) {
      const route = streams[i];
      const mapped = route.map(subject);
      const importer = mapped === null ? undefined : this.accounts.get(route.importer);
      // A stream import reaches the importer's own subscribers only; it does not pass on further.
      if (importer !== undefined) {
        hop.fill(pub, mapped as string, reply, m.hdrLen, m.buf, m.start, m.end);
        const trace = traceScope.active;
        delivered += trace === null ? this.deliverLocal(hop, importer, queueFilter) : this.deliverExportTraced(trace, route, hop, importer, queueFilter);
      }
    }
    if (local) {
      const services = acc.serviceImports;
      for (let i = 0; i < services.length; i++) {
        const route = services[i];
        if (!route.covers(subject)) continue;
        const to = route.toExporter(subject);
        const exporter = this.accounts.get(route.exporter);
        if (to === null || exporter === undefined) continue;
        // The import itself is interest, as in nats-server: no 503 even when nobody serves it yet.
        delivered++;
        let mappedReply: string | null = null;
        if (reply !== null) {
          // The responder sees a private reply subject; its answer is mapped back to the requester's.
          mappedReply = exporter.responsePrefix + randomBytes(12).toString('base64url');
          exporter.responses.set(mappedReply, { account: acc, reply, type: route.responseType, expires: Date.now() + route.responseThresholdMs });
          exporter.crossAccount = true;
        }
        if (m.hdrLen > 0) {
          // Requests with headers tell the responder who is asking (nats-server's Nats-Request-Info).
          const withInfo = withRequestInfo(m, acc.name);
          hop.fill(pub, to, mappedReply, withInfo.hdrLen, withInfo.msg, 0, withInfo.msg.length);
        } else {
          hop.fill(pub, to, mappedReply, m.hdrLen, m.buf, m.start, m.end);
        }
        const trace = traceScope.active;
        delivered += trace === null ? this.routeIn(hop, exporter, depth, local) : this.routeImportTraced(trace, route, subject, hop, exporter, depth, local);
      }
    }
    this.leave(hop);
    return delivered;
  }

  // ---- message tracing (src/trace): account boundaries -----------------------------------

  /**
   * A traced message crossing a stream export: the trace follows into the
   * importer only when its import allows it (allow_trace); otherwise a
   * trace-only message stops here and a delivered one goes on untraced.
   */
  private deliverExportTraced(t: MsgTrace, route: StreamImportRoute, hop: RoutedMessage, importer: Account, queueFilter: readonly string[] | null): number {
    const r = importer.sublist.match(hop.subject);
    if (r.psubs.length === 0 && r.qsubs.length === 0) return 0;
    t.addStreamExport(importer.name, hop.subject);
    if (route.allowTrace) return this.deliverMatched(hop, r, queueFilter);
    // Counted as taken, as nats-server does, so the publisher gets no no-responders status.
    if (t.traceOnly) return 1;
    traceScope.active = null;
    try {
      return this.deliverMatched(hop, r, queueFilter);
    } finally {
      traceScope.active = t;
    }
  }

  /**
   * A traced request crossing a service import (`from` in the importer):
   * the trace follows into the exporter only when its export allows it
   * (allow_trace); otherwise a trace-only request stops here and a
   * delivered one goes on with tracing switched off in its headers, so
   * that no server traces it further.
   */
  private routeImportTraced(t: MsgTrace, route: ServiceImportRoute, from: string, hop: RoutedMessage, exporter: Account, depth: number, local: boolean): number {
    t.addServiceImport(exporter.name, from, hop.subject);
    if (route.allowTrace) return this.routeIn(hop, exporter, depth, local);
    if (t.traceOnly) return 0;
    const w = withTraceDisabled(hop.buf, hop.start, hop.hdrLen, hop.end);
    hop.fill(hop.publisher, hop.subject, hop.reply, w.hdrLen, w.buf, 0, w.buf.length);
    traceScope.active = null;
    try {
      return this.routeIn(hop, exporter, depth, local);
    } finally {
      traceScope.active = t;
    }
  }

  /**
   * Delivery under a trace: a connection's delivery is an egress event
   * (trace-only ones are reported, not delivered); an internal subscriber
   * runs with the trace handed to it rather than active, so JetStream can
   * report what its stream did while what the subscriber publishes is not
   * traced.
   */
  private deliverTraced(t: MsgTrace, m: RoutedMessage, sub: Subscription, head: string, tail: string): boolean {
    const c = sub.client;
    if (c !== null) return traceEgress(t, c, sub, m, head, tail, standsForServer(sub));
    traceScope.active = null;
    traceScope.handed = t;
    try {
      return this.deliverInternal(m, sub);
    } finally {
      traceScope.handed = null;
      traceScope.active = t;
    }
  }

  /** Delivers to the subscribers of one account: all plain ones, one member per queue group. */
  private deliverLocal(m: RoutedMessage, acc: Account, queueFilter: readonly string[] | null): number {
    const r = acc.sublist.match(m.subject);
    if (r.psubs.length === 0 && r.qsubs.length === 0) return 0;
    return this.deliverMatched(m, r, queueFilter);
  }

  /** Delivers to `r`, the subscriptions matching m.subject (at least one). */
  private deliverMatched(m: RoutedMessage, r: SublistResult<Subscription>, queueFilter: readonly string[] | null): number {
    const subject = m.subject;
    const psubs = r.psubs;
    const qsubs = r.qsubs;
    const hdrLen = m.hdrLen;
    const reply = m.reply;
    const shown = m.shown;
    const sizeText = m.sizeText;
    const size = m.end - m.start;
    // The MSG line around each subscriber's sid: "MSG <subject> " or "HMSG <subject> ", then "[reply ][hdrLen ]<size>\r\n".
    let head: string;
    let tail: string;
    if (shown !== null) {
      head = (hdrLen < 0 ? 'MSG ' : 'HMSG ') + shown + ' ';
      tail = (reply === null ? '' : reply + ' ') + (hdrLen < 0 ? '' : hdrLen + ' ') + size + '\r\n';
    } else if (sizeText !== null) {
      // Sizes written with leading zeros are echoed as written (nats-server copies the bytes).
      head = hdrLen < 0 ? 'MSG ' + subject + ' ' : 'HMSG ' + subject + ' ';
      tail = (reply === null ? '' : reply + ' ') + sizeText + '\r\n';
    } else if (hdrLen < 0) {
      head = r.msgHead ??= 'MSG ' + subject + ' ';
      tail = reply === null ? sizeTail(size) : reply + ' ' + size + '\r\n';
    } else {
      head = r.hmsgHead ??= 'HMSG ' + subject + ' ';
      tail = reply === null ? hdrLen + ' ' + size + '\r\n' : reply + ' ' + hdrLen + ' ' + size + '\r\n';
    }
    let delivered = 0;
    const gather = this.gather;
    const outerMark = gather.mark;
    gather.mark = gather.count;
    for (let i = 0; i < psubs.length; i++) {
      if (this.deliver(m, psubs[i], head, tail)) delivered++;
    }
    for (let g = 0; g < qsubs.length; g++) {
      const group = qsubs[g];
      const n = group.length;
      const queue = group[0].queue as string;
      if (queueFilter !== null && !queueFilter.includes(queue)) continue;
      // Random start, then the next member that can take it (echo, max, closed). Members that
      // stand for another server (leaf connections) come last, as nats-server prefers local ones.
      const first = (Math.random() * n) | 0;
      let taken = false;
      let peers = false;
      for (let k = 0; k < n && !taken; k++) {
        const sub = group[(first + k) % n];
        if (standsForServer(sub)) peers = true;
        else taken = this.deliver(m, sub, head, tail);
      }
      for (let k = 0; k < n && peers && !taken; k++) {
        const sub = group[(first + k) % n];
        if (standsForServer(sub)) taken = this.deliver(m, sub, head, tail);
      }
      if (taken) {
        delivered++;
        const record = this.queueRecord;
        if (record !== null) record.push(queue);
      }
    }
    if (gather.count > gather.mark) gather.flush(m);
    gather.mark = outerMark;
    return delivered;
  }

  private deliver(m: RoutedMessage, sub: Subscription, head: string, tail: string): boolean {
    const trace = traceScope.active;
    if (trace !== null) return this.deliverTraced(trace, m, sub, head, tail);
    const c = sub.client;
    return c === null ? this.deliverInternal(m, sub) : c.deliver(sub, m, head, tail);
  }

  private deliverInternal(m: RoutedMessage, sub: Subscription): boolean {
    if (sub.closed || sub.handler === null) return false;
    sub.delivered++;
    try {
      sub.handler(m.subject, m.reply, m.hdrLen, m.buf.subarray(m.start, m.end), m.publisher);
    } catch (e) {
      this.logger.error(`Internal subscription on "${sub.subject}" failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    return true;
  }
}

/** A subscription held for another server (a leaf connection's): its client gathers deliveries. */
function standsForServer(sub: Subscription): boolean {
  const c = sub.client;
  return c !== null && (c as Partial<GatheringSubscriber>).sendGathered !== undefined;
}

/**
 * The message with `Nats-Request-Info: {"acc":...,"rtt":...}` (rtt in
 * nanoseconds) added at the end of its header block.
 */
function withRequestInfo(m: RoutedMessage, account: string): { msg: Buffer; hdrLen: number } {
  const info = Buffer.from(`Nats-Request-Info: ${JSON.stringify({ acc: account, rtt: Math.round((m.publisher?.rtt ?? 0) * 1e6) })}\r\n`);
  // The header block ends with an empty line; the new header goes before it.
  const cut = m.start + m.hdrLen - 2;
  const msg = Buffer.concat([m.buf.subarray(m.start, cut), info, m.buf.subarray(cut, m.end)]);
  return { msg, hdrLen: m.hdrLen + info.length };
}

/** "<size>\r\n" strings, made once per size: most traffic repeats a few sizes. */
const SIZE_TAIL_MAX = 16384;
const SIZE_TAILS = new Array<string | undefined>(SIZE_TAIL_MAX + 1);
function sizeTail(size: number): string {
  if (size > SIZE_TAIL_MAX) return size + '\r\n';
  return SIZE_TAILS[size] ??= size + '\r\n';
}
