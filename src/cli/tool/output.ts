/**
 * What the tool prints. Colour only when stdout is a terminal (and NO_COLOR
 * is unset), so pipes and scripts get plain text; `--json` output is one
 * JSON document written as it is.
 */
import type { Writable } from 'node:stream';

export interface OutputStreams {
  readonly stdout: Writable & { isTTY?: boolean };
  readonly stderr: Writable;
}

export class ToolOutput {
  private readonly colour: boolean;

  constructor(private readonly streams: OutputStreams = { stdout: process.stdout, stderr: process.stderr }) {
    this.colour = streams.stdout.isTTY === true && process.env.NO_COLOR === undefined;
  }

  write(text: string | Uint8Array): void {
    this.streams.stdout.write(text);
  }

  line(text = ''): void {
    this.streams.stdout.write(`${text}\n`);
  }

  /** A note for the user that is not the command's output (stderr). */
  note(text: string): void {
    this.streams.stderr.write(`${text}\n`);
  }

  json(value: unknown): void {
    this.line(JSON.stringify(value, null, 2));
  }

  bold(text: string): string {
    return this.colour ? `\x1b[1m${text}\x1b[0m` : text;
  }

  green(text: string): string {
    return this.colour ? `\x1b[32m${text}\x1b[0m` : text;
  }

  yellow(text: string): string {
    return this.colour ? `\x1b[33m${text}\x1b[0m` : text;
  }

  red(text: string): string {
    return this.colour ? `\x1b[31m${text}\x1b[0m` : text;
  }

  /** A table with a header row and columns padded to their widest cell. */
  table(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): void {
    const cells = rows.map((r) => r.map(String));
    const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
    const format = (r: readonly string[]): string =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
        .join('  ')
        .trimEnd();
    this.line(this.bold(format(headers)));
    for (const r of cells) this.line(format(r));
  }

  /** Label/value lines, labels right-aligned as natscli's info views. */
  fields(pairs: ReadonlyArray<readonly [string, string | number | boolean | undefined]>): void {
    const shown = pairs.filter(([, v]) => v !== undefined && v !== '');
    const width = Math.max(0, ...shown.map(([k]) => k.length));
    for (const [k, v] of shown) this.line(`${k.padStart(width)}: ${String(v)}`);
  }
}

/** A byte count the way people read it (1.2 KiB). */
export function humanBytes(n: number): string {
  if (n < 0) return 'unlimited';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** Nanoseconds as a Go-style duration (1m30s, 250ms), `0` as "forever" where that is what it means. */
export function nanosText(ns: number, zero = '0s'): string {
  if (ns === 0) return zero;
  const ms = ns / 1e6;
  if (ms < 1000) return `${Number(ms.toFixed(3))}ms`;
  let s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s || (!h && !m) ? `${s}s` : ''}`;
}
