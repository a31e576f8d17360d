/** What a Stream (and its sources) needs from the JetStream engine. */
import type { Account } from '../accounts/account.js';
import type { Server } from '../server/server.js';
import type { JetStreamConfig } from './config.js';
import type { Stream } from './stream.js';
import type { StorageType } from './types.js';

export interface JetStreamContext {
  readonly server: Server;
  readonly config: JetStreamConfig;
  /** Is this storage type already past the server-wide max_memory_store/max_file_store? */
  serverLimitExceeded(storage: StorageType): boolean;
  /** A message of `size` bytes was stored (keeps the usage figure current between recounts). */
  noteStored(storage: StorageType, size: number): void;
  /** A stream of `account` by name (mirrors and sources look up their origin). */
  findStream(account: Account, name: string): Stream | null;
  /** Publishes a complete advisory body (type, id, timestamp included) in `account`. */
  advisory(account: Account, subject: string, body: Record<string, unknown>): void;
}
