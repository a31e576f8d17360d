/**
 * Cluster test pieces: Natter nodes with clustering started, nats-server
 * nodes with a cluster block, log capture, and polling for routes and for
 * interest to reach the node a message is published on.
 *
 * No side effects at import: `node --test` loads every file under test/.
 */
import net from 'node:net';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { StartOptions } from '../../src/index.js';
import type { ClusterHandle } from '../../src/cluster/handle.js';
import { LogCapture } from '../helpers/log-capture.js';
import { startNatter, type TestNatter } from '../helpers/natter.js';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';
import { freePort } from '../helpers/ports.js';
import { sleep, waitUntil } from '../helpers/wait.js';

export interface NatterNode {
  readonly name: string;
  readonly srv: TestNatter;
  readonly cluster: ClusterHandle;
  readonly url: string;
  readonly routePort: number;
  readonly log: LogCapture;
  close(): Promise<void>;
}

export interface NodeOptions extends StartOptions {
  /** The cluster block; `listen` defaults to 127.0.0.1 on a random port. */
  clusterBlock?: Record<string, unknown>;
  /** Client port to reuse (restarts). */
  clientPort?: number;
}

export async function startNode(name: string, o: NodeOptions = {}): Promise<NatterNode> {
  const { clusterBlock, clientPort, ...rest } = o;
  const log = rest.logger instanceof LogCapture ? rest.logger : new LogCapture({ debug: true });
  const block: Record<string, unknown> = { listen: '127.0.0.1:-1', name: 'c', ...clusterBlock };
  // `name: undefined` asks for no name at all (a generated one).
  for (const k of Object.keys(block)) if (block[k] === undefined) delete block[k];
  const srv = await startNatter({ ...rest, server_name: name, port: clientPort ?? 0, cluster: block, logger: log });
  const cluster = srv.server.cluster;
  if (cluster === null) throw new Error('the server started without its cluster');
  return {
    name,
    srv,
    cluster,
    url: srv.url,
    routePort: cluster.varz()?.cluster_port ?? 0,
    log,
    close: () => srv.close(),
  };
}

/** `nats-route://[user:pass@]127.0.0.1:<port>` */
export function routeTo(port: number, creds = ''): string {
  return `nats-route://${creds === '' ? '' : `${creds}@`}127.0.0.1:${port}`;
}

export interface NatsNode {
  readonly name: string;
  readonly handle: NatsServerHandle;
  readonly url: string;
  readonly port: number;
  readonly routePort: number;
  readonly httpPort: number;
  readonly config: string;
  close(): Promise<void>;
}

/**
 * nats-server 2.9.10 with a cluster block. `cluster` is the block's inside
 * (conf syntax); `extra` is more top-level configuration.
 */
export async function startNatsNode(name: string, cluster: string, opts: { extra?: string; port?: number; routePort?: number; httpPort?: number } = {}): Promise<NatsNode> {
  const port = opts.port ?? (await freePort());
  const routePort = opts.routePort ?? (await freePort());
  const httpPort = opts.httpPort ?? (await freePort());
  const config = [
    `server_name: ${name}`,
    `http: "127.0.0.1:${httpPort}"`,
    opts.extra ?? '',
    `cluster { listen: "127.0.0.1:${routePort}"\n${cluster}\n}`,
  ].join('\n');
  const handle = await startNatsServer({ port, config, args: ['-D'] });
  return { name, handle, url: handle.url, port, routePort, httpPort, config, close: () => handle.stop() };
}

interface RoutezEntry {
  remote_id: string;
  subscriptions_list?: string[];
}

export async function natsRoutez(node: NatsNode): Promise<RoutezEntry[]> {
  const res = await fetch(`http://127.0.0.1:${node.httpPort}/routez?subs=1`);
  const body = (await res.json()) as { routes: RoutezEntry[] };
  return body.routes;
}

/** Every Natter node has exactly `n` registered routes and every nats-server node too. */
export async function waitForMesh(natter: readonly NatterNode[], nats: readonly NatsNode[], n: number, timeoutMs = 5000): Promise<void> {
  await waitUntil(async () => {
    for (const node of natter) if (node.cluster.routes().length !== n) return false;
    for (const node of nats) if ((await natsRoutez(node)).length !== n) return false;
    return true;
  }, timeoutMs, `a full mesh of ${n + 1} servers`, 20);
}

/**
 * Waits until `node` has heard of `count` routes with interest in
 * `subject` (as the route announced it: "subject" or "subject queue").
 */
export async function waitForInterest(node: NatterNode | NatsNode, entry: string, count: number, timeoutMs = 3000): Promise<void> {
  await waitUntil(async () => {
    let seen = 0;
    if ('cluster' in node) {
      for (const r of node.cluster.routes()) {
        if (r.subscriptions.some((s) => (s.queue === null ? s.subject : `${s.subject} ${s.queue}`) === entry)) seen++;
      }
    } else {
      // nats-server's /routez lists subjects only, queue groups left out.
      const subject = entry.split(' ')[0];
      for (const r of await natsRoutez(node)) if ((r.subscriptions_list ?? []).includes(subject)) seen++;
    }
    return seen >= count;
  }, timeoutMs, `${count} route(s) on ${node.name} with interest in "${entry}"`, 20);
}

export function client(url: string, opts: { user?: string; pass?: string } = {}): Promise<NatsConnection> {
  return connect({ servers: url, reconnect: false, ...opts });
}

/** Collects subjects (and payloads) of what arrives on a subscription. */
export function collect(nc: NatsConnection, subject: string, opts: { queue?: string } = {}): string[] {
  const got: string[] = [];
  nc.subscribe(subject, { ...opts, callback: (err, m) => { if (err === null) got.push(`${m.subject}:${m.string()}`); } });
  return got;
}

/**
 * A raw TCP conversation: what the peer says, and whether it closed. For
 * comparing Natter's route port with nats-server's byte for byte.
 */
export async function rawExchange(port: number, lines: readonly string[], waitMs = 300): Promise<{ text: string; closed: boolean }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  let text = '';
  let closed = false;
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.on('error', () => undefined);
  const gone = new Promise<void>((r) => socket.once('close', () => {
    closed = true;
    r();
  }));
  await new Promise<void>((r) => socket.once('connect', () => r()));
  for (const l of lines) {
    await sleep(30);
    socket.write(l);
  }
  await Promise.race([gone, sleep(waitMs)]);
  socket.destroy();
  return { text, closed };
}

/** What a raw exchange said after the greeting INFO. */
export function afterInfo(text: string): string {
  return text.replace(/^INFO \{.*?\} ?\r\n/, '');
}
