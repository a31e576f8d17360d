/**
 * A network partition between two Natter processes, each in its own
 * network namespace. The route runs over a veth pair between the two
 * namespaces; clients and monitoring reach each node over a second veth
 * pair from this (the root) namespace, so cutting the route link leaves
 * them connected. Setting the link down must drop the route (PING/PONG
 * notices the silence), and setting it up again must bring the route back
 * and messages across it.
 *
 * Namespaces need root. Without it the test says so and passes, which is
 * the only case it does not run (CI runs as root).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { trackChild } from '../helpers/children.js';
import { sleep, waitUntil } from '../helpers/wait.js';
import { collect } from './helpers.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const CLI = fileURLToPath(new URL('../../src/cli/natter-server.js', import.meta.url));

/** Names unique to this run, so that parallel or leftover runs cannot collide (interface names: 15 bytes at most). */
const tag = String(process.pid % 100000);
const NS = [`natter-p${tag}-1`, `natter-p${tag}-2`] as const;
/** The route link (namespace 1 side, namespace 2 side) and each node's link to the root namespace. */
const ROUTE_IF = [`np${tag}r1`, `np${tag}r2`] as const;
const HOST_IF = [`np${tag}h1`, `np${tag}h2`] as const;
const NODE_IF = [`np${tag}n1`, `np${tag}n2`] as const;
/** A private /24 per run: .1/.2 for the route link, .5/.6 and .9/.10 for root to node 1 and node 2. */
const NET = `10.231.${(process.pid % 250) + 1}`;
const ROUTE_ADDR = [`${NET}.1`, `${NET}.2`] as const;
const HOST_ADDR = [`${NET}.5`, `${NET}.9`] as const;
const NODE_ADDR = [`${NET}.6`, `${NET}.10`] as const;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function setUpNetwork(): void {
  for (const ns of NS) {
    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  }
  ip('link', 'add', ROUTE_IF[0], 'netns', NS[0], 'type', 'veth', 'peer', 'name', ROUTE_IF[1], 'netns', NS[1]);
  for (const i of [0, 1] as const) {
    ip('-n', NS[i], 'addr', 'add', `${ROUTE_ADDR[i]}/30`, 'dev', ROUTE_IF[i]);
    ip('-n', NS[i], 'link', 'set', ROUTE_IF[i], 'up');
    ip('link', 'add', HOST_IF[i], 'type', 'veth', 'peer', 'name', NODE_IF[i], 'netns', NS[i]);
    ip('addr', 'add', `${HOST_ADDR[i]}/30`, 'dev', HOST_IF[i]);
    ip('link', 'set', HOST_IF[i], 'up');
    ip('-n', NS[i], 'addr', 'add', `${NODE_ADDR[i]}/30`, 'dev', NODE_IF[i]);
    ip('-n', NS[i], 'link', 'set', NODE_IF[i], 'up');
  }
}

/** Removes whatever exists of this run's network; deleting a namespace takes its veth ends (and their peers) along. */
function tearDownNetwork(): void {
  for (const ns of NS) {
    try {
      ip('netns', 'del', ns);
    } catch {
      // never created, or already gone
    }
  }
  for (const dev of HOST_IF) {
    try {
      ip('link', 'del', dev);
    } catch {
      // gone with its namespace
    }
  }
}

function config(i: 0 | 1): string {
  const other = ROUTE_ADDR[i === 0 ? 1 : 0];
  return [
    `server_name: P${i + 1}`,
    `listen: "${NODE_ADDR[i]}:4222"`,
    `http: "${NODE_ADDR[i]}:8222"`,
    // A short ping interval so that a silent route is found stale in seconds.
    'ping_interval: "500ms"',
    'ping_max: 2',
    `cluster { name: part, listen: "${ROUTE_ADDR[i]}:6222", routes: ["nats-route://${other}:6222"] }`,
  ].join('\n');
}

async function routeCount(i: 0 | 1): Promise<number> {
  const res = await fetch(`http://${NODE_ADDR[i]}:8222/routez`, { signal: AbortSignal.timeout(1000) });
  const body = (await res.json()) as { num_routes: number };
  return body.num_routes;
}

/** Publishes on node 1 until node 2's subscriber hears one: interest may still be on its way after a heal. */
async function flows(pub: NatsConnection, got: string[], subject: string): Promise<void> {
  const before = got.length;
  await waitUntil(async () => {
    pub.publish(subject, 'ping');
    await pub.flush();
    await sleep(50);
    return got.length > before;
  }, 10000, `a message from P1 to P2 on ${subject}`);
}

describe('a partition between namespaced Natter nodes', () => {
  const procs: ChildProcess[] = [];
  const conns: NatsConnection[] = [];
  let dir = '';

  before(() => {
    if (!isRoot) return;
    tearDownNetwork();
    setUpNetwork();
    dir = mkdtempSync(join(tmpdir(), 'natter-partition-'));
  });

  after(async () => {
    await Promise.all(conns.map((nc) => nc.close().catch(() => undefined)));
    for (const p of procs) p.kill('SIGKILL');
    await Promise.all(procs.map((p) => (p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', r)))));
    if (isRoot) tearDownNetwork();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('drops the route when the link goes down and heals when it comes back', async (t) => {
    if (!isRoot) {
      // Network namespaces need root; this is the one case the test does not run.
      t.diagnostic('skipped: not running as root, network namespaces (ip netns) are unavailable');
      console.log('partition test not run: it needs root for ip netns');
      return;
    }
    let stderr = '';
    for (const i of [0, 1] as const) {
      const file = join(dir, `p${i + 1}.conf`);
      writeFileSync(file, config(i));
      const p = spawn('ip', ['netns', 'exec', NS[i], process.execPath, CLI, '-c', file], { stdio: ['ignore', 'ignore', 'pipe'] });
      trackChild(p);
      p.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      procs.push(p);
    }
    const up = async (i: 0 | 1): Promise<boolean> => (await routeCount(i).catch(() => -1)) === 1;
    await waitUntil(async () => (await up(0)) && (await up(1)), 15000, `the route between P1 and P2 (stderr: ${stderr})`);

    const [c1, c2] = await Promise.all(NODE_ADDR.map((a) => connect({ servers: `nats://${a}:4222`, reconnect: false })));
    conns.push(c1, c2);
    const got = collect(c2, 'part.>');
    await c2.flush();
    await flows(c1, got, 'part.before');

    ip('-n', NS[0], 'link', 'set', ROUTE_IF[0], 'down');
    await waitUntil(async () => (await routeCount(0)) === 0 && (await routeCount(1)) === 0, 15000, 'both sides to drop the route');
    const during = got.length;
    c1.publish('part.during', 'lost');
    await c1.flush();
    await sleep(300);
    assert.equal(got.length, during, 'nothing crosses a cut link');

    ip('-n', NS[0], 'link', 'set', ROUTE_IF[0], 'up');
    await waitUntil(async () => (await routeCount(0)) === 1 && (await routeCount(1)) === 1, 20000, 'the route to come back');
    await flows(c1, got, 'part.after');
    assert.ok(!got.includes('part.during:lost'));
  });
});
