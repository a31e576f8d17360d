/**
 * The `leafnodes` block, read the way nats-server 2.9's parseLeafNodes
 * reads it:
 *
 *     leafnodes {
 *       listen: "host:port" | port | host/port, advertise, no_advertise
 *       authorization { user, password, account, timeout, users: [{ user, password, account }] }
 *       tls { ... }
 *       reconnect: <seconds>
 *       remotes: [{ url | urls, account, credentials, nkey, tls { ... }, deny_imports, deny_exports,
 *                   ws_compression, ws_no_masking }]
 *     }
 *
 * Keys are case-insensitive; unknown keys are errors. A problem is thrown
 * as a LeafNodeConfigError naming the key path it was found at, so that
 * the configuration loader can point at `file:line:col` (see
 * leafNodeBlockProblem) with nats-server's wording.
 */
import { SecurityConfigError } from '../auth/conf-input.js';
import { permissionsConfigFrom, type SubjectPermissionConfig } from '../auth/permissions.js';
import type { ConfNode } from '../config/parser.js';
import type { RawBlock } from '../server/options.js';
import { loadTls, TlsConfigError, type TlsMaterial } from '../tls/index.js';

/** nats-server's DEFAULT_LEAFNODE_PORT, used for `listen` without a port and for URLs without one. */
export const DEFAULT_LEAFNODE_PORT = 7422;
/** DEFAULT_LEAF_NODE_RECONNECT: one second between attempts. */
const DEFAULT_RECONNECT_MS = 1000;
/** nats-server's AUTH_TIMEOUT for leaf connections without TLS. */
const DEFAULT_AUTH_TIMEOUT_MS = 2000;

/** One URL of a remote: where to dial and the credentials it carries. */
export interface LeafURL {
  readonly host: string;
  readonly port: number;
  readonly user: string | null;
  readonly password: string | null;
  /** `host:port`, as /varz and the logs show it. */
  readonly hostPort: string;
  /** TLS from the start of the dial (`tls://`, `wss://`): else only when the hub asks. */
  readonly tlsScheme: boolean;
  /** `ws://` or `wss://`: the hub's websocket port, on its leafnode path. */
  readonly websocket: boolean;
  /** The URL's path (a websocket URL's goes after the leafnode path, as nats-server 2.9 puts it). */
  readonly path: string;
  /** The URL as written, the password hidden (nats-server's redactURLList). */
  readonly redacted: string;
}

export interface LeafRemoteConfig {
  readonly urls: readonly LeafURL[];
  /** The local account the connection is bound to; null: the global account. */
  readonly account: string | null;
  /** A creds file: its user JWT and seed sign the hub's nonce. */
  readonly credentials: string | null;
  /** An nkey seed (or a file holding one): signs the hub's nonce. */
  readonly nkey: string | null;
  readonly tls: TlsMaterial | null;
  /** Subjects whose messages this side does not take (no interest sent for them, none accepted). */
  readonly denyImports: readonly string[];
  /** Subjects this side does not send (their messages stay here, the hub's interest in them is ignored). */
  readonly denyExports: readonly string[];
  /** Over websocket: ask for permessage-deflate (`ws_compression`). */
  readonly wsCompression: boolean;
  /** Over websocket: ask the hub to take unmasked frames (`ws_no_masking`). */
  readonly wsNoMasking: boolean;
}

export interface LeafUser {
  readonly user: string;
  readonly password: string;
  readonly account: string | null;
}

export interface LeafNodeConfig {
  readonly host: string;
  /** The leafnode port; null: this server accepts no leaf connections (only remotes). 0: a random port. */
  readonly port: number | null;
  readonly advertise: string | null;
  /** `authorization { user, password }`: the single leaf user. */
  readonly user: LeafUser | null;
  /** `authorization { users }`. */
  readonly users: readonly LeafUser[];
  /** `authorization { account }`: where leafs without their own account binding go. */
  readonly account: string | null;
  readonly authTimeoutMs: number;
  readonly tls: TlsMaterial | null;
  readonly reconnectMs: number;
  readonly remotes: readonly LeafRemoteConfig[];
}

/** A bad leafnodes block; `path` names the key (and array index) it was found at. */
export class LeafNodeConfigError extends Error {
  readonly path: readonly (string | number)[];

  constructor(path: readonly (string | number)[], message: string) {
    super(message);
    this.path = path;
  }
}

const parsed = new WeakMap<RawBlock, LeafNodeConfig>();

/** Reads a leafnodes block (once per block object; TLS files are loaded then). */
export function leafNodeConfigFrom(raw: RawBlock): LeafNodeConfig {
  const known = parsed.get(raw);
  if (known !== undefined) return known;
  const config = readBlock(raw);
  parsed.set(raw, config);
  return config;
}

/**
 * The first problem of a leafnodes block from a configuration file, with
 * the position of the key it concerns (where nats-server points), or null.
 */
export function leafNodeBlockProblem(node: ConfNode, raw: RawBlock): { pos: ConfNode['pos']; text: string } | null {
  try {
    leafNodeConfigFrom(raw);
    return null;
  } catch (e) {
    if (!(e instanceof LeafNodeConfigError)) throw e;
    return { pos: positionOf(node, e.path), text: e.message };
  }
}

/** The position of the key at `path` (the deepest one that exists). */
function positionOf(node: ConfNode, path: readonly (string | number)[]): ConfNode['pos'] {
  let pos = node.pos;
  let at: ConfNode = node;
  for (const step of path) {
    if (typeof step === 'number') {
      if (at.kind !== 'array' || at.items[step] === undefined) break;
      at = at.items[step];
      continue;
    }
    if (at.kind !== 'map') break;
    let found = false;
    for (const entry of at.entries.values()) {
      if (entry.key.toLowerCase() !== step) continue;
      pos = entry.keyPos;
      at = entry.value;
      found = true;
      break;
    }
    if (!found) break;
  }
  return pos;
}

function readBlock(raw: RawBlock): LeafNodeConfig {
  let host = '0.0.0.0';
  let port: number | null = null;
  let advertise: string | null = null;
  let auth: LeafAuthorization = { user: null, users: [], account: null, timeoutMs: null };
  let tls: TlsMaterial | null = null;
  let reconnectMs = DEFAULT_RECONNECT_MS;
  let remotes: LeafRemoteConfig[] = [];
  for (const [key, value] of Object.entries(raw)) {
    const k = key.toLowerCase();
    const at = [k];
    switch (k) {
      case 'listen': {
        const hp = parseListen(value, at);
        if (hp.host !== null) host = hp.host;
        port = hp.port;
        break;
      }
      case 'port':
        port = int(value, at);
        break;
      case 'host':
      case 'net':
        host = str(value, at);
        break;
      case 'advertise':
        advertise = str(value, at);
        break;
      case 'no_advertise':
        // Keeps the cluster's other leafnode URLs out of INFO in nats-server; this server gossips
        // none (INFO lists its own URL only), so the setting holds whatever its value. Type-checked.
        bool(value, at);
        break;
      case 'authorization':
        auth = parseAuthorization(value, at);
        break;
      case 'tls':
        tls = parseTls(value, at, 'client');
        break;
      case 'reconnect':
      case 'reconnect_delay':
        reconnectMs = int(value, at) * 1000;
        break;
      case 'remotes':
        remotes = parseRemotes(value, at);
        break;
      default:
        throw new LeafNodeConfigError(at, `unknown field "${key}"`);
    }
  }
  if (port !== null && (port < -1 || port > 65535)) throw new LeafNodeConfigError(['port'], `invalid leafnode port ${port}`);
  return {
    host,
    port: port === null || port === 0 ? null : port === -1 ? 0 : port,
    advertise,
    user: auth.user,
    users: auth.users,
    account: auth.account,
    authTimeoutMs: auth.timeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS,
    tls,
    reconnectMs,
    remotes,
  };
}

interface LeafAuthorization {
  user: LeafUser | null;
  users: LeafUser[];
  account: string | null;
  timeoutMs: number | null;
}

function parseAuthorization(v: unknown, at: readonly string[]): LeafAuthorization {
  const m = block(v, at, 'authorization');
  let user: string | null = null;
  let password = '';
  let account: string | null = null;
  let timeoutMs: number | null = null;
  let users: LeafUser[] = [];
  for (const [key, value] of Object.entries(m)) {
    const k = key.toLowerCase();
    const here = [...at, k];
    switch (k) {
      case 'user':
      case 'username':
        user = str(value, here);
        break;
      case 'pass':
      case 'password':
        password = str(value, here);
        break;
      case 'account':
        account = str(value, here);
        break;
      case 'timeout':
        if (typeof value !== 'number') throw new LeafNodeConfigError(here, `interface conversion: interface {} is ${goType(value)}, not float64`);
        timeoutMs = Math.round(value * 1000);
        break;
      case 'users':
        users = parseUsers(value, here);
        break;
      default:
        throw new LeafNodeConfigError(here, `unknown field "${key}"`);
    }
  }
  return { user: user === null ? null : { user, password, account }, users, account, timeoutMs };
}

function parseUsers(v: unknown, at: readonly (string | number)[]): LeafUser[] {
  if (!Array.isArray(v)) throw new LeafNodeConfigError(at, `Expected users field to be an array, got ${goType(v)}`);
  return v.map((item, i) => {
    const m = block(item, [...at, i], 'user');
    let user = '';
    let password = '';
    let account: string | null = null;
    for (const [key, value] of Object.entries(m)) {
      const k = key.toLowerCase();
      const here = [...at, k];
      if (k === 'user' || k === 'username') user = str(value, here);
      else if (k === 'pass' || k === 'password') password = str(value, here);
      else if (k === 'account') account = str(value, here);
      else throw new LeafNodeConfigError(here, `unknown field "${key}"`);
    }
    return { user, password, account };
  });
}

function parseRemotes(v: unknown, at: readonly (string | number)[]): LeafRemoteConfig[] {
  if (!Array.isArray(v)) throw new LeafNodeConfigError(at, `Expected remotes field to be an array, got ${goType(v)}`);
  return v.map((item, i) => parseRemote(item, [...at, i]));
}

function parseRemote(v: unknown, at: readonly (string | number)[]): LeafRemoteConfig {
  const m = block(v, at, 'remote leafnode');
  const urls: LeafURL[] = [];
  let account: string | null = null;
  let credentials: string | null = null;
  let nkey: string | null = null;
  let tls: TlsMaterial | null = null;
  let denyImports: string[] = [];
  let denyExports: string[] = [];
  let wsCompression = false;
  let wsNoMasking = false;
  for (const [key, value] of Object.entries(m)) {
    const k = key.toLowerCase();
    const here = [...at, k];
    switch (k) {
      case 'url':
        urls.push(parseLeafURL(str(value, here), here));
        break;
      case 'urls': {
        const list = Array.isArray(value) ? value : [value];
        for (const u of list) urls.push(parseLeafURL(str(u, here), here));
        break;
      }
      case 'account':
      case 'local':
        account = str(value, here);
        break;
      case 'credentials':
      case 'creds':
        credentials = str(value, here);
        break;
      case 'nkey':
      case 'seed':
        nkey = str(value, here);
        break;
      case 'tls':
        tls = parseTls(value, here, 'client');
        break;
      case 'deny_imports':
      case 'deny_import':
        denyImports = subjectList(value, here);
        break;
      case 'deny_exports':
      case 'deny_export':
        denyExports = subjectList(value, here);
        break;
      case 'ws_compress':
      case 'ws_compression':
      case 'websocket_compress':
      case 'websocket_compression':
        wsCompression = bool(value, here);
        break;
      case 'ws_no_masking':
      case 'websocket_no_masking':
        wsNoMasking = bool(value, here);
        break;
      default:
        throw new LeafNodeConfigError(here, `unknown field "${key}"`);
    }
  }
  if (urls.length === 0) throw new LeafNodeConfigError(at, 'remote leafnode is missing a url');
  if (urls.some((u) => u.websocket !== urls[0].websocket)) {
    const list = urls.map((u) => JSON.stringify(u.redacted)).join(' ');
    throw new LeafNodeConfigError(at, `remote leaf node configuration cannot have a mix of websocket and non-websocket urls: [${list}]`);
  }
  return { urls, account, credentials, nkey, tls, denyImports, denyExports, wsCompression, wsNoMasking };
}

/** `nats-leaf://`, `nats://`, `tls://`, `ws://` or `wss://` `[user:pass@]host[:port][/path]`. */
function parseLeafURL(s: string, at: readonly (string | number)[]): LeafURL {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new LeafNodeConfigError(at, `error parsing leafnode url ["${s}"]`);
  }
  const scheme = u.protocol.slice(0, -1).toLowerCase();
  const websocket = scheme === 'ws' || scheme === 'wss';
  if (scheme !== 'nats-leaf' && scheme !== 'nats' && scheme !== 'tls' && !websocket) {
    throw new LeafNodeConfigError(at, `error parsing leafnode url ["${s}"]: unsupported scheme "${scheme}"`);
  }
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  if (host === '') throw new LeafNodeConfigError(at, `error parsing leafnode url ["${s}"]`);
  // A websocket URL without a port means the scheme's (`URL` leaves it out when it is the default).
  const defaultPort = scheme === 'ws' ? 80 : scheme === 'wss' ? 443 : DEFAULT_LEAFNODE_PORT;
  const port = u.port === '' ? defaultPort : Number.parseInt(u.port, 10);
  const user = u.username === '' ? null : decodeURIComponent(u.username);
  return {
    host,
    port,
    user,
    password: user === null ? null : decodeURIComponent(u.password),
    hostPort: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
    tlsScheme: scheme === 'tls' || scheme === 'wss',
    websocket,
    path: u.pathname === '/' ? '' : u.pathname,
    redacted: u.password === '' ? s : s.replace(`:${u.password}@`, ':xxxxx@'),
  };
}

function subjectList(v: unknown, at: readonly (string | number)[]): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
  throw new LeafNodeConfigError(at, `Expected subject permissions to be a subject, or array of subjects, got ${goType(v)}`);
}

function parseTls(v: unknown, at: readonly (string | number)[], context: 'client' | 'peer'): TlsMaterial {
  try {
    return loadTls(v, context);
  } catch (e) {
    if (e instanceof TlsConfigError) throw new LeafNodeConfigError(at, e.message);
    throw e;
  }
}

/** `listen`: "host:port", ":port", or a port number, as nats-server's parseListen. */
function parseListen(v: unknown, at: readonly string[]): { host: string | null; port: number } {
  if (typeof v === 'number') return { host: null, port: int(v, at) };
  const s = str(v, at);
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(-?\d+)$/.exec(s);
  if (m === null) throw new LeafNodeConfigError(at, `could not parse address string "${s}"`);
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? null : host, port: Number.parseInt(m[3], 10) };
}

/** The deny lists as permissions: what may be published (exports) and subscribed (imports). */
export function denyPermissions(remote: LeafRemoteConfig): { publish: SubjectPermissionConfig | null; subscribe: SubjectPermissionConfig | null } | null {
  if (remote.denyImports.length === 0 && remote.denyExports.length === 0) return null;
  try {
    const p = permissionsConfigFrom({
      ...(remote.denyExports.length > 0 ? { publish: { deny: [...remote.denyExports] } } : {}),
      ...(remote.denyImports.length > 0 ? { subscribe: { deny: [...remote.denyImports] } } : {}),
    }, 'leafnodes.remotes');
    return p === null ? null : { publish: p.publish, subscribe: p.subscribe };
  } catch (e) {
    if (e instanceof SecurityConfigError) throw new LeafNodeConfigError(['remotes'], e.message);
    throw e;
  }
}

/** Go's name for a decoded configuration value's type, as its conversion errors print it. */
function goType(v: unknown): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int64' : 'float64';
  if (Array.isArray(v)) return '[]interface {}';
  if (v instanceof Date) return 'time.Time';
  return 'map[string]interface {}';
}

function str(v: unknown, at: readonly (string | number)[]): string {
  if (typeof v !== 'string') throw new LeafNodeConfigError(at, `interface conversion: interface {} is ${goType(v)}, not string`);
  return v;
}

function int(v: unknown, at: readonly (string | number)[]): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new LeafNodeConfigError(at, `interface conversion: interface {} is ${goType(v)}, not int64`);
  return v;
}

function bool(v: unknown, at: readonly (string | number)[]): boolean {
  if (typeof v !== 'boolean') throw new LeafNodeConfigError(at, `interface conversion: interface {} is ${goType(v)}, not bool`);
  return v;
}

function block(v: unknown, at: readonly (string | number)[], what: string): RawBlock {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Date) {
    throw new LeafNodeConfigError(at, `Expected ${what} to be a map, got ${goType(v)}`);
  }
  return v as RawBlock;
}
