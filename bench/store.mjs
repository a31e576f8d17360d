#!/usr/bin/env node
// JetStream store throughput: 128-byte messages into the memory store and the
// file store (sync interval vs sync always), as a publisher pipeline would
// drive them: each event-loop turn stores a batch and asks whenDurable, with at
// most WINDOW messages stored but not yet confirmed. Also reads back (cached
// and from disk) and compares writeSync with async fs.write for the batch
// sizes the group commit produces. Needs `npx tsc -p .` first (imports dist/).
//
//   node bench/store.mjs            # N=200000 messages per case
//   N=50000 BATCH=100 node bench/store.mjs
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const repo = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const { MemoryStore } = await import(path.join(repo, 'dist/src/jetstream/store/memory-store.js'));
const { FileStore } = await import(path.join(repo, 'dist/src/jetstream/store/file-store.js'));

const N = Number(process.env.N ?? 200_000);
const BATCH = Number(process.env.BATCH ?? 500);
const WINDOW = Number(process.env.WINDOW ?? 20_000);
const limits = {
  maxMsgs: -1, maxBytes: -1, maxAgeMs: 0, maxMsgsPerSubject: -1, maxMsgSize: -1, discard: 'old', discardNewPerSubject: false,
};
const payload = Buffer.alloc(128, 0x61);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'natter-store-bench-'));
const rows = [];
const rate = (n, ms) => Math.round(n / (ms / 1000));

/** Stores n messages in batches of BATCH per turn, keeping at most WINDOW unconfirmed. */
function drive(store, n) {
  return new Promise((resolve, reject) => {
    let stored = 0;
    let confirmed = 0;
    let waiting = false;
    const t0 = performance.now();
    const turn = () => {
      waiting = false;
      const end = Math.min(n, stored + BATCH);
      for (; stored < end; stored++) store.storeMsg(`bench.${stored % 16}`, null, payload);
      const upTo = stored;
      store.whenDurable((err) => {
        if (err) return reject(err);
        confirmed = upTo;
        if (confirmed === n) resolve(performance.now() - t0);
        else if (waiting) turn();
      });
      if (stored < n) {
        if (stored - confirmed < WINDOW) setImmediate(turn);
        else waiting = true;
      }
    };
    turn();
  });
}

/** Loads seqs from..to; returns msgs/s. */
function readRange(store, from, to) {
  const t0 = performance.now();
  let bytes = 0;
  for (let seq = from; seq <= to; seq++) bytes += store.loadMsg(seq).data.length;
  if (bytes !== (to - from + 1) * payload.length) throw new Error('short read');
  return rate(to - from + 1, performance.now() - t0);
}


async function fileCase(label, sync) {
  const dir = path.join(root, label);
  const st = FileStore.open(dir, limits, { sync });
  const ms = await drive(st, N);
  // The newest messages are the ones the cache holds.
  const cachedRead = readRange(st, Math.max(1, N - 20_000 + 1), N);
  await st.stop();
  const t0 = performance.now();
  const again = FileStore.open(dir, limits, { sync, cacheBytes: 0 });
  const recoverMs = performance.now() - t0;
  const diskRead = readRange(again, 1, N);
  await again.stop();
  rows.push([label, rate(N, ms), `${cachedRead} (cache)`, `${diskRead} (disk)`, `${Math.round(recoverMs)} ms`]);
}

{
  const st = new MemoryStore(limits);
  const ms = await drive(st, N);
  rows.push(['memory', rate(N, ms), readRange(st, 1, N), '', '']);
  await st.stop();
}
await fileCase('file, sync 2 min (nats-server default)', 120_000);
await fileCase('file, sync 50 ms', 50);
await fileCase('file, sync always', 'always');

// writeSync vs async write for group-commit-sized batches (BATCH records of 128 + 32 + subject bytes).
async function rawWrites() {
  const size = BATCH * 170;
  const count = Math.max(1, Math.floor((N * 170) / size));
  const buf = Buffer.alloc(size, 1);
  const f1 = path.join(root, 'raw-sync');
  let fd = fs.openSync(f1, 'w');
  let t0 = performance.now();
  for (let i = 0; i < count; i++) fs.writeSync(fd, buf);
  const syncMs = performance.now() - t0;
  fs.closeSync(fd);
  const f2 = path.join(root, 'raw-async');
  fd = fs.openSync(f2, 'w');
  t0 = performance.now();
  for (let i = 0; i < count; i++) await new Promise((res, rej) => fs.write(fd, buf, (e) => (e ? rej(e) : res())));
  const asyncMs = performance.now() - t0;
  fs.closeSync(fd);
  fd = fs.openSync(f2, 'r+');
  t0 = performance.now();
  const fsyncs = 50;
  for (let i = 0; i < fsyncs; i++) {
    fs.writeSync(fd, buf, 0, buf.length, i * size);
    fs.fsyncSync(fd);
  }
  const fsyncMs = (performance.now() - t0) / fsyncs;
  fs.closeSync(fd);
  return { size, count, syncMs, asyncMs, fsyncMs };
}
const raw = await rawWrites();
fs.rmSync(root, { recursive: true, force: true });

console.log(`JetStream store, ${N} x 128-byte messages, ${BATCH} per turn, window ${WINDOW}; ` +
  `${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}, node ${process.version}\n`);
console.log('| store | store msgs/s (confirmed) | load msgs/s | load msgs/s after reopen | reopen (recovery) |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
console.log(`\nraw ${raw.count} writes of ${raw.size} B: writeSync ${raw.syncMs.toFixed(0)} ms, ` +
  `async fs.write ${raw.asyncMs.toFixed(0)} ms; write+fsync ${raw.fsyncMs.toFixed(2)} ms each`);
