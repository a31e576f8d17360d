/** The logger contract every subsystem writes to; see log/ for implementations. */
export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  fatal(msg: string): void;
  debug(msg: string): void;
  trace(msg: string): void;
  /** True when debug lines would be written; lets callers skip building them. */
  readonly debugEnabled: boolean;
  /** True when protocol trace lines would be written. */
  readonly traceEnabled: boolean;
}
