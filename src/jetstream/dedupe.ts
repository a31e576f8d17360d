/**
 * The Nats-Msg-Id duplicate window of one stream. A Map keeps insertion
 * order, which is publish order, so expired ids are always at the front and
 * expiry costs nothing per publish beyond looking at the oldest entry.
 */
export class DedupeWindow {
  private readonly ids = new Map<string, { seq: number; ts: number }>();
  /** Milliseconds; 0 turns duplicate detection off. */
  private windowMs: number;

  constructor(windowMs: number) {
    this.windowMs = windowMs;
  }

  setWindow(windowMs: number): void {
    this.windowMs = windowMs;
    if (windowMs === 0) this.ids.clear();
  }

  /** The sequence an id was stored at within the window, or 0. */
  seqOf(id: string, now: number): number {
    this.expire(now);
    return this.ids.get(id)?.seq ?? 0;
  }

  record(id: string, seq: number, ts: number): void {
    if (this.windowMs === 0) return;
    // Re-inserting moves the id to the back, keeping the Map in time order.
    this.ids.delete(id);
    this.ids.set(id, { seq, ts });
  }

  clear(): void {
    this.ids.clear();
  }

  get size(): number {
    return this.ids.size;
  }

  private expire(now: number): void {
    const floor = now - this.windowMs;
    for (const [id, e] of this.ids) {
      if (e.ts >= floor) break;
      this.ids.delete(id);
    }
  }
}
