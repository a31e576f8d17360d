/**
 * nats-server's command line, parsed the way Go's `flag` package parses it
 * (nats-server is a Go program and scripts, systemd units and test harnesses
 * are written against that behaviour):
 *
 * - `-name` and `--name` are the same flag; `-name=value` or `-name value`;
 * - booleans take no separate value: `-D`, `-D=false` (`-D false` makes
 *   `false` a positional argument);
 * - parsing stops at `--` or the first argument that is not a flag; of the
 *   positional arguments only `version` and `help` mean anything;
 * - the last occurrence of a flag (or of any of its aliases) wins;
 * - integers accept Go's syntax (`0x1F`, `0o17`, `017`, `1_000`).
 *
 * Only the flags actually present are reported, because a flag overrides the
 * configuration file only when it was given (see {@link applyFlags}).
 */
import type { RawBlock, ServerOptions } from '../server/options.js';
import { DEFAULT_OPTIONS } from '../server/options.js';

/** What the command line asks the process to do. */
export type FlagsAction = 'run' | 'version' | 'help' | 'help_tls' | 'signal' | 'error';

/** Cluster-related flags, applied over the config file's `cluster` block. */
export interface ClusterFlags {
  /**
   * From `--cluster`/`--cluster_listen`: `null` when given empty (which turns
   * clustering off, as in nats-server).
   */
  listen?: { host: string; port: number; user?: string; password?: string } | null;
  name?: string;
  advertise?: string;
  no_advertise?: boolean;
  connect_retries?: number;
  /** From `--routes`; `null` when given empty (drops configured routes). */
  routes?: string[] | null;
}

/** `--tls*` flags. When present they replace the config file's `tls` block. */
export interface TlsFlags {
  /** `--tls=false` removes TLS altogether and wins over the other tls flags. */
  disabled: boolean;
  cert_file?: string;
  key_file?: string;
  ca_file?: string;
  verify?: boolean;
}

/** Flags for blocks of the options, merged key by key into the config's block. */
export interface BlockFlags {
  cluster?: ClusterFlags;
  tls?: TlsFlags;
  authorization?: { user?: string; password?: string; token?: string };
  jetstream?: { enabled?: boolean; store_dir?: string };
}

/** Flags nats-server has that the options model has no key for (yet). */
export interface FlagExtras {
  remote_syslog?: string;
  profile_port?: number;
  max_traced_msg_len?: number;
}

export interface FlagsResult {
  action: FlagsAction;
  /** For action `error`: the message nats-server prints for it. */
  error?: string;
  /**
   * For action `error`: true when the error is from the flag syntax itself,
   * in which case nats-server prints the bare message followed by the usage;
   * otherwise it prints `nats-server: <message>`.
   */
  usageError: boolean;
  /** Top-level options that were set by flags. */
  options: Partial<ServerOptions>;
  /** Block-level settings that were set by flags. */
  blocks: BlockFlags;
  extras: FlagExtras;
  /** `-c`/`--config`. */
  configFile?: string;
  /** `-t`: validate the config file and exit. */
  checkConfig: boolean;
  /** `-sl`/`--signal`: `<command>[=<pid|pidfile>]`, for action `signal`. */
  signal?: string;
  /** Canonical names of the flags that were given, in first-seen order. */
  given: string[];
}

type Kind = 'bool' | 'int' | 'string';

interface FlagSpec {
  kind: Kind;
  /** The flag's canonical name; aliases share it (and its storage). */
  key: string;
}

/**
 * Every accepted flag name. Aliases map to one canonical key so that, as with
 * Go's shared variables, the last one given wins.
 */
const FLAGS: ReadonlyMap<string, FlagSpec> = new Map<string, FlagSpec>([
  ['h', { kind: 'bool', key: 'help' }],
  ['help', { kind: 'bool', key: 'help' }],
  ['p', { kind: 'int', key: 'port' }],
  ['port', { kind: 'int', key: 'port' }],
  ['n', { kind: 'string', key: 'server_name' }],
  ['name', { kind: 'string', key: 'server_name' }],
  ['server_name', { kind: 'string', key: 'server_name' }],
  ['a', { kind: 'string', key: 'addr' }],
  ['addr', { kind: 'string', key: 'addr' }],
  ['net', { kind: 'string', key: 'addr' }],
  ['client_advertise', { kind: 'string', key: 'client_advertise' }],
  ['D', { kind: 'bool', key: 'debug' }],
  ['debug', { kind: 'bool', key: 'debug' }],
  ['V', { kind: 'bool', key: 'trace' }],
  ['trace', { kind: 'bool', key: 'trace' }],
  ['VV', { kind: 'bool', key: 'VV' }],
  ['DV', { kind: 'bool', key: 'DV' }],
  ['DVV', { kind: 'bool', key: 'DVV' }],
  ['T', { kind: 'bool', key: 'logtime' }],
  ['logtime', { kind: 'bool', key: 'logtime' }],
  ['logtime_utc', { kind: 'bool', key: 'logtime_utc' }],
  ['user', { kind: 'string', key: 'user' }],
  ['pass', { kind: 'string', key: 'pass' }],
  ['auth', { kind: 'string', key: 'auth' }],
  ['m', { kind: 'int', key: 'http_port' }],
  ['http_port', { kind: 'int', key: 'http_port' }],
  ['ms', { kind: 'int', key: 'https_port' }],
  ['https_port', { kind: 'int', key: 'https_port' }],
  ['http_base_path', { kind: 'string', key: 'http_base_path' }],
  ['c', { kind: 'string', key: 'config' }],
  ['config', { kind: 'string', key: 'config' }],
  ['t', { kind: 'bool', key: 't' }],
  ['sl', { kind: 'string', key: 'signal' }],
  ['signal', { kind: 'string', key: 'signal' }],
  ['P', { kind: 'string', key: 'pid' }],
  ['pid', { kind: 'string', key: 'pid' }],
  ['ports_file_dir', { kind: 'string', key: 'ports_file_dir' }],
  ['config_watch', { kind: 'bool', key: 'config_watch' }],
  ['l', { kind: 'string', key: 'log' }],
  ['log', { kind: 'string', key: 'log' }],
  ['log_size_limit', { kind: 'int', key: 'log_size_limit' }],
  ['s', { kind: 'bool', key: 'syslog' }],
  ['syslog', { kind: 'bool', key: 'syslog' }],
  ['r', { kind: 'string', key: 'remote_syslog' }],
  ['remote_syslog', { kind: 'string', key: 'remote_syslog' }],
  ['v', { kind: 'bool', key: 'version' }],
  ['version', { kind: 'bool', key: 'version' }],
  ['profile', { kind: 'int', key: 'profile' }],
  ['routes', { kind: 'string', key: 'routes' }],
  ['cluster', { kind: 'string', key: 'cluster' }],
  ['cluster_listen', { kind: 'string', key: 'cluster' }],
  ['cluster_advertise', { kind: 'string', key: 'cluster_advertise' }],
  ['no_advertise', { kind: 'bool', key: 'no_advertise' }],
  ['connect_retries', { kind: 'int', key: 'connect_retries' }],
  ['cluster_name', { kind: 'string', key: 'cluster_name' }],
  ['help_tls', { kind: 'bool', key: 'help_tls' }],
  ['tls', { kind: 'bool', key: 'tls' }],
  ['tlsverify', { kind: 'bool', key: 'tlsverify' }],
  ['tlscert', { kind: 'string', key: 'tlscert' }],
  ['tlskey', { kind: 'string', key: 'tlskey' }],
  ['tlscacert', { kind: 'string', key: 'tlscacert' }],
  ['max_traced_msg_len', { kind: 'int', key: 'max_traced_msg_len' }],
  ['max_pending', { kind: 'int', key: 'max_pending' }],
  ['js', { kind: 'bool', key: 'jetstream' }],
  ['jetstream', { kind: 'bool', key: 'jetstream' }],
  ['sd', { kind: 'string', key: 'store_dir' }],
  ['store_dir', { kind: 'string', key: 'store_dir' }],
]);

/** Go's strconv.ParseBool. */
function parseGoBool(s: string): boolean | undefined {
  switch (s) {
    case '1': case 't': case 'T': case 'true': case 'TRUE': case 'True':
      return true;
    case '0': case 'f': case 'F': case 'false': case 'FALSE': case 'False':
      return false;
    default:
      return undefined;
  }
}

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/**
 * Go's strconv.ParseInt(s, 0, 64): optional sign, then decimal, `0x` hex,
 * `0o`/leading-`0` octal or `0b` binary, with `_` allowed between digits.
 */
export function parseGoInt(s: string): { value: number } | { error: 'parse error' | 'value out of range' } {
  let body = s;
  let negative = false;
  if (body.startsWith('+') || body.startsWith('-')) {
    negative = body.startsWith('-');
    body = body.slice(1);
  }
  let digits: string;
  let prefix: string;
  let pattern: RegExp;
  const lower = body.toLowerCase();
  if (lower.startsWith('0x')) {
    prefix = '0x'; digits = body.slice(2); pattern = /^_?[0-9a-fA-F]+(_[0-9a-fA-F]+)*$/;
  } else if (lower.startsWith('0o')) {
    prefix = '0o'; digits = body.slice(2); pattern = /^_?[0-7]+(_[0-7]+)*$/;
  } else if (lower.startsWith('0b')) {
    prefix = '0b'; digits = body.slice(2); pattern = /^_?[01]+(_[01]+)*$/;
  } else if (body.length > 1 && body.startsWith('0')) {
    prefix = '0o'; digits = body.slice(1); pattern = /^_?[0-7]+(_[0-7]+)*$/;
  } else {
    prefix = ''; digits = body; pattern = /^[0-9]+(_[0-9]+)*$/;
  }
  if (!pattern.test(digits)) return { error: 'parse error' };
  let big = BigInt(prefix + digits.replace(/_/g, ''));
  if (negative) big = -big;
  if (big > INT64_MAX || big < INT64_MIN) return { error: 'value out of range' };
  return { value: Number(big) };
}

/** Go's %q for the strings that appear in flag errors. */
function quote(s: string): string {
  return JSON.stringify(s);
}

/** One flag occurrence after syntax checks and value conversion. */
type Value = boolean | number | string;

class FlagSyntaxError extends Error {}

/**
 * Splits arguments into flag values and positional arguments with Go's
 * rules; throws FlagSyntaxError with Go's message on bad input.
 */
function scan(argv: readonly string[]): { values: Map<string, Value>; order: string[]; positional: string[] } {
  const values = new Map<string, Value>();
  const order: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i] as string;
    if (arg.length < 2 || arg[0] !== '-') break;
    let dashes = 1;
    if (arg[1] === '-') {
      dashes = 2;
      if (arg.length === 2) {
        i++;
        break;
      }
    }
    let name = arg.slice(dashes);
    if (name.length === 0 || name[0] === '-' || name[0] === '=') {
      throw new FlagSyntaxError(`bad flag syntax: ${arg}`);
    }
    i++;
    let value: string | undefined;
    const eq = name.indexOf('=', 1);
    if (eq > 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const spec = FLAGS.get(name);
    if (spec === undefined) throw new FlagSyntaxError(`flag provided but not defined: -${name}`);
    let parsed: Value;
    if (spec.kind === 'bool') {
      if (value === undefined) {
        parsed = true;
      } else {
        const b = parseGoBool(value);
        if (b === undefined) throw new FlagSyntaxError(`invalid boolean value ${quote(value)} for -${name}: parse error`);
        parsed = b;
      }
    } else {
      if (value === undefined) {
        if (i >= argv.length) throw new FlagSyntaxError(`flag needs an argument: -${name}`);
        value = argv[i] as string;
        i++;
      }
      if (spec.kind === 'int') {
        const n = parseGoInt(value);
        if ('error' in n) throw new FlagSyntaxError(`invalid value ${quote(value)} for flag -${name}: ${n.error}`);
        parsed = n.value;
      } else {
        parsed = value;
      }
    }
    if (!values.has(spec.key)) order.push(spec.key);
    values.set(spec.key, parsed);
  }
  return { values, order, positional: argv.slice(i) };
}

/**
 * Parses a cluster listen URL (`nats://[user:pass@]host:port`, port may be
 * -1 for a random one) with the checks and messages nats-server has.
 */
export function parseClusterUrl(raw: string): { host: string; port: number; user?: string; password?: string } | { error: string } {
  let s = raw;
  let wantsRandom = false;
  if (s.endsWith(':-1')) {
    wantsRandom = true;
    s = `${s.slice(0, -3)}:0`;
  }
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)/.exec(s);
  if (m === null) {
    // Without a scheme Go's url.Parse sees a path: no host at all, unless the
    // first segment has a colon, which url.Parse refuses outright.
    const firstSegment = s.split('/')[0] ?? '';
    if (!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(s) && firstSegment.includes(':')) {
      return { error: `parse ${quote(s)}: first path segment in URL cannot contain colon` };
    }
    return { error: 'missing port in address' };
  }
  const authority = m[2] as string;
  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0 ? authority.slice(0, at) : undefined;
  const hostport = at >= 0 ? authority.slice(at + 1) : authority;

  let host: string;
  let portText: string;
  if (hostport.startsWith('[')) {
    const close = hostport.indexOf(']');
    if (close < 0) return { error: `address ${hostport}: missing ']' in address` };
    if (hostport[close + 1] !== ':') return { error: `address ${hostport}: missing port in address` };
    host = hostport.slice(1, close);
    portText = hostport.slice(close + 2);
  } else {
    const colon = hostport.lastIndexOf(':');
    if (colon < 0) {
      return { error: hostport === '' ? 'missing port in address' : `address ${hostport}: missing port in address` };
    }
    host = hostport.slice(0, colon);
    if (host.includes(':')) return { error: `address ${hostport}: too many colons in address` };
    portText = hostport.slice(colon + 1);
  }
  if (!/^[+-]?[0-9]+$/.test(portText)) return { error: 'expected integer' };
  const port = wantsRandom ? -1 : Number.parseInt(portText, 10);

  const out: { host: string; port: number; user?: string; password?: string } = { host, port };
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    if (colon < 0) return { error: 'expected cluster password to be set' };
    out.user = decodeURIComponent(userinfo.slice(0, colon));
    out.password = decodeURIComponent(userinfo.slice(colon + 1));
  }
  return out;
}

function emptyResult(action: FlagsAction): FlagsResult {
  return { action, usageError: false, options: {}, blocks: {}, extras: {}, checkConfig: false, given: [] };
}

function failed(message: string, usageError: boolean): FlagsResult {
  const r = emptyResult('error');
  r.error = message;
  r.usageError = usageError;
  return r;
}

/**
 * Parses nats-server's command line (without the `node` and script
 * arguments). Never throws: bad input comes back as action `error`.
 */
export function parseFlags(argv: readonly string[]): FlagsResult {
  let scanned: ReturnType<typeof scan>;
  try {
    scanned = scan(argv);
  } catch (err) {
    if (err instanceof FlagSyntaxError) return failed(err.message, true);
    throw err;
  }
  const { values, order, positional } = scanned;
  const bool = (k: string): boolean | undefined => values.get(k) as boolean | undefined;
  const int = (k: string): number | undefined => values.get(k) as number | undefined;
  const str = (k: string): string | undefined => values.get(k) as string | undefined;

  // Same precedence as nats-server: version, help, TLS help, then positionals.
  if (bool('version') === true) return emptyResult('version');
  if (bool('help') === true) return emptyResult('help');
  if (bool('help_tls') === true) return emptyResult('help_tls');
  if (positional.length > 0) {
    const cmd = positional[0] as string;
    switch (cmd.toLowerCase()) {
      case 'version':
        return emptyResult('version');
      case 'help':
        return emptyResult('help');
      default:
        return failed(`unrecognized command: ${quote(cmd)}`, false);
    }
  }

  const r = emptyResult('run');
  r.given = order;
  const o = r.options;

  const port = int('port');
  if (port !== undefined) {
    // -1 asks for a random port, which the options model spells 0; an
    // explicit 0 means "the default port" in nats-server.
    o.port = port === -1 ? 0 : port === 0 ? DEFAULT_OPTIONS.port : port;
  }
  const setStr = <K extends keyof ServerOptions>(flag: string, key: K): void => {
    const v = str(flag);
    if (v !== undefined) (o as Record<string, unknown>)[key] = v;
  };
  const setBool = <K extends keyof ServerOptions>(flag: string, key: K): void => {
    const v = bool(flag);
    if (v !== undefined) (o as Record<string, unknown>)[key] = v;
  };
  const setInt = <K extends keyof ServerOptions>(flag: string, key: K): void => {
    const v = int(flag);
    if (v !== undefined) (o as Record<string, unknown>)[key] = v;
  };
  setStr('server_name', 'server_name');
  setStr('addr', 'host');
  setStr('client_advertise', 'client_advertise');
  setBool('debug', 'debug');
  setBool('trace', 'trace');
  setBool('logtime', 'logtime');
  setBool('logtime_utc', 'logtime_utc');
  // The monitoring ports keep -1 ("random") as is; the options model does.
  setInt('http_port', 'http_port');
  setInt('https_port', 'https_port');
  setStr('http_base_path', 'http_base_path');
  setStr('pid', 'pid_file');
  setStr('ports_file_dir', 'ports_file_dir');
  setBool('config_watch', 'config_watch');
  setStr('log', 'log_file');
  setInt('log_size_limit', 'log_size_limit');
  setBool('syslog', 'syslog');
  setInt('max_pending', 'max_pending');

  // Combined level flags are applied after the single ones, in name order,
  // so `-DV=false` switches both off whatever `-D`/`-V` said.
  const dv = bool('DV');
  if (dv !== undefined) {
    o.debug = dv;
    o.trace = dv;
  }
  const dvv = bool('DVV');
  if (dvv !== undefined) {
    o.debug = dvv;
    o.trace = dvv;
    o.trace_verbose = dvv;
  }
  const vv = bool('VV');
  if (vv !== undefined) {
    o.trace = vv;
    o.trace_verbose = vv;
  }

  r.configFile = str('config');
  r.checkConfig = bool('t') === true;
  const signal = str('signal');
  if (signal !== undefined && signal !== '') {
    r.signal = signal;
    r.action = 'signal';
  }

  const remoteSyslog = str('remote_syslog');
  if (remoteSyslog !== undefined) r.extras.remote_syslog = remoteSyslog;
  const profile = int('profile');
  if (profile !== undefined) r.extras.profile_port = profile;
  const traced = int('max_traced_msg_len');
  if (traced !== undefined) r.extras.max_traced_msg_len = traced;

  // Authorization.
  const user = str('user');
  const pass = str('pass');
  const token = str('auth');
  if (user !== undefined || pass !== undefined || token !== undefined) {
    const a: NonNullable<BlockFlags['authorization']> = {};
    if (user !== undefined) a.user = user;
    if (pass !== undefined) a.password = pass;
    if (token !== undefined) a.token = token;
    r.blocks.authorization = a;
  }

  // JetStream.
  const js = bool('jetstream');
  const storeDir = str('store_dir');
  if (js !== undefined || storeDir !== undefined) {
    const j: NonNullable<BlockFlags['jetstream']> = {};
    if (js !== undefined) j.enabled = js;
    if (storeDir !== undefined) j.store_dir = storeDir;
    r.blocks.jetstream = j;
  }

  // Cluster.
  const c: ClusterFlags = {};
  let clusterGiven = false;
  const listen = str('cluster');
  if (listen !== undefined) {
    clusterGiven = true;
    if (listen === '') {
      c.listen = null;
    } else {
      const parsed = parseClusterUrl(listen);
      if ('error' in parsed) return failed(parsed.error, false);
      c.listen = parsed;
    }
  }
  const clusterName = str('cluster_name');
  if (clusterName !== undefined) { c.name = clusterName; clusterGiven = true; }
  const clusterAdvertise = str('cluster_advertise');
  if (clusterAdvertise !== undefined) { c.advertise = clusterAdvertise; clusterGiven = true; }
  const noAdvertise = bool('no_advertise');
  if (noAdvertise !== undefined) { c.no_advertise = noAdvertise; clusterGiven = true; }
  const retries = int('connect_retries');
  if (retries !== undefined) { c.connect_retries = retries; clusterGiven = true; }
  const routes = str('routes');
  if (routes !== undefined) {
    clusterGiven = true;
    c.routes = routes === '' ? null : routes.split(',').map((x) => x.trim()).filter((x) => x !== '');
  }
  if (clusterGiven) r.blocks.cluster = c;

  // TLS: any tls flag replaces the configured TLS settings, and then needs a
  // certificate and key; `--tls=false` turns TLS off and wins.
  const tlsKeys = ['tls', 'tlsverify', 'tlscert', 'tlskey', 'tlscacert'];
  if (tlsKeys.some((k) => values.has(k))) {
    if (bool('tls') === false) {
      r.blocks.tls = { disabled: true };
    } else {
      const cert = str('tlscert');
      const key = str('tlskey');
      if (cert === undefined || cert === '') return failed('TLS Server certificate must be present and valid', false);
      if (key === undefined || key === '') return failed('TLS Server private key must be present and valid', false);
      const t: TlsFlags = { disabled: false, cert_file: cert, key_file: key };
      const ca = str('tlscacert');
      if (ca !== undefined && ca !== '') t.ca_file = ca;
      const verify = bool('tlsverify');
      if (verify !== undefined) t.verify = verify;
      r.blocks.tls = t;
    }
  }
  return r;
}

function isBlock(v: unknown): v is RawBlock {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Puts the flags on top of options loaded from a config file: the flags that
 * were given win, everything else keeps the file's value (nats-server parses
 * the flags a second time over the file's options for this). Blocks are
 * merged key by key. Throws an Error (message as nats-server words it) when
 * the combination is invalid. Does not modify `base`.
 */
export function applyFlags(base: Partial<ServerOptions>, flags: FlagsResult): Partial<ServerOptions> {
  const out: Partial<ServerOptions> = { ...base, ...flags.options };
  const b = flags.blocks;

  if (b.authorization !== undefined) {
    out.authorization = { ...(isBlock(base.authorization) ? base.authorization : {}), ...b.authorization };
  }

  if (b.jetstream !== undefined) {
    const { enabled, store_dir } = b.jetstream;
    let js: RawBlock | boolean | undefined = base.jetstream;
    if (enabled === true) {
      // A configured block already means "on"; only an explicit
      // `enabled: false` in it needs flipping.
      js = isBlock(js) ? (js['enabled'] === undefined ? { ...js } : { ...js, enabled: true }) : true;
    } else if (enabled === false) {
      js = false;
    }
    if (store_dir !== undefined) {
      // `-sd` alone names the directory without switching JetStream on.
      if (isBlock(js)) js = { ...js, store_dir };
      else if (js === true) js = { store_dir };
      else js = { enabled: false, store_dir };
    }
    out.jetstream = js;
  }

  if (b.tls !== undefined) {
    if (b.tls.disabled) {
      delete out.tls;
    } else {
      const t: RawBlock = {};
      if (b.tls.cert_file !== undefined) t['cert_file'] = b.tls.cert_file;
      if (b.tls.key_file !== undefined) t['key_file'] = b.tls.key_file;
      if (b.tls.ca_file !== undefined) t['ca_file'] = b.tls.ca_file;
      if (b.tls.verify !== undefined) t['verify'] = b.tls.verify;
      out.tls = t;
    }
  }

  const cf = b.cluster;
  if (cf !== undefined) {
    const c: RawBlock = isBlock(base.cluster) ? { ...base.cluster } : {};
    if (cf.listen === null) {
      // An empty --cluster switches clustering off, as a zero port does.
      delete c['listen'];
      delete c['host'];
      c['port'] = 0;
    } else if (cf.listen !== undefined) {
      delete c['host'];
      delete c['port'];
      c['listen'] = formatHostPort(cf.listen.host === '' ? '0.0.0.0' : cf.listen.host, cf.listen.port);
      // Credentials come from the URL or not at all: the file's are dropped.
      const auth: RawBlock = isBlock(c['authorization']) ? { ...c['authorization'] } : {};
      delete auth['user'];
      delete auth['password'];
      if (cf.listen.user !== undefined) {
        auth['user'] = cf.listen.user;
        auth['password'] = cf.listen.password;
      }
      if (Object.keys(auth).length > 0) c['authorization'] = auth;
      else delete c['authorization'];
    }
    if (cf.name !== undefined) c['name'] = cf.name;
    if (cf.advertise !== undefined) c['advertise'] = cf.advertise;
    if (cf.no_advertise !== undefined) c['no_advertise'] = cf.no_advertise;
    if (cf.connect_retries !== undefined) c['connect_retries'] = cf.connect_retries;
    if (cf.routes === null) delete c['routes'];
    else if (cf.routes !== undefined) c['routes'] = cf.routes;

    if (cf.routes !== undefined && cf.routes !== null && cf.routes.length > 0) {
      const hasListen = (typeof c['listen'] === 'string' && c['listen'] !== '') ||
        (typeof c['host'] === 'string' && c['host'] !== '') ||
        (typeof c['port'] === 'number' && c['port'] !== 0);
      if (!hasListen) throw new Error('solicited routes require cluster capabilities, e.g. --cluster');
    }
    out.cluster = c;
  }
  return out;
}

/** The `-h` text: nats-server's layout, Natter's flags. */
export function usageText(exe = 'natter-server'): string {
  return `
Usage: ${exe} [options]

Server Options:
    -a, --addr, --net <host>         Address to listen on for clients (default: 0.0.0.0)
    -p, --port <port>                Client port, -1 for a random one (default: 4222)
    -n, --name
        --server_name <server_name>  Name of this server (default: the server's ID)
    -P, --pid <file>                 Write the process ID to this file
    -m, --http_port <port>           HTTP monitoring port, -1 for a random one
    -ms,--https_port <port>          HTTPS monitoring port, -1 for a random one
        --http_base_path <path>      URL prefix for the monitoring endpoints (default: /)
    -c, --config <file>              Read options from this configuration file
    -t                               Check the configuration file, then exit
        --config_watch               Reload when the configuration file or a file it names changes (Natter only)
    -sl,--signal <signal>[=<pid>]    Signal a running server (ldm, stop, quit, term, reopen, reload)
                                     <pid> is a process ID (e.g. 1) or a PID file (e.g. /var/run/natter.pid)
        --client_advertise <string>  Client URL to advertise to other servers
        --ports_file_dir <dir>       Write the listening URLs to <dir>/nats-server_<pid>.ports
        --max_pending <bytes>        Per-connection outbound buffer before slow consumer

Logging Options:
    -l, --log <file>                 Append the log to this file instead of stderr
    -T, --logtime                    Timestamp log lines (default: true)
        --logtime_utc                Timestamps in UTC instead of local time
    -s, --syslog                     Log to syslog
    -r, --remote_syslog <addr>       Remote syslog address (udp://localhost:514)
    -D, --debug                      Log debug messages
    -V, --trace                      Log the protocol traffic
    -VV                              Verbose trace (includes the system account)
    -DV                              Debug and trace
    -DVV                             Debug and verbose trace (includes the system account)
        --log_size_limit <limit>     Rotate the log file after this many bytes (default: no rotation)
        --max_traced_msg_len <len>   Truncate traced messages to this length (default: unlimited)

JetStream Options:
    -js, --jetstream                 Turn JetStream on
    -sd, --store_dir <dir>           JetStream storage directory

Authorization Options:
        --user <user>                Username clients must present
        --pass <password>            Password clients must present
        --auth <token>               Token clients must present

TLS Options:
        --tls                        Serve TLS without verifying clients (default: false)
        --tlscert <file>             Server certificate
        --tlskey <file>              Server certificate's private key
        --tlsverify                  Serve TLS and require client certificates
        --tlscacert <file>           CA that client certificates must chain to

Cluster Options:
        --routes <rurl-1, rurl-2>    Route URLs to connect to
        --cluster <cluster-url>      URL to accept route connections on
        --cluster_name <string>      Cluster name (default: generated)
        --no_advertise <bool>        Keep cluster URLs out of what clients are told
        --cluster_advertise <string> Cluster URL to advertise to other servers
        --connect_retries <number>   Connect attempts for implicit routes
        --cluster_listen <url>       Same as --cluster

Profiling Options:
        --profile <port>             Profiling HTTP port

Common Options:
    -h, --help                       Show this message
    -v, --version                    Show version
        --help_tls                   TLS help
`;
}

/** The `--help_tls` text. */
export function tlsUsageText(): string {
  return `
TLS is set up in the tls block of the configuration file, for example:

    tls {
        cert_file: "./certs/server-cert.pem"
        key_file:  "./certs/server-key.pem"
        ca_file:   "./certs/ca.pem"
        verify:    true
        timeout:   2
    }

On the command line, --tlscert and --tlskey (with --tlscacert and --tlsverify
for client certificates) replace the tls block of the configuration file.
Cipher suites and curves are those of the Node.js TLS stack.
`;
}
