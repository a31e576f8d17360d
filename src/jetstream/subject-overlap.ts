/**
 * Subject overlap without comparing every pair. A stream config may list
 * tens of thousands of subjects and each must be checked against all the
 * others and against the account's other streams; consumers may have many
 * filter subjects. Comparing pairs (subjectsCollide in nested loops) is
 * quadratic: 12,000 subjects froze the server for 25 s. Here the subjects go
 * into a token trie and each question walks only the trie nodes the subject
 * can reach.
 *
 * The answers are those of subjectsCollide (accounts/subject-sets.ts) for
 * valid subjects: could one literal subject match both? Invalid subjects
 * (a '>' before the end, empty tokens) must not be inserted.
 */
import { isValidSubject } from '../subjects/validate.js';
import { subjectsCollide } from '../accounts/subject-sets.js';

class TrieNode {
  /**
   * Literal children. Most nodes have one (the tail of a long literal
   * subject), kept in the fields below; a Map only once there are more.
   */
  private soleToken: string | null = null;
  private soleChild: TrieNode | null = null;
  private literals: Map<string, TrieNode> | null = null;
  pwc: TrieNode | null = null;
  /** A subject that ends with '>' right below this node (its index), else -1. */
  fwc = -1;
  /** A subject that ends at this node (its index), else -1. */
  end = -1;
  /** Some subject that passes through or ends at this node: a node exists only on the path of one. */
  readonly some: number;

  constructor(some: number) {
    this.some = some;
  }

  literal(token: string): TrieNode | undefined {
    if (this.soleToken === token) return this.soleChild as TrieNode;
    return this.literals?.get(token);
  }

  addLiteral(token: string, some: number): TrieNode {
    const child = new TrieNode(some);
    if (this.soleToken === null && this.literals === null) {
      this.soleToken = token;
      this.soleChild = child;
    } else {
      if (this.literals === null) {
        this.literals = new Map([[this.soleToken as string, this.soleChild as TrieNode]]);
        this.soleToken = null;
        this.soleChild = null;
      }
      this.literals.set(token, child);
    }
    return child;
  }

  /** Pushes every literal child onto the walk's stack at `depth`. */
  pushLiterals(nodes: TrieNode[], depths: number[], depth: number): void {
    if (this.soleChild !== null) {
      nodes.push(this.soleChild);
      depths.push(depth);
    } else if (this.literals !== null) {
      for (const child of this.literals.values()) {
        nodes.push(child);
        depths.push(depth);
      }
    }
  }

  /** Some subject with at least one token below this node, or -1. */
  someBelow(): number {
    if (this.fwc >= 0) return this.fwc;
    if (this.pwc !== null) return this.pwc.some;
    if (this.soleChild !== null) return this.soleChild.some;
    if (this.literals !== null) for (const child of this.literals.values()) return child.some;
    return -1;
  }
}

export class SubjectOverlapIndex {
  private readonly root = new TrieNode(-1);
  /**
   * Trie nodes visited and subjects inserted since the caller last reset it:
   * how callers that run in slices measure the work done.
   */
  work = 0;
  // The walk's explicit stack, kept between calls: subjects may have thousands
  // of tokens (recursion could overflow) and a query must not allocate per node.
  private readonly stackNodes: TrieNode[] = [];
  private readonly stackDepths: number[] = [];

  /** Adds a valid subject under `index` (the caller's name for it, >= 0). */
  insert(subject: string, index: number): void {
    this.insertTokens(subject.split('.'), index);
  }

  /**
   * findCollision, then insert (a valid subject only): one tokenization for
   * both, for callers that add each subject after asking about it.
   */
  findCollisionThenInsert(subject: string, index: number): number {
    const tokens = subject.split('.');
    const found = this.collision(tokens);
    this.insertTokens(tokens, index);
    return found;
  }

  /**
   * The index of an inserted subject that collides with `subject` (any one
   * of them), or -1. A literal `subject` collides exactly with the inserted
   * subjects that match it, so this also serves as a matcher.
   */
  findCollision(subject: string): number {
    return this.collision(subject.split('.'));
  }

  private insertTokens(tokens: readonly string[], index: number): void {
    let node = this.root;
    this.work++;
    for (let k = 0; k < tokens.length; k++) {
      const t = tokens[k];
      if (t === '>') {
        if (node.fwc < 0) node.fwc = index;
        return;
      }
      if (t === '*') node = node.pwc ??= new TrieNode(index);
      else node = node.literal(t) ?? node.addLiteral(t, index);
    }
    if (node.end < 0) node.end = index;
  }

  private collision(tokens: readonly string[]): number {
    const n = tokens.length;
    const nodes = this.stackNodes;
    const depths = this.stackDepths;
    nodes.push(this.root);
    depths.push(0);
    let found = -1;
    while (nodes.length > 0) {
      const node = nodes.pop() as TrieNode;
      const k = depths.pop() as number;
      this.work++;
      if (k === n) {
        if (node.end >= 0) {
          found = node.end;
          break;
        }
        continue;
      }
      // An inserted '>' here takes the one or more tokens the query still has.
      if (node.fwc >= 0) {
        found = node.fwc;
        break;
      }
      const t = tokens[k];
      if (t === '>') {
        // The query takes one or more tokens: any inserted subject going deeper collides.
        found = node.someBelow();
        if (found >= 0) break;
        continue;
      }
      if (node.pwc !== null) {
        nodes.push(node.pwc);
        depths.push(k + 1);
      }
      if (t === '*') {
        node.pushLiterals(nodes, depths, k + 1);
      } else {
        const child = node.literal(t);
        if (child !== undefined) {
          nodes.push(child);
          depths.push(k + 1);
        }
      }
    }
    nodes.length = 0;
    depths.length = 0;
    return found;
  }
}

const listIndexes = new WeakMap<readonly string[], SubjectOverlapIndex>();

/**
 * The trie of a list that never changes once made (a stream config's
 * subjects), built on first use, or handed over by whoever built it while
 * validating the list, and kept while the list lives. Invalid entries are
 * left out.
 */
export function indexOfList(list: readonly string[]): SubjectOverlapIndex {
  let index = listIndexes.get(list);
  if (index === undefined) {
    index = new SubjectOverlapIndex();
    for (let i = 0; i < list.length; i++) if (isValidSubject(list[i])) index.insert(list[i], i);
    listIndexes.set(list, index);
  }
  return index;
}

/** Keeps `index` as the trie of `list` for indexOfList: it must hold exactly the list's valid subjects under their positions. */
export function rememberIndexOfList(list: readonly string[], index: SubjectOverlapIndex): void {
  listIndexes.set(list, index);
}

/** How much work (trie nodes visited, subjects handled) a generator below does between two yields. */
export const WORK_PER_YIELD = 4096;

/**
 * The most work one overlap search may take. Real subject lists cost a few
 * units per subject (100,000 subjects: about a million); lists built so that
 * wildcards meet thousands of literal siblings cost up to the product of
 * their sizes (two halves of 6,000: 36 million, 0.8 s), so they are refused
 * past this (about 0.7 s of work, done in slices) rather than computed.
 */
export const MAX_OVERLAP_WORK = 32_000_000;

/** The first colliding pair in list order, as nats-server's pairwise loop would report it. */
export interface OverlapPair {
  readonly first: number;
  readonly second: number;
}

export interface OverlapSearch {
  /** Null when no subject collides with another, or when the search was given up. */
  readonly pair: OverlapPair | null;
  /** More than MAX_OVERLAP_WORK was needed: no answer. */
  readonly overBudget: boolean;
  /** The valid subjects of the list (complete unless over budget). */
  readonly index: SubjectOverlapIndex;
}

/**
 * The first subject (in list order) that collides with a later one, paired
 * with the first such later one: what a loop over every i comparing with
 * every j > i finds first. Only the subjects before `candidatesEnd` may be
 * the first of the pair (they must be valid); any later valid subject may be
 * the second (invalid ones are left out). Yields every WORK_PER_YIELD units
 * of work so a caller can spread it over event-loop turns (see slices.ts).
 */
export function* findFirstOverlap(subjects: readonly string[], candidatesEnd: number): Generator<void, OverlapSearch> {
  const index = new SubjectOverlapIndex();
  let spent = 0;
  // From the back: when subject i is asked about, exactly the subjects after it are in the trie.
  let first = -1;
  for (let i = subjects.length - 1; i >= 0; i--) {
    const subject = subjects[i];
    if (i < candidatesEnd) {
      if (index.findCollisionThenInsert(subject, i) >= 0) first = i;
    } else if (isValidSubject(subject)) {
      index.insert(subject, i);
    }
    if (index.work >= WORK_PER_YIELD) {
      spent += index.work;
      index.work = 0;
      if (spent > MAX_OVERLAP_WORK) return { pair: null, overBudget: true, index };
      yield;
    }
  }
  if (first < 0) return { pair: null, overBudget: false, index };
  const subject = subjects[first];
  for (let j = first + 1; j < subjects.length; j++) {
    const other = subjects[j];
    if (isValidSubject(other) && subjectsCollide(other, subject)) return { pair: { first, second: j }, overBudget: false, index };
    if (j % WORK_PER_YIELD === 0) yield;
  }
  throw new Error(`subject overlap index and subjectsCollide disagree about ${JSON.stringify(subject)}`);
}

/** Whether any of some subjects collides with a subject in an index; 'over-budget' past MAX_OVERLAP_WORK. */
export type CollisionSearch = 'found' | 'none' | 'over-budget';

/**
 * Looks up each list of `lists` in `index`, yielding as findFirstOverlap
 * does; one budget covers all the lists.
 */
export function* anyCollision(index: SubjectOverlapIndex, lists: Iterable<readonly string[]>): Generator<void, CollisionSearch> {
  let spent = 0;
  for (const subjects of lists) {
    for (const subject of subjects) {
      if (index.findCollision(subject) >= 0) return 'found';
      if (index.work >= WORK_PER_YIELD) {
        spent += index.work;
        index.work = 0;
        if (spent > MAX_OVERLAP_WORK) return 'over-budget';
        yield;
      }
    }
  }
  return 'none';
}
