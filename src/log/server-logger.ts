/**
 * The server's logger. Lines look exactly like nats-server's so that existing
 * log tooling (grep patterns, log shippers, test harnesses that wait for
 * "Server is ready") works unchanged:
 *
 *   [1234] 2024/01/02 15:04:05.123456 [INF] Listening for client connections on 0.0.0.0:4222
 *   [1234] [INF] ...                        (logtime off)
 *
 * Output goes to stderr, or appended to `log_file`. Lines are batched and
 * written once per event-loop turn so that tracing a busy connection costs a
 * string append rather than a syscall per line; anything that must not be lost
 * (fatal, close, process exit) flushes synchronously.
 */
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Logger } from './logger.js';
import { describeSystemError } from './errno.js';
import { redactText } from './redact.js';

export interface LoggerOptions {
  debug: boolean;
  trace: boolean;
  logtime: boolean;
  logtime_utc: boolean;
  /** Append to this file instead of writing to stderr. */
  log_file?: string;
  /** Bytes after which the log file is rotated (0/undefined: never). */
  log_size_limit?: number;
  /** Process id shown in the `[pid]` prefix; defaults to this process. */
  pid?: number;
  /**
   * Colour the level labels. Defaults, like nats-server, to "stderr is a
   * terminal"; file output is never coloured.
   */
  colors?: boolean;
}

export interface ServerLogger extends Logger {
  /** Re-open the log file after an external rotation (SIGUSR1, `--signal reopen`). */
  reopen(): void;
  /** Flush and release the log file; later lines are dropped. */
  close(): void;
  /** Change the debug/trace switches (config reload). */
  setLevels(debug: boolean, trace: boolean): void;
  /** Apply a new set of logging options (config reload): levels, time, file. */
  reconfigure(opts: LoggerOptions): void;
  /** Write out buffered lines now. */
  flush(): void;
}

type Level = 'INF' | 'WRN' | 'ERR' | 'FTL' | 'DBG' | 'TRC';

const PLAIN: Readonly<Record<Level, string>> = {
  INF: '[INF] ',
  WRN: '[WRN] ',
  ERR: '[ERR] ',
  FTL: '[FTL] ',
  DBG: '[DBG] ',
  TRC: '[TRC] ',
};

// ANSI colours nats-server uses for its labels on a terminal.
function coloured(code: string, name: Level): string {
  return `[\x1b[${code}m${name}\x1b[0m] `;
}
const COLOURED: Readonly<Record<Level, string>> = {
  INF: coloured('32', 'INF'),
  WRN: coloured('0;93', 'WRN'),
  ERR: coloured('31', 'ERR'),
  FTL: coloured('31', 'FTL'),
  DBG: coloured('36', 'DBG'),
  TRC: coloured('33', 'TRC'),
};

/** Above this much buffered text we write immediately rather than wait for the tick. */
const MAX_PENDING_CHARS = 64 * 1024;

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/**
 * Wall-clock time with microseconds. Date only has milliseconds, so the
 * sub-millisecond part comes from the high-resolution clock, re-anchored to
 * the wall clock whenever the two drift apart (NTP steps, suspend).
 */
class MicroClock {
  // Date.now() is truncated to the millisecond, so +0.5 centres the estimate.
  private offset = Date.now() + 0.5 - (performance.timeOrigin + performance.now());

  nowMicros(): number {
    const wall = Date.now();
    let t = performance.timeOrigin + performance.now() + this.offset;
    // Within a millisecond either way is read jitter; beyond that the wall
    // clock moved under us.
    if (t < wall - 1 || t > wall + 2) {
      this.offset = wall + 0.5 - (performance.timeOrigin + performance.now());
      t = wall + 0.5;
    }
    return Math.floor(t * 1000);
  }
}

/**
 * Formats `2006/01/02 15:04:05.000000 `; the date-and-seconds part is cached
 * because consecutive lines almost always fall in the same second.
 */
class TimeFormatter {
  private cachedSecond = -1;
  private cachedText = '';
  private readonly clock = new MicroClock();

  constructor(private utc: boolean) {}

  setUtc(utc: boolean): void {
    if (utc !== this.utc) {
      this.utc = utc;
      this.cachedSecond = -1;
    }
  }

  stamp(): string {
    const us = this.clock.nowMicros();
    const second = Math.floor(us / 1_000_000);
    if (second !== this.cachedSecond) {
      this.cachedSecond = second;
      this.cachedText = formatSecond(new Date(second * 1000), this.utc);
    }
    return `${this.cachedText}.${pad(us - second * 1_000_000, 6)} `;
  }
}

function formatSecond(d: Date, utc: boolean): string {
  if (utc) {
    return `${d.getUTCFullYear()}/${pad2(d.getUTCMonth() + 1)}/${pad2(d.getUTCDate())} ` +
      `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
  }
  return `${d.getFullYear()}/${pad2(d.getMonth() + 1)}/${pad2(d.getDate())} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/**
 * Name of a rotated log: `<file>.YYYY.MM.DD.hh.mm.ss.nnnnnnnnn` in local time,
 * the scheme nats-server uses, so rotated-file clean-up scripts match both.
 */
export function rotatedName(file: string, now: Date = new Date(), nanos?: number): string {
  const second = `${file}.${pad(now.getFullYear(), 4)}.${pad2(now.getMonth() + 1)}.${pad2(now.getDate())}.` +
    `${pad2(now.getHours())}.${pad2(now.getMinutes())}.${pad2(now.getSeconds())}`;
  let ns = nanos ?? now.getMilliseconds() * 1_000_000 + Number(process.hrtime.bigint() % 1_000_000n);
  if (nanos === undefined && second === lastRotation.second && ns <= lastRotation.ns) {
    // The sub-millisecond digits come from a clock that wraps: within one millisecond they
    // can go backwards, and rotated names must sort in the order the files were made.
    ns = Math.min(lastRotation.ns + 1, 999_999_999);
  }
  if (nanos === undefined) lastRotation = { second, ns };
  return `${second}.${pad(ns, 9)}`;
}

/** The last generated rotation name's second and nanoseconds, to keep names increasing. */
let lastRotation = { second: '', ns: 0 };

function openAppend(path: string): { fd: number; size: number } {
  let fd: number;
  try {
    fd = fs.openSync(path, 'a', 0o660);
  } catch (err) {
    throw new Error(`error opening file: ${describeSystemError(err)}`, { cause: err });
  }
  let size = 0;
  try {
    size = fs.fstatSync(fd).size;
  } catch {
    // Size only drives rotation; an unknown size just means rotating later.
  }
  return { fd, size };
}

class LoggerImpl implements ServerLogger {
  private debugOn: boolean;
  private traceOn: boolean;
  private logtime: boolean;
  private readonly time: TimeFormatter;
  private prefix: string;
  private labels: Readonly<Record<Level, string>>;
  private colorsOption: boolean | undefined;

  private file: string | undefined;
  private fd = -1;
  /** Bytes in the current log file, including buffered ones. */
  private fileBytes = 0;
  private limit = 0;

  private pending: string[] = [];
  private pendingChars = 0;
  private scheduled = false;
  private closed = false;
  private readonly onExit = (): void => this.flush();

  constructor(opts: LoggerOptions) {
    this.debugOn = opts.debug;
    this.traceOn = opts.trace;
    this.logtime = opts.logtime;
    this.time = new TimeFormatter(opts.logtime_utc);
    this.prefix = `[${opts.pid ?? process.pid}] `;
    this.colorsOption = opts.colors;
    this.labels = PLAIN;
    this.openDestination(opts.log_file);
    this.setLimit(opts.log_size_limit);
    // Lines buffered when the process exits (process.exit in a signal handler,
    // an uncaught exception) would otherwise be lost.
    process.on('exit', this.onExit);
  }

  get debugEnabled(): boolean {
    return this.debugOn;
  }

  get traceEnabled(): boolean {
    return this.traceOn;
  }

  info(msg: string): void {
    this.log('INF', msg);
  }

  warn(msg: string): void {
    this.log('WRN', msg);
  }

  error(msg: string): void {
    this.log('ERR', msg);
  }

  /**
   * Logs and flushes synchronously. Unlike Go's log.Fatalf this does not end
   * the process: the caller (the command line) owns the exit code and clean-up.
   */
  fatal(msg: string): void {
    this.log('FTL', msg);
    this.flush();
  }

  debug(msg: string): void {
    if (this.debugOn) this.log('DBG', msg);
  }

  trace(msg: string): void {
    if (this.traceOn) this.log('TRC', msg);
  }

  setLevels(debug: boolean, trace: boolean): void {
    this.debugOn = debug;
    this.traceOn = trace;
  }

  reconfigure(opts: LoggerOptions): void {
    if (this.closed) return;
    this.setLevels(opts.debug, opts.trace);
    this.logtime = opts.logtime;
    this.time.setUtc(opts.logtime_utc);
    this.prefix = `[${opts.pid ?? process.pid}] `;
    this.colorsOption = opts.colors;
    if (opts.log_file !== this.file) {
      this.flush();
      // Open the new destination before letting go of the old one so a bad
      // path leaves logging where it was (the error reaches the caller).
      const next = opts.log_file === undefined ? undefined : openAppend(opts.log_file);
      this.closeFile();
      if (next === undefined) {
        this.useStderr();
      } else {
        this.useFile(opts.log_file as string, next.fd, next.size);
      }
    } else {
      this.updateLabels();
    }
    this.setLimit(opts.log_size_limit);
  }

  reopen(): void {
    if (this.closed) return;
    if (this.file === undefined) {
      this.info('File log re-open ignored, not a file logger');
      return;
    }
    this.flush();
    const file = this.file;
    const next = openAppend(file);
    this.closeFile();
    this.useFile(file, next.fd, next.size);
    this.info('File log re-opened');
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const chunk = this.pending.length === 1 ? this.pending[0] : this.pending.join('');
    this.pending = [];
    this.pendingChars = 0;
    this.writeOut(chunk as string);
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.closeFile();
    process.removeListener('exit', this.onExit);
  }

  private log(level: Level, msg: string): void {
    if (this.closed) return;
    const time = this.logtime ? this.time.stamp() : '';
    // Like Go's log package: one trailing newline, not doubled.
    const nl = msg.endsWith('\n') ? '' : '\n';
    // The last net under every line: whatever put a seed or a URL with its password
    // into a message (a config error quoting a route URL, a payload traced with -VV),
    // the log does not keep it. Lines without one come back as they are, uncopied.
    const line = `${this.prefix}${time}${this.labels[level]}${redactText(msg)}${nl}`;
    this.pending.push(line);
    this.pendingChars += line.length;
    if (this.fd >= 0 && this.limit > 0) {
      this.fileBytes += Buffer.byteLength(line);
      // nats-server rotates right after the write that crosses the limit.
      if (this.fileBytes > this.limit) {
        this.flush();
        this.rotate();
        return;
      }
    }
    if (this.pendingChars >= MAX_PENDING_CHARS) {
      this.flush();
    } else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      }).unref();
    }
  }

  private writeOut(chunk: string): void {
    if (this.fd >= 0) {
      try {
        fs.writeSync(this.fd, chunk);
      } catch {
        // A full disk must not take the server down; the lines are lost.
      }
      return;
    }
    // process.stderr writes are synchronous on Linux for files, pipes and TTYs.
    process.stderr.write(chunk);
  }

  private rotate(): void {
    const file = this.file;
    if (file === undefined) return;
    this.closeFile();
    const backup = rotatedName(file);
    try {
      fs.renameSync(file, backup);
    } catch {
      // nats-server ignores a failed rename too: logging continues in place.
    }
    let next: { fd: number; size: number };
    try {
      next = openAppend(file);
    } catch (err) {
      // Nowhere left to write the file log; keep the server's output visible.
      this.useStderr();
      this.error(`Unable to re-open the logfile ${JSON.stringify(file)} after rotation: ${describeSystemError(err)}`);
      return;
    }
    this.useFile(file, next.fd, next.size);
    // Written straight to the new file, CRLF-terminated, as nats-server does.
    const time = this.logtime ? this.time.stamp() : '';
    const line = `${this.prefix}${time}${PLAIN.INF}Rotated log, backup saved as ${JSON.stringify(backup)}\r\n`;
    this.writeOut(line);
    this.fileBytes = Buffer.byteLength(line);
  }

  private setLimit(limit: number | undefined): void {
    this.limit = limit !== undefined && limit > 0 ? limit : 0;
    if (this.fd >= 0 && this.limit > 0 && this.fileBytes > this.limit) {
      // The next line crosses the limit and triggers the rotation.
      this.info('Rotating logfile...');
    }
  }

  private openDestination(file: string | undefined): void {
    if (file === undefined || file === '') {
      this.useStderr();
      return;
    }
    const { fd, size } = openAppend(file);
    this.useFile(file, fd, size);
  }

  private useFile(file: string, fd: number, size: number): void {
    this.file = file;
    this.fd = fd;
    this.fileBytes = size;
    this.updateLabels();
  }

  private useStderr(): void {
    this.file = undefined;
    this.fd = -1;
    this.fileBytes = 0;
    this.updateLabels();
  }

  private updateLabels(): void {
    const colors = this.fd < 0 && (this.colorsOption ?? process.stderr.isTTY === true);
    this.labels = colors ? COLOURED : PLAIN;
  }

  private closeFile(): void {
    if (this.fd < 0) return;
    try {
      fs.closeSync(this.fd);
    } catch {
      // Already gone; nothing to release.
    }
    this.fd = -1;
  }
}

/** A logger writing nats-server-format lines to stderr or `log_file`. Throws if the file cannot be opened. */
export function createLogger(opts: LoggerOptions): ServerLogger {
  return new LoggerImpl(opts);
}
