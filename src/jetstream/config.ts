/**
 * The server-wide `jetstream { … }` settings: checked key by key when a
 * configuration file is read (so errors carry file:line:col), and turned
 * into the engine's settings at start. The option value is `true`/`false`,
 * or the block as a plain object (from the config file, the -js/-sd flags
 * or the embedding API).
 */
import { statfsSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import type { ServerOptions } from '../server/options.js';
import { parseGoDuration } from '../config/durations.js';
import { parseSizedInteger } from '../config/sizes.js';
import { isSecretConfigKey } from '../log/redact.js';

export interface JetStreamConfig {
  /** The directory that holds `jetstream/<account>/streams/…`. */
  readonly storeDir: string;
  /** Bytes; server-wide caps over all memory and all file streams. */
  readonly maxMemory: number;
  readonly maxStore: number;
  readonly domain: string;
  /** 'always': every acknowledged message is fsynced first (grouped per turn); otherwise the fsync interval in ms (acks wait for the write). */
  readonly sync: 'always' | number;
  readonly strict: boolean;
  readonly uniqueTag: string;
}

/** The background fsync interval when the config names none. */
export const DEFAULT_SYNC_INTERVAL_MS = 1000;

/** nats-server's defaults: 75% of RAM, and up to 1TB of disk (less when the disk is smaller). */
const MAX_STORE_DEFAULT = 1024 ** 4;

/** Keys nats-server's parseJetStream knows, and how each value must look ('unsupported': see UNSUPPORTED). */
type Check = 'bool' | 'string' | 'size' | 'int' | 'sync' | 'unsupported';
const KEYS: ReadonlyMap<string, Check> = new Map<string, Check>([
  ['enabled', 'bool'], ['enable', 'bool'], ['strict', 'bool'],
  ['store', 'string'], ['store_dir', 'string'], ['storedir', 'string'],
  ['sync', 'sync'], ['sync_interval', 'sync'],
  ['max_memory_store', 'size'], ['max_mem_store', 'size'], ['max_mem', 'size'],
  ['max_file_store', 'size'], ['max_file', 'size'],
  ['domain', 'string'], ['unique_tag', 'string'],
  ['max_buffered_size', 'size'], ['max_outstanding_catchup', 'size'], ['max_buffered_msgs', 'int'],
  ['key', 'unsupported'], ['ek', 'unsupported'], ['encryption_key', 'unsupported'], ['prev_key', 'unsupported'],
  ['prev_ek', 'unsupported'], ['prev_encryption_key', 'unsupported'], ['cipher', 'unsupported'], ['tpm', 'unsupported'],
  ['extension_hint', 'unsupported'], ['limits', 'unsupported'], ['request_queue_limit', 'unsupported'],
  ['info_queue_limit', 'unsupported'], ['meta_compact', 'unsupported'], ['meta_compact_size', 'unsupported'],
  ['meta_compact_sync', 'unsupported'], ['max_concurrent_io', 'unsupported'],
]);

/**
 * Keys of features Natter does not have: refused (never silently ignored)
 * unless they hold a value that asks for nothing (empty, 0, false, or
 * nats-server's default where Natter behaves the same).
 */
const UNSUPPORTED: ReadonlyMap<string, { feature: string; isOff: (v: unknown) => boolean }> = new Map([
  ...['key', 'ek', 'encryption_key', 'prev_key', 'prev_ek', 'prev_encryption_key', 'cipher'].map((k) => [k, { feature: 'encryption at rest', isOff: isNothing }] as const),
  ['tpm', { feature: 'TPM-sealed encryption keys', isOff: isNothing }],
  ['extension_hint', { feature: 'extension hints', isOff: isNothing }],
  ['limits', { feature: 'server-wide JetStream API limits', isOff: isNothing }],
  // Natter's API queue holds nats-server's default of 10,000 requests (api/request-queue.ts).
  ['request_queue_limit', { feature: 'a request queue limit other than 10000', isOff: (v: unknown) => v === 10_000 || isNothing(v) }],
  ['info_queue_limit', { feature: 'a separate info request queue', isOff: isNothing }],
  ['meta_compact', { feature: 'meta group compaction tuning', isOff: isNothing }],
  ['meta_compact_size', { feature: 'meta group compaction tuning', isOff: isNothing }],
  ['meta_compact_sync', { feature: 'meta group compaction tuning', isOff: isNothing }],
  ['max_concurrent_io', { feature: 'a limit on concurrent disk I/O', isOff: isNothing }],
]);

function isNothing(v: unknown): boolean {
  if (v === '' || v === 0 || v === false || v === null) return true;
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === 'object' && Object.keys(v).length === 0;
}

/**
 * Keys that are accepted and change nothing here, with the notice logged
 * when a configuration sets them. nats-server buffers core NATS publishes
 * on their way into a stream and bounds that buffer; Natter stores each
 * message as it is published, so there is no such buffer to bound.
 */
const NOTICES: ReadonlyMap<string, string> = new Map([
  ['max_buffered_size', 'jetstream max_buffered_size is accepted: Natter stores each message as it arrives, with no ingest buffer to bound'],
  ['max_buffered_msgs', 'jetstream max_buffered_msgs is accepted: Natter stores each message as it arrives, with no ingest buffer to bound'],
  ['max_outstanding_catchup', 'jetstream max_outstanding_catchup is accepted: Natter replicas catch up at their own pace and do not use it'],
]);

/** The notice for a jetstream key that is accepted but changes nothing here, or null. */
export function jetStreamKeyNotice(key: string): string | null {
  return NOTICES.get(key.toLowerCase()) ?? null;
}

function sizeOf(v: unknown): number | string {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string') {
    const r = parseSizedInteger(v.trim());
    if (r.ok) return r.value;
    return `should be a number or a valid size, got '${v}'`;
  }
  return `should be a number or a valid size, got ${JSON.stringify(v)}`;
}

/**
 * The problem with one key of the `jetstream` block, worded as nats-server
 * words it; null when the key and value are fine. `value` is the plain value.
 */
export function jetStreamKeyProblem(key: string, value: unknown): string | null {
  const lower = key.toLowerCase();
  const check = KEYS.get(lower);
  if (check === undefined) return `unknown field "${key}"`;
  switch (check) {
    case 'bool':
      return typeof value === 'boolean' ? null : `Expected 'true' or 'false' for bool value, got '${String(value)}'`;
    case 'string':
      return typeof value === 'string' ? null : `${lower} must be a string, got ${isSecretConfigKey(lower) ? typeof value : JSON.stringify(value)}`;
    case 'int':
      return typeof value === 'number' && Number.isInteger(value) ? null : `Expected a parseable size for "${key}", got ${String(value)}`;
    case 'size': {
      const s = sizeOf(value);
      if (typeof s === 'string') return `${lower.startsWith('max_mem') ? 'max_mem_store' : lower === 'max_file' ? 'max_file_store' : lower} ${s}`;
      return null;
    }
    case 'sync':
      if (typeof value === 'string' && value.toLowerCase() === 'always') return null;
      if (typeof value === 'string') {
        try {
          parseGoDuration(value);
          return null;
        } catch (e) {
          return `error parsing ${key}: ${e instanceof Error ? e.message : String(e)}`;
        }
      }
      // A bare integer is seconds, as for nats-server's other durations.
      return typeof value === 'number' ? null : `error parsing ${key}: expected a duration, got ${JSON.stringify(value)}`;
    case 'unsupported': {
      const u = UNSUPPORTED.get(lower);
      return u === undefined || u.isOff(value) ? null : `${key}: ${u.feature} is not supported by this Natter version`;
    }
  }
}

function get(block: Record<string, unknown>, ...names: string[]): unknown {
  for (const [k, v] of Object.entries(block)) if (names.includes(k.toLowerCase())) return v;
  return undefined;
}

function sizeSetting(block: Record<string, unknown>, fallback: number, ...names: string[]): number {
  const v = get(block, ...names);
  if (v === undefined) return fallback;
  const s = sizeOf(v);
  if (typeof s === 'string') throw new Error(`jetstream ${names[0]} ${s}`);
  return s < 0 ? fallback : s;
}

/** The default for max_file_store: 75% of what the disk holding the store has free, capped at 1TB. */
function defaultMaxStore(dir: string): number {
  // The store directory may not exist yet: measure the nearest directory that does.
  for (let d = dir; ; d = dirname(d)) {
    try {
      const st = statfsSync(d);
      return Math.min(MAX_STORE_DEFAULT, Math.floor(st.bavail * st.bsize * 0.75));
    } catch {
      if (dirname(d) === d) return MAX_STORE_DEFAULT;
    }
  }
}

/** The engine settings when JetStream is on, null when it is off. Throws on an unusable value. */
export function jetStreamConfigFrom(o: ServerOptions): JetStreamConfig | null {
  const js = o.jetstream;
  if (js === undefined || js === false) return null;
  const block: Record<string, unknown> = js === true ? {} : js;
  const enabled = get(block, 'enabled', 'enable');
  if (enabled === false) return null;
  for (const [k, v] of Object.entries(block)) {
    const problem = jetStreamKeyProblem(k, v);
    if (problem !== null) throw new Error(`jetstream: ${problem}`);
  }
  const dirSetting = get(block, 'store_dir', 'store', 'storedir');
  const storeDir = typeof dirSetting === 'string' && dirSetting !== '' ? dirSetting : join(tmpdir(), 'nats', 'jetstream');
  const syncSetting = get(block, 'sync', 'sync_interval');
  // Default: a PubAck waits until the message is written to the OS (group
  // commit, one write per event-loop turn), which survives kill -9; fsync
  // follows in the background every second, so a power loss can take at
  // most the last second. `always` fsyncs before acking instead.
  let sync: 'always' | number = DEFAULT_SYNC_INTERVAL_MS;
  if (typeof syncSetting === 'string') sync = syncSetting.toLowerCase() === 'always' ? 'always' : parseGoDuration(syncSetting);
  else if (typeof syncSetting === 'number') sync = syncSetting * 1000;
  if (sync !== 'always' && sync <= 0) sync = 'always';
  const domain = get(block, 'domain');
  const tag = get(block, 'unique_tag');
  return {
    storeDir,
    maxMemory: sizeSetting(block, Math.floor(totalmem() * 0.75), 'max_memory_store', 'max_mem_store', 'max_mem'),
    maxStore: sizeSetting(block, defaultMaxStore(storeDir), 'max_file_store', 'max_file'),
    domain: typeof domain === 'string' ? domain : '',
    sync,
    strict: get(block, 'strict') !== false,
    uniqueTag: typeof tag === 'string' ? tag.trim().toLowerCase() : '',
  };
}
