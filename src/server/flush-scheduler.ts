/** Anything with an outbound queue: client connections, routes. */
export interface Flushable {
  /** On this turn's list already; set by the scheduler, cleared by flush(). */
  flushQueued: boolean;
  flush(): void;
}

/**
 * One flush per connection per event-loop turn: connections that got bytes
 * queue themselves once, and a single setImmediate hands every queue to its
 * socket after all of this turn's reads were parsed (writes coalesce).
 */
export class FlushScheduler {
  private list: Flushable[] = [];
  private scheduled = false;
  private readonly runBound = (): void => this.run();

  queue(f: Flushable): void {
    f.flushQueued = true;
    this.list.push(f);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.runBound);
    }
  }

  private run(): void {
    this.scheduled = false;
    const list = this.list;
    this.list = [];
    for (let i = 0; i < list.length; i++) list[i].flush();
  }
}
