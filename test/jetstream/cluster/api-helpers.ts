/**
 * Three Natter nodes with clustered JetStream (one process), for the tests
 * of the API in a cluster: start, wait for one meta leader everywhere,
 * count the replies a request gets, stop and clean up.
 */
import assert from 'node:assert/strict';
import { connect, createInbox, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { routeTo, startNode, type NatterNode, type NodeOptions } from '../../cluster/helpers.js';
import { removeDir, tempStoreDir } from '../../helpers/jetstream.js';
import { freePort } from '../../helpers/ports.js';
import { sleep, waitUntil } from '../../helpers/wait.js';
import type { MetaView } from '../../../src/jetstream/cluster/types.js';

export function metaOf(node: NatterNode): MetaView {
  const meta = node.srv.server.jetstream?.cluster ?? null;
  assert.ok(meta !== null, `${node.name} runs clustered JetStream`);
  return meta;
}

export class JsCluster {
  nodes: NatterNode[] = [];
  private readonly dirs = new Map<string, string>();
  private readonly ports = new Map<string, number>();
  private readonly conns: NatsConnection[] = [];

  /** `extra`: more options for every node (accounts, for one); `clusterExtra`: more of the cluster block (route TLS). */
  constructor(readonly names: readonly string[], private readonly extra: NodeOptions = {}, private readonly clusterExtra: Record<string, unknown> = {}) {}

  /** The three-node mesh up, with one meta leader and every JetStream server known everywhere. */
  async start(): Promise<void> {
    for (const n of this.names) {
      this.dirs.set(n, tempStoreDir());
      this.ports.set(n, await freePort());
    }
    this.nodes = await Promise.all(this.names.map((n) => this.startOne(n)));
    await this.waitForMetaLeader();
    await waitUntil(() => this.nodes.every((n) => metaOf(n).peers().filter((p) => !p.offline).length === this.nodes.length), 15_000, 'every JetStream server known everywhere', 20);
  }

  startOne(name: string): Promise<NatterNode> {
    const routes = this.names.filter((n) => n !== name).map((n) => routeTo(this.ports.get(n) as number));
    return startNode(name, {
      ...this.extra,
      http_port: -1,
      jetstream: { store_dir: this.dirs.get(name) as string },
      clusterBlock: { ...this.clusterExtra, listen: `127.0.0.1:${this.ports.get(name) as number}`, routes },
    });
  }

  /** Restarts a node that was closed (same store directory and route port). */
  async restart(name: string): Promise<NatterNode> {
    const node = await this.startOne(name);
    this.nodes.push(node);
    return node;
  }

  async close(node: NatterNode): Promise<void> {
    await node.close();
    this.nodes = this.nodes.filter((n) => n !== node);
  }

  /** The one node every running node agrees leads the meta group (and is current with). */
  async waitForMetaLeader(timeoutMs = 20_000): Promise<NatterNode> {
    let leader: NatterNode | null = null;
    await waitUntil(() => {
      const leaders = this.nodes.filter((n) => metaOf(n).isLeader());
      if (leaders.length !== 1) return false;
      if (!this.nodes.every((n) => metaOf(n).leaderName() === leaders[0].name && metaOf(n).isCurrent())) return false;
      leader = leaders[0];
      return true;
    }, timeoutMs, 'one meta leader known to every node', 20);
    return leader as unknown as NatterNode;
  }

  /** The JetStream store directory of a node (kept across its restarts). */
  storeDir(name: string): string {
    const d = this.dirs.get(name);
    assert.ok(d !== undefined, `${name} is a node of this cluster`);
    return d;
  }

  node(name: string): NatterNode {
    const n = this.nodes.find((x) => x.name === name);
    assert.ok(n !== undefined, `${name} is running`);
    return n;
  }

  /** A client connection to `node` (a name or a node), closed by stop(). */
  async connect(node: NatterNode | string, opts: ConnectionOptions = {}): Promise<NatsConnection> {
    const n = typeof node === 'string' ? this.node(node) : node;
    const nc = await connect({ ...opts, servers: n.url });
    this.conns.push(nc);
    return nc;
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.conns.map((nc) => nc.close()));
    await Promise.allSettled(this.nodes.map((n) => n.close()));
    for (const d of this.dirs.values()) removeDir(d);
  }
}

/**
 * Sends one request with a private inbox and collects every reply that
 * arrives until `quietMs` after the first one (or `timeoutMs` without any).
 */
export async function repliesTo(nc: NatsConnection, subject: string, body: unknown, o: { quietMs?: number; timeoutMs?: number } = {}): Promise<Array<Record<string, unknown>>> {
  const quietMs = o.quietMs ?? 1000;
  const timeoutMs = o.timeoutMs ?? 10_000;
  const inbox = createInbox();
  const got: Array<Record<string, unknown>> = [];
  const sub = nc.subscribe(inbox, { callback: (err, m) => { if (err === null) got.push(m.json<Record<string, unknown>>()); } });
  await nc.flush();
  nc.publish(subject, body === undefined ? '' : JSON.stringify(body), { reply: inbox });
  const deadline = Date.now() + timeoutMs;
  while (got.length === 0 && Date.now() < deadline) await sleep(20);
  if (got.length > 0) await sleep(quietMs);
  sub.unsubscribe();
  return got;
}
