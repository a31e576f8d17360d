/**
 * Keeping credentials out of everything the server writes: protocol traces,
 * log lines, reload descriptions and configuration errors.
 *
 * nats-server 2.9.10 hides only a CONNECT's `pass`; a token, a nonce
 * signature, a user JWT, an nkey seed or an encryption key opens the door
 * just as well, so Natter hides them all, with nats-server's marker.
 */

/** What stands in for a hidden value (nats-server's marker). */
const REDACTED = '[REDACTED]';

/** What stands in for a URL's password (nats-server's, from Go's url.Redacted). */
const REDACTED_URL_PASSWORD = 'xxxxx';

/** CONNECT fields (client and route) whose values are credentials. */
const SECRET_CONNECT_FIELDS: ReadonlySet<string> = new Set(['pass', 'auth_token', 'sig', 'jwt']);

export function isSecretConnectField(name: string): boolean {
  return SECRET_CONNECT_FIELDS.has(name);
}

/**
 * Configuration keys whose values are credentials: passwords and tokens
 * (authorization blocks everywhere), nkey seeds, and JetStream's encryption
 * keys (`key`; a TLS block names its key by `key_file`, a path, which stays).
 */
const SECRET_CONFIG_KEYS: ReadonlySet<string> = new Set([
  'pass', 'password', 'token', 'auth_token', 'sig', 'jwt', 'seed',
  'key', 'ek', 'encryption_key', 'prev_key', 'prev_ek', 'prev_encryption_key',
]);

export function isSecretConfigKey(key: string): boolean {
  return SECRET_CONFIG_KEYS.has(key.toLowerCase());
}

/**
 * One `"key": value` pair of JSON text, found by scanning rather than
 * parsing, so that a CONNECT that is cut short or malformed is still covered:
 * the key (escapes and all), the separator, then a string value (possibly
 * unterminated) or a bare scalar. Objects and arrays are not values here, so
 * the scan steps into them and finds their pairs too.
 */
const JSON_PAIR = /"((?:[^"\\]|\\.)*)"(\s*:\s*)(?:"(?:[^"\\]|\\.)*\\?(?:"|$)|[^\s,{}[\]"]+)/g;

/** A JSON string's content with its escapes resolved; the raw text when it does not decode. */
function unescapeKey(raw: string): string {
  if (!raw.includes('\\')) return raw;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return raw;
  }
}

/**
 * JSON text (a CONNECT's argument) with the value of every credential field
 * replaced by `"[REDACTED]"`, however the field name is escaped and whatever
 * the value's type.
 */
export function redactConnectJson(json: string): string {
  return json.replace(JSON_PAIR, (pair: string, key: string, colon: string) =>
    isSecretConnectField(unescapeKey(key)) ? `"${key}"${colon}"${REDACTED}"` : pair,
  );
}

/**
 * A protocol line as traced (the parsers spell the op `CONNECT` whatever case
 * the client used) with the credentials of a CONNECT hidden; every other
 * line is returned as it is, uncopied.
 */
export function redactProtocolLine(line: string): string {
  return line.startsWith('CONNECT') ? redactConnectJson(line) : line;
}

/** An nkey seed: `S`, the key type, 56 more base32 characters. */
const NKEY_SEED = /\bS[ONACUPX][A-Z2-7]{56}\b/g;
/** The password part of a URL's user info. */
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s/@:]*:)[^\s/@]*@/gi;

/** A string with nkey seeds and URL passwords hidden; the string itself when it has neither. */
export function redactText(text: string): string {
  const out = text.replace(NKEY_SEED, REDACTED);
  // Every log line passes here: the URL pattern, the costlier one, runs only where a URL may be.
  return out.includes('://') ? out.replace(URL_PASSWORD, `$1${REDACTED_URL_PASSWORD}@`) : out;
}

/**
 * A configuration value (a block of options, a list, a scalar) as it may be
 * shown: a copy in which credential keys have `[REDACTED]` for a value, and
 * strings have their seeds and URL passwords hidden.
 */
export function redactConfigValue(value: unknown): unknown {
  if (typeof value === 'string') return redactText(value);
  if (Array.isArray(value)) return value.map(redactConfigValue);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = v !== undefined && isSecretConfigKey(k) ? REDACTED : redactConfigValue(v);
  return out;
}
