// WebSocket scenarios: the same NATS protocol as the TCP rows, carried in
// binary WebSocket messages to each server's websocket listener (both sides
// are started with `websocket { port, no_tls: true }`, see websocketConfig).
// The client side is the `ws` library, each role in its own Worker thread.
// Clients mask every message with a random key, as browsers do, so each
// server does the unmasking work a real client load gives it.
import fs from 'node:fs';
import path from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { latencyFields } from './stats.mjs';
import { STAMP_LEN, STAMP_MARK, writeStamp } from './proto.mjs';

const SELF = new URL(import.meta.url);
const SUBJECT = 'bench.ws';
// Latency sampling of the flow rows, as over TCP (worker.mjs): one message in STAMP_EVERY is stamped.
const STAMP_EVERY = 256;

/** The config file that gives a server its websocket listener; returns the flag to add to its command. */
export function websocketConfig(dir, id, wsPort) {
  const file = path.join(dir, `${id}.ws.conf`);
  fs.writeFileSync(file, `websocket { host: "127.0.0.1", port: ${wsPort}, no_tls: true }\n`);
  return `-c ${file}`;
}

/** Runs a WebSocket scenario (`transport: 'ws'`) of kind flow (1 publisher -> 1 subscriber) or reqrep (sequential). */
export async function runWebsocket(ctx, sc, n, measure) {
  const port = ctx.servers[0].wsPort;
  if (!port) throw new Error('no websocket port for this server');
  const warm = Math.round(n * ctx.cfg.warmup);
  if (sc.kind === 'flow') return flow(ctx, sc, port, n, warm, measure);
  return reqrep(ctx, sc, port, n, warm, measure);
}

/** Starts a role in a Worker; resolves with its first message of type `ev`. */
function role(name, params) {
  const w = new Worker(SELF, { workerData: { role: name, params } });
  const inbox = [];
  let waiter = null;
  let failure = null;
  const wake = () => {
    if (waiter) waiter();
  };
  w.on('message', (m) => {
    inbox.push(m);
    wake();
  });
  w.on('error', (e) => {
    failure ??= e;
    wake();
  });
  w.on('exit', (code) => {
    failure ??= code === 0 ? null : new Error(`${name} worker exited (code ${code})`);
    wake();
  });
  const next = async (ev, timeoutMs) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = inbox.findIndex((m) => m.ev === ev || m.ev === 'error');
      if (i >= 0) {
        const m = inbox.splice(i, 1)[0];
        if (m.ev === 'error') throw new Error(`${name}: ${m.message}`);
        return m;
      }
      if (failure) throw failure;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${name}: no '${ev}' within ${timeoutMs} ms`);
      await new Promise((r) => {
        waiter = r;
        setTimeout(r, Math.min(left, 200));
      });
      waiter = null;
    }
  };
  return { w, next, post: (m) => w.postMessage(m), stop: () => w.terminate() };
}

async function flow(ctx, sc, port, n, warm, measure) {
  const { cfg, servers } = ctx;
  const sub = role('sub', { port, size: sc.size, total: warm + n, warm });
  const pub = role('pub', { port, size: sc.size, batchBytes: cfg.pubOpts.batchBytes });
  try {
    await sub.next('ready', cfg.setupMs);
    await pub.next('ready', cfg.setupMs);
    pub.post({ cmd: 'publish', count: warm });
    await pub.next('published', cfg.timeoutMs);
    await sub.next('warm', cfg.timeoutMs);
    const m = measure.start(servers);
    const t0 = process.hrtime.bigint();
    pub.post({ cmd: 'publish', count: n, stamp: true });
    await pub.next('published', cfg.timeoutMs);
    const done = await sub.next('done', cfg.timeoutMs);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const usage = measure.end(m, servers);
    sub.post({ cmd: 'lat' });
    const { lat } = await sub.next('lat', cfg.setupMs);
    const received = done.received - warm;
    return {
      ok: received === n,
      errors: received === n ? [] : [`received ${received} of ${n}`],
      received,
      elapsed_s: s,
      msgs_per_s: Math.round(received / s),
      mb_per_s: Math.round((received * sc.size) / s / 1e4) / 100,
      server_cpu_us_per_msg: Math.round((usage.server_cpu_s / received) * 1e6 * 100) / 100,
      ...latencyFields(Float64Array.from(lat).sort()),
      ...usage,
    };
  } finally {
    await Promise.all([sub.stop(), pub.stop()]);
  }
}

async function reqrep(ctx, sc, port, n, warm, measure) {
  const { cfg, servers } = ctx;
  const responder = role('responder', { port, size: sc.size });
  const requester = role('requester', { port, size: sc.size });
  try {
    await responder.next('ready', cfg.setupMs);
    await requester.next('ready', cfg.setupMs);
    requester.post({ cmd: 'request', count: warm });
    await requester.next('answered', cfg.timeoutMs);
    const m = measure.start(servers);
    const t0 = process.hrtime.bigint();
    requester.post({ cmd: 'request', count: n });
    const done = await requester.next('answered', cfg.timeoutMs);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const usage = measure.end(m, servers);
    const lat = Float64Array.from(done.lat).sort();
    return {
      ok: lat.length === n,
      errors: lat.length === n ? [] : [`answered ${lat.length} of ${n}`],
      msgs_per_s: Math.round(lat.length / s),
      ...latencyFields(lat),
      server_cpu_us_per_msg: Math.round((usage.server_cpu_s / lat.length) * 1e6 * 100) / 100,
      ...usage,
    };
  } finally {
    await Promise.all([responder.stop(), requester.stop()]);
  }
}

// ---------------------------------------------------------------- worker side


/** How long a role keeps dialling a websocket port that is not listening yet (a server answers on its client port first). */
const DIAL_FOR_MS = 5000;

async function dial(port) {
  const { WebSocket } = await import('ws');
  const deadline = Date.now() + DIAL_FOR_MS;
  for (;;) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
    try {
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      return ws;
    } catch (e) {
      if (e.code !== 'ECONNREFUSED' || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** Opens a websocket NATS connection: CONNECT sent, `setup` lines sent, resolved once the PONG after them came. */
async function open(port, setup, onData) {
  const ws = await dial(port);
  let ready = null;
  ws.on('message', (data) => {
    if (ready !== null) {
      // INFO first, then the PONG that answers the setup (the server sends each in one piece).
      const i = data.indexOf('PONG\r\n');
      if (i < 0) return;
      const rest = data.subarray(i + 6);
      const r = ready;
      ready = null;
      r();
      if (rest.length > 0) onData(rest);
      return;
    }
    onData(data);
  });
  await new Promise((resolve) => {
    ready = resolve;
    ws.send(`CONNECT {"verbose":false,"pedantic":false,"name":"natter-bench-ws"}\r\n${setup}PING\r\n`, { binary: true });
  });
  return ws;
}

/** Waits until the socket under `ws` has room, so a fast publisher does not queue without bound. */
function drained(ws) {
  return ws.bufferedAmount < 1024 * 1024 ? null : new Promise((r) => setTimeout(r, 1));
}

async function worker() {
  const { role: name, params } = workerData;
  const send = (m) => parentPort.postMessage(m);
  try {
    if (name === 'sub') {
      // Every delivery is `MSG bench.ws 1 <size>\r\n<payload>\r\n`: counting bytes counts messages,
      // and a message's stamp (see writeStamp) is at a known offset of the byte stream.
      const per = `MSG ${SUBJECT} 1 ${params.size}\r\n`.length + params.size + 2;
      let bytes = 0;
      let warmTold = params.warm === 0;
      let doneTold = false;
      let lat = [];
      let nextStamp = per - 2 - STAMP_LEN; // stream offset of the next message's stamp position
      let carry = null; // first bytes of a stamp split between two websocket messages
      const record = (buf, off) => {
        if (buf[off] === STAMP_MARK) lat.push(Number(process.hrtime.bigint() - buf.readBigUInt64BE(off + 1)) / 1000);
      };
      const stamps = (data, b0) => {
        const end = b0 + data.length;
        while (nextStamp < end) {
          if (carry !== null) {
            carry = Buffer.concat([carry, data.subarray(0, STAMP_LEN - carry.length)]);
            if (carry.length < STAMP_LEN) return;
            record(carry, 0);
            carry = null;
          } else {
            const off = nextStamp - b0;
            if (off + STAMP_LEN > data.length) {
              carry = Buffer.from(data.subarray(off));
              return;
            }
            record(data, off);
          }
          nextStamp += per;
        }
      };
      parentPort.on('message', (m) => {
        if (m.cmd === 'lat') {
          send({ ev: 'lat', lat: Float64Array.from(lat) });
          lat = [];
        }
      });
      await open(params.port, `SUB ${SUBJECT} 1\r\n`, (data) => {
        stamps(data, bytes);
        bytes += data.length;
        const received = Math.floor(bytes / per);
        if (!warmTold && received >= params.warm) {
          warmTold = true;
          send({ ev: 'warm' });
        }
        if (received >= params.total && !doneTold) {
          doneTold = true;
          send({ ev: 'done', received });
        }
      });
      send({ ev: 'ready' });
      if (params.warm === 0) send({ ev: 'warm' });
      return;
    }
    if (name === 'pub') {
      const one = Buffer.from(`PUB ${SUBJECT} ${params.size}\r\n${'x'.repeat(params.size)}\r\n`);
      const perBatch = Math.max(1, Math.floor(params.batchBytes / one.length));
      const batch = Buffer.concat(Array(perBatch).fill(one));
      let pong = null;
      const ws = await open(params.port, '', (data) => {
        if (pong !== null && data.includes('PONG')) {
          const p = pong;
          pong = null;
          p();
        }
      });
      send({ ev: 'ready' });
      parentPort.on('message', async (m) => {
        let left = m.count;
        while (left > 0) {
          const k = Math.min(left, perBatch);
          let out = k === perBatch ? batch : batch.subarray(0, k * one.length);
          if (m.stamp) {
            // A stamped copy: `batch` may still be queued inside the ws sender.
            out = Buffer.from(out);
            for (let j = 0; j < k; j += STAMP_EVERY) writeStamp(out, (j + 1) * one.length - 2);
          }
          ws.send(out, { binary: true });
          left -= k;
          const wait = drained(ws);
          if (wait) await wait;
        }
        // The server has read everything once it answers the PING.
        await new Promise((resolve) => {
          pong = resolve;
          ws.send('PING\r\n', { binary: true });
        });
        send({ ev: 'published' });
      });
      return;
    }
    if (name === 'responder') {
      const reply = `${'r'.repeat(params.size)}`;
      let pending = '';
      const ws = await open(params.port, 'SUB bench.ws.svc 1\r\n', (data) => {
        pending += data.toString('latin1');
        let out = '';
        for (;;) {
          // MSG bench.ws.svc 1 <reply> <size>\r\n<payload>\r\n
          const nl = pending.indexOf('\r\n');
          if (nl < 0) break;
          const head = pending.slice(0, nl).split(' ');
          if (head[0] !== 'MSG') {
            pending = pending.slice(nl + 2);
            continue;
          }
          const size = Number(head[head.length - 1]);
          if (pending.length < nl + 2 + size + 2) break;
          out += `PUB ${head[3]} ${reply.length}\r\n${reply}\r\n`;
          pending = pending.slice(nl + 2 + size + 2);
        }
        if (out !== '') ws.send(out, { binary: true });
      });
      send({ ev: 'ready' });
      return;
    }
    if (name === 'requester') {
      const body = 'q'.repeat(params.size);
      let answered = null;
      const ws = await open(params.port, 'SUB _INBOX.ws.* 1\r\n', (data) => {
        if (answered !== null && data.includes('MSG _INBOX.ws.')) answered();
      });
      send({ ev: 'ready' });
      parentPort.on('message', async (m) => {
        const lat = new Float64Array(m.count);
        for (let i = 0; i < m.count; i++) {
          const t = process.hrtime.bigint();
          await new Promise((resolve) => {
            answered = resolve;
            ws.send(`PUB bench.ws.svc _INBOX.ws.${i} ${body.length}\r\n${body}\r\n`, { binary: true });
          });
          answered = null;
          lat[i] = Number(process.hrtime.bigint() - t) / 1e3;
        }
        send({ ev: 'answered', lat });
      });
      return;
    }
    throw new Error(`unknown role ${name}`);
  } catch (e) {
    send({ ev: 'error', message: e.message });
  }
}

// Loaded as a Worker by role(): run that role.
if (!isMainThread && workerData?.role !== undefined) worker();
