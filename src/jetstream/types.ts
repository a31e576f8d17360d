/**
 * The JSON shapes of the JetStream API as nats-server 2.10 writes and reads
 * them (field names are the wire names). Durations are nanoseconds, times
 * RFC 3339 strings with nanoseconds, as in Go's encoding/json.
 */

export type RetentionPolicy = 'limits' | 'interest' | 'workqueue';
export type DiscardPolicy = 'old' | 'new';
export type StorageType = 'file' | 'memory';
export type DeliverPolicy = 'all' | 'last' | 'new' | 'by_start_sequence' | 'by_start_time' | 'last_per_subject';
export type AckPolicy = 'none' | 'all' | 'explicit';
export type ReplayPolicy = 'instant' | 'original';

export interface SubjectTransformConfig {
  src: string;
  dest: string;
}

export interface ExternalStream {
  api: string;
  deliver?: string;
}

export interface StreamSourceConfig {
  name: string;
  opt_start_seq?: number;
  opt_start_time?: string;
  filter_subject?: string;
  subject_transforms?: SubjectTransformConfig[];
  external?: ExternalStream;
}

export interface RePublishConfig {
  src?: string;
  dest: string;
  headers_only?: boolean;
}

export interface PlacementConfig {
  cluster?: string;
  tags?: string[];
}

export interface StreamConsumerLimits {
  inactive_threshold?: number;
  max_ack_pending?: number;
}

export interface StreamConfig {
  name: string;
  description?: string;
  subjects?: string[];
  retention: RetentionPolicy;
  max_consumers: number;
  max_msgs: number;
  max_bytes: number;
  /** Nanoseconds; 0 = unlimited. */
  max_age: number;
  max_msgs_per_subject: number;
  max_msg_size: number;
  discard: DiscardPolicy;
  storage: StorageType;
  num_replicas: number;
  /** Nanoseconds. */
  duplicate_window: number;
  placement?: PlacementConfig;
  mirror?: StreamSourceConfig;
  sources?: StreamSourceConfig[];
  sealed: boolean;
  deny_delete: boolean;
  deny_purge: boolean;
  allow_rollup_hdrs: boolean;
  allow_direct: boolean;
  mirror_direct: boolean;
  republish?: RePublishConfig;
  discard_new_per_subject?: boolean;
  no_ack?: boolean;
  subject_transform?: SubjectTransformConfig;
  compression?: 'none' | 's2';
  first_seq?: number;
  metadata?: Record<string, string>;
  consumer_limits?: StreamConsumerLimits;
  /** Per-message TTLs (ADR-43): the Nats-TTL header is honoured. */
  allow_msg_ttl?: boolean;
  /** Nanoseconds a subject delete marker lives (ADR-43); 0 or absent = no markers. */
  subject_delete_marker_ttl?: number;
  /** Every subject is a counter (ADR-49): messages carry `Nats-Incr`, bodies hold the running total. */
  allow_msg_counter?: boolean;
}

export interface ConsumerConfig {
  durable_name?: string;
  name?: string;
  description?: string;
  deliver_policy: DeliverPolicy;
  opt_start_seq?: number;
  opt_start_time?: string;
  ack_policy: AckPolicy;
  /** Nanoseconds. */
  ack_wait?: number;
  max_deliver?: number;
  /** Nanoseconds each. */
  backoff?: number[];
  filter_subject?: string;
  filter_subjects?: string[];
  replay_policy: ReplayPolicy;
  rate_limit_bps?: number;
  sample_freq?: string;
  max_waiting?: number;
  max_ack_pending?: number;
  flow_control?: boolean;
  /** Nanoseconds. */
  idle_heartbeat?: number;
  headers_only?: boolean;
  max_batch?: number;
  /** Nanoseconds. */
  max_expires?: number;
  max_bytes?: number;
  /** Nanoseconds. */
  inactive_threshold?: number;
  num_replicas?: number;
  mem_storage?: boolean;
  /**
   * A consumer a source or mirror on another server made: it lives on the
   * stream's leader alone, outside the meta layer, keeps nothing on disk,
   * and goes when that server stops leading the stream. It only reads: on
   * interest and workqueue streams it neither holds messages nor lets them
   * go, since the stream's other replicas do not know it.
   */
  direct?: boolean;
  deliver_subject?: string;
  deliver_group?: string;
  metadata?: Record<string, string>;
  /** RFC 3339: the consumer delivers nothing before this time (consumer/pause.ts). */
  pause_until?: string;
}

/** `{ consumer_seq, stream_seq, last_active? }` in consumer info. */
export interface SequenceInfo {
  consumer_seq: number;
  stream_seq: number;
  last_active?: string;
}

export interface StreamStateJson {
  messages: number;
  bytes: number;
  first_seq: number;
  first_ts: string;
  last_seq: number;
  last_ts: string;
  num_subjects?: number;
  subjects?: Record<string, number>;
  num_deleted?: number;
  deleted?: number[];
  consumer_count: number;
}

/** `{ type, error? }`: every API response carries `type`; failures an `error`. */
export interface ApiErrorJson {
  code: number;
  err_code: number;
  description: string;
}
