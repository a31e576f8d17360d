/** A logger for tests: keeps every line the server logs, for assertions on its wording. */
import type { Logger } from '../../src/index.js';

export class LogCapture implements Logger {
  /** Every line so far, as `[INF] message` (levels INF, WRN, ERR, FTL, DBG, TRC). */
  readonly lines: string[] = [];
  readonly debugEnabled: boolean;
  readonly traceEnabled: boolean;
  private readonly waiters: Array<{ re: RegExp; resolve: (line: string) => void }> = [];

  /** Debug and trace lines are kept only when enabled, as a real logger prints them. */
  constructor(opts: { debug?: boolean; trace?: boolean } = {}) {
    this.debugEnabled = opts.debug ?? false;
    this.traceEnabled = opts.trace ?? false;
  }

  info(m: string): void { this.add('INF', m); }
  warn(m: string): void { this.add('WRN', m); }
  error(m: string): void { this.add('ERR', m); }
  fatal(m: string): void { this.add('FTL', m); }
  debug(m: string): void { if (this.debugEnabled) this.add('DBG', m); }
  trace(m: string): void { if (this.traceEnabled) this.add('TRC', m); }

  has(re: RegExp): boolean {
    return this.lines.some((l) => re.test(l));
  }

  text(): string {
    return this.lines.join('\n');
  }

  /** Resolves with the first line (already logged or to come) matching `re`; rejects after `ms`. */
  waitFor(re: RegExp, ms = 3000): Promise<string> {
    const seen = this.lines.find((l) => re.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { re, resolve: (l: string): void => { clearTimeout(t); resolve(l); } };
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`no log line matching ${re} within ${ms}ms; lines:\n${this.text()}`));
      }, ms);
      this.waiters.push(w);
    });
  }

  private add(level: string, m: string): void {
    const line = `[${level}] ${m}`;
    this.lines.push(line);
    for (const w of [...this.waiters]) {
      if (w.re.test(line)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  }
}
