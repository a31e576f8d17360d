/**
 * The `websocket` block, read the way nats-server 2.9.10's parseWebsocket
 * reads it: `listen` or `host`/`port`, `advertise`, `tls { ... }`, `no_tls`,
 * `same_origin`, `allowed_origins` (and its aliases), `compression`,
 * `handshake_timeout` (seconds or a Go duration), `jwt_cookie`,
 * `no_auth_user`, and `authorization { user, password, token, timeout }`.
 * Keys are case-insensitive; unknown keys are errors.
 *
 * One parser for both shapes a block arrives in (see src/auth/conf-input.ts):
 * from the configuration file, problems carry `file:line:col`; from plain
 * options (embedders, the RawBlock kept in ServerOptions), the path of the
 * value. The checks that need the rest of the configuration (TLS required
 * unless `no_tls`, the override users against the top-level ones,
 * `jwt_cookie` needs operator mode) are `websocketStartProblem`, made when
 * the listener starts, as nats-server makes them in validateOptions.
 */
import { fromConf, fromPlain, Problems, describe, type InEntry, type InNode, type Problem } from '../auth/conf-input.js';
import type { ConfNode } from '../config/parser.js';
import { DurationError, parseGoDuration } from '../config/durations.js';
import { parseTlsBlock, TlsConfigError, type TlsConfig } from '../tls/index.js';
import type { RawBlock } from '../server/options.js';

export interface WebsocketConfig {
  readonly host: string;
  /** The listen port; -1 picks a random one. A block with port 0 (or none) leaves websocket off. */
  readonly port: number;
  /** `host:port` put in the connect URLs websocket clients are told, instead of the listen address. */
  readonly advertise: string | null;
  readonly noTls: boolean;
  /** The `tls` block, parsed; its files are loaded when the listener starts. */
  readonly tls: TlsConfig | null;
  readonly sameOrigin: boolean;
  /** As configured; entries that are not absolute URLs are reported and skipped when the listener starts. */
  readonly allowedOrigins: readonly string[];
  readonly compression: boolean;
  /** Time a connection has for its TLS and HTTP upgrade handshake; 0: no limit. */
  readonly handshakeTimeoutMs: number;
  /** Operator mode: the cookie whose value is the user JWT when CONNECT carries none. */
  readonly jwtCookie: string | null;
  /** The override of `authorization { user, password, token, timeout }` and `no_auth_user`. */
  readonly user: string | null;
  readonly password: string | null;
  readonly token: string | null;
  readonly authTimeoutMs: number | null;
  readonly noAuthUser: string | null;
}

/** nats-server's default websocket host. */
const DEFAULT_HOST = '0.0.0.0';

const ORIGIN_KEYS: ReadonlySet<string> = new Set(['allowed_origins', 'allowed_origin', 'allow_origins', 'allow_origin', 'origins', 'origin']);

/** Parses a block wrapped as an InNode; problems are recorded, and a default stands in for a broken value. */
export function parseWebsocketBlock(node: InNode, problems: Problems): WebsocketConfig {
  let host = DEFAULT_HOST;
  let port = 0;
  let advertise: string | null = null;
  let noTls = false;
  let tls: TlsConfig | null = null;
  let sameOrigin = false;
  let allowedOrigins: string[] = [];
  let compression = false;
  let handshakeTimeoutMs = 0;
  let jwtCookie: string | null = null;
  let auth: SimpleAuth = NO_AUTH;
  let noAuthUser: string | null = null;
  const config = (): WebsocketConfig => ({
    host, port, advertise, noTls, tls, sameOrigin, allowedOrigins, compression, handshakeTimeoutMs, jwtCookie,
    user: auth.user, password: auth.password, token: auth.token, authTimeoutMs: auth.timeoutMs, noAuthUser,
  });
  if (node.kind !== 'map') {
    problems.add(node, `Expected websocket to be a map, got ${describe(node)}`);
    return config();
  }
  for (const e of node.entries) {
    const key = e.key.toLowerCase();
    switch (key) {
      case 'listen': {
        const hp = listenOf(e, problems);
        if (hp === null) break;
        if (hp.host !== null) host = hp.host;
        port = hp.port;
        break;
      }
      case 'port':
        port = portOf(e, problems) ?? port;
        break;
      case 'host':
      case 'net':
        host = problems.string(e) ?? host;
        break;
      case 'advertise':
        advertise = problems.string(e) ?? null;
        break;
      case 'no_tls':
        noTls = problems.bool(e) ?? noTls;
        break;
      case 'tls':
        tls = tlsOf(e, problems);
        break;
      case 'same_origin':
        sameOrigin = problems.bool(e) ?? sameOrigin;
        break;
      case 'compress':
      case 'compression':
        compression = problems.bool(e) ?? compression;
        break;
      case 'handshake_timeout':
        handshakeTimeoutMs = handshakeTimeoutOf(e, problems) ?? handshakeTimeoutMs;
        break;
      case 'authorization':
      case 'authentication':
        auth = simpleAuthOf(e.value, problems);
        break;
      case 'jwt_cookie':
        jwtCookie = emptyAsNull(problems.string(e));
        break;
      case 'no_auth_user':
        noAuthUser = emptyAsNull(problems.string(e));
        break;
      default:
        if (ORIGIN_KEYS.has(key)) allowedOrigins = stringsOf(e, problems);
        else problems.unknownField(e);
    }
  }
  return config();
}

/** The problems of a block in the configuration file (with `file:line:col`); the config loader reports them. */
export function websocketBlockProblems(node: ConfNode, key: string): readonly Problem[] {
  const problems = new Problems();
  parseWebsocketBlock(fromConf(node, key), problems);
  return problems.list;
}

/**
 * The block kept in ServerOptions; null when websocket is off (no block,
 * or port 0). Throws every problem at once (a SecurityConfigError naming
 * the path of each bad value).
 */
export function websocketConfigFrom(raw: RawBlock | undefined): WebsocketConfig | null {
  if (raw === undefined) return null;
  const problems = new Problems();
  const config = parseWebsocketBlock(fromPlain(raw, 'websocket'), problems);
  problems.throwIfAny();
  return config.port === 0 ? null : config;
}

/** What the start checks need to know about the rest of the configuration. */
export interface WebsocketStartContext {
  /** Top-level users or nkeys (of any account) exist. */
  readonly hasUsers: boolean;
  /** Whether a user of that name is configured. */
  knowsUser(name: string): boolean;
  readonly operatorMode: boolean;
}

/** nats-server's validateWebsocketOptions, in its order and words; the first problem or null. */
export function websocketStartProblem(c: WebsocketConfig, ctx: WebsocketStartContext): string | null {
  if (c.tls === null && !c.noTls) return 'websocket requires TLS configuration';
  if (c.noAuthUser !== null) {
    if (!ctx.hasUsers) return `no_auth_user: "${c.noAuthUser}" present, but users are not defined`;
    if (!ctx.knowsUser(c.noAuthUser)) return `no_auth_user: "${c.noAuthUser}" not present as user in authorization block or account configuration`;
  }
  if (ctx.hasUsers) {
    if (c.user !== null) return 'websocket authentication username not compatible with presence of users/nkeys';
    if (c.token !== null) return 'websocket authentication token not compatible with presence of users/nkeys';
  }
  if (c.jwtCookie !== null && !ctx.operatorMode) {
    return `trusted operators or trusted keys configuration is required for JWT authentication via cookie "${c.jwtCookie}"`;
  }
  return null;
}

/** nats-server's authOverride: websocket clients authenticate differently from the client port's. */
export function hasAuthOverride(c: WebsocketConfig): boolean {
  return c.user !== null || c.token !== null || c.noAuthUser !== null;
}

// ---- readers ------------------------------------------------------------------

interface SimpleAuth {
  readonly user: string | null;
  readonly password: string | null;
  readonly token: string | null;
  readonly timeoutMs: number | null;
}

const NO_AUTH: SimpleAuth = { user: null, password: null, token: null, timeoutMs: null };

/** nats-server's parseSimpleAuth: user, password, token and timeout, nothing else. */
function simpleAuthOf(node: InNode, problems: Problems): SimpleAuth {
  if (node.kind !== 'map') {
    problems.add(node, `authorization must be a map, got ${describe(node)}`);
    return NO_AUTH;
  }
  let user: string | null = null;
  let password: string | null = null;
  let token: string | null = null;
  let timeoutMs: number | null = null;
  for (const e of node.entries) {
    switch (e.key.toLowerCase()) {
      case 'user':
      case 'username':
        user = emptyAsNull(problems.string(e));
        break;
      case 'pass':
      case 'password':
        password = emptyAsNull(problems.string(e));
        break;
      case 'token':
        token = emptyAsNull(problems.string(e));
        break;
      case 'timeout': {
        // nats-server reads anything but a number as one second; a typo should not pass silently here.
        const v = e.value;
        if ((v.kind === 'integer' || v.kind === 'float') && v.value >= 0) timeoutMs = v.value === 0 ? null : v.value * 1000;
        else problems.add(v, `timeout must be a non-negative number of seconds, got ${describe(v)}`);
        break;
      }
      default:
        problems.unknownField(e);
    }
  }
  return { user, password, token, timeoutMs };
}

function emptyAsNull(s: string | undefined): string | null {
  return s === undefined || s === '' ? null : s;
}

function portOf(e: InEntry, problems: Problems): number | undefined {
  const n = problems.integer(e);
  if (n === undefined) return undefined;
  if (n < -1 || n > 65535) {
    problems.add(e.value, `invalid websocket port ${n}`);
    return undefined;
  }
  return n;
}

/** `listen`: "host:port", ":port", or a bare port, as nats-server's parseListen. */
function listenOf(e: InEntry, problems: Problems): { host: string | null; port: number } | null {
  const v = e.value;
  if (v.kind === 'integer') {
    const port = portOf(e, problems);
    return port === undefined ? null : { host: null, port };
  }
  if (v.kind !== 'string') {
    problems.add(v, `listen must be a string or a port, got ${describe(v)}`);
    return null;
  }
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(.*)$/.exec(v.value);
  if (m === null) {
    problems.add(v, `could not parse address string "${v.value}"`);
    return null;
  }
  const port = Number(m[3]);
  if (!/^-?\d+$/.test(m[3]) || port < -1 || port > 65535) {
    problems.add(v, `could not parse port "${m[3]}"`);
    return null;
  }
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? null : host, port };
}

function handshakeTimeoutOf(e: InEntry, problems: Problems): number | undefined {
  const v = e.value;
  if (v.kind === 'integer') {
    if (v.value >= 0) return v.value * 1000;
    problems.add(v, 'handshake_timeout can not be negative');
    return undefined;
  }
  if (v.kind === 'string') {
    try {
      const ms = parseGoDuration(v.value);
      if (ms >= 0) return ms;
      problems.add(v, 'handshake_timeout can not be negative');
    } catch (err) {
      if (!(err instanceof DurationError)) throw err;
      problems.add(v, err.message);
    }
    return undefined;
  }
  problems.add(v, `error parsing handshake timeout: unsupported type ${describe(v)}`);
  return undefined;
}

function stringsOf(e: InEntry, problems: Problems): string[] {
  const v = e.value;
  if (v.kind === 'string') return [v.value];
  if (v.kind !== 'array') {
    problems.add(v, `${e.key} must be a string or an array of strings, got ${describe(v)}`);
    return [];
  }
  const out: string[] = [];
  for (const item of v.items) {
    if (item.kind === 'string') out.push(item.value);
    else problems.add(item, `${e.key} must hold strings, got ${describe(item)}`);
  }
  return out;
}

/** Client-port TLS settings that mean nothing for an HTTPS listener: refused rather than ignored. */
const NOT_FOR_WEBSOCKET: ReadonlySet<string> = new Set(['handshake_first', 'first', 'immediate', 'connection_rate_limit']);

function tlsOf(e: InEntry, problems: Problems): TlsConfig | null {
  if (e.value.kind === 'map') {
    for (const entry of e.value.entries) {
      if (NOT_FOR_WEBSOCKET.has(entry.key.toLowerCase())) problems.add(entry, `${entry.key} is not supported in the websocket tls block`);
    }
  }
  try {
    return parseTlsBlock(plainOf(e.value));
  } catch (err) {
    if (!(err instanceof TlsConfigError)) throw err;
    problems.add(e.value, err.message);
    return null;
  }
}

/** The plain value of a node, for parsers that take plain blocks (the TLS one). */
function plainOf(n: InNode): unknown {
  switch (n.kind) {
    case 'map':
      return Object.fromEntries(n.entries.map((e) => [e.key, plainOf(e.value)]));
    case 'array':
      return n.items.map(plainOf);
    case 'other':
      return undefined;
    default:
      return n.value;
  }
}
