// Preloaded into a Node server under test (`node --import <this file> …`, added by
// startServer in server.mjs) to record its garbage-collection pauses without any
// change to the server. It observes perf_hooks 'gc' entries in the main thread and,
// when the process exits, writes them to the file named by BENCH_GC_FILE:
//   { pid, pauses: [[start_ns, duration_ns, kind], …] }
// start_ns is on the process.hrtime clock (CLOCK_MONOTONIC, the same in every
// process), so the bench can keep only the pauses inside its timed window.
// A gc entry's duration is the time the main thread was stopped for that
// collection step; concurrent marking on helper threads is not in it.
import fs from 'node:fs';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';

const file = process.env.BENCH_GC_FILE;
// Worker threads of the server would each overwrite the file: only the main
// thread's heap is measured (it is where the server's connections live).
if (isMainThread && file) {
  // hrtime (ns) at performance.now() == 0: converts entry.startTime (ms since timeOrigin).
  const originNs = Number(process.hrtime.bigint()) - performance.now() * 1e6;
  // Flat [start, duration, kind, …]: one array, no object per pause kept alive.
  const flat = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) flat.push(Math.round(originNs + e.startTime * 1e6), Math.round(e.duration * 1e6), e.detail?.kind ?? 0);
  });
  obs.observe({ entryTypes: ['gc'] });
  process.on('exit', () => {
    // Entries of the last few collections may still sit in the observer's buffer.
    for (const e of obs.takeRecords()) flat.push(Math.round(originNs + e.startTime * 1e6), Math.round(e.duration * 1e6), e.detail?.kind ?? 0);
    const pauses = [];
    for (let i = 0; i < flat.length; i += 3) pauses.push([flat[i], flat[i + 1], flat[i + 2]]);
    try {
      fs.writeFileSync(file, JSON.stringify({ pid: process.pid, pauses }));
    } catch {
      // The bench reports a missing file as "no GC data"; the server's exit must not fail.
    }
  });
}
