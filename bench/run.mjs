#!/usr/bin/env node
// Side-by-side benchmark: server A (nats-server) vs server B (Natter).
// See bench/README.md. Node 20 built-ins only.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCENARIOS, nodesFor, runScenario } from './lib/scenarios.mjs';
import { freePort, raiseOwnNofile, readGc, startServer, stopServer, waitReady, machineBusySeconds, selfCpuSeconds } from './lib/server.mjs';
import { latencyKind, notes, summaryTables } from './lib/stats.mjs';
import { startJsCluster } from './lib/cluster.mjs';
import { websocketConfig } from './lib/websocket.mjs';
import { leafCommands } from './lib/leaf.mjs';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO_DIR = path.dirname(BENCH_DIR);
const env = process.env;

function num(name, def) {
  const v = env[name];
  if (v === undefined || v === '') return def;
  const x = Number(String(v).replace(/s$/, ''));
  if (!Number.isFinite(x)) {
    console.error(`bad ${name}=${v}`);
    process.exit(2);
  }
  return x;
}

const cfg = {
  runs: Math.max(1, Math.floor(num('RUNS', 3))),
  scale: num('SCALE', 1),
  timeoutMs: num('TIMEOUT', 20) * 1000,
  setupMs: num('SETUP_TIMEOUT', 15) * 1000,
  quietMs: num('QUIET_MS', 2000),
  warmup: num('WARMUP', 0.1),
  reqPerWorker: Math.max(1, Math.floor(num('REQ_PER_WORKER', 8))),
  dialers: Math.max(1, Math.floor(num('DIALERS', 64))),
  dirtyCores: num('DIRTY', 0.15),
  pubOpts: {
    batchBytes: num('BATCH_KB', 64) * 1024,
    pingBytes: num('PING_KB', 1024) * 1024,
    maxPongs: Math.max(1, Math.floor(num('MAX_PONGS', 4))),
  },
};

const CMD_A = env.SERVER_CMD_A || 'nats-server -a 127.0.0.1 -p {port}';
const CMD_B = env.SERVER_CMD_B === undefined ? 'node dist/src/cli/natter-server.js -a 127.0.0.1 -p {port}' : env.SERVER_CMD_B;
const hasB = CMD_B.trim() !== '' && CMD_B.trim() !== 'none';
const labels = { A: env.LABEL_A || (env.SERVER_CMD_A ? 'A' : 'nats-server'), B: env.LABEL_B || (env.SERVER_CMD_B ? 'B' : 'natter') };
// Sides whose servers get the GC probe (only commands that start with `node` can have it).
const gcSides = (env.GC_PROBE ?? 'A,B').toUpperCase().split(/[\s,]+/).filter((x) => x === 'A' || x === 'B');

if (env.LIST) {
  for (const s of SCENARIOS) console.log(`${s.id.padEnd(18)} n=${String(s.n).padEnd(9)} ${s.what}`);
  process.exit(0);
}

// Opt-in scenarios (the R3 cluster ones) run when named in ONLY, or with R3=1.
let scenarios = env.R3 ? SCENARIOS : SCENARIOS.filter((s) => !s.optIn);
if (env.ONLY) {
  const want = env.ONLY.split(/[\s,]+/).filter(Boolean);
  const unknown = want.filter((w) => !SCENARIOS.some((s) => s.id === w));
  if (unknown.length) {
    console.error(`unknown scenario(s): ${unknown.join(' ')}; known: ${SCENARIOS.map((s) => s.id).join(' ')}`);
    process.exit(2);
  }
  scenarios = SCENARIOS.filter((s) => want.includes(s.id));
}

const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace(/-\d{3}Z$/, 'Z');
const outDir = env.OUT ? path.resolve(env.OUT) : path.join(BENCH_DIR, 'results', stamp);
fs.mkdirSync(path.join(outDir, 'logs'), { recursive: true });
const jsonl = path.join(outDir, 'results.jsonl');

const lim = raiseOwnNofile();
const log = (s) => process.stderr.write(s + '\n');

function fmtRate(v) {
  if (v === null || v === undefined) return '–';
  return v >= 1e6 ? `${(v / 1e6).toFixed(2)} M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)} k` : String(v);
}

function brief(sc, r) {
  let s;
  if (latencyKind(sc) === 'round trip') s = `p50 ${r.p50_us ?? '–'} µs, p99 ${r.p99_us ?? '–'} µs, ${fmtRate(r.msgs_per_s)} ops/s`;
  else if (r.failover_ms !== undefined) s = `failover ${r.failover_ms} ms (${r.failed_publishes} failed publishes)`;
  else if (r.catchup_ms !== undefined) s = `catch-up ${r.catchup_ms} ms, ${fmtRate(r.publish_msgs_per_s_one_down)} msgs/s with one node down`;
  else if (r.scenario.startsWith('conns')) s = `${r.received ?? 0} conns in ${r.connect_s ?? '–'} s, ${r.kb_per_conn ?? '–'} KiB/conn`;
  else s = `${fmtRate(r.msgs_per_s)} msgs/s${r.lost ? `, lost ${r.lost}` : ''}${r.p99_us !== undefined && r.p99_us !== null ? `, p99 ${r.p99_us} µs` : ''}`;
  if (r.server_cpu_us_per_msg !== undefined && r.server_cpu_us_per_msg !== null) s += `, ${r.server_cpu_us_per_msg} µs CPU/op`;
  if (typeof r.gc_pauses === 'number') s += `, GC ${r.gc_pauses} pauses ${r.gc_pause_ms} ms`;
  return `${r.ok ? 'ok ' : 'NOT OK'} ${s}${r.ok ? '' : ` — ${(r.errors ?? []).slice(0, 2).join('; ')}`}`;
}

const versions = {};

/**
 * The command for node i of a cluster: the side's command plus nats-server's
 * cluster flags (Natter takes the same). Every node dials the first one.
 */
function nodeCommand(cmd, i, routePorts) {
  if (routePorts.length < 2) return cmd;
  let c = `${cmd} --cluster nats://127.0.0.1:${routePorts[i]} --cluster_name bench`;
  if (i > 0) c += ` --routes nats-route://127.0.0.1:${routePorts[0]}`;
  return c;
}

/**
 * GC pause figures of a side's probed servers (summed over nodes): inside the
 * timed window, and over the processes' lifetime. {} when none was probed.
 */
function gcFields(servers, window) {
  const probed = servers.filter((s) => s.gcFile);
  if (!probed.length) return {};
  const life = probed.map((s) => readGc(s, null));
  if (life.some((g) => g === null)) return { gc_error: 'a probed server left no GC data (killed before exit?)' };
  const sum = (list, k) => list.reduce((a, g) => a + g[k], 0);
  const out = { gc_lifetime_pauses: sum(life, 'pauses'), gc_lifetime_ms: round3(sum(life, 'ms')) };
  if (window) {
    const timed = probed.map((s) => readGc(s, window));
    const ms = sum(timed, 'ms');
    Object.assign(out, {
      gc_pauses: sum(timed, 'pauses'),
      gc_major: sum(timed, 'major'),
      gc_pause_ms: round3(ms),
      gc_pause_max_ms: round3(Math.max(...timed.map((g) => g.max_ms))),
      // pause time per timed wall time, in %, summed over the nodes (a 2-node side can reach 200 %)
      gc_pause_pct: round3((ms / ((window[1] - window[0]) / 1e6)) * 100),
    });
  }
  return out;
}

const round3 = (x) => Math.round(x * 1000) / 1000;

async function oneRun(sc, side, run) {
  // natterBoth: a Natter-against-Natter scenario (scale-out), whatever A is.
  const cmd = side === 'A' && !sc.natterBoth ? CMD_A : CMD_B;
  const label = labels[side];
  const nodes = nodesFor(sc, side);
  const ports = [];
  const routePorts = [];
  for (let i = 0; i < nodes; i++) {
    ports.push(await freePort());
    if (nodes > 1 && !sc.leaf) routePorts.push(await freePort());
  }
  // JetStream scenarios: both sides get JetStream with a fresh store dir, unless the command has it.
  let sideCmd = sc.kind === 'js' && !/(^|\s)(-js|--jetstream)(\s|$)/.test(cmd) ? `${cmd} -js -sd {dir}` : cmd;
  // WebSocket scenarios: a config file gives the server its websocket listener.
  const wsPort = sc.transport === 'ws' ? await freePort() : null;
  if (wsPort !== null) sideCmd = `${sideCmd} ${websocketConfig(outDir, `${sc.id}.${side}.run${run}`, wsPort)}`;
  const nodeTag = (i) => (nodes === 1 ? '' : sc.leaf ? ['.leaf', '.hub'][i] : `.node${i + 1}`);
  const logFile = (i) => path.join(outDir, 'logs', `${sc.id}.${side}.run${run}${nodeTag(i)}.log`);
  const gcFile = (i) => (gcSides.includes(side) ? `${logFile(i)}.gc.json` : null);
  let servers;
  if (sc.jsCluster) servers = await startJsCluster(cmd, { nodes, cwd: REPO_DIR, logFile, gcFile });
  else if (sc.leaf) {
    // servers[0] is the leaf (publishers, requesters), servers[1] the hub. The leaf dials the
    // hub as it starts, so it starts once the hub answers (a failure shows in waitReady below).
    const lc = leafCommands(sideCmd, outDir, `${sc.id}.${side}.run${run}`, await freePort());
    const hub = startServer(lc.hub, { port: ports[1], cwd: REPO_DIR, logFile: logFile(1), gcFile: gcFile(1) });
    await waitReady(hub, cfg.setupMs).catch(() => {});
    servers = [startServer(lc.leaf, { port: ports[0], cwd: REPO_DIR, logFile: logFile(0), gcFile: gcFile(0) }), hub];
  } else {
    servers = ports.map((port, i) => startServer(nodeCommand(sideCmd, i, routePorts), { port, cwd: REPO_DIR, logFile: logFile(i), gcFile: gcFile(i) }));
  }
  const port = servers[0].port;
  if (wsPort !== null) servers[0].wsPort = wsPort;
  const t0 = Date.now();
  let res;
  let info = null;
  try {
    for (const s of servers) info = await waitReady(s, cfg.setupMs);
    // scale-out runs Natter on side A too: its version is not A's
    if (info && info.version && !(side === 'A' && sc.natterBoth)) versions[side] = info.version;
    res = await runScenario({ servers, cfg }, sc);
  } catch (e) {
    res = { scenario: sc.id, size: sc.size ?? null, ok: false, errors: [e.message] };
  }
  const exits = [];
  for (const s of servers) exits.push(await stopServer(s));
  const exit = exits.find((e) => e && e.beforeStop) ?? exits[0];
  const gc = gcFields(servers, res.timed_window_ns);
  delete res.timed_window_ns;
  const line = {
    ts: new Date().toISOString(),
    label,
    side,
    run,
    port,
    server_cmd: nodes > 1 ? servers.map((s) => s.cmd) : servers[0].cmd,
    server_version: info?.version ?? null,
    nodes,
    ...res,
    ...gc,
    server_exit: exit,
    wall_s: (Date.now() - t0) / 1000,
  };
  // the server died on its own during the run?
  if (exit && exit.beforeStop && info) {
    line.ok = false;
    line.errors = [...(line.errors ?? []), `server exited during the run (code ${exit.code}, signal ${exit.signal})`];
  }
  fs.appendFileSync(jsonl, JSON.stringify(line) + '\n');
  log(`  ${sc.id.padEnd(11)} ${side} ${label.padEnd(12)} run ${run}: ${brief(sc, line)} (${line.wall_s.toFixed(1)} s)`);
  return line;
}

async function main() {
  const started = Date.now();
  const busy0 = machineBusySeconds();
  const self0 = selfCpuSeconds();
  await new Promise((r) => setTimeout(r, 1000));
  const idleLoad = Math.max(0, machineBusySeconds() - busy0 - (selfCpuSeconds() - self0));
  const header = [
    `# Natter bench — ${new Date().toISOString()}`,
    '',
    `- machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${os.release()}, Node ${process.version}`,
    `- A: \`${CMD_A}\` (label ${labels.A})`,
    hasB ? `- B: \`${CMD_B}\` (label ${labels.B}, cwd ${REPO_DIR})` : '- B: (none)',
    `- RUNS=${cfg.runs} SCALE=${cfg.scale} TIMEOUT=${cfg.timeoutMs / 1000}s WARMUP=${cfg.warmup} fd limit ${lim ? `${lim.soft}/${lim.hard}` : '?'}`,
    `- foreign CPU load before start: ${idleLoad.toFixed(2)} cores${idleLoad > cfg.dirtyCores ? ' (WARNING: the machine is busy)' : ''}`,
    `- GC probe (node --import bench/lib/gc-probe.mjs) on: ${gcSides.length ? `${gcSides.join(', ')} (servers started with node)` : 'none'}`,
  ];
  log(header.join('\n'));
  log(`results: ${outDir}`);

  const results = [];
  for (const sc of scenarios) {
    log(`${sc.id}: ${sc.what}`);
    for (let run = 1; run <= cfg.runs; run++) {
      const order = !hasB ? ['A'] : run % 2 === 1 ? ['A', 'B'] : ['B', 'A'];
      for (const side of order) results.push(await oneRun(sc, side, run));
    }
  }

  const versionLine = `- server versions (from INFO): A ${versions.A ?? '?'}${hasB ? `, B ${versions.B ?? '?'}` : ''}; total wall time ${((Date.now() - started) / 1000).toFixed(0)} s`;
  const tables = summaryTables(scenarios, results, labels, hasB);
  const n = notes(results, cfg.dirtyCores);
  const text = [
    ...header,
    versionLine,
    '',
    'Medians over the runs, with [min–max]. "better" says which direction is good for that metric;',
    'B/A > 1 is better for ↑ rows and B/A < 1 is better for ↓ rows. On this shared 2-core machine a',
    'B/A within about 0.8–1.25 is noise; "(B better)/(B worse)" marks ratios outside that band.',
    '',
    tables.headline,
    '',
    ...(tables.latency
      ? [
          '### Latency, µs (medians of the per-run percentiles; lower is better)',
          '',
          '"round trip": request → reply or PubAck, one at a time. "one-way, saturated": about one',
          'message in 256 carries its send time; at full load this is mostly time spent queued in',
          'socket and server buffers behind the backlog (see bench/README.md).',
          '',
          tables.latency,
          '',
        ]
      : []),
    '### Server resources over the timed part (medians; lower is better)',
    '',
    'CPU: utime+stime of all the side\'s server processes per op. GC: pauses of servers started',
    'with node (bench/lib/gc-probe.mjs) that began in the timed part, "count · total ms · longest ms",',
    'summed over a side\'s processes.',
    '',
    tables.resources,
    '',
    ...scenarios.filter((sc) => sc.natterBoth).flatMap((sc) => [`- ${sc.id}: both sides run Natter (${sc.what}); the A/B labels do not apply.`, '']),
    ...(n.length ? ['Notes:', ...n, ''] : []),
    `Raw per-run JSON lines: ${path.relative(REPO_DIR, jsonl)}`,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(outDir, 'summary.md'), text);
  process.stdout.write('\n' + text);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
