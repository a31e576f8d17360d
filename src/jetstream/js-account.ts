/** One account's JetStream: its limits, its streams and its API counters. */
import type { Account } from '../accounts/account.js';
import type { AccountLimits } from './account-limits.js';
import type { StreamAccount } from './engine-context.js';
import type { Stream } from './stream.js';
import type { StorageType } from './types.js';
import { yieldIfBusy } from './slices.js';

export class JsAccount implements StreamAccount {
  readonly account: Account;
  limits: AccountLimits;
  /** By stream name, in creation order. */
  readonly streams = new Map<string, Stream>();
  readonly api = { total: 0, errors: 0 };
  /** `<store_dir>/jetstream/<account>`. */
  readonly dir: string;

  /** In a cluster: what the account's streams hold on the other servers (cluster/usage.ts), by server. */
  private readonly remote = new Map<string, { memory: number; file: number; expires: number }>();

  /** The tail of the account's stream create/update/delete chain. */
  private mutations: Promise<unknown> = Promise.resolve();

  constructor(account: Account, limits: AccountLimits, dir: string) {
    this.account = account;
    this.limits = limits;
    this.dir = dir;
  }

  /**
   * Runs stream creations, updates, deletions and purges one at a time:
   * each awaits disk work, and two interleaved creates of one name must not
   * both pass the "does it exist" check. Between two of them the event loop
   * runs if the turn's slice is used up: a chain of a thousand quick creates
   * would otherwise run as promise jobs in a single turn.
   */
  serially<T>(fn: () => T | Promise<T>): Promise<T> {
    const run = this.mutations.then(yieldIfBusy, yieldIfBusy).then(fn);
    this.mutations = run.catch(() => undefined);
    return run;
  }

  /**
   * Bytes the account's streams of one storage type hold now: on this
   * server, plus in a cluster what the other servers last reported (every
   * replica counts, as nats-server counts it). The account limits apply to this.
   */
  used(storage: StorageType): number {
    let n = this.localUsed(storage);
    if (this.remote.size === 0) return n;
    const now = Date.now();
    for (const [server, r] of this.remote) {
      if (r.expires < now) this.remote.delete(server);
      else n += storage === 'memory' ? r.memory : r.file;
    }
    return n;
  }

  /** Bytes the account's streams of one storage type hold on this server. */
  localUsed(storage: StorageType): number {
    let n = 0;
    for (const s of this.streams.values()) if (s.storage === storage) n += s.bytes();
    return n;
  }

  /** Another server's figures for this account, counted until `expires` (epoch ms) unless refreshed. */
  setRemoteUsage(server: string, memory: number, file: number, expires: number): void {
    if (memory === 0 && file === 0) this.remote.delete(server);
    else this.remote.set(server, { memory, file, expires });
  }

  /** Bytes reserved through max_bytes by streams of one storage type, other than `except`. */
  reserved(storage: StorageType, except: string | null): number {
    let n = 0;
    for (const s of this.streams.values()) {
      if (s.storage !== storage || s.name === except) continue;
      const mb = s.config().max_bytes;
      if (mb > 0) n += mb;
    }
    return n;
  }

  consumerCount(): number {
    let n = 0;
    for (const s of this.streams.values()) n += s.consumers.count();
    return n;
  }
}
