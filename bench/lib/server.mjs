// Starting / stopping a server under test, and reading its resource use from /proc.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const GC_PROBE = new URL('./gc-probe.mjs', import.meta.url).href;

let CLK_TCK = 100;
try {
  CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  /* keep 100 */
}

/** Soft and hard RLIMIT_NOFILE of a process, from /proc/<pid>/limits. */
export function nofileLimits(pid = process.pid) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/limits`, 'utf8');
    const m = text.match(/^Max open files\s+(\S+)\s+(\S+)/m);
    if (!m) return null;
    const num = (s) => (s === 'unlimited' ? Infinity : Number(s));
    return { soft: num(m[1]), hard: num(m[2]) };
  } catch {
    return null;
  }
}

/** Raises this process's soft fd limit to its hard limit with prlimit(1), if needed. */
export function raiseOwnNofile() {
  const lim = nofileLimits();
  if (!lim) return null;
  if (lim.soft < lim.hard) {
    const hard = lim.hard === Infinity ? 'unlimited' : String(lim.hard);
    try {
      execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${hard}:${hard}`], { stdio: 'ignore' });
    } catch {
      /* report what we have */
    }
  }
  return nofileLimits();
}

/** Ports handed out by this process: never twice. */
const handedOut = new Set();

/**
 * A free TCP port on 127.0.0.1, from 20000-31999: below Linux's ephemeral
 * range, so no outgoing connection (a route dialling its peer) can take it
 * between this check and the server binding it. Never handed out twice.
 */
export async function freePort() {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (handedOut.has(port)) continue;
    if (await canListen(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

function canListen(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ host: '127.0.0.1', port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * Splits a command string shell-style (whitespace, '...' and "..." quoting, backslash),
 * and peels off leading NAME=value assignments into env.
 */
export function parseCommand(cmd) {
  const words = [];
  let cur = null;
  let q = null;
  for (let i = 0; i < cmd.length; i++) {
    const ch = cmd[i];
    if (q) {
      if (ch === q) q = null;
      else if (ch === '\\' && q === '"' && i + 1 < cmd.length) cur += cmd[++i];
      else cur += ch;
    } else if (ch === "'" || ch === '"') {
      q = ch;
      cur = cur ?? '';
    } else if (ch === '\\' && i + 1 < cmd.length) {
      cur = (cur ?? '') + cmd[++i];
    } else if (/\s/.test(ch)) {
      if (cur !== null) words.push(cur);
      cur = null;
    } else {
      cur = (cur ?? '') + ch;
    }
  }
  if (cur !== null) words.push(cur);
  const env = {};
  while (words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0])) {
    const w = words.shift();
    const eq = w.indexOf('=');
    env[w.slice(0, eq)] = w.slice(eq + 1);
  }
  return { env, argv: words };
}

/**
 * Starts a server command in its own process group. `{port}` and `{dir}` are replaced;
 * with no `{port}`, `-p PORT` is appended. The soft fd limit of the child is raised to the
 * hard limit by a `sh -c 'ulimit -Sn …; exec "$@"'` wrapper, so the PID is the server's.
 * With gcFile set and a command that starts with `node`, the server is started with
 * `--import gc-probe.mjs`, which writes its GC pauses to gcFile at exit (see readGc).
 */
export function startServer(cmdTemplate, { port, cwd, logFile, gcFile = null }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'natter-bench-'));
  let cmd = cmdTemplate.replaceAll('{dir}', dir);
  if (cmd.includes('{port}')) cmd = cmd.replaceAll('{port}', String(port));
  else cmd += ` -p ${port}`;
  const { env, argv } = parseCommand(cmd);
  let probed = null;
  if (argv[0] === 'node') {
    argv[0] = process.execPath;
    if (gcFile !== null) {
      argv.splice(1, 0, '--import', GC_PROBE);
      env.BENCH_GC_FILE = gcFile;
      // a file left by an earlier process (a restarted node) must not be read as this one's
      fs.rmSync(gcFile, { force: true });
      probed = gcFile;
    }
  }
  const lim = nofileLimits();
  const hard = lim && lim.hard !== Infinity ? String(lim.hard) : 'unlimited';
  const log = fs.openSync(logFile, 'a');
  fs.writeSync(log, `# ${new Date().toISOString()} ${argv.join(' ')}\n`);
  const child = spawn('sh', ['-c', 'ulimit -Sn "$0" 2>/dev/null; exec "$@"', hard, ...argv], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', log, log],
    detached: true,
  });
  fs.closeSync(log);
  const srv = { child, pid: child.pid, port, dir, cmd, gcFile: probed, exited: null, stopping: false, startError: null };
  srv.exitPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      srv.exited = { code, signal, beforeStop: !srv.stopping };
      resolve(srv.exited);
    });
    child.on('error', (err) => {
      srv.startError = err;
      srv.exited = { code: null, signal: null, error: err.message };
      resolve(srv.exited);
    });
  });
  return srv;
}

/** Waits until a TCP connect to the port gets an INFO line; returns the parsed INFO. */
export async function waitReady(srv, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  let lastErr = 'no answer';
  while (Date.now() < deadline) {
    if (srv.exited) {
      throw new Error(`server exited before it was ready (${srv.exited.error ?? `code ${srv.exited.code}, signal ${srv.exited.signal}`})`);
    }
    try {
      return await readInfo(srv.port, Math.max(100, Math.min(2000, deadline - Date.now())));
    } catch (e) {
      lastErr = e.message;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server not ready after ${timeoutMs} ms: ${lastErr}`);
}

function readInfo(port, timeoutMs) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (err, info) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(info);
    };
    const timer = setTimeout(() => done(new Error('no INFO in time')), timeoutMs);
    sock.setEncoding('latin1');
    sock.on('data', (d) => {
      buf += d;
      const eol = buf.indexOf('\n');
      if (eol < 0) return;
      const line = buf.slice(0, eol).trim();
      if (!line.startsWith('INFO ')) return done(new Error(`first line is not INFO: ${line.slice(0, 60)}`));
      try {
        done(null, JSON.parse(line.slice(5)));
      } catch {
        done(null, {});
      }
    });
    sock.on('error', (e) => done(e));
    sock.on('close', () => done(new Error('closed before INFO')));
  });
}

/** SIGTERM to the process group, SIGKILL after graceMs. */
export async function stopServer(srv, graceMs = 5000) {
  srv.stopping = true;
  if (!srv.exited) {
    const kill = (sig) => {
      try {
        process.kill(-srv.pid, sig);
      } catch {
        try {
          process.kill(srv.pid, sig);
        } catch {
          /* gone */
        }
      }
    };
    kill('SIGTERM');
    let forced = false;
    const t = setTimeout(() => {
      forced = true;
      kill('SIGKILL');
    }, graceMs);
    await srv.exitPromise;
    clearTimeout(t);
    if (forced) srv.exited.forcedKill = true;
    // anything else left in the group
    try {
      process.kill(-srv.pid, 'SIGKILL');
    } catch {
      /* none */
    }
  }
  fs.rmSync(srv.dir, { recursive: true, force: true });
  return srv.exited;
}

// ---------------------------------------------------------------- /proc readers

function statFields(pid) {
  const text = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); field n is rest[n - 3]
  return rest;
}

/** PIDs of pid and all of its descendants. */
export function processTree(pid) {
  const kids = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const f = statFields(d);
      const ppid = Number(f[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push(Number(d));
    } catch {
      /* raced */
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) for (const k of kids.get(out[i]) ?? []) out.push(k);
  return out;
}

/** utime+stime in seconds of a process (all its threads). */
export function cpuSeconds(pid) {
  try {
    const f = statFields(pid);
    return (Number(f[11]) + Number(f[12])) / CLK_TCK; // fields 14 and 15
  } catch {
    return 0;
  }
}

export function treeCpuSeconds(pids) {
  let s = 0;
  for (const p of pids) s += cpuSeconds(p);
  return s;
}

/** { rss, hwm } in KiB from /proc/<pid>/status (VmRSS, VmHWM). */
export function memKb(pid) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
    const rss = text.match(/^VmRSS:\s+(\d+)/m);
    const hwm = text.match(/^VmHWM:\s+(\d+)/m);
    return { rss: rss ? Number(rss[1]) : null, hwm: hwm ? Number(hwm[1]) : null };
  } catch {
    return { rss: null, hwm: null };
  }
}

export function treeRssKb(pids) {
  let s = 0;
  let any = false;
  for (const p of pids) {
    const m = memKb(p);
    if (m.rss !== null) {
      s += m.rss;
      any = true;
    }
  }
  return any ? s : null;
}

/** Busy CPU seconds of the whole machine, from the first line of /proc/stat. */
export function machineBusySeconds() {
  try {
    const line = fs.readFileSync('/proc/stat', 'latin1').split('\n', 1)[0];
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...
    return (v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] || 0)) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** CPU seconds of this process (main thread + all worker threads). */
export function selfCpuSeconds() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * Samples the RSS of a process tree every intervalMs; stop() returns the peak in KiB.
 */
export function rssSampler(pids, intervalMs = 50) {
  let peak = treeRssKb(pids) ?? 0;
  const t = setInterval(() => {
    const r = treeRssKb(pids);
    if (r !== null && r > peak) peak = r;
  }, intervalMs);
  return {
    stop() {
      clearInterval(t);
      const r = treeRssKb(pids);
      if (r !== null && r > peak) peak = r;
      return peak;
    },
  };
}

// ---------------------------------------------------------------- GC pauses (gc-probe.mjs)

/**
 * GC pauses a probed server wrote at exit (null when it was not probed or left no
 * file, e.g. after SIGKILL). window: [t0, t1] in process.hrtime ns, or null for
 * the whole process lifetime. Returns { pauses, ms, max_ms, major }: how many
 * pauses started inside the window, their total and longest duration, and how
 * many of them were full (mark-sweep-compact) collections.
 */
export function readGc(srv, window) {
  if (!srv.gcFile) return null;
  let data;
  try {
    data = JSON.parse(fs.readFileSync(srv.gcFile, 'utf8'));
  } catch {
    return null;
  }
  const MAJOR = 4; // perf_hooks constants.NODE_PERFORMANCE_GC_MAJOR
  let pauses = 0;
  let ns = 0;
  let max = 0;
  let major = 0;
  for (const [start, dur, kind] of data.pauses) {
    if (window && (start < window[0] || start > window[1])) continue;
    pauses++;
    ns += dur;
    if (dur > max) max = dur;
    if (kind & MAJOR) major++;
  }
  return { pauses, ms: ns / 1e6, max_ms: max / 1e6, major };
}
