import type { ConsumerState, ConsumerStore } from './types.js';

/** Copies a state so the copy is the loader's own. */
function cloneConsumerState(s: ConsumerState): ConsumerState {
  return {
    delivered: { ...s.delivered },
    ackFloor: { ...s.ackFloor },
    pending: new Map([...s.pending].map(([seq, p]) => [seq, { ...p }])),
    redelivered: new Map(s.redelivered),
  };
}

/** Consumer state for memory streams: lives as long as the process. */
export class MemoryConsumerStore implements ConsumerStore {
  private config: { config: unknown; created: number } | null = null;
  private saved: ConsumerState | null = null;

  constructor(private readonly onDelete: () => void) {}

  get hasConfig(): boolean {
    return this.config !== null;
  }

  saveConfig(config: unknown, created: number): void {
    this.config = { config: structuredClone(config), created };
  }

  loadConfig(): { config: unknown; created: number } | null {
    return this.config === null ? null : { config: structuredClone(this.config.config), created: this.config.created };
  }

  update(state: ConsumerState): void {
    // The caller's live view (see ConsumerStore.update): copied when loaded,
    // not per update, which would copy every pending delivery each turn.
    this.saved = state;
  }

  load(): ConsumerState | null {
    return this.saved === null ? null : cloneConsumerState(this.saved);
  }

  whenDurable(cb: (err: Error | null) => void): void {
    // Kept in memory only: as durable as it will ever be.
    cb(null);
  }

  async stop(): Promise<void> {
    // Nothing to flush: the state is only ever in memory.
  }

  async delete(): Promise<void> {
    this.config = null;
    this.saved = null;
    this.onDelete();
  }
}
