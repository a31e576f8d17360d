import type { ServerOptions } from './options.js';
import { redactConfigValue } from '../log/redact.js';

/** Options a running server cannot change; nats-server refuses these on reload too. */
const NOT_RELOADABLE: ReadonlyArray<keyof ServerOptions> = [
  'host', 'port', 'server_name', 'http_port', 'http_host', 'https_port', 'http_base_path',
  'cluster', 'gateway', 'leafnodes', 'websocket', 'mqtt', 'jetstream', 'operator', 'trusted_keys', 'resolver',
];

/** Options made of credentials, users and keys: reloads name what changed in them, never print them. */
const SECRET_BEARING: ReadonlySet<string> = new Set(['authorization', 'accounts', 'tls']);

/** "authorization users", "authorization token"...: what changed inside, as nats-server logs it. */
function describeSecretChange(key: string, a: unknown, b: unknown): string {
  if (key !== 'authorization') return key;
  const prev = (a ?? {}) as Record<string, unknown>;
  const next = (b ?? {}) as Record<string, unknown>;
  const parts = [...new Set([...Object.keys(prev), ...Object.keys(next)])]
    .filter((k) => JSON.stringify(prev[k]) !== JSON.stringify(next[k]));
  return parts.length === 0 ? key : parts.map((p) => `${key} ${p}`).join(', ');
}

/** A block without its `tls` entry (keys are case-insensitive). */
function withoutTls(block: unknown): unknown {
  if (typeof block !== 'object' || block === null || Array.isArray(block)) return block;
  return Object.fromEntries(Object.entries(block).filter(([k]) => k.toLowerCase() !== 'tls'));
}

/** An option's value as a reload description shows it: JSON with every credential hidden. */
function shown(value: unknown): string {
  return JSON.stringify(redactConfigValue(value));
}

/**
 * Compares two option sets. Returns a description per reloadable change (`name = value`, as nats-server logs it) and
 * throws, naming the option, when a change needs a restart. Both end up in the log, so neither shows a credential:
 * a refused `cluster` block may hold a route password, a `jetstream` block an encryption key (nats-server prints those).
 */
export function diffOptions(prev: ServerOptions, next: ServerOptions): string[] {
  const keys = new Set<string>([...Object.keys(prev), ...Object.keys(next)]);
  const changes: string[] = [];
  for (const key of keys) {
    const a = (prev as unknown as Record<string, unknown>)[key];
    const b = (next as unknown as Record<string, unknown>)[key];
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    // As nats-server: the websocket block's tls may change (new connections use it), nothing else in it.
    if (key === 'websocket' && JSON.stringify(withoutTls(a)) === JSON.stringify(withoutTls(b))) continue;
    if ((NOT_RELOADABLE as readonly string[]).includes(key)) {
      throw new Error(`config reload not supported for ${key}: old=${shown(a)}, new=${shown(b)}`);
    }
    changes.push(SECRET_BEARING.has(key) ? describeSecretChange(key, a, b) : `${key} = ${shown(b)}`);
  }
  return changes;
}
