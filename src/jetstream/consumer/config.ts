/**
 * Consumer configuration: decoding a request's `config` object, the
 * defaults nats-server fills in, the checks it makes (with its exact
 * errors), which fields an update may change, and the JSON written back in
 * nats-server's field order.
 */
import type { AckPolicy, ConsumerConfig, DeliverPolicy, ReplayPolicy, StreamConfig } from '../types.js';
import type { JsApiError } from '../api/errors.js';
import { invalidJson } from '../api/errors.js';
import * as E from '../api/consumer-errors.js';
import { isValidSubject, subjectHasWildcard } from '../../subjects/validate.js';
import { findFirstOverlap, indexOfList, MAX_OVERLAP_WORK, SubjectOverlapIndex } from '../subject-overlap.js';
import { runToEnd } from '../slices.js';
import { ZERO_TIME } from '../time.js';

const NS_PER_MS = 1_000_000;
export const DEFAULT_ACK_WAIT_NS = 30_000 * NS_PER_MS;
export const DEFAULT_INACTIVE_THRESHOLD_NS = 5_000 * NS_PER_MS;
export const DEFAULT_MAX_ACK_PENDING = 1000;
export const DEFAULT_MAX_WAITING = 512;
export const MAX_NAME_LEN = 255;
const MAX_DESCRIPTION_LEN = 4 * 1024;
const MAX_METADATA_LEN = 128 * 1024;
/**
 * Filter subjects one consumer may have. nats-server sets no number; this
 * cap bounds what one create request costs to check (a trie makes 10,000
 * a few milliseconds) and to store, while leaving room for a KV watcher of
 * thousands of keys. Matching messages against the filters does not grow
 * with their number (FilterSet below, store/subject-filter.ts).
 */
export const MAX_FILTER_SUBJECTS = 10_000;
/** Up to this many wildcard filters are tried one by one; more go into a trie. */
const LINEAR_FILTERS = 16;
/** Wildcard answers a FilterSet remembers at most (a stream of ever-new subjects must not grow it without end). */
const MAX_REMEMBERED = 4096;

const DELIVER_POLICIES: readonly DeliverPolicy[] = ['all', 'last', 'new', 'by_start_sequence', 'by_start_time', 'last_per_subject'];
const ACK_POLICIES: readonly AckPolicy[] = ['none', 'all', 'explicit'];
const REPLAY_POLICIES: readonly ReplayPolicy[] = ['instant', 'original'];

/** Thrown while decoding: becomes an `invalid JSON: …` API error. */
class DecodeError extends Error {}

type Json = Record<string, unknown>;

function str(o: Json, k: string): string | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new DecodeError(`json: cannot unmarshal ${typeof v} into Go struct field ConsumerConfig.config.${k} of type string`);
  return v;
}

function int(o: Json, k: string): number | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new DecodeError(`json: cannot unmarshal ${typeof v} into Go struct field ConsumerConfig.config.${k} of type int`);
  return v;
}

function bool(o: Json, k: string): boolean | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new DecodeError(`json: cannot unmarshal ${typeof v} into Go struct field ConsumerConfig.config.${k} of type bool`);
  return v;
}

function strArray(o: Json, k: string): string[] | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new DecodeError(`json: cannot unmarshal into Go struct field ConsumerConfig.config.${k} of type []string`);
  return v as string[];
}

function enumOf<T extends string>(o: Json, k: string, allowed: readonly T[], dflt: T): T {
  const v = o[k];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) throw new DecodeError(`can not unmarshal ${JSON.stringify(v)}`);
  return v as T;
}

/** The ConsumerConfig fields nats-server (up to 2.14) reads; the official clients send no others. */
const KNOWN_FIELDS: ReadonlySet<string> = new Set([
  'durable_name', 'name', 'description', 'deliver_policy', 'opt_start_seq', 'opt_start_time', 'ack_policy', 'ack_wait', 'max_deliver', 'backoff',
  'filter_subject', 'filter_subjects', 'replay_policy', 'rate_limit_bps', 'sample_freq', 'max_waiting', 'max_ack_pending', 'flow_control',
  'idle_heartbeat', 'headers_only', 'max_batch', 'max_expires', 'max_bytes', 'inactive_threshold', 'num_replicas', 'mem_storage',
  'deliver_subject', 'deliver_group', 'metadata', 'direct', 'pause_until', 'priority_groups', 'priority_policy', 'priority_timeout',
]);
const PRIORITY_POLICIES: readonly string[] = ['none', 'overflow', 'pinned_client', 'prioritized'];

/**
 * Decodes the request's `config`; a malformed one is an `invalid JSON`
 * error. `strict` (jetstream { strict }, on by default) refuses fields no
 * nats-server knows, as its strict mode does. Fields of features this server
 * lacks are accepted at their zero value (clients send them so) and refused
 * when they ask for the feature.
 */
export function decodeConsumerConfig(raw: unknown, strict = true): ConsumerConfig | JsApiError {
  if (raw === undefined || raw === null) return E.consumerConfigRequired();
  if (typeof raw !== 'object' || Array.isArray(raw)) return invalidJson('json: cannot unmarshal into Go struct field CreateConsumerRequest.config');
  const o = raw as Json;
  if (strict) {
    for (const k of Object.keys(o)) if (!KNOWN_FIELDS.has(k)) return invalidJson(`json: unknown field ${JSON.stringify(k)}`);
  }
  try {
    const unsupported = unsupportedFeature(o);
    if (unsupported !== null) return unsupported;
    const c: ConsumerConfig = {
      deliver_policy: enumOf(o, 'deliver_policy', DELIVER_POLICIES, 'all'),
      ack_policy: enumOf(o, 'ack_policy', ACK_POLICIES, 'none'),
      replay_policy: enumOf(o, 'replay_policy', REPLAY_POLICIES, 'instant'),
    };
    const set = <K extends keyof ConsumerConfig>(k: K, v: ConsumerConfig[K] | undefined): void => {
      if (v !== undefined) c[k] = v;
    };
    set('durable_name', str(o, 'durable_name'));
    set('name', str(o, 'name'));
    set('description', str(o, 'description'));
    set('opt_start_seq', int(o, 'opt_start_seq'));
    const start = str(o, 'opt_start_time');
    if (start !== undefined) {
      if (Number.isNaN(Date.parse(start))) throw new DecodeError(`parsing time ${JSON.stringify(start)} as "2006-01-02T15:04:05Z07:00": cannot parse`);
      c.opt_start_time = start;
    }
    set('ack_wait', int(o, 'ack_wait'));
    set('max_deliver', int(o, 'max_deliver'));
    const backoff = o.backoff;
    if (backoff !== undefined && backoff !== null) {
      if (!Array.isArray(backoff) || backoff.some((x) => typeof x !== 'number' || !Number.isInteger(x))) throw new DecodeError('json: cannot unmarshal into Go struct field ConsumerConfig.config.backoff of type []time.Duration');
      c.backoff = backoff as number[];
    }
    set('filter_subject', str(o, 'filter_subject'));
    set('filter_subjects', strArray(o, 'filter_subjects'));
    set('rate_limit_bps', int(o, 'rate_limit_bps'));
    set('sample_freq', str(o, 'sample_freq'));
    set('max_waiting', int(o, 'max_waiting'));
    set('max_ack_pending', int(o, 'max_ack_pending'));
    set('flow_control', bool(o, 'flow_control'));
    set('idle_heartbeat', int(o, 'idle_heartbeat'));
    set('headers_only', bool(o, 'headers_only'));
    set('max_batch', int(o, 'max_batch'));
    set('max_expires', int(o, 'max_expires'));
    set('max_bytes', int(o, 'max_bytes'));
    set('inactive_threshold', int(o, 'inactive_threshold'));
    set('num_replicas', int(o, 'num_replicas'));
    set('mem_storage', bool(o, 'mem_storage'));
    // The consumers nats-server's sources and mirrors create on the origin stream (see ConsumerConfig.direct).
    set('direct', bool(o, 'direct'));
    set('deliver_subject', str(o, 'deliver_subject'));
    const pauseUntil = str(o, 'pause_until');
    if (pauseUntil !== undefined) {
      if (Number.isNaN(Date.parse(pauseUntil))) throw new DecodeError(`parsing time ${JSON.stringify(pauseUntil)} as "2006-01-02T15:04:05Z07:00": cannot parse`);
      // Go's zero time is "no pause", which nats-server leaves out.
      if (pauseUntil !== ZERO_TIME) c.pause_until = pauseUntil;
    }
    set('deliver_group', str(o, 'deliver_group'));
    const md = o.metadata;
    if (md !== undefined && md !== null) {
      if (typeof md !== 'object' || Array.isArray(md) || Object.values(md).some((x) => typeof x !== 'string')) throw new DecodeError('json: cannot unmarshal into Go struct field ConsumerConfig.config.metadata of type map[string]string');
      c.metadata = md as Record<string, string>;
    }
    // Go drops empty strings and zero numbers (omitempty), so do we: a
    // config echoed back must compare equal to the stored one.
    for (const k of Object.keys(c) as Array<keyof ConsumerConfig>) {
      const v = c[k];
      if (v === '' || v === 0 || v === false || (Array.isArray(v) && v.length === 0)) delete c[k];
    }
    return c;
  } catch (err) {
    if (err instanceof DecodeError) return invalidJson(err.message);
    throw err;
  }
}

/** The refusal for a 2.11+ consumer feature `o` asks for that this server lacks (priority groups), or null at their zero values. */
function unsupportedFeature(o: Json): JsApiError | null {
  if ((strArray(o, 'priority_groups') ?? []).length > 0) return E.consumerCreate('priority groups (priority_groups) not supported by this server');
  const policy = o.priority_policy;
  if (policy !== undefined && policy !== null && policy !== '') {
    if (typeof policy !== 'string' || !PRIORITY_POLICIES.includes(policy)) throw new DecodeError(`unknown priority policy: ${JSON.stringify(policy)}`);
    if (policy !== 'none') return E.consumerCreate(`priority policy ${policy} not supported by this server`);
  }
  if ((int(o, 'priority_timeout') ?? 0) !== 0) return E.consumerCreate('pinned client timeout (priority_timeout) not supported by this server');
  return null;
}

/** The filters a consumer selects by (empty: every subject of the stream). */
export function filtersOf(c: ConsumerConfig): string[] {
  if (c.filter_subject !== undefined && c.filter_subject !== '') return [c.filter_subject];
  return c.filter_subjects ?? [];
}

export function isDurable(c: ConsumerConfig): boolean {
  return c.durable_name !== undefined && c.durable_name !== '';
}

/** Fills in what nats-server fills in before checking (setConsumerConfigDefaults). */
export function applyDefaults(c: ConsumerConfig, stream: StreamConfig): void {
  if (c.max_deliver === undefined || c.max_deliver < -1) c.max_deliver = -1;
  if (c.max_waiting !== undefined && c.max_waiting < 0) delete c.max_waiting;
  if (c.max_ack_pending !== undefined && c.max_ack_pending < -1) c.max_ack_pending = -1;
  if (c.max_batch !== undefined && c.max_batch < 0) delete c.max_batch;
  if (c.max_expires !== undefined && c.max_expires < 0) delete c.max_expires;
  if (c.max_bytes !== undefined && c.max_bytes < 0) delete c.max_bytes;
  if (c.idle_heartbeat !== undefined && c.idle_heartbeat < 0) delete c.idle_heartbeat;
  if (c.inactive_threshold !== undefined && c.inactive_threshold < 0) delete c.inactive_threshold;
  const push = c.deliver_subject !== undefined;
  if (!push && c.max_waiting === undefined) c.max_waiting = DEFAULT_MAX_WAITING;
  if (c.ack_wait === undefined && c.ack_policy !== 'none') c.ack_wait = DEFAULT_ACK_WAIT_NS;
  if (c.backoff !== undefined && c.backoff.length > 0) c.ack_wait = c.backoff[0];
  const limits = stream.consumer_limits;
  if (c.max_ack_pending === undefined && limits?.max_ack_pending) c.max_ack_pending = limits.max_ack_pending;
  if (c.inactive_threshold === undefined && limits?.inactive_threshold) c.inactive_threshold = limits.inactive_threshold;
  if (c.max_ack_pending === undefined && c.ack_policy !== 'none') c.max_ack_pending = DEFAULT_MAX_ACK_PENDING;
  // Ephemerals go away after a while without interest (nats-server: 5s).
  if (!isDurable(c) && c.inactive_threshold === undefined) c.inactive_threshold = DEFAULT_INACTIVE_THRESHOLD_NS;
  if (c.num_replicas === undefined) c.num_replicas = 0;
}

/**
 * nats-server's checkConsumerCfg, in its order; null when the config is
 * acceptable. `filterCheck` is checkFilterList's verdict on filtersOf(c)
 * when the caller ran it ahead (in slices); otherwise it runs here.
 */
export function checkConfig(c: ConsumerConfig, stream: StreamConfig, filterCheck?: FilterListCheck): JsApiError | null {
  const badName = (n: string): boolean => /[.*>\\/\s]/.test(n);
  if (c.name !== undefined && badName(c.name)) return E.streamInvalidConfig("consumer name can not contain '.', '*', '>', '\\', '/'");
  if (c.durable_name !== undefined && badName(c.durable_name)) return E.streamInvalidConfig("consumer durable name can not contain '.', '*', '>', '\\', '/'");
  const replicas = c.num_replicas ?? 0;
  if (replicas > 0 && replicas > stream.num_replicas) return E.consumerReplicasExceedsStream();
  if (replicas < 0) return E.replicasCountCannotBeNegative();
  if (stream.retention !== 'limits' && replicas !== 0 && replicas !== stream.num_replicas) return E.consumerReplicasShouldMatchStream();
  for (const b of c.backoff ?? []) if (b < 0) return E.consumerBackOffNegative();
  if ((c.ack_wait ?? 0) < 0) return E.consumerAckWaitNegative();
  const maxDeliver = c.max_deliver ?? -1;
  if (c.backoff !== undefined && c.backoff.length > 0 && maxDeliver !== -1 && c.backoff.length > maxDeliver) return E.consumerMaxDeliverBackoff();
  if ((c.description ?? '').length > MAX_DESCRIPTION_LEN) return E.consumerDescriptionTooLong(MAX_DESCRIPTION_LEN);
  if (c.deliver_subject !== undefined) {
    if (subjectHasWildcard(c.deliver_subject)) return E.consumerDeliverToWildcards();
    if (!isValidSubject(c.deliver_subject)) return E.consumerInvalidDeliverSubject();
    // The deliver subject is literal here: it collides with exactly the stream subjects that match it.
    if (stream.subjects !== undefined && indexOfList(stream.subjects).findCollision(c.deliver_subject) >= 0) return E.consumerDeliverCycle();
    if ((c.max_waiting ?? 0) !== 0) return E.consumerPushMaxWaiting();
    if ((c.max_ack_pending ?? 0) > 0 && c.ack_policy === 'none') return E.consumerMaxPendingAckPolicyRequired();
    if ((c.idle_heartbeat ?? 0) > 0 && (c.idle_heartbeat ?? 0) < 100 * NS_PER_MS) return E.consumerSmallHeartbeat();
  } else {
    if (c.ack_policy === 'none' && stream.retention === 'workqueue') return E.consumerPullRequiresAck();
    if ((c.rate_limit_bps ?? 0) > 0) return E.consumerPullWithRateLimit();
    if ((c.max_waiting ?? 0) < 0) return E.consumerMaxWaitingNegative();
    if ((c.idle_heartbeat ?? 0) > 0) return E.consumerHbRequiresPush();
    if (c.flow_control === true) return E.consumerFcRequiresPush();
    if ((c.max_batch ?? 0) < 0) return E.consumerMaxRequestBatchNegative();
    if (c.max_expires !== undefined && c.max_expires !== 0 && c.max_expires < NS_PER_MS) return E.consumerMaxRequestExpiresTooSmall();
  }
  const limits = stream.consumer_limits;
  if (limits?.max_ack_pending && (c.max_ack_pending ?? 0) > limits.max_ack_pending) return E.consumerMaxPendingAckExcess(limits.max_ack_pending);
  if (limits?.inactive_threshold && (c.inactive_threshold ?? 0) > limits.inactive_threshold) return E.consumerInactiveThresholdExcess(limits.inactive_threshold);
  if (c.filter_subject !== undefined && c.filter_subjects !== undefined && c.filter_subjects.length > 0) return E.consumerDuplicateFilterSubjects();
  if (c.filter_subject !== undefined && !isValidSubject(c.filter_subject)) return E.streamInvalidConfig('invalid subject');
  for (const f of c.filter_subjects ?? []) if (f === '') return E.consumerEmptyFilter();
  const filters = filtersOf(c);
  const checked = filterCheck !== undefined && filterCheck.filters === filters ? filterCheck : runToEnd(checkFilterList(filters));
  if (checked.error !== null) return checked.error;
  const policyError = checkDeliverPolicy(c);
  if (policyError !== null) return policyError;
  if (c.sample_freq !== undefined) {
    const n = Number(c.sample_freq.replace(/%$/, ''));
    if (!Number.isInteger(n) || n < 0) return E.consumerInvalidSampling(`strconv.Atoi: parsing ${JSON.stringify(c.sample_freq.replace(/%$/, ''))}: invalid syntax`);
  }
  if (c.flow_control === true && (c.idle_heartbeat ?? 0) === 0) return E.consumerWithFlowControlNeedsHeartbeats();
  if (c.durable_name !== undefined && c.name !== undefined && c.name !== c.durable_name) return E.consumerCreateDurableAndNameMismatch();
  let mdLen = 0;
  for (const [k, v] of Object.entries(c.metadata ?? {})) mdLen += k.length + v.length;
  if (mdLen > MAX_METADATA_LEN) return E.consumerMetadataLength(`${MAX_METADATA_LEN / 1024}KB`);
  return null;
}

/** The verdict on a consumer's filter list: what checkConfig reports about it, computed ahead. */
export interface FilterListCheck {
  /** The list checked (a verdict stands only for the very array it was made for). */
  readonly filters: readonly string[];
  readonly error: JsApiError | null;
}

/**
 * nats-server's loop over the filters: per filter in order, invalid, then
 * overlapping any other; the first finding wins. The overlap half asks a
 * trie (subject-overlap.ts) rather than comparing every pair, and yields now
 * and then (run it with runInSlices). An invalid filter is reported as
 * invalid even when it would overlap an earlier one.
 */
export function* checkFilterList(filters: readonly string[]): Generator<void, FilterListCheck> {
  if (filters.length > MAX_FILTER_SUBJECTS) {
    return { filters, error: E.streamInvalidConfig(`consumer has ${filters.length} filter subjects, more than the maximum of ${MAX_FILTER_SUBJECTS}`) };
  }
  let firstInvalid = filters.length;
  for (let i = 0; i < filters.length; i++) {
    if (!isValidSubject(filters[i])) {
      firstInvalid = i;
      break;
    }
  }
  // Overlap is symmetric, so the first filter overlapping any other is the first that overlaps a later one.
  const { pair, overBudget } = yield* findFirstOverlap(filters, firstInvalid);
  if (overBudget) return { filters, error: E.streamInvalidConfig(`consumer filter subjects need more than ${MAX_OVERLAP_WORK} steps to check for overlaps`) };
  if (pair !== null) return { filters, error: E.consumerOverlappingSubjectFilters() };
  return { filters, error: firstInvalid < filters.length ? E.streamInvalidConfig('invalid subject') : null };
}

function checkDeliverPolicy(c: ConsumerConfig): JsApiError | null {
  const badStart = (dp: string, start: string): JsApiError => E.consumerInvalidPolicy(`consumer delivery policy is deliver ${dp}, but optional start ${start} is also set`);
  const notSet = (dp: string, what: string): JsApiError => E.consumerInvalidPolicy(`consumer delivery policy is deliver ${dp}, but optional ${what} is not set`);
  const seq = (c.opt_start_seq ?? 0) > 0;
  const time = c.opt_start_time !== undefined;
  switch (c.deliver_policy) {
    case 'all':
    case 'last':
    case 'new': {
      if (seq) return badStart(c.deliver_policy, 'sequence');
      if (time) return badStart(c.deliver_policy, 'time');
      return null;
    }
    case 'last_per_subject':
      if (seq) return badStart('last per subject', 'sequence');
      if (time) return badStart('last per subject', 'time');
      if (filtersOf(c).length === 0) return notSet('last per subject', 'filter subject');
      return null;
    case 'by_start_sequence':
      if (!seq) return notSet('by start sequence', 'start sequence');
      if (time) return badStart('by start sequence', 'time');
      return null;
    case 'by_start_time':
      if (!time) return notSet('by start time', 'start time');
      if (seq) return badStart('by start time', 'start sequence');
      return null;
  }
}

/** What an update may not change (nats-server checkNewConsumerConfig); the error text or null. */
export function checkUpdate(old: ConsumerConfig, next: ConsumerConfig, deliverSubjectBound: boolean): JsApiError | null {
  const err = (m: string): JsApiError => E.consumerCreate(m);
  if (old.deliver_policy !== next.deliver_policy) return err('deliver policy can not be updated');
  if ((old.mem_storage ?? false) !== (next.mem_storage ?? false)) return err('storage type can not be updated');
  if ((old.opt_start_seq ?? 0) !== (next.opt_start_seq ?? 0)) return err('start sequence can not be updated');
  if ((old.opt_start_time === undefined) !== (next.opt_start_time === undefined) || (old.opt_start_time !== undefined && Date.parse(old.opt_start_time) !== Date.parse(next.opt_start_time ?? ''))) {
    return err('start time can not be updated');
  }
  if (old.ack_policy !== next.ack_policy) return err('ack policy can not be updated');
  if (old.replay_policy !== next.replay_policy) return err('replay policy can not be updated');
  if ((old.idle_heartbeat ?? 0) !== (next.idle_heartbeat ?? 0)) return err('heart beats can not be updated');
  if ((old.flow_control ?? false) !== (next.flow_control ?? false)) return err('flow control can not be updated');
  if (old.deliver_subject !== next.deliver_subject) {
    if (old.deliver_subject === undefined) return err('can not update pull consumer to push based');
    if (next.deliver_subject === undefined) return err('can not update push consumer to pull based');
    if (deliverSubjectBound) return E.consumerNameExist();
  }
  if ((old.max_waiting ?? 0) !== (next.max_waiting ?? 0)) return err('max waiting can not be updated');
  const lbo = next.backoff?.length ?? 0;
  if (lbo > 0 && (next.max_deliver ?? -1) !== -1 && lbo > (next.max_deliver ?? -1)) return E.consumerMaxDeliverBackoff();
  return null;
}

/** Field-by-field equality of two configs (what "the same config" means for create). */
export function sameConfig(a: ConsumerConfig, b: ConsumerConfig): boolean {
  return JSON.stringify(configJson(a)) === JSON.stringify(configJson(b));
}

const FIELD_ORDER: ReadonlyArray<keyof ConsumerConfig> = [
  'durable_name', 'name', 'description', 'deliver_policy', 'opt_start_seq', 'opt_start_time', 'ack_policy', 'ack_wait', 'max_deliver', 'backoff',
  'filter_subject', 'filter_subjects', 'replay_policy', 'rate_limit_bps', 'sample_freq', 'max_waiting', 'max_ack_pending', 'flow_control', 'headers_only',
  'max_batch', 'max_expires', 'max_bytes', 'deliver_subject', 'deliver_group', 'idle_heartbeat', 'inactive_threshold', 'num_replicas', 'mem_storage', 'direct', 'metadata',
  'pause_until',
];

/** The config as nats-server writes it: its field order, zero values left out except num_replicas. */
export function configJson(c: ConsumerConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of FIELD_ORDER) {
    const v = c[k];
    if (v === undefined) continue;
    if (k !== 'num_replicas' && k !== 'deliver_policy' && k !== 'ack_policy' && k !== 'replay_policy' && (v === '' || v === 0 || v === false)) continue;
    out[k] = v;
  }
  if (out.num_replicas === undefined) out.num_replicas = 0;
  return out;
}

/**
 * A consumer's filters, prepared for the per-message test: no filters or
 * `>` pass everything, literal ones compare as strings, wildcard ones are
 * tokenized once (the subject is split once per test, not once per filter).
 * Stored subjects repeat, so wildcard answers are remembered (a bounded memo).
 */
export class FilterSet {
  readonly all: boolean;
  private readonly seen = new Map<string, boolean>();
  private readonly literals: ReadonlySet<string>;
  private readonly patterns: ReadonlyArray<readonly string[]>;
  /** The wildcard filters as a trie when there are too many to try one by one. */
  private readonly patternIndex: SubjectOverlapIndex | null;

  constructor(filters: readonly string[]) {
    this.all = filters.length === 0 || filters.includes('>');
    this.literals = new Set(filters.filter((f) => !subjectHasWildcard(f)));
    const wildcards = filters.filter((f) => subjectHasWildcard(f));
    if (wildcards.length > LINEAR_FILTERS) {
      this.patterns = [];
      this.patternIndex = new SubjectOverlapIndex();
      for (let i = 0; i < wildcards.length; i++) this.patternIndex.insert(wildcards[i], i);
    } else {
      this.patterns = wildcards.map((f) => f.split('.'));
      this.patternIndex = null;
    }
  }

  matches(subject: string): boolean {
    if (this.all || this.literals.has(subject)) return true;
    if (this.patternIndex === null && this.patterns.length === 0) return false;
    let hit = this.seen.get(subject);
    if (hit === undefined) {
      hit = this.matchesPattern(subject);
      if (this.seen.size >= MAX_REMEMBERED) this.seen.clear();
      this.seen.set(subject, hit);
    }
    return hit;
  }

  private matchesPattern(subject: string): boolean {
    // A literal subject collides exactly with the patterns that match it.
    if (this.patternIndex !== null) return this.patternIndex.findCollision(subject) >= 0;
    const tokens = subject.split('.');
    for (const p of this.patterns) if (tokensMatch(p, tokens)) return true;
    return false;
  }
}

function tokensMatch(pattern: readonly string[], tokens: readonly string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const t = pattern[i];
    if (t === '>') return tokens.length > i;
    if (i >= tokens.length || (t !== '*' && t !== tokens[i])) return false;
  }
  return pattern.length === tokens.length;
}
