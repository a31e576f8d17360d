/**
 * The `tls { ... }` block, read with nats-server's meanings and refused with
 * its error texts (2.9.10 wording; `handshake_first` and `min_version` as
 * 2.10+ define them). Keys are case-insensitive, as in nats-server.
 *
 * This only checks the block; loading the files it names is material.ts.
 */
import { DurationError, parseGoDurationNs } from '../config/durations.js';
import { goQuote } from '../text/go-format.js';

/** nats-server's TLS_TIMEOUT. */
export const DEFAULT_TLS_TIMEOUT_MS = 2000;
/** nats-server's DEFAULT_TLS_HANDSHAKE_FIRST_FALLBACK_DELAY ("auto"). */
const DEFAULT_HANDSHAKE_FIRST_FALLBACK_MS = 50;

export class TlsConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsConfigError';
  }
}

/** Where the block sits: the client port, or a listener for other servers (routes, gateways, leaf nodes). */
export type TlsBlockContext = 'client' | 'peer';

export interface TlsConfig {
  certFile: string | null;
  keyFile: string | null;
  caFile: string | null;
  /** Ask for a client certificate and refuse the connection without a valid one. */
  verify: boolean;
  /** verify_and_map: the certificate's identities select the user. */
  map: boolean;
  /** verify_cert_and_check_known_urls (peer listeners only). */
  checkKnownUrls: boolean;
  /** Skip verifying the remote server's certificate when dialing out (no effect on accepting). */
  insecure: boolean;
  /** Handshake deadline in milliseconds, counted from the INFO (or the accept with handshake_first). */
  timeoutMs: number;
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  /** TLS 1.2 cipher suites by Go name, in preference order. */
  cipherSuites: readonly string[];
  /** Key exchange groups by Go name, in preference order. */
  curvePreferences: readonly string[];
  /** Lower-case hex SHA-256 of the peer's SubjectPublicKeyInfo; null when not pinning. */
  pinnedCerts: ReadonlySet<string> | null;
  /** TLS before INFO. */
  handshakeFirst: boolean;
  /** With handshake_first: how long to wait for a ClientHello before greeting in clear (0: never). */
  handshakeFirstFallbackMs: number;
  /** New TLS connections allowed per second (0: no limit). */
  connectionRateLimit: number;
}

/**
 * Go cipher suite names nats-server 2.9.10 accepts, with OpenSSL's names. The
 * TLS 1.3 suites are accepted and, as in Go, have no effect: TLS 1.3 always
 * offers all three. RC4 and 3DES are accepted but OpenSSL 3 no longer has them.
 */
const CIPHER_SUITES: ReadonlyMap<string, string | null> = new Map([
  ['TLS_RSA_WITH_RC4_128_SHA', 'RC4-SHA'],
  ['TLS_RSA_WITH_3DES_EDE_CBC_SHA', 'DES-CBC3-SHA'],
  ['TLS_RSA_WITH_AES_128_CBC_SHA', 'AES128-SHA'],
  ['TLS_RSA_WITH_AES_128_CBC_SHA256', 'AES128-SHA256'],
  ['TLS_RSA_WITH_AES_256_CBC_SHA', 'AES256-SHA'],
  ['TLS_RSA_WITH_AES_256_GCM_SHA384', 'AES256-GCM-SHA384'],
  ['TLS_ECDHE_ECDSA_WITH_RC4_128_SHA', 'ECDHE-ECDSA-RC4-SHA'],
  ['TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA', 'ECDHE-ECDSA-AES128-SHA'],
  ['TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA', 'ECDHE-ECDSA-AES256-SHA'],
  ['TLS_ECDHE_RSA_WITH_RC4_128_SHA', 'ECDHE-RSA-RC4-SHA'],
  ['TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA', 'ECDHE-RSA-DES-CBC3-SHA'],
  ['TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA', 'ECDHE-RSA-AES128-SHA'],
  ['TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256', 'ECDHE-RSA-AES128-SHA256'],
  ['TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256', 'ECDHE-ECDSA-AES128-SHA256'],
  ['TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA', 'ECDHE-RSA-AES256-SHA'],
  ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'ECDHE-RSA-AES128-GCM-SHA256'],
  ['TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', 'ECDHE-ECDSA-AES128-GCM-SHA256'],
  ['TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', 'ECDHE-RSA-AES256-GCM-SHA384'],
  ['TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384', 'ECDHE-ECDSA-AES256-GCM-SHA384'],
  ['TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305'],
  ['TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305', 'ECDHE-ECDSA-CHACHA20-POLY1305'],
  ['TLS_AES_128_GCM_SHA256', null],
  ['TLS_AES_256_GCM_SHA384', null],
  ['TLS_CHACHA20_POLY1305_SHA256', null],
]);

/** nats-server's default suites: ECDHE with AEAD only. */
const DEFAULT_CIPHER_SUITES = [
  'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305',
  'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305',
  'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
];

const TLS13_SUITES = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';

/** Go curve names with OpenSSL's group names. */
const CURVES: ReadonlyMap<string, string> = new Map([
  ['X25519', 'X25519'],
  ['CurveP256', 'P-256'],
  ['CurveP384', 'P-384'],
  ['CurveP521', 'P-521'],
]);

const DEFAULT_CURVES = ['X25519', 'CurveP256', 'CurveP384', 'CurveP521'];

/** The OpenSSL cipher list for `ciphers`: the TLS 1.3 suites, then the configured TLS 1.2 ones. */
export function opensslCiphers(c: TlsConfig): string {
  const names = c.cipherSuites.map((n) => CIPHER_SUITES.get(n)).filter((n): n is string => typeof n === 'string');
  return [TLS13_SUITES, ...names].join(':');
}

/** The OpenSSL group list for `ecdhCurve`. */
export function opensslCurves(c: TlsConfig): string {
  return c.curvePreferences.map((n) => CURVES.get(n) ?? n).join(':');
}

/** How Go's `%T` names a decoded configuration value (it shows in nats-server's type errors). */
function goType(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int64' : 'float64';
  if (Array.isArray(v)) return '[]interface {}';
  if (v instanceof Date) return 'time.Time';
  return 'map[string]interface {}';
}

/** A value Go would fail to convert: nats-server reports the runtime's conversion message. */
function conversionError(v: unknown, want: string): TlsConfigError {
  return new TlsConfigError(`interface conversion: interface {} is ${goType(v)}, not ${want}`);
}

function stringList(v: unknown): string[] {
  if (!Array.isArray(v)) throw conversionError(v, '[]interface {}');
  return v.map((item: unknown) => {
    if (typeof item !== 'string') throw conversionError(item, 'string');
    return item;
  });
}

function bool(key: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new TlsConfigError(`error parsing tls config, expected '${key}' to be a boolean`);
  return v;
}

/** A file name; '' counts as not given, as in nats-server. */
function file(key: string, v: unknown): string | null {
  if (typeof v !== 'string') throw new TlsConfigError(`error parsing tls config, expected '${key}' to be filename`);
  return v === '' ? null : v;
}

function timeoutMs(v: unknown): number {
  if (typeof v === 'number') return v * 1000;
  if (typeof v === 'string') {
    try {
      return Number(parseGoDurationNs(v)) / 1e6;
    } catch (e) {
      if (e instanceof DurationError) throw new TlsConfigError(`error parsing tls config, 'timeout' ${e.message}`);
      throw e;
    }
  }
  throw new TlsConfigError("error parsing tls config, 'timeout' wrong type");
}

function minVersion(v: unknown): TlsConfig['minVersion'] {
  if (typeof v !== 'string') throw new TlsConfigError(`error parsing tls config: 'min_version' wrong type: ${String(v)}`);
  switch (v) {
    case '1.2':
      return 'TLSv1.2';
    case '1.3':
      return 'TLSv1.3';
    case '1.0':
    case '1.1':
      throw new TlsConfigError(`error parsing tls config: unsupported TLS version: TLS ${v}`);
    default:
      throw new TlsConfigError(`error parsing tls config: unknown version: ${v}`);
  }
}

function handshakeFirst(key: string, v: unknown, out: TlsConfig): void {
  if (typeof v === 'boolean') {
    out.handshakeFirst = v;
    return;
  }
  if (typeof v !== 'string') throw new TlsConfigError(`field ${goQuote(key)} should be a boolean or a string, got ${goType(v)}`);
  switch (v.toLowerCase()) {
    case 'true':
    case 'on':
      out.handshakeFirst = true;
      return;
    case 'false':
    case 'off':
      out.handshakeFirst = false;
      return;
    case 'auto':
    case 'auto_fallback':
      out.handshakeFirst = true;
      out.handshakeFirstFallbackMs = DEFAULT_HANDSHAKE_FIRST_FALLBACK_MS;
      return;
  }
  try {
    out.handshakeFirstFallbackMs = Number(parseGoDurationNs(v)) / 1e6;
    out.handshakeFirst = true;
  } catch {
    throw new TlsConfigError(`field ${goQuote(key)}'s value ${goQuote(v)} is invalid`);
  }
}

const PIN_SHAPE = /^[a-f0-9]{64}$/;

function pinnedCerts(v: unknown): Set<string> | null {
  if (!Array.isArray(v)) {
    throw new TlsConfigError("error parsing tls config, expected 'pinned_certs' to be a list of hex-encoded sha256 of DER encoded SubjectPublicKeyInfo");
  }
  if (v.length === 0) return null;
  const set = new Set<string>();
  for (const item of v) {
    if (typeof item !== 'string') throw conversionError(item, 'string');
    const entry = item.toLowerCase();
    if (!PIN_SHAPE.test(entry)) {
      throw new TlsConfigError(`error parsing tls config, 'pinned_certs' key ${entry} does not look like hex-encoded sha256 of DER encoded SubjectPublicKeyInfo`);
    }
    set.add(entry);
  }
  return set;
}

/**
 * Reads a `tls` block (plain object with nats-server key names, as the config
 * parser, the command line flags and the embedding API give it). Throws
 * TlsConfigError with nats-server's text.
 */
export function parseTlsBlock(raw: unknown, context: TlsBlockContext = 'client'): TlsConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || raw instanceof Date) {
    throw conversionError(raw, 'map[string]interface {}');
  }
  const out: TlsConfig = {
    certFile: null,
    keyFile: null,
    caFile: null,
    verify: false,
    map: false,
    checkKnownUrls: false,
    insecure: false,
    timeoutMs: 0,
    minVersion: 'TLSv1.2',
    cipherSuites: DEFAULT_CIPHER_SUITES,
    curvePreferences: DEFAULT_CURVES,
    pinnedCerts: null,
    handshakeFirst: false,
    handshakeFirstFallbackMs: 0,
    connectionRateLimit: 0,
  };
  for (const [key, v] of Object.entries(raw)) {
    switch (key.toLowerCase()) {
      case 'cert_file':
        out.certFile = file('cert_file', v);
        break;
      case 'key_file':
        out.keyFile = file('key_file', v);
        break;
      case 'ca_file':
        out.caFile = file('ca_file', v);
        break;
      case 'insecure':
        out.insecure = bool('insecure', v);
        break;
      case 'verify':
        out.verify = bool('verify', v);
        break;
      case 'verify_and_map':
        out.map = bool('verify_and_map', v);
        // Turning mapping off does not turn an explicit `verify` off.
        if (out.map) out.verify = true;
        break;
      case 'verify_cert_and_check_known_urls': {
        const on = bool('verify_cert_and_check_known_urls', v);
        if (on && context === 'client') throw new TlsConfigError('verify_cert_and_check_known_urls not supported in this context');
        out.checkKnownUrls = on;
        if (on) out.verify = true;
        break;
      }
      case 'cipher_suites': {
        const names = stringList(v);
        if (names.length === 0) throw new TlsConfigError("error parsing tls config, 'cipher_suites' cannot be empty");
        for (const n of names) if (!CIPHER_SUITES.has(n)) throw new TlsConfigError(`unrecognized cipher ${n}`);
        out.cipherSuites = names;
        break;
      }
      case 'curve_preferences': {
        const names = stringList(v);
        if (names.length === 0) throw new TlsConfigError("error parsing tls config, 'curve_preferences' cannot be empty");
        for (const n of names) if (!CURVES.has(n)) throw new TlsConfigError(`unrecognized curve preference ${n}`);
        out.curvePreferences = names;
        break;
      }
      case 'timeout':
        out.timeoutMs = timeoutMs(v);
        break;
      case 'connection_rate_limit':
        if (typeof v !== 'number' || !Number.isInteger(v)) throw new TlsConfigError("error parsing tls config, 'connection_rate_limit' wrong type");
        out.connectionRateLimit = v;
        break;
      case 'pinned_certs':
        out.pinnedCerts = pinnedCerts(v);
        break;
      case 'handshake_first':
      case 'first':
      case 'immediate':
        handshakeFirst(key, v, out);
        break;
      case 'min_version':
        out.minVersion = minVersion(v);
        break;
      default:
        throw new TlsConfigError(`error parsing tls config, unknown field [${goQuote(key)}]`);
    }
  }
  // 0 means "the default", as nats-server fills it in after parsing.
  if (out.timeoutMs === 0) out.timeoutMs = DEFAULT_TLS_TIMEOUT_MS;
  if (out.certFile !== null && out.keyFile === null) throw new TlsConfigError("missing 'key_file' in TLS configuration");
  if (out.certFile === null && out.keyFile !== null) throw new TlsConfigError("missing 'cert_file' in TLS configuration");
  return out;
}
