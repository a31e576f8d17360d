/**
 * Exact bytes over raw sockets. Every test runs against the reference
 * nats-server 2.9.10 first and then against Natter, with the same options, so
 * each expectation below is known to be nats-server's behaviour.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { StartOptions } from '../../src/index.js';
import { startNatter, withTimeout } from '../helpers/natter.js';
import { RawSession, countOf, withSession } from '../helpers/session.js';
import { TARGETS, type Target, type RunningTarget } from '../helpers/targets.js';
import { startNatsServer, natsConfigFor } from '../helpers/nats-server.js';
import { EXTENSION_INFO_FIELDS } from '../helpers/normalize.js';
import { Rng, randomChunks } from '../helpers/random.js';
import { sleep } from '../helpers/wait.js';

const Q = 'CONNECT {"verbose":false}\r\n';
const QH = 'CONNECT {"verbose":false,"headers":true}\r\n';

/** The INFO fields nats-server 2.9.10 sends to a client of a plain server. */
const INFO_FIELDS = ['server_id', 'server_name', 'version', 'proto', 'go', 'host', 'port', 'headers', 'max_payload', 'client_id', 'client_ip'];

/** Starts a server of `target` for one test and always stops it. */
async function withServer<T>(target: Target, opts: StartOptions, fn: (srv: RunningTarget) => Promise<T>): Promise<T> {
  const srv = await target.start(opts);
  try {
    return await fn(srv);
  } finally {
    await srv.stop();
  }
}

/** Connects, sends `input`, waits for `pongs` PONGs or a close; returns what followed INFO. */
async function exchange(port: number, input: string | Buffer, pongs = countOf(input.toString(), 'PING\r\n'), timeoutMs = 1500): Promise<{ out: string; closed: boolean }> {
  return withSession(port, async (s) => {
    s.send(input);
    await s.wait(() => s.closed || (pongs > 0 && countOf(s.text(), 'PONG\r\n') >= pongs), timeoutMs);
    if (!s.closed) await s.wait(() => s.closed, 30);
    return { out: s.text(), closed: s.closed };
  });
}

/** Drops server PINGs from a reply stream. */
function withoutPings(s: string): string {
  return s.split('PING\r\n').join('');
}

/** Answers every PING the server sends with a PONG until stopped. */
function autoPong(s: RawSession): () => void {
  let answered = 0;
  const t = setInterval(() => {
    const n = countOf(s.text(), 'PING\r\n');
    while (answered < n) {
      s.send('PONG\r\n');
      answered++;
    }
  }, 5);
  return () => clearInterval(t);
}

/**
 * A session exercising most of the protocol; its output must not depend on how
 * it is chunked. (Not pedantic: nats-server 2.9.10 itself repeats the
 * 'Invalid Publish Subject' error when such a PUB's payload spans two reads.)
 */
let splitRun = 0;
/** Each run uses its own queue group: a closed session of an earlier run may linger as a member for a moment. */
const splitScript = (): Buffer => Buffer.from(SPLIT_TEMPLATE.replace('QUEUE', `q${++splitRun}`), 'latin1');
const SPLIT_TEMPLATE =
  'CONNECT {"verbose":false,"pedantic":false,"headers":true,"echo":true}\r\n' +
    'SUB foo.* 1\r\n' +
    'sub foo.> QUEUE 2\r\n' +
    'SUB\tbar\t 3\r\n' +
    'PUB foo.a 5\r\nhello\r\n' +
    'PUB foo.b reply.x 4\r\na\r\nb\r\n' +
    'HPUB foo.c 18 21\r\nNATS/1.0\r\nX: y\r\n\r\nabc\r\n' +
    'HPUB bar r 12 12\r\nNATS/1.0\r\n\r\n\r\n' +
    'UNSUB 3 1\r\n' +
    'PUB bar 0\r\n\r\n' +
    'PUB bar 0\r\n\r\n' +
    'PUB foo.* 1\r\nw\r\n' +
    'PING\r\n' +
    'UNSUB 1\r\nPUB foo.z 1\r\nz\r\n' +
    'ping\r\n';

const SPLIT_EXPECTED =
  'MSG foo.a 1 5\r\nhello\r\n' +
  'MSG foo.a 2 5\r\nhello\r\n' +
  'MSG foo.b 1 reply.x 4\r\na\r\nb\r\n' +
  'MSG foo.b 2 reply.x 4\r\na\r\nb\r\n' +
  'HMSG foo.c 1 18 21\r\nNATS/1.0\r\nX: y\r\n\r\nabc\r\n' +
  'HMSG foo.c 2 18 21\r\nNATS/1.0\r\nX: y\r\n\r\nabc\r\n' +
  'HMSG bar 3 r 12 12\r\nNATS/1.0\r\n\r\n\r\n' +
  'MSG foo.* 1 1\r\nw\r\n' +
  'MSG foo.* 2 1\r\nw\r\n' +
  'PONG\r\n' +
  'MSG foo.z 2 1\r\nz\r\n' +
  'PONG\r\n';

async function runChunked(port: number, chunks: Buffer[], pauseMs: number): Promise<string> {
  return withSession(port, async (s) => {
    for (const c of chunks) {
      s.send(c);
      if (pauseMs > 0) await sleep(pauseMs);
      else await new Promise((r) => setImmediate(r));
    }
    await s.waitFor(() => countOf(s.text(), 'PONG\r\n') >= 2 || s.closed, 3000, 'two PONGs');
    await s.wait(() => s.closed, 20);
    assert.equal(s.closed, false, 'connection closed');
    return s.text();
  });
}

for (const target of TARGETS) {
  describe(`raw protocol: ${target.name}`, () => {
    let srv: RunningTarget;
    before(async () => {
      srv = await target.start();
    });
    after(async () => {
      await srv?.stop();
    });

    // ---- INFO -----------------------------------------------------------------

    it('INFO is the first line, framed `INFO {json} \\r\\n`, with nats-server fields', async () => {
      await withSession(srv.port, async (s) => {
        assert.match(s.infoLine, /^INFO \{[^\r\n]*\} \r\n$/);
        const info = s.info;
        const keys = Object.keys(info).filter((k) => !(target.name === 'natter' && EXTENSION_INFO_FIELDS.has(k)));
        assert.deepEqual([...keys].sort(), [...INFO_FIELDS].sort());
        assert.equal(typeof info.server_id, 'string');
        assert.ok((info.server_id as string).length > 0);
        assert.equal(typeof info.server_name, 'string');
        assert.match(info.version as string, /^\d+\.\d+\.\d+/);
        assert.equal(info.proto, 1);
        assert.equal(typeof info.go, 'string');
        assert.equal(info.host, '127.0.0.1');
        assert.equal(info.port, srv.port);
        assert.equal(info.headers, true);
        assert.equal(info.max_payload, 1024 * 1024);
        assert.ok(Number.isInteger(info.client_id) && (info.client_id as number) > 0);
        assert.equal(info.client_ip, '127.0.0.1');
        // Nothing else until the client speaks.
        await sleep(50);
        assert.equal(s.text(), '');
      });
    });

    it('each connection gets a larger client_id', async () => {
      const a = await RawSession.connect(srv.port);
      const b = await RawSession.connect(srv.port);
      try {
        assert.ok((b.info.client_id as number) > (a.info.client_id as number));
        assert.equal(a.info.server_id, b.info.server_id);
      } finally {
        a.close();
        b.close();
      }
    });

    it('INFO of a server with authorization says auth_required', async () => {
      await withServer(target, { authorization: { user: 'u', password: 'p' } }, async (a) => {
        await withSession(a.port, async (s) => {
          assert.equal(s.info.auth_required, true);
          const keys = Object.keys(s.info).filter((k) => !(target.name === 'natter' && EXTENSION_INFO_FIELDS.has(k)));
          assert.deepEqual(keys.sort(), [...INFO_FIELDS, 'auth_required'].sort());
        });
      });
    });

    // ---- verbose, PING/PONG, lexical details ----------------------------------

    it('verbose: +OK for CONNECT, SUB, PUB, UNSUB; PING gets only PONG', async () => {
      const r = await exchange(srv.port, 'CONNECT {"verbose":true}\r\nSUB foo 1\r\nPUB bar 2\r\nhi\r\nUNSUB 1\r\nPING\r\n');
      assert.equal(r.out, '+OK\r\n+OK\r\n+OK\r\n+OK\r\nPONG\r\n');
      assert.equal(r.closed, false);
    });

    it('verbose PUB: the +OK comes before the MSG it causes', async () => {
      const r = await exchange(srv.port, 'CONNECT {"verbose":true}\r\nSUB foo 1\r\nPUB foo 2\r\nhi\r\nPING\r\n');
      assert.equal(r.out, '+OK\r\n+OK\r\n+OK\r\nMSG foo 1 2\r\nhi\r\nPONG\r\n');
    });

    it('pipelined PINGs get as many PONGs, in order with other replies', async () => {
      const r = await exchange(srv.port, Q + 'PING\r\nSUB a 1\r\nPING\r\nPUB a 1\r\nx\r\nPING\r\n');
      assert.equal(r.out, 'PONG\r\nPONG\r\nMSG a 1 1\r\nx\r\nPONG\r\n');
    });

    it('operations are case-insensitive', async () => {
      const r = await exchange(srv.port, 'connect {"verbose":false,"headers":true}\r\nsub foo 1\r\nSuB bar 2\r\npub foo 1\r\na\r\nhpub bar 12 13\r\nNATS/1.0\r\n\r\nb\r\nunsub 1\r\nPUB foo 1\r\nc\r\npInG\r\n', 1);
      assert.equal(r.out, 'MSG foo 1 1\r\na\r\nHMSG bar 2 12 13\r\nNATS/1.0\r\n\r\nb\r\nPONG\r\n');
    });

    it('tabs and multiple spaces separate arguments', async () => {
      const r = await exchange(srv.port, Q + 'SUB \t foo\t\tqtabs   7\r\nPUB\tfoo  \t r \t 3 \t\r\nabc\r\nPING\r\n');
      assert.equal(r.out, 'MSG foo 7 r 3\r\nabc\r\nPONG\r\n');
    });

    // ---- framing ----------------------------------------------------------------

    it('a session written at once gives the expected frames', async () => {
      assert.equal(await runChunked(srv.port, [splitScript()], 0), SPLIT_EXPECTED);
    });

    it('the same session fed one byte at a time gives the same bytes', async () => {
      const bytes = [...splitScript()].map((b) => Buffer.from([b]));
      assert.equal(await runChunked(srv.port, bytes, 1), SPLIT_EXPECTED);
    });

    it('the same session in random chunkings gives the same bytes', async () => {
      const rng = new Rng(0x5eed);
      for (let round = 0; round < 6; round++) {
        const chunks = randomChunks(splitScript(), rng, round % 2 === 0 ? 7 : 40);
        assert.equal(await runChunked(srv.port, chunks, round % 3 === 0 ? 1 : 0), SPLIT_EXPECTED, `chunking round ${round}`);
      }
    });

    it('MSG and HMSG framing to another connection, with and without reply', async () => {
      const sub = await RawSession.connect(srv.port);
      const pub = await RawSession.connect(srv.port);
      try {
        await sub.request(QH + 'SUB s.> 42\r\nPING\r\n', 'PONG\r\n');
        await pub.request(
          QH +
            'PUB s.1 3\r\none\r\n' +
            'PUB s.2 _INBOX.abc.1 3\r\ntwo\r\n' +
            'HPUB s.3 24 29\r\nNATS/1.0\r\nK: a\r\nK: b\r\n\r\nthree\r\n' +
            'HPUB s.4 in.box 12 16\r\nNATS/1.0\r\n\r\nfour\r\n' +
            'PING\r\n',
          'PONG\r\n',
        );
        const out = await sub.request('PING\r\n', 'PONG\r\n');
        assert.equal(
          out,
          'MSG s.1 42 3\r\none\r\n' +
            'MSG s.2 42 _INBOX.abc.1 3\r\ntwo\r\n' +
            'HMSG s.3 42 24 29\r\nNATS/1.0\r\nK: a\r\nK: b\r\n\r\nthree\r\n' +
            'HMSG s.4 42 in.box 12 16\r\nNATS/1.0\r\n\r\nfour\r\n' +
            'PONG\r\n',
        );
      } finally {
        sub.close();
        pub.close();
      }
    });

    it('a 64 KiB binary payload arrives intact', async () => {
      const payload = Buffer.alloc(64 * 1024);
      for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + 3) & 0xff;
      await withSession(srv.port, async (s) => {
        s.send(Q + 'SUB bin 1\r\n');
        s.send(Buffer.concat([Buffer.from(`PUB bin ${payload.length}\r\n`), payload, Buffer.from('\r\nPING\r\n')]));
        await s.waitFor(() => s.text().endsWith('PONG\r\n'), 3000, 'PONG');
        const head = Buffer.from(`MSG bin 1 ${payload.length}\r\n`);
        const want = Buffer.concat([head, payload, Buffer.from('\r\nPONG\r\n')]);
        assert.ok(s.bytes().equals(want), 'payload bytes differ');
      });
    });

    // ---- subjects and pedantic mode ---------------------------------------------

    it('pedantic: a wildcard publish subject gets -ERR Invalid Publish Subject, connection stays', async () => {
      const r = await exchange(srv.port, 'CONNECT {"verbose":false,"pedantic":true}\r\nSUB > 1\r\nPUB foo.> 1\r\na\r\nPUB ok 1\r\nb\r\nPING\r\n');
      assert.equal(r.out, "-ERR 'Invalid Publish Subject'\r\nMSG foo.> 1 1\r\na\r\nMSG ok 1 1\r\nb\r\nPONG\r\n");
      assert.equal(r.closed, false);
    });

    it('not pedantic: a wildcard publish subject is accepted silently', async () => {
      const r = await exchange(srv.port, 'CONNECT {"verbose":false,"pedantic":false}\r\nSUB > 1\r\nPUB foo.* 1\r\na\r\nPING\r\n');
      assert.equal(r.out, 'MSG foo.* 1 1\r\na\r\nPONG\r\n');
    });

    it('Invalid Subject on SUB keeps the connection and the other subscriptions', async () => {
      const r = await exchange(srv.port, Q + 'SUB good 1\r\nSUB bad..subject 2\r\nSUB a.>.b 3\r\nPUB good 1\r\nx\r\nPING\r\n');
      assert.equal(r.out, "-ERR 'Invalid Subject'\r\n-ERR 'Invalid Subject'\r\nMSG good 1 1\r\nx\r\nPONG\r\n");
      assert.equal(r.closed, false);
    });

    // ---- errors that close ---------------------------------------------------------

    it('Unknown Protocol Operation closes the connection', async () => {
      const r = await exchange(srv.port, Q + 'SUB foo 1\r\nHELLO world\r\nPING\r\n');
      assert.equal(r.out, "-ERR 'Unknown Protocol Operation'\r\n");
      assert.equal(r.closed, true);
    });

    it('payload not followed by CRLF is Unknown Protocol Operation and closes', async () => {
      const r = await exchange(srv.port, Q + 'PUB foo 2\r\nhi!!\r\nPING\r\n');
      assert.equal(r.out, "-ERR 'Unknown Protocol Operation'\r\n");
      assert.equal(r.closed, true);
    });

    it('Maximum Payload Violation closes; max_payload is announced in INFO', async () => {
      await withServer(target, { max_payload: 1024 }, async (a) => {
        await withSession(a.port, async (s) => {
          assert.equal(s.info.max_payload, 1024);
          s.send(Q + 'PUB ok 1024\r\n' + 'x'.repeat(1024) + '\r\nPING\r\n');
          await s.until('PONG\r\n');
          s.send('PUB foo 1025\r\n');
          await s.waitFor(() => s.closed, 2000, 'close');
          assert.equal(s.text(), "PONG\r\n-ERR 'Maximum Payload Violation'\r\n");
        });
      });
    });

    it('maximum control line exceeded closes (nats-server 2.9.10 wording)', async () => {
      await withServer(target, { max_control_line: 128 }, async (a) => {
        const ok = await exchange(a.port, Q + 'SUB ' + 's'.repeat(118) + ' 1\r\nPING\r\n');
        assert.equal(ok.out, 'PONG\r\n');
        const r = await exchange(a.port, Q + 'SUB ' + 's'.repeat(200) + ' 1\r\nPING\r\n');
        assert.equal(r.out, "-ERR 'maximum control line exceeded'\r\n");
        assert.equal(r.closed, true);
      });
    });

    it('Authorization Violation closes; good credentials work', async () => {
      await withServer(target, { authorization: { user: 'u', password: 'p' } }, async (a) => {
        const bad = await exchange(a.port, 'CONNECT {"verbose":false,"user":"u","pass":"wrong"}\r\nPING\r\n');
        assert.equal(bad.out, "-ERR 'Authorization Violation'\r\n");
        assert.equal(bad.closed, true);
        const good = await exchange(a.port, 'CONNECT {"verbose":false,"user":"u","pass":"p"}\r\nPING\r\n');
        assert.equal(good.out, 'PONG\r\n');
        assert.equal(good.closed, false);
        const early = await exchange(a.port, 'PING\r\n');
        assert.equal(early.out, "-ERR 'Authorization Violation'\r\n", 'PING before CONNECT on a server that requires auth');
        assert.equal(early.closed, true);
      });
    });

    it('Authentication Timeout closes a client that never sends CONNECT', async () => {
      await withServer(target, { authorization: { token: 't' }, auth_timeout: 250 }, async (a) => {
        await withSession(a.port, async (s) => {
          const t0 = Date.now();
          await s.waitFor(() => s.closed, 3000, 'close');
          const took = Date.now() - t0;
          assert.equal(s.text(), "-ERR 'Authentication Timeout'\r\n");
          assert.ok(took >= 150 && took < 2000, `closed after ${took}ms, auth_timeout is 250ms`);
        });
        // A client that authenticates in time is not timed out.
        await withSession(a.port, async (s) => {
          s.send('CONNECT {"verbose":false,"auth_token":"t"}\r\n');
          await sleep(400);
          assert.equal(await s.request('PING\r\n', 'PONG\r\n'), 'PONG\r\n');
          assert.equal(s.closed, false);
        });
      });
    });

    it('maximum connections exceeded: INFO then -ERR, closed; others unaffected; a slot frees on close', async () => {
      await withServer(target, { max_connections: 2 }, async (a) => {
        const c1 = await RawSession.connect(a.port);
        const c2 = await RawSession.connect(a.port);
        try {
          await c1.request(Q + 'SUB x 1\r\nPING\r\n', 'PONG\r\n');
          await c2.request(Q + 'PING\r\n', 'PONG\r\n');
          const c3 = await RawSession.connect(a.port);
          await c3.waitFor(() => c3.closed, 2000, 'close');
          assert.equal(c3.text(), "-ERR 'maximum connections exceeded'\r\n");
          assert.equal(c3.info.client_ip, '127.0.0.1', 'the refused client still gets a full INFO');
          assert.equal(typeof c3.info.client_id, 'number');
          c3.close();
          assert.equal(await c2.request('PUB x 1\r\nm\r\nPING\r\n', 'PONG\r\n'), 'PONG\r\n');
          assert.equal(await c1.request('PING\r\n', 'PONG\r\n'), 'MSG x 1 1\r\nm\r\nPONG\r\n');
          c2.close();
          await sleep(100);
          const c4 = await RawSession.connect(a.port);
          try {
            assert.equal(await c4.request(Q + 'PING\r\n', 'PONG\r\n'), 'PONG\r\n');
          } finally {
            c4.close();
          }
        } finally {
          c1.close();
          c2.close();
        }
      });
    });

    // ---- errors that keep the connection ----------------------------------------

    it('maximum subscriptions exceeded keeps the connection and the earlier subscriptions', async () => {
      await withServer(target, { max_subscriptions: 2 }, async (a) => {
        const r = await exchange(a.port, Q + 'SUB a 1\r\nSUB b 2\r\nSUB c 3\r\nSUB d 4\r\nPUB a 1\r\nx\r\nPUB c 1\r\ny\r\nUNSUB 1\r\nSUB e 5\r\nPUB e 1\r\nz\r\nPING\r\n');
        assert.equal(r.out, "-ERR 'maximum subscriptions exceeded'\r\n-ERR 'maximum subscriptions exceeded'\r\nMSG a 1 1\r\nx\r\nMSG e 5 1\r\nz\r\nPONG\r\n");
        assert.equal(r.closed, false);
      });
    });

    // ---- keepalive -----------------------------------------------------------------

    it('Stale Connection: PINGs nobody answers, then -ERR and close', async () => {
      await withServer(target, { ping_interval: 100, ping_max: 2 }, async (a) => {
        await withSession(a.port, async (s) => {
          s.send(Q);
          await s.waitFor(() => s.closed, 3000, 'close');
          assert.equal(s.text(), "PING\r\nPING\r\n-ERR 'Stale Connection'\r\n");
        });
        // A client that answers stays connected.
        await withSession(a.port, async (s) => {
          s.send(Q);
          const stop = autoPong(s);
          try {
            await sleep(700);
            assert.equal(s.closed, false);
            assert.ok(countOf(s.text(), 'PING\r\n') >= 2, `only ${countOf(s.text(), 'PING\r\n')} PINGs in 700ms`);
            assert.ok(!s.text().includes('-ERR'));
          } finally {
            stop();
          }
        });
      });
    });

    it('ping_max 0 means the default (2), not "close at once"', async () => {
      await withServer(target, { ping_interval: 100, ping_max: 0 }, async (a) => {
        await withSession(a.port, async (s) => {
          const t0 = Date.now();
          s.send(Q);
          await s.waitFor(() => s.closed, 3000, 'close');
          assert.equal(s.text(), "PING\r\nPING\r\n-ERR 'Stale Connection'\r\n");
          assert.ok(Date.now() - t0 >= 200, 'closed too early');
        });
      });
    });

    // ---- slow consumer ---------------------------------------------------------------

    it('a subscriber that stops reading is cut; the publisher and other clients keep working', async () => {
      const opts = { max_pending: 256 * 1024, max_payload: 64 * 1024, write_deadline: 500 };
      await withServer(target, opts, async (a) => {
        const slow = await RawSession.connect(a.port);
        const fast = await RawSession.connect(a.port);
        const pub = await RawSession.connect(a.port);
        try {
          await slow.request(Q + 'SUB big 1\r\nPING\r\n', 'PONG\r\n');
          await fast.request(Q + 'SUB other 1\r\nPING\r\n', 'PONG\r\n');
          await pub.request(Q + 'PING\r\n', 'PONG\r\n');
          slow.socket.pause();
          const frame = `PUB big ${32 * 1024}\r\n${'x'.repeat(32 * 1024)}\r\n`;
          // 32 MiB in all, far more than max_pending plus the kernel's buffers.
          for (let batch = 0; batch < 32; batch++) {
            await pub.request(frame.repeat(32) + 'PING\r\n', 'PONG\r\n', 5000);
          }
          // The publisher and a third client still work. (nats-server PINGs
          // every client about 2s after it connected: those are not errors.)
          assert.equal(pub.closed, false, 'publisher was closed');
          assert.equal(withoutPings(await pub.request('PUB other 2\r\nok\r\nPING\r\n', 'PONG\r\n')), 'PONG\r\n');
          assert.equal(withoutPings(await fast.request('PING\r\n', 'PONG\r\n')), 'MSG other 1 2\r\nok\r\nPONG\r\n');
          // The slow subscriber was disconnected: reading on, it sees the end.
          slow.socket.resume();
          assert.equal(await slow.waitClosed(5000), true, 'slow consumer still connected');
          const got = slow.bytes().length;
          assert.ok(got < 32 * 32 * (32 * 1024), `slow consumer received all ${got} bytes`);
          // A new client can connect and subscribe.
          const late = await RawSession.connect(a.port);
          try {
            assert.equal(await late.request(Q + 'SUB big 1\r\nPUB big 1\r\nz\r\nPING\r\n', 'PONG\r\n'), 'MSG big 1 1\r\nz\r\nPONG\r\n');
          } finally {
            late.close();
          }
        } finally {
          slow.close();
          fast.close();
          pub.close();
        }
      });
    });

    // ---- configuration checks ---------------------------------------------------------

    it('max_payload larger than max_pending is refused at startup', async () => {
      await assert.rejects(target.start({ max_pending: 64 * 1024, max_payload: 128 * 1024 }).then((s) => s.stop()));
    });
  });
}

describe('raw protocol: Natter only', () => {
  it('close() resolves promptly after refusing a connection for max_connections', async () => {
    const srv = await startNatter({ max_connections: 1 });
    const c1 = await RawSession.connect(srv.port);
    const c2 = await RawSession.connect(srv.port);
    // A real client answers INFO with CONNECT at once, before it reads the -ERR.
    c2.send('CONNECT {"verbose":false}\r\nPING\r\n');
    await c2.waitFor(() => c2.closed, 2000, 'refusal');
    c2.close();
    c1.close();
    await sleep(50);
    await withTimeout(srv.close(), 2000, 'close() still pending after 2000ms');
  });

  it('the reference server config helper round-trips the limits into INFO', async () => {
    // Guards the differential tests: nats-server must really run with the limits we give it.
    const ns = await startNatsServer({ config: natsConfigFor({ max_payload: 4321 }) });
    try {
      await withSession(ns.port, async (s) => assert.equal(s.info.max_payload, 4321));
    } finally {
      await ns.stop();
    }
  });
});
