/**
 * The network between the nodes of an embedded cluster (startCluster): one
 * TCP gate in front of each node's route listener, through which every
 * route reaches that node. A node advertises its gate's port as its route
 * address, so routes learnt by gossip go through the gates too.
 *
 * Partitioning a node cuts every route it has, in both directions, and
 * refuses new ones until it is healed; the other nodes keep their routes
 * with one another. A gate tells which node dialled through it from the
 * dialling side's route INFO (`server_id`), the first thing after CONNECT:
 * a route from a partitioned node is cut as soon as it has said who it is.
 * Routes over TLS cannot be told apart this way; the embedded cluster has
 * no route TLS.
 *
 * A gate stays on its port for the cluster's life, so a node restarted on a
 * new route port is still where the others dial it.
 */
import net from 'node:net';

/** How many bytes of a dialling route may pass before its INFO: CONNECT plus INFO are far below this. */
const IDENTIFY_WITHIN_BYTES = 64 * 1024;
const SERVER_ID = /"server_id":"([A-Z0-9]+)"/;

/** One route connection through a gate. */
interface Passage {
  /** The node dialled. */
  readonly to: string;
  /** The dialling node, once its INFO told; null before. */
  from: string | null;
  readonly inbound: net.Socket;
  readonly outbound: net.Socket;
}

interface Gate {
  readonly listener: net.Server;
  readonly port: number;
  /** The node's real route port while it runs; null while it is down (routes are refused). */
  target: number | null;
}

export class RouteGates {
  private readonly gates = new Map<string, Gate>();
  /** server_id -> node name, for the nodes running now. */
  private readonly nodeById = new Map<string, string>();
  private readonly partitioned = new Set<string>();
  private readonly passages = new Set<Passage>();

  /** Opens the gate of node `name` on a random loopback port; resolves with that port. */
  async open(name: string): Promise<number> {
    const listener = net.createServer({ noDelay: true }, (socket) => this.accept(name, socket));
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen({ host: '127.0.0.1', port: 0 }, () => {
        listener.off('error', reject);
        resolve();
      });
    });
    const port = (listener.address() as net.AddressInfo).port;
    this.gates.set(name, { listener, port, target: null });
    return port;
  }

  /** Node `name` runs as `serverId` with its route listener on `routePort`. */
  nodeUp(name: string, serverId: string, routePort: number): void {
    this.gate(name).target = routePort;
    for (const [id, n] of this.nodeById) if (n === name) this.nodeById.delete(id);
    this.nodeById.set(serverId, name);
  }

  /** Node `name` stopped: routes to it are refused until it runs again. */
  nodeDown(name: string): void {
    this.gate(name).target = null;
    this.cut((p) => p.to === name || p.from === name);
  }

  isPartitioned(name: string): boolean {
    return this.partitioned.has(name);
  }

  /** Cuts every route of `name` and refuses new ones until heal(). */
  partition(name: string): void {
    this.gate(name);
    this.partitioned.add(name);
    this.cut((p) => p.to === name || p.from === name);
  }

  /** Lets routes of `name` through again; the nodes' route retries reconnect it. */
  heal(name: string): void {
    this.partitioned.delete(name);
  }

  async close(): Promise<void> {
    this.cut(() => true);
    await Promise.all([...this.gates.values()].map((g) => new Promise<void>((resolve) => g.listener.close(() => resolve()))));
    this.gates.clear();
  }

  private gate(name: string): Gate {
    const g = this.gates.get(name);
    if (g === undefined) throw new Error(`no node named ${JSON.stringify(name)} in this cluster`);
    return g;
  }

  private accept(to: string, inbound: net.Socket): void {
    const target = this.gates.get(to)?.target ?? null;
    if (target === null || this.partitioned.has(to)) {
      inbound.destroy();
      return;
    }
    const outbound = net.connect({ host: '127.0.0.1', port: target, noDelay: true });
    const passage: Passage = { to, from: null, inbound, outbound };
    this.passages.add(passage);
    const end = (): void => this.end(passage);
    inbound.on('error', end).on('close', end);
    outbound.on('error', end).on('close', end);
    let seen = '';
    const identify = (chunk: Buffer): void => {
      seen += chunk.toString('latin1');
      const id = SERVER_ID.exec(seen);
      if (id === null && seen.length < IDENTIFY_WITHIN_BYTES) return;
      inbound.off('data', identify);
      passage.from = id === null ? null : (this.nodeById.get(id[1]) ?? null);
      if (passage.from !== null && this.partitioned.has(passage.from)) this.end(passage);
    };
    inbound.on('data', identify);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  }

  private end(p: Passage): void {
    if (!this.passages.delete(p)) return;
    p.inbound.destroy();
    p.outbound.destroy();
  }

  private cut(which: (p: Passage) => boolean): void {
    for (const p of [...this.passages]) if (which(p)) this.end(p);
  }
}
