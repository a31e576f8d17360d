/**
 * The `resolver` option of operator mode, checked as nats-server checks it:
 *
 *   resolver: MEMORY                       # accounts from resolver_preload only
 *   resolver: {
 *     type: full                           # or cache
 *     dir: "./jwt"                         # account JWTs as <dir>/<account public key>.jwt
 *     allow_delete: false                  # full only: $SYS.REQ.CLAIMS.DELETE
 *     interval: "2m"                       # full only: peer sync period (no peers here)
 *     limit: 1000                          # most JWTs kept (cache: evicts the least recently used)
 *     ttl: "2h"                            # cache only: a JWT unused this long is dropped
 *     timeout: "1.9s"                      # look-up timeout towards peers
 *   }
 *
 * `interval` and `timeout` are checked but have nothing to act on: they
 * pace and bound look-ups among peer servers, and a single server has none.
 * `URL(...)` resolvers (an HTTP account server) are refused: this version
 * does not fetch accounts over HTTP. Keys are matched exactly, as nats-server
 * matches them; other keys are refused rather than ignored.
 */
import { DurationError, parseGoDuration } from '../config/durations.js';

export interface MemoryResolverConfig {
  readonly kind: 'memory';
}

export interface DirResolverConfig {
  readonly kind: 'full' | 'cache';
  readonly dir: string;
  /** full: delete requests are honoured, files are renamed to `<key>.jwt.deleted`. */
  readonly allowDelete: boolean;
  /** Most JWTs the directory holds; Infinity for no limit (full) — cache defaults to 1000. */
  readonly limit: number;
  /** cache: ms a JWT may go unused before it is dropped; 0 keeps it until its own `exp`. */
  readonly ttlMs: number;
}

export type ResolverConfig = MemoryResolverConfig | DirResolverConfig;

/** A problem with the resolver option; `key` names the offending map key, null for the whole value. */
export interface ResolverProblem {
  readonly key: string | null;
  readonly message: string;
}

/** nats-server's default for the cache resolver's limit. */
const DEFAULT_CACHE_LIMIT = 1000;

const MEMORY = /^\s*(MEM|MEMORY)\s*$/i;
const URL_RESOLVER = /^\s*URL\s*(\(.*\))?\s*$/i;
const KNOWN_KEYS: ReadonlySet<string> = new Set(['type', 'dir', 'allow_delete', 'limit', 'ttl', 'interval', 'timeout']);

/** Reads the option (a string or a plain map); a config is returned only when there is no problem. */
export function parseResolver(value: unknown): { config: ResolverConfig | null; problems: ResolverProblem[] } {
  const problems: ResolverProblem[] = [];
  const fail = (key: string | null, message: string): { config: null; problems: ResolverProblem[] } => {
    problems.push({ key, message });
    return { config: null, problems };
  };
  if (typeof value === 'string') {
    if (MEMORY.test(value)) return { config: { kind: 'memory' }, problems };
    if (URL_RESOLVER.test(value)) return fail(null, 'the URL account resolver is not supported by this Natter version; use MEMORY or { type: full, dir: ... }');
    return fail(null, `unknown account resolver ${JSON.stringify(value)}; expected MEMORY, or a map with type full or cache and a dir`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return fail(null, 'resolver must be MEMORY or a map with type full or cache and a dir');
  }
  const m = value as Readonly<Record<string, unknown>>;
  for (const key of Object.keys(m)) if (!KNOWN_KEYS.has(key)) problems.push({ key, message: `unknown resolver field "${key}"` });
  const text = (key: string): string | undefined => {
    const v = m[key];
    if (v === undefined) return undefined;
    if (typeof v === 'string') return v;
    problems.push({ key, message: `resolver ${key} must be a string` });
    return undefined;
  };
  const duration = (key: string): number | undefined => {
    const v = text(key);
    if (v === undefined) return undefined;
    try {
      return parseGoDuration(v);
    } catch (e) {
      if (!(e instanceof DurationError)) throw e;
      problems.push({ key, message: `resolver ${key}: ${e.message}` });
      return undefined;
    }
  };
  const type = (text('type') ?? '').toUpperCase();
  const dir = text('dir') ?? '';
  let allowDelete = false;
  if (m.allow_delete !== undefined) {
    if (typeof m.allow_delete === 'boolean') allowDelete = m.allow_delete;
    else problems.push({ key: 'allow_delete', message: 'resolver allow_delete must be a boolean' });
  }
  let limit = 0;
  if (m.limit !== undefined) {
    if (typeof m.limit === 'number' && Number.isInteger(m.limit)) limit = m.limit;
    else problems.push({ key: 'limit', message: 'resolver limit must be an integer' });
  }
  const ttl = duration('ttl');
  const interval = duration('interval');
  const timeout = duration('timeout');
  if (dir === '' && !problems.some((p) => p.key === 'dir')) problems.push({ key: 'dir', message: 'dir has no value and needs to point to a directory' });
  if (timeout !== undefined && timeout <= 0) problems.push({ key: 'timeout', message: `Fetch timeout ${text('timeout')} is too small` });
  if (type === 'CACHE') {
    if (interval !== undefined && interval !== 0) problems.push({ key: 'interval', message: 'CACHE does not accept sync' });
    if (allowDelete) problems.push({ key: 'allow_delete', message: 'CACHE does not accept allow_delete' });
  } else if (type === 'FULL') {
    if (ttl !== undefined && ttl !== 0) problems.push({ key: 'ttl', message: 'FULL does not accept ttl' });
  } else {
    problems.push({ key: 'type', message: 'resolver type must be full or cache' });
  }
  if (problems.length > 0) return { config: null, problems };
  const cache = type === 'CACHE';
  return {
    config: {
      kind: cache ? 'cache' : 'full',
      dir,
      allowDelete,
      limit: limit > 0 ? limit : cache ? DEFAULT_CACHE_LIMIT : Infinity,
      ttlMs: cache ? ttl ?? 0 : 0,
    },
    problems,
  };
}
