// JetStream and KV scenarios, driven over the raw client protocol from the main
// thread: the per-message server work (store, ack, deliver) dwarfs the client's,
// so one thread keeps up. Counts and shapes follow ../shared/bench (js.go).
import { connect, flush, makePayload, nowNs } from './proto.mjs';
import { latencyFields } from './stats.mjs';

const STREAM = 'BENCH';
const CONSUMER = 'BENCHC';
const BUCKET = 'BENCH';
const KV_STREAM = `KV_${BUCKET}`;
const REPLY_PREFIX = '_INBOX.bench.';

/**
 * A raw connection with one wildcard inbox subscription: every reply lands in
 * onReply(token, buf, payloadStart, payloadEnd, hdrLen, replySubject).
 */
export class JsConn {
  static async open(port) {
    const c = new JsConn();
    const { sock, parser } = await connect(port, { name: 'natter-bench-js' });
    c.sock = sock;
    c.parser = parser;
    parser.onMsg = (buf, ls, le, ps, pe, hdrLen) => c.dispatch(buf, ls, le, ps, pe, hdrLen);
    sock.write(`SUB ${REPLY_PREFIX}> 1\r\n`);
    await flush(sock, parser);
    return c;
  }

  constructor() {
    this.onReply = null;
    this.waiters = new Map();
    this.nextId = 1;
  }

  dispatch(buf, ls, le, ps, pe, hdrLen) {
    // MSG <subject> <sid> [reply] <size> | HMSG <subject> <sid> [reply] <hdr> <size>
    const line = buf.toString('latin1', ls, le).split(' ');
    const subject = line[1];
    const isH = line[0] === 'HMSG';
    const reply = line.length === (isH ? 6 : 5) ? line[3] : null;
    // JetStream deliveries to a pull request's inbox show the stream message's subject, not the inbox.
    const token = subject.startsWith(REPLY_PREFIX) ? subject.slice(REPLY_PREFIX.length) : 'p:' + subject;
    const w = this.waiters.get(token);
    if (w !== undefined) {
      this.waiters.delete(token);
      w({ hdr: hdrLen > 0 ? buf.toString('latin1', ps, ps + hdrLen) : '', data: buf.subarray(ps + Math.max(0, hdrLen), pe) });
      return;
    }
    if (this.onReply !== null) this.onReply(token, buf, ps, pe, hdrLen, reply);
  }

  /** One request; resolves with { hdr, data }. */
  request(subject, body = '', timeoutMs = 10000) {
    const token = `r${this.nextId++}`;
    const payload = typeof body === 'string' ? Buffer.from(body) : body;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(token);
        reject(new Error(`request ${subject} timed out`));
      }, timeoutMs);
      this.waiters.set(token, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      this.sock.write(Buffer.concat([Buffer.from(`PUB ${subject} ${REPLY_PREFIX}${token} ${payload.length}\r\n`), payload, Buffer.from('\r\n')]));
    });
  }

  async api(subject, body) {
    const m = await this.request(subject, body === undefined ? '' : JSON.stringify(body));
    const json = JSON.parse(m.data.toString());
    if (json.error) throw new Error(`${subject}: ${json.error.description} (${json.error.err_code})`);
    return json;
  }

  close() {
    this.sock.destroy();
  }
}

const SECOND_NS = 1_000_000_000;

export async function freshStream(c, cfg) {
  try {
    await c.api(`$JS.API.STREAM.DELETE.${cfg.name}`);
  } catch {
    // not there yet
  }
  await c.api(`$JS.API.STREAM.CREATE.${cfg.name}`, cfg);
}

export const benchStream = (replicas = 1) => ({
  name: STREAM, subjects: ['bench.js.>'], retention: 'limits', storage: 'file', num_replicas: replicas,
  max_msgs: -1, max_bytes: -1, max_age: 0, max_msg_size: -1, discard: 'old', duplicate_window: 120 * SECOND_NS,
});

// What nats.go's CreateKeyValue asks for (history 1, file storage).
const kvStream = (replicas = 1) => ({
  name: KV_STREAM, subjects: [`$KV.${BUCKET}.>`], retention: 'limits', storage: 'file', num_replicas: replicas,
  max_msgs_per_subject: 1, max_msgs: -1, max_bytes: -1, max_age: 0, max_msg_size: -1, discard: 'new',
  duplicate_window: 120 * SECOND_NS, allow_rollup_hdrs: true, deny_delete: true, allow_direct: true,
});

/**
 * Publishes n messages with at most `inflight` unacknowledged; resolves with
 * the acked count. Every publish shares one reply subject (acks come back in
 * order), so frames are pre-built and a refill is a single write.
 */
export function publishWindow(c, subject, payload, n, inflight, timeoutMs) {
  return new Promise((resolve) => {
    let sent = 0;
    let acked = 0;
    let failed = 0;
    const frame = Buffer.concat([Buffer.from(`PUB ${subject} ${REPLY_PREFIX}a ${payload.length}\r\n`), payload, Buffer.from('\r\n')]);
    const frames = Buffer.alloc(frame.length * inflight);
    for (let i = 0; i < inflight; i++) frame.copy(frames, i * frame.length);
    let scheduled = false;
    const timer = setTimeout(() => finish(true), timeoutMs);
    const finish = (truncated) => {
      clearTimeout(timer);
      c.onReply = null;
      resolve({ acked, failed, truncated });
    };
    const pump = () => {
      scheduled = false;
      const k = Math.min(n - sent, inflight - (sent - acked - failed));
      if (k <= 0) return;
      sent += k;
      c.sock.write(frames.subarray(0, k * frame.length));
    };
    c.onReply = (token, buf, ps, pe, hdrLen) => {
      if (token !== 'a') return;
      // A PubAck is {"stream":...,"seq":N}; an error reply carries "error".
      if (hdrLen <= 0 && buf.indexOf('"error"', ps) === -1) acked++;
      else failed++;
      if (acked + failed === n) finish(false);
      else if (sent < n && !scheduled) {
        // Refill once per received chunk, not per ack.
        scheduled = true;
        queueMicrotask(pump);
      }
    };
    pump();
  });
}

/** lat: round trips in ns. */
function latencySummary(lat, elapsedS, count) {
  return {
    msgs_per_s: elapsedS > 0 ? Math.round(count / elapsedS) : null,
    ...latencyFields(Float64Array.from(lat, (ns) => ns / 1000).sort()),
  };
}

/** Sequential requests (sync publish, KV put/get): latency and rate. */
async function sequential(c, n, warm, makeReq, check, timeoutMs, meter) {
  for (let i = 0; i < warm; i++) check(await c.request(...makeReq(i)));
  meter.start();
  const lat = new Float64Array(n);
  const t0 = nowNs();
  const deadline = Date.now() + timeoutMs;
  let done = 0;
  for (; done < n && Date.now() < deadline; done++) {
    const s = nowNs();
    check(await c.request(...makeReq(warm + done)));
    lat[done] = nowNs() - s;
  }
  const elapsed = (nowNs() - t0) / 1e9;
  return { ...latencySummary(Array.from(lat.subarray(0, done)), elapsed, done), sent: done, truncated: done < n, elapsed_s: elapsed };
}

const pubAckOk = (m) => {
  if (m.hdr !== '' || !m.data.includes('"seq"')) throw new Error(`bad PubAck: ${m.hdr}${m.data.toString()}`);
};

async function runPubSync(ctx, sc, n, c, payload, warm, meter) {
  await freshStream(c, benchStream(sc.replicas));
  const r = await sequential(c, n, warm, () => ['bench.js.x', payload], pubAckOk, ctx.cfg.timeoutMs, meter);
  meter.stop();
  const info = await c.api(`$JS.API.STREAM.INFO.${STREAM}`);
  return { ...r, stream_msgs: info.state.messages, acked: r.sent, checks: info.state.messages === r.sent + warm ? [] : [`stream holds ${info.state.messages}, expected ${r.sent + warm}`] };
}

async function runPubAsync(ctx, sc, n, c, payload, warm, meter) {
  await freshStream(c, benchStream(sc.replicas));
  if (warm > 0) await publishWindow(c, 'bench.js.x', payload, warm, sc.inflight, ctx.cfg.timeoutMs);
  meter.start();
  const t0 = nowNs();
  const r = await publishWindow(c, 'bench.js.x', payload, n, sc.inflight, ctx.cfg.timeoutMs);
  const elapsed = (nowNs() - t0) / 1e9;
  meter.stop();
  const info = await c.api(`$JS.API.STREAM.INFO.${STREAM}`);
  const checks = [];
  if (r.failed > 0) checks.push(`${r.failed} publishes refused`);
  if (info.state.messages !== r.acked + warm) checks.push(`stream holds ${info.state.messages}, acked ${r.acked + warm}`);
  return { msgs_per_s: Math.round(r.acked / elapsed), sent: r.acked, acked: r.acked, stream_msgs: info.state.messages, truncated: r.truncated, elapsed_s: elapsed, checks };
}

/** Pull-consumes n messages in batches, acking each; resolves with the consumed count. */
function consumeBatches(c, n, batch, size, timeoutMs) {
  return new Promise((resolve) => {
    let consumed = 0;
    let inBatch = 0;
    let badSize = 0;
    let pulls = 0;
    // Acks of one received chunk go out in one write.
    let acks = '';
    const flushAcks = () => {
      c.sock.write(acks);
      acks = '';
    };
    const timer = setTimeout(() => finish(true), timeoutMs);
    const finish = (truncated) => {
      clearTimeout(timer);
      c.onReply = null;
      resolve({ consumed, badSize, truncated });
    };
    const pull = () => {
      inBatch = 0;
      const body = `{"batch":${Math.min(batch, n - consumed)},"expires":${5 * SECOND_NS}}`;
      if (acks !== '') flushAcks();
      c.sock.write(`PUB $JS.API.CONSUMER.MSG.NEXT.${STREAM}.${CONSUMER} ${REPLY_PREFIX}p${pulls++} ${body.length}\r\n${body}\r\n`);
    };
    c.onReply = (token, buf, ps, pe, hdrLen, reply) => {
      if (token[0] !== 'p') return;
      if (reply === null) {
        // A status (404/408): the pull ended early; ask again.
        pull();
        return;
      }
      if (pe - ps - Math.max(0, hdrLen) !== size) badSize++;
      if (acks === '') queueMicrotask(flushAcks);
      acks += 'PUB ' + reply + ' 0\r\n\r\n';
      consumed++;
      inBatch++;
      if (consumed >= n) finish(false);
      else if (inBatch >= batch) pull();
    };
    pull();
  });
}

async function runConsume(ctx, sc, n, c, payload, warm, meter) {
  await freshStream(c, benchStream(sc.replicas));
  const fill = await publishWindow(c, 'bench.js.x', payload, n + warm, 256, ctx.cfg.timeoutMs * 3);
  if (fill.acked !== n + warm) throw new Error(`pre-fill acked ${fill.acked}/${n + warm}`);
  await c.api(`$JS.API.CONSUMER.CREATE.${STREAM}.${CONSUMER}.bench.js.>`, {
    stream_name: STREAM,
    config: { durable_name: CONSUMER, deliver_policy: 'all', ack_policy: 'explicit', filter_subject: 'bench.js.>', replay_policy: 'instant', max_ack_pending: 1000 },
  });
  if (warm > 0) await consumeBatches(c, warm, sc.batch, sc.size, ctx.cfg.timeoutMs);
  meter.start();
  const t0 = nowNs();
  const r = await consumeBatches(c, n, sc.batch, sc.size, ctx.cfg.timeoutMs);
  const elapsed = (nowNs() - t0) / 1e9;
  meter.stop();
  await flush(c.sock, c.parser);
  const info = await c.api(`$JS.API.CONSUMER.INFO.${STREAM}.${CONSUMER}`);
  const checks = [];
  if (r.badSize > 0) checks.push(`${r.badSize} deliveries of the wrong size`);
  return { msgs_per_s: Math.round(r.consumed / elapsed), sent: r.consumed, consumed: r.consumed, ack_pending: info.num_ack_pending, truncated: r.truncated, elapsed_s: elapsed, checks };
}

async function runKvPut(ctx, sc, n, c, payload, warm, meter) {
  await freshStream(c, kvStream(sc.replicas));
  const r = await sequential(c, n, warm, (i) => [`$KV.${BUCKET}.k${i % sc.keys}`, payload], pubAckOk, ctx.cfg.timeoutMs, meter);
  meter.stop();
  return r;
}

async function runKvGet(ctx, sc, n, c, payload, warm, meter) {
  await freshStream(c, kvStream(sc.replicas));
  const fill = await publishWindow(c, `$KV.${BUCKET}.k0`, payload, 1, 1, ctx.cfg.timeoutMs);
  if (fill.acked !== 1) throw new Error('KV pre-fill failed');
  for (let k = 1; k < sc.keys; k++) pubAckOk(await c.request(`$KV.${BUCKET}.k${k}`, payload));
  const check = (m) => {
    if (!m.hdr.startsWith('NATS/1.0\r\n') || m.data.length !== sc.size) throw new Error(`bad direct get reply: ${m.hdr.split('\r\n')[0]} ${m.data.length} B`);
  };
  const r = await sequential(c, n, warm, (i) => [`$JS.API.DIRECT.GET.${KV_STREAM}.$KV.${BUCKET}.k${i % sc.keys}`, ''], check, ctx.cfg.timeoutMs, meter);
  meter.stop();
  return r;
}

const RUNNERS = { 'js-pub-sync': runPubSync, 'js-pub-async': runPubAsync, 'js-consume': runConsume, 'kv-put': runKvPut, 'kv-get': runKvGet };

/**
 * Runs one JetStream scenario against a ready server started with JetStream
 * on. `measure` = { start(servers), end(token, servers) } brackets the timed
 * phase only (stream setup and pre-fill are not counted).
 */
export async function runJetStream(ctx, sc, n, measure) {
  const c = await JsConn.open(ctx.servers[0].port);
  try {
    const payload = makePayload(sc.size);
    const warm = Math.round(n * ctx.cfg.warmup);
    const run = RUNNERS[sc.runner ?? sc.id];
    if (run === undefined) throw new Error(`no JetStream runner for ${sc.id}`);
    let token = null;
    let usage = null;
    const meter = {
      start: () => {
        token = measure.start(ctx.servers);
      },
      stop: () => {
        usage = measure.end(token, ctx.servers);
      },
    };
    const r = await run(ctx, sc, n, c, payload, warm, meter);
    const errors = r.checks ?? [];
    delete r.checks;
    const cpu = usage?.server_cpu_s ?? 0;
    return {
      ...r,
      ...usage,
      server_cpu_us_per_msg: r.sent > 0 && cpu > 0 ? Math.round((cpu * 1e7) / r.sent) / 10 : null,
      errors,
      ok: errors.length === 0 && !r.truncated,
    };
  } finally {
    c.close();
  }
}
