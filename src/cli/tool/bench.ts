/**
 * `natter bench pub|sub|pubsub|request|reply|js-pub|js-consume|kv-put|kv-get`:
 * load from the shell, each client on its own connection, reported as
 * bench-report.ts does (a table, `--csv` or `--json`).
 */
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, JetStreamApiError, StorageType } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { Flags } from './args.js';
import type { Invocation, ToolCommand } from './command.js';
import { ToolError } from './errors.js';
import { choice } from './jsutil.js';
import { openBucket } from './kv.js';
import { groupReport, printReport, Progress, type BenchReport, type ClientResult, type GroupReport } from './bench-report.js';

const COMMON_FLAGS = {
  msgs: { kind: 'string', help: 'messages in total (default 100000)' },
  size: { kind: 'string', help: 'message size, e.g. 128 or 1KB (default 128)' },
  clients: { kind: 'string', help: 'concurrent clients, each with its own connection (default 1)' },
  csv: { kind: 'boolean', help: 'print the results as CSV' },
  json: { kind: 'boolean', help: 'print the results as JSON' },
} as const;

/** How often a publisher waits for the server to catch up (a flush). */
const FLUSH_EVERY = 1000;

interface BenchSetup {
  readonly subject: string;
  readonly msgs: number;
  readonly clients: number;
  readonly payload: Uint8Array;
  readonly format: 'table' | 'csv' | 'json';
}

function setup(flags: Flags, subjectRequired = true): BenchSetup {
  const subject = subjectRequired ? flags.required(0, '<subject>') : (flags.positionals[0] ?? '');
  const msgs = flags.int('msgs', 100_000);
  const clients = flags.int('clients', 1);
  const size = flags.bytes('size', 128);
  if (msgs < 1) throw new ToolError('--msgs must be at least 1');
  if (clients < 1) throw new ToolError('--clients must be at least 1');
  if (size < 0) throw new ToolError('--size must not be negative');
  if (flags.bool('csv') && flags.bool('json')) throw new ToolError('give --csv or --json, not both');
  return { subject, msgs, clients, payload: new Uint8Array(size).fill(0x61), format: flags.bool('json') ? 'json' : flags.bool('csv') ? 'csv' : 'table' };
}

/** `total` split over `clients`: the first ones take the remainder. */
function shares(total: number, clients: number): number[] {
  return Array.from({ length: clients }, (_, i) => Math.floor(total / clients) + (i < total % clients ? 1 : 0));
}

function finish(inv: Invocation, s: BenchSetup, benchmark: string, groups: GroupReport[]): number {
  const report: BenchReport = { benchmark, subject: s.subject, msg_size: s.payload.length, groups };
  printReport(inv.out, report, s.format);
  return 0;
}

async function publisher(inv: Invocation, subject: string, count: number, payload: Uint8Array, progress: Progress): Promise<ClientResult> {
  const conn = await inv.connect();
  const startMs = performance.now();
  for (let i = 1; i <= count; i++) {
    conn.nc.publish(subject, payload);
    progress.done++;
    if (i % FLUSH_EVERY === 0) await conn.flushChecked();
  }
  await conn.flushChecked();
  return { msgs: count, bytes: count * payload.length, startMs, endMs: performance.now() };
}

/** Subscribes, and resolves `done` with the result once `count` messages arrived. */
async function subscriber(inv: Invocation, subject: string, count: number, progress: Progress): Promise<{ done: Promise<ClientResult> }> {
  const conn = await inv.connect();
  let startMs = 0;
  let received = 0;
  let bytes = 0;
  let resolve: (r: ClientResult) => void = () => undefined;
  const done = new Promise<ClientResult>((r) => (resolve = r));
  conn.nc.subscribe(subject, {
    max: count,
    callback: (_err, m) => {
      if (received === 0) startMs = performance.now();
      received++;
      bytes += m.data.length;
      progress.done++;
      if (received === count) resolve({ msgs: received, bytes, startMs, endMs: performance.now() });
    },
  });
  await conn.flushChecked();
  return { done };
}

function untilInterrupted<T>(inv: Invocation, work: Promise<T>): Promise<T> {
  return Promise.race([work, inv.interrupted().then(() => Promise.reject(new ToolError('interrupted')))]);
}

const PUB: ToolCommand = {
  words: 'bench pub',
  args: '<subject>',
  summary: 'publish as fast as the server takes it',
  connects: true,
  flags: COMMON_FLAGS,
  async run(inv) {
    const s = setup(inv.flags);
    const progress = new Progress('pub', s.msgs);
    const results = await Promise.all(shares(s.msgs, s.clients).map((n) => publisher(inv, s.subject, n, s.payload, progress)));
    progress.stop();
    return finish(inv, s, 'pub', [groupReport('pub', results)]);
  },
};

const SUB: ToolCommand = {
  words: 'bench sub',
  args: '<subject>',
  summary: 'receive --msgs messages per subscriber (publish them from elsewhere)',
  connects: true,
  flags: COMMON_FLAGS,
  async run(inv) {
    const s = setup(inv.flags);
    const progress = new Progress('sub', s.msgs * s.clients);
    const subs = await Promise.all(Array.from({ length: s.clients }, () => subscriber(inv, s.subject, s.msgs, progress)));
    inv.out.note(`Waiting for ${s.msgs} messages on ${JSON.stringify(s.subject)}`);
    const results = await untilInterrupted(inv, Promise.all(subs.map((x) => x.done)));
    progress.stop();
    return finish(inv, s, 'sub', [groupReport('sub', results)]);
  },
};

const PUBSUB: ToolCommand = {
  words: 'bench pubsub',
  args: '<subject>',
  summary: 'publishers and subscribers together (every subscriber gets every message)',
  connects: true,
  flags: { ...COMMON_FLAGS, subs: { kind: 'string', help: 'subscribers (default 1)' } },
  async run(inv) {
    const s = setup(inv.flags);
    const subCount = inv.flags.int('subs', 1);
    if (subCount < 1) throw new ToolError('--subs must be at least 1');
    const progress = new Progress('pubsub', s.msgs * (1 + subCount));
    const subs = await Promise.all(Array.from({ length: subCount }, () => subscriber(inv, s.subject, s.msgs, progress)));
    const pubs = await Promise.all(shares(s.msgs, s.clients).map((n) => publisher(inv, s.subject, n, s.payload, progress)));
    const received = await untilInterrupted(inv, Promise.all(subs.map((x) => x.done)));
    progress.stop();
    return finish(inv, s, 'pubsub', [groupReport('pub', pubs), groupReport('sub', received)]);
  },
};

async function requester(inv: Invocation, subject: string, count: number, payload: Uint8Array, progress: Progress): Promise<ClientResult> {
  const conn = await inv.connect();
  const latenciesUs: number[] = [];
  const startMs = performance.now();
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    const reply = await conn.nc.request(subject, payload, { timeout: conn.settings.timeoutMs });
    latenciesUs.push(Math.round((performance.now() - t) * 1000));
    bytes += payload.length + reply.data.length;
    progress.done++;
  }
  return { msgs: count, bytes, startMs, endMs: performance.now(), latenciesUs };
}

/** A responder that echoes each request; `count` 0 serves until the connection closes. */
async function responder(inv: Invocation, subject: string, count: number, progress: Progress | null): Promise<{ done: Promise<ClientResult> }> {
  const conn = await inv.connect({ longRunning: count === 0 });
  let startMs = 0;
  let served = 0;
  let bytes = 0;
  let resolve: (r: ClientResult) => void = () => undefined;
  const done = new Promise<ClientResult>((r) => (resolve = r));
  conn.nc.subscribe(subject, {
    queue: 'natter-bench',
    ...(count > 0 ? { max: count } : {}),
    callback: (_err, m) => {
      if (served === 0) startMs = performance.now();
      m.respond(m.data);
      served++;
      bytes += m.data.length;
      if (progress) progress.done++;
      if (served === count) resolve({ msgs: served, bytes, startMs, endMs: performance.now() });
    },
  });
  await conn.flushChecked();
  return { done };
}

const REQUEST: ToolCommand = {
  words: 'bench request',
  args: '<subject>',
  summary: 'request/reply round trips (--serve N starts N echo responders here; 0 uses an existing service)',
  connects: true,
  flags: { ...COMMON_FLAGS, serve: { kind: 'string', help: 'echo responders to start in this process (default 1)' } },
  async run(inv) {
    const s = setup(inv.flags);
    const serve = inv.flags.int('serve', 1);
    if (serve < 0) throw new ToolError('--serve must not be negative');
    for (let i = 0; i < serve; i++) await responder(inv, s.subject, 0, null);
    const progress = new Progress('request', s.msgs);
    const results = await untilInterrupted(inv, Promise.all(shares(s.msgs, s.clients).map((n) => requester(inv, s.subject, n, s.payload, progress))));
    progress.stop();
    return finish(inv, s, 'request', [groupReport('request', results)]);
  },
};

const REPLY: ToolCommand = {
  words: 'bench reply',
  args: '<subject>',
  summary: 'echo --msgs requests (for `natter bench request --serve 0` elsewhere)',
  connects: true,
  flags: COMMON_FLAGS,
  async run(inv) {
    const s = setup(inv.flags);
    const progress = new Progress('reply', s.msgs);
    const servers = await Promise.all(shares(s.msgs, s.clients).map((n) => responder(inv, s.subject, n, progress)));
    inv.out.note(`Answering ${s.msgs} requests on ${JSON.stringify(s.subject)}`);
    const results = await untilInterrupted(inv, Promise.all(servers.map((x) => x.done)));
    progress.stop();
    return finish(inv, s, 'reply', [groupReport('reply', results)]);
  },
};

const JS_FLAGS = {
  ...COMMON_FLAGS,
  stream: { kind: 'string', help: 'stream name (default natter-bench)' },
  storage: { kind: 'string', help: 'file or memory, when the stream is created (default file)' },
  purge: { kind: 'boolean', help: 'purge the stream first' },
  batch: { kind: 'string', help: 'publishes in flight per client before waiting for their acks (default 100)' },
} as const;

function streamName(flags: Flags): string {
  return flags.str('stream') ?? 'natter-bench';
}

function isNotFound(e: unknown): boolean {
  return e instanceof JetStreamApiError && e.status === 404;
}

const JS_PUB: ToolCommand = {
  words: 'bench js-pub',
  args: '<subject>',
  summary: 'JetStream publishes with acks (creates the stream if it is missing)',
  connects: true,
  flags: JS_FLAGS,
  async run(inv) {
    const s = setup(inv.flags);
    const name = streamName(inv.flags);
    const batch = inv.flags.int('batch', 100);
    if (batch < 1) throw new ToolError('--batch must be at least 1');
    const storage = choice(inv.flags.str('storage'), 'storage', ['file', 'memory'] as const) ?? 'file';
    const admin = await inv.connect();
    const jsm = await jetstreamManager(admin.nc, { timeout: admin.settings.timeoutMs });
    try {
      await jsm.streams.info(name);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      await jsm.streams.add({ name, subjects: [s.subject], storage: storage === 'memory' ? StorageType.Memory : StorageType.File });
    }
    if (inv.flags.bool('purge')) await jsm.streams.purge(name);
    const progress = new Progress('js-pub', s.msgs);
    const results = await Promise.all(
      shares(s.msgs, s.clients).map(async (count): Promise<ClientResult> => {
        const conn = await inv.connect();
        const js = jetstream(conn.nc, { timeout: conn.settings.timeoutMs });
        const startMs = performance.now();
        let inFlight: Array<Promise<unknown>> = [];
        for (let i = 0; i < count; i++) {
          inFlight.push(js.publish(s.subject, s.payload).then(() => progress.done++));
          if (inFlight.length >= batch) {
            await Promise.all(inFlight);
            inFlight = [];
          }
        }
        await Promise.all(inFlight);
        return { msgs: count, bytes: count * s.payload.length, startMs, endMs: performance.now() };
      }),
    );
    progress.stop();
    return finish(inv, s, 'js-pub', [groupReport('js-pub', results)]);
  },
};

const JS_CONSUME: ToolCommand = {
  words: 'bench js-consume',
  args: '',
  summary: 'read a stream through one pull consumer shared by the clients (run js-pub first)',
  connects: true,
  flags: JS_FLAGS,
  async run(inv) {
    const s = setup(inv.flags, false);
    const name = streamName(inv.flags);
    const admin = await inv.connect();
    const jsm = await jetstreamManager(admin.nc, { timeout: admin.settings.timeoutMs });
    const si = await jsm.streams.info(name);
    const total = Math.min(s.msgs, si.state.messages);
    if (total === 0) throw new ToolError(`stream ${name} has no messages; fill it first (natter bench js-pub <subject> --stream ${name})`);
    const durable = `natter-bench-${process.pid}`;
    await jsm.consumers.add(name, { durable_name: durable, ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All });
    const progress = new Progress('js-consume', total);
    try {
      const results = await untilInterrupted(
        inv,
        Promise.all(
          Array.from({ length: s.clients }, async (): Promise<ClientResult> => {
            const conn = await inv.connect();
            const consumer = await jetstream(conn.nc, { timeout: conn.settings.timeoutMs }).consumers.get(name, durable);
            const startMs = performance.now();
            let msgs = 0;
            let bytes = 0;
            while (progress.done < total) {
              const batch = await consumer.fetch({ max_messages: Math.min(500, total - progress.done), expires: 1000 });
              for await (const m of batch) {
                msgs++;
                bytes += m.data.length;
                progress.done++;
              }
            }
            return { msgs, bytes, startMs, endMs: performance.now() };
          }),
        ),
      );
      progress.stop();
      return finish(inv, { ...s, subject: name, msgs: total }, 'js-consume', [groupReport('js-consume', results)]);
    } finally {
      await jsm.consumers.delete(name, durable).catch(() => undefined);
    }
  },
};

const KV_FLAGS = {
  ...COMMON_FLAGS,
  bucket: { kind: 'string', help: 'bucket name (default natter-bench, created if missing)' },
  keys: { kind: 'string', help: 'distinct keys used (default 100)' },
} as const;

async function openBenchBucket(inv: Invocation, flags: Flags, create: boolean): Promise<KV> {
  const conn = await inv.connect();
  const kvm = new Kvm(conn.nc);
  const bucket = flags.str('bucket') ?? 'natter-bench';
  try {
    return await openBucket(kvm, bucket);
  } catch (e) {
    if (!create || !(e instanceof ToolError)) throw e;
    return kvm.create(bucket, { history: 1 });
  }
}

function kvBench(kind: 'put' | 'get'): ToolCommand {
  return {
    words: `bench kv-${kind}`,
    args: '',
    summary: kind === 'put' ? 'KV puts, one at a time per client (creates the bucket)' : 'KV gets of the keys kv-put wrote',
    connects: true,
    flags: KV_FLAGS,
    async run(inv) {
      const s = setup(inv.flags, false);
      const keys = inv.flags.int('keys', 100);
      if (keys < 1) throw new ToolError('--keys must be at least 1');
      await openBenchBucket(inv, inv.flags, kind === 'put');
      const progress = new Progress(`kv-${kind}`, s.msgs);
      const results = await untilInterrupted(
        inv,
        Promise.all(
          shares(s.msgs, s.clients).map(async (count, client): Promise<ClientResult> => {
            const kv = await openBenchBucket(inv, inv.flags, false);
            const latenciesUs: number[] = [];
            let bytes = 0;
            const startMs = performance.now();
            for (let i = 0; i < count; i++) {
              const key = `key-${(client * count + i) % keys}`;
              const t = performance.now();
              if (kind === 'put') {
                await kv.put(key, s.payload);
                bytes += s.payload.length;
              } else bytes += (await kv.get(key))?.length ?? 0;
              latenciesUs.push(Math.round((performance.now() - t) * 1000));
              progress.done++;
            }
            return { msgs: count, bytes, startMs, endMs: performance.now(), latenciesUs };
          }),
        ),
      );
      progress.stop();
      return finish(inv, { ...s, subject: inv.flags.str('bucket') ?? 'natter-bench' }, `kv-${kind}`, [groupReport(`kv-${kind}`, results)]);
    },
  };
}

export const BENCH_COMMANDS: readonly ToolCommand[] = [PUB, SUB, PUBSUB, REQUEST, REPLY, JS_PUB, JS_CONSUME, kvBench('put'), kvBench('get')];
