import { subjectHasWildcard, subjectMatches } from '../../subjects/validate.js';
import { indexOfList, type SubjectOverlapIndex } from '../subject-overlap.js';

/** Up to this many filters are tried one by one; a longer list is asked through its trie (built once per list). */
const LINEAR_FILTERS = 16;
/** Answers remembered at most; a stream of ever-new subjects must not grow the memo without end. */
const MAX_REMEMBERED = 4096;

/**
 * A set of subject filters (wildcards allowed) tested against many stored
 * subjects. Stored subjects repeat, so each answer is remembered instead of
 * re-tokenizing per message (stores keep one filter per filter list, so a
 * consumer's answers outlive a single query).
 */
export class SubjectFilter {
  /** True when the filters accept every subject (none given, or a bare '>'). */
  readonly all: boolean;
  /** The one literal subject when the filter is exactly that; lets callers use the subject index. */
  readonly literal: string | null;
  private readonly filters: readonly string[];
  private readonly index: SubjectOverlapIndex | null;
  private readonly seen = new Map<string, boolean>();

  constructor(filters: readonly string[] | string | null) {
    const list = filters === null ? [] : typeof filters === 'string' ? [filters] : filters;
    this.filters = list;
    this.all = list.length === 0 || list.includes('>');
    this.literal = !this.all && list.length === 1 && !subjectHasWildcard(list[0]) ? list[0] : null;
    // A consumer passes the same filter array on every load, so its trie is built once.
    this.index = list.length > LINEAR_FILTERS ? indexOfList(list) : null;
  }

  matches(subject: string): boolean {
    if (this.all) return true;
    if (this.literal !== null) return subject === this.literal;
    let hit = this.seen.get(subject);
    if (hit === undefined) {
      // A stored subject is literal: it collides exactly with the filters that match it.
      hit = this.index !== null ? this.index.findCollision(subject) >= 0 : this.matchesOneByOne(subject);
      if (this.seen.size >= MAX_REMEMBERED) this.seen.clear();
      this.seen.set(subject, hit);
    }
    return hit;
  }

  private matchesOneByOne(subject: string): boolean {
    for (const f of this.filters) if (f === subject || subjectMatches(f, subject)) return true;
    return false;
  }
}
