import { isValidSubject } from './validate.js';

/**
 * What the sublist stores. Kept structural so the sublist does not depend on
 * the server's connection types.
 */
export interface SublistEntry {
  readonly subject: string;
  readonly queue: string | null;
}

/**
 * Plain subscribers, and queue subscribers grouped by queue name. Results are
 * cached per subject, so `msgHead`/`hmsgHead` let the router keep the
 * subject's frame prefix with them instead of rebuilding it per message.
 */
export interface SublistResult<T extends SublistEntry> {
  /**
   * The subject matched. While the result is cached this one string serves
   * every publish to the subject: the router keeps it in its long-lived
   * message record instead of each publish's fresh copy, which would cost
   * the garbage collector's write barrier on every message.
   */
  readonly subject: string;
  readonly psubs: T[];
  readonly qsubs: T[][];
  msgHead: string | null;
  hmsgHead: string | null;
}

class Level<T extends SublistEntry> {
  readonly literals = new Map<string, Node<T>>();
  pwc: Node<T> | null = null;
  fwc: Node<T> | null = null;

  get size(): number {
    return this.literals.size + (this.pwc ? 1 : 0) + (this.fwc ? 1 : 0);
  }
}

class Node<T extends SublistEntry> {
  next: Level<T> | null = null;
  psubs: T[] = [];
  qsubs: Map<string, T[]> | null = null;

  isEmpty(): boolean {
    return this.psubs.length === 0 && (this.qsubs === null || this.qsubs.size === 0) &&
      (this.next === null || this.next.size === 0);
  }
}

const MAX_CACHE = 1024;

/**
 * Subject trie with '*' and '>' nodes and queue groups, plus a bounded cache
 * of match results keyed by subject. Any insert or remove empties the cache:
 * subscription churn is rare next to publishes, and a cleared cache can never
 * hand out a stale result.
 */
export class Sublist<T extends SublistEntry> {
  private readonly root = new Level<T>();
  private readonly cache = new Map<string, SublistResult<T>>();
  private count = 0;
  private matches = 0;
  private cacheHits = 0;
  private inserts = 0;
  private removes = 0;

  /** Adds `sub`; false when its subject is not a valid subject. */
  insert(sub: T): boolean {
    const subject = sub.subject;
    if (!isValidSubject(subject)) return false;
    const tokens = subject.split('.');
    let level = this.root;
    let node: Node<T> | null = null;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      if (t === '*') {
        node = level.pwc ??= new Node<T>();
      } else if (t === '>') {
        node = level.fwc ??= new Node<T>();
      } else {
        node = level.literals.get(t) ?? null;
        if (node === null) {
          node = new Node<T>();
          level.literals.set(t, node);
        }
      }
      if (i < tokens.length - 1) level = node.next ??= new Level<T>();
    }
    const leaf = node as Node<T>;
    if (sub.queue === null) {
      leaf.psubs.push(sub);
    } else {
      const groups = leaf.qsubs ??= new Map();
      const group = groups.get(sub.queue);
      if (group) group.push(sub);
      else groups.set(sub.queue, [sub]);
    }
    this.count++;
    this.inserts++;
    if (this.cache.size > 0) this.cache.clear();
    return true;
  }

  /** Removes `sub`; false when it was not there. */
  remove(sub: T): boolean {
    const tokens = sub.subject.split('.');
    const path: Array<{ level: Level<T>; token: string; node: Node<T> }> = [];
    let level: Level<T> | null = this.root;
    for (const t of tokens) {
      if (level === null) return false;
      const node: Node<T> | null = t === '*' ? level.pwc : t === '>' ? level.fwc : level.literals.get(t) ?? null;
      if (node === null) return false;
      path.push({ level, token: t, node });
      level = node.next;
    }
    const leaf = path[path.length - 1].node;
    let removed = false;
    if (sub.queue === null) {
      const i = leaf.psubs.indexOf(sub);
      if (i >= 0) {
        leaf.psubs.splice(i, 1);
        removed = true;
      }
    } else if (leaf.qsubs !== null) {
      const group = leaf.qsubs.get(sub.queue);
      const i = group ? group.indexOf(sub) : -1;
      if (group && i >= 0) {
        group.splice(i, 1);
        if (group.length === 0) leaf.qsubs.delete(sub.queue);
        removed = true;
      }
    }
    if (!removed) return false;
    // Prune empty nodes bottom-up so long-lived servers do not accumulate dead branches.
    for (let i = path.length - 1; i >= 0; i--) {
      const { level: l, token, node } = path[i];
      if (!node.isEmpty()) break;
      if (token === '*') l.pwc = null;
      else if (token === '>') l.fwc = null;
      else l.literals.delete(token);
      if (i > 0 && l.size === 0) path[i - 1].node.next = null;
    }
    this.count--;
    this.removes++;
    if (this.cache.size > 0) this.cache.clear();
    return true;
  }

  /** All subscriptions interested in the literal subject. Results are shared: do not mutate. */
  match(subject: string): SublistResult<T> {
    this.matches++;
    const cached = this.cache.get(subject);
    if (cached !== undefined) {
      this.cacheHits++;
      return cached;
    }
    const psubs: T[] = [];
    const qsubs: T[][] = [];
    const tokens = subject.split('.');
    // A subject with an empty token ("foo..bar", ".x") reaches nobody, not even '>'.
    if (!tokens.includes('')) matchLevel(this.root, tokens, 0, psubs, qsubs);
    const result: SublistResult<T> = { subject, psubs, qsubs, msgHead: null, hmsgHead: null };
    if (this.cache.size >= MAX_CACHE) {
      // Drop the oldest entry (Map iterates in insertion order).
      const first = this.cache.keys().next();
      if (!first.done) this.cache.delete(first.value);
    }
    this.cache.set(subject, result);
    return result;
  }

  /** True when anything matches; cheaper than building a result when uncached. */
  hasInterest(subject: string): boolean {
    const r = this.match(subject);
    return r.psubs.length > 0 || r.qsubs.length > 0;
  }

  get size(): number {
    return this.count;
  }

  stats(): { num_subscriptions: number; num_cache: number; num_inserts: number; num_removes: number; num_matches: number; cache_hit_rate: number; max_fanout: number; avg_fanout: number } {
    let maxFanout = 0;
    let totalFanout = 0;
    for (const r of this.cache.values()) {
      const f = r.psubs.length + r.qsubs.length;
      totalFanout += f;
      if (f > maxFanout) maxFanout = f;
    }
    return {
      num_subscriptions: this.count,
      num_cache: this.cache.size,
      num_inserts: this.inserts,
      num_removes: this.removes,
      num_matches: this.matches,
      cache_hit_rate: this.matches === 0 ? 0 : this.cacheHits / this.matches,
      max_fanout: maxFanout,
      avg_fanout: this.cache.size === 0 ? 0 : totalFanout / this.cache.size,
    };
  }

  /** Every stored subscription (for monitoring and tests). */
  all(): T[] {
    const out: T[] = [];
    collect(this.root, out);
    return out;
  }
}

function matchLevel<T extends SublistEntry>(level: Level<T>, tokens: string[], i: number, psubs: T[], qsubs: T[][]): void {
  const last = i === tokens.length - 1;
  if (level.fwc !== null) addNode(level.fwc, psubs, qsubs);
  if (level.pwc !== null) {
    if (last) addNode(level.pwc, psubs, qsubs);
    else if (level.pwc.next !== null) matchLevel(level.pwc.next, tokens, i + 1, psubs, qsubs);
  }
  const node = level.literals.get(tokens[i]);
  if (node !== undefined) {
    if (last) addNode(node, psubs, qsubs);
    else if (node.next !== null) matchLevel(node.next, tokens, i + 1, psubs, qsubs);
  }
}

function addNode<T extends SublistEntry>(node: Node<T>, psubs: T[], qsubs: T[][]): void {
  for (const s of node.psubs) psubs.push(s);
  if (node.qsubs === null) return;
  for (const [name, group] of node.qsubs) {
    // Members of one queue group can sit on different nodes (foo.* and foo.bar):
    // they are still one group, so merge by name.
    let merged = false;
    for (let k = 0; k < qsubs.length; k++) {
      if (qsubs[k][0].queue === name) {
        qsubs[k] = qsubs[k].concat(group);
        merged = true;
        break;
      }
    }
    if (!merged) qsubs.push(group.slice());
  }
}

function collect<T extends SublistEntry>(level: Level<T>, out: T[]): void {
  const visit = (n: Node<T>): void => {
    for (const s of n.psubs) out.push(s);
    if (n.qsubs) for (const g of n.qsubs.values()) for (const s of g) out.push(s);
    if (n.next) collect(n.next, out);
  };
  for (const n of level.literals.values()) visit(n);
  if (level.pwc) visit(level.pwc);
  if (level.fwc) visit(level.fwc);
}
