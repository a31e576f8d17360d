/**
 * `$JS.API.CONSUMER.…`: CREATE (three subject forms), DURABLE.CREATE,
 * DELETE, INFO, LIST, NAMES, MSG.NEXT (and LEADER.STEPDOWN answered as a
 * single server does). The checks run in nats-server's order so the same
 * bad request gets the same error.
 */
import type { Account } from '../../accounts/account.js';
import type { ConsumerSet, CreateAction } from '../consumer/consumer-set.js';
import { decodeConsumerConfig } from '../consumer/config.js';
import { consumerInfo } from '../consumer/info.js';
import type { ApiRequest, ApiResponse } from './context.js';
import { consumerNotFound, invalidJson, JsApiError, streamNotFound } from './errors.js';
import * as E from './consumer-errors.js';
import { pauseUntilMs } from '../consumer/pause.js';
import { ZERO_TIME } from '../time.js';

/** What the consumer API needs from the JetStream engine. */
export interface ConsumerApiStreams {
  /** The consumers of `stream` in `account`; null when there is no such stream. */
  consumers(account: Account, stream: string): ConsumerSet | null;
  /** The account's consumer limit (-1 = unlimited) and how many consumers it has now, across streams. */
  consumerLimit(account: Account): { max: number; used: number };
  /** jetstream { strict } (absent: strict): unknown config fields are refused. */
  readonly config?: { readonly strict: boolean };
  /** The meta layer in a JetStream cluster; null or absent on a single server. */
  readonly cluster?: object | null;
}

const TYPE = 'io.nats.jetstream.api.v1.consumer_';
const LIST_LIMIT = 256;
const NAMES_LIMIT = 1024;

/** Answers one consumer API request; MSG.NEXT answers through deliveries and returns null. */
export function handleConsumerApi(req: ApiRequest, streams: ConsumerApiStreams): ApiResponse | Promise<ApiResponse> {
  const t = req.tokens;
  switch (t[1]) {
    case 'CREATE':
      return t.length >= 3 ? create(req, streams, false) : null;
    case 'DURABLE':
      return t[2] === 'CREATE' ? create(req, streams, true) : null;
    case 'INFO':
      return t.length === 4 ? info(req, streams) : null;
    case 'DELETE':
      return t.length === 4 ? remove(req, streams) : null;
    case 'LIST':
      return t.length === 3 ? list(req, streams, false) : null;
    case 'NAMES':
      return t.length === 3 ? list(req, streams, true) : null;
    case 'MSG':
      if (t[2] === 'NEXT' && t.length === 5) next(req, streams);
      return null;
    case 'PAUSE':
      return t.length === 4 ? pause(req, streams) : null;
    case 'UNPIN':
      return t.length === 4 ? unpin(req, streams) : null;
    case 'LEADER':
      return t[2] === 'STEPDOWN' && t.length === 5 ? { type: `${TYPE}leader_stepdown_response`, error: E.clusterRequired().toJSON() } : null;
    default:
      return null;
  }
}

function fail(kind: string, err: JsApiError): ApiResponse {
  return { type: `${TYPE}${kind}_response`, error: err.toJSON() };
}

function parseBody(body: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(body.toString()) };
  } catch {
    return { ok: false };
  }
}

async function create(req: ApiRequest, streams: ConsumerApiStreams, legacyDurable: boolean): Promise<ApiResponse> {
  const parsed = parseBody(req.body);
  if (!parsed.ok || typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value)) return fail('create', invalidJson(''));
  const body = parsed.value as Record<string, unknown>;
  const actionRaw = body.action ?? '';
  if (actionRaw !== '' && actionRaw !== 'create' && actionRaw !== 'update') return fail('create', invalidJson(`can not unmarshal ${JSON.stringify(actionRaw)}`));
  const action: CreateAction = actionRaw === '' ? 'create_or_update' : actionRaw;
  if (body.stream_name !== undefined && typeof body.stream_name !== 'string') return fail('create', invalidJson('json: cannot unmarshal into Go struct field CreateConsumerRequest.stream_name of type string'));
  const config = decodeConsumerConfig(body.config ?? {}, streams.config?.strict ?? true);
  if (config instanceof JsApiError) return fail('create', config);

  const t = req.tokens;
  let stream: string;
  let consumerName: string;
  let filter = '';
  if (legacyDurable) {
    if (t.length !== 5) return fail('create', E.consumerDurableNameNotInSubject());
    stream = t[3];
    consumerName = t[4];
  } else {
    stream = t[2];
    consumerName = t.length > 3 ? t[3] : (config.name ?? '');
    if (t.length > 4) filter = t.slice(4).join('.');
  }
  if (stream !== (body.stream_name ?? '')) return fail('create', E.streamMismatch());
  if (consumerName !== '' && /[\\/]/.test(consumerName)) return fail('create', E.consumerNameContainsPathSeparators());
  if (legacyDurable) {
    if (config.durable_name === undefined) return fail('create', E.consumerDurableNameNotSet());
    if (consumerName !== config.durable_name) return fail('create', E.consumerDurableNameNotMatchSubject());
    config.name = consumerName;
  } else if (t.length > 3) {
    if (config.durable_name !== undefined && consumerName !== config.durable_name) return fail('create', E.consumerDurableNameNotMatchSubject());
    config.name = consumerName;
  } else if (config.durable_name !== undefined) {
    return fail('create', E.consumerEphemeralWithDurableName());
  }
  if (filter !== '' && (config.filter_subjects?.length ?? 0) > 0) return fail('create', E.consumerMultipleFiltersNotAllowed());
  if (filter !== '' && config.filter_subject !== filter) return fail('create', E.consumerCreateFilterSubjectMismatch());
  if ((config.num_replicas ?? 0) > 1) return fail('create', E.streamReplicasNotSupported());
  const set = streams.consumers(req.account, stream);
  if (set === null) return fail('create', streamNotFound());
  const c = await set.create(config, action, () => streams.consumerLimit(req.account));
  if (c instanceof JsApiError) return fail('create', c);
  return { type: `${TYPE}create_response`, ...consumerInfo(c) };
}

function info(req: ApiRequest, streams: ConsumerApiStreams): ApiResponse {
  const set = streams.consumers(req.account, req.tokens[2]);
  if (set === null) return fail('info', streamNotFound());
  const c = set.get(req.tokens[3]);
  if (c === undefined) return fail('info', consumerNotFound());
  return { type: `${TYPE}info_response`, ...consumerInfo(c) };
}

async function remove(req: ApiRequest, streams: ConsumerApiStreams): Promise<ApiResponse> {
  const set = streams.consumers(req.account, req.tokens[2]);
  if (set === null) return fail('delete', streamNotFound());
  if (!(await set.remove(req.tokens[3]))) return fail('delete', consumerNotFound());
  return { type: `${TYPE}delete_response`, success: true };
}

/**
 * PAUSE: `{ "pause_until": <RFC 3339> }` pauses the consumer until then; an
 * empty body, Go's zero time or a past time resumes it. The consumer's
 * config keeps the time, as an update with pause_until would.
 */
function pause(req: ApiRequest, streams: ConsumerApiStreams): ApiResponse {
  // A replicated consumer's pause must travel through its group, which does not carry it yet: refused, not applied to one copy.
  if (streams.cluster != null) return fail('pause', E.consumerCreate('pausing a consumer through the API is not supported in a JetStream cluster by this server yet'));
  let until: string | undefined;
  if (req.body.length > 0) {
    const parsed = parseBody(req.body);
    if (!parsed.ok || typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value)) return fail('pause', invalidJson(''));
    const v = (parsed.value as Record<string, unknown>).pause_until;
    if (v !== undefined && v !== null) {
      if (typeof v !== 'string' || Number.isNaN(Date.parse(v))) return fail('pause', invalidJson(`parsing time ${JSON.stringify(v)} as "2006-01-02T15:04:05Z07:00": cannot parse`));
      until = v;
    }
  }
  const set = streams.consumers(req.account, req.tokens[2]);
  if (set === null) return fail('pause', streamNotFound());
  const c = set.get(req.tokens[3]);
  if (c === undefined) return fail('pause', consumerNotFound());
  const next = { ...c.config };
  if (pauseUntilMs(until) > Date.now()) next.pause_until = until;
  else delete next.pause_until;
  c.update(next);
  const out: Record<string, unknown> = { type: `${TYPE}pause_response`, paused: c.pause.paused, pause_until: until ?? ZERO_TIME };
  if (c.pause.paused) out.pause_remaining = c.pause.remainingNs();
  return out;
}

/** UNPIN: no consumer here has priority groups (they are refused at create), so none has the group asked for. */
function unpin(req: ApiRequest, streams: ConsumerApiStreams): ApiResponse {
  const set = streams.consumers(req.account, req.tokens[2]);
  if (set === null) return fail('unpin', streamNotFound());
  if (set.get(req.tokens[3]) === undefined) return fail('unpin', consumerNotFound());
  return fail('unpin', E.consumerInvalidPriorityGroup());
}

function list(req: ApiRequest, streams: ConsumerApiStreams, namesOnly: boolean): ApiResponse {
  const kind = namesOnly ? 'names' : 'list';
  let offset = 0;
  if (req.body.length > 0) {
    const parsed = parseBody(req.body);
    if (!parsed.ok) return fail(kind, invalidJson(''));
    const o = parsed.value as { offset?: unknown } | null;
    if (o !== null && typeof o === 'object' && typeof o.offset === 'number' && o.offset > 0) offset = Math.floor(o.offset);
  }
  const set = streams.consumers(req.account, req.tokens[2]);
  if (set === null) return fail(kind, streamNotFound());
  const all = set.sorted();
  // An offset past the end reports the end, as nats-server does.
  if (offset > all.length) offset = all.length;
  const limit = namesOnly ? NAMES_LIMIT : LIST_LIMIT;
  const page = all.slice(offset, offset + limit);
  return {
    type: `${TYPE}${kind}_response`,
    total: all.length,
    offset,
    limit,
    consumers: namesOnly ? page.map((c) => c.name) : page.map((c) => consumerInfo(c)),
  };
}

function next(req: ApiRequest, streams: ConsumerApiStreams): void {
  if (req.reply === null) return;
  // As nats-server (whose `$JS.API.>` subscription takes the request): nothing answers for an unknown consumer.
  streams.consumers(req.account, req.tokens[3])?.get(req.tokens[4])?.processPull(req.reply, req.body);
}
