/**
 * The `cluster` block, read the way nats-server's parseCluster reads it:
 * `name`, `listen` or `host`/`port`, `routes`, `authorization { user,
 * password, timeout }`, `advertise`, `no_advertise`, `connect_retries`,
 * `permissions { import, export }`, `tls`. Keys are case-insensitive;
 * unknown keys are errors. The `tls` block is read and its files loaded by
 * the TLS module, as nats-server loads them while parsing the configuration.
 *
 * Two keys today's Helm charts write are accepted and change nothing, with
 * a notice (clusterKeyNotice): `pool_size` (Natter keeps one route
 * connection per peer, as nats-server before 2.10 did) and `compression`
 * (Natter announces no compression, so every peer negotiates "off", as it
 * does with a nats-server 2.9 peer). Other keys nats-server 2.10+ knows are
 * refused as not supported.
 */
import { loadTls, TlsConfigError, type TlsMaterial } from '../tls/index.js';
import { permissionsConfigFrom, type SubjectPermissionConfig } from '../auth/permissions.js';
import { SecurityConfigError } from '../auth/conf-input.js';
import type { RawBlock } from '../server/options.js';

/** nats-server's customary route port, used when the block names none. */
export const DEFAULT_ROUTE_PORT = 6222;
/** nats-server's AUTH_TIMEOUT, also the default for routes without TLS. */
const DEFAULT_AUTH_TIMEOUT_MS = 2000;

/** A route to solicit: where to dial and the credentials its URL carries. */
export interface RouteURL {
  readonly host: string;
  readonly port: number;
  readonly user: string | null;
  readonly password: string | null;
  /** `host:port`, lower-cased: how routes are compared. */
  readonly key: string;
  /** The URL without its password, for logs. */
  readonly redacted: string;
}

export interface ClusterPermissions {
  /** What this server accepts from routes (it only advertises interest in these). */
  readonly import: SubjectPermissionConfig | null;
  /** What this server lets routes subscribe to (it ignores other remote interest). */
  readonly export: SubjectPermissionConfig | null;
}

export interface ClusterConfig {
  /** The configured cluster name; null lets the cluster agree on a generated one. */
  readonly name: string | null;
  readonly host: string;
  /** The route port; 0 picks a random one (configured as -1). */
  readonly port: number;
  /** `host:port` advertised to other servers instead of the listen address. */
  readonly advertise: string | null;
  readonly routes: readonly RouteURL[];
  /** Route authorization: both set, or both null. */
  readonly user: string | null;
  readonly password: string | null;
  readonly authTimeoutMs: number;
  /** Keep the client URLs of the cluster out of what clients are told. */
  readonly noAdvertise: boolean;
  /** Extra attempts for routes learned by gossip (configured routes retry forever). */
  readonly connectRetries: number;
  readonly permissions: ClusterPermissions | null;
  /**
   * Route TLS: every route, accepted or dialled, starts with a handshake,
   * and both sides must present a certificate the CA vouches for.
   */
  readonly tls: TlsMaterial | null;
}

export class ClusterConfigError extends Error {}

/**
 * Blocks already read: the TLS files are loaded once per block, however
 * often the configuration is looked at (monitoring reads it per request).
 */
const parsed = new WeakMap<RawBlock, ClusterConfig | null>();

/**
 * Reads a cluster block. Returns null when clustering is off (no block, or
 * a zero port, which is also what an empty `--cluster` flag sets).
 */
export function clusterConfigFrom(raw: RawBlock | undefined): ClusterConfig | null {
  if (raw === undefined) return null;
  const known = parsed.get(raw);
  if (known !== undefined) return known;
  const config = readClusterBlock(raw);
  parsed.set(raw, config);
  return config;
}

function readClusterBlock(raw: RawBlock): ClusterConfig | null {
  let name: string | null = null;
  let host = '0.0.0.0';
  let port: number | null = null;
  let advertise: string | null = null;
  let routes: RouteURL[] = [];
  let user: string | null = null;
  let password: string | null = null;
  let authTimeoutMs = DEFAULT_AUTH_TIMEOUT_MS;
  let noAdvertise = false;
  let connectRetries = 0;
  let permissions: ClusterPermissions | null = null;
  let authPermissions: ClusterPermissions | null = null;
  let tls: TlsMaterial | null = null;

  for (const [key, value] of Object.entries(raw)) {
    switch (key.toLowerCase()) {
      case 'name':
        name = str(value, 'cluster name');
        break;
      case 'listen': {
        const hp = parseListen(value);
        if (hp.host !== null) host = hp.host;
        port = hp.port;
        break;
      }
      case 'port':
        port = int(value, 'cluster port');
        break;
      case 'host':
      case 'net':
        host = str(value, 'cluster host');
        break;
      case 'authorization': {
        const auth = parseAuthorization(value);
        user = auth.user;
        password = auth.password;
        if (auth.timeoutMs !== null) authTimeoutMs = auth.timeoutMs;
        authPermissions = auth.permissions;
        break;
      }
      case 'routes':
        routes = parseRoutes(value);
        break;
      case 'tls':
        try {
          tls = loadTls(value, 'peer');
        } catch (e) {
          if (e instanceof TlsConfigError) throw new ClusterConfigError(e.message);
          throw e;
        }
        break;
      case 'cluster_advertise':
      case 'advertise':
        advertise = str(value, 'cluster advertise');
        break;
      case 'no_advertise':
        noAdvertise = bool(value, 'no_advertise');
        break;
      case 'connect_retries':
        connectRetries = int(value, 'connect_retries');
        break;
      case 'permissions':
        permissions = parsePermissions(value);
        break;
      case 'pool_size':
      case 'compression': {
        // Checked, then without effect (see the notice).
        const problem = clusterKeyProblem(key, value);
        if (problem !== null) throw new ClusterConfigError(problem);
        break;
      }
      default:
        throw new ClusterConfigError(clusterKeyProblem(key, value) ?? `unknown field "${key}" in cluster block`);
    }
  }
  if (port === 0) return null;
  if (port === null) port = DEFAULT_ROUTE_PORT;
  if (port < -1 || port > 65535) throw new ClusterConfigError(`invalid cluster port ${port}`);
  if ((user === null) !== (password === null)) {
    throw new ClusterConfigError('cluster authorization needs both user and password');
  }
  if (tls !== null && tls.certificate === null) {
    // Both ends of a route present a certificate: without one no route could ever form.
    throw new ClusterConfigError("missing 'cert_file' in TLS configuration");
  }
  if (name !== null && name.includes(' ')) {
    // nats-server refuses this in validateOptions: names travel in space-separated protocol lines.
    throw new ClusterConfigError(`cluster name cannot contain spaces: "${name}"`);
  }
  return {
    name: name === '' ? null : name,
    host,
    port: port === -1 ? 0 : port,
    advertise,
    routes,
    user,
    password,
    authTimeoutMs,
    noAdvertise,
    connectRetries,
    // Top-level permissions win over the deprecated ones inside authorization.
    permissions: permissions ?? authPermissions,
    tls,
  };
}

/** Keys of nats-server 2.10+ cluster blocks Natter does not implement, and what they would turn on. */
const UNSUPPORTED_CLUSTER_KEYS: ReadonlyMap<string, string> = new Map([
  ['accounts', 'pinned route accounts'],
  ['ping_interval', 'a route ping interval of its own'],
  ['ping_max', 'a route ping limit of its own'],
  ['write_deadline', 'a route write deadline of its own'],
  ['write_timeout', 'route write timeout policies'],
]);
const COMPRESSION_MODES: readonly string[] = ['off', 'disabled', 'accept', 'on', 'enabled', 's2_auto', 's2_uncompressed', 's2_fast', 's2_better', 's2_best'];

/**
 * The problem with a cluster key that is not one of those readClusterBlock
 * reads itself (pool_size and compression values, keys of features Natter
 * lacks), or null. For checks at load time, with positions.
 */
export function clusterKeyProblem(key: string, value: unknown): string | null {
  const lower = key.toLowerCase();
  if (lower === 'pool_size') {
    return typeof value === 'number' && Number.isInteger(value) && value >= -1 ? null : `cluster pool_size must be an integer >= -1, got ${JSON.stringify(value)}`;
  }
  if (lower === 'compression') {
    const mode = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>).mode : value;
    if (typeof mode === 'boolean' || (typeof mode === 'string' && COMPRESSION_MODES.includes(mode.toLowerCase()))) return null;
    return `cluster compression mode ${JSON.stringify(mode)} is not one of ${COMPRESSION_MODES.join(', ')}`;
  }
  const feature = UNSUPPORTED_CLUSTER_KEYS.get(lower);
  return feature === undefined ? null : `cluster ${key} (${feature}) is not supported by this Natter version`;
}

/** What a cluster key that is accepted without effect means here, for the log; null for other keys. */
export function clusterKeyNotice(key: string, value: unknown): string | null {
  const lower = key.toLowerCase();
  if (lower === 'pool_size') return `cluster pool_size ${JSON.stringify(value)} is accepted: Natter keeps one route connection per peer`;
  if (lower === 'compression') return 'cluster compression is accepted: Natter announces none, so routes run uncompressed (negotiated "off", as with a nats-server 2.9 peer)';
  return null;
}

/** Every key a cluster block may hold (lower case), those refused as not supported included. */
export const KNOWN_CLUSTER_KEYS: ReadonlySet<string> = new Set([
  'name', 'listen', 'port', 'host', 'net', 'authorization', 'routes', 'tls', 'cluster_advertise', 'advertise', 'no_advertise',
  'connect_retries', 'permissions', 'pool_size', 'compression', ...UNSUPPORTED_CLUSTER_KEYS.keys(),
]);

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new ClusterConfigError(`${what} must be a string, got ${typeof v}`);
  return v;
}

function int(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ClusterConfigError(`${what} must be an integer, got ${JSON.stringify(v)}`);
  return v;
}

function bool(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') throw new ClusterConfigError(`${what} must be a boolean, got ${JSON.stringify(v)}`);
  return v;
}

/** `listen`: "host:port", ":port", or a bare port number, as nats-server's parseListen. */
function parseListen(v: unknown): { host: string | null; port: number } {
  if (typeof v === 'number') return { host: null, port: int(v, 'cluster listen port') };
  const s = str(v, 'cluster listen');
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(-?\d+)$/.exec(s);
  if (m === null) throw new ClusterConfigError(`could not parse cluster listen address "${s}"`);
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? null : host, port: Number.parseInt(m[3], 10) };
}

function parseAuthorization(v: unknown): { user: string | null; password: string | null; timeoutMs: number | null; permissions: ClusterPermissions | null } {
  if (!isBlock(v)) throw new ClusterConfigError('cluster authorization must be a map');
  let user: string | null = null;
  let password: string | null = null;
  let timeoutMs: number | null = null;
  let permissions: ClusterPermissions | null = null;
  for (const [key, value] of Object.entries(v)) {
    switch (key.toLowerCase()) {
      case 'user':
      case 'username':
        user = str(value, 'cluster authorization user');
        break;
      case 'pass':
      case 'password':
        password = str(value, 'cluster authorization password');
        break;
      case 'timeout':
        // Seconds, integer or fractional, as nats-server reads it.
        if (typeof value !== 'number') throw new ClusterConfigError('cluster authorization timeout must be a number of seconds');
        timeoutMs = Math.round(value * 1000);
        break;
      case 'users':
        throw new ClusterConfigError('Cluster authorization does not allow multiple users');
      case 'token':
        throw new ClusterConfigError('Cluster authorization does not support tokens');
      case 'permissions':
      case 'default_permission':
      case 'default_permissions':
        permissions = parsePermissions(value);
        break;
      default:
        throw new ClusterConfigError(`unknown field "${key}" in cluster authorization`);
    }
  }
  return { user: user === '' ? null : user, password: user === '' ? null : password, timeoutMs, permissions };
}

function parsePermissions(v: unknown): ClusterPermissions | null {
  let config;
  try {
    config = permissionsConfigFrom(v, 'cluster.permissions');
  } catch (e) {
    if (e instanceof SecurityConfigError) throw new ClusterConfigError(e.message);
    throw e;
  }
  if (config === null) return null;
  if (config.response !== null) throw new ClusterConfigError('Cluster permissions do not support dynamic responses');
  if (config.publish === null && config.subscribe === null) return null;
  return { import: config.publish, export: config.subscribe };
}

function parseRoutes(v: unknown): RouteURL[] {
  if (!Array.isArray(v)) throw new ClusterConfigError('cluster routes must be an array of URLs');
  const out: RouteURL[] = [];
  const seen = new Set<string>();
  for (const item of v) {
    const s = str(item, 'route URL');
    // nats-server warns about and skips a repeated entry.
    if (seen.has(s)) continue;
    seen.add(s);
    out.push(parseRouteURL(s));
  }
  return out;
}

/** `nats-route://[user:pass@]host:port` (any scheme is accepted, as url.Parse does). */
export function parseRouteURL(s: string): RouteURL {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new ClusterConfigError(`error parsing route url ["${s}"]`);
  }
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  if (host === '' || u.port === '') throw new ClusterConfigError(`route url "${s}" needs a host and a port`);
  const port = Number.parseInt(u.port, 10);
  const user = u.username === '' ? null : decodeURIComponent(u.username);
  const password = user === null ? null : decodeURIComponent(u.password);
  return routeURL(host, port, user, password);
}

export function routeURL(host: string, port: number, user: string | null, password: string | null): RouteURL {
  const hp = joinHostPort(host, port);
  return {
    host,
    port,
    user,
    password,
    key: hp.toLowerCase(),
    redacted: `nats-route://${user === null ? '' : `${user}:xxxxx@`}${hp}`,
  };
}

export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function isBlock(v: unknown): v is RawBlock {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
