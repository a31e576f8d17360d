/**
 * A JetStream cluster of real server processes for fault tests: N nodes of
 * either Natter (`E2E_SERVER=natter`, the default; the CLI compiled next to
 * this file) or the reference nats-server (`E2E_SERVER=nats-server`), each
 * started from a generated config file with its own store directory.
 *
 * Networks: `loopback` (free ports on 127.0.0.1) or `netns` (every node in
 * its own network namespace, see netns.ts; needed for partitions, and it
 * fails with a clear message when not root or `ip` is missing).
 *
 * Faults: kill9 (SIGKILL), stop/cont (SIGSTOP/SIGCONT), shutdown (SIGTERM,
 * graceful), restart (same config and store), partition/isolate/heal.
 * close() kills every process, removes the namespaces and the directory,
 * also from a process exit hook when a test fails half-way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { trackChild } from '../helpers/children.js';
import { NATS_SERVER_BIN } from '../helpers/nats-server.js';
import { freePort, waitForListen } from '../helpers/ports.js';
import { sleep } from '../helpers/wait.js';
import { NetnsNetwork } from './netns.js';

export type ServerKind = 'natter' | 'nats-server';
export type NetworkKind = 'loopback' | 'netns';

const NATTER_CLI = fileURLToPath(new URL('../../src/cli/natter-server.js', import.meta.url));

/** The server under test, from E2E_SERVER (default: natter). */
export function e2eServerKind(): ServerKind {
  const v = process.env.E2E_SERVER ?? 'natter';
  if (v !== 'natter' && v !== 'nats-server') throw new Error(`E2E_SERVER must be natter or nats-server, not ${v}`);
  return v;
}

export interface ClusterOptions {
  readonly size?: number;
  readonly network?: NetworkKind;
  readonly kind?: ServerKind;
  /** More top-level config lines for every node. */
  readonly extraConfig?: readonly string[];
}

interface Addresses {
  readonly clientHost: string;
  readonly clientPort: number;
  readonly httpPort: number;
  readonly clusterHost: string;
  readonly clusterPort: number;
}

export class E2ENode {
  proc: ChildProcess | null = null;
  private exitWait: Promise<void> = Promise.resolve();
  /** Set once the current process has exited. */
  exited = true;

  constructor(
    readonly index: number,
    readonly name: string,
    readonly addr: Addresses,
    readonly configFile: string,
    readonly storeDir: string,
    readonly logFile: string,
  ) {}

  get url(): string {
    return `nats://${this.addr.clientHost}:${this.addr.clientPort}`;
  }

  get httpBase(): string {
    return `http://${this.addr.clientHost}:${this.addr.httpPort}`;
  }

  get pid(): number {
    const pid = this.proc?.pid;
    if (pid === undefined || this.exited) throw new Error(`${this.name} is not running`);
    return pid;
  }

  /** Starts the process; its output is appended to the node's log file. */
  launch(argv: readonly string[]): void {
    if (!this.exited) throw new Error(`${this.name} is already running`);
    const fd = openSync(this.logFile, 'a');
    writeFileSync(fd, `\n# ${new Date().toISOString()} start ${argv.join(' ')}\n`);
    const p = spawn(argv[0], argv.slice(1), { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    trackChild(p);
    this.proc = p;
    this.exited = false;
    this.exitWait = new Promise((resolve) => {
      p.once('exit', () => {
        this.exited = true;
        resolve();
      });
    });
  }

  signal(sig: NodeJS.Signals): void {
    process.kill(this.pid, sig);
  }

  /** Resolves when the current process has exited. */
  waitExit(): Promise<void> {
    return this.exitWait;
  }

  /** The last `lines` lines of the node's log (all its incarnations). */
  logTail(lines = 40): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}

/** The part of /jsz this harness and the checker read (nats-server 2.9.10 and Natter). */
export interface Jsz {
  readonly meta_cluster?: { readonly name?: string; readonly leader?: string; readonly cluster_size?: number };
  readonly account_details?: readonly {
    readonly name: string;
    readonly stream_detail?: readonly {
      readonly name: string;
      readonly cluster?: { readonly leader?: string };
      readonly state: { readonly messages: number; readonly bytes: number; readonly first_seq: number; readonly last_seq: number; readonly num_deleted?: number };
    }[];
  }[];
}

const liveClusters = new Set<E2ECluster>();
let exitHookInstalled = false;

export class E2ECluster {
  readonly nodes: E2ENode[] = [];
  private readonly clients: NatsConnection[] = [];
  private closed = false;

  private constructor(
    readonly kind: ServerKind,
    readonly dir: string,
    readonly net: NetnsNetwork | null,
  ) {}

  /** Writes the configs, starts every node and waits for their client ports. */
  static async start(o: ClusterOptions = {}): Promise<E2ECluster> {
    const size = o.size ?? 3;
    const kind = o.kind ?? e2eServerKind();
    const net = o.network === 'netns' ? NetnsNetwork.create(size) : null;
    const c = new E2ECluster(kind, mkdtempSync(join(tmpdir(), 'natter-e2e-')), net);
    liveClusters.add(c);
    installExitHook();
    try {
      const addrs: Addresses[] = [];
      for (let i = 0; i < size; i++) {
        if (net !== null) {
          addrs.push({ clientHost: net.accessAddr[i], clientPort: 4222, httpPort: 8222, clusterHost: net.clusterAddr[i], clusterPort: 6222 });
        } else {
          addrs.push({ clientHost: '127.0.0.1', clientPort: await freePort(), httpPort: await freePort(), clusterHost: '127.0.0.1', clusterPort: await freePort() });
        }
      }
      for (let i = 0; i < size; i++) {
        const name = `n${i + 1}`;
        const nodeDir = join(c.dir, name);
        const storeDir = join(nodeDir, 'store');
        mkdirSync(storeDir, { recursive: true });
        const a = addrs[i];
        const routes = addrs.filter((_, k) => k !== i).map((p) => `"nats-route://${p.clusterHost}:${p.clusterPort}"`);
        const configFile = join(nodeDir, 'server.conf');
        writeFileSync(
          configFile,
          [
            `server_name: ${name}`,
            `listen: "${a.clientHost}:${a.clientPort}"`,
            `http: "${a.clientHost}:${a.httpPort}"`,
            `jetstream { store_dir: "${storeDir}" }`,
            `cluster { name: e2e, listen: "${a.clusterHost}:${a.clusterPort}", routes: [${routes.join(', ')}] }`,
            ...(o.extraConfig ?? []),
            '',
          ].join('\n'),
        );
        c.nodes.push(new E2ENode(i, name, a, configFile, storeDir, join(nodeDir, 'server.log')));
      }
      for (const n of c.nodes) c.launch(n.index);
      await Promise.all(c.nodes.map((n) => c.waitListening(n.index)));
      return c;
    } catch (e) {
      await c.close();
      throw e;
    }
  }

  get size(): number {
    return this.nodes.length;
  }

  /** Every node's client URL (for clients that should fail over). */
  get urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  indexOf(name: string): number {
    const i = this.nodes.findIndex((n) => n.name === name);
    if (i < 0) throw new Error(`no node named ${name}`);
    return i;
  }

  private launch(i: number): void {
    const n = this.nodes[i];
    const argv = this.kind === 'natter' ? [process.execPath, NATTER_CLI, '-c', n.configFile] : [NATS_SERVER_BIN, '-c', n.configFile];
    n.launch(this.net === null ? argv : this.net.wrap(i, argv));
  }

  private async waitListening(i: number, timeoutMs = 20000): Promise<void> {
    const n = this.nodes[i];
    await waitForListen(n.addr.clientPort, timeoutMs, n.addr.clientHost, () => (n.exited ? `${n.name} exited during start-up:\n${n.logTail(20)}` : null));
  }

  /**
   * A client that knows every node and reconnects for ever, trying node
   * `prefer` first (then the others in order). Short pings, so a frozen or
   * cut-off node is left within seconds. Closed by close().
   */
  async client(name: string, prefer = 0): Promise<NatsConnection> {
    const order = this.nodes.map((_, k) => this.nodes[(prefer + k) % this.size].url);
    const nc = await connect({
      servers: order,
      noRandomize: true,
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 200,
      reconnectJitter: 100,
      pingInterval: 1000,
      maxPingOut: 3,
      timeout: 5000,
    });
    this.clients.push(nc);
    return nc;
  }

  /** A client connected to node i only (no failover to another node). */
  async clientOn(i: number, name = `e2e-${this.nodes[i].name}`): Promise<NatsConnection> {
    const nc = await connect({ servers: this.nodes[i].url, name, reconnect: false, timeout: 5000 });
    this.clients.push(nc);
    return nc;
  }

  /** /jsz of node i (query e.g. `accounts=true&streams=true`); null when it does not answer in time. */
  async jsz(i: number, query = '', timeoutMs = 2000): Promise<Jsz | null> {
    if (this.nodes[i].exited) return null;
    try {
      const res = await fetch(`${this.nodes[i].httpBase}/jsz${query === '' ? '' : `?${query}`}`, { signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) return null;
      return (await res.json()) as Jsz;
    } catch {
      return null;
    }
  }

  /**
   * Waits until a majority of the running nodes name the same meta leader and
   * that leader is running; returns its index.
   */
  async waitMetaLeader(timeoutMs = 30000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let seen = '';
    for (;;) {
      const views = await Promise.all(this.nodes.map((_, i) => this.jsz(i)));
      const votes = new Map<string, number>();
      for (const v of views) {
        const l = v?.meta_cluster?.leader;
        if (l !== undefined && l !== '') votes.set(l, (votes.get(l) ?? 0) + 1);
      }
      seen = JSON.stringify(views.map((v) => v?.meta_cluster?.leader ?? null));
      for (const [leader, count] of votes) {
        const li = this.nodes.findIndex((n) => n.name === leader);
        if (li >= 0 && !this.nodes[li].exited && count > this.size / 2) return li;
      }
      if (Date.now() > deadline) throw new Error(`no meta leader within ${timeoutMs} ms (leaders seen per node: ${seen})`);
      await sleep(100);
    }
  }

  /** SIGKILL node i and wait until it is gone. */
  async kill9(i: number): Promise<void> {
    const n = this.nodes[i];
    n.signal('SIGKILL');
    await n.waitExit();
  }

  /** SIGTERM node i (graceful shutdown); SIGKILL after `graceMs`. */
  async shutdown(i: number, graceMs = 15000): Promise<void> {
    const n = this.nodes[i];
    n.signal('SIGTERM');
    const t = setTimeout(() => {
      if (!n.exited) n.signal('SIGKILL');
    }, graceMs);
    await n.waitExit();
    clearTimeout(t);
  }

  /**
   * SIGUSR2: lame duck mode (stop accepting clients, hand over leaderships,
   * close clients over `lame_duck_duration`, exit); SIGKILL after `boundMs`.
   */
  async lameDuck(i: number, boundMs = 60000): Promise<void> {
    const n = this.nodes[i];
    n.signal('SIGUSR2');
    const t = setTimeout(() => {
      if (!n.exited) n.signal('SIGKILL');
    }, boundMs);
    await n.waitExit();
    clearTimeout(t);
  }

  /** SIGSTOP: the process freezes with its sockets open. */
  stop(i: number): void {
    this.nodes[i].signal('SIGSTOP');
  }

  /** SIGCONT after stop(). */
  cont(i: number): void {
    this.nodes[i].signal('SIGCONT');
  }

  /** Starts node i again (it must have exited) with the same config and store; waits for its client port. */
  async restart(i: number, timeoutMs = 20000): Promise<void> {
    this.launch(i);
    await this.waitListening(i, timeoutMs);
  }

  private requireNet(): NetnsNetwork {
    if (this.net === null) throw new Error('partitions need the cluster started with network: "netns"');
    return this.net;
  }

  isolate(i: number): void {
    this.requireNet().isolate(i);
  }

  partition(groups: readonly (readonly number[])[]): void {
    this.requireNet().partition(groups);
  }

  heal(): void {
    this.requireNet().heal();
  }

  /** Every node's log tail, for a failure message. */
  logs(lines = 30): string {
    return this.nodes.map((n) => `--- ${n.name} ---\n${n.logTail(lines)}`).join('\n');
  }

  /** Closes clients, kills every process, removes the network and the directory. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.clients.map((nc) => nc.close().catch(() => undefined)));
    for (const n of this.nodes) {
      if (n.exited) continue;
      try {
        // A stopped process must be continued for SIGKILL to be reported promptly by its parent `wait`.
        n.signal('SIGKILL');
        n.signal('SIGCONT');
      } catch {
        // already gone
      }
    }
    await Promise.all(this.nodes.map((n) => n.waitExit()));
    this.net?.teardown();
    rmSync(this.dir, { recursive: true, force: true });
    liveClusters.delete(this);
  }

  /** Synchronous last resort from the exit hook. */
  killNow(): void {
    for (const n of this.nodes) {
      if (n.exited || n.proc?.pid === undefined) continue;
      try {
        process.kill(n.proc.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    this.net?.teardown();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of liveClusters) c.killNow();
  });
}
