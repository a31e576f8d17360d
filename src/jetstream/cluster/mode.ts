/**
 * When JetStream runs clustered: JetStream is on and the `cluster` block
 * has a route port. Read from the options alone (no block is parsed for
 * good), so option validation, the engine's start (which must leave
 * recovery to the meta layer when clustered) and the meta layer agree.
 */

/** The cluster layer's default route port (cluster/config.ts), repeated here to keep this module free of imports. */
const DEFAULT_ROUTE_PORT = 6222;

/** The options this reads (structural: the server's options module imports this one to validate). */
export interface ClusterModeOptions {
  readonly jetstream?: Readonly<Record<string, unknown>> | boolean;
  readonly cluster?: Readonly<Record<string, unknown>>;
  readonly server_name?: string;
}

/** Whether the options turn JetStream on (a block with `enabled: false` does not). */
export function jetStreamOn(o: ClusterModeOptions): boolean {
  const js = o.jetstream;
  if (js === undefined || js === false) return false;
  if (js === true) return true;
  for (const [k, v] of Object.entries(js)) {
    const key = k.toLowerCase();
    if ((key === 'enabled' || key === 'enable') && v === false) return false;
  }
  return true;
}

function blockValue(block: Readonly<Record<string, unknown>>, key: string): unknown {
  for (const [k, v] of Object.entries(block)) if (k.toLowerCase() === key) return v;
  return undefined;
}

/**
 * The route port the cluster block asks for (0: clustering off), read as the
 * cluster layer reads `port` and `listen`: a block naming neither listens on
 * the customary route port.
 */
function routePortOf(o: ClusterModeOptions): number {
  const block = o.cluster;
  if (block === undefined) return 0;
  let port: number | null = null;
  const listen = blockValue(block, 'listen');
  if (typeof listen === 'number') port = listen;
  if (typeof listen === 'string') {
    const m = /:(-?\d+)$/.exec(listen.trim());
    if (m !== null) port = Number(m[1]);
  }
  const explicit = blockValue(block, 'port');
  if (typeof explicit === 'number') port = explicit;
  return port ?? DEFAULT_ROUTE_PORT;
}

/** JetStream with a cluster port: the meta group and replicated assets, as nats-server. */
export function isClusteredJetStream(o: ClusterModeOptions): boolean {
  return jetStreamOn(o) && routePortOf(o) !== 0;
}

/** The configured cluster name ('' when none). */
export function configuredClusterName(o: ClusterModeOptions): string {
  const name = o.cluster === undefined ? undefined : blockValue(o.cluster, 'name');
  return typeof name === 'string' ? name : '';
}

/** Why nats-server would refuse these options for a JetStream cluster (its words), or null. */
export function clusteredJetStreamProblem(o: ClusterModeOptions): string | null {
  if (!isClusteredJetStream(o)) return null;
  if (o.server_name === undefined || o.server_name === '') return 'jetstream cluster requires `server_name` to be set';
  if (configuredClusterName(o) === '') return 'jetstream cluster requires `cluster.name` to be set';
  return null;
}

/** The jetstream block's `unique_tag` (lower-cased, '' when none): placement never puts two replicas on servers sharing its value. */
export function uniqueTagOf(o: ClusterModeOptions): string {
  const js = o.jetstream;
  if (js === undefined || typeof js === 'boolean') return '';
  const tag = blockValue(js, 'unique_tag');
  return typeof tag === 'string' ? tag.trim().toLowerCase() : '';
}
