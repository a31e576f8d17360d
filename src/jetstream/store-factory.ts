/** Opens the store a stream's storage type asks for, with the limits its config sets. */
import type { Logger } from '../log/logger.js';
import { MemoryStore } from './store/memory-store.js';
import { FileStore } from './store/file-store.js';
import type { StoreLimits, StreamStore } from './store/types.js';
import type { StreamConfig } from './types.js';

const NS_PER_MS = 1_000_000;

/** The store limits a stream config asks for. */
export function storeLimitsOf(cfg: StreamConfig): StoreLimits {
  return {
    maxMsgs: cfg.max_msgs,
    maxBytes: cfg.max_bytes,
    maxAgeMs: cfg.max_age / NS_PER_MS,
    maxMsgsPerSubject: cfg.max_msgs_per_subject,
    maxMsgSize: cfg.max_msg_size,
    discard: cfg.discard,
    discardNewPerSubject: cfg.discard_new_per_subject === true,
    msgTtl: cfg.allow_msg_ttl === true,
  };
}

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
