/**
 * Where account JWTs are kept: in memory (the MEMORY resolver: what
 * resolver_preload gave, plus accepted updates while the server runs) or in
 * a directory (the full and cache resolvers, see dir-store.ts). The source
 * stores JWTs as they are; whether one is trusted is the operator mode's
 * question, asked before anything is stored.
 */
import { DirJwtStore } from './dir-store.js';
import type { ResolverConfig } from './resolver-config.js';

export interface AccountSource {
  readonly kind: ResolverConfig['kind'];
  /** Whether `$SYS.REQ.CLAIMS.DELETE` may remove accounts (full resolver with allow_delete, or cache). */
  readonly allowDelete: boolean;
  /** The directory of a full or cache resolver; null for MEMORY. */
  readonly dir: string | null;
  /** The stored JWT of an account, or null. */
  fetch(account: string): string | null;
  /** Stores a JWT accepted by a claim update; false when it was already the stored one. Throws when the store refuses. */
  store(account: string, jwt: string): boolean;
  /** Stores a preloaded JWT unless a newer one is stored already (nats-server's saveIfNewer). */
  preload(account: string, jwt: string): void;
  /** Accounts with a stored JWT. */
  list(): string[];
  /** Removes an account's JWT; throws when deletes are not allowed. */
  delete(account: string): void;
  close(): void;
}

class MemorySource implements AccountSource {
  readonly kind = 'memory';
  readonly allowDelete = false;
  readonly dir = null;
  private readonly jwts = new Map<string, string>();

  fetch(account: string): string | null {
    return this.jwts.get(account) ?? null;
  }

  store(account: string, jwt: string): boolean {
    const changed = this.jwts.get(account) !== jwt;
    this.jwts.set(account, jwt);
    return changed;
  }

  preload(account: string, jwt: string): void {
    this.jwts.set(account, jwt);
  }

  list(): string[] {
    return [...this.jwts.keys()].sort();
  }

  delete(): void {
    throw new Error('store is not set up to for delete');
  }

  close(): void {
    this.jwts.clear();
  }
}

class DirSource implements AccountSource {
  readonly kind: 'full' | 'cache';
  readonly allowDelete: boolean;
  readonly dir: string;
  private readonly store_: DirJwtStore;

  constructor(kind: 'full' | 'cache', store: DirJwtStore, allowDelete: boolean) {
    this.kind = kind;
    this.store_ = store;
    this.dir = store.dir;
    this.allowDelete = allowDelete;
  }

  fetch(account: string): string | null {
    return this.store_.load(account);
  }

  store(account: string, jwt: string): boolean {
    return this.store_.save(account, jwt);
  }

  preload(account: string, jwt: string): void {
    this.store_.saveIfNewer(account, jwt);
  }

  list(): string[] {
    return this.store_.list();
  }

  delete(account: string): void {
    this.store_.delete(account);
  }

  close(): void {
    this.store_.close();
  }
}

/** Opens the source a resolver configuration describes; throws when its directory is unusable. */
export function openAccountSource(config: ResolverConfig): AccountSource {
  if (config.kind === 'memory') return new MemorySource();
  const store = new DirJwtStore({
    dir: config.dir,
    // nats-server renames deleted accounts in the full resolver and removes them for good in the cache.
    deleteMode: config.kind === 'full' ? (config.allowDelete ? 'rename' : 'none') : 'hard',
    limit: config.limit,
    evictOnLimit: config.kind === 'cache',
    ttlMs: config.ttlMs,
  });
  // The cache resolver's store deletes for good, so nats-server honours delete requests there too.
  return new DirSource(config.kind, store, config.kind === 'cache' || config.allowDelete);
}
