/**
 * Monitoring under load and bad HTTP clients (issue 5, "Bad input"):
 *
 *  - thousands of connections on /connz: the default page is capped at 1024,
 *    `total` counts them all, limit/offset paging lists every cid exactly once,
 *    sorted top-10 pages answer quickly, and repeated requests leave no heap behind;
 *  - a slow HTTP client (a reader that stops reading a big answer, and clients
 *    that stall mid-request) has no effect on message traffic or other requests.
 *
 * The server and its raw connections live in a child process started through
 * `sh -c 'ulimit -n N; exec node ...'`: each connection costs two descriptors
 * (client and server side), more than a 1024 soft limit allows, and a separate
 * process lets the server's heap be measured (with --expose-gc) without the
 * test's own garbage. The child is this same file, run with NATTER_LOAD_CHILD set.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatter } from '../helpers/natter.js';
import { getJson, get } from './helpers.js';
import { sleep, waitUntil } from '../helpers/wait.js';

/** Raw NATS connections held open on the server. */
const CONNECTIONS = 3000;
/** Descriptors per connection (both ends are in the child) plus headroom. */
const FDS_NEEDED = 2 * CONNECTIONS + 512;
/** How many raw connections are being opened at once. */
const OPEN_PARALLELISM = 64;
/** Receivers of directed traffic, so sort=msgs_to has a known top 10: receiver j gets j+1 messages. */
const RECEIVERS = 20;

// ---------------------------------------------------------------------------
// Child side: the server plus CONNECTIONS raw clients, driven over stdin/stdout.
// ---------------------------------------------------------------------------

interface Ready {
  ready: true;
  url: string;
  base: string;
  cids: number[];
  openMs: number;
}

/** Reads until `pred` holds on everything received so far; resolves with it. */
function readUntil(s: net.Socket, pred: (buf: string) => boolean, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const done = (err?: Error): void => {
      clearTimeout(timer);
      s.off('data', onData);
      s.off('error', done);
      if (err) reject(err);
      else resolve(buf);
    };
    const onData = (d: Buffer): void => {
      buf += d.toString('latin1');
      if (pred(buf)) done();
    };
    const timer = setTimeout(() => done(new Error(`${what}: timed out (got ${JSON.stringify(buf.slice(0, 200))})`)), 10_000);
    s.on('data', onData);
    s.on('error', done);
  });
}

/** Connection i subscribes to i % 5 subjects (load.<i>.<k>) and answers the server's PINGs. */
async function openRaw(port: number, i: number): Promise<{ socket: net.Socket; cid: number }> {
  const s = net.connect({ host: '127.0.0.1', port });
  s.setNoDelay(true);
  let subs = '';
  for (let k = 0; k < i % 5; k++) subs += `SUB load.${i}.${k} ${k + 1}\r\n`;
  s.once('connect', () => s.write(`CONNECT {"verbose":false}\r\n${subs}PING\r\n`));
  const got = await readUntil(s, (b) => b.includes('PONG\r\n'), `raw connection ${i}`);
  const info = /^INFO (\{.*\}) *\r\n/.exec(got);
  if (info === null) throw new Error(`raw connection ${i}: no INFO in ${JSON.stringify(got.slice(0, 200))}`);
  const cid = (JSON.parse(info[1]) as { client_id: number }).client_id;
  s.on('data', (d: Buffer) => {
    if (d.includes('PING\r\n')) s.write('PONG\r\n');
  });
  s.on('error', () => {});
  return { socket: s, cid };
}

async function childMain(): Promise<void> {
  const out = (o: object): void => {
    process.stdout.write(JSON.stringify(o) + '\n');
  };
  const srv = await startNatter({ http_port: -1 });
  const t0 = performance.now();
  const sockets: net.Socket[] = new Array<net.Socket>(CONNECTIONS);
  const cids: number[] = new Array<number>(CONNECTIONS);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < CONNECTIONS) {
      const i = next++;
      const r = await openRaw(srv.port, i);
      sockets[i] = r.socket;
      cids[i] = r.cid;
    }
  };
  await Promise.all(Array.from({ length: OPEN_PARALLELISM }, worker));
  const openMs = performance.now() - t0;

  // Directed traffic: connection 0 (no subscriptions) sends j+1 messages to the
  // j-th connection with exactly one subscription (i % 5 === 1).
  let pubs = '';
  for (let j = 0; j < RECEIVERS; j++) {
    const i = 5 * j + 1;
    for (let n = 0; n <= j; n++) pubs += `PUB load.${i}.0 1\r\nx\r\n`;
  }
  const pub = sockets[0];
  const pong = readUntil(pub, (b) => b.includes('PONG\r\n'), 'publisher');
  pub.write(pubs + 'PING\r\n');
  await pong;

  const ready: Ready = { ready: true, url: srv.url, base: srv.server.monitorURLs[0], cids, openMs };
  out(ready);

  const gc = (globalThis as { gc?: () => void }).gc;
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'heap') {
      if (gc === undefined) throw new Error('child started without --expose-gc');
      gc();
      gc();
      out({ heap: process.memoryUsage().heapUsed });
    } else if (line === 'quit') {
      break;
    }
  }
  for (const s of sockets) s.destroy();
  await srv.close();
  process.exit(0);
}

// ---------------------------------------------------------------------------
// Test side.
// ---------------------------------------------------------------------------

interface ConnInfo {
  cid: number;
  subscriptions: number;
  out_msgs: number;
}

interface Connz {
  num_connections: number;
  total: number;
  offset: number;
  limit: number;
  connections: ConnInfo[] | null;
}

/** The child server process and its line protocol. */
class Child {
  private readonly waiters: Array<(o: Record<string, unknown>) => void> = [];
  private readonly proc: ChildProcess;
  private stderr = '';
  readonly ready: Promise<Ready>;

  constructor(fdLimit: number) {
    const script = fileURLToPath(import.meta.url);
    const env: NodeJS.ProcessEnv = { ...process.env, NATTER_LOAD_CHILD: '1' };
    // Not a test-runner subprocess, whatever started us.
    delete env.NODE_TEST_CONTEXT;
    this.proc = spawn('sh', ['-c', `ulimit -n ${fdLimit} && exec "$0" --expose-gc "$1"`, process.execPath, script], {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.proc.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    const lines = createInterface({ input: this.proc.stdout! });
    lines.on('line', (line) => {
      const w = this.waiters.shift();
      if (w !== undefined) w(JSON.parse(line) as Record<string, unknown>);
    });
    const exited = new Promise<never>((_, reject) => {
      this.proc.once('exit', (code) => reject(new Error(`load child exited (${code}): ${this.stderr}`)));
    });
    exited.catch(() => {});
    this.ready = Promise.race([this.next() as Promise<unknown> as Promise<Ready>, exited]);
  }

  private next(): Promise<Record<string, unknown>> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The child server's heap after two full GCs, in bytes. */
  async heap(): Promise<number> {
    const r = this.next();
    this.proc.stdin!.write('heap\n');
    return (await r).heap as number;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const gone = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.stdin!.write('quit\n');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(t);
  }
}

/** Soft and hard `ulimit -n` of a shell started from here (Node has no getrlimit). */
function fdLimits(): { soft: number; hard: number } {
  const read = (flag: string): number => {
    const v = execFileSync('sh', ['-c', `ulimit ${flag}`], { encoding: 'utf8' }).trim();
    return v === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(v);
  };
  return { soft: read('-n'), hard: read('-Hn') };
}

/** Runs `f`, returning its result and how long it took in ms. */
async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await f();
  return [r, performance.now() - t];
}

function registerTests(): void {
  let child: Child;
  let ready: Ready;

  before(async () => {
    const { soft, hard } = fdLimits();
    // Raise the soft limit for the child only when needed (and as far as the hard limit lets us).
    // Node itself raises its soft limit to the hard one at startup, so in practice it is the
    // hard limit that decides; below what is needed the test fails rather than skips.
    const limit = soft >= FDS_NEEDED ? soft : Math.min(hard, 8192);
    if (limit < FDS_NEEDED) {
      throw new Error(`need ${FDS_NEEDED} descriptors for ${CONNECTIONS} connections; ulimit -n is ${soft} (hard ${hard})`);
    }
    child = new Child(limit);
    ready = await child.ready;
    console.log(`# opened ${CONNECTIONS} raw connections in ${ready.openMs.toFixed(0)} ms (ulimit -n ${soft}, hard ${hard}; child started with ${limit})`);
  });

  after(async () => {
    await child?.stop();
  });

  test(`/connz with ${CONNECTIONS} connections: default cap, total, paging, sorted pages, bounded heap`, async () => {
    const { base, cids } = ready;
    assert.equal(new Set(cids).size, CONNECTIONS);

    // Default: nats-server's limit of 1024, lowest cids first; total counts everything.
    const [def, defMs] = await timed(() => getJson<Connz>(base, '/connz'));
    assert.equal(def.limit, 1024);
    assert.equal(def.offset, 0);
    assert.equal(def.total, CONNECTIONS);
    assert.equal(def.num_connections, 1024);
    assert.equal(def.connections?.length, 1024);
    const sortedCids = [...cids].sort((a, b) => a - b);
    assert.deepEqual(def.connections.map((c) => c.cid), sortedCids.slice(0, 1024));

    // Paging covers every cid exactly once, in the default order and in a sorted
    // order with many ties (subscription counts are 0..4).
    for (const sort of ['', '&sort=subs']) {
      const seen: number[] = [];
      const limit = 256;
      for (let offset = 0; offset < CONNECTIONS + limit; offset += limit) {
        const page = await getJson<Connz>(base, `/connz?limit=${limit}&offset=${offset}${sort}`);
        assert.equal(page.total, CONNECTIONS);
        assert.equal(page.offset, offset);
        assert.equal(page.limit, limit);
        const n = page.connections?.length ?? 0;
        assert.equal(n, Math.max(0, Math.min(limit, CONNECTIONS - offset)), `page at ${offset}${sort}`);
        assert.equal(page.num_connections, n);
        for (const c of page.connections ?? []) seen.push(c.cid);
      }
      assert.equal(seen.length, CONNECTIONS, `paging${sort}`);
      assert.deepEqual([...seen].sort((a, b) => a - b), sortedCids, `paging${sort} lists every cid once`);
      if (sort === '') assert.deepEqual(seen, sortedCids);
    }

    // Top-10 by subscriptions: all with 4, ties by cid.
    const [bySubs, subsMs] = await timed(() => getJson<Connz>(base, '/connz?sort=subs&limit=10'));
    assert.equal(bySubs.total, CONNECTIONS);
    assert.equal(bySubs.connections?.length, 10);
    const fourSubs = cids.filter((_, i) => i % 5 === 4).sort((a, b) => a - b).slice(0, 10);
    assert.deepEqual(bySubs.connections.map((c) => c.cid), fourSubs);
    assert.ok(bySubs.connections.every((c) => c.subscriptions === 4));

    // Top-10 by messages sent to the client: receivers 19..10 (20..11 messages).
    const [byMsgs, msgsMs] = await timed(() => getJson<Connz>(base, '/connz?sort=msgs_to&limit=10'));
    assert.equal(byMsgs.connections?.length, 10);
    assert.deepEqual(byMsgs.connections.map((c) => c.out_msgs), [20, 19, 18, 17, 16, 15, 14, 13, 12, 11]);
    assert.deepEqual(
      byMsgs.connections.map((c) => c.cid),
      Array.from({ length: 10 }, (_, k) => cids[5 * (RECEIVERS - 1 - k) + 1]),
    );
    console.log(`# /connz default ${defMs.toFixed(1)} ms, sort=subs&limit=10 ${subsMs.toFixed(1)} ms, sort=msgs_to&limit=10 ${msgsMs.toFixed(1)} ms`);
    assert.ok(defMs < 1000, `/connz took ${defMs} ms`);
    assert.ok(subsMs < 1000, `sort=subs took ${subsMs} ms`);
    assert.ok(msgsMs < 1000, `sort=msgs_to took ${msgsMs} ms`);

    // Repeated requests leave nothing behind: the heap after 20 more is where it was.
    // (Both kinds of request are warmed up first, so compiled code is not counted.)
    for (let i = 0; i < 5; i++) {
      await getJson<Connz>(base, '/connz?limit=10');
      await getJson<Connz>(base, '/connz?sort=msgs_to&limit=10');
    }
    const h0 = await child.heap();
    let slowest = 0;
    for (let i = 0; i < 20; i++) {
      const [z, ms] = await timed(() => getJson<Connz>(base, '/connz?limit=10'));
      assert.equal(z.connections?.length, 10);
      slowest = Math.max(slowest, ms);
    }
    const h1 = await child.heap();
    for (let i = 0; i < 20; i++) await getJson<Connz>(base, '/connz?sort=msgs_to&limit=10');
    const h2 = await child.heap();
    console.log(`# heap ${(h0 / 1e6).toFixed(2)} MB -> ${(h1 / 1e6).toFixed(2)} MB after 20x limit=10 (slowest ${slowest.toFixed(1)} ms) -> ${(h2 / 1e6).toFixed(2)} MB after 20x sort=msgs_to&limit=10`);
    assert.ok(h1 - h0 < 400_000, `heap grew ${h1 - h0} bytes over 20 /connz?limit=10`);
    assert.ok(h2 - h1 < 400_000, `heap grew ${h2 - h1} bytes over 20 /connz?sort=msgs_to&limit=10`);
    assert.ok(slowest < 1000);
  });

  test('a slow HTTP client does not hold up message traffic or other requests', async () => {
    const { base, url } = ready;
    const mon = new URL(base);
    const port = Number(mon.port);
    const opened: net.Socket[] = [];
    const ncs: NatsConnection[] = [];
    try {
      // A reader that asks for many big answers (pipelined; far more than the
      // kernel buffers hold) and stops reading after the first bytes.
      const PIPELINED = 30;
      const reader = net.connect({ host: mon.hostname, port });
      opened.push(reader);
      let received = '';
      let firstBytes!: () => void;
      const gotFirst = new Promise<void>((r) => (firstBytes = r));
      reader.on('data', (d: Buffer) => {
        received += d.toString('latin1');
        reader.pause();
        firstBytes();
      });
      reader.on('error', () => {});
      reader.write(`GET /connz?limit=1024&subs=1 HTTP/1.1\r\nHost: ${mon.host}\r\n\r\n`.repeat(PIPELINED));
      await gotFirst;

      // Clients that stall in the middle of a request line or of the headers.
      for (const partial of ['GET /connz?lim', 'GET /varz HTTP/1.1\r\nHost: x', 'GE', 'GET /connz?limit=1024 HTTP/1.1\r\n']) {
        const s = net.connect({ host: mon.hostname, port });
        s.on('error', () => {});
        s.write(partial);
        opened.push(s);
      }
      await sleep(50);

      // Traffic: 20,000 messages from a publisher to a subscriber.
      const MESSAGES = 20_000;
      const sub = await connect({ servers: url });
      ncs.push(sub);
      const pub = await connect({ servers: url });
      ncs.push(pub);
      const sentAt = new Float64Array(MESSAGES);
      let count = 0;
      let maxLatency = 0;
      let outOfOrder = 0;
      const subscription = sub.subscribe('load.traffic');
      const receiving = (async () => {
        for await (const m of subscription) {
          const seq = Number(m.string());
          if (seq !== count) outOfOrder++;
          maxLatency = Math.max(maxLatency, performance.now() - sentAt[seq]);
          if (++count === MESSAGES) break;
        }
      })();
      await sub.flush();

      // Meanwhile, other requests are answered promptly.
      let trafficDone = false;
      const varzTimes: number[] = [];
      const polling = (async () => {
        // At least a handful of samples, however quickly the traffic goes.
        while (!trafficDone || varzTimes.length < 5) {
          const [r, ms] = await timed(() => get(base, '/varz'));
          assert.equal(r.status, 200);
          varzTimes.push(ms);
          await sleep(20);
        }
      })();

      const t0 = performance.now();
      for (let i = 0; i < MESSAGES; i++) {
        sentAt[i] = performance.now();
        pub.publish('load.traffic', String(i));
        // Yield now and then so the publisher's buffer is written as it goes.
        if (i % 1000 === 999) await pub.flush();
      }
      await pub.flush();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          receiving,
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`only ${count} of ${MESSAGES} messages arrived within 10 s`)), 10_000);
          }),
        ]);
      } finally {
        clearTimeout(timer);
      }
      const trafficMs = performance.now() - t0;
      trafficDone = true;
      await polling;

      const maxVarz = Math.max(...varzTimes);
      console.log(`# ${MESSAGES} messages in ${trafficMs.toFixed(0)} ms, max latency ${maxLatency.toFixed(1)} ms; ` +
        `/varz x${varzTimes.length} max ${maxVarz.toFixed(1)} ms`);
      assert.equal(count, MESSAGES);
      assert.equal(outOfOrder, 0);
      assert.ok(maxLatency < 3000, `a message took ${maxLatency} ms`);
      assert.ok(maxVarz < 1000, `/varz took ${maxVarz} ms`);

      // A fresh /connz is also answered while the reader still stalls.
      const [z, connzMs] = await timed(() => getJson<Connz>(base, '/connz?limit=10'));
      assert.equal(z.total, CONNECTIONS + 2);
      assert.ok(connzMs < 1000, `/connz took ${connzMs} ms`);

      // The stalled reader still gets every answer, complete, once it reads again.
      const unreadAtResume = received.length;
      reader.removeAllListeners('data');
      reader.on('data', (d: Buffer) => (received += d.toString('latin1')));
      reader.resume();
      const answers = (): number => received.split('HTTP/1.1 200 OK\r\n').length - 1;
      await waitUntil(() => answers() === PIPELINED, 10_000, `${PIPELINED} answers to the slow reader (got ${answers()})`);
      await sleep(50);
      assert.equal(answers(), PIPELINED);
      // It really had stalled: most of what it asked for was still waiting.
      console.log(`# slow reader had read ${unreadAtResume} of ${received.length} bytes before resuming`);
      assert.ok(unreadAtResume < received.length / 2);
    } finally {
      for (const s of opened) s.destroy();
      await Promise.allSettled(ncs.map((nc) => nc.close()));
    }
  });
}

if (process.env.NATTER_LOAD_CHILD === '1') await childMain();
else registerTests();
