import { isValidSubject, subjectHasWildcard } from './validate.js';

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

/**
 * The subscribers on one node (plain ones, or one queue group): an array
 * while few, a Set once past SET_ABOVE. An array is a fraction of a Set's
 * size, but removing from it costs its length: a hundred thousand
 * subscriptions on one subject, unsubscribed one by one, would cost time
 * growing with the square of their number.
 */
type Members<T> = T[] | Set<T>;

const SET_ABOVE = 16;

function withMember<T>(list: Members<T> | null, sub: T): Members<T> {
  if (list === null) return [sub];
  if (!Array.isArray(list)) return list.add(sub);
  if (list.length < SET_ABOVE) {
    list.push(sub);
    return list;
  }
  return new Set(list).add(sub);
}

/** Removes `sub` from `list`; false when it was not there. */
function withoutMember<T>(list: Members<T>, sub: T): boolean {
  if (!Array.isArray(list)) return list.delete(sub);
  const i = list.indexOf(sub);
  if (i < 0) return false;
  list.splice(i, 1);
  return true;
}

function sizeOf<T>(list: Members<T>): number {
  return Array.isArray(list) ? list.length : list.size;
}

/**
 * One token position: the subscriptions whose subject ends here, and the
 * children for the next token.
 *
 * Sized for subscription churn: a server may hold hundreds of thousands of
 * subscriptions on distinct subjects, most nodes then have at most one
 * literal child and few subscribers, and every byte per node is copied by
 * the garbage collector while the subscriptions are young. So the first
 * literal child sits in two fields (a Map costs ten times as much), and the
 * Map and the subscriber lists only exist once needed.
 */
class Node<T extends SublistEntry> {
  /** The token of the only literal child, while `literals` is null. */
  private soleToken: string | null = null;
  private soleChild: Node<T> | null = null;
  /** Literal children, once a second one came. */
  private literals: Map<string, Node<T>> | null = null;
  pwc: Node<T> | null = null;
  fwc: Node<T> | null = null;
  psubs: Members<T> | null = null;
  qsubs: Map<string, Members<T>> | null = null;

  literal(token: string): Node<T> | null {
    if (this.literals !== null) return this.literals.get(token) ?? null;
    return this.soleToken === token ? this.soleChild : null;
  }

  /** The child for `token` ('*', '>' or a literal), or null. */
  child(token: string): Node<T> | null {
    return token === '*' ? this.pwc : token === '>' ? this.fwc : this.literal(token);
  }

  /** The child for `token`, created when missing. */
  childOrNew(token: string): Node<T> {
    if (token === '*') return this.pwc ??= new Node<T>();
    if (token === '>') return this.fwc ??= new Node<T>();
    const found = this.literal(token);
    if (found !== null) return found;
    const node = new Node<T>();
    if (this.literals !== null) {
      this.literals.set(token, node);
    } else if (this.soleChild === null) {
      this.soleToken = token;
      this.soleChild = node;
    } else {
      this.literals = new Map([[this.soleToken as string, this.soleChild], [token, node]]);
      this.soleToken = null;
      this.soleChild = null;
    }
    return node;
  }

  dropChild(token: string): void {
    if (token === '*') this.pwc = null;
    else if (token === '>') this.fwc = null;
    else if (this.literals !== null) this.literals.delete(token);
    else if (this.soleToken === token) {
      this.soleToken = null;
      this.soleChild = null;
    }
  }

  add(sub: T): void {
    if (sub.queue === null) {
      this.psubs = withMember(this.psubs, sub);
      return;
    }
    const groups = this.qsubs ??= new Map();
    groups.set(sub.queue, withMember(groups.get(sub.queue) ?? null, sub));
  }

  /** Removes `sub` from this node's subscribers; false when it was not there. */
  delete(sub: T): boolean {
    if (sub.queue === null) {
      const list = this.psubs;
      if (list === null || !withoutMember(list, sub)) return false;
      if (sizeOf(list) === 0) this.psubs = null;
      return true;
    }
    const groups = this.qsubs;
    const group = groups?.get(sub.queue);
    if (groups === null || group === undefined || !withoutMember(group, sub)) return false;
    if (sizeOf(group) === 0) groups.delete(sub.queue);
    return true;
  }

  isEmpty(): boolean {
    return this.psubs === null && (this.qsubs === null || this.qsubs.size === 0) &&
      this.pwc === null && this.fwc === null && this.soleChild === null &&
      (this.literals === null || this.literals.size === 0);
  }

  /** Every literal child (for walks that visit the whole trie). */
  literalChildren(): Iterable<Node<T>> {
    if (this.literals !== null) return this.literals.values();
    return this.soleChild === null ? [] : [this.soleChild];
  }
}

const MAX_CACHE = 1024;

/**
 * Subject trie with '*' and '>' nodes and queue groups, plus a bounded cache
 * of match results keyed by subject.
 *
 * Inserting or removing costs the subject's length, whatever the number of
 * subscriptions. A change can never leave a stale result in the cache: a
 * literal subscription only ever matches its own subject, so only that
 * entry goes; a wildcard one may match any cached subject, so the cache is
 * emptied (in constant time; testing each entry against the wildcard would
 * cost up to MAX_CACHE matches per change).
 */
export class Sublist<T extends SublistEntry> {
  private readonly root = new Node<T>();
  private readonly cache = new Map<string, SublistResult<T>>();
  /**
   * The result returned last, tried before the map: a publisher mostly
   * repeats its subject (the parser hands over the very same string), and
   * one comparison costs less than a map lookup. Any change drops it.
   */
  private last: SublistResult<T> | null = null;
  private count = 0;
  private matches = 0;
  private cacheHits = 0;
  private inserts = 0;
  private removes = 0;

  /** Adds `sub`; false when its subject is not a valid subject. */
  insert(sub: T): boolean {
    const subject = sub.subject;
    if (!isValidSubject(subject)) return false;
    let node = this.root;
    let start = 0;
    for (;;) {
      const dot = subject.indexOf('.', start);
      node = node.childOrNew(subject.slice(start, dot < 0 ? subject.length : dot));
      if (dot < 0) break;
      start = dot + 1;
    }
    node.add(sub);
    this.count++;
    this.inserts++;
    this.invalidate(subject);
    return true;
  }

  /** Removes `sub`; false when it was not there. Nodes left empty are pruned. */
  remove(sub: T): boolean {
    if (!removeBelow(this.root, sub, 0)) return false;
    this.count--;
    this.removes++;
    this.invalidate(sub.subject);
    return true;
  }

  private invalidate(subject: string): void {
    this.last = null;
    if (this.cache.size === 0) return;
    if (subjectHasWildcard(subject)) this.cache.clear();
    else this.cache.delete(subject);
  }

  /** All subscriptions interested in the literal subject. Results are shared: do not mutate. */
  match(subject: string): SublistResult<T> {
    this.matches++;
    const last = this.last;
    if (last !== null && last.subject === subject) {
      this.cacheHits++;
      return last;
    }
    const cached = this.cache.get(subject);
    if (cached !== undefined) {
      this.cacheHits++;
      this.last = cached;
      return cached;
    }
    const psubs: T[] = [];
    const qsubs: T[][] = [];
    const tokens = subject.split('.');
    // A subject with an empty token ("foo..bar", ".x") reaches nobody, not even '>'.
    if (!tokens.includes('')) matchNode(this.root, tokens, 0, psubs, qsubs);
    const result: SublistResult<T> = { subject, psubs, qsubs, msgHead: null, hmsgHead: null };
    if (this.cache.size >= MAX_CACHE) {
      // Drop the oldest entry (Map iterates in insertion order).
      const first = this.cache.keys().next();
      if (!first.done) this.cache.delete(first.value);
    }
    this.cache.set(subject, result);
    this.last = result;
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

  /**
   * Every stored subscription, in all()'s order, one at a time: a walk the
   * caller can pause between subscriptions (monitoring over hundreds of
   * thousands). Changes made while it is paused may or may not be seen.
   */
  *entries(): Generator<T, void, void> {
    const pending: Array<Iterator<Node<T>>> = [];
    let node: Node<T> | undefined = this.root;
    while (node !== undefined) {
      if (node.psubs !== null) yield* node.psubs;
      if (node.qsubs !== null) for (const group of node.qsubs.values()) yield* group;
      pending.push(childrenOf(node));
      node = undefined;
      while (node === undefined && pending.length > 0) {
        const next = pending[pending.length - 1].next();
        if (next.done === true) pending.pop();
        else node = next.value;
      }
    }
  }
}

/** A node's children in the order walks visit them: literals, then '*', then '>'. */
function* childrenOf<T extends SublistEntry>(node: Node<T>): Generator<Node<T>, void, void> {
  yield* node.literalChildren();
  if (node.pwc !== null) yield node.pwc;
  if (node.fwc !== null) yield node.fwc;
}

/**
 * Removes `sub` from below `node`, whose subject's tokens from `start` on
 * lead to it, and prunes every node the removal leaves empty. Walks the
 * subject in place: an UNSUB allocates nothing but the token strings.
 */
function removeBelow<T extends SublistEntry>(node: Node<T>, sub: T, start: number): boolean {
  const subject = sub.subject;
  const dot = subject.indexOf('.', start);
  const token = subject.slice(start, dot < 0 ? subject.length : dot);
  const child = node.child(token);
  if (child === null) return false;
  if (!(dot < 0 ? child.delete(sub) : removeBelow(child, sub, dot + 1))) return false;
  if (child.isEmpty()) node.dropChild(token);
  return true;
}

function matchNode<T extends SublistEntry>(node: Node<T>, tokens: string[], i: number, psubs: T[], qsubs: T[][]): void {
  const last = i === tokens.length - 1;
  if (node.fwc !== null) addNode(node.fwc, psubs, qsubs);
  const pwc = node.pwc;
  if (pwc !== null) {
    if (last) addNode(pwc, psubs, qsubs);
    else matchNode(pwc, tokens, i + 1, psubs, qsubs);
  }
  const lit = node.literal(tokens[i]);
  if (lit !== null) {
    if (last) addNode(lit, psubs, qsubs);
    else matchNode(lit, tokens, i + 1, psubs, qsubs);
  }
}

function addNode<T extends SublistEntry>(node: Node<T>, psubs: T[], qsubs: T[][]): void {
  if (node.psubs !== null) for (const s of node.psubs) psubs.push(s);
  if (node.qsubs === null) return;
  for (const [name, group] of node.qsubs) {
    // Members of one queue group can sit on different nodes (foo.* and foo.bar):
    // they are still one group, so merge by name. Results get arrays of their
    // own: the router picks members by index, and must not share the stored list.
    let merged = false;
    for (let k = 0; k < qsubs.length; k++) {
      if (qsubs[k][0].queue === name) {
        qsubs[k] = [...qsubs[k], ...group];
        merged = true;
        break;
      }
    }
    if (!merged) qsubs.push([...group]);
  }
}

function collect<T extends SublistEntry>(node: Node<T>, out: T[]): void {
  if (node.psubs !== null) for (const s of node.psubs) out.push(s);
  if (node.qsubs !== null) for (const g of node.qsubs.values()) for (const s of g) out.push(s);
  for (const child of node.literalChildren()) collect(child, out);
  if (node.pwc !== null) collect(node.pwc, out);
  if (node.fwc !== null) collect(node.fwc, out);
}
