/** `$JS.API.INFO`: the account's JetStream usage, limits and API counters (nats-server 2.10 shape). */
import type { ApiRequest, ApiResponse } from './context.js';
import type { JetStream } from '../jetstream.js';
import type { JsAccount } from '../js-account.js';

/** In a cluster: the account's assets as the meta group's assignments count them, not as this server holds them. */
export interface AssignedUsage {
  readonly streams: number;
  readonly consumers: number;
  readonly reservedMemory: number;
  readonly reservedStorage: number;
}

/** The account statistics object shared by `$JS.API.INFO` and /jsz. */
export function accountStats(js: JetStream, jsa: JsAccount, assigned: AssignedUsage | null = null): Record<string, unknown> {
  const l = jsa.limits;
  const o: Record<string, unknown> = {
    memory: jsa.used('memory'),
    storage: jsa.used('file'),
    reserved_memory: assigned?.reservedMemory ?? jsa.reserved('memory', null),
    reserved_storage: assigned?.reservedStorage ?? jsa.reserved('file', null),
    streams: assigned?.streams ?? jsa.streams.size,
    consumers: assigned?.consumers ?? jsa.consumerCount(),
    limits: {
      max_memory: l.maxMemory,
      max_storage: l.maxStore,
      max_streams: l.maxStreams,
      max_consumers: l.maxConsumers,
      max_ack_pending: l.maxAckPending,
      memory_max_stream_bytes: l.memoryMaxStreamBytes,
      storage_max_stream_bytes: l.storeMaxStreamBytes,
      max_bytes_required: l.maxBytesRequired,
    },
  };
  if (js.config.domain !== '') o.domain = js.config.domain;
  o.api = { total: jsa.api.total, errors: jsa.api.errors };
  return o;
}

export function handleAccountInfo(_req: ApiRequest, js: JetStream, jsa: JsAccount): ApiResponse {
  return { type: 'io.nats.jetstream.api.v1.account_info_response', ...accountStats(js, jsa) };
}
