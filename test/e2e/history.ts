/**
 * The history of a fault test and the checker that judges it.
 *
 * Recorded while the test runs (by workload.ts):
 *   - every publish attempt: a unique message id (the payload starts with
 *     it), the publisher and its send index, and the outcome: a PubAck with
 *     its stream sequence, an error reply, or a timeout (unknown outcome);
 *   - every consumer delivery: stream sequence, delivery count, message id,
 *     receive time;
 *   - every consumer ack sent with a reply requested (AckSync): when the
 *     server confirmed it, or that it was not confirmed.
 * Read after the run, with every node back and caught up (replicas.ts):
 *   - each replica's content (sequence -> message id), read from that replica.
 *
 * What check() reports (each finding names its kind):
 *   - `ack-conflict`: two different messages were acknowledged with the same sequence;
 *   - `lost`: an acknowledged message is missing from a replica at its acknowledged sequence;
 *   - `changed`: a replica holds another message at an acknowledged sequence;
 *   - `duplicate`: a replica holds one message id at more than one sequence
 *     (publishes are never retried, so any copy is the server's doing);
 *   - `reorder`: on a replica (or in the PubAcks), two acknowledged
 *     messages of one publisher are stored in an order other than the one
 *     they were sent in. A message that got no PubAck (a timeout, an error)
 *     may be stored later than messages sent after it: when its server was
 *     frozen (SIGSTOP) the publisher reconnected elsewhere and went on, and
 *     the bytes still in the frozen server's socket buffer are read and
 *     routed to the stream leader once it resumes (nats-server does the
 *     same). Nothing was promised about such a message, so only its
 *     presence once at most is checked;
 *   - `phantom`: a replica holds a message id nobody published;
 *   - `divergent`: two replicas differ (a sequence present on one and not
 *     the other, or holding different messages, or different first/last
 *     sequences): "no sequence holds two different messages across replicas"
 *     and, once caught up, every current replica is the same;
 *   - `ack-lost` (consumers): a message was delivered again after the server
 *     had confirmed an ack of it (the confirmation arrived before the
 *     redelivery did). Redeliveries of unacknowledged or unconfirmed acks
 *     are allowed (at-least-once) and only counted;
 *   - `skipped` (consumers, when the consumer was drained to the end): a
 *     stored sequence the consumer never delivered;
 *   - `delivery-mismatch`: a delivery's message id differs from the
 *     replicas' message at that sequence.
 */

export type PublishOutcome =
  | { readonly kind: 'ack'; readonly seq: number; readonly duplicate: boolean }
  | { readonly kind: 'error'; readonly message: string }
  | { readonly kind: 'timeout' };

export interface PublishRecord {
  readonly id: string;
  readonly publisher: string;
  /** Send order within the publisher, from 0. */
  readonly index: number;
  readonly sentAt: number;
  doneAt: number;
  outcome: PublishOutcome | null;
}

export interface DeliveryRecord {
  readonly consumer: string;
  readonly streamSeq: number;
  readonly deliveryCount: number;
  readonly id: string;
  readonly at: number;
}

export interface AckRecord {
  readonly consumer: string;
  readonly streamSeq: number;
  readonly deliveryCount: number;
  readonly sentAt: number;
  /** When the server's reply to the ack arrived; null when none did. */
  confirmedAt: number | null;
}

/** One replica's content as read from that replica. */
export interface ReplicaContent {
  readonly node: string;
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** sequence -> message id */
  readonly messages: ReadonlyMap<number, string>;
}

/** Builds the unique payload for message `index` of `publisher`: the id, a space, padding to `size` bytes. */
export function messageId(publisher: string, index: number): string {
  return `${publisher}:${index}`;
}

export function payloadFor(id: string, size: number): Uint8Array {
  const text = id.length + 1 >= size ? id : `${id} ${'x'.repeat(size - id.length - 1)}`;
  return new TextEncoder().encode(text);
}

/** The message id a payload starts with. */
export function idOfPayload(data: Uint8Array): string {
  const text = new TextDecoder().decode(data.subarray(0, 64));
  const sp = text.indexOf(' ');
  return sp < 0 ? text : text.slice(0, sp);
}

const now = (): number => performance.now();

export class History {
  readonly publishes: PublishRecord[] = [];
  readonly deliveries: DeliveryRecord[] = [];
  readonly acks: AckRecord[] = [];
  /** Consumers that were read to the end of the stream after the faults. */
  readonly drainedConsumers = new Set<string>();

  publishStarted(publisher: string, index: number): PublishRecord {
    const r: PublishRecord = { id: messageId(publisher, index), publisher, index, sentAt: now(), doneAt: 0, outcome: null };
    this.publishes.push(r);
    return r;
  }

  publishDone(r: PublishRecord, outcome: PublishOutcome): void {
    r.outcome = outcome;
    r.doneAt = now();
  }

  delivered(consumer: string, streamSeq: number, deliveryCount: number, id: string): void {
    this.deliveries.push({ consumer, streamSeq, deliveryCount, id, at: now() });
  }

  ackSent(consumer: string, streamSeq: number, deliveryCount: number): AckRecord {
    const a: AckRecord = { consumer, streamSeq, deliveryCount, sentAt: now(), confirmedAt: null };
    this.acks.push(a);
    return a;
  }

  ackConfirmed(a: AckRecord): void {
    a.confirmedAt = now();
  }

  acked(): PublishRecord[] {
    return this.publishes.filter((p) => p.outcome?.kind === 'ack');
  }
}

export interface Finding {
  readonly kind: 'ack-conflict' | 'lost' | 'changed' | 'duplicate' | 'reorder' | 'phantom' | 'divergent' | 'ack-lost' | 'skipped' | 'delivery-mismatch' | 'no-replica';
  readonly detail: string;
}

export interface CheckResult {
  readonly findings: Finding[];
  readonly stats: {
    readonly published: number;
    readonly acked: number;
    readonly errors: number;
    readonly timeouts: number;
    readonly unresolved: number;
    /** Stored although the publisher got an error or timeout (allowed). */
    readonly storedUnacked: number;
    readonly replicas: number;
    readonly storedPerReplica: Record<string, number>;
    readonly deliveries: number;
    readonly redeliveries: number;
    readonly confirmedAcks: number;
  };
}

/** At most this many findings of one kind are listed; the count says how many there were. */
const LIST_LIMIT = 10;

class Findings {
  readonly list: Finding[] = [];
  private readonly counts = new Map<Finding['kind'], number>();

  add(kind: Finding['kind'], detail: string): void {
    const n = (this.counts.get(kind) ?? 0) + 1;
    this.counts.set(kind, n);
    if (n <= LIST_LIMIT) this.list.push({ kind, detail });
  }

  finish(): Finding[] {
    for (const [kind, n] of this.counts) if (n > LIST_LIMIT) this.list.push({ kind, detail: `... ${n} ${kind} findings in all` });
    return this.list;
  }
}

export function check(h: History, replicas: readonly ReplicaContent[]): CheckResult {
  const f = new Findings();
  const byId = new Map<string, PublishRecord>();
  for (const p of h.publishes) byId.set(p.id, p);
  const acked = h.acked();
  if (replicas.length === 0) f.add('no-replica', 'no replica could be read');

  // PubAcks alone: one message per sequence, and a publisher's acks in send order.
  const ackedAt = new Map<number, PublishRecord>();
  for (const p of acked) {
    const seq = (p.outcome as { seq: number }).seq;
    const other = ackedAt.get(seq);
    if (other !== undefined && other.id !== p.id) f.add('ack-conflict', `seq ${seq} acknowledged for ${other.id} and ${p.id}`);
    else ackedAt.set(seq, p);
  }
  checkOrder(f, 'PubAcks', acked.map((p) => ({ seq: (p.outcome as { seq: number }).seq, rec: p })));

  for (const r of replicas) {
    // Acknowledged messages at their sequence.
    for (const p of acked) {
      const seq = (p.outcome as { seq: number }).seq;
      const got = r.messages.get(seq);
      if (got === undefined) f.add('lost', `${r.node}: acknowledged ${p.id} (seq ${seq}) is missing (replica holds ${r.firstSeq}..${r.lastSeq})`);
      else if (got !== p.id) f.add('changed', `${r.node}: seq ${seq} holds ${got}, acknowledged for ${p.id}`);
    }
    // Each id once; nothing unknown; each publisher's messages in send order.
    const seenAt = new Map<string, number>();
    const stored: { seq: number; rec: PublishRecord }[] = [];
    for (const [seq, id] of [...r.messages].sort((a, b) => a[0] - b[0])) {
      const prev = seenAt.get(id);
      if (prev !== undefined) f.add('duplicate', `${r.node}: ${id} stored at seq ${prev} and seq ${seq}`);
      seenAt.set(id, seq);
      const rec = byId.get(id);
      if (rec === undefined) f.add('phantom', `${r.node}: seq ${seq} holds ${JSON.stringify(id)}, never published`);
      else if (prev === undefined && rec.outcome?.kind === 'ack') stored.push({ seq, rec });
    }
    checkOrder(f, r.node, stored);
  }

  // Replicas agree with the first one.
  const base = replicas[0];
  for (const r of replicas.slice(1)) {
    if (r.firstSeq !== base.firstSeq || r.lastSeq !== base.lastSeq) {
      f.add('divergent', `${base.node} holds ${base.firstSeq}..${base.lastSeq}, ${r.node} holds ${r.firstSeq}..${r.lastSeq}`);
    }
    const seqs = new Set([...base.messages.keys(), ...r.messages.keys()]);
    for (const seq of [...seqs].sort((a, b) => a - b)) {
      const a = base.messages.get(seq);
      const b = r.messages.get(seq);
      if (a !== b) f.add('divergent', `seq ${seq}: ${base.node} holds ${a ?? '(nothing)'}, ${r.node} holds ${b ?? '(nothing)'}`);
    }
  }

  const consumerStats = checkConsumers(f, h, base);

  let storedUnacked = 0;
  if (base !== undefined) {
    const storedIds = new Set(base.messages.values());
    for (const p of h.publishes) if (p.outcome?.kind !== 'ack' && storedIds.has(p.id)) storedUnacked++;
  }
  const storedPerReplica: Record<string, number> = {};
  for (const r of replicas) storedPerReplica[r.node] = r.messages.size;
  return {
    findings: f.finish(),
    stats: {
      published: h.publishes.length,
      acked: acked.length,
      errors: h.publishes.filter((p) => p.outcome?.kind === 'error').length,
      timeouts: h.publishes.filter((p) => p.outcome?.kind === 'timeout').length,
      unresolved: h.publishes.filter((p) => p.outcome === null).length,
      storedUnacked,
      replicas: replicas.length,
      storedPerReplica,
      ...consumerStats,
    },
  };
}

/** Within each publisher, the acknowledged messages' sequence order must follow send order. */
function checkOrder(f: Findings, where: string, items: readonly { seq: number; rec: PublishRecord }[]): void {
  const byPublisher = new Map<string, { seq: number; rec: PublishRecord }[]>();
  for (const it of items) {
    const list = byPublisher.get(it.rec.publisher) ?? [];
    list.push(it);
    byPublisher.set(it.rec.publisher, list);
  }
  for (const list of byPublisher.values()) {
    list.sort((a, b) => a.rec.index - b.rec.index);
    for (let k = 1; k < list.length; k++) {
      if (list[k].seq <= list[k - 1].seq) {
        f.add('reorder', `${where}: ${list[k - 1].rec.id} at seq ${list[k - 1].seq} but the later ${list[k].rec.id} at seq ${list[k].seq}`);
      }
    }
  }
}

function checkConsumers(f: Findings, h: History, base: ReplicaContent | undefined): { deliveries: number; redeliveries: number; confirmedAcks: number } {
  // Earliest confirmation of an ack, per consumer and stream sequence.
  const confirmed = new Map<string, number>();
  for (const a of h.acks) {
    if (a.confirmedAt === null) continue;
    const key = `${a.consumer}\u0000${a.streamSeq}`;
    const prev = confirmed.get(key);
    if (prev === undefined || a.confirmedAt < prev) confirmed.set(key, a.confirmedAt);
  }
  const deliveredSeqs = new Map<string, Set<number>>();
  const deliveriesOf = new Map<string, number>();
  let redeliveries = 0;
  for (const d of h.deliveries) {
    const key = `${d.consumer}\u0000${d.streamSeq}`;
    const n = (deliveriesOf.get(key) ?? 0) + 1;
    deliveriesOf.set(key, n);
    if (n > 1) redeliveries++;
    const ackedAt = confirmed.get(key);
    if (ackedAt !== undefined && d.at > ackedAt) {
      f.add('ack-lost', `${d.consumer}: seq ${d.streamSeq} delivered again (delivery count ${d.deliveryCount}) ${Math.round(d.at - ackedAt)} ms after its ack was confirmed`);
    }
    const want = base?.messages.get(d.streamSeq);
    if (base !== undefined && want !== d.id) f.add('delivery-mismatch', `${d.consumer}: seq ${d.streamSeq} delivered as ${d.id}, replicas hold ${want ?? '(nothing)'}`);
    const set = deliveredSeqs.get(d.consumer) ?? new Set<number>();
    set.add(d.streamSeq);
    deliveredSeqs.set(d.consumer, set);
  }
  if (base !== undefined) {
    for (const consumer of h.drainedConsumers) {
      const got = deliveredSeqs.get(consumer) ?? new Set<number>();
      for (const seq of base.messages.keys()) if (!got.has(seq)) f.add('skipped', `${consumer}: stored seq ${seq} never delivered`);
    }
  }
  return { deliveries: h.deliveries.length, redeliveries, confirmedAcks: confirmed.size };
}

/** One line per finding, and the stats, for an assertion message. */
export function describeResult(r: CheckResult): string {
  return [JSON.stringify(r.stats), ...r.findings.map((x) => `${x.kind}: ${x.detail}`)].join('\n');
}
