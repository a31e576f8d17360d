/**
 * Per-account JetStream limits (`accounts { A: { jetstream: { max_mem, … } } }`),
 * with nats-server's key aliases, and the checks a new stream and a new
 * message must pass against them. -1 means unlimited throughout.
 */
import { parseSizedInteger } from '../config/sizes.js';
import type { StreamConfig } from './types.js';
import type { AccountLimits as JwtAccountLimits } from '../jwt/claims.js';
import {
  type JsApiError, memoryResourcesExceeded, storageResourcesExceeded, streamMaxBytesRequired, streamMaxStreamBytesExceeded,
} from './api/errors.js';

export interface AccountLimits {
  maxMemory: number;
  maxStore: number;
  maxStreams: number;
  maxConsumers: number;
  maxAckPending: number;
  memoryMaxStreamBytes: number;
  storeMaxStreamBytes: number;
  maxBytesRequired: boolean;
}

export const UNLIMITED: Readonly<AccountLimits> = Object.freeze({
  maxMemory: -1, maxStore: -1, maxStreams: -1, maxConsumers: -1, maxAckPending: -1,
  memoryMaxStreamBytes: -1, storeMaxStreamBytes: -1, maxBytesRequired: false,
});

const NUMERIC: ReadonlyMap<string, keyof AccountLimits> = new Map<string, keyof AccountLimits>([
  ['max_memory', 'maxMemory'], ['max_mem', 'maxMemory'], ['mem', 'maxMemory'], ['memory', 'maxMemory'],
  ['max_store', 'maxStore'], ['max_file', 'maxStore'], ['max_disk', 'maxStore'], ['store', 'maxStore'], ['disk', 'maxStore'],
  ['max_streams', 'maxStreams'], ['streams', 'maxStreams'],
  ['max_consumers', 'maxConsumers'], ['consumers', 'maxConsumers'],
  ['max_ack_pending', 'maxAckPending'],
  ['mem_max_stream_bytes', 'memoryMaxStreamBytes'], ['memory_max_stream_bytes', 'memoryMaxStreamBytes'],
  ['disk_max_stream_bytes', 'storeMaxStreamBytes'], ['store_max_stream_bytes', 'storeMaxStreamBytes'],
]);
const BOOLEAN: ReadonlySet<string> = new Set(['max_bytes_required', 'max_stream_bytes', 'max_bytes']);

/** The problem with one key of an account's jetstream map (nats-server wording), or null. */
export function accountLimitProblem(key: string, value: unknown): string | null {
  const k = key.toLowerCase();
  if (BOOLEAN.has(k)) return typeof value === 'boolean' ? null : `Expected a parseable bool for "${key}", got ${String(value)}`;
  if (NUMERIC.has(k)) return numberOf(value) === null ? `Expected a parseable size for "${key}", got ${String(value)}` : null;
  // nats-server accepts the tier-less keys below in the same map.
  if (k === 'max_ha_assets' || k === 'max_request_batch' || k === 'duplicate_window' || k === 'enabled' || k === 'enable') return null;
  return `unknown field "${key}"`;
}

function numberOf(v: unknown): number | null {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string') {
    const r = parseSizedInteger(v.trim());
    return r.ok ? r.value : null;
  }
  return null;
}

/** Limits from the map as written in the config; throws on a bad value. */
export function accountLimitsFrom(map: Readonly<Record<string, unknown>> | null): AccountLimits {
  const out: AccountLimits = { ...UNLIMITED };
  if (map === null) return out;
  for (const [key, value] of Object.entries(map)) {
    const problem = accountLimitProblem(key, value);
    if (problem !== null) throw new Error(`account jetstream: ${problem}`);
    const k = key.toLowerCase();
    const field = NUMERIC.get(k);
    if (field !== undefined) (out as unknown as Record<string, number>)[field] = numberOf(value) as number;
    else if (BOOLEAN.has(k)) out.maxBytesRequired = value as boolean;
  }
  return out;
}

/**
 * Limits from an account JWT (operator mode), or null when the JWT does not
 * enable JetStream. As in nats-server, an account has JetStream when its
 * memory or disk storage limit is non-zero or it has tiers; a single server
 * uses the R1 tier. The JWT's 0 for streams/consumers/ack pending means
 * "not limited" except for the storage kinds, where it disables that kind.
 */
export function accountLimitsFromJwt(limits: JwtAccountLimits): AccountLimits | null {
  const js = limits.tiered_limits.get('R1') ?? (limits.tiered_limits.size > 0 ? null : limits.jetstream);
  if (js === null || (js.mem_storage === 0 && js.disk_storage === 0)) return null;
  const orUnlimited = (v: number): number => (v === 0 ? -1 : v);
  return {
    maxMemory: js.mem_storage,
    maxStore: js.disk_storage,
    maxStreams: orUnlimited(js.streams),
    maxConsumers: orUnlimited(js.consumer),
    maxAckPending: orUnlimited(js.max_ack_pending),
    memoryMaxStreamBytes: orUnlimited(js.mem_max_stream_bytes),
    storeMaxStreamBytes: orUnlimited(js.disk_max_stream_bytes),
    maxBytesRequired: js.max_bytes_required,
  };
}

/**
 * Can a stream with `cfg` be added (or grow its max_bytes) given the bytes
 * already reserved by the account's other streams of the same storage?
 * nats-server reserves a stream's max_bytes; streams without one reserve nothing.
 */
export function checkStreamReservation(limits: AccountLimits, cfg: StreamConfig, reservedOthers: number, serverMax: number, serverReserved: number): JsApiError | null {
  const mem = cfg.storage === 'memory';
  if (limits.maxBytesRequired && cfg.max_bytes <= 0) return streamMaxBytesRequired();
  const perStream = mem ? limits.memoryMaxStreamBytes : limits.storeMaxStreamBytes;
  if (perStream > 0 && cfg.max_bytes > perStream) return streamMaxStreamBytesExceeded();
  if (cfg.max_bytes > 0) {
    const accMax = mem ? limits.maxMemory : limits.maxStore;
    if (accMax >= 0 && reservedOthers + cfg.max_bytes > accMax) return mem ? memoryResourcesExceeded() : storageResourcesExceeded();
    if (serverReserved + cfg.max_bytes > serverMax) return mem ? memoryResourcesExceeded() : storageResourcesExceeded();
  }
  return null;
}
