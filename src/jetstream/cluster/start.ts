/**
 * Starting clustered JetStream (JetStream plus a cluster port, see mode.ts):
 * the Raft transport on internal subjects, peer discovery, the group
 * context, and the meta group, whose applied assignments re-open this
 * server's replicas. Logs what nats-server logs at this point.
 *
 * Called by jetstream/start.ts after the engine started (and skipped its
 * single-server recovery) and before the API router is installed.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerCore } from '../../server/core.js';
import { clusterConfigFrom, type RouteURL } from '../../cluster/config.js';
import type { JetStream } from '../jetstream.js';
import { configuredClusterName } from './mode.js';
import { PeerDirectory } from './peers.js';
import { RaftNetwork } from './transport.js';
import { ClusterGroupContext } from './group-context.js';
import { META_GROUP, MetaLayer } from './meta.js';
import { setConsumerInactivityHandler } from './consumer-replica.js';
import { ClusterUsage } from './usage.js';

/** nats-server's name for the folder of the system account's Raft groups. */
const GROUPS_DIR_NAME = '_js_';

const LOOPBACK_OR_ANY = new Set(['127.0.0.1', 'localhost', '::1', '0.0.0.0', '::', '']);

/**
 * Configured routes that lead to other servers: a configuration shared by
 * every node usually lists this node's own route URL too, which must not
 * count towards the cluster's expected size.
 */
function otherRoutes(routes: readonly RouteURL[], ownHost: string, ownPort: number): number {
  let n = 0;
  const seen = new Set<string>();
  for (const r of routes) {
    if (seen.has(r.key)) continue;
    seen.add(r.key);
    const self = ownPort > 0 && r.port === ownPort && (r.host === ownHost || (LOOPBACK_OR_ANY.has(r.host) && LOOPBACK_OR_ANY.has(ownHost)));
    if (!self) n++;
  }
  return n;
}

/** Whether the raft folder of a group holds anything (a restart recovers it). */
function hasState(dir: string): boolean {
  try {
    return existsSync(dir) && readdirSync(dir).length > 0;
  } catch {
    return false;
  }
}

/** The `sync` / `sync_interval` the jetstream block sets, undefined when it sets none. */
function configuredSync(core: ServerCore): unknown {
  const block = core.options.jetstream;
  if (typeof block !== 'object') return undefined;
  for (const [k, v] of Object.entries(block)) if (k.toLowerCase() === 'sync' || k.toLowerCase() === 'sync_interval') return v;
  return undefined;
}

/** A running cluster layer. */
export interface ClusteredJetStream {
  readonly meta: MetaLayer;
  /** Goodbye to the cluster, replicas stopped (data stays), the meta group, discovery and the transport stopped. */
  stop(): Promise<void>;
}

export async function startJetStreamCluster(core: ServerCore, js: JetStream): Promise<ClusteredJetStream> {
  const log = core.logger;
  log.info('Starting JetStream cluster');
  const sys = core.accounts.get(core.systemAccountName);
  if (sys === undefined) throw new Error(`JetStream cluster requires the system account ('${core.systemAccountName}')`);
  const clusterName = configuredClusterName(core.options);
  const cluster = clusterConfigFrom(core.options.cluster);
  const routes = cluster === null ? 0 : otherRoutes(cluster.routes, cluster.host, cluster.port);
  const groupsDir = join(js.config.storeDir, 'jetstream', core.systemAccountName, GROUPS_DIR_NAME);
  // The Raft logs are fsynced before anything is acknowledged, unless the
  // operator chose interval syncing explicitly (`sync: 2m`): our durable default.
  const sync = configuredSync(core) === undefined || js.config.sync === 'always';

  // Bound once the meta layer exists: announcements before that report no HA assets.
  let meta: MetaLayer | null = null;
  const directory = new PeerDirectory(core, sys, clusterName, {
    available: () => ({
      memory: Math.max(0, js.config.maxMemory - js.used('memory')),
      file: Math.max(0, js.config.maxStore - js.used('file')),
    }),
    haAssets: () => meta?.haAssets() ?? 0,
  });
  const network = new RaftNetwork(core, sys, directory.selfId);
  const context = new ClusterGroupContext({ core, sys, clusterName, groupsDir, sync, network, peers: directory });

  log.info('Creating JetStream metadata controller');
  log.info(hasState(join(groupsDir, META_GROUP)) ? 'JetStream cluster recovering state' : 'JetStream cluster bootstrapping');
  network.start();
  directory.start();
  if (routes < 2) {
    // The meta group's size is taken from the routes: with seed-only routes, servers that start at the
    // same moment could form groups of two before they all know each other (nats-server has the same rule).
    log.warn(`JetStream cluster: the routes name ${routes} other server${routes === 1 ? '' : 's'}; list every member of the cluster in each server's routes, so the meta group knows its size from the start`);
  }
  const layer = new MetaLayer({ js, context, directory, expectedSize: Math.max(2, routes + 1) });
  meta = layer;
  try {
    await layer.start();
  } catch (e) {
    directory.close();
    network.close();
    throw e;
  }
  setConsumerInactivityHandler(js, (account, stream, consumer) => layer.reportConsumerExpired(account, stream, consumer));
  const usage = new ClusterUsage(core, sys, js, directory.selfId);
  const stopLameDuck = core.onLameDuck(() => layer.lameDuck());
  return {
    meta: layer,
    stop: async () => {
      stopLameDuck();
      usage.close();
      await layer.stop();
      directory.close();
      network.close();
    },
  };
}
