/**
 * What a Stream (and its mirrors and sources) needs from the JetStream
 * engine and from its account. Types only, and below the implementations:
 * the engine (jetstream.ts) and the account (js-account.ts) know streams,
 * a stream knows them only through these interfaces.
 */
import type { Account } from '../accounts/account.js';
import type { ServerCore } from '../server/core.js';
import type { AccountLimits } from './account-limits.js';
import type { JetStreamConfig } from './config.js';
import type { ConsumerCore } from './consumer/host.js';
import type { StreamStore } from './store/types.js';
import type { StorageType } from './types.js';

/** The part of the server core a stream uses: what its consumers use, and whether the server is going down. */
export type StreamCore = ConsumerCore & Pick<ServerCore, 'shuttingDown'>;

/** A stream as the mirrors and sources that follow it see it. */
export interface OriginStream {
  readonly store: StreamStore;
  /** Stopped or deleted: a follower looks for the stream again. */
  readonly closed: boolean;
  /** Wake-ups of the followers, called after each stored message. */
  readonly followers: Set<() => void>;
}

/** What a stream reads of its account's JetStream side (the account limits). */
export interface StreamAccount {
  readonly account: Account;
  readonly limits: AccountLimits;
  /** Bytes the account's streams of one storage type hold now. */
  used(storage: StorageType): number;
}

export interface JetStreamContext {
  readonly core: StreamCore;
  readonly config: JetStreamConfig;
  /** Is this storage type already past the server-wide max_memory_store/max_file_store? */
  serverLimitExceeded(storage: StorageType): boolean;
  /** A message of `size` bytes was stored (keeps the usage figure current between recounts). */
  noteStored(storage: StorageType, size: number): void;
  /** A stream of `account` by name (mirrors and sources look up their origin). */
  findStream(account: Account, name: string): OriginStream | null;
  /** Publishes a complete advisory body (type, id, timestamp included) in `account`. */
  advisory(account: Account, subject: string, body: Record<string, unknown>): void;
}
