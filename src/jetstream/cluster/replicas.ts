/**
 * This server's replicas of streams and consumers, kept in step with the
 * meta group's assignments: a replica is opened when this server is in an
 * assignment's group, updated when the assignment changes, and stopped and
 * deleted when the asset is removed or moved off this server.
 *
 * Opening a replica can take a while (recovering a store, starting a Raft
 * node), and the meta group must not wait for it: each change is queued on
 * its stream's chain and runs asynchronously, in order per stream (a
 * consumer's changes queue behind its stream's, so the stream replica exists
 * when the consumer opens). Chains of different streams run independently.
 */
import type { Account } from '../../accounts/account.js';
import type { ServerCore } from '../../server/core.js';
import type { JetStream } from '../jetstream.js';
import { openStreamReplica } from './stream-replica.js';
import { openConsumerReplica } from './consumer-replica.js';
import type { MetaChange, MetaState } from './meta-state.js';
import type { ConsumerAssignment, ConsumerReplica, GroupContext, StreamAssignment, StreamReplica } from './types.js';

function streamKey(account: string, stream: string): string {
  return `${account}\u0000${stream}`;
}

function consumerKey(account: string, stream: string, consumer: string): string {
  return `${account}\u0000${stream}\u0000${consumer}`;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class ReplicaSet {
  private readonly core: ServerCore;
  private readonly ctx: GroupContext;
  private readonly js: JetStream;
  private readonly streams = new Map<string, StreamReplica>();
  private readonly consumers = new Map<string, ConsumerReplica>();
  private readonly chains = new Map<string, Promise<void>>();
  private closed = false;

  constructor(ctx: GroupContext, js: JetStream) {
    this.core = ctx.core;
    this.ctx = ctx;
    this.js = js;
  }

  stream(account: string, stream: string): StreamReplica | null {
    return this.streams.get(streamKey(account, stream)) ?? null;
  }

  consumer(account: string, stream: string, consumer: string): ConsumerReplica | null {
    return this.consumers.get(consumerKey(account, stream, consumer)) ?? null;
  }

  /** Every replica this server holds (for lame duck stepdowns, health). */
  all(): Array<StreamReplica | ConsumerReplica> {
    return [...this.streams.values(), ...this.consumers.values()];
  }

  /** Follows one applied meta op. */
  follow(change: MetaChange): void {
    switch (change.kind) {
      case 'stream':
        this.enqueue(change.current.account, change.current.config.name, () => this.syncStream(change.current));
        break;
      case 'stream-removed': {
        const { account, config } = change.removed;
        this.enqueue(account, config.name, () => this.dropStream(account, config.name));
        break;
      }
      case 'consumer':
        this.enqueue(change.current.account, change.current.stream, () => this.syncConsumer(change.current));
        break;
      case 'consumer-removed': {
        const { account, stream, name } = change.removed;
        this.enqueue(account, stream, () => this.dropConsumer(account, stream, name));
        break;
      }
      case 'none':
        break;
    }
  }

  /** Brings every replica in line with the whole state (after a meta snapshot was restored). */
  reconcile(state: MetaState): void {
    const wantedStreams = new Set<string>();
    const wantedConsumers = new Set<string>();
    for (const { sa, consumers } of state.all()) {
      wantedStreams.add(streamKey(sa.account, sa.config.name));
      this.enqueue(sa.account, sa.config.name, () => this.syncStream(sa));
      for (const ca of consumers) {
        wantedConsumers.add(consumerKey(ca.account, ca.stream, ca.name));
        this.enqueue(ca.account, ca.stream, () => this.syncConsumer(ca));
      }
    }
    for (const [key, c] of [...this.consumers]) {
      if (wantedConsumers.has(key)) continue;
      const account = key.slice(0, key.indexOf('\u0000'));
      this.enqueue(account, c.stream, () => this.dropConsumer(account, c.stream, c.name));
    }
    for (const [key, s] of [...this.streams]) {
      if (wantedStreams.has(key)) continue;
      this.enqueue(s.account.name, s.name, () => this.dropStream(s.account.name, s.name));
    }
  }

  /** Waits for queued work, then stops every replica (data stays). */
  async stop(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.chains.values()]);
    const all = [...this.consumers.values(), ...this.streams.values()];
    this.consumers.clear();
    this.streams.clear();
    for (const r of all) {
      try {
        await r.stop();
      } catch (e) {
        this.core.logger.error(`JetStream cluster: stopping replica '${r.name}' failed: ${describe(e)}`);
      }
    }
  }

  private enqueue(account: string, stream: string, task: () => Promise<void>): void {
    const key = streamKey(account, stream);
    const prev = this.chains.get(key) ?? Promise.resolve();
    const next = prev.then(() => (this.closed ? undefined : task())).catch((e: unknown) => {
      this.core.logger.error(`JetStream cluster: replica of '${account} > ${stream}': ${describe(e)}`);
    });
    this.chains.set(key, next);
    void next.then(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
  }

  private account(name: string): Account | null {
    return this.core.accounts.get(name) ?? null;
  }

  private holds(group: { peers: readonly string[] }): boolean {
    return group.peers.includes(this.ctx.selfId);
  }

  private async syncStream(sa: StreamAssignment): Promise<void> {
    const key = streamKey(sa.account, sa.config.name);
    const existing = this.streams.get(key);
    if (!this.holds(sa.group)) {
      // Moved off this server: the consumers go first, then the stream's copy here.
      if (existing !== undefined) await this.dropStream(sa.account, sa.config.name);
      return;
    }
    if (existing !== undefined) {
      await existing.update(sa);
      return;
    }
    if (this.account(sa.account) === null) {
      this.core.logger.error(`JetStream cluster: stream '${sa.account} > ${sa.config.name}' is assigned here but account '${sa.account}' is unknown`);
      return;
    }
    this.streams.set(key, await openStreamReplica(this.ctx, this.js, sa));
  }

  private async dropStream(account: string, stream: string): Promise<void> {
    const prefix = streamKey(account, stream) + '\u0000';
    for (const [key, c] of [...this.consumers]) {
      if (!key.startsWith(prefix)) continue;
      this.consumers.delete(key);
      await c.delete();
    }
    const key = streamKey(account, stream);
    const s = this.streams.get(key);
    if (s === undefined) return;
    this.streams.delete(key);
    await s.delete();
  }

  private async syncConsumer(ca: ConsumerAssignment): Promise<void> {
    const key = consumerKey(ca.account, ca.stream, ca.name);
    const existing = this.consumers.get(key);
    if (!this.holds(ca.group)) {
      if (existing !== undefined) await this.dropConsumer(ca.account, ca.stream, ca.name);
      return;
    }
    if (existing !== undefined) {
      await existing.update(ca);
      return;
    }
    const stream = this.streams.get(streamKey(ca.account, ca.stream));
    if (stream === undefined) {
      this.core.logger.error(`JetStream cluster: consumer '${ca.account} > ${ca.stream} > ${ca.name}' is assigned here but its stream has no replica here`);
      return;
    }
    this.consumers.set(key, await openConsumerReplica(this.ctx, this.js, stream, ca));
  }

  private async dropConsumer(account: string, stream: string, consumer: string): Promise<void> {
    const key = consumerKey(account, stream, consumer);
    const c = this.consumers.get(key);
    if (c === undefined) return;
    this.consumers.delete(key);
    await c.delete();
  }
}
