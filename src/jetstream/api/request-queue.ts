/**
 * JetStream API requests wait in one queue and are handled a slice of a few
 * milliseconds at a time, the event loop free in between. Handled straight
 * from the socket (as before), a burst of thousands of requests in one read
 * ran back to back and every other client of every account waited for the
 * lot. nats-server likewise queues API requests for its own goroutines, and
 * bounds the queue: at 10,000 pending requests it drops the whole queue
 * with a warning (request_queue_limit). Here requests still being answered
 * (a stream create awaiting its checks or the disk) count as pending too,
 * and so do their bytes: a Node process keeps every copy on one heap.
 */
import { SLICE_MS, turnElapsed } from '../slices.js';

/** nats-server's default request_queue_limit. */
export const MAX_PENDING_REQUESTS = 10_000;
/** Request bytes held at most: 64 of the largest (1 MB) requests, far more than a burst of ordinary ones. */
export const MAX_PENDING_BYTES = 64 * 1024 * 1024;

/** One request as the queue sees it. */
export interface QueuedItem {
  /** Bytes the request holds while pending. */
  readonly size: number;
}

export interface RequestQueueHandlers<T extends QueuedItem> {
  /** Handles a request; a promise means it is pending until settled. */
  handle(item: T): Promise<void> | null;
  /** The queue was over its limits and these many requests were dropped unanswered. */
  dropped(count: number): void;
}

export class ApiRequestQueue<T extends QueuedItem> {
  private items: Array<T | undefined> = [];
  private head = 0;
  /** Queued plus handled but not yet answered. */
  private pendingCount = 0;
  private pendingBytes = 0;
  private scheduled = false;
  private closed = false;

  constructor(private readonly handlers: RequestQueueHandlers<T>) {}

  push(item: T): void {
    if (this.closed) return;
    this.items.push(item);
    this.pendingCount++;
    this.pendingBytes += item.size;
    if (this.pendingCount >= MAX_PENDING_REQUESTS || this.pendingBytes >= MAX_PENDING_BYTES) {
      this.dropQueued();
      return;
    }
    if (!this.scheduled) {
      this.scheduled = true;
      // The first slice runs right after the read that brought the request, as handling did before.
      queueMicrotask(this.drain);
    }
  }

  /** Drops what waits; requests already being handled finish. */
  close(): void {
    this.closed = true;
    this.dropQueued();
  }

  private dropQueued(): void {
    let dropped = 0;
    for (let i = this.head; i < this.items.length; i++) {
      const item = this.items[i] as T;
      this.pendingCount--;
      this.pendingBytes -= item.size;
      dropped++;
    }
    this.items = [];
    this.head = 0;
    if (dropped > 0 && !this.closed) this.handlers.dropped(dropped);
  }

  private readonly drain = (): void => {
    while (this.head < this.items.length) {
      const item = this.items[this.head] as T;
      this.items[this.head++] = undefined;
      const running = this.handlers.handle(item);
      if (running === null) {
        this.settle(item);
      } else {
        running.finally(() => this.settle(item)).catch(() => undefined);
      }
      if (turnElapsed() >= SLICE_MS) break;
    }
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
      this.scheduled = false;
      return;
    }
    // Handled entries are dropped from the front once they are half the array.
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    setImmediate(this.drain);
  };

  private settle(item: T): void {
    this.pendingCount--;
    this.pendingBytes -= item.size;
  }
}
