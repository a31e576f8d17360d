/**
 * Top-level keys nats-server (2.9 to 2.12) knows and Natter does not
 * implement. None is ignored: each is refused when the configuration is
 * loaded (so `-t` fails too), with its position and what it would have
 * turned on, unless it holds the value that turns nothing on (`false`, 0,
 * an empty string, list or map, or the default nats-server itself uses),
 * which is what generated configurations write for features left off.
 */
import type { ConfNode } from './parser.js';

interface UnsupportedKey {
  /** What the key turns on, for the message. */
  readonly feature: string;
  /** The value that asks for nothing, in words. */
  readonly off: string;
  readonly isOff: (v: ConfNode) => boolean;
}

const isFalse = (v: ConfNode): boolean => v.kind === 'bool' && !v.value;
const isZero = (v: ConfNode): boolean => v.kind === 'integer' && v.value === 0;
const isEmpty = (v: ConfNode): boolean =>
  (v.kind === 'string' && v.value === '') || (v.kind === 'array' && v.items.length === 0) || (v.kind === 'map' && v.entries.size === 0);

const FALSE = { off: 'false', isOff: isFalse };
const ZERO = { off: '0', isOff: isZero };
const EMPTY = { off: 'empty', isOff: isEmpty };

const KEYS = new Map<string, UnsupportedKey>();

function unsupported(keys: readonly string[], feature: string, off: { off: string; isOff: (v: ConfNode) => boolean }): void {
  for (const k of keys) KEYS.set(k, { feature, ...off });
}

unsupported(['mappings', 'maps'], 'server-level subject mappings', EMPTY);
unsupported(['disable_sublist_cache', 'no_sublist_cache'], 'running without the subject match cache', FALSE);
unsupported(['remote_syslog'], 'remote syslog', EMPTY);
unsupported(['prof_port'], 'the Go profiling port', ZERO);
unsupported(['prof_block_rate'], 'Go block profiling', ZERO);
unsupported(['max_traced_msg_len'], 'truncating traced messages', ZERO);
unsupported(['max_sub_tokens', 'max_subscription_tokens'], 'a limit on subscription subject tokens', ZERO);
unsupported(['ocsp'], 'OCSP stapling', FALSE);
unsupported(['ocsp_cache'], 'the OCSP response cache', FALSE);
unsupported(['resolver_tls'], 'TLS for the URL account resolver', EMPTY);
unsupported(['resolver_pinned_accounts'], 'pinned resolver accounts', EMPTY);
unsupported(['no_system_account', 'no_system', 'no_sys_acc'], 'running without a system account', FALSE);
unsupported(['default_js_domain'], 'default JetStream domains per account', EMPTY);
unsupported(['logfile_max_num', 'log_max_num'], 'keeping a number of rotated log files', ZERO);
unsupported(['no_fast_producer_stall'], 'turning fast-producer stalling off', FALSE);
unsupported(['trace_headers'], 'tracing headers only', FALSE);
unsupported(['default_sentinel'], 'a default sentinel JWT', EMPTY);
unsupported(['proxy_protocol'], 'the PROXY protocol', FALSE);
unsupported(['write_timeout'], 'write timeout policies', EMPTY);
unsupported(['server_metadata'], 'server metadata', EMPTY);
unsupported(['feature_flags'], 'feature flags', EMPTY);
unsupported(['proxies'], 'trusted proxies', EMPTY);
// Natter keeps the last 10,000 closed connections for /connz, as nats-server does by default.
KEYS.set('max_closed_clients', {
  feature: 'a closed connections limit other than 10000',
  off: '10000',
  isOff: (v) => v.kind === 'integer' && v.value === 10_000,
});

/** Every such key (lower case), for the list of keys the mapping recognises. */
export const UNSUPPORTED_TOP_LEVEL_KEYS: ReadonlySet<string> = new Set(KEYS.keys());

/** Why a top-level key cannot be loaded, or null when it holds its "off" value (or is no such key). */
export function unsupportedKeyProblem(key: string, value: ConfNode): string | null {
  const u = KEYS.get(key.toLowerCase());
  if (u === undefined || u.isOff(value)) return null;
  return `"${key}" (${u.feature}) is not supported by this Natter version; remove it or set it to ${u.off}`;
}
