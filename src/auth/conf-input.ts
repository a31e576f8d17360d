/**
 * One view over the two shapes security settings arrive in, so the parsers in
 * src/auth and src/accounts are written once:
 *
 * - the configuration tree (ConfNode from src/config/parser.ts), which knows
 *   where every value came from and which keys are `$variable` definitions;
 * - plain JavaScript values (the blocks ServerOptions keeps, or what an
 *   embedder passes), which know neither.
 *
 * Problems are collected rather than thrown one at a time, like nats-server's
 * `-t` which lists them all. When every problem has a source position they are
 * thrown as one ConfigError (`file:line:col: problem` lines, as the config
 * loader does); otherwise as a SecurityConfigError whose lines start with the
 * path of the offending value (`authorization.users[2].permissions`).
 */
import { ConfigError, formatPos, type SourcePos } from '../config/errors.js';
import type { ConfEntry, ConfNode } from '../config/parser.js';
import { isSecretConfigKey } from '../log/redact.js';
import { isVariableKey } from '../config/variable-keys.js';

interface NodeBase {
  /** Where the value starts, when it came from a configuration file. */
  readonly pos: SourcePos | null;
  /** Dotted path from the top of the configuration, for messages. */
  readonly path: string;
}

export interface InString extends NodeBase { readonly kind: 'string'; readonly value: string }
export interface InInteger extends NodeBase { readonly kind: 'integer'; readonly value: number }
export interface InFloat extends NodeBase { readonly kind: 'float'; readonly value: number }
export interface InBool extends NodeBase { readonly kind: 'bool'; readonly value: boolean }
export interface InDatetime extends NodeBase { readonly kind: 'datetime'; readonly value: Date }
/** A plain value no configuration file can produce (null, undefined, a function...). */
export interface InOther extends NodeBase { readonly kind: 'other'; readonly value: string }
export interface InArray extends NodeBase { readonly kind: 'array'; readonly items: readonly InNode[] }
export interface InMap extends NodeBase { readonly kind: 'map'; readonly entries: readonly InEntry[] }

export type InNode = InString | InInteger | InFloat | InBool | InDatetime | InOther | InArray | InMap;

export interface InEntry {
  readonly key: string;
  readonly keyPos: SourcePos | null;
  readonly value: InNode;
  /**
   * A key some `$name` reference used: nats-server does not report such keys
   * as unknown fields, they are variable definitions. Plain values carry
   * it as a hidden mark (config/variable-keys.ts).
   */
  readonly usedAsVariable: boolean;
}

/** What the security parsers accept for one block. */
export type SecurityInput = ConfNode | unknown;

/** Wraps a configuration tree node. */
export function fromConf(node: ConfNode, path: string): InNode {
  const pos = node.pos;
  switch (node.kind) {
    case 'string':
      return { kind: 'string', value: node.value, pos, path };
    case 'integer':
      return { kind: 'integer', value: node.value, pos, path };
    case 'float':
      return { kind: 'float', value: node.value, pos, path };
    case 'bool':
      return { kind: 'bool', value: node.value, pos, path };
    case 'datetime':
      return { kind: 'datetime', value: node.value, pos, path };
    case 'array':
      return { kind: 'array', items: node.items.map((n, i) => fromConf(n, `${path}[${i}]`)), pos, path };
    case 'map':
      return { kind: 'map', entries: [...node.entries.values()].map((e) => confEntry(e, path)), pos, path };
  }
}

function confEntry(e: ConfEntry, parent: string): InEntry {
  return { key: e.key, keyPos: e.keyPos, value: fromConf(e.value, join(parent, e.key)), usedAsVariable: e.usedAsVariable };
}

/** Wraps a plain JavaScript value. */
export function fromPlain(value: unknown, path: string): InNode {
  const base = { pos: null, path };
  if (typeof value === 'string') return { kind: 'string', value, ...base };
  if (typeof value === 'number') {
    return Number.isInteger(value) ? { kind: 'integer', value, ...base } : { kind: 'float', value, ...base };
  }
  if (typeof value === 'boolean') return { kind: 'bool', value, ...base };
  if (value instanceof Date) return { kind: 'datetime', value, ...base };
  if (Array.isArray(value)) {
    return { kind: 'array', items: value.map((v: unknown, i) => fromPlain(v, `${path}[${i}]`)), ...base };
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).map(([key, v]): InEntry => ({
      key,
      keyPos: null,
      value: fromPlain(v, join(path, key)),
      usedAsVariable: isVariableKey(value, key),
    }));
    return { kind: 'map', entries, ...base };
  }
  return { kind: 'other', value: String(value), ...base };
}

/** Wraps either shape; a ConfNode is recognised by its `kind` and `pos`. */
export function toInNode(value: SecurityInput, path: string): InNode {
  return isConfNode(value) ? fromConf(value, path) : fromPlain(value, path);
}

function isConfNode(v: unknown): v is ConfNode {
  if (v === null || typeof v !== 'object') return false;
  const o = v as { kind?: unknown; pos?: unknown };
  return typeof o.kind === 'string' && o.pos !== null && typeof o.pos === 'object';
}

function join(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

/** A short description of a value for messages: `string "x"`, `integer 5`, `a map`. */
export function describe(n: InNode): string {
  switch (n.kind) {
    case 'string':
      return `string ${JSON.stringify(n.value)}`;
    case 'integer':
      return `integer ${n.value}`;
    case 'float':
      return `float ${n.value}`;
    case 'bool':
      return `boolean ${n.value}`;
    case 'datetime':
      return `datetime ${n.value.toISOString()}`;
    case 'other':
      return n.value;
    case 'array':
      return 'an array';
    case 'map':
      return 'a map';
  }
}

/** What kind of value a node holds, without the value. */
const KIND_ONLY: Readonly<Record<InNode['kind'], string>> = {
  string: 'a string', integer: 'an integer', float: 'a float', bool: 'a boolean',
  datetime: 'a datetime', other: 'a value', array: 'an array', map: 'a map',
};

/** describe() for the value of `key`, naming only its kind when it is a credential: messages are printed. */
function describeValueOf(key: string, n: InNode): string {
  return isSecretConfigKey(key) ? KIND_ONLY[n.kind] : describe(n);
}

// ---------------------------------------------------------------------------

export interface Problem {
  readonly pos: SourcePos | null;
  readonly path: string;
  readonly problem: string;
}

function problemLine(p: Problem): string {
  return p.pos !== null ? `${formatPos(p.pos)}: ${p.problem}` : `${p.path}: ${p.problem}`;
}

/** Security configuration problems found in values without source positions. */
export class SecurityConfigError extends Error {
  readonly problems: readonly Problem[];

  constructor(problems: readonly Problem[]) {
    super(problems.map(problemLine).join('\n'));
    this.name = 'SecurityConfigError';
    this.problems = problems;
  }
}

/** Collects problems while a configuration is walked. */
export class Problems {
  readonly list: Problem[] = [];

  /** A problem with a value (or map entry, pointing at its key). */
  add(at: InNode | InEntry, problem: string): void {
    if ('kind' in at) this.list.push({ pos: at.pos, path: at.path, problem });
    else this.list.push({ pos: at.keyPos, path: at.value.path, problem });
  }

  /** Throws everything collected, if anything was. */
  throwIfAny(): void {
    if (this.list.length === 0) return;
    if (this.list.every((p) => p.pos !== null)) {
      throw ConfigError.combine(this.list.map((p) => new ConfigError(p.pos as SourcePos, p.problem)));
    }
    throw new SecurityConfigError(this.list);
  }

  // ---- typed readers: undefined after recording a problem ------------------

  string(e: InEntry): string | undefined {
    if (e.value.kind === 'string') return e.value.value;
    this.add(e.value, `${e.key} must be a string, got ${describeValueOf(e.key, e.value)}`);
    return undefined;
  }

  bool(e: InEntry): boolean | undefined {
    if (e.value.kind === 'bool') return e.value.value;
    this.add(e.value, `${e.key} must be a boolean, got ${describeValueOf(e.key, e.value)}`);
    return undefined;
  }

  integer(e: InEntry): number | undefined {
    if (e.value.kind === 'integer') return e.value.value;
    this.add(e.value, `${e.key} must be an integer, got ${describeValueOf(e.key, e.value)}`);
    return undefined;
  }

  /** An unknown key, unless it is a variable definition (nats-server's rule). */
  unknownField(e: InEntry): void {
    if (!e.usedAsVariable) this.add(e, `unknown field "${e.key}"`);
  }
}
