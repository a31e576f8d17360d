/**
 * Connection-level attackers (issue #17): one at a time against a server
 * with a canary doing request/reply in another account (./canary.ts). For
 * each, the canary's worst request/reply latency and the attacker's time to
 * an answer are held to limits, and the server's RSS (after GC) comes back
 * near its baseline once the attacker is gone.
 *
 * The server runs in a child process and the canary in a worker thread, so
 * the attackers' client work on this thread is not measured as server
 * latency.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { connect, createInbox, type NatsConnection } from '@nats-io/transport-node';
import { startCanaryWorld, type CanaryResult, type CanaryWorld } from './canary.js';
import { makeCerts, pem } from '../tls/certs.js';
import { RawSession } from '../helpers/session.js';
import { sleep, waitUntil } from '../helpers/wait.js';

/**
 * The canary's worst request/reply, for every attacker. Measured on this
 * 2-core machine with other helpers' builds and suites beside it: 20-60 ms
 * typically (nats-server 2.9.10 under the churn: 20-40 ms), up to 140 ms
 * when those kept both cores busy. A request needs two turns of the
 * server's event loop; an attacker gets a slice of a few milliseconds per
 * turn, and the rest is garbage collection (15-20 ms pauses while the
 * churn's hundreds of thousands of young subscriptions are moved) and the
 * operating system sharing two cores between the server, the canary and the
 * attacker. Before the fix the concurrent scrapes cost the canary 280-300
 * ms and the $SYS flood 370 ms, above this limit; the churn 100-200 ms,
 * which CHURN_MEDIAN_MS catches instead.
 */
const CANARY_WORST_MS = 200;

/**
 * The canary's median request/reply while the churn runs: 4-9 ms here, as
 * the attacker gets a slice of each turn rather than whole turns. Before
 * the fix it was 50-70 ms (every turn held the attacker's 64 KiB reads).
 */
const CHURN_MEDIAN_MS = 30;

/**
 * RSS after GC, over the baseline taken before the attack. Freed memory
 * goes back to the system lazily: V8 keeps its young generation at the size
 * the load grew it to (up to 2 x 16 MiB) until it has been idle for a few
 * seconds, glibc keeps freed socket buffers, and the closed-connections list
 * keeps its records (as nats-server's does). Measured 15-43 MiB above the
 * baseline here after these attacks, within 3 s (10k connections: about
 * 70 MiB at first, some 10 MiB 7 s later); at their peak the churn's
 * subscriptions take some 250 MiB and the 10k connections 70.
 */
const RSS_SLACK = 48 * 1024 * 1024;
/** How long RSS may take to come back under the slack. */
const RSS_SETTLE_MS = 15_000;

/** A raw-socket client of the attacker's account, for traffic the official client would slow down. */
async function attackerSession(world: CanaryWorld): Promise<RawSession> {
  const s = await RawSession.connect(world.port);
  s.send(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, user: world.attacker.user, pass: world.attacker.pass })}\r\n`);
  await s.sync(5000);
  return s;
}

/**
 * `count` protocol lines made by `line`, made before the attack starts so
 * that making them does not compete with the server and the canary for
 * this machine's two cores while they are measured.
 */
function linesOf(count: number, line: (i: number) => string): Buffer {
  const parts: string[] = [];
  for (let i = 0; i < count; i++) parts.push(line(i));
  return Buffer.from(parts.join(''), 'latin1');
}

/** Writes `data` in 64 KiB pieces, waiting whenever the socket's buffer is full. */
async function writeAll(socket: net.Socket, data: Buffer): Promise<void> {
  for (let i = 0; i < data.length; i += 65536) {
    if (!socket.write(data.subarray(i, i + 65536))) await new Promise((r) => socket.once('drain', r));
  }
}

function assertCanary(seen: CanaryResult, what: string): void {
  assert.equal(seen.failures, 0, `${what}: the canary's requests all got answers`);
  assert.ok(seen.count >= 5, `${what}: the canary kept going (${seen.count} requests)`);
  assert.ok(seen.max < CANARY_WORST_MS, `${what}: the canary's worst request/reply took ${seen.max.toFixed(1)} ms (p99 ${seen.p99.toFixed(1)} ms); limit ${CANARY_WORST_MS} ms`);
}

/** Connections opened for the monitoring scrape (each with two subscriptions). */
const CONNECTIONS = 10_000;
/**
 * Open files this process and the server each need for them. Node cannot
 * raise its own limit: the test is skipped (saying so) under a lower one;
 * `ulimit -n 20000` before `npm test` gives it room.
 */
const FILES_NEEDED = CONNECTIONS + 1000;

/** This process's soft limit on open files (the server's child process inherits it). */
function openFilesLimit(): number {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  return m === null ? 0 : m[1] === 'unlimited' ? Infinity : Number(m[1]);
}
/** Connections being opened at once. */
const OPENING_AT_ONCE = 200;
/** A monitoring answer over 10k connections: 100-300 ms here (most of it the 8 MB of JSON). */
const SCRAPE_MS = 5000;

/** Opens `count` raw connections in the attacker's account, each with two subscriptions, into `out`. */
async function openConnections(world: CanaryWorld, count: number, out: net.Socket[]): Promise<void> {
  const connectLine = `CONNECT ${JSON.stringify({ verbose: false, user: world.attacker.user, pass: world.attacker.pass })}\r\n`;
  let next = 0;
  const openOne = async (): Promise<void> => {
    const i = next++;
    const socket = net.connect(world.port, world.host);
    out.push(socket);
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      socket.on('data', (d: Buffer) => {
        seen += d.toString('latin1');
        if (seen.includes('PONG')) resolve();
      });
      socket.once('error', reject);
      socket.write(`${connectLine}SUB conn.${i}.* 1\r\nSUB conn.${i}.x.> 2\r\nPING\r\n`);
    });
    // Nothing more is read from it; what the server sends later is dropped.
    socket.removeAllListeners('data');
    socket.on('data', () => undefined);
  };
  await Promise.all(Array.from({ length: OPENING_AT_ONCE }, async () => {
    while (next < count) await openOne();
  }));
}

/**
 * GETs `url` keeping only the first few KiB of the body (the counts come
 * before the lists in every answer): decoding megabytes of JSON on this
 * thread would compete with the server and the canary for the two cores.
 */
function httpGetHead(url: string): Promise<{ status: number; head: string; size: number }> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let head = '';
      let size = 0;
      res.on('data', (d: Buffer) => {
        if (head.length < 4096) head += d.toString('utf8', 0, Math.min(d.length, 4096));
        size += d.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, head, size }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

/** Subscriptions in the server's sublists, the server's own included. */
async function subscriptionCount(world: CanaryWorld): Promise<number> {
  const res = await fetch(`${world.monitorUrl}/subsz`);
  return ((await res.json()) as { num_subscriptions: number }).num_subscriptions;
}

async function varz(world: CanaryWorld): Promise<{ connections: number; slow_consumers: number }> {
  const res = await fetch(`${world.monitorUrl}/varz`);
  return (await res.json()) as { connections: number; slow_consumers: number };
}

/** Requests of a flood, sent together with one reply inbox. */
const FLOOD_REQUESTS = 20_000;
/** What a system account user may ask (the server-wide ones over many accounts and connections). */
const SYSTEM_REQUESTS = [
  '$SYS.REQ.SERVER.PING.VARZ', '$SYS.REQ.SERVER.PING.CONNZ', '$SYS.REQ.SERVER.PING.SUBSZ', '$SYS.REQ.SERVER.PING.STATSZ',
  '$SYS.REQ.SERVER.PING.JSZ', '$SYS.REQ.SERVER.PING.HEALTHZ', '$SYS.REQ.SERVER.PING.ACCOUNTZ',
  '$SYS.REQ.ACCOUNT.A.CONNZ', '$SYS.REQ.ACCOUNT.A.SUBSZ', '$SYS.REQ.ACCOUNT.A.JSZ', '$SYS.REQ.ACCOUNT.PING.STATZ',
];
/** What any account may ask, scoped to itself. */
const ACCOUNT_REQUESTS = ['$SYS.REQ.SERVER.PING.CONNZ', '$SYS.REQ.ACCOUNT.PING.CONNZ', '$SYS.REQ.ACCOUNT.PING.STATZ', '$SYS.REQ.USER.INFO'];
/** All answers of a flood: 0.3-1.7 s here (20-90 µs per answer). */
const FLOOD_MS = 10_000;

/** Sends `count` requests cycling through `subjects` at once; resolves with the time until every answer was in. */
async function flood(nc: NatsConnection, subjects: readonly string[], count: number): Promise<number> {
  const inbox = createInbox();
  let answers = 0;
  const all = new Promise<void>((resolve) => {
    nc.subscribe(inbox, { callback: () => (++answers === count ? resolve() : undefined) });
  });
  await nc.flush();
  const started = performance.now();
  for (let i = 0; i < count; i++) nc.publish(subjects[i % subjects.length], new Uint8Array(0), { reply: inbox });
  await Promise.race([all, sleep(FLOOD_MS)]);
  assert.equal(answers, count, `${answers} of ${count} requests to ${subjects.join(', ')} answered`);
  return performance.now() - started;
}

/** Half-open handshakes at once. */
const HALF_OPEN = 300;
/** The server's TLS handshake timeout (and the time a silent client has to start one). */
const TLS_TIMEOUT_MS = 1000;
/** The start of a ClientHello: a handshake record header announcing 512 bytes, then only 5 of them. */
const PARTIAL_CLIENT_HELLO = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03]);

/**
 * The harness's canary cannot be given the test CA (its client refuses a
 * server it cannot verify), so on a TLS port the canary is this: the same
 * request/reply loop, over TLS, in an account of its own (the half-open
 * handshakes never reach an account), on this thread. This thread only holds
 * idle sockets meanwhile, so it measures the server, not itself.
 */
const TLS_CANARY = { user: 'tls-canary', password: 'tls-canary-pass' } as const;

async function startTlsCanary(world: CanaryWorld, ca: string): Promise<{ stop(): Promise<CanaryResult> }> {
  const opts = { servers: world.url, user: TLS_CANARY.user, pass: TLS_CANARY.password, tls: { ca } };
  const responder = await connect(opts);
  responder.subscribe('tls.canary', {
    callback: (_e, m) => {
      m.respond(m.data);
    },
  });
  await responder.flush();
  const requester = await connect(opts);
  const latencies: number[] = [];
  let failures = 0;
  let running = true;
  const loop = (async (): Promise<void> => {
    while (running) {
      const t = performance.now();
      await requester.request('tls.canary', 'ping', { timeout: 10_000 }).catch(() => failures++);
      latencies.push(performance.now() - t);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      await requester.close();
      await responder.close();
      const sorted = latencies.sort((a, b) => a - b);
      const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
      return { count: sorted.length - failures, failures, max: at(1), p50: at(0.5), p99: at(0.99) };
    },
  };
}

/**
 * The flood passes this many bytes for the slow reader within a second.
 * Its publisher is paused while the reader's backlog is high (as nats-server
 * stalls fast producers), so the backlog itself stays under it and the
 * reader is cut when its writes make no progress for write_deadline, as
 * nats-server 2.9.10 cuts it ("Slow Consumer (Write Deadline)", after its
 * 10 s default); shortened to keep the test short.
 */
const MAX_PENDING = 4 * 1024 * 1024;
const WRITE_DEADLINE_MS = 2000;
const PAYLOAD = 'x'.repeat(1024);
/** Until the slow reader is cut: the write deadline after the kernel's buffers filled, plus a loaded machine's margin. */
const SLOW_CUT_MS = WRITE_DEADLINE_MS + 5000;

async function assertRssBack(world: CanaryWorld, baseline: number, what: string): Promise<void> {
  // Freed memory goes back to the system over seconds, not at once: give it up to RSS_SETTLE_MS.
  let rss = 0;
  const started = performance.now();
  const deadline = started + RSS_SETTLE_MS;
  while (performance.now() < deadline) {
    rss = await world.settledRss();
    if (rss < baseline + RSS_SLACK) {
      console.log(`${what}: RSS ${(rss / 1048576).toFixed(0)} MiB ${(performance.now() - started).toFixed(0)} ms after the attack, baseline ${(baseline / 1048576).toFixed(0)} MiB`);
      return;
    }
    await sleep(500);
  }
  assert.fail(`${what}: RSS ${(rss / 1048576).toFixed(0)} MiB after the attack, baseline ${(baseline / 1048576).toFixed(0)} MiB`);
}

describe('connection-level attackers against a canary in another account', { timeout: 120_000 }, () => {
  it('200k distinct wildcard SUBs then their UNSUBs on one connection', async () => {
    const world = await startCanaryWorld();
    try {
      const subs = linesOf(200_000, (i) => `SUB churn.${i}.*.x ${i}\r\n`);
      const unsubs = linesOf(200_000, (i) => `UNSUB ${i}\r\n`);
      const baseline = await world.settledRss();
      const canary = world.canary();
      await canary.start();
      const s = await attackerSession(world);
      const started = performance.now();
      // All at once, as fast as the server takes them.
      s.send(subs);
      await s.sync(30_000);
      const subscribed = performance.now() - started;
      s.send(unsubs);
      await s.sync(30_000);
      const total = performance.now() - started;
      const seen = await canary.stop();
      s.close();
      console.log(`churn: SUBs ${subscribed.toFixed(0)} ms, SUBs+UNSUBs ${total.toFixed(0)} ms; canary ${JSON.stringify(seen)}`);
      assertCanary(seen, 'churn');
      assert.ok(seen.p50 < CHURN_MEDIAN_MS, `the canary's median request/reply during the churn took ${seen.p50.toFixed(1)} ms`);
      // nats-server 2.9.10 takes 1-1.5 s here; the attacker is served, not starved.
      assert.ok(total < 10_000, `the attacker's 400k ops took ${total.toFixed(0)} ms`);
      await assertRssBack(world, baseline, 'churn');
    } finally {
      await world.close();
    }
  });

  it('/connz?subs=1 (and bigger pages) over 10k connections', async (t) => {
    const files = openFilesLimit();
    if (files < FILES_NEEDED) {
      // CI runs as root and raises the limit in .ci/run: there a low limit is a broken setup, not a reason to skip.
      assert.notEqual(process.getuid?.(), 0, `needs ${FILES_NEEDED} open files per process, the limit is ${files}`);
      t.skip(`needs ${FILES_NEEDED} open files per process, the limit is ${files}`);
      return;
    }
    const world = await startCanaryWorld({ monitor: true });
    const conns: net.Socket[] = [];
    try {
      const baseline = await world.settledRss();
      const subscriptionsBefore = await subscriptionCount(world);
      const opening = world.canary();
      await opening.start();
      const openStarted = performance.now();
      await openConnections(world, CONNECTIONS, conns);
      const opened = performance.now() - openStarted;
      const seenOpening = await opening.stop();
      console.log(`connz: ${CONNECTIONS} connections opened in ${opened.toFixed(0)} ms; canary ${JSON.stringify(seenOpening)}`);
      assertCanary(seenOpening, `opening ${CONNECTIONS} connections`);

      const canary = world.canary();
      await canary.start();
      const scrapes: string[] = [];
      const scrape = async (path: string): Promise<(name: string) => number> => {
        const t = performance.now();
        const { status, head, size } = await httpGetHead(`${world.monitorUrl}${path}`);
        const ms = performance.now() - t;
        scrapes.push(`${path} ${(size / 1e6).toFixed(1)} MB in ${ms.toFixed(0)} ms`);
        assert.equal(status, 200, path);
        // Not the attacker's problem alone: a scrape that takes seconds is a stall of its own.
        assert.ok(ms < SCRAPE_MS, `${path} answered in ${ms.toFixed(0)} ms`);
        return (name) => Number(new RegExp(`^  "${name}": (\\d+),?$`, 'm').exec(head)?.[1] ?? NaN);
      };
      const page = await scrape('/connz?subs=1');
      assert.equal(page('num_connections'), 1024, 'the default page');
      assert.ok(page('total') > CONNECTIONS);
      // Then the big pages, all at once (several dashboards or exporters), and the
      // same builder over `$SYS`, scoped to the attacker's account.
      const nc = await connect(world.attackerOptions());
      const sysConnz = async (): Promise<void> => {
        const t = performance.now();
        const reply = await nc.request('$SYS.REQ.SERVER.PING.CONNZ', JSON.stringify({ limit: 100000, subscriptions: true }), { timeout: SCRAPE_MS });
        scrapes.push(`$SYS CONNZ ${(reply.data.length / 1e6).toFixed(1)} MB in ${(performance.now() - t).toFixed(0)} ms`);
        assert.ok(Number(/"num_connections":(\d+)/.exec(reply.string())?.[1]) > CONNECTIONS, 'the account\'s connections in one page');
      };
      const [all, sorted, subsz] = await Promise.all([
        scrape('/connz?subs=detail&limit=100000'),
        scrape('/connz?subs=1&sort=subs&limit=100000'),
        scrape('/subsz?subs=1&limit=100000'),
        sysConnz(),
      ]);
      assert.ok(all('num_connections') > CONNECTIONS, 'every connection in one page');
      assert.ok(sorted('num_connections') > CONNECTIONS);
      assert.ok(subsz('total') >= 2 * CONNECTIONS, 'every subscription in one page');
      await nc.close();
      const seen = await canary.stop();
      console.log(`connz: ${scrapes.join('; ')}; canary ${JSON.stringify(seen)}`);
      assertCanary(seen, 'scraping /connz and /subsz');

      for (const c of conns) c.destroy();
      await waitUntil(async () => (await varz(world)).connections <= 2, 10_000, 'the attacker\'s connections to be gone');
      // Their subscriptions leave the sublist in slices after them.
      await waitUntil(async () => (await subscriptionCount(world)) === subscriptionsBefore, 10_000, 'the attacker\'s subscriptions to be gone');
      await assertRssBack(world, baseline, '10k connections');
    } finally {
      for (const c of conns) c.destroy();
      await world.close();
    }
  });

  it('a flood of $SYS requests, from the system account and from the attacker\'s', async () => {
    const world = await startCanaryWorld({
      extra: { system_account: 'SYS', accounts: { SYS: { users: [{ user: 'admin', password: 'admin-pass' }] } } },
    });
    try {
      const baseline = await world.settledRss();
      const admin = await connect({ servers: world.url, user: 'admin', pass: 'admin-pass' });
      const attacker = await connect(world.attackerOptions());
      const canary = world.canary();
      await canary.start();
      const adminMs = await flood(admin, SYSTEM_REQUESTS, FLOOD_REQUESTS);
      const attackerMs = await flood(attacker, ACCOUNT_REQUESTS, FLOOD_REQUESTS);
      const seen = await canary.stop();
      console.log(`$SYS flood: ${FLOOD_REQUESTS} system requests answered in ${adminMs.toFixed(0)} ms, ${FLOOD_REQUESTS} account requests in ${attackerMs.toFixed(0)} ms; canary ${JSON.stringify(seen)}`);
      assertCanary(seen, '$SYS flood');
      await admin.close();
      await attacker.close();
      await assertRssBack(world, baseline, '$SYS flood');
    } finally {
      await world.close();
    }
  });

  it('300 half-open TLS handshakes', async () => {
    const certs = await makeCerts();
    const world = await startCanaryWorld({
      monitor: true,
      extra: {
        tls: { cert_file: certs.server.cert, key_file: certs.server.key, timeout: TLS_TIMEOUT_MS / 1000 },
        accounts: { C: { users: [{ ...TLS_CANARY }] } },
      },
    });
    const sockets: net.Socket[] = [];
    try {
      const baseline = await world.settledRss();
      const canary = await startTlsCanary(world, pem(certs.ca.cert));
      const sampler = world.sampleRss(20);
      const started = performance.now();
      const closedAt: number[] = [];
      await Promise.all(Array.from({ length: HALF_OPEN }, async (_, i) => {
        const socket = net.connect(world.port, world.host);
        sockets.push(socket);
        socket.on('error', () => undefined);
        // Reads (and drops) INFO, so the server's close is seen.
        socket.on('data', () => undefined);
        socket.on('close', () => closedAt.push(performance.now() - started));
        await new Promise((resolve) => socket.once('connect', resolve));
        // Half of them start a ClientHello and stop; the other half say nothing at all.
        if (i % 2 === 0) socket.write(PARTIAL_CLIENT_HELLO);
      }));
      await waitUntil(() => closedAt.length === HALF_OPEN, TLS_TIMEOUT_MS + 10_000, 'the server to cut every half-open handshake');
      const peak = sampler.stop();
      const seen = await canary.stop();
      const last = Math.max(...closedAt);
      console.log(`TLS: ${HALF_OPEN} half-open handshakes cut within ${last.toFixed(0)} ms; peak RSS ${(peak / 1048576).toFixed(0)} MiB (baseline ${(baseline / 1048576).toFixed(0)}); canary ${JSON.stringify(seen)}`);
      assertCanary(seen, 'half-open TLS handshakes');
      // Every one is cut at the TLS timeout, counted from its INFO; one second of margin for a loaded machine.
      assert.ok(last < TLS_TIMEOUT_MS + 1000, `the last half-open connection was cut after ${last.toFixed(0)} ms`);
      assert.ok(Math.min(...closedAt) > TLS_TIMEOUT_MS / 2, 'nobody was cut before the timeout');
      assert.ok(peak < baseline + RSS_SLACK, `peak RSS ${(peak / 1048576).toFixed(0)} MiB during the handshakes`);
      await assertRssBack(world, baseline, 'half-open TLS handshakes');
    } finally {
      for (const s of sockets) s.destroy();
      await world.close();
      certs.cleanup();
    }
  });

  it('a slow reader past max_pending is cut without delaying others', async () => {
    const world = await startCanaryWorld({ monitor: true, extra: { max_pending: MAX_PENDING, write_deadline: WRITE_DEADLINE_MS } });
    try {
      const baseline = await world.settledRss();
      // The slow reader subscribes, then never reads again.
      const reader = await attackerSession(world);
      reader.send('SUB slow.feed 1\r\n');
      await reader.sync();
      reader.socket.pause();
      const publisher = await attackerSession(world);
      const batch = linesOf(1000, () => `PUB slow.feed ${PAYLOAD.length}\r\n${PAYLOAD}\r\n`);
      const canary = world.canary();
      await canary.start();
      const started = performance.now();
      let cutAfter = -1;
      while (cutAfter < 0 && performance.now() - started < SLOW_CUT_MS + 5000) {
        await writeAll(publisher.socket, batch);
        if ((await varz(world)).slow_consumers > 0) cutAfter = performance.now() - started;
      }
      // The publisher is still served once the slow reader is gone.
      await publisher.sync(5000);
      const seen = await canary.stop();
      const closed = (await (await fetch(`${world.monitorUrl}/connz?state=closed`)).json()) as { connections: Array<{ reason: string }> };
      console.log(`slow reader: cut after ${cutAfter.toFixed(0)} ms (${closed.connections.map((c) => c.reason).join(', ')}); canary ${JSON.stringify(seen)}`);
      assert.ok(cutAfter >= 0, 'the slow reader was cut as a slow consumer');
      assert.ok(closed.connections.some((c) => c.reason.startsWith('Slow Consumer')), 'closed as a slow consumer');
      assert.ok(cutAfter < SLOW_CUT_MS, `the slow reader was cut after ${cutAfter.toFixed(0)} ms`);
      assertCanary(seen, 'slow reader');
      reader.close();
      publisher.close();
      await assertRssBack(world, baseline, 'slow reader');
    } finally {
      await world.close();
    }
  });
});
