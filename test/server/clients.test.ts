/**
 * Official NATS clients from npm against an embedded Natter: the v3 client
 * (@nats-io/transport-node) and the v2 client (nats). Both run the same
 * scenarios through a thin adapter; only error types differ.
 */
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import * as v3 from '@nats-io/transport-node';
import * as v2 from 'nats';
import type { StartOptions } from '../../src/index.js';
import { TARGETS, type RunningTarget } from '../helpers/targets.js';
import { freePort } from '../helpers/ports.js';
import { sleep, waitUntil } from '../helpers/wait.js';
import { RawSession } from '../helpers/session.js';

// ---- a minimal structural view shared by both client generations -------------

interface Hdrs {
  set(k: string, v: string): void;
  append(k: string, v: string): void;
  get(k: string): string;
  values(k: string): string[];
  readonly code?: number;
}

interface Msg {
  readonly subject: string;
  readonly reply?: string;
  readonly data: Uint8Array;
  readonly headers?: Hdrs;
  string(): string;
  respond(data?: string | Uint8Array, opts?: { headers?: Hdrs }): boolean;
}

interface Sub extends AsyncIterable<Msg> {
  unsubscribe(max?: number): void;
  getProcessed(): number;
  isClosed(): boolean;
}

interface Conn {
  readonly info?: { max_payload: number; headers?: boolean };
  publish(subject: string, data?: string | Uint8Array, opts?: { reply?: string; headers?: Hdrs }): void;
  subscribe(subject: string, opts?: { queue?: string; max?: number; callback?: (err: Error | null, msg: Msg) => void }): Sub;
  request(subject: string, data?: string | Uint8Array, opts?: { timeout?: number; noMux?: boolean; headers?: Hdrs }): Promise<Msg>;
  flush(): Promise<void>;
  drain(): Promise<void>;
  close(): Promise<void>;
  closed(): Promise<void | Error>;
  isClosed(): boolean;
  status(): AsyncIterable<{ type: string }>;
}

interface ConnectOpts {
  servers: string;
  user?: string;
  pass?: string;
  token?: string;
  noEcho?: boolean;
  name?: string;
  reconnect?: boolean;
  reconnectTimeWait?: number;
  maxReconnectAttempts?: number;
  timeout?: number;
}

interface ClientLib {
  name: string;
  connect(opts: ConnectOpts): Promise<Conn>;
  headers(): Hdrs;
  isNoResponders(err: unknown): boolean;
  isAuthError(err: unknown): boolean;
  isMaxPayloadError(err: unknown): boolean;
}

const LIBS: ClientLib[] = [
  {
    name: '@nats-io/transport-node v3',
    connect: (o) => v3.connect(o) as unknown as Promise<Conn>,
    headers: () => v3.headers() as unknown as Hdrs,
    isNoResponders: (e) => e instanceof v3.errors.RequestError && e.isNoResponders(),
    isAuthError: (e) => e instanceof v3.errors.AuthorizationError,
    isMaxPayloadError: (e) => e instanceof v3.errors.InvalidArgumentError && /max_payload/.test(e.message),
  },
  {
    name: 'nats v2',
    connect: (o) => v2.connect(o) as unknown as Promise<Conn>,
    headers: () => v2.headers() as unknown as Hdrs,
    isNoResponders: (e) => e instanceof v2.NatsError && e.code === v2.ErrorCode.NoResponders,
    isAuthError: (e) => e instanceof v2.NatsError && e.code === v2.ErrorCode.AuthorizationViolation,
    isMaxPayloadError: (e) => e instanceof v2.NatsError && e.code === v2.ErrorCode.MaxPayloadExceeded,
  },
];

/** Subscribes with a callback that records every message. */
function record(nc: Conn, subject: string, opts: { queue?: string; max?: number } = {}): { sub: Sub; msgs: Msg[] } {
  const msgs: Msg[] = [];
  const sub = nc.subscribe(subject, { ...opts, callback: (err, m) => { if (!err) msgs.push(m); } });
  return { sub, msgs };
}

/** After a flush on each side, everything published before is in the subscribers' hands. */
async function settle(...conns: Conn[]): Promise<void> {
  for (const c of conns) await c.flush();
}

/** Records the status events a connection reports. */
function watchStatus(nc: Conn): Set<string> {
  const seen = new Set<string>();
  void (async () => {
    for await (const s of nc.status()) seen.add(s.type);
  })().catch(() => undefined);
  return seen;
}

// Natter is the server under test; the same scenarios also run against
// nats-server 2.9.10 first, which proves each expectation is the reference's.
for (const target of TARGETS) {
  for (const lib of LIBS) {
    describe(`client ${lib.name} -> ${target.name}`, () => {
      const startTarget = (opts: StartOptions = {}): Promise<RunningTarget> => target.start(opts);
      let srv: RunningTarget;
      const open: Conn[] = [];
      const connect = async (o: Partial<ConnectOpts> = {}): Promise<Conn> => {
        const nc = await lib.connect({ servers: srv.url, reconnect: false, ...o });
        open.push(nc);
        return nc;
      };

      before(async () => {
        srv = await startTarget();
      });
      afterEach(async () => {
        await Promise.allSettled(open.splice(0).map((nc) => (nc.isClosed() ? Promise.resolve() : nc.close())));
      });
      after(async () => {
        await srv?.stop();
      });

      it('pub/sub delivers in order with subject and payload', async () => {
        const a = await connect();
        const b = await connect();
        const { msgs } = record(a, 'greet.one');
        await a.flush();
        b.publish('greet.one', 'hello');
        b.publish('greet.one', '');
        b.publish('greet.one', new Uint8Array([0, 1, 2, 255]));
        b.publish('greet.other', 'not for a');
        await settle(b, a);
        assert.deepEqual(msgs.map((m) => m.subject), ['greet.one', 'greet.one', 'greet.one']);
        assert.equal(msgs[0].string(), 'hello');
        assert.equal(msgs[1].data.length, 0);
        assert.deepEqual([...msgs[2].data], [0, 1, 2, 255]);
      });

      it('* and > wildcards', async () => {
        const a = await connect();
        const star = record(a, 'w.*');
        const gt = record(a, 'w.>');
        const mid = record(a, 'w.*.c');
        await a.flush();
        for (const s of ['w.a', 'w.a.b', 'w.b', 'w.a.c', 'x.y', 'w']) a.publish(s, s);
        await settle(a);
        assert.deepEqual(star.msgs.map((m) => m.subject), ['w.a', 'w.b']);
        assert.deepEqual(gt.msgs.map((m) => m.subject), ['w.a', 'w.a.b', 'w.b', 'w.a.c']);
        assert.deepEqual(mid.msgs.map((m) => m.subject), ['w.a.c']);
      });

      it('queue groups: one delivery per group per message, spread over members', async () => {
        const members = await Promise.all([connect(), connect(), connect()]);
        const other = await connect();
        const recs = members.map((nc) => record(nc, 'work', { queue: 'workers' }));
        const second = record(other, 'work', { queue: 'auditors' });
        const plain = record(other, 'work');
        await settle(...members, other);
        const pub = await connect();
        const N = 90;
        for (let i = 0; i < N; i++) pub.publish('work', String(i));
        await settle(pub, ...members, other);
        const got = recs.flatMap((r) => r.msgs.map((m) => Number(m.string())));
        assert.deepEqual([...got].sort((x, y) => x - y), Array.from({ length: N }, (_, i) => i), 'each message exactly once in the group');
        for (const [i, r] of recs.entries()) assert.ok(r.msgs.length > 0, `member ${i} got nothing: no spreading`);
        assert.equal(second.msgs.length, N, 'a second group gets every message too');
        assert.equal(plain.msgs.length, N, 'a plain subscriber gets every message');
      });

      it('request/reply, concurrent requests over the muxed inbox, and noMux', async () => {
        const svc = await connect();
        const replies: string[] = [];
        svc.subscribe('svc.echo', {
          callback: (_e, m) => {
            if (m.reply) replies.push(m.reply);
            m.respond(`echo:${m.string()}`);
          },
        });
        await svc.flush();
        const nc = await connect();
        const one = await nc.request('svc.echo', 'hi', { timeout: 2000 });
        assert.equal(one.string(), 'echo:hi');
        const many = await Promise.all(Array.from({ length: 20 }, (_, i) => nc.request('svc.echo', `n${i}`, { timeout: 2000 })));
        assert.deepEqual(many.map((m) => m.string()), Array.from({ length: 20 }, (_, i) => `echo:n${i}`));
        // The muxed requests share one inbox prefix and differ in the last token.
        const muxed = replies.slice(1, 21);
        const prefixes = new Set(muxed.map((r) => r.slice(0, r.lastIndexOf('.'))));
        assert.equal(prefixes.size, 1, `muxed replies: ${muxed.join(', ')}`);
        assert.equal(new Set(muxed).size, 20);
        assert.match(muxed[0], /^_INBOX\./);
        const solo = await nc.request('svc.echo', 'solo', { timeout: 2000, noMux: true });
        assert.equal(solo.string(), 'echo:solo');
      });

      it('headers round trip, with multi-value headers, including over request/reply', async () => {
        const a = await connect();
        const { msgs } = record(a, 'hdr.pub');
        a.subscribe('hdr.svc', {
          callback: (_e, m) => {
            const h = lib.headers();
            h.set('X-Reply', `to-${m.headers?.get('X-Req') ?? 'none'}`);
            h.append('X-Many', '1');
            h.append('X-Many', '2');
            m.respond('ok', { headers: h });
          },
        });
        await a.flush();
        // A raw subscriber sees the HMSG frame itself.
        const raw = await RawSession.connect(srv.port);
        try {
          await raw.request('CONNECT {"verbose":false,"headers":true}\r\nSUB hdr.pub 5\r\nPING\r\n', 'PONG\r\n');
          const b = await connect();
          const h = lib.headers();
          h.set('X-One', '1');
          h.append('X-Multi', 'a');
          h.append('X-Multi', 'b');
          b.publish('hdr.pub', 'body', { headers: h });
          await settle(b, a);
          assert.equal(msgs.length, 1);
          assert.equal(msgs[0].string(), 'body');
          assert.equal(msgs[0].headers?.get('X-One'), '1');
          assert.deepEqual(msgs[0].headers?.values('X-Multi'), ['a', 'b']);
          const frame = await raw.until((s) => s.includes('body\r\n'));
          const m = /^HMSG hdr\.pub 5 (\d+) (\d+)\r\nNATS\/1\.0\r\n/.exec(frame);
          assert.ok(m, `not an HMSG frame: ${JSON.stringify(frame)}`);
          const hdrLen = Number(m[1]);
          const total = Number(m[2]);
          assert.equal(total - hdrLen, 4);
          const headerBlock = frame.slice(frame.indexOf('\r\n') + 2, frame.indexOf('\r\n') + 2 + hdrLen);
          assert.ok(headerBlock.endsWith('\r\n\r\n'));
          assert.ok(headerBlock.includes('X-Multi: a\r\nX-Multi: b\r\n'), headerBlock);
          const rh = lib.headers();
          rh.set('X-Req', '42');
          const reply = await b.request('hdr.svc', 'q', { headers: rh, timeout: 2000 });
          assert.equal(reply.string(), 'ok');
          assert.equal(reply.headers?.get('X-Reply'), 'to-42');
          assert.deepEqual(reply.headers?.values('X-Many'), ['1', '2']);
        } finally {
          raw.close();
        }
      });

      it('no responders: the request fails at once with the 503 error', async () => {
        const nc = await connect();
        const t0 = Date.now();
        await assert.rejects(nc.request('nobody.home', 'x', { timeout: 3000 }), (e: unknown) => lib.isNoResponders(e));
        assert.ok(Date.now() - t0 < 1500, 'no responders should not wait for the timeout');
        await assert.rejects(nc.request('nobody.home', 'x', { timeout: 3000, noMux: true }), (e: unknown) => lib.isNoResponders(e));
      });

      it('noEcho (CONNECT echo:false): no self-delivery, others still receive', async () => {
        const quiet = await connect({ noEcho: true });
        const other = await connect();
        const self = record(quiet, 'echo.t');
        const peer = record(other, 'echo.t');
        await settle(quiet, other);
        for (let i = 0; i < 3; i++) quiet.publish('echo.t', `m${i}`);
        await settle(quiet, other);
        assert.equal(self.msgs.length, 0);
        assert.deepEqual(peer.msgs.map((m) => m.string()), ['m0', 'm1', 'm2']);
      });

      it('auto-unsubscribe after max ({max} and sub.unsubscribe(n)); the server forgets the interest', async () => {
        const nc = await connect();
        const byOpt = nc.subscribe('au.opt', { max: 3 });
        const byCall = nc.subscribe('au.call');
        byCall.unsubscribe(2);
        await nc.flush();
        const pub = await connect();
        for (let i = 0; i < 5; i++) {
          pub.publish('au.opt', `o${i}`);
          pub.publish('au.call', `c${i}`);
        }
        await settle(pub, nc);
        const got: string[] = [];
        for await (const m of byOpt) got.push(m.string());
        assert.deepEqual(got, ['o0', 'o1', 'o2']);
        const got2: string[] = [];
        for await (const m of byCall) got2.push(m.string());
        assert.deepEqual(got2, ['c0', 'c1']);
        assert.equal(byOpt.isClosed(), true);
        // Nobody is subscribed any more as far as the server is concerned.
        await assert.rejects(pub.request('au.opt', '', { timeout: 2000 }), (e: unknown) => lib.isNoResponders(e));
        await assert.rejects(pub.request('au.call', '', { timeout: 2000 }), (e: unknown) => lib.isNoResponders(e));
      });

      it('drain processes what is in flight, then closes', async () => {
        const nc = await connect();
        const sub = nc.subscribe('drain.t');
        let processed = 0;
        const done = (async () => {
          for await (const _m of sub) {
            await sleep(1);
            processed++;
          }
        })();
        await nc.flush();
        const pub = await connect();
        for (let i = 0; i < 100; i++) pub.publish('drain.t', String(i));
        await settle(pub, nc);
        await nc.drain();
        await done;
        assert.equal(processed, 100);
        assert.equal(nc.isClosed(), true);
        assert.equal(await nc.closed(), undefined, 'closed without error');
      });

      it('flush: once it resolves the server has processed every earlier publish', async () => {
        const a = await connect();
        const { msgs } = record(a, 'fl.t');
        await a.flush();
        const b = await connect();
        for (let i = 0; i < 500; i++) b.publish('fl.t', String(i));
        await b.flush();
        await a.flush();
        assert.equal(msgs.length, 500);
        assert.equal(msgs[499].string(), '499');
      });

      it('large payloads near 1 MiB, both ways', async () => {
        const nc = await connect();
        assert.equal(nc.info?.max_payload, 1024 * 1024);
        const size = 1024 * 1024 - 256;
        const big = new Uint8Array(size);
        for (let i = 0; i < size; i++) big[i] = (i * 31 + 7) & 0xff;
        const { msgs } = record(nc, 'big.t');
        nc.subscribe('big.svc', { callback: (_e, m) => m.respond(m.data.slice().reverse()) });
        await nc.flush();
        const pub = await connect();
        pub.publish('big.t', big);
        pub.publish('big.t', big.subarray(0, 1000));
        await settle(pub, nc);
        assert.equal(msgs.length, 2);
        assert.ok(Buffer.from(msgs[0].data).equals(Buffer.from(big)), 'large payload corrupted');
        assert.equal(msgs[1].data.length, 1000);
        const r = await pub.request('big.svc', big, { timeout: 5000 });
        assert.ok(Buffer.from(r.data).equals(Buffer.from(big.slice().reverse())), 'large reply corrupted');
      });

      it('max_payload from INFO: the client refuses a bigger publish; the connection stays usable', async () => {
        const small = await startTarget({ max_payload: 1024 });
        try {
          const nc = await lib.connect({ servers: small.url, reconnect: false });
          open.push(nc);
          assert.equal(nc.info?.max_payload, 1024);
          const { msgs } = record(nc, 'mp.t');
          await nc.flush();
          assert.throws(() => nc.publish('mp.t', new Uint8Array(1025)), (e: unknown) => lib.isMaxPayloadError(e));
          nc.publish('mp.t', new Uint8Array(1024));
          await nc.flush();
          assert.equal(msgs.length, 1);
          assert.equal(msgs[0].data.length, 1024);
          assert.equal(nc.isClosed(), false);
          await nc.close();
        } finally {
          await small.stop();
        }
      });

      it('user/password authentication: good works, bad and missing are refused', async () => {
        const sec = await startTarget({ authorization: { user: 'alice', password: 'wonder land' } });
        try {
          const ok = await lib.connect({ servers: sec.url, user: 'alice', pass: 'wonder land', reconnect: false });
          open.push(ok);
          const r = await ok.request('nobody', '', { timeout: 2000 }).catch((e: unknown) => e);
          assert.ok(lib.isNoResponders(r), 'an authenticated client works');
          await assert.rejects(lib.connect({ servers: sec.url, user: 'alice', pass: 'wrong', reconnect: false }), (e: unknown) => lib.isAuthError(e));
          await assert.rejects(lib.connect({ servers: sec.url, user: 'mallory', pass: 'wonder land', reconnect: false }), (e: unknown) => lib.isAuthError(e));
          await assert.rejects(lib.connect({ servers: sec.url, reconnect: false }), (e: unknown) => lib.isAuthError(e));
          await ok.close();
        } finally {
          await sec.stop();
        }
      });

      it('token authentication: good works, bad is refused', async () => {
        const sec = await startTarget({ authorization: { token: 's3cr3t-t0ken' } });
        try {
          const ok = await lib.connect({ servers: sec.url, token: 's3cr3t-t0ken', reconnect: false });
          open.push(ok);
          await ok.flush();
          await assert.rejects(lib.connect({ servers: sec.url, token: 'nope', reconnect: false }), (e: unknown) => lib.isAuthError(e));
          await assert.rejects(lib.connect({ servers: sec.url, user: 's3cr3t-t0ken', pass: 'x', reconnect: false }), (e: unknown) => lib.isAuthError(e));
          await ok.close();
        } finally {
          await sec.stop();
        }
      });

      it('reconnects after the server restarts on the same port and resubscribes', async () => {
        const port = await freePort();
        let s1: RunningTarget | null = await startTarget({ port });
        let s2: RunningTarget | null = null;
        try {
          const nc = await lib.connect({ servers: `nats://127.0.0.1:${port}`, reconnect: true, reconnectTimeWait: 50, maxReconnectAttempts: -1 });
          open.push(nc);
          const seen = watchStatus(nc);
          const { msgs } = record(nc, 're.t');
          nc.publish('re.t', 'before');
          await nc.flush();
          assert.deepEqual(msgs.map((m) => m.string()), ['before']);
          await s1.stop();
          s1 = null;
          await waitUntil(() => seen.has('disconnect'), 5000, 'a disconnect status');
          s2 = await startTarget({ port });
          await waitUntil(() => seen.has('reconnect'), 5000, 'a reconnect status');
          // The subscription was replayed to the new server.
          const other = await lib.connect({ servers: s2.url, reconnect: false });
          open.push(other);
          other.publish('re.t', 'after');
          await settle(other, nc);
          assert.deepEqual(msgs.map((m) => m.string()), ['before', 'after']);
          assert.equal(nc.isClosed(), false);
        } finally {
          await Promise.allSettled(open.splice(0).map((c) => c.close()));
          await s1?.stop();
          await s2?.stop();
        }
      });
    });
  }
}
