/**
 * The client port's TLS material, per server, for the listeners that serve
 * with the same block: HTTPS monitoring uses the top-level `tls` block as
 * nats-server does, and follows its reloads.
 */
import type { TlsMaterial } from './material.js';

type Watcher = (m: TlsMaterial | null) => void;

export class SharedTls {
  private current: TlsMaterial | null = null;
  private readonly watchers = new Set<Watcher>();

  get(): TlsMaterial | null {
    return this.current;
  }

  /** Publishes the material now in force (null: TLS turned off). */
  set(m: TlsMaterial | null): void {
    this.current = m;
    for (const w of this.watchers) w(m);
  }

  /** Calls `w` on every later change; returns the function that stops it. */
  watch(w: Watcher): () => void {
    this.watchers.add(w);
    return () => this.watchers.delete(w);
  }
}

const byOwner = new WeakMap<object, SharedTls>();

/** The shared TLS state of `owner` (a Server), made on first use. */
export function sharedTlsOf(owner: object): SharedTls {
  let s = byOwner.get(owner);
  if (s === undefined) {
    s = new SharedTls();
    byOwner.set(owner, s);
  }
  return s;
}
