/**
 * Maps a parsed NATS configuration onto Natter's options model.
 *
 * Top-level keys are matched case-insensitively with nats-server's aliases
 * (max_conn, pidfile, monitor_port, ...). Types are checked as strictly as
 * nats-server checks them (a port must be an integer, `debug` a boolean),
 * and every problem is reported with the position of the offending value.
 * All problems are collected and thrown together as one ConfigError, like
 * nats-server's `-t` prints them all.
 *
 * A key nats-server does not know is an error (`unknown field "xyz"`), as in
 * nats-server 2.9/2.10 unless it is a variable definition, i.e. some `$key`
 * reference used it. Keys nats-server knows but Natter does not implement
 * are errors too unless they hold their "off" value (unsupported-keys.ts):
 * nothing is silently ignored. Blocks of subsystems not built yet are
 * validated as maps, kept verbatim (positions stripped) and produce a
 * warning each; the server refuses to start with them.
 *
 * Where nats-server treats 0 as "use the default" (max_payload, ping_max,
 * write_deadline, ...) the default is filled in, so the result means the
 * same thing whether or not it is layered over other options.
 */
import { parseResolver } from '../jwt/resolver-config.js';
import { isPublicKeyOf, NKEY_PREFIX_OPERATOR } from '../jwt/jwt.js';
import { DEFAULT_OPTIONS, type RawBlock, type ServerOptions } from '../server/options.js';
import { jetStreamKeyNotice, jetStreamKeyProblem } from '../jetstream/config.js';
import { clusterKeyNotice, clusterKeyProblem, KNOWN_CLUSTER_KEYS } from '../cluster/config.js';
import { websocketBlockProblems } from '../websocket/config.js';
import { leafNodeBlockProblem } from '../leafnode/config.js';
import { unsupportedKeyProblem, UNSUPPORTED_TOP_LEVEL_KEYS } from './unsupported-keys.js';
import { securityFromConfigTree } from '../auth/security-config.js';
import { ConfigError, formatPos, PSEUDO_FILE, type SourcePos } from './errors.js';
import { DurationError, parseGoDuration } from './durations.js';
import { formatGoDuration, msToGoDuration } from '../text/go-format.js';
import {
  mapToPlain,
  parseConfig,
  parseConfigFile,
  toPlain,
  type ConfEntry,
  type ConfMap,
  type ConfNode,
  type ParseOptions,
} from './parser.js';

export interface ConfigLoadResult {
  /** Only what the configuration sets; overlay it on defaults with resolveOptions. */
  options: Partial<ServerOptions>;
  /** Things the caller should log: deprecated forms, parsed-but-inactive blocks. */
  warnings: string[];
}

export interface LoadOptions extends ParseOptions {
  /**
   * Report unknown top-level keys as warnings instead of errors, like
   * nats-server's NoErrOnUnknownFields(true) for embedders.
   */
  readonly allowUnknownFields?: boolean;
}

/** Reads, parses and maps a configuration file. Throws ConfigError. */
export function loadConfigFile(file: string, options: LoadOptions = {}): ConfigLoadResult {
  return optionsFromConfigTree(parseConfigFile(file, options), options);
}

/** Parses and maps configuration text; `file` names it in messages. Throws ConfigError. */
export function optionsFromConfigText(
  text: string,
  file: string = PSEUDO_FILE,
  options: LoadOptions = {},
): ConfigLoadResult {
  return optionsFromConfigTree(parseConfig(text, file, options), options);
}

/** Maps an already parsed configuration. Throws ConfigError. */
export function optionsFromConfigTree(root: ConfMap, options: LoadOptions = {}): ConfigLoadResult {
  const mapper = new Mapper(options.allowUnknownFields === true);
  for (const entry of root.entries.values()) mapper.entry(entry);
  mapper.applyTopLevelStoreDir();
  if (mapper.errors.length > 0) throw ConfigError.combine(mapper.errors);
  // Users, permissions and accounts are checked here, where positions are
  // known, so their errors name file:line:col; the server rebuilds them from the options.
  // In operator mode accounts and users come from JWTs; the static checks do not apply.
  if (mapper.options.operator === undefined && mapper.options.trusted_keys === undefined) securityFromConfigTree(root);
  return { options: mapper.options, warnings: mapper.warnings };
}

// ---------------------------------------------------------------------------

type Handler = (m: Mapper, e: ConfEntry) => void;

/** The largest value nats-server accepts for its int32 limits. */
const INT32_MAX = 2 ** 31 - 1;
/** nats-server refuses a shorter lame duck duration. */
const MIN_LAME_DUCK_MS = 30_000;

class Mapper {
  readonly options: Partial<ServerOptions> = {};
  readonly warnings: string[] = [];
  readonly errors: ConfigError[] = [];
  private readonly inactiveWarned = new Set<string>();
  /** The top-level store_dir: JetStream's directory unless the jetstream block names one. */
  topLevelStoreDir: string | undefined;

  constructor(private readonly allowUnknown: boolean) {}

  entry(e: ConfEntry): void {
    const handler = HANDLERS.get(e.key.toLowerCase());
    if (handler !== undefined) {
      handler(this, e);
      return;
    }
    if (UNSUPPORTED_TOP_LEVEL_KEYS.has(e.key.toLowerCase())) {
      const problem = unsupportedKeyProblem(e.key, e.value);
      if (problem !== null) this.error(e.keyPos, problem);
      return;
    }
    if (e.usedAsVariable) return;
    if (this.allowUnknown) this.warnings.push(`${formatPos(e.keyPos)}: unknown field "${e.key}" ignored`);
    else this.error(e.keyPos, `unknown field "${e.key}"`);
  }

  set<K extends keyof ServerOptions>(key: K, value: ServerOptions[K]): void {
    this.options[key] = value;
  }

  error(pos: SourcePos, problem: string): void {
    this.errors.push(new ConfigError(pos, problem));
  }

  /**
   * nats-server's top-level store_dir is where JetStream keeps its data
   * when the jetstream block names no directory; it does not turn
   * JetStream on (the -js flag may, later), as `-sd` alone does not.
   */
  applyTopLevelStoreDir(): void {
    const dir = this.topLevelStoreDir;
    if (dir === undefined) return;
    const js = this.options.jetstream;
    if (typeof js === 'object') {
      if (!Object.keys(js).some((k) => ['store_dir', 'store', 'storedir'].includes(k.toLowerCase()))) this.options.jetstream = { ...js, store_dir: dir };
    } else {
      this.options.jetstream = js === true ? { store_dir: dir } : { enabled: false, store_dir: dir };
    }
  }

  /** One warning per subsystem, however many aliases name it. */
  inactive(block: string): void {
    if (this.inactiveWarned.has(block)) return;
    this.inactiveWarned.add(block);
    this.warnings.push(`${block} block is parsed but not active yet in this Natter version`);
  }

  // ---- typed readers: return undefined after recording an error ----------

  string(e: ConfEntry): string | undefined {
    if (e.value.kind === 'string') return e.value.value;
    this.typeError(e, 'a string');
    return undefined;
  }

  bool(e: ConfEntry): boolean | undefined {
    if (e.value.kind === 'bool') return e.value.value;
    this.typeError(e, 'a boolean');
    return undefined;
  }

  integer(e: ConfEntry): number | undefined {
    if (e.value.kind === 'integer') return e.value.value;
    this.typeError(e, 'an integer');
    return undefined;
  }

  /** A count or size: an integer, not negative, at most `max`. */
  amount(e: ConfEntry, max: number = Number.MAX_SAFE_INTEGER): number | undefined {
    const n = this.integer(e);
    if (n === undefined) return undefined;
    if (n < 0) {
      this.error(e.value.pos, `${e.key} can not be negative`);
      return undefined;
    }
    if (n > max) {
      this.error(e.value.pos, `${e.key} value is too big`);
      return undefined;
    }
    return n;
  }

  /** A port: -1 (random), 0 or 1-65535. */
  port(e: ConfEntry): number | undefined {
    const n = this.integer(e);
    if (n === undefined) return undefined;
    if (!validPort(n)) {
      this.error(e.value.pos, `${e.key} ${n} is out of range: a port is -1 (random), 0 or 1-65535`);
      return undefined;
    }
    return n;
  }

  map(e: ConfEntry): ConfMap | undefined {
    if (e.value.kind === 'map') return e.value;
    this.typeError(e, 'a map');
    return undefined;
  }

  /** `port` or `host:port` (IPv6 hosts in brackets), as nats-server's listen. */
  hostPort(e: ConfEntry): { host?: string; port: number } | undefined {
    const v = e.value;
    if (v.kind === 'integer') {
      const port = this.port(e);
      return port === undefined ? undefined : { port };
    }
    if (v.kind !== 'string') {
      this.typeError(e, 'a port or host:port');
      return undefined;
    }
    const split = splitHostPort(v.value);
    if (typeof split === 'string') {
      this.error(v.pos, split);
      return undefined;
    }
    if (!validPort(split.port)) {
      this.error(v.pos, `${e.key} port ${split.port} is out of range: a port is -1 (random), 0 or 1-65535`);
      return undefined;
    }
    return split.host === '' ? { port: split.port } : split;
  }

  /**
   * ping_interval and write_deadline: a duration string, or (deprecated, as
   * nats-server warns) a bare integer meaning seconds.
   */
  durationOrSeconds(e: ConfEntry): number | undefined {
    const v = e.value;
    let ms: number;
    if (v.kind === 'integer') {
      this.warnings.push(
        `${formatPos(e.keyPos)}: invalid use of field "${e.key}": ${e.key} should be converted to a duration`,
      );
      ms = v.value * 1000;
    } else if (v.kind === 'string') {
      const parsed = this.parseDuration(e, v.value, v.pos);
      if (parsed === undefined) return undefined;
      ms = parsed;
    } else {
      this.typeError(e, 'a duration such as "2m" or a number of seconds');
      return undefined;
    }
    if (ms < 0) {
      this.error(v.pos, `${e.key} can not be negative`);
      return undefined;
    }
    return ms;
  }

  /** A duration string only, which is all nats-server accepts for lame duck settings. */
  durationString(e: ConfEntry): number | undefined {
    const v = e.value;
    if (v.kind !== 'string') {
      this.typeError(e, 'a duration string such as "2m"');
      return undefined;
    }
    return this.parseDuration(e, v.value, v.pos);
  }

  private parseDuration(e: ConfEntry, text: string, pos: SourcePos): number | undefined {
    try {
      return parseGoDuration(text);
    } catch (err) {
      if (!(err instanceof DurationError)) throw err;
      this.error(pos, `error parsing ${e.key}: ${err.message}`);
      return undefined;
    }
  }

  typeError(e: ConfEntry, wanted: string): void {
    this.error(e.value.pos, `${e.key} must be ${wanted}, got ${describe(e.value)}`);
  }

  /** A subsystem block kept verbatim for when the subsystem exists. */
  rawMap(e: ConfEntry): RawBlock | undefined {
    const m = this.map(e);
    return m === undefined ? undefined : mapToPlain(m);
  }
}

function validPort(n: number): boolean {
  return Number.isInteger(n) && n >= -1 && n <= 65535;
}

/** Go's net.SplitHostPort plus an integer port, with messages for the operator. */
function splitHostPort(s: string): { host: string; port: number } | string {
  let host: string;
  let port: string;
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0) return `could not parse address string "${s}": missing ']'`;
    host = s.slice(1, end);
    const rest = s.slice(end + 1);
    if (!rest.startsWith(':')) return `could not parse address string "${s}": missing port`;
    port = rest.slice(1);
  } else {
    const colon = s.lastIndexOf(':');
    if (colon < 0) return `could not parse address string "${s}": missing port`;
    host = s.slice(0, colon);
    port = s.slice(colon + 1);
    if (host.includes(':')) return `could not parse address string "${s}": too many colons (put IPv6 hosts in brackets)`;
  }
  if (port.includes(':') || host.includes('[') || host.includes(']')) {
    return `could not parse address string "${s}"`;
  }
  if (!/^[+-]?[0-9]+$/.test(port)) return `could not parse port "${port}"`;
  return { host, port: Number(port) };
}

function describe(n: ConfNode): string {
  switch (n.kind) {
    case 'string':
      return `string ${JSON.stringify(n.value)}`;
    case 'integer':
      return `integer ${n.raw}`;
    case 'float':
      return `float ${n.value}`;
    case 'bool':
      return `boolean ${n.value}`;
    case 'datetime':
      return `datetime ${n.value.toISOString()}`;
    case 'array':
      return 'an array';
    case 'map':
      return 'a map';
  }
}

/** nats-server's client port: -1 asks for a random port (our 0), 0 means the default. */
function clientPort(n: number): number {
  if (n === -1) return 0;
  if (n === 0) return DEFAULT_OPTIONS.port;
  return n;
}

/** Where nats-server reads 0 as "the default", say the default. */
function orDefault<K extends keyof ServerOptions>(key: K, n: number): number {
  const d = DEFAULT_OPTIONS[key];
  return n === 0 && typeof d === 'number' ? d : n;
}

// ---- the table of keys ------------------------------------------------------

const HANDLERS = new Map<string, Handler>();

function on(keys: readonly string[], handler: Handler): void {
  for (const k of keys) HANDLERS.set(k, handler);
}

type StringKey = 'host' | 'server_name' | 'client_advertise' | 'log_file' | 'pid_file' | 'ports_file_dir'
  | 'http_base_path' | 'system_account' | 'no_auth_user';
type BoolKey = 'debug' | 'trace' | 'logtime' | 'logtime_utc' | 'syslog' | 'no_header_support' | 'allow_non_tls'
  | 'config_watch';

function stringOption(keys: readonly string[], target: StringKey): void {
  on(keys, (m, e) => {
    const s = m.string(e);
    if (s !== undefined) m.set(target, s);
  });
}

function boolOption(keys: readonly string[], target: BoolKey): void {
  on(keys, (m, e) => {
    const b = m.bool(e);
    if (b !== undefined) m.set(target, b);
  });
}

type AmountKey = 'max_payload' | 'max_control_line' | 'max_pending' | 'max_connections' | 'max_subscriptions'
  | 'ping_max' | 'log_size_limit';

function amountOption(keys: readonly string[], target: AmountKey, max?: number): void {
  on(keys, (m, e) => {
    const n = m.amount(e, max);
    if (n !== undefined) m.set(target, orDefault(target, n));
  });
}

type BlockKey = 'cluster' | 'gateway' | 'leafnodes' | 'websocket' | 'mqtt' | 'tls';

function blockOption(keys: readonly string[], target: BlockKey, active = false): void {
  on(keys, (m, e) => {
    const raw = m.rawMap(e);
    if (raw === undefined) return;
    m.set(target, raw);
    if (!active) m.inactive(target);
  });
}

on(['listen'], (m, e) => {
  const hp = m.hostPort(e);
  if (hp === undefined) return;
  if (hp.host !== undefined) m.set('host', hp.host);
  m.set('port', clientPort(hp.port));
});
stringOption(['host', 'net'], 'host');
on(['port'], (m, e) => {
  const p = m.port(e);
  if (p !== undefined) m.set('port', clientPort(p));
});
stringOption(['server_name'], 'server_name');
stringOption(['client_advertise'], 'client_advertise');
// A string is one tag, as nats-server reads it; tags are kept trimmed and lower-cased, without repeats.
on(['server_tags'], (m, e) => {
  const v = e.value;
  const items = v.kind === 'array' ? v.items : [v];
  const tags: string[] = [];
  for (const item of items) {
    if (item.kind !== 'string') {
      m.error(item.pos, `error parsing tags: unsupported type ${describe(item)}`);
      return;
    }
    const tag = item.value.trim().toLowerCase();
    if (tag !== '' && !tags.includes(tag)) tags.push(tag);
  }
  m.set('server_tags', tags);
});

amountOption(['max_payload'], 'max_payload', INT32_MAX);
amountOption(['max_control_line'], 'max_control_line', INT32_MAX);
amountOption(['max_pending'], 'max_pending');
amountOption(['max_connections', 'max_conn'], 'max_connections');
amountOption(['max_subscriptions', 'max_subs'], 'max_subscriptions');
amountOption(['ping_max'], 'ping_max');

on(['ping_interval'], (m, e) => {
  const ms = m.durationOrSeconds(e);
  if (ms !== undefined) m.set('ping_interval', orDefault('ping_interval', ms));
});
on(['write_deadline'], (m, e) => {
  const ms = m.durationOrSeconds(e);
  if (ms !== undefined) m.set('write_deadline', orDefault('write_deadline', ms));
});

boolOption(['debug'], 'debug');
boolOption(['trace'], 'trace');
on(['trace_verbose'], (m, e) => {
  // As in nats-server, verbose tracing is tracing: it switches both.
  const b = m.bool(e);
  if (b === undefined) return;
  m.set('trace_verbose', b);
  m.set('trace', b);
});
boolOption(['logtime'], 'logtime');
boolOption(['logtime_utc'], 'logtime_utc');
stringOption(['log_file', 'logfile'], 'log_file');
on(['log_size_limit', 'logfile_size_limit'], (m, e) => {
  const n = m.amount(e);
  if (n !== undefined) m.set('log_size_limit', n);
});
boolOption(['syslog'], 'syslog');
boolOption(['no_header_support'], 'no_header_support');
// Natter's own key (src/config/watch.ts): reload when the config file or a file it names changes.
boolOption(['config_watch'], 'config_watch');
stringOption(['pid_file', 'pidfile'], 'pid_file');
stringOption(['ports_file_dir'], 'ports_file_dir');

on(['http'], (m, e) => {
  const hp = m.hostPort(e);
  if (hp === undefined) return;
  if (hp.host !== undefined) m.set('http_host', hp.host);
  m.set('http_port', hp.port);
});
on(['https'], (m, e) => {
  const hp = m.hostPort(e);
  if (hp === undefined) return;
  if (hp.host !== undefined) m.set('http_host', hp.host);
  m.set('https_port', hp.port);
});
on(['http_port', 'monitor_port'], (m, e) => {
  const p = m.port(e);
  if (p !== undefined) m.set('http_port', p);
});
on(['https_port'], (m, e) => {
  const p = m.port(e);
  if (p !== undefined) m.set('https_port', p);
});
stringOption(['http_base_path'], 'http_base_path');

on(['lame_duck_duration'], (m, e) => {
  const ms = m.durationString(e);
  if (ms === undefined) return;
  if (ms < MIN_LAME_DUCK_MS) {
    m.error(e.value.pos, `invalid lame_duck_duration of ${formatGoDuration(msToGoDuration(ms))}, minimum is 30 seconds`);
    return;
  }
  m.set('lame_duck_duration', ms);
});
on(['lame_duck_grace_period'], (m, e) => {
  const ms = m.durationString(e);
  if (ms === undefined) return;
  if (ms < 0) {
    m.error(e.value.pos, 'invalid lame_duck_grace_period, needs to be positive');
    return;
  }
  m.set('lame_duck_grace_period', orDefault('lame_duck_grace_period', ms));
});

on(['connect_error_reports'], (m, e) => {
  // 0 leaves nats-server's default in place, so it is not set here either.
  const n = m.amount(e);
  if (n !== undefined && n !== 0) m.set('connect_error_reports', n);
});
on(['reconnect_error_reports'], (m, e) => {
  const n = m.amount(e);
  if (n !== undefined && n !== 0) m.set('reconnect_error_reports', n);
});

on(['authorization'], (m, e) => {
  const map = m.map(e);
  if (map === undefined) return;
  m.set('authorization', mapToPlain(map));
  // The timeout is the one authorization setting the client path needs
  // today. Field names inside the block are case-insensitive in nats-server.
  for (const inner of map.entries.values()) {
    if (inner.key.toLowerCase() !== 'timeout') continue;
    const v = inner.value;
    if (v.kind !== 'integer' && v.kind !== 'float') {
      m.typeError(inner, 'a number of seconds');
      continue;
    }
    if (v.value < 0) {
      m.error(v.pos, 'timeout can not be negative');
      continue;
    }
    // 0 keeps the default, as in nats-server.
    if (v.value > 0) m.set('auth_timeout', v.value * 1000);
  }
});
on(['accounts'], (m, e) => {
  const v = e.value;
  if (v.kind === 'map') {
    m.set('accounts', mapToPlain(v));
  } else if (v.kind === 'array') {
    // The old list form names accounts without settings.
    const accounts: RawBlock = {};
    for (const item of v.items) {
      if (item.kind !== 'string') {
        m.error(item.pos, `accounts list entries must be account names, got ${describe(item)}`);
        continue;
      }
      Object.defineProperty(accounts, item.value, { value: {}, enumerable: true, writable: true, configurable: true });
    }
    m.set('accounts', accounts);
  } else {
    m.typeError(e, 'a map of accounts');
    return;
  }
});
stringOption(['system_account', 'system'], 'system_account');
stringOption(['no_auth_user'], 'no_auth_user');

on(['jetstream'], (m, e) => {
  const v = e.value;
  if (v.kind === 'bool') {
    m.set('jetstream', v.value);
  } else if (v.kind === 'string') {
    const word = v.value.toLowerCase();
    if (word === 'enabled' || word === 'enable') m.set('jetstream', true);
    else if (word === 'disabled' || word === 'disable') m.set('jetstream', false);
    else {
      m.error(v.pos, `jetstream must be a map, a boolean, "enabled" or "disabled", got ${describe(v)}`);
      return;
    }
  } else if (v.kind === 'map') {
    for (const entry of v.entries.values()) {
      if (entry.usedAsVariable) continue;
      const problem = jetStreamKeyProblem(entry.key, toPlain(entry.value));
      if (problem !== null) m.error(problem.startsWith('unknown field') ? entry.keyPos : entry.value.pos, problem);
      const notice = jetStreamKeyNotice(entry.key);
      if (notice !== null) m.warnings.push(`${formatPos(entry.keyPos)}: ${notice}`);
    }
    m.set('jetstream', mapToPlain(v));
  } else {
    m.typeError(e, 'a map, a boolean, "enabled" or "disabled"');
    return;
  }
});

on(['store_dir', 'storedir'], (m, e) => {
  const dir = m.string(e);
  if (dir !== undefined) m.topLevelStoreDir = dir;
});

// Keys are checked here, with positions; the values in depth (routes, TLS files) when the cluster starts.
on(['cluster'], (m, e) => {
  const raw = m.rawMap(e);
  if (raw === undefined || e.value.kind !== 'map') return;
  for (const entry of e.value.entries.values()) {
    if (entry.usedAsVariable) continue;
    if (!KNOWN_CLUSTER_KEYS.has(entry.key.toLowerCase())) {
      m.error(entry.keyPos, `unknown field "${entry.key}" in cluster block`);
      continue;
    }
    const value = toPlain(entry.value);
    const problem = clusterKeyProblem(entry.key, value);
    if (problem !== null) m.error(entry.keyPos, problem);
    const notice = clusterKeyNotice(entry.key, value);
    if (notice !== null && problem === null) m.warnings.push(`${formatPos(entry.keyPos)}: ${notice}`);
  }
  m.set('cluster', raw);
});
blockOption(['gateway'], 'gateway');
// The leafnodes block's problems, at the position of the key each concerns (as nats-server points).
on(['leafnodes', 'leaf'], (m, e) => {
  const raw = m.rawMap(e);
  if (raw === undefined) return;
  const p = leafNodeBlockProblem(e.value, raw);
  if (p !== null) m.error(p.pos, p.text);
  m.set('leafnodes', raw);
});
// The websocket block's own problems, with their positions (the checks against the rest run at start).
on(['websocket', 'ws'], (m, e) => {
  const raw = m.rawMap(e);
  if (raw === undefined) return;
  for (const p of websocketBlockProblems(e.value, e.key)) m.error(p.pos ?? e.value.pos, p.problem);
  m.set('websocket', raw);
});
blockOption(['mqtt'], 'mqtt');
blockOption(['tls'], 'tls', true);

boolOption(['allow_non_tls'], 'allow_non_tls');

on(['operator', 'operators', 'roots', 'root', 'root_operators', 'root_operator'], (m, e) => {
  const v = e.value;
  if (v.kind === 'string') {
    m.set('operator', v.value);
  } else if (v.kind === 'array') {
    const names: string[] = [];
    for (const item of v.items) {
      if (item.kind === 'string') names.push(item.value);
      else m.error(item.pos, `operator entries must be strings (JWT files or JWTs), got ${describe(item)}`);
    }
    m.set('operator', names);
  } else {
    m.typeError(e, 'a JWT file name, a JWT, or an array of them');
    return;
  }
});
// Operator keys trusted without operator JWTs (operator mode with the account resolver): one key or a list.
on(['trusted', 'trusted_keys'], (m, e) => {
  const v = e.value;
  const items = v.kind === 'array' ? v.items : [v];
  const keys: string[] = [];
  for (const item of items) {
    if (item.kind !== 'string' || !isPublicKeyOf(item.value, NKEY_PREFIX_OPERATOR)) {
      m.error(item.pos, `trusted Keys ${item.kind === 'string' ? JSON.stringify(item.value) : describe(item)} are not valid public operator Keys`);
      return;
    }
    keys.push(item.value);
  }
  // An empty list trusts nobody: operator mode stays off.
  if (keys.length > 0) m.set('trusted_keys', keys);
});
on(['resolver', 'account_resolver', 'accounts_resolver'], (m, e) => {
  const v = e.value;
  if (v.kind !== 'string' && v.kind !== 'map') {
    m.typeError(e, 'MEM, URL("...") or a map');
    return;
  }
  const plain = toPlain(v);
  // Each problem points at the offending key of the resolver block when there is one.
  const { problems } = parseResolver(plain);
  for (const p of problems) {
    const at = p.key !== null && v.kind === 'map' ? v.entries.get(p.key) : undefined;
    m.error(at?.value.pos ?? v.pos, p.message);
  }
  if (problems.length === 0) m.set('resolver', plain);
});
on(['resolver_preload'], (m, e) => {
  if (e.value.kind !== 'map') {
    m.typeError(e, 'a map of account public keys to account JWTs');
    return;
  }
  m.set('resolver_preload', toPlain(e.value) as Record<string, string>);
});

/** Every top-level key the mapping recognises (lower case), aliases included. */
export const KNOWN_TOP_LEVEL_KEYS: ReadonlySet<string> = new Set([...HANDLERS.keys(), ...UNSUPPORTED_TOP_LEVEL_KEYS]);
