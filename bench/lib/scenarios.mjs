// Scenario definitions and the code that drives the worker roles for one run.
import { Worker } from 'node:worker_threads';
import { S_DONE, S_PER_SUB, S_RECV, S_TARGET, makeShared, views } from './shared.mjs';
import { connect, flush, nowNs } from './proto.mjs';
import { latencyFields } from './stats.mjs';
import { runJetStream } from './jetstream.mjs';
import { runWebsocket } from './websocket.mjs';
import { runR3Fault, waitJsCluster } from './cluster.mjs';
import { machineBusySeconds, processTree, rssSampler, selfCpuSeconds, treeCpuSeconds, memKb, treeRssKb } from './server.mjs';

const WORKER_URL = new URL('./worker.mjs', import.meta.url);

// n = messages published (flow), requests per requester (reqrep), connections (conns)
export const SCENARIOS = [
  { id: 'pub-16', kind: 'flow', pubs: 1, subs: 0, size: 16, n: 10_000_000, what: '1 publisher, no subscriber, 16 B' },
  { id: 'pub-128', kind: 'flow', pubs: 1, subs: 0, size: 128, n: 6_000_000, what: '1 publisher, no subscriber, 128 B' },
  { id: 'pub-1k', kind: 'flow', pubs: 1, subs: 0, size: 1024, n: 3_000_000, what: '1 publisher, no subscriber, 1 KiB' },
  { id: 'pub-16k', kind: 'flow', pubs: 1, subs: 0, size: 16384, n: 200_000, what: '1 publisher, no subscriber, 16 KiB' },
  { id: 'pubsub-16', kind: 'flow', pubs: 1, subs: 1, size: 16, n: 3_000_000, what: '1 publisher -> 1 subscriber, 16 B' },
  { id: 'pubsub-128', kind: 'flow', pubs: 1, subs: 1, size: 128, n: 2_500_000, what: '1 publisher -> 1 subscriber, 128 B' },
  { id: 'pubsub-1k', kind: 'flow', pubs: 1, subs: 1, size: 1024, n: 750_000, what: '1 publisher -> 1 subscriber, 1 KiB' },
  { id: 'pubsub-16k', kind: 'flow', pubs: 1, subs: 1, size: 16384, n: 45_000, what: '1 publisher -> 1 subscriber, 16 KiB' },
  { id: 'fanout-1x8', kind: 'flow', pubs: 1, subs: 8, size: 128, n: 400_000, what: '1 publisher -> 8 subscribers, 128 B' },
  { id: 'fanin-8x1', kind: 'flow', pubs: 8, subs: 1, size: 128, n: 2_500_000, what: '8 publishers -> 1 subscriber, 128 B' },
  { id: 'queue-4', kind: 'flow', pubs: 1, subs: 4, queue: true, size: 128, n: 1_500_000, what: '1 publisher -> queue group of 4, 128 B, exactly-once check' },
  { id: 'reqrep-c1', kind: 'reqrep', conns: 1, size: 16, n: 8_000, what: '1 requester, sequential request/reply, 16 B' },
  { id: 'reqrep-c16', kind: 'reqrep', conns: 16, size: 16, n: 2_500, what: '16 concurrent requesters, each sequential, 16 B' },
  // WebSocket (transport: 'ws'): both servers get a plain websocket listener; the client is `ws` (bench/lib/websocket.mjs).
  { id: 'ws-pubsub-128', kind: 'flow', transport: 'ws', pubs: 1, subs: 1, size: 128, n: 1_000_000, what: 'WebSocket: 1 publisher -> 1 subscriber, 128 B' },
  { id: 'ws-pubsub-16k', kind: 'flow', transport: 'ws', pubs: 1, subs: 1, size: 16384, n: 30_000, what: 'WebSocket: 1 publisher -> 1 subscriber, 16 KiB' },
  { id: 'ws-reqrep', kind: 'reqrep', transport: 'ws', conns: 1, size: 16, n: 5_000, what: 'WebSocket: 1 requester, sequential request/reply, 16 B' },
  { id: 'conns-10k', kind: 'conns', n: 10_000, what: '10,000 idle connections: RSS per connection' },
  // JetStream (both servers started with -js -sd <fresh dir>), as ../shared/bench runs them.
  { id: 'js-pub-sync', kind: 'js', latency: true, size: 128, n: 15_000, what: 'JetStream publish, wait for each PubAck, file stream, 128 B' },
  { id: 'js-pub-async', kind: 'js', size: 128, inflight: 256, n: 150_000, what: 'JetStream publish, 256 acks in flight, file stream, 128 B' },
  { id: 'js-consume', kind: 'js', size: 128, batch: 256, n: 150_000, what: 'durable pull consumer, batch 256, explicit ack of each, 128 B (pre-filled)' },
  { id: 'kv-put', kind: 'js', latency: true, size: 128, keys: 1000, n: 10_000, what: 'KV put (history 1, file), sequential, 1,000 keys, 128 B' },
  { id: 'kv-get', kind: 'js', latency: true, size: 128, keys: 1000, n: 10_000, what: 'KV get (DIRECT.GET), sequential, 1,000 keys, 128 B' },
  // Two-node clusters (nodes: 2): each side runs two of its servers routed to each other.
  { id: 'cluster-pubsub-16', kind: 'flow', nodes: 2, pubs: 1, subs: 1, size: 16, n: 2_000_000, what: '2-node cluster: publisher on node 1 -> subscriber on node 2, 16 B' },
  { id: 'cluster-reqrep', kind: 'reqrep', nodes: 2, conns: 1, size: 16, n: 8_000, what: '2-node cluster: requester on node 1, responder on node 2, sequential, 16 B' },
  // Leaf nodes (leaf: true): each side runs a hub and a leaf that dials it; publisher/requester on the leaf.
  { id: 'leaf-pubsub-16', kind: 'flow', nodes: 2, leaf: true, pubs: 1, subs: 1, size: 16, n: 2_000_000, what: 'leaf node: publisher on the leaf -> subscriber on the hub, 16 B' },
  { id: 'leaf-reqrep', kind: 'reqrep', nodes: 2, leaf: true, conns: 1, size: 16, n: 8_000, what: 'leaf node: requester on the leaf, responder on the hub, sequential, 16 B' },
  // R3 JetStream (opt-in: named in ONLY, or R3=1): each side runs a 3-node JetStream cluster, every node
  // routed to the others with its own store; the client is on node 1, the stream leader wherever it lands.
  { id: 'js-pub-async-r3', kind: 'js', runner: 'js-pub-async', jsCluster: true, optIn: true, nodes: 3, replicas: 3, size: 128, inflight: 256, n: 50_000, what: 'R3 file stream, 3-node cluster: publish with 256 acks in flight, 128 B' },
  { id: 'kv-put-r3', kind: 'js', runner: 'kv-put', jsCluster: true, optIn: true, nodes: 3, replicas: 3, latency: true, size: 128, keys: 1000, n: 5_000, what: 'R3 KV put (history 1, file), 3-node cluster, sequential, 1,000 keys, 128 B' },
  { id: 'js-consume-r3', kind: 'js', runner: 'js-consume', jsCluster: true, optIn: true, nodes: 3, replicas: 3, size: 128, batch: 256, n: 50_000, what: 'R3 stream and R3 durable pull consumer, batch 256, explicit ack of each, 128 B (pre-filled)' },
  { id: 'r3-failover', kind: 'r3-fault', fault: 'failover', jsCluster: true, optIn: true, nodes: 3, size: 128, n: 1, what: 'R3 stream: kill -9 of the stream leader, time until a message sent after the kill is acked (client on another node, one publish at a time)' },
  { id: 'r3-catchup', kind: 'r3-fault', fault: 'catchup', jsCluster: true, optIn: true, nodes: 3, size: 128, inflight: 256, n: 100_000, what: 'R3 stream: a follower killed, 100k x 128 B published, follower restarted: time until its /jsz shows the last sequence' },
  // Scale-out: both sides run Natter; A one process, B a 2-process cluster, the pairs spread over its nodes.
  {
    id: 'scaleout-4x4', kind: 'flow', nodes: { A: 1, B: 2 }, natterBoth: true, pairs: 4, pubs: 4, subs: 4, size: 16, n: 4_000_000,
    what: 'scale-out: 4 publisher -> subscriber pairs (own subject each), A = 1 Natter process, B = 2-process Natter cluster with the pairs spread over both',
  },
];

/** How many server processes a scenario runs on one side. */
export function nodesFor(sc, side) {
  const n = sc.nodes ?? 1;
  return typeof n === 'number' ? n : n[side];
}

// ---------------------------------------------------------------- worker wrapper

class Role {
  constructor(role, port, params, transferList = []) {
    this.role = role;
    this.inbox = [];
    this.waiter = null;
    this.failure = null;
    this.w = new Worker(WORKER_URL, { workerData: { role, port, params }, transferList });
    this.w.on('message', (m) => this._push(m));
    this.w.on('error', (e) => this._fail(e));
    this.w.on('exit', (code) => this._fail(new Error(`${role} worker exited (code ${code})`)));
  }
  _push(m) {
    if (m.ev === 'error') {
      this._fail(new Error(`${this.role}: ${m.message}`));
      return;
    }
    this.inbox.push(m);
    this._wake();
  }
  _fail(e) {
    if (!this.failure) this.failure = e;
    this._wake();
  }
  _wake() {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w();
    }
  }
  send(m) {
    this.w.postMessage(m);
  }
  /** Next message with the given ev; rejects on worker failure or timeout. */
  async wait(ev, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex((m) => m.ev === ev);
      if (i >= 0) return this.inbox.splice(i, 1)[0];
      if (this.failure) throw this.failure;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.role}: no '${ev}' within ${timeoutMs} ms`);
      await new Promise((r) => {
        const t = setTimeout(r, left);
        this.waiter = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  }
  /** Non-blocking: the next message with ev if it has arrived. */
  take(ev) {
    const i = this.inbox.findIndex((m) => m.ev === ev);
    return i >= 0 ? this.inbox.splice(i, 1)[0] : null;
  }
  async close() {
    let closed = null;
    if (!this.failure) {
      try {
        this.send({ cmd: 'close' });
        closed = await this.wait('closed', 3000);
      } catch {
        /* terminate below */
      }
    }
    await this.w.terminate().catch(() => {});
    return closed;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function addErrors(res, list) {
  for (const e of list ?? []) if (res.errors.length < 20 && !res.errors.includes(e)) res.errors.push(e);
}

const treeOf = (servers) => [...new Set(servers.flatMap((s) => processTree(s.pid)))];

/** Resource counters around the timed part of a run, summed over the side's server processes. */
function startMeasure(servers) {
  const pids = treeOf(servers);
  return {
    pids,
    wall0: nowNs(),
    cpu0: treeCpuSeconds(pids),
    self0: selfCpuSeconds(),
    busy0: machineBusySeconds(),
    rss0: treeRssKb(pids),
    sampler: rssSampler(pids, 50),
  };
}

function endMeasure(m, servers) {
  const peak = m.sampler.stop();
  const pids = [...new Set([...m.pids, ...treeOf(servers)])];
  const wall1 = nowNs();
  const wall = (wall1 - m.wall0) / 1e9;
  const cpu = treeCpuSeconds(pids) - m.cpu0;
  const self = selfCpuSeconds() - m.self0;
  const busy = machineBusySeconds() - m.busy0;
  return {
    server_cpu_s: round(cpu, 3),
    server_cpu_util: round(cpu / wall, 3),
    client_cpu_s: round(self, 3),
    client_cpu_util: round(self / wall, 3),
    other_cpu_cores: round(Math.max(0, busy - cpu - self) / wall, 3),
    server_rss_start_kb: m.rss0,
    server_rss_end_kb: treeRssKb(pids),
    server_rss_peak_kb: peak,
    server_hwm_kb: servers.reduce((a, s) => a + (memKb(s.pid).hwm ?? 0), 0),
    // the runner counts a probed server's GC pauses inside this window (process.hrtime ns)
    timed_window_ns: [m.wall0, wall1],
  };
}

export function round(x, d = 2) {
  if (x === null || x === undefined || !Number.isFinite(x)) return null;
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

// ---------------------------------------------------------------- flow: pub, pubsub, fanout, fanin, queue

/**
 * With more than one server, waits until a message published on each node
 * reaches a subscriber on each other node. Interest travels in order, so
 * once a probe subscription made now is known everywhere, so is every
 * subscription the roles made before.
 */
async function waitRouted(servers, timeoutMs) {
  if (servers.length < 2) return;
  const deadline = Date.now() + timeoutMs;
  const conns = [];
  try {
    for (let i = 0; i < servers.length; i++) {
      const got = { n: 0 };
      const c = await connect(servers[i].port, { name: 'bench-route-probe', parserOpts: { onMsg: () => got.n++ } });
      c.got = got;
      c.sock.write(`SUB bench.probe.${i} 1\r\n`);
      await flush(c.sock, c.parser);
      conns.push(c);
    }
    for (let to = 0; to < conns.length; to++) {
      for (let from = 0; from < conns.length; from++) {
        if (from === to) continue;
        const target = conns[to];
        const before = target.got.n;
        for (;;) {
          conns[from].sock.write(`PUB bench.probe.${to} 0\r\n\r\n`);
          await flush(conns[from].sock, conns[from].parser);
          await flush(target.sock, target.parser);
          if (target.got.n > before) break;
          if (Date.now() > deadline) throw new Error(`no route from node ${from + 1} to node ${to + 1} within ${timeoutMs} ms`);
          await sleep(50);
        }
      }
    }
  } finally {
    for (const c of conns) c.sock.destroy();
  }
}

async function runFlow(ctx, sc, n) {
  const { servers, cfg } = ctx;
  // Publishers on the first node, subscribers on the last; with `pairs`, pair i (own subject) on node i mod nodes.
  const pubPort = (i) => servers[sc.pairs ? i % servers.length : 0].port;
  const subPort = (i) => servers[sc.pairs ? i % servers.length : servers.length - 1].port;
  const subjectOf = (i) => (sc.pairs ? `bench.flow.${i}` : 'bench.flow');
  const res = { errors: [], truncated: false };
  const warm = Math.round(n * cfg.warmup);
  const sab = makeShared();
  const { i32, t64 } = views(sab);
  const seen = sc.queue ? new SharedArrayBuffer(warm + n) : null;
  // deliveries per published message (a pair's subject has one subscriber)
  const fan = sc.subs === 0 ? 0 : sc.queue || sc.pairs ? 1 : sc.subs;
  const subs = [];
  const pubs = [];
  let expectedTotal = 0;
  try {
    for (let i = 0; i < sc.subs; i++) {
      subs.push(new Role('sub', subPort(i), { subject: subjectOf(i), queue: sc.queue ? 'bench.q' : null, index: i, shared: sab, seen }));
    }
    await Promise.all(subs.map((s) => s.wait('ready', cfg.setupMs)));
    for (let i = 0; i < sc.pubs; i++) {
      pubs.push(new Role('pub', pubPort(i), { subject: subjectOf(i), size: sc.size, seq: !!sc.queue, index: i, ...cfg.pubOpts }));
    }
    await Promise.all(pubs.map((p) => p.wait('ready', cfg.setupMs)));
    await waitRouted(servers, cfg.setupMs);

    // one phase: publish `count` messages split over the publishers, wait for delivery;
    // with stamp, the publishers stamp latency samples (see writeStamp in proto.mjs)
    const phase = async (count, seqStart, stamp = false) => {
      const perSub0 = subs.map((_, i) => Atomics.load(i32, S_PER_SUB + i));
      const recv0 = Atomics.load(i32, S_RECV);
      expectedTotal += count * fan;
      Atomics.store(i32, S_DONE, 0);
      Atomics.store(i32, S_TARGET, expectedTotal);
      let off = seqStart;
      pubs.forEach((p, i) => {
        const share = Math.floor(count / pubs.length) + (i < count % pubs.length ? 1 : 0);
        p.send({ cmd: 'run', count: share, seqStart: off, stamp });
        off += share;
      });
      const deadline = Date.now() + cfg.timeoutMs;
      const pubDone = new Array(pubs.length).fill(null);
      let lastRecv = recv0;
      let lastChange = Date.now();
      let lastChangeNs = nowNs();
      let truncated = false;
      let quiet = false;
      let broken = null; // a worker failed (e.g. the server closed its connection)
      for (;;) {
        pubs.forEach((p, i) => {
          if (!pubDone[i]) pubDone[i] = p.take('done');
        });
        for (const r of [...pubs, ...subs]) if (r.failure && !broken) broken = r.failure.message;
        const allPub = pubDone.every(Boolean);
        const recv = Atomics.load(i32, S_RECV);
        if (recv !== lastRecv) {
          lastRecv = recv;
          lastChange = Date.now();
          lastChangeNs = nowNs();
        }
        if (allPub && (fan === 0 || Atomics.load(i32, S_DONE) === 1 || recv >= expectedTotal)) break;
        if (broken) break;
        if (allPub && Date.now() - lastChange > cfg.quietMs) {
          quiet = true;
          break;
        }
        if (Date.now() > deadline) {
          truncated = true;
          break;
        }
        await sleep(allPub ? 2 : 5);
      }
      if (!pubDone.every(Boolean)) {
        for (let i = 0; i < pubs.length; i++) if (!pubDone[i] && !pubs[i].failure) pubs[i].send({ cmd: 'stop' });
        for (let i = 0; i < pubs.length; i++) {
          if (!pubDone[i]) {
            pubDone[i] = pubs[i].take('done') ?? (pubs[i].failure ? null : await pubs[i].wait('done', 5000).catch(() => null));
            pubDone[i] ??= { t0: 0, t1: 0, sent: 0, errors: [] };
          }
        }
      }
      const t0s = pubDone.map((d) => d.t0).filter((x) => x > 0);
      const t0 = t0s.length ? Math.min(...t0s) : 0;
      const sent = pubDone.reduce((a, d) => a + d.sent, 0);
      const received = Atomics.load(i32, S_RECV) - recv0;
      let t1;
      if (fan === 0) t1 = Math.max(...pubDone.map((d) => d.t1));
      else if (Atomics.load(i32, S_DONE) === 1) t1 = Number(t64[0]);
      else t1 = lastChangeNs;
      for (const d of pubDone) addErrors(res, d.errors);
      if (broken) addErrors(res, [broken]);
      return {
        t0,
        t1,
        sent,
        received,
        expected: count * fan,
        perSub: subs.map((_, i) => Atomics.load(i32, S_PER_SUB + i) - perSub0[i]),
        truncated,
        quiet,
        broken,
      };
    };

    if (warm > 0) {
      const w = await phase(warm, 0);
      res.warmup_msgs = warm;
      if (w.truncated || w.quiet || w.broken || w.received < w.expected) {
        res.errors.push(`warm-up incomplete: ${w.received}/${w.expected} delivered`);
      }
      if (w.broken || w.truncated) throw new Error('run abandoned after a failed warm-up');
    }
    const m = startMeasure(servers);
    const r = await phase(n, warm, fan > 0);
    Object.assign(res, endMeasure(m, servers));
    if (fan > 0 && !r.broken) {
      // Only the timed phase was stamped: every sample a subscriber holds is from it.
      const parts = [];
      for (const s of subs) {
        s.send({ cmd: 'lat' });
        parts.push((await s.wait('lat', cfg.setupMs)).lat);
      }
      const lat = new Float64Array(parts.reduce((a, p) => a + p.length, 0));
      let k = 0;
      for (const p of parts) {
        lat.set(p, k);
        k += p.length;
      }
      Object.assign(res, latencyFields(lat.sort()));
    }

    const elapsed = r.t0 > 0 && r.t1 > r.t0 ? (r.t1 - r.t0) / 1e9 : null;
    const perSec = (x) => (elapsed ? round(x / elapsed, 0) : null);
    const cpuPer = (x) => (x > 0 ? round((res.server_cpu_s * 1e6) / x, 3) : null);
    res.elapsed_s = round(elapsed, 4);
    res.sent = r.sent;
    res.truncated = r.truncated;
    if (fan === 0) {
      res.msgs_per_s = perSec(r.sent);
      res.mb_per_s = elapsed ? round((r.sent * sc.size) / elapsed / 1e6, 2) : null;
      res.server_cpu_us_per_msg = cpuPer(r.sent);
    } else {
      res.expected = r.expected;
      res.received = r.received;
      res.lost = Math.max(0, r.expected - r.received);
      res.msgs_per_s = perSec(r.received);
      res.mb_per_s = elapsed ? round((r.received * sc.size) / elapsed / 1e6, 2) : null;
      res.pub_msgs_per_s = perSec(r.sent);
      res.server_cpu_us_per_msg = cpuPer(r.received);
      res.per_sub = r.perSub;
      if (r.quiet) res.errors.push(`deliveries stopped at ${r.received}/${r.expected} (no progress for ${cfg.quietMs} ms)`);
      if (!sc.queue && !sc.pairs && sc.subs > 1 && r.perSub.some((c) => c !== r.sent)) {
        res.errors.push(`not every subscriber got every message: ${JSON.stringify(r.perSub)} of ${r.sent}`);
      }
    }
    if (r.truncated) res.errors.push(`time bound of ${cfg.timeoutMs / 1000} s reached`);
    if (r.sent < n) res.errors.push(`published ${r.sent}/${n}`);
    if (seen) {
      const arr = new Uint8Array(seen);
      let dups = 0;
      let missing = 0;
      for (let i = 0; i < arr.length; i++) {
        const v = arr[i];
        if (v === 0) missing++;
        else if (v > 1) dups += v - 1;
      }
      res.duplicates = dups;
      res.missing = missing;
      res.exactly_once = dups === 0 && missing === 0;
      if (!res.exactly_once) res.errors.push(`queue group: ${dups} duplicates, ${missing} missing`);
    }
  } catch (e) {
    res.errors.push(e.message);
    res.truncated = true;
    if (fan > 0 && res.received === undefined) {
      res.expected = n * fan;
      res.received = 0;
      res.lost = n * fan;
    }
  } finally {
    for (const r of [...pubs, ...subs]) {
      const closed = await r.close();
      if (closed) addErrors(res, closed.errors);
    }
  }
  res.ok = res.errors.length === 0 && !res.truncated && (res.lost ?? 0) === 0 && (res.msgs_per_s ?? 0) > 0;
  return res;
}

// ---------------------------------------------------------------- request/reply

async function runReqRep(ctx, sc, n) {
  const { servers, cfg } = ctx;
  // Requesters on the first node, the responder on the last.
  const port = servers[0].port;
  const res = { errors: [], truncated: false };
  const subject = 'bench.rr';
  const roles = [];
  try {
    const rep = new Role('rep', servers[servers.length - 1].port, { subject });
    roles.push(rep);
    await rep.wait('ready', cfg.setupMs);
    const nw = Math.ceil(sc.conns / cfg.reqPerWorker);
    const reqs = [];
    for (let w = 0; w < nw; w++) {
      const k = Math.floor(sc.conns / nw) + (w < sc.conns % nw ? 1 : 0);
      const r = new Role('req', port, { subject, size: sc.size, conns: k, index: w });
      reqs.push(r);
      roles.push(r);
    }
    await Promise.all(reqs.map((r) => r.wait('ready', cfg.setupMs)));
    await waitRouted(servers, cfg.setupMs);

    const phase = async (count) => {
      for (const r of reqs) r.send({ cmd: 'run', count });
      const deadline = Date.now() + cfg.timeoutMs;
      const done = new Array(reqs.length).fill(null);
      let truncated = false;
      for (;;) {
        reqs.forEach((r, i) => {
          if (!done[i]) done[i] = r.take('done');
          if (r.failure) throw r.failure;
        });
        if (rep.failure) throw rep.failure;
        if (done.every(Boolean)) break;
        if (Date.now() > deadline) {
          truncated = true;
          for (const r of reqs) r.send({ cmd: 'stop' });
          for (let i = 0; i < reqs.length; i++) if (!done[i]) done[i] = await reqs[i].wait('done', 5000);
          break;
        }
        await sleep(5);
      }
      return { done, truncated };
    };

    const warm = Math.max(1, Math.round(n * cfg.warmup));
    const w = await phase(warm);
    res.warmup_msgs = warm * sc.conns;
    if (w.truncated) res.errors.push('warm-up did not finish in time');
    const m = startMeasure(servers);
    const { done, truncated } = await phase(n);
    Object.assign(res, endMeasure(m, servers));
    res.truncated = truncated;
    const t0 = Math.min(...done.map((d) => d.t0));
    const t1 = Math.max(...done.map((d) => d.t1));
    const elapsed = Math.max(1e-9, (t1 - t0) / 1e9);
    const completed = done.reduce((a, d) => a + d.completed, 0);
    const fails = done.reduce((a, d) => a + d.fails, 0);
    for (const d of done) addErrors(res, d.errors);
    const total = done.reduce((a, d) => a + d.lat.length, 0);
    const lat = new Float64Array(total);
    let k = 0;
    for (const d of done) {
      lat.set(d.lat, k);
      k += d.lat.length;
    }
    res.elapsed_s = round(elapsed, 4);
    res.sent = n * sc.conns;
    res.expected = n * sc.conns;
    res.received = completed - fails;
    res.lost = res.expected - res.received;
    res.failed = fails;
    res.msgs_per_s = round(res.received / elapsed, 0);
    Object.assign(res, latencyFields(lat.sort()));
    res.server_cpu_us_per_msg = res.received > 0 ? round((res.server_cpu_s * 1e6) / res.received, 3) : null;
    if (truncated) res.errors.push(`time bound of ${cfg.timeoutMs / 1000} s reached`);
    if (fails) res.errors.push(`${fails} failed requests`);
  } catch (e) {
    res.errors.push(e.message);
    if (res.lost === undefined) {
      res.expected = n * sc.conns;
      res.received = 0;
      res.lost = res.expected;
    }
  } finally {
    for (const r of roles) {
      const closed = await r.close();
      if (closed) addErrors(res, closed.errors);
    }
  }
  res.ok = res.errors.length === 0 && !res.truncated && (res.lost ?? 1) === 0;
  return res;
}

// ---------------------------------------------------------------- idle connections

async function runConns(ctx, sc, n) {
  const { servers, cfg } = ctx;
  const srv = servers[0];
  const res = { errors: [], truncated: false };
  const role = new Role('conns', srv.port, {});
  try {
    await role.wait('ready', cfg.setupMs);
    await sleep(300); // let the fresh server settle
    const m = startMeasure(servers);
    const idle = treeRssKb(m.pids);
    role.send({ cmd: 'run', count: n, concurrency: cfg.dialers });
    let d;
    try {
      d = await role.wait('done', cfg.timeoutMs);
    } catch (e) {
      if (role.failure) throw e;
      res.truncated = true;
      role.send({ cmd: 'stop' });
      d = await role.wait('done', 20000);
    }
    await sleep(1000); // settle, then read RSS with everything open
    const pids = processTree(srv.pid);
    const withConns = treeRssKb(pids);
    Object.assign(res, endMeasure(m, servers));
    addErrors(res, d.errors);
    res.expected = n;
    res.received = d.connected;
    res.lost = n - d.connected;
    res.failed = d.failed;
    res.connect_s = round((d.t1 - d.t0) / 1e9, 3);
    res.elapsed_s = res.connect_s;
    res.conns_per_s = round(d.connected / Math.max(1e-9, (d.t1 - d.t0) / 1e9), 0);
    res.server_rss_idle_kb = idle;
    res.server_rss_conns_kb = withConns;
    res.kb_per_conn = d.connected > 0 && idle !== null && withConns !== null ? round((withConns - idle) / d.connected, 2) : null;
    res.probe_rtt_us = round(d.probeRtt, 1);
    // CPU per connection: accepting, the handshake, and keeping it open through the settle time
    res.server_cpu_us_per_msg = d.connected > 0 ? round((res.server_cpu_s * 1e6) / d.connected, 3) : null;
    if (res.truncated) res.errors.push(`time bound of ${cfg.timeoutMs / 1000} s reached`);
    if (res.lost > 0) res.errors.push(`connected ${d.connected} of ${n} (${d.failed} failed)`);
  } catch (e) {
    res.errors.push(e.message);
  } finally {
    const closed = await role.close();
    if (closed) addErrors(res, closed.errors);
  }
  res.ok = res.errors.length === 0 && !res.truncated && res.lost === 0;
  return res;
}

/** Runs one scenario against started, ready servers (ctx.servers: one, or a routed cluster). */
export async function runScenario(ctx, sc) {
  const n = Math.max(1, Math.round(sc.n * ctx.cfg.scale));
  const base = { scenario: sc.id, size: sc.size ?? null, n };
  let r;
  if (sc.transport === 'ws') r = await runWebsocket(ctx, sc, n, { start: startMeasure, end: endMeasure });
  else if (sc.kind === 'flow') r = await runFlow(ctx, sc, n);
  else if (sc.kind === 'reqrep') r = await runReqRep(ctx, sc, n);
  else if (sc.kind === 'conns') r = await runConns(ctx, sc, n);
  else if (sc.kind === 'js') {
    if (sc.jsCluster) await waitJsCluster(ctx.servers, ctx.cfg.setupMs);
    r = await runJetStream(ctx, sc, n, { start: startMeasure, end: endMeasure });
  } else if (sc.kind === 'r3-fault') r = await runR3Fault(ctx, sc, n);
  else throw new Error(`unknown scenario kind ${sc.kind}`);
  return { ...base, ...r };
}
