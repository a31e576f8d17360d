/**
 * The canary harness for the hardening tests (issue #17): a Natter with
 * JetStream and two accounts, a canary doing request/reply in one of them,
 * and everything an attacker in the other one needs.
 *
 *   const world = await startCanaryWorld();
 *   const canary = world.canary();
 *   await canary.start();
 *   // ... attack with world.attackerOptions() (or world.host/port + world.attacker for raw sockets)
 *   const seen = await canary.stop();       // { count, failures, max, p50, p99 } in ms
 *   assert.ok(seen.max < LIMIT_MS, ...);
 *   await world.close();
 *
 * Accounts: `A` is the attacker's (user `attacker`), `B` the canary's (user
 * `canary`); JetStream is enabled in both. The canary's loop runs in a worker
 * thread (./canary-worker.ts) so the attacker's client work on the test's
 * main thread is not counted as server latency. Where the server runs:
 * - 'process' (default): a forked child (test/helpers/natter-process.ts), for
 *   the same reason, and so that its RSS is its own (measured after GC);
 * - 'cli': the `natter-server` command with the options as a JSON config
 *   file, for signals and the real logger (`world.cli`);
 * - 'embedded': in this process, with `world.embedded.server` for assertions
 *   on internals (the attacker's client then shares the server's thread).
 */
import { Worker } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ConnectionOptions } from '@nats-io/transport-node';
import type { StartOptions } from '../../src/index.js';
import { startNatter, type TestNatter } from '../helpers/natter.js';
import { startNatterProcess } from '../helpers/natter-process.js';
import { startNatterCli, type NatterCli } from '../helpers/natter-cli.js';
import { removeDir, tempStoreDir } from '../helpers/jetstream.js';
import { freePort } from '../helpers/ports.js';
import type { CanaryResult, CanaryWorkerConfig } from './canary-worker.js';

export type { CanaryResult } from './canary-worker.js';

export interface CanaryWorldOptions {
  where?: 'process' | 'cli' | 'embedded';
  /** Merged into account A's block, e.g. `{ jetstream: { max_streams: 1 } }`. */
  attackerAccount?: Record<string, unknown>;
  /** Merged into the server-wide `jetstream` block (the store directory is the world's). */
  jetstream?: Record<string, unknown>;
  /**
   * Further server options (`max_pending`, `tls`, `system_account`, ...).
   * `accounts` here is merged with A and B, so extra accounts can be added.
   * They cross a process boundary as JSON: no `logger` unless embedded, and
   * with 'cli' they are config file values (durations as "2s", not ms).
   */
  extra?: StartOptions;
  /** Open the monitoring port (world.monitorUrl). */
  monitor?: boolean;
  /** 'cli' only: more command line arguments, e.g. ['-DV']. */
  cliArgs?: string[];
}

export interface CanaryOptions {
  /** A request not answered after this long counts as failed, with this as its latency. Default 10 s. */
  requestTimeoutMs?: number;
  /** Pause between the canary's requests. Default 0: back to back, the tightest loop. */
  pauseMs?: number;
}

export interface Canary {
  /** Resolves once the canary's responder is subscribed and the loop runs. */
  start(): Promise<void>;
  /** Stops the loop; a request still waiting counts with the time it waited so far. */
  stop(): Promise<CanaryResult>;
}

export interface RssSampler {
  /** Stops sampling; the largest VmRSS seen, in bytes. */
  stop(): number;
}

export interface CanaryWorld {
  readonly host: string;
  readonly port: number;
  /** nats://host:port */
  readonly url: string;
  /** http://host:port of the monitoring endpoints; '' unless `monitor` was set. */
  readonly monitorUrl: string;
  /** The server's process id (this process's when embedded). */
  readonly pid: number;
  /** Set with `where: 'embedded'` only. */
  readonly embedded: TestNatter | undefined;
  /** Set with `where: 'cli'` only. */
  readonly cli: NatterCli | undefined;
  /** The JetStream store directory, removed by close(). */
  readonly storeDir: string;
  /** The attacker's credentials in account A, for raw-socket CONNECTs. */
  readonly attacker: { readonly user: string; readonly pass: string };
  /** Connection options for the official client as the attacker. */
  attackerOptions(): ConnectionOptions;
  /** A new canary in account B; several may run at once (each on its own subject). */
  canary(opts?: CanaryOptions): Canary;
  /** The server's VmRSS now, in bytes; readable even while its event loop is blocked. */
  rss(): number;
  /**
   * The server's RSS for comparing against a baseline: after garbage
   * collection in 'process' mode (which waits for the server's event loop, so
   * it is a liveness probe as well), and embedded when this process runs
   * with --expose-gc; plain VmRSS with 'cli'.
   */
  settledRss(): Promise<number>;
  /** Samples rss() every `intervalMs` until stopped, keeping the peak. */
  sampleRss(intervalMs?: number): RssSampler;
  /** Stops running canaries, closes the server (if it still runs), removes its store. */
  close(): Promise<void>;
}

const ATTACKER = { user: 'attacker', pass: 'attacker-pass' } as const;
const CANARY = { user: 'canary', pass: 'canary-pass' } as const;
const HOST = '127.0.0.1';

/** How one kind of server is run: the parts of a world that differ between kinds. */
interface ServerHandle {
  port: number;
  pid: number;
  settledRss(): Promise<number>;
  close(): Promise<void>;
  embedded?: TestNatter;
  cli?: NatterCli;
}

export async function startCanaryWorld(opts: CanaryWorldOptions = {}): Promise<CanaryWorld> {
  const storeDir = tempStoreDir();
  const httpPort = opts.monitor ? await freePort() : 0;
  const { accounts: extraAccounts, ...extra } = opts.extra ?? {};
  const serverOptions: StartOptions = {
    host: HOST,
    port: 0,
    http_port: httpPort,
    jetstream: { store_dir: storeDir, ...opts.jetstream },
    ...extra,
    accounts: {
      A: { jetstream: 'enabled', users: [{ ...ATTACKER }], ...opts.attackerAccount },
      B: { jetstream: 'enabled', users: [{ ...CANARY }] },
      ...extraAccounts,
    },
  };

  let server: ServerHandle;
  try {
    if (opts.where === 'embedded') server = await embeddedServer(serverOptions);
    else if (opts.where === 'cli') server = await cliServer(serverOptions, storeDir, opts.cliArgs ?? []);
    else server = await forkedServer(serverOptions);
  } catch (err) {
    removeDir(storeDir);
    throw err;
  }
  const { port, pid } = server;
  const url = `nats://${HOST}:${port}`;
  const running = new Set<Canary>();
  let canaries = 0;

  const rss = (): number => readVmRss(pid);
  return {
    host: HOST,
    port,
    url,
    monitorUrl: httpPort ? `http://${HOST}:${httpPort}` : '',
    pid,
    embedded: server.embedded,
    cli: server.cli,
    storeDir,
    attacker: ATTACKER,
    attackerOptions: () => ({ servers: url, ...ATTACKER }),
    canary: (copts = {}) =>
      startCanary({
        url,
        ...CANARY,
        subject: `canary.echo.${canaries++}`,
        requestTimeoutMs: copts.requestTimeoutMs ?? 10_000,
        pauseMs: copts.pauseMs ?? 0,
      }, running),
    rss,
    settledRss: () => server.settledRss(),
    sampleRss: (intervalMs = 50) => {
      let peak = rss();
      const t = setInterval(() => (peak = Math.max(peak, rss())), intervalMs);
      return {
        stop: () => {
          clearInterval(t);
          return Math.max(peak, rss());
        },
      };
    },
    close: async () => {
      await Promise.allSettled([...running].map((c) => c.stop()));
      try {
        await server.close();
      } finally {
        removeDir(storeDir);
      }
    },
  };
}

async function embeddedServer(options: StartOptions): Promise<ServerHandle> {
  const natter = await startNatter(options);
  return {
    port: natter.port,
    pid: process.pid,
    embedded: natter,
    settledRss: async () => {
      (globalThis as { gc?: () => void }).gc?.();
      return process.memoryUsage().rss;
    },
    close: () => natter.close(),
  };
}

async function forkedServer(options: StartOptions): Promise<ServerHandle> {
  const child = await startNatterProcess(options);
  return {
    port: child.port,
    pid: child.proc.pid as number,
    settledRss: async () => (await child.stats()).rss,
    close: () => child.stop(),
  };
}

async function cliServer(options: StartOptions, storeDir: string, args: string[]): Promise<ServerHandle> {
  // The store directory is the world's own and removed with it: a good home for the config file.
  const cli = await startNatterCli(options as Record<string, unknown>, storeDir, args);
  return {
    port: cli.port,
    pid: cli.pid,
    cli,
    settledRss: async () => readVmRss(cli.pid),
    close: async () => {
      await cli.stop();
    },
  };
}

/** VmRSS of a process in bytes, from /proc (Linux). */
export function readVmRss(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

function startCanary(cfg: CanaryWorkerConfig, running: Set<Canary>): Canary {
  let worker: Worker | undefined;
  let result: Promise<CanaryResult> | undefined;
  const canary: Canary = {
    start: async () => {
      if (worker) throw new Error('this canary was started already');
      const w = new Worker(fileURLToPath(new URL('./canary-worker.js', import.meta.url)), { workerData: { canary: cfg } });
      worker = w;
      running.add(canary);
      // The worker's first message says the loop runs; its second one, after 'stop', is the result.
      const ready = deferred<void>();
      const done = deferred<CanaryResult>();
      let messages = 0;
      w.on('message', (m: unknown) => (messages++ === 0 ? ready.resolve() : done.resolve(m as CanaryResult)));
      const fail = (err: Error): void => {
        ready.reject(err);
        done.reject(err);
      };
      w.once('error', fail);
      w.once('exit', (code) => fail(new Error(`the canary worker exited (code ${code}) before reporting`)));
      // Rejections after the result is in (the worker exits when terminated) are of no interest.
      done.promise.catch(() => undefined);
      result = done.promise;
      await ready.promise;
    },
    stop: async () => {
      if (!worker || !result) throw new Error('this canary was not started');
      running.delete(canary);
      worker.postMessage('stop');
      try {
        return await result;
      } finally {
        await worker.terminate();
      }
    },
  };
  return canary;
}

/** Node 20 has no Promise.withResolvers. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
