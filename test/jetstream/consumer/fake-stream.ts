/**
 * A minimal stream for consumer tests that do not need the JetStream engine:
 * a MemoryStore capturing `subjects` through an internal subscription, a
 * ConsumerSet on top, and the consumer API answered on `$JS.API.CONSUMER.>`
 * in the server's global account. Advisories are recorded.
 */
import type { Account } from '../../../src/accounts/account.js';
import type { Server } from '../../../src/server/server.js';
import type { Subscription } from '../../../src/server/subscription.js';
import { MemoryStore } from '../../../src/jetstream/store/memory-store.js';
import type { StreamStore } from '../../../src/jetstream/store/types.js';
import type { StreamConfig } from '../../../src/jetstream/types.js';
import type { ConsumerHost } from '../../../src/jetstream/consumer/host.js';
import { ConsumerSet } from '../../../src/jetstream/consumer/consumer-set.js';
import { handleConsumerApi, type ConsumerApiStreams } from '../../../src/jetstream/api/consumer.js';
import { subjectMatches } from '../../../src/subjects/validate.js';

export function streamConfig(name: string, subjects: string[], over: Partial<StreamConfig> = {}): StreamConfig {
  return {
    name, subjects, retention: 'limits', max_consumers: -1, max_msgs: -1, max_bytes: -1, max_age: 0, max_msgs_per_subject: -1,
    max_msg_size: -1, discard: 'old', storage: 'memory', num_replicas: 1, duplicate_window: 120e9, sealed: false, deny_delete: false,
    deny_purge: false, allow_rollup_hdrs: false, allow_direct: false, mirror_direct: false, ...over,
  };
}

export class FakeStream implements ConsumerHost {
  readonly name: string;
  readonly account: Account;
  readonly core: Server;
  readonly store: StreamStore;
  readonly created = Date.now();
  readonly domain = '';
  readonly consumers: ConsumerSet;
  readonly advisories: Array<{ subject: string; body: Record<string, unknown> }> = [];
  private cfg: StreamConfig;
  private readonly subs: Subscription[] = [];

  constructor(server: Server, cfg: StreamConfig, store?: StreamStore) {
    this.core = server;
    this.account = server.globalAccount;
    this.name = cfg.name;
    this.cfg = cfg;
    this.store = store ?? new MemoryStore({ maxMsgs: -1, maxBytes: -1, maxAgeMs: 0, maxMsgsPerSubject: -1, maxMsgSize: -1, discard: 'old', discardNewPerSubject: false });
    this.consumers = new ConsumerSet(this);
    for (const s of cfg.subjects ?? []) {
      this.subs.push(server.subscribeInternal(this.account, s, null, (subject, _reply, hdrLen, msg) => {
        const hdr = hdrLen > 0 ? Buffer.from(msg.subarray(0, hdrLen)) : null;
        const data = Buffer.from(hdrLen > 0 ? msg.subarray(hdrLen) : msg);
        this.publish(subject, data, hdr);
      }));
    }
  }

  /** Stores a message directly, as the stream would for a publish. */
  publish(subject: string, data: Buffer | string, hdr: Buffer | null = null): number {
    const { seq } = this.store.storeMsg(subject, hdr, typeof data === 'string' ? Buffer.from(data) : data);
    if (this.cfg.retention === 'interest' && !this.consumers.interested(subject)) {
      this.store.removeMsg(seq);
      return seq;
    }
    this.consumers.messageStored(seq, subject);
    return seq;
  }

  config(): StreamConfig {
    return this.cfg;
  }

  acked(seq: number): void {
    if (this.cfg.retention === 'limits') return;
    const m = this.store.loadMsg(seq);
    if (m === null || this.consumers.wants(seq, m.subject)) return;
    if (this.store.removeMsg(seq)) this.consumers.messagesRemoved();
  }

  advisory(subject: string, body: Record<string, unknown>): void {
    this.advisories.push({ subject, body });
  }

  matches(subject: string): boolean {
    return (this.cfg.subjects ?? []).some((s) => subjectMatches(s, subject));
  }

  async close(): Promise<void> {
    for (const s of this.subs) this.core.unsubscribeInternal(this.account, s);
    await this.consumers.stop();
  }
}

/** Answers `$JS.API.CONSUMER.>` for the given fake streams; returns an unsubscribe. */
export function serveConsumerApi(server: Server, streams: FakeStream[], limit = { max: -1, used: 0 }): () => void {
  const byName = new Map(streams.map((s) => [s.name, s]));
  const engine: ConsumerApiStreams = {
    consumers: (_acc, name) => byName.get(name)?.consumers ?? null,
    consumerLimit: () => ({ max: limit.max, used: [...byName.values()].reduce((n, s) => n + s.consumers.count(), 0) }),
  };
  const acc = server.globalAccount;
  const sub = server.subscribeInternal(acc, '$JS.API.CONSUMER.>', null, (subject, reply, hdrLen, msg) => {
    const body = Buffer.from(hdrLen > 0 ? msg.subarray(hdrLen) : msg);
    const tokens = subject.split('.').slice(2);
    const out = handleConsumerApi({ account: acc, tokens, subject, reply, hdr: null, body, client: null }, engine);
    void Promise.resolve(out).then((r) => {
      if (r !== null && reply !== null) server.publishInternal(acc, reply, null, JSON.stringify(r));
    });
  });
  return () => server.unsubscribeInternal(acc, sub);
}
