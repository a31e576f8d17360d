/**
 * One list of client-behaviour cases, run over TCP (@nats-io/transport-node)
 * and over WebSocket (@nats-io/nats-core's wsconnect), against Natter and
 * against nats-server 2.9.10 with the same configuration: what a client
 * observes must not depend on the transport, nor on which server it talks
 * to. This stands in for the official nats.js WebSocket test mode and
 * nats.py's websocket tests, which are not published to any registry this
 * project can install from (the npm packages ship no tests).
 *
 * Each case returns what the client observed, as plain data; for every
 * case the four runs (Natter and nats-server, each over TCP and WebSocket)
 * must return the same thing, and that thing what the case expects.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { headers, RequestError, wsconnect, type ConnectionOptions, type NatsConnection, type Status } from '@nats-io/nats-core';
import { connect as tcpConnect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, AckPolicy } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { closeAllNatter, startNatter, type TestNatter } from '../helpers/natter.js';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';
import { removeDir, tempStoreDir } from '../helpers/jetstream.js';
import { freePort, waitForListen } from '../helpers/ports.js';
import { waitUntil } from '../helpers/wait.js';
import { installWebSocketGlobal } from './helpers.js';

const MAX_PAYLOAD = 32 * 1024;

/** The same configuration for both servers: two users (one limited), JetStream, a small max_payload, a websocket listener. */
const USERS = [
  { user: 'a', password: 'a' },
  { user: 'lim', password: 'lim', permissions: { publish: { allow: ['ok.>'] }, subscribe: { allow: ['ok.>', '_INBOX.>'] } } },
];

function natsConf(port: number, wsPort: number, storeDir: string): string {
  return `port: ${port}
max_payload: ${MAX_PAYLOAD}
jetstream { store_dir: "${storeDir}" }
websocket { port: ${wsPort}, no_tls: true }
authorization { users: ${JSON.stringify(USERS)} }
`;
}

/** A server under test: where each transport connects, and how to stop it (and start it again on the same ports). */
interface Target {
  readonly name: string;
  url(transport: Transport): string;
  restart(): Promise<void>;
  close(): Promise<void>;
}

async function natterTarget(): Promise<Target> {
  const port = await freePort();
  const wsPort = await freePort();
  const storeDir = tempStoreDir();
  const start = (): Promise<TestNatter> => startNatter({
    port,
    max_payload: MAX_PAYLOAD,
    jetstream: { store_dir: storeDir },
    websocket: { port: wsPort, no_tls: true },
    authorization: { users: USERS },
  });
  let srv = await start();
  return {
    name: 'natter',
    url: (t) => (t.name === 'tcp' ? `nats://127.0.0.1:${port}` : `ws://127.0.0.1:${wsPort}`),
    restart: async () => {
      await srv.close();
      srv = await start();
    },
    close: async () => {
      await srv.close();
      removeDir(storeDir);
    },
  };
}

async function natsServerTarget(): Promise<Target> {
  const port = await freePort();
  const wsPort = await freePort();
  const storeDir = tempStoreDir();
  const start = async (): Promise<NatsServerHandle> => {
    const s = await startNatsServer({ port, config: natsConf(port, wsPort, storeDir), readyWhen: 'logged' });
    await waitForListen(wsPort);
    return s;
  };
  let srv = await start();
  return {
    name: 'nats-server',
    url: (t) => (t.name === 'tcp' ? `nats://127.0.0.1:${port}` : `ws://127.0.0.1:${wsPort}`),
    restart: async () => {
      await srv.stop();
      srv = await start();
    },
    close: async () => {
      await srv.stop();
      removeDir(storeDir);
    },
  };
}

interface Transport {
  readonly name: 'tcp' | 'websocket';
  connect(opts: ConnectionOptions): Promise<NatsConnection>;
}

const TRANSPORTS: readonly Transport[] = [
  { name: 'tcp', connect: (o) => tcpConnect(o) },
  { name: 'websocket', connect: (o) => wsconnect(o) },
];

/** What a case gets: a connection factory for one transport to one server (user `a` unless told otherwise), and a subject prefix of its own. */
interface Run {
  readonly target: Target;
  readonly transport: Transport;
  /** Unique per run, so runs on one server never see each other's messages or streams. */
  readonly id: string;
  connect(opts?: ConnectionOptions): Promise<NatsConnection>;
}

interface Case {
  readonly name: string;
  readonly expected: unknown;
  run(r: Run): Promise<unknown>;
}

/** The first `n` payloads on `subject`, as text. */
async function collect(nc: NatsConnection, subject: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for await (const m of nc.subscribe(subject, { max: n })) out.push(m.string());
  return out;
}

/** The server errors a connection reports, as their messages. */
function serverErrors(nc: NatsConnection): string[] {
  const errors: string[] = [];
  void (async () => {
    for await (const s of nc.status() as AsyncIterable<Status>) if (s.type === 'error') errors.push(s.error.message);
  })();
  return errors;
}

async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
  return 'resolved';
}

const CASES: readonly Case[] = [
  {
    name: 'connect: what INFO tells the client',
    expected: { proto: 1, headers: true, max_payload: MAX_PAYLOAD, jetstream: true, auth_required: true, tls_required: false },
    async run(r) {
      const nc = await r.connect();
      const i = nc.info;
      await nc.close();
      return { proto: i?.proto, headers: i?.headers, max_payload: i?.max_payload, jetstream: i?.jetstream === true, auth_required: i?.auth_required === true, tls_required: i?.tls_required === true };
    },
  },
  {
    name: 'publish and subscribe, in order',
    expected: ['m0', 'm1', 'm2', 'm3', 'm4'],
    async run(r) {
      const nc = await r.connect();
      const got = collect(nc, `${r.id}.ps`, 5);
      await nc.flush();
      for (let i = 0; i < 5; i++) nc.publish(`${r.id}.ps`, `m${i}`);
      const out = await got;
      await nc.close();
      return out;
    },
  },
  {
    name: 'wildcards: * matches one token, > the rest',
    expected: { star: ['w.a'], rest: ['w.a', 'w.a.b'] },
    async run(r) {
      const nc = await r.connect();
      const star: string[] = [];
      const rest: string[] = [];
      const strip = (s: string): string => s.slice(r.id.length + 1);
      nc.subscribe(`${r.id}.w.*`, { callback: (_e, m) => { star.push(strip(m.subject)); } });
      nc.subscribe(`${r.id}.w.>`, { callback: (_e, m) => { rest.push(strip(m.subject)); } });
      await nc.flush();
      nc.publish(`${r.id}.w.a`);
      nc.publish(`${r.id}.w.a.b`);
      await nc.flush();
      await waitUntil(() => rest.length === 2, 3000, 'wildcard deliveries');
      await nc.close();
      return { star, rest };
    },
  },
  {
    name: 'queue group: each message to one member, both members served',
    expected: { total: 200, bothServed: true },
    async run(r) {
      const a = await r.connect();
      const b = await r.connect();
      let na = 0;
      let nb = 0;
      a.subscribe(`${r.id}.q`, { queue: 'workers', callback: () => { na++; } });
      b.subscribe(`${r.id}.q`, { queue: 'workers', callback: () => { nb++; } });
      await a.flush();
      await b.flush();
      for (let i = 0; i < 200; i++) a.publish(`${r.id}.q`);
      await waitUntil(() => na + nb >= 200, 5000, 'queue deliveries');
      await a.flush();
      await b.flush();
      await a.close();
      await b.close();
      return { total: na + nb, bothServed: na > 0 && nb > 0 };
    },
  },
  {
    name: 'request/reply through an inbox',
    expected: { answer: 're:ping', inbox: true },
    async run(r) {
      const svc = await r.connect();
      const cli = await r.connect();
      let inbox = false;
      svc.subscribe(`${r.id}.svc`, {
        callback: (_e, m) => {
          inbox = (m.reply ?? '').startsWith('_INBOX.');
          m.respond(`re:${m.string()}`);
        },
      });
      await svc.flush();
      const answer = (await cli.request(`${r.id}.svc`, 'ping', { timeout: 3000 })).string();
      await svc.close();
      await cli.close();
      return { answer, inbox };
    },
  },
  {
    name: 'headers cross intact, repeated keys included',
    expected: { one: '1', many: ['x', 'y'], payload: 'body' },
    async run(r) {
      const nc = await r.connect();
      const got = (async () => {
        for await (const m of nc.subscribe(`${r.id}.h`, { max: 1 })) return m;
        throw new Error('no message');
      })();
      await nc.flush();
      const h = headers();
      h.set('X-One', '1');
      h.append('X-Many', 'x');
      h.append('X-Many', 'y');
      nc.publish(`${r.id}.h`, 'body', { headers: h });
      const m = await got;
      await nc.close();
      return { one: m.headers?.get('X-One'), many: m.headers?.values('X-Many'), payload: m.string() };
    },
  },
  {
    name: 'no responders: the request fails at once with the 503 status, not a timeout',
    expected: { error: 'RequestError', noResponders: true, fast: true },
    async run(r) {
      const nc = await r.connect();
      let out: unknown = 'resolved';
      const started = Date.now();
      try {
        await nc.request(`${r.id}.nobody`, '', { timeout: 3000 });
      } catch (e) {
        out = { error: (e as Error).name, noResponders: e instanceof RequestError && e.isNoResponders(), fast: Date.now() - started < 2000 };
      }
      await nc.close();
      return out;
    },
  },
  {
    name: 'drain: pending messages are handled, then the connection closes',
    expected: { handled: 100, closed: true },
    async run(r) {
      const sub = await r.connect();
      const pub = await r.connect();
      let handled = 0;
      sub.subscribe(`${r.id}.d`, { callback: () => { handled++; } });
      await sub.flush();
      for (let i = 0; i < 100; i++) pub.publish(`${r.id}.d`, 'x');
      await pub.flush();
      await waitUntil(() => handled > 0, 3000, 'the first delivery');
      await sub.drain();
      await pub.close();
      return { handled, closed: sub.isClosed() };
    },
  },
  {
    name: 'wrong password: authorization violation',
    expected: 'Authorization Violation',
    async run(r) {
      const why = await rejection(r.connect({ user: 'a', pass: 'wrong', maxReconnectAttempts: 0 }));
      return /Authorization Violation/i.test(why) ? 'Authorization Violation' : why;
    },
  },
  {
    name: 'a payload over max_payload is refused before it is sent',
    expected: { error: 'max_payload', stillOpen: true },
    async run(r) {
      const nc = await r.connect();
      let error = 'none';
      try {
        nc.publish(`${r.id}.big`, new Uint8Array(MAX_PAYLOAD + 1));
      } catch (e) {
        error = /max_payload|MAX_PAYLOAD/i.test((e as Error).message) ? 'max_payload' : (e as Error).message;
      }
      await nc.flush();
      const stillOpen = !nc.isClosed();
      await nc.close();
      return { error, stillOpen };
    },
  },
  {
    name: 'permissions: a denied publish and subscription are reported, the allowed ones work',
    expected: { errors: ['Permissions Violation for Publish to "no.x"', 'Permissions Violation for Subscription to "no.y"'], allowed: ['fine'] },
    async run(r) {
      const nc = await r.connect({ user: 'lim', pass: 'lim' });
      const errors = serverErrors(nc);
      nc.publish('no.x', 'denied');
      await nc.flush();
      await waitUntil(() => errors.length >= 1, 3000, 'the publish violation');
      const denied = nc.subscribe('no.y');
      const subClosed = denied.closed.catch(() => undefined);
      await nc.flush();
      await waitUntil(() => errors.length >= 2, 3000, 'the subscription violation');
      await subClosed;
      const got = collect(nc, `ok.${r.id}`, 1);
      await nc.flush();
      nc.publish(`ok.${r.id}`, 'fine');
      const allowed = await got;
      await nc.close();
      return { errors: errors.map((e) => e.replace(/^.*?(Permissions Violation)/i, '$1')), allowed };
    },
  },
  {
    name: 'JetStream: publish acked in sequence, a pull consumer fetches',
    expected: { seqs: [1, 2, 3], fetched: ['j0', 'j1', 'j2'], pending: 0 },
    async run(r) {
      const nc = await r.connect();
      const jsm = await jetstreamManager(nc);
      const stream = `S_${r.id}`;
      await jsm.streams.add({ name: stream, subjects: [`${r.id}.js.>`] });
      const js = jetstream(nc);
      const seqs: number[] = [];
      for (let i = 0; i < 3; i++) seqs.push((await js.publish(`${r.id}.js.x`, `j${i}`)).seq);
      await jsm.consumers.add(stream, { durable_name: 'reader', ack_policy: AckPolicy.Explicit });
      const consumer = await js.consumers.get(stream, 'reader');
      const fetched: string[] = [];
      for await (const m of await consumer.fetch({ max_messages: 3, expires: 3000 })) {
        fetched.push(m.string());
        await m.ackAck();
      }
      const pending = (await consumer.info()).num_pending;
      await jsm.streams.delete(stream);
      await nc.close();
      return { seqs, fetched, pending };
    },
  },
  {
    name: 'KV: put, get, update with the wrong revision, history, delete, keys',
    expected: { first: 1, value: 'v2', wrongRevision: 'refused', history: ['v1', 'v2'], keys: ['k2'] },
    async run(r) {
      const nc = await r.connect();
      const kv = await new Kvm(nc).create(`kv_${r.id}`, { history: 5 });
      const first = await kv.put('k', 'v1');
      await kv.put('k', 'v2');
      await kv.put('k2', 'other');
      const value = (await kv.get('k'))?.string();
      const wrongRevision = (await rejection(kv.update('k', 'v3', first))) === 'resolved' ? 'accepted' : 'refused';
      const history: string[] = [];
      for await (const e of await kv.history({ key: 'k' })) history.push(e.string());
      await kv.delete('k');
      const keys: string[] = [];
      for await (const k of await kv.keys()) keys.push(k);
      await kv.destroy();
      await nc.close();
      return { first, value, wrongRevision, history, keys: keys.sort() };
    },
  },
  {
    name: 'reconnect after a server restart: the subscription resumes',
    expected: { reconnected: true, after: ['after'] },
    async run(r) {
      const nc = await r.connect({ maxReconnectAttempts: -1, reconnectTimeWait: 100, reconnectJitter: 0 });
      let reconnected = false;
      void (async () => {
        for await (const s of nc.status() as AsyncIterable<Status>) if (s.type === 'reconnect') reconnected = true;
      })();
      const got = collect(nc, `${r.id}.rc`, 1);
      await nc.flush();
      await r.target.restart();
      await waitUntil(() => reconnected, 10_000, 'the reconnect');
      // The client sends its subscriptions again on reconnect; a round trip makes sure the server has them.
      await nc.flush();
      const pub = await r.connect();
      pub.publish(`${r.id}.rc`, 'after');
      await pub.flush();
      const after = await got;
      await pub.close();
      await nc.close();
      return { reconnected, after };
    },
  },
];

let targets: Target[] = [];

before(async () => {
  installWebSocketGlobal();
  targets = [await natterTarget(), await natsServerTarget()];
});

after(async () => {
  await Promise.allSettled(targets.map((t) => t.close()));
  await closeAllNatter();
});

let runs = 0;

for (const c of CASES) {
  test(c.name, async () => {
    const results: Array<{ where: string; got: unknown }> = [];
    for (const target of targets) {
      for (const transport of TRANSPORTS) {
        const id = `c${++runs}${transport.name === 'tcp' ? 't' : 'w'}`;
        const run: Run = {
          target,
          transport,
          id,
          connect: (opts = {}) => transport.connect({ servers: target.url(transport), user: 'a', pass: 'a', ...opts }),
        };
        results.push({ where: `${target.name} over ${transport.name}`, got: await c.run(run) });
      }
    }
    for (const { where, got } of results) assert.deepEqual(got, c.expected, where);
  });
}

test('the cases ran against every server and transport', () => {
  assert.equal(targets.length, 2);
  assert.equal(runs, CASES.length * targets.length * TRANSPORTS.length);
});
