/**
 * Stream configuration: decoding a request body the way Go's encoding/json
 * would (type errors become "invalid JSON"), nats-server's defaults and
 * validation (checkStreamCfg), the rules for what an update may change,
 * and the JSON shape written back in API responses (2.10 field order).
 */
import { isValidSubject } from '../subjects/validate.js';
import { SubjectTransform } from '../accounts/subject-transform.js';
import type {
  DiscardPolicy, RetentionPolicy, StorageType, StreamConfig, StreamSourceConfig, SubjectTransformConfig,
} from './types.js';
import {
  type JsApiError, invalidJson, mirrorInvalidStreamName, mirrorMaxMessageSizeTooBig, mirrorMultipleFiltersNotAllowed,
  mirrorWithFirstSeq, mirrorWithSources, mirrorWithCounters, mirrorWithStartSeqAndTime, mirrorWithSubjects, replicasCountCannotBeNegative,
  sourceDuplicateDetected, sourceInvalidStreamName, sourceMaxMessageSizeTooBig, sourceMultipleFiltersNotAllowed,
  streamInvalidConfig, streamMirrorNotUpdatable, streamReplicasNotSupported, streamTransformInvalidDestination,
  streamTransformInvalidSource,
} from './api/errors.js';
import { isSubsetMatch, subjectsCollide } from '../accounts/subject-sets.js';
import { findFirstOverlap, MAX_OVERLAP_WORK, rememberIndexOfList, type SubjectOverlapIndex } from './subject-overlap.js';
import { runToEnd } from './slices.js';

const NS_PER_MS = 1_000_000;
const NS_PER_S = 1_000 * NS_PER_MS;
/** nats-server's StreamDefaultDuplicatesWindow: two minutes. */
const DEFAULT_DUPLICATE_WINDOW_NS = 120_000 * NS_PER_MS;
const MIN_WINDOW_NS = 100 * NS_PER_MS;
const MAX_NAME_LEN = 255;
const MAX_DESCRIPTION_LEN = 4 * 1024;
const MAX_METADATA_LEN = 128 * 1024;
const MAX_REPLICAS = 5;
/**
 * Subjects one stream may list. nats-server sets no number (only
 * max_payload bounds the request: about 85,000 short subjects fit in the
 * default 1 MB); this cap keeps a config's validation, its subscriptions and
 * every stream info that echoes it bounded when max_payload is raised.
 * Measured at 100,000: checking them ~250 ms and subscribing them ~150 ms,
 * both in slices; parsing the request (~20 ms) is the one piece in a block.
 */
export const MAX_STREAM_SUBJECTS = 100_000;
/** The per-subject checks cost a few microseconds each: yield after this many. */
const SUBJECTS_PER_YIELD = 512;
/** Subject spaces a stream may only capture with no_ack (nats-server's list). */
const API_NAMESPACES: readonly string[] = ['$JS.>', '$JSC.>', '$NRG.>'];
const DOLLAR = 0x24;
const STAR = 0x2a;
const GT = 0x3e;

/** A decoded request body: the config fields as sent (absent ones undefined). */
export type StreamConfigInput = Partial<StreamConfig>;

/** What validation needs to know about the rest of the account. */
export interface StreamConfigEnv {
  /** The configuration of another stream of the account, or null. */
  lookup(name: string): StreamConfig | null;
  /** A JetStream cluster: more than one replica is allowed (up to the maximum). */
  readonly clustered?: boolean;
}

// ---- decoding ---------------------------------------------------------------

type FieldKind = 'string' | 'int' | 'uint' | 'bool' | 'duration' | 'strings' | 'retention' | 'discard' | 'storage' |
  'source' | 'sources' | 'transform' | 'republish' | 'placement' | 'metadata' | 'compression' | 'consumer_limits' | 'persist_mode';

/** The StreamConfig fields nats-server reads, with their Go type for error texts. */
const FIELDS: ReadonlyArray<readonly [keyof StreamConfig, FieldKind, string]> = [
  ['name', 'string', 'string'],
  ['description', 'string', 'string'],
  ['subjects', 'strings', '[]string'],
  ['retention', 'retention', 'server.RetentionPolicy'],
  ['max_consumers', 'int', 'int'],
  ['max_msgs', 'int', 'int64'],
  ['max_bytes', 'int', 'int64'],
  ['max_age', 'duration', 'time.Duration'],
  ['max_msgs_per_subject', 'int', 'int64'],
  ['max_msg_size', 'int', 'int32'],
  ['discard', 'discard', 'server.DiscardPolicy'],
  ['storage', 'storage', 'server.StorageType'],
  ['num_replicas', 'int', 'int'],
  ['no_ack', 'bool', 'bool'],
  ['duplicate_window', 'duration', 'time.Duration'],
  ['placement', 'placement', 'server.Placement'],
  ['mirror', 'source', 'server.StreamSource'],
  ['sources', 'sources', '[]*server.StreamSource'],
  ['compression', 'compression', 'server.StoreCompression'],
  ['first_seq', 'uint', 'uint64'],
  ['subject_transform', 'transform', 'server.SubjectTransformConfig'],
  ['republish', 'republish', 'server.RePublish'],
  ['allow_direct', 'bool', 'bool'],
  ['mirror_direct', 'bool', 'bool'],
  ['discard_new_per_subject', 'bool', 'bool'],
  ['sealed', 'bool', 'bool'],
  ['deny_delete', 'bool', 'bool'],
  ['deny_purge', 'bool', 'bool'],
  ['allow_rollup_hdrs', 'bool', 'bool'],
  ['consumer_limits', 'consumer_limits', 'server.StreamConsumerLimits'],
  ['metadata', 'metadata', 'map[string]string'],
  ['allow_msg_ttl', 'bool', 'bool'],
  ['subject_delete_marker_ttl', 'duration', 'time.Duration'],
  ['allow_msg_counter', 'bool', 'bool'],
];

/**
 * Fields of nats-server 2.9 to 2.14 and of today's clients that select a
 * feature this server does not have. A client sends most of them in every
 * create at their zero value (nats-py `allow_msg_ttl: false`, nats.js
 * `persist_mode`), so the zero value is accepted; asking for the feature is
 * refused with a JetStream error naming it, never silently dropped.
 */
const UNSUPPORTED_FIELDS: ReadonlyArray<readonly [string, FieldKind, string, string]> = [
  ['template_owner', 'string', 'string', 'stream templates'],
  ['allow_atomic', 'bool', 'bool', 'atomic batch publish (allow_atomic)'],
  ['allow_batched', 'bool', 'bool', 'batched publish (allow_batched)'],
  ['allow_msg_schedules', 'bool', 'bool', 'message schedules (allow_msg_schedules)'],
  ['persist_mode', 'persist_mode', 'server.PersistModeType', 'asynchronous persistence (persist_mode: async)'],
];

class DecodeError extends Error {}

function jsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  return typeof v;
}

function typeError(v: unknown, field: string, goType: string): DecodeError {
  const kind = jsonKind(v);
  const shown = kind === 'number' ? `number ${String(v)}` : kind;
  return new DecodeError(`json: cannot unmarshal ${shown} into Go struct field StreamConfig.${field} of type ${goType}`);
}

function decodeInt(v: unknown, field: string, goType: string, unsigned: boolean): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || (unsigned && v < 0)) throw typeError(v, field, goType);
  return v;
}

function decodeString(v: unknown, field: string): string {
  if (typeof v !== 'string') throw typeError(v, field, 'string');
  return v;
}

function decodeEnum<T extends string>(v: unknown, allowed: readonly T[]): T {
  if (typeof v === 'string') {
    const lower = v.toLowerCase();
    const hit = allowed.find((a) => a === lower);
    if (hit !== undefined) return hit;
  }
  throw new DecodeError(`can not unmarshal ${JSON.stringify(v)}`);
}

function decodeTransform(v: unknown, field: string): SubjectTransformConfig {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw typeError(v, field, 'server.SubjectTransformConfig');
  const o = v as Record<string, unknown>;
  return { src: o.src === undefined ? '' : decodeString(o.src, `${field}.src`), dest: o.dest === undefined ? '' : decodeString(o.dest, `${field}.dest`) };
}

function decodeSource(v: unknown, field: string): StreamSourceConfig {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw typeError(v, field, 'server.StreamSource');
  const o = v as Record<string, unknown>;
  const out: StreamSourceConfig = { name: o.name === undefined ? '' : decodeString(o.name, `${field}.name`) };
  if (o.opt_start_seq !== undefined && o.opt_start_seq !== 0) out.opt_start_seq = decodeInt(o.opt_start_seq, `${field}.opt_start_seq`, 'uint64', true);
  if (o.opt_start_time !== undefined && o.opt_start_time !== null) out.opt_start_time = decodeString(o.opt_start_time, `${field}.opt_start_time`);
  if (o.filter_subject !== undefined && o.filter_subject !== '') out.filter_subject = decodeString(o.filter_subject, `${field}.filter_subject`);
  if (Array.isArray(o.subject_transforms) && o.subject_transforms.length > 0) {
    out.subject_transforms = o.subject_transforms.map((t) => decodeTransform(t, `${field}.subject_transforms`));
  }
  if (o.external !== undefined && o.external !== null) {
    const x = o.external as Record<string, unknown>;
    out.external = { api: typeof x.api === 'string' ? x.api : '' };
    if (typeof x.deliver === 'string' && x.deliver !== '') out.external.deliver = x.deliver;
  }
  return out;
}

/** Request-level fields next to the config (StreamConfigRequest). */
const REQUEST_FIELDS: ReadonlySet<string> = new Set(['pedantic']);
const KNOWN_FIELDS: ReadonlySet<string> = new Set([...FIELDS.map(([k]) => k as string), ...UNSUPPORTED_FIELDS.map(([k]) => k), ...REQUEST_FIELDS]);

/**
 * Decodes a stream config request body; a Go-style JSON error on failure.
 * `strict` (jetstream { strict }, on by default) refuses fields this server
 * does not know, as nats-server's strict mode does; otherwise they are ignored.
 */
export function decodeStreamConfig(body: Buffer, strict: boolean): StreamConfigInput | JsApiError {
  let raw: unknown;
  try {
    raw = body.length === 0 ? undefined : JSON.parse(body.toString('utf8'));
  } catch (e) {
    return invalidJson(e instanceof Error ? e.message : String(e));
  }
  if (raw === undefined) return invalidJson('unexpected end of JSON input');
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return invalidJson(`json: cannot unmarshal ${jsonKind(raw)} into Go value of type server.StreamConfigRequest`);
  }
  if (strict) {
    for (const k of Object.keys(raw)) if (!KNOWN_FIELDS.has(k)) return invalidJson(`json: unknown field ${JSON.stringify(k)}`);
  }
  try {
    const fields = raw as Record<string, unknown>;
    const unsupported = unsupportedFeature(fields);
    return unsupported ?? decodeFields(fields);
  } catch (e) {
    if (e instanceof DecodeError) return invalidJson(e.message);
    throw e;
  }
}

/** The refusal for a feature `o` asks for that this server lacks (type errors first, as decoding finds them), or null. */
function unsupportedFeature(o: Record<string, unknown>): JsApiError | null {
  for (const [key, kind, goType, feature] of UNSUPPORTED_FIELDS) {
    const v = o[key];
    if (v === undefined || v === null) continue;
    const value = decodeField(key, kind, goType, v);
    if (value !== '' && value !== false && value !== 'default') return streamInvalidConfig(`${feature} not supported by this server`);
  }
  return null;
}

function decodeFields(o: Record<string, unknown>): StreamConfigInput {
  const out: Record<string, unknown> = {};
  for (const [key, kind, goType] of FIELDS) {
    const v = o[key];
    // JSON null leaves a Go field at its zero value.
    if (v === undefined || v === null) continue;
    out[key] = decodeField(key, kind, goType, v);
  }
  return out as StreamConfigInput;
}

/** One field's value as Go's decoder would make it; throws DecodeError. */
function decodeField(key: string, kind: FieldKind, goType: string, v: unknown): unknown {
  switch (kind) {
    case 'string': return decodeString(v, key);
    case 'int': return decodeInt(v, key, goType, false);
    case 'uint': return decodeInt(v, key, goType, true);
    case 'duration': return decodeInt(v, key, goType, false);
    case 'bool':
      if (typeof v !== 'boolean') throw typeError(v, key, goType);
      return v;
    case 'strings':
      if (!Array.isArray(v)) throw typeError(v, key, goType);
      return v.map((s) => decodeString(s, key));
    case 'retention': return decodeEnum<RetentionPolicy>(v, ['limits', 'interest', 'workqueue']);
    case 'discard': return decodeEnum<DiscardPolicy>(v, ['old', 'new']);
    case 'storage': return decodeEnum<StorageType>(v, ['file', 'memory']);
    case 'compression': return decodeEnum<'none' | 's2'>(v, ['none', 's2']);
    // nats-server reads "" as the default mode too.
    case 'persist_mode': return v === '' ? 'default' : decodeEnum<'default' | 'async'>(v, ['default', 'async']);
    case 'source': return decodeSource(v, key);
    case 'sources':
      if (!Array.isArray(v)) throw typeError(v, key, goType);
      return v.map((s) => decodeSource(s, key));
    case 'transform': return decodeTransform(v, key);
    case 'republish': {
      if (typeof v !== 'object' || Array.isArray(v)) throw typeError(v, key, goType);
      const r = v as Record<string, unknown>;
      const rp: { src?: string; dest: string; headers_only?: boolean } = { dest: r.dest === undefined ? '' : decodeString(r.dest, 'republish.dest') };
      if (r.src !== undefined) rp.src = decodeString(r.src, 'republish.src');
      if (r.headers_only === true) rp.headers_only = true;
      return rp;
    }
    case 'placement': {
      if (typeof v !== 'object' || Array.isArray(v)) throw typeError(v, key, goType);
      const p = v as Record<string, unknown>;
      const pl: { cluster?: string; tags?: string[] } = {};
      if (typeof p.cluster === 'string' && p.cluster !== '') pl.cluster = p.cluster;
      if (Array.isArray(p.tags) && p.tags.length > 0) pl.tags = p.tags.map((t) => decodeString(t, 'placement.tags'));
      return pl;
    }
    case 'metadata': {
      if (typeof v !== 'object' || Array.isArray(v)) throw typeError(v, key, goType);
      const m: Record<string, string> = {};
      for (const [mk, mv] of Object.entries(v as Record<string, unknown>)) m[mk] = decodeString(mv, 'metadata');
      return m;
    }
    case 'consumer_limits': {
      if (typeof v !== 'object' || Array.isArray(v)) throw typeError(v, key, goType);
      const c = v as Record<string, unknown>;
      const cl: { inactive_threshold?: number; max_ack_pending?: number } = {};
      if (c.inactive_threshold !== undefined && c.inactive_threshold !== 0) cl.inactive_threshold = decodeInt(c.inactive_threshold, 'consumer_limits.inactive_threshold', 'time.Duration', false);
      if (c.max_ack_pending !== undefined && c.max_ack_pending !== 0) cl.max_ack_pending = decodeInt(c.max_ack_pending, 'consumer_limits.max_ack_pending', 'int', false);
      return cl;
    }
  }
}

// ---- defaults and validation ----------------------------------------------

/** Stream and consumer names: no whitespace, '.', '*', '>', '/' or '\'. */
export function isValidAssetName(name: string): boolean {
  return name !== '' && !/[ \t\r\n\f.*>\\/]/.test(name);
}

function limitOrUnlimited(v: number | undefined): number {
  return v === undefined || v === 0 || v < -1 ? -1 : v;
}

function validMapping(src: string, dest: string): string | null {
  if (dest === '') return null;
  const t = SubjectTransform.create(src === '' ? '>' : src, dest);
  // Stream transforms may drop source wildcards (nats-server's non-strict mode); only imports must use them all.
  return typeof t === 'string' && !t.includes('not using all') ? t : null;
}

/**
 * nats-server's checkStreamCfg: fills defaults and refuses what it refuses,
 * with the same error codes and texts. Single server: replicas > 1 refused.
 * `subjectCheck` is checkSubjectList's verdict on `input.subjects` when the
 * caller already ran it (in slices); otherwise it runs here, at once.
 */
export function checkStreamConfig(input: StreamConfigInput, env: StreamConfigEnv, subjectCheck?: SubjectListCheck): StreamConfig | JsApiError {
  const name = input.name ?? '';
  if (!isValidAssetName(name)) return streamInvalidConfig("stream name is required and can not contain '.', '*', '>', '\\', '/'");
  if (name.length > MAX_NAME_LEN) return streamInvalidConfig(`stream name is too long, maximum allowed is ${MAX_NAME_LEN}`);
  if ((input.description ?? '').length > MAX_DESCRIPTION_LEN) return streamInvalidConfig(`stream description is too long, maximum allowed is ${MAX_DESCRIPTION_LEN}`);
  let metaLen = 0;
  for (const [k, v] of Object.entries(input.metadata ?? {})) metaLen += k.length + v.length;
  if (metaLen > MAX_METADATA_LEN) return streamInvalidConfig(`stream metadata exceeds maximum size of ${MAX_METADATA_LEN} bytes`);

  const replicas = input.num_replicas === undefined || input.num_replicas === 0 ? 1 : input.num_replicas;
  if (replicas > MAX_REPLICAS) return streamInvalidConfig(`maximum replicas is ${MAX_REPLICAS}`);
  if (replicas < 0) return replicasCountCannotBeNegative();
  const maxAge = input.max_age ?? 0;
  if (maxAge < 0) return streamInvalidConfig('max age can not be negative');
  if (maxAge !== 0 && maxAge < MIN_WINDOW_NS) return streamInvalidConfig('max age needs to be >= 100ms');

  const mirror = input.mirror;
  const sources = input.sources ?? [];
  let dup = input.duplicate_window ?? 0;
  if (dup === 0 && mirror === undefined && sources.length === 0) {
    dup = maxAge !== 0 && maxAge < DEFAULT_DUPLICATE_WINDOW_NS ? maxAge : DEFAULT_DUPLICATE_WINDOW_NS;
  }
  if (dup < 0) return streamInvalidConfig('duplicates window can not be negative');
  if (maxAge !== 0 && dup > maxAge) return streamInvalidConfig('duplicates window can not be larger then max age');
  if (dup > 0 && dup < MIN_WINDOW_NS) return streamInvalidConfig('duplicates window needs to be >= 100ms');
  if (input.deny_purge === true && input.allow_rollup_hdrs === true) return streamInvalidConfig('roll-ups require the purge permission');
  // Messages would be kept uncompressed while the config says otherwise: refused until the store compresses.
  if (input.compression === 's2') return streamInvalidConfig('stream compression (s2) not supported by this server');
  let allowRollup = input.allow_rollup_hdrs ?? false;
  let denyPurge = input.deny_purge ?? false;
  let allowMsgTtl = input.allow_msg_ttl ?? false;
  const markerTtl = input.subject_delete_marker_ttl ?? 0;
  if (markerTtl > 0) {
    if (markerTtl < NS_PER_S) return streamInvalidConfig('subject delete marker TTL must be at least 1 second');
    // Markers expire through their own Nats-TTL and replace their subject's history: nats-server turns both on (outside pedantic mode).
    allowMsgTtl = true;
    if (!allowRollup) {
      allowRollup = true;
      denyPurge = false;
    }
  } else if (markerTtl < 0) {
    return streamInvalidConfig('subject delete marker TTL must not be negative');
  }

  const maxMsgsPer = limitOrUnlimited(input.max_msgs_per_subject);
  const discard: DiscardPolicy = input.discard ?? 'old';
  if (input.discard_new_per_subject === true) {
    if (discard !== 'new') return streamInvalidConfig('discard new per subject requires discard new policy to be set');
    if (maxMsgsPer <= 0) return streamInvalidConfig('discard new per subject requires max msgs per subject > 0');
  }

  const cfg: StreamConfig = {
    name,
    retention: input.retention ?? 'limits',
    max_consumers: limitOrUnlimited(input.max_consumers),
    max_msgs: limitOrUnlimited(input.max_msgs),
    max_bytes: limitOrUnlimited(input.max_bytes),
    max_age: maxAge,
    max_msgs_per_subject: maxMsgsPer,
    max_msg_size: limitOrUnlimited(input.max_msg_size),
    discard,
    storage: input.storage ?? 'file',
    num_replicas: replicas,
    duplicate_window: dup,
    sealed: input.sealed ?? false,
    deny_delete: input.deny_delete ?? false,
    deny_purge: denyPurge,
    allow_rollup_hdrs: allowRollup,
    allow_direct: input.allow_direct ?? false,
    mirror_direct: input.mirror_direct ?? false,
    compression: input.compression ?? 'none',
    consumer_limits: input.consumer_limits ?? {},
  };
  if (input.description !== undefined && input.description !== '') cfg.description = input.description;
  if (input.no_ack === true) cfg.no_ack = true;
  if (input.discard_new_per_subject === true) cfg.discard_new_per_subject = true;
  if (input.first_seq !== undefined && input.first_seq > 0) cfg.first_seq = input.first_seq;
  if (input.metadata !== undefined && Object.keys(input.metadata).length > 0) cfg.metadata = input.metadata;
  if (input.placement !== undefined && (input.placement.cluster !== undefined || input.placement.tags !== undefined)) cfg.placement = input.placement;
  if (allowMsgTtl) cfg.allow_msg_ttl = true;
  if (markerTtl > 0) cfg.subject_delete_marker_ttl = markerTtl;
  if (input.allow_msg_counter === true) {
    // ADR-49: a counter's value is the sum of its history, which discard new, TTLs and non-limits retention would cut short.
    if (discard === 'new') return streamInvalidConfig('counter stream cannot use discard new');
    if (allowMsgTtl) return streamInvalidConfig('counter stream cannot use message TTLs');
    if (cfg.retention !== 'limits') return streamInvalidConfig('counter stream can only use limits retention');
    cfg.allow_msg_counter = true;
  }

  if (mirror !== undefined) {
    if (cfg.first_seq !== undefined) return mirrorWithFirstSeq();
    if ((input.subjects ?? []).length > 0) return mirrorWithSubjects();
    if (sources.length > 0) return mirrorWithSources();
    if (cfg.allow_msg_counter === true) return mirrorWithCounters();
    if (mirror.filter_subject !== undefined && (mirror.subject_transforms ?? []).length > 0) return mirrorMultipleFiltersNotAllowed();
    if (mirror.opt_start_seq !== undefined && mirror.opt_start_time !== undefined) return mirrorWithStartSeqAndTime();
    // A marker would use a sequence the origin does not have.
    if (markerTtl > 0) return streamInvalidConfig('subject delete markers forbidden on mirrors');
    if (!isValidAssetName(mirror.name)) return mirrorInvalidStreamName();
    const origin = env.lookup(mirror.name);
    if (origin !== null) {
      if (cfg.max_msg_size > 0 && origin.max_msg_size > 0 && cfg.max_msg_size < origin.max_msg_size) return mirrorMaxMessageSizeTooBig();
      cfg.mirror_direct = origin.allow_direct;
    }
    cfg.mirror = mirror;
  } else if (cfg.mirror_direct) {
    return streamInvalidConfig('stream has no mirror but does have mirror direct');
  }

  const seen = new Set<string>();
  for (const src of sources) {
    if (!isValidAssetName(src.name)) return sourceInvalidStreamName();
    const key = `${src.name} ${src.filter_subject ?? ''} ${(src.subject_transforms ?? []).map((t) => t.src + '>' + t.dest).join(',')}`;
    if (seen.has(key)) return sourceDuplicateDetected();
    seen.add(key);
    if (src.filter_subject !== undefined && (src.subject_transforms ?? []).length > 0) return sourceMultipleFiltersNotAllowed();
    const origin = env.lookup(src.name);
    if (origin !== null && cfg.max_msg_size > 0 && origin.max_msg_size > 0 && cfg.max_msg_size < origin.max_msg_size) return sourceMaxMessageSizeTooBig();
  }
  if (sources.length > 0) cfg.sources = sources;
  const cycle = findSourceCycle(cfg, env);
  if (cycle !== null) return cycle;

  const subjects = input.subjects ?? [];
  let subjectIndex: SubjectOverlapIndex | null = null;
  if (subjects.length === 0) {
    if (mirror === undefined && sources.length === 0) cfg.subjects = [name];
  } else {
    const checked = subjectCheck !== undefined && subjectCheck.subjects === subjects
      ? subjectCheck
      : runToEnd(checkSubjectList(subjects, cfg.no_ack === true));
    if (checked.error !== null) return checked.error;
    subjectIndex = checked.index;
    cfg.subjects = [...subjects];
    // Every subject is valid and in the trie under its position: later checks against this config (a push consumer's deliver subject) reuse it.
    if (subjectIndex !== null) rememberIndexOfList(cfg.subjects, subjectIndex);
  }

  if (input.subject_transform !== undefined) {
    const t = input.subject_transform;
    if (t.src !== '' && !isValidSubject(t.src)) return streamTransformInvalidSource(`invalid subject ${t.src}`);
    const bad = validMapping(t.src, t.dest);
    if (bad !== null) return streamTransformInvalidDestination(bad);
    cfg.subject_transform = t;
  }
  if (input.republish !== undefined) {
    const rp = { ...input.republish };
    if (rp.src === undefined || rp.src === '') rp.src = '>';
    // The subjects' trie answers at once; it only knows valid subjects, and an invalid destination is refused below anyway.
    const formsCycle = subjectIndex !== null && isValidSubject(rp.dest)
      ? subjectIndex.findCollision(rp.dest) >= 0
      : (cfg.subjects ?? []).some((subj) => subjectsCollide(rp.dest, subj));
    if (formsCycle) return streamInvalidConfig('stream configuration for republish destination forms a cycle');
    if (!isValidSubject(rp.dest) || validMapping(rp.src, rp.dest) !== null) {
      return streamInvalidConfig(`stream configuration for republish with transform from '${rp.src}' to '${rp.dest}' not valid`);
    }
    cfg.republish = rp;
  }
  if (cfg.num_replicas > 1 && env.clustered !== true) return streamReplicasNotSupported();
  return cfg;
}

/** The outcome of checking a stream's subject list. */
export interface SubjectListCheck {
  /** The list checked (the very array: a verdict only stands for the list it was made for). */
  readonly subjects: readonly string[];
  readonly error: JsApiError | null;
  /** The valid subjects of the list, for the overlap check against other streams; null when refused before it was built. */
  readonly index: SubjectOverlapIndex | null;
}

/** The problem nats-server finds with one subject on its own (in its order), or null. */
function subjectProblem(subj: string, seen: ReadonlySet<string>, noAck: boolean): JsApiError | null {
  if (!isValidSubject(subj)) return streamInvalidConfig('invalid subject');
  if (seen.has(subj)) return streamInvalidConfig('duplicate subjects detected');
  if (subj === '>' && !noAck) return streamInvalidConfig('capturing all subjects requires no-ack to be true');
  // Only a first token of '$…' or a wildcard can reach the API subject spaces: most subjects skip the comparisons.
  const c = subj.charCodeAt(0);
  if (noAck || (c !== DOLLAR && c !== STAR && c !== GT)) return null;
  for (const ns of API_NAMESPACES) {
    if (subjectsCollide(subj, ns) && !isSubsetMatch(subj, '$JS.EVENT.>')) {
      return streamInvalidConfig('subjects that overlap with jetstream api require no-ack to be true');
    }
  }
  if (subjectsCollide(subj, '$SYS.>') && !isSubsetMatch(subj, '$SYS.ACCOUNT.>')) {
    return streamInvalidConfig('subjects that overlap with system api require no-ack to be true');
  }
  return null;
}

/**
 * nats-server's loop over a stream's subjects: per subject, in list order,
 * its own problems, then whether a later subject overlaps it; the first
 * finding wins. The overlap half uses a trie (subject-overlap.ts) instead of
 * comparing pairs, so a list of tens of thousands costs milliseconds, and
 * the whole check yields now and then (run it with runInSlices). One
 * difference: an invalid subject is never reported as overlapping an
 * earlier one, it is reported as invalid (as nats-server 2.9 and 2.10 do).
 */
export function* checkSubjectList(subjects: readonly string[], noAck: boolean): Generator<void, SubjectListCheck> {
  if (subjects.length > MAX_STREAM_SUBJECTS) {
    return { subjects, index: null, error: streamInvalidConfig(`stream has ${subjects.length} subjects, more than the maximum of ${MAX_STREAM_SUBJECTS}`) };
  }
  const seen = new Set<string>();
  let firstProblemAt = subjects.length;
  let problem: JsApiError | null = null;
  for (let i = 0; i < subjects.length; i++) {
    problem = subjectProblem(subjects[i], seen, noAck);
    if (problem !== null) {
      firstProblemAt = i;
      break;
    }
    seen.add(subjects[i]);
    if (i % SUBJECTS_PER_YIELD === SUBJECTS_PER_YIELD - 1) yield;
  }
  const { pair, index, overBudget } = yield* findFirstOverlap(subjects, firstProblemAt);
  if (overBudget) {
    return { subjects, index: null, error: streamInvalidConfig(`stream subjects need more than ${MAX_OVERLAP_WORK} steps to check for overlaps`) };
  }
  if (pair !== null) {
    const error = streamInvalidConfig(`subject ${JSON.stringify(subjects[pair.first])} overlaps with ${JSON.stringify(subjects[pair.second])}`);
    return { subjects, index, error };
  }
  return { subjects, index, error: problem };
}

/** Sources and mirrors must not lead back to the stream itself over overlapping subjects. */
function findSourceCycle(cfg: StreamConfig, env: StreamConfigEnv): JsApiError | null {
  const toVisit: StreamConfig[] = [cfg];
  const visited = new Set<string>();
  while (toVisit.length > 0) {
    const c = toVisit.shift() as StreamConfig;
    visited.add(c.name);
    for (const src of c.sources ?? []) {
      if (visited.has(src.name)) {
        const filter = src.filter_subject ?? '';
        if (filter === '' || (c.subjects ?? []).some((s) => subjectsCollide(s, filter))) return streamInvalidConfig('detected cycle');
      } else {
        const o = env.lookup(src.name);
        if (o !== null) toVisit.push(o);
      }
    }
    const m = c.mirror;
    if (m !== undefined) {
      if (visited.has(m.name)) return streamInvalidConfig('detected cycle');
      const o = env.lookup(m.name);
      if (o !== null) toVisit.push(o);
    }
  }
  return null;
}

/** What an update may change (nats-server configUpdateCheck); returns the config to apply. */
export function checkStreamUpdate(old: StreamConfig, input: StreamConfigInput, env: StreamConfigEnv, subjectCheck?: SubjectListCheck): StreamConfig | JsApiError {
  const cfg = checkStreamConfig(input, env, subjectCheck);
  if (!isConfig(cfg)) return cfg;
  if (cfg.name !== old.name) return streamInvalidConfig('stream configuration name must match original');
  if (cfg.storage !== old.storage) return streamInvalidConfig('stream configuration update can not change storage type');
  if (cfg.retention !== old.retention && (old.retention === 'workqueue' || cfg.retention === 'workqueue')) {
    return streamInvalidConfig('stream configuration update can not change retention policy to/from workqueue');
  }
  if (!cfg.sealed && old.sealed) return streamInvalidConfig('stream configuration update can not unseal a sealed stream');
  if (!cfg.deny_delete && old.deny_delete) return streamInvalidConfig('stream configuration update can not cancel deny message deletes');
  if (!cfg.deny_purge && old.deny_purge) return streamInvalidConfig('stream configuration update can not cancel deny purge');
  if (old.allow_msg_ttl === true && cfg.allow_msg_ttl !== true) return streamInvalidConfig('message TTL status can not be disabled');
  if ((cfg.allow_msg_counter === true) !== (old.allow_msg_counter === true)) {
    return streamInvalidConfig('stream configuration update can not change message counter setting');
  }
  if (cfg.mirror !== undefined && JSON.stringify(cfg.mirror) !== JSON.stringify(old.mirror)) return streamMirrorNotUpdatable();
  if (cfg.sealed) {
    cfg.max_age = 0;
    cfg.discard = 'new';
    cfg.deny_delete = true;
    cfg.deny_purge = true;
    cfg.allow_rollup_hdrs = false;
  }
  return cfg;
}

export function isConfig(v: StreamConfig | JsApiError): v is StreamConfig {
  return !(v instanceof Error);
}

// ---- output -----------------------------------------------------------------

/** The config as nats-server 2.10 marshals it: field order and omitempty rules. */
export function streamConfigJson(c: StreamConfig): Record<string, unknown> {
  const o: Record<string, unknown> = { name: c.name };
  if (c.description !== undefined) o.description = c.description;
  if (c.subjects !== undefined && c.subjects.length > 0) o.subjects = c.subjects;
  o.retention = c.retention;
  o.max_consumers = c.max_consumers;
  o.max_msgs = c.max_msgs;
  o.max_bytes = c.max_bytes;
  o.max_age = c.max_age;
  o.max_msgs_per_subject = c.max_msgs_per_subject;
  if (c.max_msg_size !== 0) o.max_msg_size = c.max_msg_size;
  o.discard = c.discard;
  o.storage = c.storage;
  o.num_replicas = c.num_replicas;
  if (c.no_ack === true) o.no_ack = true;
  if (c.duplicate_window !== 0) o.duplicate_window = c.duplicate_window;
  if (c.placement !== undefined) o.placement = c.placement;
  if (c.mirror !== undefined) o.mirror = c.mirror;
  if (c.sources !== undefined) o.sources = c.sources;
  o.compression = c.compression ?? 'none';
  if (c.first_seq !== undefined) o.first_seq = c.first_seq;
  if (c.subject_transform !== undefined) o.subject_transform = c.subject_transform;
  if (c.republish !== undefined) o.republish = c.republish;
  o.allow_direct = c.allow_direct;
  o.mirror_direct = c.mirror_direct;
  if (c.discard_new_per_subject === true) o.discard_new_per_subject = true;
  o.sealed = c.sealed;
  o.deny_delete = c.deny_delete;
  o.deny_purge = c.deny_purge;
  o.allow_rollup_hdrs = c.allow_rollup_hdrs;
  o.consumer_limits = c.consumer_limits ?? {};
  // nats-server 2.11 writes allow_msg_ttl always; a 2.10 server (the level reported) never: only when set.
  if (c.allow_msg_ttl === true) o.allow_msg_ttl = true;
  if (c.subject_delete_marker_ttl !== undefined) o.subject_delete_marker_ttl = c.subject_delete_marker_ttl;
  if (c.allow_msg_counter === true) o.allow_msg_counter = true;
  if (c.metadata !== undefined) o.metadata = c.metadata;
  return o;
}

/** Two configs mean the same stream (create on an existing name is idempotent only then). */
export function sameConfig(a: StreamConfig, b: StreamConfig): boolean {
  return JSON.stringify(streamConfigJson(a)) === JSON.stringify(streamConfigJson(b));
}
