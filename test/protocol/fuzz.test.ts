/**
 * A seeded, bounded fuzz of Natter's protocol handling. Inputs are random
 * mutations of valid sessions plus plain random bytes, thrown at a Natter
 * running in a child process over many connections, while canary clients
 * keep publishing, receiving and PINGing. The server must never crash, never
 * stall the canaries, forget every fuzz connection and subscription once they
 * are gone, and keep its heap bounded.
 *
 * A second part checks that the bytes Natter answers do not depend on how the
 * same (mutated) input is cut into TCP reads.
 *
 * Everything derives from SEED: a failure replays identically.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RawSession, countOf } from '../helpers/session.js';
import { Rng, randomChunks } from '../helpers/random.js';
import { sleep } from '../helpers/wait.js';
import { startNatterProcess, type NatterProcess } from '../helpers/natter-process.js';
import { startNatter, type TestNatter } from '../helpers/natter.js';

const SEED = Number(process.env.NATTER_FUZZ_SEED ?? 0xc0ffee);
const CONNECTIONS = 1200;
const CONCURRENCY = 12;
const LIMITS = { max_payload: 4096, max_control_line: 512, max_subscriptions: 64, max_pending: 1 << 20 };

function hpub(subject: string, reply: string | null, hdr: string, body: string): string {
  const h = `NATS/1.0\r\n${hdr}\r\n`;
  return `HPUB ${subject} ${reply ? reply + ' ' : ''}${h.length} ${h.length + body.length}\r\n${h}${body}\r\n`;
}

const C = 'CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\n';
/** Valid sessions the mutations start from. None touches the canary subjects. */
const CORPUS: string[] = [
  C + 'SUB foo 1\r\nPUB foo 5\r\nhello\r\nPING\r\n',
  C + 'SUB foo.* q 2\r\nPUB foo.bar reply 3\r\nabc\r\nUNSUB 2 1\r\nPUB foo.baz 0\r\n\r\n',
  C + 'SUB h.> 3\r\n' + hpub('h.x', null, 'A: b\r\n', 'hello') + hpub('h.y', 'r.1', 'K: 1\r\nK: 2\r\n', ''),
  'CONNECT {"verbose":true,"pedantic":true}\r\nSUB > 9\r\nPUB a.b 0\r\n\r\nPUB a.* 1\r\nx\r\nPING\r\nPONG\r\n',
  'PING\r\nPONG\r\n+OK\r\nINFO {}\r\nping\r\n',
  C + 'SUB a 1\r\nSUB b 2\r\nUNSUB 1\r\nUNSUB 2 5\r\nPUB b 2\r\nhi\r\nSUB a q 1\r\n',
  'CONNECT {"echo":false,"no_responders":true,"headers":true}\r\nSUB _INBOX.x 1\r\nPUB svc.nobody _INBOX.x 2\r\nhi\r\n',
  'connect {"verbose":false}\r\nsub\tx.y \t 4\r\npub x.y  2\r\nok\r\nunsub 4\r\n',
  C + 'PUB big 4096\r\n' + 'B'.repeat(4096) + '\r\nPING\r\n',
  C + 'SUB s 1\r\nPUB s 10\r\n0123456789\r\nPUB s 1\r\n\n\r\nPING\r\n',
];

const TOKENS = ['\r\n', '\r', '\n', ' ', '\t', '*', '>', '.', '..', '-1', '0', '99999999', '4097', '513', '{', '}', '"', 'PUB ', 'HPUB ', 'SUB ', 'UNSUB ', 'MSG ', 'CONNECT ', 'PING\r\n', '\x00', '\xff'];
const NUMBERS = ['0', '1', '2', '3', '12', '4095', '4096', '4097', '65536', '-1', '999999999999', '1e3', '0x10', ''];

function mutate(rng: Rng, input: Buffer): Buffer {
  let b = Buffer.from(input);
  const rounds = rng.range(1, 4);
  for (let r = 0; r < rounds; r++) {
    const at = b.length === 0 ? 0 : rng.int(b.length);
    switch (rng.int(9)) {
      case 0: // flip a byte
        if (b.length > 0) b[at] = rng.int(256);
        break;
      case 1: // insert random bytes
        b = Buffer.concat([b.subarray(0, at), rng.bytes(rng.range(1, 8)), b.subarray(at)]);
        break;
      case 2: { // delete a range
        const n = rng.range(1, 12);
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + n))]);
        break;
      }
      case 3: { // duplicate a range
        const n = rng.range(1, 40);
        b = Buffer.concat([b.subarray(0, at + n), b.subarray(at, Math.min(b.length, at + n)), b.subarray(Math.min(b.length, at + n))]);
        break;
      }
      case 4: // insert a protocol-ish token
        b = Buffer.concat([b.subarray(0, at), Buffer.from(rng.pick(TOKENS), 'latin1'), b.subarray(at)]);
        break;
      case 5: { // replace a run of digits with another number
        const s = b.toString('latin1');
        const runs = [...s.matchAll(/\d+/g)];
        if (runs.length > 0) {
          const m = rng.pick(runs);
          b = Buffer.from(s.slice(0, m.index) + rng.pick(NUMBERS) + s.slice((m.index ?? 0) + m[0].length), 'latin1');
        }
        break;
      }
      case 6: // truncate
        b = b.subarray(0, at);
        break;
      case 7: // swap letter case
        if (b.length > 0 && /[a-z]/i.test(String.fromCharCode(b[at]))) b[at] ^= 0x20;
        break;
      default: // splice in another session
        b = Buffer.concat([b.subarray(0, at), Buffer.from(rng.pick(CORPUS), 'latin1')]);
        break;
    }
  }
  return b;
}

/** One fuzz input: mostly mutated sessions, some plain noise, some oversized lines. */
function generate(rng: Rng): Buffer {
  const kind = rng.int(10);
  if (kind < 6) return mutate(rng, Buffer.from(rng.pick(CORPUS), 'latin1'));
  if (kind < 8) return rng.bytes(rng.range(1, 600));
  if (kind < 9) {
    // An op keyword then a very long line, with or without its end.
    return Buffer.from(rng.pick(['SUB ', 'PUB ', 'CONNECT ', 'UNSUB ', '-ERR ', 'INFO ', 'x']) + 'z'.repeat(rng.range(400, 3000)) + (rng.chance(0.5) ? '\r\n' : ''), 'latin1');
  }
  // Several valid sessions back to back, then a mutation.
  return mutate(rng, Buffer.from(rng.pick(CORPUS) + rng.pick(CORPUS) + rng.pick(CORPUS), 'latin1'));
}

/** Shortens runs of one repeated character, for readable failure messages. */
function abbreviate(s: string): string {
  return s.replace(/(.)\1{15,}/g, (run, c: string) => `<${c}×${run.length}>`);
}

/** Connects, sends `input` in a few chunks, waits briefly for a close, then hangs up. */
async function throwAt(port: number, rng: Rng, input: Buffer): Promise<'closed' | 'open'> {
  const s = await RawSession.connect(port, { timeoutMs: 5000 });
  try {
    for (const chunk of randomChunks(input, rng, rng.chance(0.3) ? 16 : 4096)) {
      s.send(chunk);
      if (rng.chance(0.3)) await new Promise((r) => setImmediate(r));
    }
    await s.wait(() => s.closed, rng.range(5, 60));
    return s.closed ? 'closed' : 'open';
  } finally {
    s.close();
  }
}

/** Publishes a numbered message and a PING every few ms; checks delivery and PONG latency. */
class Canary {
  private pub!: RawSession;
  private sub!: RawSession;
  private stopped = false;
  private loop: Promise<void> | null = null;
  sent = 0;
  maxPongMs = 0;
  error: Error | null = null;

  async start(port: number): Promise<void> {
    this.sub = await RawSession.connect(port);
    this.pub = await RawSession.connect(port);
    await this.sub.request('CONNECT {"verbose":false}\r\nSUB canary.msgs 1\r\nPING\r\n', 'PONG\r\n');
    await this.pub.request('CONNECT {"verbose":false}\r\nPING\r\n', 'PONG\r\n');
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    try {
      while (!this.stopped) {
        const seq = String(this.sent);
        const t0 = Date.now();
        this.pub.send(`PUB canary.msgs ${seq.length}\r\n${seq}\r\nPING\r\n`);
        this.sent++;
        const want = this.sent + 1; // +1: the PONG of the CONNECT handshake
        await this.pub.waitFor(() => countOf(this.pub.text(), 'PONG\r\n') >= want, 3000, `canary PONG #${this.sent}`);
        this.maxPongMs = Math.max(this.maxPongMs, Date.now() - t0);
        await sleep(15);
      }
    } catch (e) {
      this.error = e as Error;
    }
  }

  /** Stops publishing and returns the sequence numbers the subscriber got. */
  async stop(): Promise<number[]> {
    this.stopped = true;
    await this.loop;
    await this.sub.request('PING\r\n', 'PONG\r\n', 3000);
    const seqs = [...this.sub.text().matchAll(/MSG canary\.msgs 1 \d+\r\n(\d+)\r\n/g)].map((m) => Number(m[1]));
    return seqs;
  }

  close(): void {
    this.pub?.close();
    this.sub?.close();
  }
}

describe('fuzz: Natter survives hostile clients', () => {
  let srv: NatterProcess;
  before(async () => {
    srv = await startNatterProcess(LIMITS);
  });
  after(async () => {
    await srv?.stop();
  });

  it(`${CONNECTIONS} connections of mutated sessions and random bytes (seed ${SEED})`, async () => {
    const canary = new Canary();
    await canary.start(srv.port);
    try {
      // Warm up once so the baseline includes lazily allocated state.
      for (const c of CORPUS) await throwAt(srv.port, new Rng(1), Buffer.from(c, 'latin1'));
      const base = await srv.stats();

      const rng = new Rng(SEED);
      // Inputs and their chunkings are fixed up front, so they do not depend on scheduling.
      const jobs = Array.from({ length: CONNECTIONS }, () => ({ input: generate(rng), rng: new Rng(rng.int(2 ** 32)) }));
      let next = 0;
      const outcomes = { closed: 0, open: 0 };
      const worker = async (): Promise<void> => {
        while (next < jobs.length) {
          const job = jobs[next++];
          outcomes[await throwAt(srv.port, job.rng, job.input)]++;
          assert.equal(srv.exited(), null, `Natter exited while fuzzing: ${JSON.stringify(srv.exited())}`);
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));

      // The server survived and still answers.
      assert.equal(srv.exited(), null, `Natter exited: ${JSON.stringify(srv.exited())}`);
      const seqs = await canary.stop();
      assert.equal(canary.error, null, `canary stalled: ${canary.error?.message}`);
      assert.ok(canary.sent > 10, `canary published only ${canary.sent} times`);
      assert.deepEqual(seqs, Array.from({ length: canary.sent }, (_, i) => i), 'canary messages lost or reordered');
      assert.ok(canary.maxPongMs < 1000, `a canary PING waited ${canary.maxPongMs}ms`);
      // Both outcomes happened: the fuzz reached the error paths and the happy paths.
      assert.ok(outcomes.closed > 20 && outcomes.open > 20, `outcomes ${JSON.stringify(outcomes)}`);

      // Every fuzz connection and subscription is forgotten; only the canaries remain.
      let stats = await srv.stats();
      const deadline = Date.now() + 5000;
      while ((stats.clients !== 2 || stats.subscriptions !== 1) && Date.now() < deadline) {
        await sleep(50);
        stats = await srv.stats();
      }
      assert.equal(stats.clients, 2, 'clients left behind');
      assert.equal(stats.subscriptions, 1, 'subscriptions left behind');
      const growth = stats.heapUsed - base.heapUsed;
      if (process.env.NATTER_FUZZ_VERBOSE) console.log({ base, stats, outcomes, canary: { sent: canary.sent, maxPongMs: canary.maxPongMs } });
      assert.ok(growth < 24 * 1024 * 1024, `heap grew by ${(growth / 1048576).toFixed(1)} MiB`);
      assert.ok(stats.rss < 512 * 1024 * 1024, `rss ${(stats.rss / 1048576).toFixed(1)} MiB`);
    } finally {
      canary.close();
    }
  });
});

describe('fuzz: answers do not depend on how input is chunked', () => {
  let srv: TestNatter;
  before(async () => {
    srv = await startNatter(LIMITS);
  });
  after(async () => {
    await srv?.close();
  });

  /** Sends `chunks` one after another; returns what came back once the server closed or went quiet. */
  async function run(chunks: Buffer[]): Promise<{ out: string; closed: boolean }> {
    const s = await RawSession.connect(srv.port);
    try {
      for (const c of chunks) {
        s.send(c);
        await new Promise((r) => setImmediate(r));
      }
      // Done when closed, or when nothing new arrived for a while.
      let len = -1;
      while (!s.closed && len !== s.bytes().length) {
        len = s.bytes().length;
        await s.wait(() => s.closed, 25);
      }
      return { out: s.text(), closed: s.closed };
    } finally {
      s.close();
    }
  }

  it('mutated sessions give the same bytes whole, byte by byte, and in random chunks', async () => {
    const rng = new Rng(SEED ^ 0x9e3779b9);
    const failures: string[] = [];
    const inputs: Buffer[] = [];
    for (let i = 0; i < 60; i++) {
      // No queue groups here: a lingering member from the previous run could take a message.
      inputs.push(mutate(rng, Buffer.from(rng.pick(CORPUS).replace(/ q /g, ' '), 'latin1')).subarray(0, 400));
    }
    // Control lines around max_control_line (512 bytes of arguments).
    for (const n of [500, 506, 508, 509, 510, 511]) inputs.push(Buffer.from(`SUB ${'a'.repeat(n)} 1\r\nPING\r\n`, 'latin1'));
    for (const input of inputs) {
      const whole = await run([input]);
      const bytes = await run([...input].map((b) => Buffer.from([b])));
      const chunked = await run(randomChunks(input, rng, 9));
      for (const [name, r] of [['byte by byte', bytes], ['random chunks', chunked]] as const) {
        if (r.out !== whole.out || r.closed !== whole.closed) {
          failures.push(
            `input ${abbreviate(JSON.stringify(input.toString('latin1')))}\n  whole: ${whole.closed ? 'closed' : 'open'} ${JSON.stringify(whole.out)}\n  ${name}: ${r.closed ? 'closed' : 'open'} ${JSON.stringify(r.out)}`,
          );
        }
      }
    }
    assert.deepEqual(failures, [], `${failures.length} chunking-dependent answers:\n${failures.slice(0, 5).join('\n')}`);
  });
});
