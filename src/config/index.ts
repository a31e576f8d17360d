/**
 * The NATS configuration file format and its mapping onto ServerOptions.
 *
 * Typical use:
 *
 *   const { options, warnings } = loadConfigFile(path);   // throws ConfigError
 *   for (const w of warnings) logger.warn(w);
 *   const resolved = resolveOptions({ ...options, ...fromCommandLine });
 *
 * Compatibility target: what nats-server 2.9 and 2.10 accept, with the same
 * meaning. Deliberate differences, each where nats-server's behaviour is a bug
 * or silently loses information:
 *
 * - `[1]` and `[1, 2]` are arrays of integers (nats-server fails to parse a
 *   number directly before ']'); `[ /path ]` is a string element (nats-server
 *   fails on a single '/' there).
 * - A missing value (`key = ;`, `key: }`, `key:` at the end of input, or a
 *   key alone at the end) is an error; nats-server reads "" or drops the key.
 * - Unknown size suffix combinations (`1kbb`) are errors; nats-server drops
 *   the value without a word.
 * - Integers must fit JavaScript's exact range (2^53 - 1), not int64.
 * - `include /abs/path` means that file (nats-server joins it onto the
 *   including file's folder); include cycles and environment variable cycles
 *   are errors rather than unbounded recursion.
 * - Unquoted bcrypt hashes may be `$2a$`, `$2b$` or `$2y$` (nats-server: 2a).
 * - Braces around top-level entries need not balance, as in nats-server, but
 *   a stray top-level '}' is simply ignored.
 * - Negative sizes and counts, and ports outside -1..65535, are errors; the
 *   authorization timeout must be a number (nats-server silently uses 1s for
 *   anything else).
 * - Keys of nats-server 2.10 and later (logtime_utc, ...) are accepted;
 *   2.9.10 reports them as unknown fields.
 * - Columns are 1-based on every line (nats-server's first line is 0-based).
 */
export { ConfigError, formatPos, PSEUDO_FILE, type SourcePos } from './errors.js';
export { tokenize, tokenizeValue, type Token, type TokenKind } from './lexer.js';
export {
  mapToPlain,
  parseConfig,
  parseConfigFile,
  toPlain,
  type ConfArray,
  type ConfBool,
  type ConfDatetime,
  type ConfEntry,
  type ConfFloat,
  type ConfigObject,
  type ConfigValue,
  type ConfInteger,
  type ConfMap,
  type ConfNode,
  type ConfScalar,
  type ConfString,
  type ParseOptions,
} from './parser.js';
export { DurationError, parseGoDuration, parseGoDurationNs } from './durations.js';
export { parseSizedInteger, SIZE_SUFFIXES, type SizeResult } from './sizes.js';
export {
  KNOWN_TOP_LEVEL_KEYS,
  loadConfigFile,
  optionsFromConfigText,
  optionsFromConfigTree,
  type ConfigLoadResult,
  type LoadOptions,
} from './options-from-config.js';
