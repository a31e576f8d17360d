/** Opens the store a stream's storage type asks for. */
import type { Logger } from '../log/logger.js';
import { MemoryStore } from './store/memory-store.js';
import { FileStore } from './store/file-store.js';
import type { StreamStore } from './store/types.js';
import type { StreamConfig } from './types.js';
import { storeLimitsOf } from './stream.js';

export interface StoreOptions {
  /** The stream's directory (file storage): the store keeps msgs/ and obs/ in it. */
  readonly dir: string;
  readonly sync: 'always' | number;
  readonly logger: Logger;
}

export function openStore(cfg: StreamConfig, o: StoreOptions): StreamStore {
  const limits = storeLimitsOf(cfg);
  if (cfg.storage === 'memory') return new MemoryStore(limits, cfg.first_seq ?? 1);
  return FileStore.open(o.dir, limits, { sync: o.sync, logger: o.logger, firstSeq: cfg.first_seq ?? 1 });
}
