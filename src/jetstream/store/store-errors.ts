import { StoreError } from './types.js';

/** nats-server's texts (server/store.go and the JetStream error table). */
const storeErrorText = {
  max_msgs: 'maximum messages exceeded',
  max_bytes: 'maximum bytes exceeded',
  max_msgs_per_subject: 'maximum messages per subject exceeded',
  msg_too_large: 'message size exceeds maximum allowed',
  storage_full: 'insufficient resources',
  closed: 'store is closed',
} as const;

export function storeError(kind: keyof typeof storeErrorText): StoreError {
  return new StoreError(kind, storeErrorText[kind]);
}

/** Maps a failed write to what the publisher hears: a full disk is nats-server's "insufficient resources". */
export function ioStoreError(err: unknown): StoreError {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return storeError('storage_full');
  const text = err instanceof Error ? err.message : String(err);
  return new StoreError('io', `storage write failed: ${text}`);
}
