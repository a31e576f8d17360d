/**
 * startCluster(): a cluster of embedded servers in this process, for tests
 * that need routes, queue groups across servers or replicated JetStream.
 *
 * In-process rather than child processes: a node starts in milliseconds
 * and a 3-node JetStream cluster is whole (routes and meta leader) in well
 * under a second, where three `natter-server` children spend that long
 * just loading Node. Every node shares the process's one core, which is
 * also true of children on a loaded CI machine.
 *
 * Each node keeps its name (`n1`, `n2`, ...), client URL and JetStream
 * store across stop() and restart(), so clients reconnect to it and its
 * replicas catch up, as with a restarted nats-server. Routes go through
 * gates (route-gates.ts) that partition() closes.
 */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { Server } from '../server/server.js';
import type { RawBlock } from '../server/options.js';
import { launchServer, makePrivateStoreDir, removeStoreDir, type RunningServer, type StartOptions } from './embedded-server.js';
import { RouteGates } from './route-gates.js';

export interface ClusterOptions {
  /** How many servers; 3 by default. */
  nodes?: number;
  /**
   * JetStream on every node: `true`, or the `jetstream` block. Each node
   * stores in a directory of its own: a temporary one removed by close(),
   * or `<store_dir>/<node name>` (kept) when the block names a `store_dir`.
   */
  jetstream?: boolean | RawBlock;
  /** The cluster's name; `natter` by default. */
  name?: string;
  /**
   * More options for every server (accounts, authorization, max_payload,
   * a logger...). The cluster sets `port`, `server_name`, `cluster` and
   * `jetstream` itself.
   */
  server?: Omit<StartOptions, 'port' | 'server_name' | 'cluster' | 'jetstream'>;
  /** How long start, restart and heal wait for the cluster to be whole; 30 s by default. */
  timeoutMs?: number;
}

/** One server of a started cluster. */
export interface ClusterNode {
  /** Its `server_name`: `n1`, `n2`, ... */
  readonly name: string;
  /** nats://127.0.0.1:port, the same across restarts. */
  readonly url: string;
  readonly running: boolean;
  readonly partitioned: boolean;
  /** The running server's handle (id, ports(), reload()...); null while stopped. */
  readonly server: RunningServer | null;
  /** Shuts the server down (its store stays); its clients see it go as from a crash of the process. */
  stop(): Promise<void>;
  /**
   * Starts it again with the same name, client port and store (stopping it
   * first if it runs); resolves once it has its routes back and, with
   * JetStream, follows the meta leader.
   */
  restart(): Promise<void>;
  /**
   * Cuts every route between this server and the others, and refuses new
   * ones until heal(): a network partition with this server alone on one
   * side. Its clients stay connected to it (it keeps serving them on its
   * own, without JetStream quorum); the others keep their routes.
   */
  partition(): void;
  /** Ends partition(); resolves once its routes are back (and it follows the meta leader). */
  heal(): Promise<void>;
}

export interface RunningCluster {
  readonly name: string;
  readonly nodes: readonly ClusterNode[];
  /** Every node's client URL, for a client's `servers` list. */
  readonly urls: string[];
  /** The node named `name` (`n1`...); throws for an unknown name. */
  node(name: string): ClusterNode;
  /** Stops every node, removes the temporary stores. Calling it again does nothing. */
  close(): Promise<void>;
}

/** A plain /healthz: the server, the meta group and every replica this server holds. */
const HEALTHZ_ALL = { jsEnabledOnly: false, jsServerOnly: false, account: '', stream: '', consumer: '', details: false } as const;
const DEFAULT_NODES = 3;
const DEFAULT_TIMEOUT_MS = 30_000;
const POLL_MS = 20;
/** A restarted node's client port may be held for a moment by a socket of the test (as its local end). */
const REBIND_TIMEOUT_MS = 5_000;

/** Starts `nodes` servers in a full mesh; resolves once every route is up and, with JetStream, one meta leader is known to all. */
export async function startCluster(opts: ClusterOptions = {}): Promise<RunningCluster> {
  const count = opts.nodes ?? DEFAULT_NODES;
  if (!Number.isInteger(count) || count < 1) throw new Error(`startCluster: nodes must be a positive integer, got ${String(opts.nodes)}`);
  const cluster = new EmbeddedCluster(opts, count);
  try {
    await cluster.start();
  } catch (e) {
    await cluster.close();
    throw e;
  }
  return cluster;
}

class EmbeddedCluster implements RunningCluster {
  readonly name: string;
  readonly nodes: EmbeddedNode[] = [];
  readonly gates = new RouteGates();
  readonly timeoutMs: number;
  private closing: Promise<void> | null = null;

  constructor(readonly opts: ClusterOptions, count: number) {
    this.name = opts.name ?? 'natter';
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    for (let i = 1; i <= count; i++) this.nodes.push(new EmbeddedNode(this, `n${i}`));
  }

  get urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  get jetstream(): RawBlock | null {
    const js = this.opts.jetstream;
    if (js === undefined || js === false) return null;
    return js === true ? {} : js;
  }

  node(name: string): ClusterNode {
    const n = this.nodes.find((x) => x.name === name);
    if (n === undefined) throw new Error(`no node named ${JSON.stringify(name)} in this cluster`);
    return n;
  }

  async start(): Promise<void> {
    // Loaded here rather than at the top: startServer() users never load monitoring.
    const [{ healthzData }, { MonitorContext }] = await Promise.all([import('../monitor/healthz.js'), import('../monitor/context.js')]);
    this.healthy = (server) => healthzData(new MonitorContext(server), HEALTHZ_ALL).problem === null;
    for (const n of this.nodes) n.gatePort = await this.gates.open(n.name);
    await Promise.all(this.nodes.map((n) => n.launch()));
    await this.whole();
  }

  /** /healthz's verdict on a server (set by start()). */
  private healthy: (server: Server) => boolean = () => false;

  /**
   * Waits until every running node outside a partition has a route to every
   * other such node and, with JetStream, they all follow one meta leader
   * among them and each is healthy as /healthz says (current with the meta
   * leader, every replica it holds current with its group's leader): what
   * a readiness probe waits for before sending traffic to a restarted node.
   */
  async whole(): Promise<void> {
    await waitFor(() => this.isWhole(), this.timeoutMs, 'the cluster to be whole (routes, meta leader)');
  }

  private isWhole(): boolean {
    const up = this.nodes.filter((n) => n.live !== null && !n.partitioned);
    const names = new Set(up.map((n) => n.name));
    for (const n of up) {
      const server = (n.live as Live).server;
      const peers = new Set((server.cluster?.routes() ?? []).map((r) => r.remoteName));
      for (const other of names) if (other !== n.name && !peers.has(other)) return false;
      if (this.jetstream !== null) {
        const meta = server.jetstream?.cluster ?? null;
        if (meta === null || !names.has(meta.leaderName()) || !this.healthy(server)) return false;
      }
    }
    return true;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all(this.nodes.map((n) => n.stop()));
      await this.gates.close();
      for (const n of this.nodes) n.removeTemporaryStore();
    })();
    return this.closing;
  }
}

interface Live {
  readonly handle: RunningServer;
  readonly server: Server;
}

class EmbeddedNode implements ClusterNode {
  gatePort = 0;
  /** The client port, chosen by the first start and kept. */
  private clientPort = 0;
  live: Live | null = null;
  /** The node's store: made for it (and removed by the cluster's close()) or under the given store_dir. */
  private readonly storeDir: string | null;
  private readonly temporaryStore: boolean;

  constructor(private readonly cluster: EmbeddedCluster, readonly name: string) {
    const js = cluster.jetstream;
    const given = js === null ? undefined : (js.store_dir ?? js.store ?? js.storedir);
    this.temporaryStore = js !== null && (typeof given !== 'string' || given === '');
    this.storeDir = js === null ? null : this.temporaryStore ? makePrivateStoreDir() : join(given as string, name);
    if (this.storeDir !== null && !this.temporaryStore) mkdirSync(this.storeDir, { recursive: true });
  }

  get url(): string {
    return `nats://127.0.0.1:${this.clientPort}`;
  }

  get running(): boolean {
    return this.live !== null;
  }

  get partitioned(): boolean {
    return this.cluster.gates.isPartitioned(this.name);
  }

  get server(): RunningServer | null {
    return this.live?.handle ?? null;
  }

  /** Starts the server (not waiting for the cluster to be whole). */
  async launch(): Promise<void> {
    const c = this.cluster;
    const others = c.nodes.filter((n) => n !== this).map((n) => `nats-route://127.0.0.1:${n.gatePort}`);
    const options: StartOptions = {
      ...c.opts.server,
      port: this.clientPort,
      server_name: this.name,
      cluster: { name: c.name, listen: '127.0.0.1:-1', advertise: `127.0.0.1:${this.gatePort}`, routes: others },
    };
    const js = c.jetstream;
    if (js !== null) options.jetstream = { ...js, store_dir: this.storeDir as string };
    const live = await bindRetrying(() => launchServer(options), this.clientPort !== 0);
    this.live = live;
    this.clientPort = live.handle.port;
    c.gates.nodeUp(this.name, live.server.id, live.server.cluster?.varz()?.cluster_port ?? 0);
  }

  async stop(): Promise<void> {
    const live = this.live;
    if (live === null) return;
    this.live = null;
    this.cluster.gates.nodeDown(this.name);
    await live.handle.close();
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
    await this.cluster.whole();
  }

  partition(): void {
    this.cluster.gates.partition(this.name);
  }

  async heal(): Promise<void> {
    this.cluster.gates.heal(this.name);
    await this.cluster.whole();
  }

  removeTemporaryStore(): void {
    if (this.temporaryStore && this.storeDir !== null) removeStoreDir(this.storeDir);
  }
}

/** Runs `start`, retrying while a port it must reuse is still taken. */
async function bindRetrying<T>(start: () => Promise<T>, reusingPort: boolean): Promise<T> {
  const deadline = Date.now() + REBIND_TIMEOUT_MS;
  for (;;) {
    try {
      return await start();
    } catch (e) {
      const inUse = (e as NodeJS.ErrnoException).code === 'EADDRINUSE';
      if (!reusingPort || !inUse || Date.now() >= deadline) throw e;
      await sleep(100);
    }
  }
}

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() >= deadline) throw new Error(`startCluster: timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
