/**
 * Interest that routes announced (subscriptions on other servers of the
 * cluster), offered to subsystems that must pass it on: a leaf connection
 * is told every interest of its account, routed interest included, as
 * nats-server keeps route subscriptions in the account sublist. The
 * cluster layer supplies it (setSource, changed); leaf nodes listen. Both
 * registrations return their undo.
 */

export interface RoutedInterestEntry {
  readonly subject: string;
  readonly queue: string | null;
}

export interface RoutedInterestListener {
  /** One route's interest in `subject` (and queue group) of `account` appeared or went. */
  routedInterestChanged(account: string, subject: string, queue: string | null, added: boolean): void;
}

export class RoutedInterest {
  private source: ((account: string) => Iterable<RoutedInterestEntry>) | null = null;
  private readonly listeners: RoutedInterestListener[] = [];

  /** The cluster layer: where the routed interest of an account is read. */
  setSource(source: (account: string) => Iterable<RoutedInterestEntry>): () => void {
    this.source = source;
    return () => {
      if (this.source === source) this.source = null;
    };
  }

  /** Every route's interest in `account`, one entry per route and subject (and queue). */
  of(account: string): Iterable<RoutedInterestEntry> {
    return this.source === null ? [] : this.source(account);
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
