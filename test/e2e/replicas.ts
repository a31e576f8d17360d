/**
 * Reading each replica of a stream, for the history checker.
 *
 * How a specific replica is read: a JetStream consumer delivers from the
 * stream replica on the node it runs on, and consumer info names that node
 * (`cluster.leader`). So each replica is read through an R1 ephemeral pull
 * consumer (no acks) that landed on it: consumers are created until one has
 * landed on every node, each one reads the stream from the first sequence
 * to the end (`pending` 0), and a read counts only if the consumer was
 * still on the same node afterwards. When consumers keep landing on nodes
 * already read (a server may place them deterministically), the rest are
 * read through the stream leader: `$JS.API.STREAM.MSG.GET` is answered by
 * the leader alone from its own store, so each remaining node is read by
 * MSG.GET while it leads (stream info before and after must name it), and
 * STREAM.LEADER.STEPDOWN (asking for an unread node) moves leadership on;
 * when stepdowns keep handing it to nodes already read, the leader is
 * frozen with SIGSTOP until the others have elected one of themselves,
 * then continued, until every node has led.
 * Before all that, waitInSync() checks
 * every node's own view in `/jsz?accounts=true&streams=true` (each server
 * reports its local replica's state there) until they agree, which is the
 * "every node back and caught up" point of the check.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JetStreamManager, type StreamInfo } from '@nats-io/jetstream';
import { sleep } from '../helpers/wait.js';
import { waitFor } from './wait-for.js';
import type { E2ECluster } from './cluster-harness.js';
import { idOfPayload, type ReplicaContent } from './history.js';

export interface ReplicaState {
  readonly node: string;
  readonly messages: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly leader: string;
}

/** Node i's own view of the stream in $G, or null (node down, stream unknown there). */
export async function localState(c: E2ECluster, i: number, stream: string): Promise<ReplicaState | null> {
  const j = await c.jsz(i, 'accounts=true&streams=true');
  for (const acc of j?.account_details ?? []) {
    for (const s of acc.stream_detail ?? []) {
      if (s.name === stream) {
        return { node: c.nodes[i].name, messages: s.state.messages, firstSeq: s.state.first_seq, lastSeq: s.state.last_seq, leader: s.cluster?.leader ?? '' };
      }
    }
  }
  return null;
}

/**
 * Waits until every node reports the stream with the same first/last
 * sequence and message count, twice in a row 500 ms apart (so a replica
 * still applying is not caught mid-way); returns those views.
 */
export async function waitInSync(c: E2ECluster, stream: string, timeoutMs: number): Promise<ReplicaState[]> {
  let views: (ReplicaState | null)[] = [];
  let previous = '';
  await waitFor(
    async () => {
      views = await Promise.all(c.nodes.map((_, i) => localState(c, i, stream)));
      const key = JSON.stringify(views.map((v) => (v === null ? null : [v.messages, v.firstSeq, v.lastSeq])));
      const agree = views.every((v) => v !== null && v.messages === views[0]?.messages && v.firstSeq === views[0]?.firstSeq && v.lastSeq === views[0]?.lastSeq);
      const stable = agree && key === previous;
      previous = key;
      return stable;
    },
    timeoutMs,
    () => `every replica of ${stream} to hold the same messages (last views: ${JSON.stringify(views)})`,
    500,
  );
  return views as ReplicaState[];
}

/** The current stream leader's name, once there is one. */
export async function streamLeader(jsm: JetStreamManager, stream: string, timeoutMs: number): Promise<string> {
  let leader = '';
  let last = '';
  await waitFor(
    async () => {
      try {
        const si = await jsm.streams.info(stream);
        leader = si.cluster?.leader ?? '';
        last = JSON.stringify(si.cluster ?? null);
      } catch (e) {
        last = (e as Error).message;
        leader = '';
      }
      return leader !== '';
    },
    timeoutMs,
    () => `a leader for stream ${stream} (last: ${last})`,
    100,
  );
  return leader;
}

interface MsgGetReply {
  readonly message?: { readonly seq: number; readonly data?: string };
  readonly error?: { readonly code: number; readonly err_code?: number; readonly description: string };
}

/** MSG.GET requests in flight at once while reading through the leader. */
const READ_WINDOW = 1024;

/** Reads sequences first..last with MSG.GET, which the stream leader answers from its own store. */
async function readThroughLeader(nc: NatsConnection, stream: string, first: number, last: number): Promise<Map<number, string>> {
  const messages = new Map<number, string>();
  const subject = `$JS.API.STREAM.MSG.GET.${stream}`;
  const enc = new TextEncoder();
  for (let base = first; base <= last; base += READ_WINDOW) {
    const seqs: number[] = [];
    for (let s = base; s <= Math.min(last, base + READ_WINDOW - 1); s++) seqs.push(s);
    const replies = await Promise.all(seqs.map((seq) => nc.request(subject, enc.encode(JSON.stringify({ seq })), { timeout: 5000 })));
    replies.forEach((m, k) => {
      const r = m.json<MsgGetReply>();
      if (r.message !== undefined) messages.set(seqs[k], idOfPayload(Buffer.from(r.message.data ?? '', 'base64')));
      else if (r.error?.err_code !== 10037) throw new Error(`MSG.GET ${seqs[k]}: ${JSON.stringify(r.error)}`);
    });
  }
  return messages;
}

interface ConsumerRead {
  readonly node: string;
  readonly content: Map<number, string>;
  /** The consumer reached the end of the stream (a delivery with nothing pending). */
  readonly complete: boolean;
  readonly lastPullError: string;
}

/**
 * Reads the whole stream through an R1 ephemeral pull consumer (no acks,
 * memory state) and returns its content and the node that hosted it, or
 * null when the read did not finish on one node. A consumer delivers from
 * the stream replica on its own node, and consumer info names that node.
 */
async function readThroughConsumer(nc: NatsConnection, jsm: JetStreamManager, stream: string, expected: number): Promise<ConsumerRead | null> {
  const ci = await jsm.consumers.add(stream, {
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.All,
    num_replicas: 1,
    mem_storage: true,
    inactive_threshold: 30_000_000_000,
  });
  try {
    const node = ci.cluster?.leader ?? '';
    if (node === '') return null;
    const consumer = await jetstream(nc).consumers.get(stream, ci.name);
    const content = new Map<number, string>();
    let done = expected === 0;
    let idle = 0;
    let lastPullError = '';
    while (!done && idle < 3) {
      let got = 0;
      try {
        const batch = await consumer.fetch({ max_messages: 10_000, expires: 1000 });
        for await (const m of batch) {
          got++;
          content.set(m.info.streamSequence, idOfPayload(m.data));
          if (m.info.pending === 0) done = true;
        }
      } catch (e) {
        // A failed pull (missed heartbeats, no leader) counts as an idle one.
        lastPullError = (e as Error).message;
      }
      idle = got === 0 ? idle + 1 : 0;
    }
    const after = await jsm.consumers.info(stream, ci.name);
    return after.cluster?.leader === node ? { node, content, complete: done, lastPullError } : null;
  } finally {
    await jsm.consumers.delete(stream, ci.name).catch(() => undefined);
  }
}

/** Consumers created in a row without reaching an unread node before switching to reads through the leader. */
const CONSUMER_TRIES = 3;
/** Stepdowns in a row that lead to nodes already read before an election is forced by freezing the leader. */
const STEPDOWN_TRIES = 2;

/**
 * Reads every node's replica (see the top of this file). Call after
 * waitInSync(). Throws when some node could not be read within `timeoutMs`.
 */
export async function readReplicas(c: E2ECluster, nc: NatsConnection, stream: string, timeoutMs: number, trace: string[] = []): Promise<ReplicaContent[]> {
  const jsm = await jetstreamManager(nc, { checkAPI: false });
  const deadline = Date.now() + timeoutMs;
  const read = new Map<string, ReplicaContent>();
  let consumerBudget = CONSUMER_TRIES;
  let fruitlessStepdowns = 0;
  const partial = new Map<string, number>();
  const log: string[] = [];
  const keep = async (node: string, messages: Map<number, string>): Promise<void> => {
    // The bounds the node itself reports for its replica.
    const own = await localState(c, c.indexOf(node), stream);
    read.set(node, { node, firstSeq: own?.firstSeq ?? -1, lastSeq: own?.lastSeq ?? -1, messages });
  };
  while (read.size < c.size) {
    if (Date.now() > deadline) {
      throw new Error(`read ${[...read.keys()].join(', ') || 'no replica'} of ${stream}; could not read the others in ${timeoutMs} ms (${log.join('; ')})`);
    }
    // The API may be briefly unavailable (10008) right after a fault or an election: note it and try again.
    let si: StreamInfo;
    try {
      si = await jsm.streams.info(stream);
    } catch (e) {
      log.push(`stream info: ${(e as Error).message}`);
      await sleep(250);
      continue;
    }
    if (consumerBudget > 0) {
      consumerBudget--;
      let r: ConsumerRead | null;
      try {
        r = await readThroughConsumer(nc, jsm, stream, si.state.messages);
      } catch (e) {
        log.push(`consumer: ${(e as Error).message}`);
        await sleep(250);
        continue;
      }
      if (r === null) {
        log.push('consumer moved');
        continue;
      }
      log.push(`consumer on ${r.node}: ${r.content.size}${r.complete ? '' : ` (stalled${r.lastPullError === '' ? '' : `: ${r.lastPullError}`})`}`);
      // A read that stalls twice on one node is that replica's content (the checker will say what is missing).
      const accept = !read.has(r.node) && (r.complete || (partial.get(r.node) ?? 0) >= 1);
      if (!r.complete) partial.set(r.node, (partial.get(r.node) ?? 0) + 1);
      if (accept) {
        await keep(r.node, r.content);
        consumerBudget = CONSUMER_TRIES;
        fruitlessStepdowns = 0;
      }
      continue;
    }
    // Consumers keep landing on replicas already read: read through the leader, stepping it down until each node has led.
    const leader = si.cluster?.leader ?? '';
    if (leader === '') {
      log.push('no stream leader');
      await sleep(250);
      continue;
    }
    if (!read.has(leader)) {
      let messages: Map<number, string>;
      try {
        messages = await readThroughLeader(nc, stream, si.state.first_seq, si.state.last_seq);
      } catch (e) {
        log.push(`MSG.GET from leader ${leader}: ${(e as Error).message}`);
        await sleep(250);
        continue;
      }
      const leaderAfter = await jsm.streams.info(stream).then((x) => x.cluster?.leader ?? '', () => '');
      log.push(`MSG.GET from leader ${leader}: ${messages.size}${leaderAfter === leader ? '' : ` (leader now ${leaderAfter || 'unknown'})`}`);
      if (leaderAfter === leader) {
        await keep(leader, messages);
        fruitlessStepdowns = 0;
        continue;
      }
    }
    const unread = c.nodes.filter((n) => !read.has(n.name)).map((n) => n.name);
    if (fruitlessStepdowns < STEPDOWN_TRIES) {
      // Ask for an unread node (servers that take no placement with a stream stepdown pick one themselves).
      fruitlessStepdowns++;
      const stepdown = (body?: Uint8Array): Promise<string> =>
        nc
          .request(`$JS.API.STREAM.LEADER.STEPDOWN.${stream}`, body, { timeout: 5000 })
          .then((m) => m.string())
          .catch((e: Error) => e.message);
      let reply = await stepdown(new TextEncoder().encode(JSON.stringify({ placement: { preferred: unread[0] } })));
      // nats-server 2.9.10 refuses any body here (10003 bad request).
      if (reply.includes('"err_code":10003')) reply = await stepdown();
      const until = Date.now() + 15_000;
      let now = leader;
      while (Date.now() < until && (now = await streamLeader(jsm, stream, 15_000).catch(() => leader)) === leader) await sleep(100);
      log.push(`stepdown of ${leader} (${reply.includes('"success":true') ? 'ok' : reply}) -> ${now}`);
      // A server may place consumers by stream leadership: one more consumer on the new leader's watch.
      consumerBudget = 1;
      continue;
    }
    // Stepdowns keep choosing nodes already read: freeze the leader (SIGSTOP) so the others hold an election, then let it go on.
    fruitlessStepdowns = 0;
    const li = c.indexOf(leader);
    const watcher = await jetstreamManager(await c.clientOn(c.indexOf(unread[0]), 'e2e-replica-reader'), { checkAPI: false });
    c.stop(li);
    let now = leader;
    try {
      const until = Date.now() + 30_000;
      while (Date.now() < until && (now = await streamLeader(watcher, stream, 2_000).catch(() => leader)) === leader) await sleep(100);
    } finally {
      c.cont(li);
    }
    log.push(`election with ${leader} frozen -> ${now}`);
  }
  trace.push(`replica reads: ${log.join('; ')}`);
  return c.nodes.map((n) => read.get(n.name) as ReplicaContent);
}
