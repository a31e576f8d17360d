/**
 * Interest across routes, both directions.
 *
 * Local interest is what this server tells its routes: per account, one
 * entry per subject (plain subscribers, announced on 0->1 and withdrawn on
 * 1->0) and per subject+queue (announced with the member count as the
 * queue weight on every change), as nats-server keeps it in its per-account
 * route map.
 *
 * Remote interest is what routes told this server: per account a Sublist
 * of RemoteSub entries, each naming the route it came from, so one match
 * per published message finds every route that wants it.
 */
import { Sublist, type SublistEntry } from '../subjects/sublist.js';

/** Where a remote subscription came from: just enough of a route for choosing targets. */
export interface InterestSource {
  /** Only registered routes carry traffic; a duplicate being closed never does. */
  readonly registered: boolean;
}

export class RemoteSub<R extends InterestSource> implements SublistEntry {
  readonly account: string;
  readonly subject: string;
  readonly queue: string | null;
  /** Queue members behind this entry on the remote server. */
  weight: number;
  readonly route: R;

  constructor(account: string, subject: string, queue: string | null, weight: number, route: R) {
    this.account = account;
    this.subject = subject;
    this.queue = queue;
    this.weight = weight;
    this.route = route;
  }
}

/** The RS+/RS- key of an interest: "subject" or "subject queue". */
export function interestKey(subject: string, queue: string | null): string {
  return queue === null ? subject : subject + ' ' + queue;
}

interface LocalEntry {
  readonly subject: string;
  readonly queue: string | null;
  count: number;
}

/** One announcement to make to the routes; weight 0 withdraws the interest. */
export interface InterestUpdate {
  readonly account: string;
  readonly subject: string;
  readonly queue: string | null;
  readonly weight: number;
}

export class LocalInterest {
  private readonly byAccount = new Map<string, Map<string, LocalEntry>>();

  /** Counts a new local subscription; returns what routes must hear, or null. */
  add(account: string, subject: string, queue: string | null): InterestUpdate | null {
    let entries = this.byAccount.get(account);
    if (entries === undefined) {
      entries = new Map();
      this.byAccount.set(account, entries);
    }
    const key = interestKey(subject, queue);
    let e = entries.get(key);
    if (e === undefined) {
      e = { subject, queue, count: 0 };
      entries.set(key, e);
    }
    e.count++;
    if (queue === null && e.count > 1) return null;
    return { account, subject, queue, weight: queue === null ? 1 : e.count };
  }

  /** Uncounts a local subscription; returns what routes must hear, or null. */
  remove(account: string, subject: string, queue: string | null): InterestUpdate | null {
    const entries = this.byAccount.get(account);
    const key = interestKey(subject, queue);
    const e = entries?.get(key);
    if (entries === undefined || e === undefined) return null;
    e.count--;
    if (e.count <= 0) {
      entries.delete(key);
      if (entries.size === 0) this.byAccount.delete(account);
      return { account, subject, queue, weight: 0 };
    }
    if (queue === null) return null;
    return { account, subject, queue, weight: e.count };
  }

  /** Everything a newly registered route must be told. */
  *all(): Iterable<InterestUpdate> {
    for (const [account, entries] of this.byAccount) {
      for (const e of entries.values()) {
        yield { account, subject: e.subject, queue: e.queue, weight: e.queue === null ? 1 : e.count };
      }
    }
  }
}

/**
 * Routes chosen for one message, and the queue groups each is asked to
 * serve. Only the first `count` entries count: the arrays are reused from
 * message to message and never shrunk (truncating an array is a runtime
 * call that showed in profiles of routed traffic).
 */
export interface Targets<R extends InterestSource> {
  count: number;
  readonly routes: R[];
  /** Parallel to `routes`: the queue names for that route, or null. */
  readonly queues: (string[] | null)[];
}

export class RemoteInterest<R extends InterestSource> {
  private readonly byAccount = new Map<string, Sublist<RemoteSub<R>>>();
  private readonly targets: Targets<R> = { count: 0, routes: [], queues: [] };
  /** Told of every entry that comes or goes (leaf nodes pass routed interest on). */
  onChange: ((sub: RemoteSub<R>, added: boolean) => void) | null = null;

  /** Adds an entry; false when its subject is not a valid subscription subject. */
  insert(sub: RemoteSub<R>): boolean {
    let list = this.byAccount.get(sub.account);
    if (list === undefined) {
      list = new Sublist<RemoteSub<R>>();
      this.byAccount.set(sub.account, list);
    }
    const ok = list.insert(sub);
    if (ok && this.onChange !== null) this.onChange(sub, true);
    return ok;
  }

  remove(sub: RemoteSub<R>): void {
    const list = this.byAccount.get(sub.account);
    if (list === undefined) return;
    const removed = list.remove(sub);
    if (list.size === 0) this.byAccount.delete(sub.account);
    if (removed && this.onChange !== null) this.onChange(sub, false);
  }

  /** Every entry of `account`. */
  entries(account: string): readonly RemoteSub<R>[] {
    return this.byAccount.get(account)?.all() ?? [];
  }

  /** Does some registered route want a message on `subject` in `account`? */
  hasInterest(account: string, subject: string): boolean {
    const list = this.byAccount.get(account);
    if (list === undefined) return false;
    const r = list.match(subject);
    for (let i = 0; i < r.psubs.length; i++) if (r.psubs[i].route.registered) return true;
    for (let g = 0; g < r.qsubs.length; g++) {
      const group = r.qsubs[g];
      for (let i = 0; i < group.length; i++) if (group[i].route.registered) return true;
    }
    return false;
  }

  /**
   * The routes a message on `subject` in `account` goes to: every route
   * with a plain subscriber, and for each queue group not already served
   * locally one route, picked at random weighted by its member count. The
   * result is reused by the next call.
   */
  select(account: string, subject: string, localQueues: readonly string[]): Targets<R> | null {
    const list = this.byAccount.get(account);
    if (list === undefined) return null;
    const r = list.match(subject);
    const psubs = r.psubs;
    const qsubs = r.qsubs;
    if (psubs.length === 0 && qsubs.length === 0) return null;
    const t = this.targets;
    t.count = 0;
    for (let i = 0; i < psubs.length; i++) {
      const route = psubs[i].route;
      if (route.registered && indexOf(t, route) < 0) add(t, route);
    }
    for (let g = 0; g < qsubs.length; g++) {
      const group = qsubs[g];
      const name = group[0].queue as string;
      if (localQueues.includes(name)) continue;
      const chosen = pickWeighted(group);
      if (chosen === null) continue;
      let k = indexOf(t, chosen.route);
      if (k < 0) k = add(t, chosen.route);
      (t.queues[k] ??= []).push(name);
    }
    return t.count === 0 ? null : t;
  }

  /**
   * A route that still serves queue group `queue` for `subject`, for a
   * routed message whose member here went away: weighted by members,
   * avoiding `avoid` (where the message came from) unless no other route
   * has any.
   */
  queueRoute(account: string, subject: string, queue: string, avoid: R): R | null {
    const list = this.byAccount.get(account);
    if (list === undefined) return null;
    const qsubs = list.match(subject).qsubs;
    for (let g = 0; g < qsubs.length; g++) {
      const group = qsubs[g];
      if (group[0].queue !== queue) continue;
      const others = group.filter((s) => s.route !== avoid);
      return (pickWeighted(others) ?? pickWeighted(group))?.route ?? null;
    }
    return null;
  }
}

function indexOf<R extends InterestSource>(t: Targets<R>, route: R): number {
  for (let i = 0; i < t.count; i++) if (t.routes[i] === route) return i;
  return -1;
}

/** Appends a route without queue groups; returns its index. */
function add<R extends InterestSource>(t: Targets<R>, route: R): number {
  const k = t.count++;
  t.routes[k] = route;
  t.queues[k] = null;
  return k;
}

/** One member of a group spread over routes, weighted by the members each route has. */
function pickWeighted<R extends InterestSource>(group: readonly RemoteSub<R>[]): RemoteSub<R> | null {
  let total = 0;
  for (let i = 0; i < group.length; i++) if (group[i].route.registered) total += group[i].weight;
  if (total === 0) return null;
  let x = Math.random() * total;
  let last: RemoteSub<R> | null = null;
  for (let i = 0; i < group.length; i++) {
    const s = group[i];
    if (!s.route.registered) continue;
    last = s;
    x -= s.weight;
    if (x < 0) return s;
  }
  return last;
}
