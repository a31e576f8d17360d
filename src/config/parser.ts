/**
 * Builds the value tree of a NATS configuration from the lexer's tokens,
 * resolving `$variable` references and `include` directives on the way, as
 * nats-server does while parsing:
 *
 * - A `$NAME` reference looks for a key NAME already set in the enclosing
 *   maps, innermost first (arrays are not scopes), then in the environment.
 *   Only keys set earlier are visible, so `a: $a` refers to the environment.
 * - An environment value is itself parsed as a configuration value, so
 *   `PORT=4222` gives an integer and `X='$Y'` refers on to `$Y`. A variable
 *   whose expansion comes back to itself is an error, not a hang.
 * - `$2a$...` (bcrypt hashes, also `$2b$`/`$2y$`) are strings, not references.
 * - `include file` parses the file (relative to the including file's folder,
 *   or the working directory for text with no file) in a fresh variable scope
 *   and merges its keys into the map where the directive stands. Include
 *   cycles are an error.
 *
 * Every node keeps where it came from; a value obtained through a variable
 * carries the position of the reference, which is where a type error about it
 * is worth pointing.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ConfigError, PSEUDO_FILE, type SourcePos } from './errors.js';
import { BOOL_WORDS, tokenize, tokenizeValue, type Token } from './lexer.js';
import { parseSizedInteger } from './sizes.js';
import { markVariableKeys } from './variable-keys.js';

interface NodeBase {
  readonly pos: SourcePos;
  /** Set when the value was reached through `$name`: that name. */
  readonly variable?: string;
}

export interface ConfString extends NodeBase {
  readonly kind: 'string';
  readonly value: string;
}
export interface ConfInteger extends NodeBase {
  readonly kind: 'integer';
  readonly value: number;
  /** Source text, e.g. `10Gi`. */
  readonly raw: string;
}
export interface ConfFloat extends NodeBase {
  readonly kind: 'float';
  readonly value: number;
}
export interface ConfBool extends NodeBase {
  readonly kind: 'bool';
  readonly value: boolean;
}
export interface ConfDatetime extends NodeBase {
  readonly kind: 'datetime';
  readonly value: Date;
}
export interface ConfArray extends NodeBase {
  readonly kind: 'array';
  readonly items: ConfNode[];
}
export interface ConfMap extends NodeBase {
  readonly kind: 'map';
  /** Keys in first-seen order; a repeated key replaces the earlier value. */
  readonly entries: Map<string, ConfEntry>;
}
export type ConfScalar = ConfString | ConfInteger | ConfFloat | ConfBool | ConfDatetime;
export type ConfNode = ConfScalar | ConfArray | ConfMap;

export interface ConfEntry {
  readonly key: string;
  readonly keyPos: SourcePos;
  readonly value: ConfNode;
  /**
   * True once some `$key` reference resolved to this entry. nats-server does
   * not report such keys as unknown fields: they are variable definitions.
   */
  usedAsVariable: boolean;
}

/** A configuration value with positions stripped. */
export type ConfigValue = string | number | boolean | Date | ConfigValue[] | ConfigObject;
export interface ConfigObject {
  [key: string]: ConfigValue;
}

export interface ParseOptions {
  /** Where `$NAME` falls back to; defaults to process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Parses configuration text; `file` names it in positions and anchors includes. */
export function parseConfig(text: string, file: string = PSEUDO_FILE, options: ParseOptions = {}): ConfMap {
  const shared = newShared(options);
  if (file !== PSEUDO_FILE) shared.includeChain.push(path.resolve(file));
  return parseDocument(text, file, shared);
}

/** Reads and parses a configuration file. */
export function parseConfigFile(file: string, options: ParseOptions = {}): ConfMap {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError({ file, line: 0, col: 0 }, `error opening config file: ${errorText(err)}`);
  }
  return parseConfig(text, file, options);
}

/** The plain JavaScript value of a node. */
export function toPlain(node: ConfNode): ConfigValue {
  switch (node.kind) {
    case 'array':
      return node.items.map(toPlain);
    case 'map':
      return mapToPlain(node);
    default:
      return node.value;
  }
}

/** The plain object of a map node. */
export function mapToPlain(node: ConfMap): ConfigObject {
  // fromEntries defines own properties, so a key such as "__proto__" stays data.
  const obj = Object.fromEntries([...node.entries].map(([k, e]) => [k, toPlain(e.value)])) as ConfigObject;
  markVariableKeys(obj, [...node.entries].filter(([, e]) => e.usedAsVariable).map(([k]) => k));
  return obj;
}

// ---------------------------------------------------------------------------

interface Shared {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Absolute paths of the files being parsed, outermost first. */
  readonly includeChain: string[];
  /** Environment variables being expanded, to catch reference cycles. */
  readonly expanding: string[];
}

function newShared(options: ParseOptions): Shared {
  return { env: options.env ?? process.env, includeChain: [], expanding: [] };
}

function parseDocument(text: string, file: string, shared: Shared): ConfMap {
  const parser = new Parser(tokenize(text, file), file, shared);
  return parser.document();
}

type Scope = ConfMap | ConfArray;

class Parser {
  private next = 0;
  /** Open maps and arrays, outermost first; maps are variable scopes. */
  private readonly scopes: Scope[] = [];

  constructor(
    private readonly tokens: readonly Token[],
    private readonly file: string,
    private readonly shared: Shared,
  ) {}

  document(): ConfMap {
    const root: ConfMap = { kind: 'map', entries: new Map(), pos: { file: this.file, line: 1, col: 1 } };
    this.scopes.push(root);
    this.entries(root);
    this.scopes.pop();
    return root;
  }

  /** A single value then the end: the text of an environment variable. */
  singleValue(): ConfNode {
    const node = this.value(this.take());
    this.expect('eof');
    return node;
  }

  private take(): Token {
    const t = this.tokens[this.next];
    if (t === undefined) throw new Error('config parser ran past the end of its tokens');
    this.next++;
    return t;
  }

  private expect(kind: Token['kind']): Token {
    const t = this.take();
    if (t.kind !== kind) throw new ConfigError(t.pos, `unexpected ${t.kind} token, expected ${kind}`);
    return t;
  }

  /** Entries until the end of the document or the map's '}'. */
  private entries(map: ConfMap): void {
    for (;;) {
      const t = this.take();
      switch (t.kind) {
        case 'eof':
        case 'mapEnd':
          return;
        case 'key': {
          const value = this.value(this.take());
          map.entries.set(t.text, { key: t.text, keyPos: t.pos, value, usedAsVariable: false });
          break;
        }
        case 'include':
          this.include(t, map);
          break;
        default:
          throw new ConfigError(t.pos, `unexpected ${t.kind} where a key was expected`);
      }
    }
  }

  private value(t: Token): ConfNode {
    const pos = t.pos;
    switch (t.kind) {
      case 'string':
        return { kind: 'string', value: t.text, pos };
      case 'bool': {
        const b = BOOL_WORDS.get(t.text.toLowerCase());
        if (b === undefined) throw new ConfigError(pos, `expected boolean value, but got '${t.text}'`);
        return { kind: 'bool', value: b, pos };
      }
      case 'integer': {
        const r = parseSizedInteger(t.text);
        if (!r.ok) throw new ConfigError(pos, r.problem);
        return { kind: 'integer', value: r.value, raw: t.text, pos };
      }
      case 'float': {
        const f = Number(t.text);
        if (!Number.isFinite(f)) throw new ConfigError(pos, `float '${t.text}' is out of the range`);
        return { kind: 'float', value: f, pos };
      }
      case 'datetime':
        return { kind: 'datetime', value: parseZulu(t), pos };
      case 'arrayStart':
        return this.array(pos);
      case 'mapStart': {
        const map: ConfMap = { kind: 'map', entries: new Map(), pos };
        this.scopes.push(map);
        this.entries(map);
        this.scopes.pop();
        return map;
      }
      case 'variable':
        return this.variable(t);
      default:
        throw new ConfigError(pos, `unexpected ${t.kind} where a value was expected`);
    }
  }

  private array(pos: SourcePos): ConfArray {
    const arr: ConfArray = { kind: 'array', items: [], pos };
    this.scopes.push(arr);
    for (let t = this.take(); t.kind !== 'arrayEnd'; t = this.take()) arr.items.push(this.value(t));
    this.scopes.pop();
    return arr;
  }

  private variable(t: Token): ConfNode {
    const name = t.text;
    // A bcrypt hash written unquoted looks like a reference; it never is one.
    if (/^2[aby]\$/.test(name)) return { kind: 'string', value: `$${name}`, pos: t.pos };

    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const scope = this.scopes[i];
      if (scope.kind !== 'map') continue;
      const entry = scope.entries.get(name);
      if (entry !== undefined) {
        entry.usedAsVariable = true;
        return { ...entry.value, pos: t.pos, variable: name };
      }
    }

    const { env, expanding } = this.shared;
    if (expanding.includes(name)) {
      const chain = [...expanding.slice(expanding.indexOf(name)), name].map((n) => `$${n}`).join(' -> ');
      throw new ConfigError(t.pos, `variable reference cycle for '${name}' (${chain})`);
    }
    const raw = Object.prototype.hasOwnProperty.call(env, name) ? env[name] : undefined;
    if (raw === undefined) {
      throw new ConfigError(
        t.pos,
        `variable reference for '${name}' can not be found: not defined earlier in scope nor in the environment`,
      );
    }
    expanding.push(name);
    try {
      return { ...this.environmentValue(name, raw), pos: t.pos, variable: name };
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      // Keep the innermost problem's own text; the chain of references is
      // what the operator needs to follow it back to this file.
      throw new ConfigError(t.pos, `variable reference for '${name}' could not be parsed: ${err.firstLine()}`);
    } finally {
      expanding.pop();
    }
  }

  private environmentValue(name: string, raw: string): ConfNode {
    const pos: SourcePos = { file: `env:${name}`, line: 1, col: 1 };
    // An empty variable is an empty string, as `key =` at the end of input is
    // for nats-server.
    if (raw.trim() === '') return { kind: 'string', value: '', pos };
    const sub = new Parser(tokenizeValue(raw, pos.file), pos.file, this.shared);
    return sub.singleValue();
  }

  private include(t: Token, map: ConfMap): void {
    const base = this.file === PSEUDO_FILE || this.file.startsWith('env:') ? '' : path.dirname(this.file);
    // nats-server joins even absolute names onto the folder; an absolute
    // name meaning that file is what anyone writing one expects.
    const file = path.isAbsolute(t.text) ? t.text : path.join(base, t.text);
    const absolute = path.resolve(file);
    const chain = this.shared.includeChain;
    if (chain.includes(absolute)) {
      const names = [...chain.slice(chain.indexOf(absolute)), absolute].join(' -> ');
      throw new ConfigError(t.pos, `include cycle: ${names}`);
    }
    let text: string;
    try {
      text = readFileSync(absolute, 'utf8');
    } catch (err) {
      throw new ConfigError(t.pos, `error opening include file '${t.text}': ${errorText(err)}`);
    }
    chain.push(absolute);
    let included: ConfMap;
    try {
      included = parseDocument(text, file, this.shared);
    } finally {
      chain.pop();
    }
    for (const [key, entry] of included.entries) map.entries.set(key, entry);
  }
}

/** `YYYY-MM-DDTHH:MM:SSZ` with every field in its range. */
function parseZulu(t: Token): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/.exec(t.text);
  const bad = (): ConfigError => new ConfigError(t.pos, `expected Zulu formatted DateTime, but got '${t.text}'`);
  if (m === null) throw bad();
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  if (mo < 1 || mo > 12 || h > 23 || mi > 59 || s > 59) throw bad();
  // setUTCFullYear rather than Date.UTC, which maps years 0-99 to 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, 0);
  // Dates roll over (2023-02-30 becomes March 2nd); such a date is invalid.
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) throw bad();
  return date;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
