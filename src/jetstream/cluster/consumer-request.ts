/**
 * A consumer create request as the meta leader reads it: the same checks,
 * in the same order, as the single-server API (api/consumer.ts), up to the
 * point where that one hands the config to the stream's consumer set.
 */
import type { ApiRequest } from '../api/context.js';
import { invalidJson, JsApiError } from '../api/errors.js';
import * as E from '../api/consumer-errors.js';
import { decodeConsumerConfig } from '../consumer/config.js';
import type { CreateAction } from '../consumer/consumer-set.js';
import type { ConsumerConfig } from '../types.js';

export interface ConsumerCreateRequest {
  readonly stream: string;
  /** '' for an ephemeral without a name: the meta leader names it. */
  readonly name: string;
  readonly config: ConsumerConfig;
  readonly action: CreateAction;
}

/** CONSUMER.CREATE.<s>[.<c>[.<filter>]] or (legacyDurable) CONSUMER.DURABLE.CREATE.<s>.<c>. */
export function parseConsumerCreate(req: ApiRequest, legacyDurable: boolean): ConsumerCreateRequest | JsApiError {
  let raw: unknown;
  try {
    raw = JSON.parse(req.body.toString());
  } catch {
    return invalidJson('');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return invalidJson('');
  const body = raw as Record<string, unknown>;
  const actionRaw = body.action ?? '';
  if (actionRaw !== '' && actionRaw !== 'create' && actionRaw !== 'update') return invalidJson(`can not unmarshal ${JSON.stringify(actionRaw)}`);
  const action: CreateAction = actionRaw === '' ? 'create_or_update' : actionRaw;
  if (body.stream_name !== undefined && typeof body.stream_name !== 'string') {
    return invalidJson('json: cannot unmarshal into Go struct field CreateConsumerRequest.stream_name of type string');
  }
  const config = decodeConsumerConfig(body.config ?? {});
  if (config instanceof JsApiError) return config;
  const t = req.tokens;
  let stream: string;
  let name: string;
  let filter = '';
  if (legacyDurable) {
    if (t.length !== 5) return E.consumerDurableNameNotInSubject();
    stream = t[3];
    name = t[4];
  } else {
    stream = t[2];
    name = t.length > 3 ? t[3] : (config.name ?? '');
    if (t.length > 4) filter = t.slice(4).join('.');
  }
  if (stream !== (body.stream_name ?? '')) return E.streamMismatch();
  if (name !== '' && /[\\/]/.test(name)) return E.consumerNameContainsPathSeparators();
  if (legacyDurable) {
    if (config.durable_name === undefined) return E.consumerDurableNameNotSet();
    if (name !== config.durable_name) return E.consumerDurableNameNotMatchSubject();
    config.name = name;
  } else if (t.length > 3) {
    if (config.durable_name !== undefined && name !== config.durable_name) return E.consumerDurableNameNotMatchSubject();
    config.name = name;
  } else if (config.durable_name !== undefined) {
    return E.consumerEphemeralWithDurableName();
  }
  if (filter !== '' && (config.filter_subjects?.length ?? 0) > 0) return E.consumerMultipleFiltersNotAllowed();
  if (filter !== '' && config.filter_subject !== filter) return E.consumerCreateFilterSubjectMismatch();
  if (config.durable_name !== undefined && config.durable_name !== '') name = config.durable_name;
  return { stream, name, config, action };
}
