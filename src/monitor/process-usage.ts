/**
 * /varz `cpu` and `mem`. nats-server reports %CPU averaged over roughly the
 * last second (it samples /proc once a second) with one decimal, and the
 * resident set size in bytes. Instead of a background timer we re-sample
 * lazily when a request comes in and the last window is at least a second old.
 */
const WINDOW_NS = 1_000_000_000n;

export class ProcessUsage {
  private lastCpuMicros: number;
  private lastAt: bigint;
  private pcpu = 0;

  constructor() {
    const u = process.cpuUsage();
    this.lastCpuMicros = u.user + u.system;
    this.lastAt = process.hrtime.bigint();
  }

  /** Percent of one core, one decimal, as nats-server's pse package computes it. */
  cpu(): number {
    const now = process.hrtime.bigint();
    const elapsed = now - this.lastAt;
    if (elapsed >= WINDOW_NS) {
      const u = process.cpuUsage();
      const total = u.user + u.system;
      const usedMicros = total - this.lastCpuMicros;
      const elapsedMicros = Number(elapsed / 1000n);
      // Per-mille truncated, then /10: one decimal like nats-server.
      this.pcpu = Math.trunc((usedMicros * 1000) / elapsedMicros) / 10;
      this.lastCpuMicros = total;
      this.lastAt = now;
    }
    return this.pcpu;
  }

  /** Resident set size in bytes. */
  mem(): number {
    return process.memoryUsage.rss();
  }
}
