/**
 * The command line of one `natter auth` command, parsed against that
 * command's flag table, in the GNU style nsc uses:
 *
 * - `--name value`, `--name=value`, `-n value`; booleans take no separate
 *   value (`--bearer`, `--bearer=false`);
 * - flags marked `optionalValue` take a value only in the `--flag=value`
 *   form (`--allow-pub-response` or `--allow-pub-response=5`);
 * - repeatable flags collect every occurrence, and a value may list several
 *   items separated by commas (`--allow-pub a,b`), as nsc allows;
 * - anything else that does not start with `-` is a positional argument,
 *   and `--` ends the flags.
 *
 * An unknown flag, a missing value or a non-boolean given to a boolean is an
 * error naming the flag, so a typo never silently changes what is created.
 */
import { AuthCliError } from './errors.js';

export type FlagKind = 'string' | 'boolean' | 'list';

export interface FlagSpec {
  readonly kind: FlagKind;
  /** One-letter alias, without the dash. */
  readonly short?: string;
  /** Other long names for the same flag. */
  readonly aliases?: readonly string[];
  /** For 'string' flags: the value may be left out (only `--flag=value` gives one). */
  readonly optionalValue?: boolean;
  readonly help: string;
}

export type FlagTable = Readonly<Record<string, FlagSpec>>;

export interface ParsedArgs {
  readonly positionals: readonly string[];
  /** Set flags by canonical name; lists hold every item, strings the last value ('' for a bare optional-value flag). */
  readonly values: ReadonlyMap<string, string | boolean | readonly string[]>;
}

function lookup(table: FlagTable, name: string, isShort: boolean): [string, FlagSpec] | null {
  for (const [canonical, spec] of Object.entries(table)) {
    if (isShort ? spec.short === name : canonical === name || (spec.aliases ?? []).includes(name)) return [canonical, spec];
  }
  return null;
}

function parseBool(flag: string, v: string): boolean {
  if (/^(true|t|1|yes)$/i.test(v)) return true;
  if (/^(false|f|0|no)$/i.test(v)) return false;
  throw new AuthCliError(`invalid value ${JSON.stringify(v)} for boolean flag --${flag}`);
}

export function parseArgs(argv: readonly string[], table: FlagTable): ParsedArgs {
  const positionals: string[] = [];
  const values = new Map<string, string | boolean | readonly string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const isShort = !arg.startsWith('--');
    const body = arg.slice(isShort ? 1 : 2);
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? null : body.slice(eq + 1);
    const found = lookup(table, name, isShort);
    if (found === null) throw new AuthCliError(`unknown flag ${isShort ? '-' : '--'}${name}`);
    const [canonical, spec] = found;
    if (spec.kind === 'boolean') {
      values.set(canonical, inline === null ? true : parseBool(canonical, inline));
      continue;
    }
    let value: string;
    if (inline !== null) value = inline;
    else if (spec.optionalValue === true) value = '';
    else {
      if (i + 1 >= argv.length) throw new AuthCliError(`flag --${canonical} needs a value`);
      value = argv[++i];
    }
    if (spec.kind === 'list') {
      const prev = values.get(canonical);
      const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
      if (items.length === 0) throw new AuthCliError(`flag --${canonical} needs a value`);
      values.set(canonical, [...(Array.isArray(prev) ? (prev as readonly string[]) : []), ...items]);
    } else {
      values.set(canonical, value);
    }
  }
  return { positionals, values };
}

/** Typed reads of a ParsedArgs. */
export class Args {
  constructor(private readonly parsed: ParsedArgs) {}

  get positionals(): readonly string[] {
    return this.parsed.positionals;
  }

  has(flag: string): boolean {
    return this.parsed.values.has(flag);
  }

  string(flag: string): string | undefined {
    const v = this.parsed.values.get(flag);
    return typeof v === 'string' ? v : undefined;
  }

  bool(flag: string): boolean {
    return this.parsed.values.get(flag) === true;
  }

  /** A boolean flag's value when given, else undefined (to tell `--x=false` from absent). */
  optionalBool(flag: string): boolean | undefined {
    const v = this.parsed.values.get(flag);
    return typeof v === 'boolean' ? v : undefined;
  }

  list(flag: string): readonly string[] {
    const v = this.parsed.values.get(flag);
    return Array.isArray(v) ? (v as readonly string[]) : [];
  }

  /** The flag's value, or the single positional argument, else an error naming the flag. */
  nameFrom(flag: string, what: string): string {
    const v = this.string(flag);
    if (v !== undefined && v !== '') return v;
    if (this.positionals.length === 1) return this.positionals[0];
    if (this.positionals.length > 1) throw new AuthCliError(`unexpected arguments: ${this.positionals.slice(1).join(' ')}`);
    throw new AuthCliError(`${what} name is required (--${flag})`);
  }

  /** Refuses positional arguments a command does not take. */
  noPositionals(): void {
    if (this.positionals.length > 0) throw new AuthCliError(`unexpected arguments: ${this.positionals.join(' ')}`);
  }
}

/** A usage block for a flag table, one flag a line. */
export function flagHelp(table: FlagTable): string {
  return Object.entries(table)
    .map(([name, s]) => {
      const short = s.short !== undefined ? `-${s.short}, ` : '    ';
      const value = s.kind === 'boolean' ? '' : s.optionalValue === true ? '[=value]' : ' value';
      return `  ${short}--${name}${value}`.padEnd(40) + s.help;
    })
    .join('\n');
}
