/**
 * Load for fault tests through the official JetStream client, recording
 * every step in a History: an async publisher with a bounded number of
 * PubAcks in flight, and a pull consumer that acks every delivery with
 * AckSync (so each ack's confirmation is known).
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { errors } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';
import { sleep, waitUntil } from '../helpers/wait.js';
import { waitFor } from './wait-for.js';
import { History, idOfPayload, payloadFor, type PublishRecord } from './history.js';

export interface PublisherOptions {
  readonly subject: string;
  /** PubAcks awaited at once. */
  readonly inflight: number;
  /** Payload size in bytes (the message id plus padding). */
  readonly size: number;
  /** How long one publish waits for its PubAck before it counts as a timeout. */
  readonly ackTimeoutMs: number;
  /** Stop after this many publishes (default: until stop()). */
  readonly max?: number;
  /** At most this many publishes per second on average (default: as fast as PubAcks come back). */
  readonly ratePerSec?: number;
}

/**
 * After an error reply (no responders during an election, 10008, ...) the
 * publisher pauses this long, so a leaderless stream is not flooded with
 * attempts that fail at once.
 */
const ERROR_PAUSE_MS = 50;

export class AsyncPublisher {
  private readonly js: JetStreamClient;
  private next = 0;
  private inflight = 0;
  private stopping = false;
  private slotFree: (() => void) | null = null;
  private pauseUntil = 0;
  private loop: Promise<void> | null = null;
  /** PubAcks received so far. */
  ackCount = 0;
  /** performance.now() of the latest PubAck. */
  lastAckAt = 0;

  constructor(
    private readonly history: History,
    nc: NatsConnection,
    readonly name: string,
    private readonly o: PublisherOptions,
  ) {
    this.js = jetstream(nc, { timeout: o.ackTimeoutMs });
  }

  start(): void {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const max = this.o.max ?? Infinity;
    const startedAt = performance.now();
    while (!this.stopping && this.next < max) {
      if (this.o.ratePerSec !== undefined && this.next >= ((performance.now() - startedAt) * this.o.ratePerSec) / 1000) {
        await sleep(20);
        continue;
      }
      if (this.inflight >= this.o.inflight) {
        await new Promise<void>((r) => (this.slotFree = r));
        continue;
      }
      const wait = this.pauseUntil - performance.now();
      if (wait > 0) {
        await sleep(wait);
        continue;
      }
      const rec = this.history.publishStarted(this.name, this.next++);
      this.inflight++;
      void this.publishOne(rec);
    }
    await waitUntil(() => this.inflight === 0, this.o.ackTimeoutMs + 5000, `${this.name}: outstanding PubAcks`, 10);
  }

  private async publishOne(rec: PublishRecord): Promise<void> {
    try {
      const ack = await this.js.publish(this.o.subject, payloadFor(rec.id, this.o.size), { timeout: this.o.ackTimeoutMs });
      this.history.publishDone(rec, { kind: 'ack', seq: ack.seq, duplicate: ack.duplicate });
      this.ackCount++;
      this.lastAckAt = performance.now();
    } catch (e) {
      if (e instanceof errors.TimeoutError) this.history.publishDone(rec, { kind: 'timeout' });
      else {
        this.history.publishDone(rec, { kind: 'error', message: (e as Error).message });
        this.pauseUntil = performance.now() + ERROR_PAUSE_MS;
      }
    } finally {
      this.inflight--;
      const wake = this.slotFree;
      this.slotFree = null;
      wake?.();
    }
  }

  /** Resolves once `n` more PubAcks than now have arrived. */
  async waitMoreAcks(n: number, timeoutMs: number): Promise<void> {
    const target = this.ackCount + n;
    await waitFor(() => this.ackCount >= target, timeoutMs, () => `${this.name}: ${n} more PubAcks (now ${this.ackCount}, wanted ${target})`, 20);
  }

  /** Stops publishing and waits until every publish has its outcome. */
  async stop(): Promise<void> {
    this.stopping = true;
    const wake = this.slotFree;
    this.slotFree = null;
    wake?.();
    await this.loop;
  }

  /** Waits for the `max` publishes to finish (a publisher started with `max`). */
  async finished(): Promise<void> {
    await this.loop;
  }
}

export interface ConsumerOptions {
  readonly stream: string;
  readonly durable: string;
  readonly batch: number;
  readonly ackTimeoutMs: number;
}

/**
 * A durable pull consumer that acks every delivery with AckSync. Fetch
 * failures (no leader, a node gone) are retried after a short pause.
 */
export class AckingConsumer {
  private readonly js: JetStreamClient;
  private stopping = false;
  private loop: Promise<void> | null = null;
  deliveries = 0;
  lastError = '';

  constructor(
    private readonly history: History,
    private readonly nc: NatsConnection,
    private readonly o: ConsumerOptions,
  ) {
    this.js = jetstream(nc);
  }

  start(): void {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopping && !this.nc.isClosed()) {
      try {
        const consumer = await this.js.consumers.get(this.o.stream, this.o.durable);
        const batch = await consumer.fetch({ max_messages: this.o.batch, expires: 1000 });
        const acks: Promise<void>[] = [];
        for await (const m of batch) acks.push(this.handle(m));
        await Promise.all(acks);
      } catch (e) {
        this.lastError = (e as Error).message;
        await sleep(100);
      }
    }
  }

  private async handle(m: JsMsg): Promise<void> {
    const { streamSequence, deliveryCount } = m.info;
    this.deliveries++;
    this.history.delivered(this.o.durable, streamSequence, deliveryCount, idOfPayload(m.data));
    const a = this.history.ackSent(this.o.durable, streamSequence, deliveryCount);
    try {
      await m.ackAck({ timeout: this.o.ackTimeoutMs });
      this.history.ackConfirmed(a);
    } catch {
      // not confirmed: the message may come again, which is allowed
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
  }

  /**
   * Keeps consuming until the consumer (asked through its leader) has
   * nothing pending and nothing unacknowledged, then stops and marks the
   * consumer drained for the checker.
   */
  async drain(timeoutMs: number): Promise<void> {
    const jsm = await jetstreamManager(this.nc, { checkAPI: false });
    let last = '';
    await waitFor(
      async () => {
        try {
          const ci = await jsm.consumers.info(this.o.stream, this.o.durable);
          last = `num_pending ${ci.num_pending}, num_ack_pending ${ci.num_ack_pending}, delivered ${ci.delivered.stream_seq}, ack floor ${ci.ack_floor.stream_seq}`;
          return ci.num_pending === 0 && ci.num_ack_pending === 0;
        } catch (e) {
          last = (e as Error).message;
          return false;
        }
      },
      timeoutMs,
      () => `consumer ${this.o.durable} to drain (last: ${last})`,
      250,
    );
    await this.stop();
    this.history.drainedConsumers.add(this.o.durable);
  }
}
