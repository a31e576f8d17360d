/**
 * Errors and source positions for the configuration file format.
 *
 * Every problem found in a configuration names the place it comes from, in
 * the `<file>:<line>:<col>: <problem>` shape nats-server uses, so operators can
 * jump straight to it. Lines and columns are 1-based (nats-server's columns
 * are 0-based on the first line and 1-based after it; we do not copy that).
 */

/** The name used for configuration text that did not come from a file. */
export const PSEUDO_FILE = '<string>';

/** Where a key or value starts in its source. */
export interface SourcePos {
  readonly file: string;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column, counted in UTF-16 code units (a tab counts as one). */
  readonly col: number;
}

export function formatPos(pos: SourcePos): string {
  return `${pos.file}:${pos.line}:${pos.col}`;
}

/**
 * A configuration problem with its position. When several problems are found
 * at once (the options mapping reports them all, as nats-server does), the
 * thrown error is the first one in source order and `errors` lists them all;
 * its message then has one line per problem.
 */
export class ConfigError extends Error {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** The problem without its position prefix. */
  readonly problem: string;
  /** All problems reported together with this one, this one first. */
  readonly errors: readonly ConfigError[];

  constructor(pos: SourcePos, problem: string, others: readonly ConfigError[] = []) {
    const lines = [`${formatPos(pos)}: ${problem}`, ...others.map((e) => e.firstLine())];
    super(lines.join('\n'));
    this.name = 'ConfigError';
    this.file = pos.file;
    this.line = pos.line;
    this.col = pos.col;
    this.problem = problem;
    this.errors = [this, ...others];
  }

  get pos(): SourcePos {
    return { file: this.file, line: this.line, col: this.col };
  }

  /** This error's own `<file>:<line>:<col>: <problem>` line. */
  firstLine(): string {
    return `${formatPos(this.pos)}: ${this.problem}`;
  }

  /**
   * One error standing for a non-empty list. The list is kept in the order
   * given: callers walk the configuration in source order, which is the most
   * useful order to read problems in (across include files too).
   */
  static combine(list: readonly ConfigError[]): ConfigError {
    if (list.length === 0) throw new RangeError('ConfigError.combine needs at least one error');
    const [first, ...rest] = list;
    if (rest.length === 0) return first;
    return new ConfigError(first.pos, first.problem, rest);
  }
}
