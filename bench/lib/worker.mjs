// One load-generator role per worker thread: pub, sub, req, rep or conns.
// Protocol with the main thread (postMessage):
//   worker -> main  {ev:'ready', ...} after connecting (and subscribing + flushing)
//   main -> worker  {cmd:'run', ...}  -> {ev:'done', ...}
//   main -> worker  {cmd:'stop'}      ends a running 'run' early (it still answers 'done')
//   main -> worker  {cmd:'lat'}       -> {ev:'lat', lat} (sub: one-way latencies in µs of the
//                                     stamped messages since the last 'lat'; pubs stamp on run.stamp)
//   main -> worker  {cmd:'close'}     -> {ev:'closed', ...}, then the worker exits
//   worker -> main  {ev:'error', message} on any fatal error
import { parentPort, workerData } from 'node:worker_threads';
import {
  connect,
  flush,
  makePayload,
  nowNs,
  PING,
  pubFrame,
  readSeq,
  writeSeq,
  writeStamp,
  lineTokens,
} from './proto.mjs';
import { S_DONE, S_PER_SUB, S_RECV, S_TARGET, views } from './shared.mjs';

const { role, port, params = {} } = workerData;
const errors = [];
let stopRequested = false;

function note(err) {
  const text = err instanceof Error ? err.message : String(err);
  if (errors.length < 20 && !errors.includes(text)) errors.push(text);
}

function post(msg) {
  parentPort.postMessage(msg);
}

function fatal(err) {
  note(err);
  post({ ev: 'error', message: err instanceof Error ? err.message : String(err), errors });
}

/** Watches a connection for errors / unexpected close after setup. */
function watch(sock, parser, what) {
  sock.on('error', (e) => note(`${what}: ${e.message}`));
  sock.on('close', () => {
    if (closing) return;
    const last = parser.errors.length ? ` after ${parser.errors[parser.errors.length - 1]}` : '';
    note(`${what}: connection closed by server${last}`);
    // a lost connection ends the run: nothing more can be delivered on it
    post({ ev: 'error', message: `${what}: connection closed by server${last}`, errors });
  });
  parser.onErr = (text) => note(`${what}: ${text}`);
}
let closing = false;

// ---------------------------------------------------------------- publisher
// Latency sampling rate of flow publishers: about 11,700 samples in pubsub-16 at SCALE=1.
const STAMP_EVERY = 256;
async function rolePub() {
  const { subject, size, seq = false, batchBytes = 64 * 1024, pingBytes = 1 << 20, maxPongs = 4 } = params;
  const { sock, parser } = await connect(port, { name: `bench-pub-${params.index ?? 0}` });
  watch(sock, parser, 'pub');
  const frame = pubFrame(subject, makePayload(size));
  const flen = frame.length;
  const seqOff = flen - 2 - size; // payload offset inside one frame
  const perBatch = Math.max(1, Math.floor(batchBytes / flen));
  const full = Buffer.allocUnsafe(flen * perBatch);
  for (let i = 0; i < perBatch; i++) frame.copy(full, i * flen);

  let outstanding = 0;
  let pongWaiter = null;
  let drainWaiter = null;
  parser.onPong = () => {
    outstanding--;
    if (pongWaiter !== null) {
      const w = pongWaiter;
      pongWaiter = null;
      w();
    }
  };
  sock.on('drain', () => {
    if (drainWaiter !== null) {
      const w = drainWaiter;
      drainWaiter = null;
      w();
    }
  });
  sock.on('close', () => {
    // unblock a waiting loop; the error is already noted
    stopRequested = true;
    if (pongWaiter) pongWaiter();
    if (drainWaiter) drainWaiter();
  });
  const untilPongsBelow = async (limit) => {
    while (outstanding >= limit && !stopRequested) {
      await new Promise((r) => {
        pongWaiter = r;
      });
    }
  };

  // stamp: one message in every STAMP_EVERY (the first of each stretch in a batch)
  // carries its send time, a latency sample.
  async function publish(count, seqStart, stamp) {
    let sent = 0;
    let since = 0;
    while (sent < count && !stopRequested) {
      const k = Math.min(perBatch, count - sent);
      let buf;
      let ok;
      if (seq) {
        buf = Buffer.allocUnsafe(k * flen);
        full.copy(buf, 0, 0, k * flen);
        let s = seqStart + sent;
        for (let j = 0, off = seqOff; j < k; j++, off += flen) writeSeq(buf, off, s++);
        if (stamp) for (let j = 0; j < k; j += STAMP_EVERY) writeStamp(buf, (j + 1) * flen - 2);
        ok = sock.write(buf);
      } else if (stamp) {
        // `full` may still be queued in the socket from an earlier write, so it is never
        // changed: each stamped message is a copy, sent with the rest in one writev.
        buf = k === perBatch ? full : full.subarray(0, k * flen);
        sock.cork();
        for (let j = 0; j < k; j += STAMP_EVERY) {
          const one = Buffer.from(frame);
          writeStamp(one, flen - 2);
          ok = sock.write(one);
          const end = Math.min(k, j + STAMP_EVERY);
          if (end > j + 1) ok = sock.write(buf.subarray((j + 1) * flen, end * flen));
        }
        sock.uncork();
      } else {
        buf = k === perBatch ? full : full.subarray(0, k * flen);
        ok = sock.write(buf);
      }
      sent += k;
      since += buf.length;
      if (since >= pingBytes) {
        since = 0;
        outstanding++;
        sock.write(PING);
      }
      if (!ok && !stopRequested) {
        await new Promise((r) => {
          drainWaiter = r;
        });
      }
      if (outstanding >= maxPongs) await untilPongsBelow(maxPongs);
    }
    // final flush: the server has processed everything we sent
    outstanding++;
    sock.write(PING);
    await untilPongsBelow(1);
    return sent;
  }

  post({ ev: 'ready', perBatch, frameBytes: flen });
  parentPort.on('message', async (m) => {
    if (m.cmd === 'run') {
      stopRequested = false;
      const t0 = nowNs();
      try {
        const sent = await publish(m.count, m.seqStart ?? 0, m.stamp === true);
        post({ ev: 'done', t0, t1: nowNs(), sent, errors });
      } catch (e) {
        fatal(e);
      }
    } else if (m.cmd === 'stop') {
      stopRequested = true;
      if (pongWaiter) pongWaiter();
      if (drainWaiter) drainWaiter();
    } else if (m.cmd === 'close') {
      closing = true;
      sock.destroy();
      post({ ev: 'closed', errors });
    }
  });
}

// ---------------------------------------------------------------- subscriber
async function roleSub() {
  const { subject, queue = null, index = 0, shared, seen = null } = params;
  const { i32, t64 } = views(shared);
  const slot = S_PER_SUB + index;
  const onCount = (n) => {
    const prev = Atomics.add(i32, S_RECV, n);
    Atomics.add(i32, slot, n);
    const tgt = Atomics.load(i32, S_TARGET);
    if (prev < tgt && prev + n >= tgt) {
      t64[0] = process.hrtime.bigint();
      Atomics.store(i32, S_DONE, 1);
    }
  };
  // one-way latency of stamped messages, µs; handed to the main thread on 'lat'
  let lat = [];
  const onStamp = (buf, off) => {
    lat.push(Number(process.hrtime.bigint() - buf.readBigUInt64BE(off)) / 1000);
  };
  let onMsg = null;
  let badSeq = 0;
  if (seen !== null) {
    const arr = new Uint8Array(seen);
    const max = arr.length;
    onMsg = (buf, ls, le, ps, pe) => {
      const s = pe - ps >= 10 ? readSeq(buf, ps) : -1;
      if (s >= 0 && s < max) {
        if (arr[s] < 255) Atomics.add(arr, s, 1);
      } else badSeq++;
    };
  }
  const { sock, parser } = await connect(port, { name: `bench-sub-${index}`, parserOpts: { onCount, onMsg, onStamp } });
  watch(sock, parser, `sub${index}`);
  sock.write(queue ? `SUB ${subject} ${queue} 1\r\n` : `SUB ${subject} 1\r\n`);
  await flush(sock, parser);
  post({ ev: 'ready' });
  parentPort.on('message', (m) => {
    if (m.cmd === 'lat') {
      post({ ev: 'lat', lat: Float64Array.from(lat) });
      lat = [];
    } else if (m.cmd === 'close') {
      closing = true;
      const received = parser.msgs;
      sock.destroy();
      if (badSeq) note(`sub${index}: ${badSeq} messages with an unreadable sequence number`);
      post({ ev: 'closed', received, errors });
    }
  });
}

// ---------------------------------------------------------------- responder
async function roleRep() {
  const { subject } = params;
  let sockRef = null;
  let replies = 0;
  const onMsg = (buf, ls, le, ps, pe, hdr) => {
    const t = lineTokens(buf, ls, le);
    // MSG subj sid reply size | HMSG subj sid reply hdr total
    const reply = (t[0] === 'MSG' && t.length === 5) || (t[0] === 'HMSG' && t.length === 6) ? t[3] : null;
    if (reply === null) return;
    const payload = buf.subarray(ps + hdr, pe);
    sockRef.write(Buffer.concat([Buffer.from(`PUB ${reply} ${payload.length}\r\n`, 'latin1'), payload, Buffer.from('\r\n')]));
    replies++;
  };
  const { sock, parser } = await connect(port, { name: 'bench-responder', parserOpts: { onMsg } });
  sockRef = sock;
  watch(sock, parser, 'responder');
  // write all replies produced by one chunk with one syscall
  sock.removeAllListeners('data');
  sock.on('data', (chunk) => {
    sock.cork();
    parser.push(chunk);
    process.nextTick(() => sock.uncork());
  });
  sock.write(`SUB ${subject} 1\r\n`);
  await flush(sock, parser);
  post({ ev: 'ready' });
  parentPort.on('message', (m) => {
    if (m.cmd === 'close') {
      closing = true;
      sock.destroy();
      post({ ev: 'closed', replies, errors });
    }
  });
}

// ---------------------------------------------------------------- requesters
async function roleReq() {
  const { subject, size, conns: nconns = 1, index = 0 } = params;
  const payload = makePayload(size);
  const tail = Buffer.from('\r\n');
  const conns = [];
  let active = null; // current phase state

  for (let c = 0; c < nconns; c++) {
    const id = `bench${index}x${c}${Math.random().toString(36).slice(2, 8)}`;
    const st = { id, sock: null, i: 0, n: 0, tSend: 0, fails: 0, lat: null, latOff: 0, done: true };
    const onMsg = (buf, ls, le, ps, pe, hdr) => {
      if (st.done) return;
      const t1 = nowNs();
      const tok = lineTokens(buf, ls, le);
      const expect = `_INBOX.${st.id}.${st.i}`;
      if (tok[1] !== expect) {
        note(`requester got reply on ${tok[1]}, expected ${expect}`);
        return;
      }
      if (hdr > 0) {
        const h = buf.toString('latin1', ps, ps + hdr);
        if (/^NATS\/1\.0 *503/.test(h)) {
          st.fails++;
          note('no responders (503)');
        } else if (/^NATS\/1\.0 *[0-9]/.test(h)) {
          st.fails++;
          note(`status reply: ${h.split('\r\n')[0]}`);
        } else {
          st.lat[st.latOff + st.i] = (t1 - st.tSend) / 1000;
        }
      } else {
        st.lat[st.latOff + st.i] = (t1 - st.tSend) / 1000;
      }
      st.i++;
      if (st.i < st.n && !stopRequested) sendNext(st);
      else finish(st);
    };
    const { sock, parser } = await connect(port, { name: `bench-req-${index}-${c}`, parserOpts: { onMsg } });
    st.sock = sock;
    watch(sock, parser, 'requester');
    sock.on('close', () => {
      if (!closing) finish(st);
    });
    sock.write(`SUB _INBOX.${id}.* 1\r\n`);
    await flush(sock, parser);
    conns.push(st);
  }

  function sendNext(st) {
    st.tSend = nowNs();
    st.sock.write(Buffer.concat([Buffer.from(`PUB ${subject} _INBOX.${st.id}.${st.i} ${size}\r\n`, 'latin1'), payload, tail]));
  }
  function finish(st) {
    if (st.done) return;
    st.done = true;
    active.left--;
    if (active.left === 0) {
      const t1 = nowNs();
      let completed = 0;
      let fails = 0;
      for (const s of conns) {
        completed += s.i;
        fails += s.fails;
      }
      const lat = active.lat;
      // keep only the filled slots (a stopped run has fewer)
      const out = new Float64Array(completed - fails);
      let k = 0;
      for (const s of conns) {
        for (let j = 0; j < s.i; j++) {
          const v = lat[s.latOff + j];
          if (v > 0 && k < out.length) out[k++] = v;
        }
      }
      post({ ev: 'done', t0: active.t0, t1, completed, fails, lat: out.subarray(0, k), errors }, []);
      active = null;
    }
  }

  post({ ev: 'ready' });
  parentPort.on('message', (m) => {
    if (m.cmd === 'run') {
      stopRequested = false;
      const n = m.count;
      const lat = new Float64Array(n * conns.length);
      active = { left: conns.length, t0: nowNs(), lat };
      conns.forEach((st, c) => {
        st.i = 0;
        st.n = n;
        st.fails = 0;
        st.lat = lat;
        st.latOff = c * n;
        st.done = n === 0;
        if (n === 0) active.left--;
      });
      if (active.left === 0) {
        post({ ev: 'done', t0: active.t0, t1: nowNs(), completed: 0, fails: 0, lat: new Float64Array(0), errors });
        active = null;
        return;
      }
      for (const st of conns) if (!st.done) sendNext(st);
    } else if (m.cmd === 'stop') {
      stopRequested = true;
      if (active) for (const st of conns) finish(st);
    } else if (m.cmd === 'close') {
      closing = true;
      for (const st of conns) st.sock.destroy();
      post({ ev: 'closed', errors });
    }
  });
}

// ---------------------------------------------------------------- idle connections
async function roleConns() {
  const socks = [];
  let failed = 0;
  post({ ev: 'ready' });
  parentPort.on('message', async (m) => {
    if (m.cmd === 'run') {
      stopRequested = false;
      const { count, concurrency = 64 } = m;
      const t0 = nowNs();
      let next = 0;
      const dialer = async () => {
        while (next < count && !stopRequested) {
          next++;
          try {
            const { sock, parser } = await connect(port, { name: 'bench-idle', timeoutMs: 15000 });
            sock.on('error', () => {});
            parser.onErr = () => {};
            socks.push(sock);
          } catch (e) {
            failed++;
            note(e);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, count) }, dialer));
      const t1 = nowNs();
      // PING round-trip of one extra client while all others are open
      let probeRtt = null;
      try {
        const { sock, parser } = await connect(port, { name: 'bench-probe' });
        const rtts = [];
        for (let i = 0; i < 50; i++) {
          const a = nowNs();
          await flush(sock, parser, 5000);
          rtts.push((nowNs() - a) / 1000);
        }
        rtts.sort((a, b) => a - b);
        probeRtt = rtts[Math.floor(rtts.length / 2)];
        sock.destroy();
      } catch (e) {
        note(`probe: ${e.message}`);
      }
      post({ ev: 'done', t0, t1, connected: socks.length, failed, probeRtt, errors });
    } else if (m.cmd === 'stop') {
      stopRequested = true;
    } else if (m.cmd === 'close') {
      closing = true;
      for (const s of socks) {
        if (typeof s.resetAndDestroy === 'function') s.resetAndDestroy();
        else s.destroy();
      }
      post({ ev: 'closed', errors });
    }
  });
}

const roles = { pub: rolePub, sub: roleSub, rep: roleRep, req: roleReq, conns: roleConns };
const fn = roles[role];
if (!fn) fatal(new Error(`unknown role ${role}`));
else fn().catch(fatal);
