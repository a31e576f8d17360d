/**
 * Command lines of the `natter` tool, parsed with node:util's parseArgs in
 * strict mode against each command's flag table (plus the connection flags
 * every networked command takes). Flags may appear anywhere, as in natscli;
 * an unknown flag, a missing value or a malformed number is a ToolError that
 * names the flag.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ToolError } from './errors.js';

export type FlagKind = 'string' | 'boolean' | 'list';

export interface FlagSpec {
  readonly kind: FlagKind;
  /** One-letter alias, without the dash. */
  readonly short?: string;
  readonly help: string;
}

export type FlagTable = Readonly<Record<string, FlagSpec>>;

type ParsedValue = string | boolean | Array<string | boolean> | undefined;

/** The parsed flags and positional arguments of one command line. */
export class Flags {
  constructor(
    private readonly values: Readonly<Record<string, ParsedValue>>,
    readonly positionals: readonly string[],
  ) {}

  has(name: string): boolean {
    return this.values[name] !== undefined;
  }

  str(name: string): string | undefined {
    const v = this.values[name];
    return typeof v === 'string' ? v : undefined;
  }

  bool(name: string): boolean {
    return this.values[name] === true;
  }

  list(name: string): string[] {
    const v = this.values[name];
    if (!Array.isArray(v)) return [];
    return v.filter((x): x is string => typeof x === 'string');
  }

  /** An integer flag; `fallback` when it is not given. */
  int(name: string, fallback: number): number {
    const v = this.str(name);
    if (v === undefined) return fallback;
    if (!/^-?\d+$/.test(v)) throw new ToolError(`invalid value ${JSON.stringify(v)} for --${name}: expected an integer`);
    return Number(v);
  }

  /** A Go-style duration flag (`500ms`, `2s`, `1m`; a bare number is seconds), in milliseconds. */
  durationMs(name: string, fallback: number): number {
    const v = this.str(name);
    if (v === undefined) return fallback;
    const ms = parseDurationMs(v);
    if (ms === null) throw new ToolError(`invalid duration ${JSON.stringify(v)} for --${name} (examples: 500ms, 2s, 1m, 1h)`);
    return ms;
  }

  /** A size flag (`1024`, `10KB`, `1.5GB`, `-1` for unlimited), in bytes. */
  bytes(name: string, fallback: number): number {
    const v = this.str(name);
    if (v === undefined) return fallback;
    const n = parseBytes(v);
    if (n === null) throw new ToolError(`invalid size ${JSON.stringify(v)} for --${name} (examples: 1024, 10KB, 1GB, -1)`);
    return n;
  }

  /** The `i`th positional, or a ToolError saying which argument is missing. */
  required(i: number, what: string): string {
    const v = this.positionals[i];
    if (v === undefined || v === '') throw new ToolError(`missing argument: ${what}`);
    return v;
  }
}

const DURATION_UNITS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDurationMs(text: string): number | null {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) return null;
  return parts.reduce((sum, p) => sum + Number(p[1]) * DURATION_UNITS[p[2]], 0);
}

const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, t: 1024 ** 4, tb: 1024 ** 4 };

function parseBytes(text: string): number | null {
  if (text === '-1') return -1;
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text);
  if (!m) return null;
  const unit = SIZE_UNITS[m[2].toLowerCase()];
  return unit === undefined ? null : Math.round(Number(m[1]) * unit);
}

/** Parses `argv` against `table`; unknown flags and missing values are ToolErrors. */
export function parseCommandLine(argv: readonly string[], table: FlagTable): Flags {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, spec] of Object.entries(table)) {
    options[name] = { type: spec.kind === 'boolean' ? 'boolean' : 'string', multiple: spec.kind === 'list', ...(spec.short ? { short: spec.short } : {}) };
  }
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
    return new Flags(values as Record<string, ParsedValue>, positionals);
  } catch (e) {
    throw new ToolError(parseArgsMessage(e));
  }
}

/** parseArgs' messages, shortened to the flag and what is wrong with it. */
function parseArgsMessage(e: unknown): string {
  const err = e as { code?: string; message?: string };
  const flag = /'(-[^' <]+)/.exec(err.message ?? '')?.[1] ?? '';
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown flag ${flag}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /does not take/.test(err.message ?? '') ? `flag ${flag} does not take a value` : `flag ${flag} needs a value`;
    default:
      return err.message ?? String(e);
  }
}

/** Help lines for a flag table, aligned. */
export function flagHelp(table: FlagTable): string {
  const rows = Object.entries(table).map(([name, spec]) => {
    const names = `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.kind === 'boolean' ? '' : '=VALUE'}`;
    return [names, spec.help] as const;
  });
  const width = Math.max(...rows.map(([n]) => n.length));
  return rows.map(([n, h]) => `  ${n.padEnd(width)}  ${h}`).join('\n');
}
