/**
 * The server's options model. Keys mirror nats-server's configuration file
 * (snake_case) so that a config file, the command line and the embedding API
 * all speak the same language. Durations are milliseconds, sizes are bytes.
 */
import { clusteredJetStreamProblem } from '../jetstream/cluster/mode.js';

/** A block of the configuration that belongs to a subsystem not built yet. */
export type RawBlock = Record<string, unknown>;

export interface ServerOptions {
  /** Interface to listen on for clients. */
  host: string;
  /** Client port; 0 picks a random free port (nats-server's -1). */
  port: number;
  server_name?: string;
  /** `server_tags`: placement tags of this JetStream server (lower-cased, as nats-server keeps them). */
  server_tags?: string[];
  /** Advertised client URL host:port in INFO/connect_urls. */
  client_advertise?: string;

  max_payload: number;
  max_control_line: number;
  max_connections: number;
  max_subscriptions: number;
  /** Outbound bytes pending per connection before it is a slow consumer. */
  max_pending: number;
  /** Milliseconds between server PINGs. */
  ping_interval: number;
  /** Outstanding PINGs before 'Stale Connection'. */
  ping_max: number;
  /** Milliseconds a write may be blocked before the connection is a slow consumer. */
  write_deadline: number;
  /** Milliseconds a new client has to send CONNECT (authorization timeout). */
  auth_timeout: number;
  /** Turn off message headers support (nats-server no_header_support). */
  no_header_support: boolean;

  debug: boolean;
  trace: boolean;
  /** Verbose trace: also trace payloads (-VV / trace_verbose). */
  trace_verbose: boolean;
  logtime: boolean;
  logtime_utc: boolean;
  log_file?: string;
  log_size_limit?: number;
  syslog?: boolean;
  pid_file?: string;
  ports_file_dir?: string;
  /**
   * Natter only (nats-server has no such key): natter-server watches its
   * config file and the files it names, and reloads when they change.
   */
  config_watch?: boolean;

  /** Monitoring HTTP port (0 = off, -1 on the command line = random, which we store as -1). */
  http_port: number;
  /** Monitoring interface; '' means the client host, as in nats-server. */
  http_host: string;
  https_port: number;
  http_base_path: string;

  lame_duck_duration: number;
  lame_duck_grace_period: number;

  /** Whether `connect_error_reports` etc. are relevant later; kept for reload diffs. */
  connect_error_reports?: number;
  reconnect_error_reports?: number;

  /** Blocks for subsystems that later issues build; parsed, validated, kept. */
  authorization?: RawBlock;
  accounts?: RawBlock;
  system_account?: string;
  no_auth_user?: string;
  jetstream?: RawBlock | boolean;
  cluster?: RawBlock;
  gateway?: RawBlock;
  leafnodes?: RawBlock;
  websocket?: RawBlock;
  mqtt?: RawBlock;
  tls?: RawBlock;
  /** With a tls block, also serve clients that do not start TLS (INFO tls_available). */
  allow_non_tls?: boolean;
  operator?: unknown;
  /** Operator public keys trusted to sign accounts, without operator JWTs (`trusted_keys`). */
  trusted_keys?: string[];
  resolver?: unknown;
  /** MEMORY resolver: account public key -> account JWT. */
  resolver_preload?: Record<string, string>;
}

export const DEFAULT_OPTIONS: Readonly<ServerOptions> = Object.freeze({
  host: '0.0.0.0',
  port: 4222,
  max_payload: 1024 * 1024,
  max_control_line: 4096,
  max_connections: 64 * 1024,
  max_subscriptions: 0,
  max_pending: 64 * 1024 * 1024,
  ping_interval: 2 * 60 * 1000,
  ping_max: 2,
  write_deadline: 10 * 1000,
  auth_timeout: 2 * 1000,
  no_header_support: false,
  debug: false,
  trace: false,
  trace_verbose: false,
  logtime: true,
  logtime_utc: false,
  http_port: 0,
  http_host: '',
  https_port: 0,
  http_base_path: '',
  lame_duck_duration: 2 * 60 * 1000,
  lame_duck_grace_period: 10 * 1000,
});

/** Options where nats-server reads 0 as "use the default". */
const ZERO_MEANS_DEFAULT = [
  'max_payload', 'max_control_line', 'max_connections', 'max_pending', 'ping_interval',
  'ping_max', 'write_deadline', 'auth_timeout', 'lame_duck_duration', 'lame_duck_grace_period',
] as const;

/** Defaults overlaid with what the caller set. */
export function resolveOptions(partial: Partial<ServerOptions> = {}): ServerOptions {
  const out: ServerOptions = { ...DEFAULT_OPTIONS };
  for (const [k, v] of Object.entries(partial)) {
    if (v !== undefined) (out as unknown as Record<string, unknown>)[k] = v;
  }
  for (const k of ZERO_MEANS_DEFAULT) {
    if (out[k] === 0) out[k] = DEFAULT_OPTIONS[k];
  }
  return out;
}

/** Combinations nats-server refuses to start with; throws its message. */
export function validateOptions(o: ServerOptions): void {
  if (o.max_payload > o.max_pending) {
    throw new Error(`max_payload (${o.max_payload}) cannot be higher than max_pending (${o.max_pending})`);
  }
  const clustered = clusteredJetStreamProblem(o);
  if (clustered !== null) throw new Error(clustered);
  // A configuration must never deploy less than it says: subsystems Natter lacks stop the start (the file stays valid for -t).
  if (o.gateway !== undefined) throw new Error('gateway: gateways (superclusters) are not supported by this Natter version; remove the gateway block');
  if (o.mqtt !== undefined) throw new Error('mqtt: MQTT is not supported by this Natter version; remove the mqtt block');
}
