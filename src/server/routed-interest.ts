/**
 * Interest that routes announced (subscriptions on other servers of the
 * cluster), offered to subsystems that must see it as nats-server sees
 * route subscriptions in the account sublist: a leaf connection is told
 * every interest of its account, routed interest included; JetStream asks
 * whether anybody in the cluster would hear an advisory, and a push
 * consumer whether anybody listens on its deliver subject. The cluster
 * layer supplies it (setSource, changed); the others ask and listen. Both
 * registrations return their undo.
 */

export interface RoutedInterestEntry {
  readonly subject: string;
  readonly queue: string | null;
}

/** The cluster layer's view of what its routes asked for. */
export interface RoutedInterestSource {
  /** Every route's interest in `account`, one entry per route and subject (and queue). */
  entries(account: string): Iterable<RoutedInterestEntry>;
  /** Does some connected route want a message on `subject` in `account`? */
  has(account: string, subject: string): boolean;
}

export interface RoutedInterestListener {
  /** One route's interest in `subject` (and queue group) of `account` appeared or went. */
  routedInterestChanged(account: string, subject: string, queue: string | null, added: boolean): void;
}

export class RoutedInterest {
  private source: RoutedInterestSource | null = null;
  private readonly listeners: RoutedInterestListener[] = [];

  /** The cluster layer: where the routed interest of an account is read. */
  setSource(source: RoutedInterestSource): () => void {
    this.source = source;
    return () => {
      if (this.source === source) this.source = null;
    };
  }

  /** Every route's interest in `account`, one entry per route and subject (and queue). */
  of(account: string): Iterable<RoutedInterestEntry> {
    return this.source === null ? [] : this.source.entries(account);
  }

  /** Does some route want a message on `subject` in `account`? False outside a cluster. */
  has(account: string, subject: string): boolean {
    return this.source !== null && this.source.has(account, subject);
  }

  addListener(l: RoutedInterestListener): () => void {
    this.listeners.push(l);
    return () => {
      const i = this.listeners.indexOf(l);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Called by the cluster layer for every route interest that comes or goes. */
  changed(account: string, subject: string, queue: string | null, added: boolean): void {
    for (let i = 0; i < this.listeners.length; i++) this.listeners[i].routedInterestChanged(account, subject, queue, added);
  }
}
