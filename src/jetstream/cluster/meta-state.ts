/**
 * The meta group's replicated state: every stream and consumer assignment
 * of the cluster, by account and stream. Deterministic: the same ops in the
 * same order give the same state on every server. Applying an op reports
 * what it replaced or removed, so the replica side can follow.
 */
import type { ConsumerAssignment, MetaOp, StreamAssignment } from './types.js';
import type { MetaSnapshot } from './assignment-codec.js';

interface StreamRecord {
  sa: StreamAssignment;
  readonly consumers: Map<string, ConsumerAssignment>;
}

/** What an applied op changed. */
export type MetaChange =
  | { readonly kind: 'stream'; readonly previous: StreamAssignment | null; readonly current: StreamAssignment }
  | { readonly kind: 'stream-removed'; readonly removed: StreamAssignment; readonly consumers: readonly ConsumerAssignment[] }
  | { readonly kind: 'consumer'; readonly previous: ConsumerAssignment | null; readonly current: ConsumerAssignment }
  | { readonly kind: 'consumer-removed'; readonly removed: ConsumerAssignment }
  /** Nothing to change: removing what is not there, or a consumer of an unknown stream. */
  | { readonly kind: 'none' };

export class MetaState {
  private readonly accounts = new Map<string, Map<string, StreamRecord>>();

  apply(op: MetaOp): MetaChange {
    switch (op.op) {
      case 'add-stream':
      case 'update-stream': {
        const { account, config } = op.sa;
        let streams = this.accounts.get(account);
        if (streams === undefined) this.accounts.set(account, (streams = new Map()));
        const rec = streams.get(config.name);
        if (rec === undefined) {
          streams.set(config.name, { sa: op.sa, consumers: new Map() });
          return { kind: 'stream', previous: null, current: op.sa };
        }
        const previous = rec.sa;
        rec.sa = op.sa;
        return { kind: 'stream', previous, current: op.sa };
      }
      case 'remove-stream': {
        const streams = this.accounts.get(op.account);
        const rec = streams?.get(op.stream);
        if (streams === undefined || rec === undefined) return { kind: 'none' };
        streams.delete(op.stream);
        if (streams.size === 0) this.accounts.delete(op.account);
        return { kind: 'stream-removed', removed: rec.sa, consumers: [...rec.consumers.values()] };
      }
      case 'add-consumer': {
        const rec = this.accounts.get(op.ca.account)?.get(op.ca.stream);
        if (rec === undefined) return { kind: 'none' };
        const previous = rec.consumers.get(op.ca.name) ?? null;
        rec.consumers.set(op.ca.name, op.ca);
        return { kind: 'consumer', previous, current: op.ca };
      }
      case 'remove-consumer': {
        const rec = this.accounts.get(op.account)?.get(op.stream);
        const ca = rec?.consumers.get(op.consumer);
        if (rec === undefined || ca === undefined) return { kind: 'none' };
        rec.consumers.delete(op.consumer);
        return { kind: 'consumer-removed', removed: ca };
      }
    }
  }

  streams(account: string): StreamAssignment[] {
    const streams = this.accounts.get(account);
    return streams === undefined ? [] : [...streams.values()].map((r) => r.sa);
  }

  stream(account: string, name: string): StreamAssignment | null {
    return this.accounts.get(account)?.get(name)?.sa ?? null;
  }

  consumers(account: string, stream: string): ConsumerAssignment[] {
    const rec = this.accounts.get(account)?.get(stream);
    return rec === undefined ? [] : [...rec.consumers.values()];
  }

  consumer(account: string, stream: string, name: string): ConsumerAssignment | null {
    return this.accounts.get(account)?.get(stream)?.consumers.get(name) ?? null;
  }

  /** Every stream assignment, each followed by its consumers' assignments. */
  *all(): Generator<{ sa: StreamAssignment; consumers: ConsumerAssignment[] }> {
    for (const streams of this.accounts.values()) {
      for (const rec of streams.values()) yield { sa: rec.sa, consumers: [...rec.consumers.values()] };
    }
  }

  /** Streams and consumers with more than one replica placed on `peer` (placement prefers the least loaded). */
  haAssetsOn(peer: string): number {
    let n = 0;
    for (const streams of this.accounts.values()) {
      for (const rec of streams.values()) {
        if (rec.sa.group.peers.length > 1 && rec.sa.group.peers.includes(peer)) n++;
        for (const ca of rec.consumers.values()) if (ca.group.peers.length > 1 && ca.group.peers.includes(peer)) n++;
      }
    }
    return n;
  }

  snapshot(): MetaSnapshot {
    const streams: StreamAssignment[] = [];
    const consumers: ConsumerAssignment[] = [];
    for (const { sa, consumers: cas } of this.all()) {
      streams.push(sa);
      consumers.push(...cas);
    }
    return { streams, consumers };
  }

  /** Replaces everything with a snapshot's assignments. */
  restore(snap: MetaSnapshot): void {
    this.accounts.clear();
    for (const sa of snap.streams) this.apply({ op: 'add-stream', sa });
    for (const ca of snap.consumers) this.apply({ op: 'add-consumer', ca });
  }
}
