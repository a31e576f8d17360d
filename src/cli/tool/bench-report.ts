/**
 * What `natter bench` measures and how it reports it: per-client counts and
 * times, grouped by role (publishers, subscribers, requesters...), summed
 * into rates; a table for people, `--csv` and `--json` for scripts; a
 * progress line on stderr only when it is a terminal.
 */
import type { ToolOutput } from './output.js';

export interface ClientResult {
  msgs: number;
  bytes: number;
  /** performance.now() of the first and last message. */
  startMs: number;
  endMs: number;
  /** Round-trip times in microseconds, for request/reply style benchmarks. */
  latenciesUs?: number[];
}

export interface LatencySummary {
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface GroupReport {
  role: string;
  clients: number;
  msgs: number;
  bytes: number;
  duration_ms: number;
  msgs_per_sec: number;
  bytes_per_sec: number;
  per_client: Array<{ msgs: number; bytes: number; duration_ms: number; msgs_per_sec: number }>;
  latency_us?: LatencySummary;
}

export interface BenchReport {
  benchmark: string;
  subject: string;
  msg_size: number;
  groups: GroupReport[];
}

function rate(count: number, ms: number): number {
  return ms > 0 ? Math.round((count * 1000) / ms) : count;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function groupReport(role: string, results: readonly ClientResult[]): GroupReport {
  const msgs = results.reduce((s, r) => s + r.msgs, 0);
  const bytes = results.reduce((s, r) => s + r.bytes, 0);
  // The group's time runs from its first client's start to its last client's end, as natscli counts it.
  const duration = results.length === 0 ? 0 : Math.max(...results.map((r) => r.endMs)) - Math.min(...results.map((r) => r.startMs));
  const report: GroupReport = {
    role,
    clients: results.length,
    msgs,
    bytes,
    duration_ms: Number(duration.toFixed(3)),
    msgs_per_sec: rate(msgs, duration),
    bytes_per_sec: rate(bytes, duration),
    per_client: results.map((r) => ({ msgs: r.msgs, bytes: r.bytes, duration_ms: Number((r.endMs - r.startMs).toFixed(3)), msgs_per_sec: rate(r.msgs, r.endMs - r.startMs) })),
  };
  const latencies = results.flatMap((r) => r.latenciesUs ?? []).sort((a, b) => a - b);
  if (latencies.length > 0) {
    report.latency_us = { min: latencies[0], p50: percentile(latencies, 50), p90: percentile(latencies, 90), p99: percentile(latencies, 99), max: latencies[latencies.length - 1] };
  }
  return report;
}

function perSecond(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(2)} MiB/s` : `${(bytes / 1024).toFixed(2)} KiB/s`;
}

export function printReport(out: ToolOutput, report: BenchReport, format: 'table' | 'csv' | 'json'): void {
  if (format === 'json') {
    out.json(report);
    return;
  }
  if (format === 'csv') {
    out.line('benchmark,role,client,msgs,bytes,duration_ms,msgs_per_sec,bytes_per_sec');
    for (const g of report.groups) {
      g.per_client.forEach((c, i) => out.line(`${report.benchmark},${g.role},${i + 1},${c.msgs},${c.bytes},${c.duration_ms},${c.msgs_per_sec},${rate(c.bytes, c.duration_ms)}`));
      out.line(`${report.benchmark},${g.role},all,${g.msgs},${g.bytes},${g.duration_ms},${g.msgs_per_sec},${g.bytes_per_sec}`);
    }
    return;
  }
  out.line(out.bold(`${report.benchmark} benchmark on ${JSON.stringify(report.subject)}, ${report.msg_size} byte messages`));
  out.line();
  const rows: Array<Array<string | number>> = [];
  for (const g of report.groups) {
    g.per_client.forEach((c, i) => rows.push([g.role, `#${i + 1}`, c.msgs, `${c.duration_ms.toFixed(1)}ms`, c.msgs_per_sec, perSecond(rate(c.bytes, c.duration_ms))]));
    rows.push([g.role, 'all', g.msgs, `${g.duration_ms.toFixed(1)}ms`, g.msgs_per_sec, perSecond(g.bytes_per_sec)]);
  }
  out.table(['Role', 'Client', 'Msgs', 'Time', 'Msgs/sec', 'Throughput'], rows);
  for (const g of report.groups) {
    const l = g.latency_us;
    if (l) out.line(`\n${g.role} latency (µs): min ${l.min} p50 ${l.p50} p90 ${l.p90} p99 ${l.p99} max ${l.max}`);
  }
}

/** A progress line on a terminal's stderr, redrawn a few times a second; nothing when stderr is not a terminal. */
export class Progress {
  done = 0;
  private readonly timer: NodeJS.Timeout | null;

  constructor(
    private readonly label: string,
    private readonly total: number,
  ) {
    // Unreferenced: a benchmark that fails half-way must not be kept alive by its progress bar.
    this.timer = process.stderr.isTTY ? setInterval(() => this.draw(), 200).unref() : null;
  }

  private draw(): void {
    const width = 30;
    const fraction = this.total > 0 ? Math.min(1, this.done / this.total) : 1;
    const filled = Math.round(fraction * width);
    process.stderr.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${this.total}`);
  }

  stop(): void {
    if (this.timer) {
      clearInterval(this.timer);
      this.draw();
      process.stderr.write('\n');
    }
  }
}
