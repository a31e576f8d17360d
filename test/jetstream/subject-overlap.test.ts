/**
 * The subject overlap trie (src/jetstream/subject-overlap.ts) and the checks
 * built on it give the answers of the pairwise loops they replaced, on
 * random subject lists; and they stay fast where the loops were quadratic.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSubsetMatch, subjectsCollide } from '../../src/accounts/subject-sets.js';
import { isValidSubject, subjectMatches } from '../../src/subjects/validate.js';
import {
  anyCollision, findFirstOverlap, MAX_OVERLAP_WORK, SubjectOverlapIndex,
} from '../../src/jetstream/subject-overlap.js';
import { checkSubjectList, MAX_STREAM_SUBJECTS } from '../../src/jetstream/stream-config.js';
import { checkFilterList, FilterSet, MAX_FILTER_SUBJECTS } from '../../src/jetstream/consumer/config.js';
import { SubjectFilter } from '../../src/jetstream/store/subject-filter.js';
import { runToEnd } from '../../src/jetstream/slices.js';
import { Rng } from '../helpers/random.js';

const FIRST_TOKENS = ['a', 'b', '*', '$JS', '$JSC', '$NRG', '$SYS'] as const;
const MIDDLE_TOKENS = ['a', 'b', 'c', '*', 'EVENT', 'ACCOUNT', 'API'] as const;

/** A valid subject of 1-4 tokens from a small alphabet, so that collisions are common. */
function randomSubject(rng: Rng): string {
  const n = rng.range(1, 4);
  const tokens: string[] = [rng.pick(FIRST_TOKENS)];
  for (let i = 1; i < n; i++) tokens.push(rng.pick(MIDDLE_TOKENS));
  if (rng.chance(0.2)) tokens[n - 1] = '>';
  return tokens.join('.');
}

function randomList(rng: Rng, maxLen: number): string[] {
  return Array.from({ length: rng.range(1, maxLen) }, () => randomSubject(rng));
}

/** The stream subject loop as it was (nats-server's checkStreamCfg): pairwise. */
function pairwiseStreamCheck(subjects: readonly string[], noAck: boolean): string | null {
  const dset = new Set<string>();
  for (let i = 0; i < subjects.length; i++) {
    const subj = subjects[i];
    if (!isValidSubject(subj)) return 'invalid subject';
    if (dset.has(subj)) return 'duplicate subjects detected';
    if (subj === '>' && !noAck) return 'capturing all subjects requires no-ack to be true';
    if (!noAck) {
      for (const ns of ['$JS.>', '$JSC.>', '$NRG.>']) {
        if (subjectsCollide(subj, ns) && !isSubsetMatch(subj, '$JS.EVENT.>')) return 'subjects that overlap with jetstream api require no-ack to be true';
      }
      if (subjectsCollide(subj, '$SYS.>') && !isSubsetMatch(subj, '$SYS.ACCOUNT.>')) return 'subjects that overlap with system api require no-ack to be true';
    }
    for (const other of subjects.slice(i + 1)) {
      if (subjectsCollide(other, subj)) return `subject ${JSON.stringify(subj)} overlaps with ${JSON.stringify(other)}`;
    }
    dset.add(subj);
  }
  return null;
}

/** The consumer filter loop as it was: pairwise, every i against every j != i. */
function pairwiseFilterCheck(filters: readonly string[]): string | null {
  for (let i = 0; i < filters.length; i++) {
    if (!isValidSubject(filters[i])) return 'invalid subject';
    for (let j = 0; j < filters.length; j++) {
      if (i !== j && subjectsCollide(filters[i], filters[j])) return 'consumer subject filters cannot overlap';
    }
  }
  return null;
}

describe('subject overlap trie', () => {
  it('finds a collision exactly when subjectsCollide finds one, and names a subject that does collide', () => {
    const rng = new Rng(17);
    for (let round = 0; round < 2000; round++) {
      const inserted = [...new Set(randomList(rng, 12))];
      const index = new SubjectOverlapIndex();
      inserted.forEach((s, i) => index.insert(s, i));
      for (let q = 0; q < 5; q++) {
        const query = randomSubject(rng);
        const expected = inserted.some((s) => subjectsCollide(query, s));
        const found = index.findCollision(query);
        assert.equal(found >= 0, expected, `${query} against ${JSON.stringify(inserted)}`);
        if (found >= 0) assert.ok(subjectsCollide(query, inserted[found]), `${query} does not collide with ${inserted[found]}`);
      }
    }
  });

  it('checks a stream\'s subject list with the pairwise loop\'s answers (error and the pair it names)', () => {
    const rng = new Rng(4242);
    let overlaps = 0;
    for (let round = 0; round < 3000; round++) {
      const subjects = randomList(rng, 10);
      const noAck = rng.chance(0.3);
      const expected = pairwiseStreamCheck(subjects, noAck);
      const got = runToEnd(checkSubjectList(subjects, noAck)).error?.message ?? null;
      assert.equal(got, expected, `${JSON.stringify(subjects)} no_ack=${noAck}`);
      if (expected?.includes('overlaps with')) overlaps++;
    }
    assert.ok(overlaps > 300, `only ${overlaps} lists with an overlap: the generator no longer exercises it`);
  });

  it('checks a consumer\'s filter list with the pairwise loop\'s answers', () => {
    const rng = new Rng(99);
    for (let round = 0; round < 3000; round++) {
      const filters = randomList(rng, 8);
      const got = runToEnd(checkFilterList(filters)).error?.message ?? null;
      assert.equal(got, pairwiseFilterCheck(filters), JSON.stringify(filters));
    }
  });

  it('looks up other lists as the pairwise loop did', () => {
    const rng = new Rng(5);
    for (let round = 0; round < 1000; round++) {
      const mine = [...new Set(randomList(rng, 6))];
      const theirs = [randomList(rng, 6), randomList(rng, 6)];
      const index = new SubjectOverlapIndex();
      mine.forEach((s, i) => index.insert(s, i));
      const expected = theirs.some((list) => list.some((t) => mine.some((m) => subjectsCollide(m, t))));
      assert.equal(runToEnd(anyCollision(index, theirs)), expected ? 'found' : 'none');
    }
  });

  it('matches literal subjects against many filters as one by one matching does (FilterSet, SubjectFilter)', () => {
    const rng = new Rng(8);
    for (let round = 0; round < 200; round++) {
      // Over the 16 filters both switch to the trie at.
      const filters = [...new Set(Array.from({ length: 40 }, () => randomSubject(rng)))];
      const set = new FilterSet(filters);
      const filter = new SubjectFilter(filters);
      for (let q = 0; q < 20; q++) {
        const subject = Array.from({ length: rng.range(1, 4) }, () => rng.pick(['a', 'b', 'c', '$JS', 'EVENT'])).join('.');
        const expected = filters.some((f) => f === subject || subjectMatches(f, subject));
        assert.equal(set.matches(subject), expected, `${subject} against ${JSON.stringify(filters)}`);
        assert.equal(filter.matches(subject), expected, `${subject} against ${JSON.stringify(filters)} (store filter)`);
      }
    }
  });

  it('reports an invalid subject as invalid even where it would overlap an earlier one (nats-server 2.9 and 2.10 do)', () => {
    assert.equal(runToEnd(checkSubjectList(['foo.*', 'foo.b r'], false)).error?.message, 'invalid subject');
    assert.equal(runToEnd(checkFilterList(['foo.*', 'foo.b r'])).error?.message, 'invalid subject');
  });

  it('handles subjects of many thousands of tokens without deep recursion', () => {
    const long = Array.from({ length: 50_000 }, () => 'a').join('.');
    const index = new SubjectOverlapIndex();
    index.insert(long, 0);
    assert.equal(index.findCollision(long.replace(/a$/, '*')), 0);
    assert.equal(index.findCollision(long + '.b'), -1);
  });

  it('checks 100,000 subjects in well under a second, where the pairwise loop took minutes', () => {
    // Measured on a 2-core machine shared with other work: 12k subjects ~40 ms, 100k ~250 ms.
    // The limit leaves room for a loaded CI machine; quadratic work would take minutes.
    const subjects = Array.from({ length: MAX_STREAM_SUBJECTS }, (_, i) => `dev.${i % 100}.${i}.*`);
    const started = performance.now();
    const check = runToEnd(checkSubjectList(subjects, false));
    const took = performance.now() - started;
    assert.equal(check.error, null);
    assert.ok(took < 3000, `took ${took.toFixed(0)} ms`);
    const tooMany = runToEnd(checkSubjectList([...subjects, 'one.more'], false));
    assert.match(tooMany.error?.message ?? '', /more than the maximum of 100000/);
    const filters = subjects.slice(0, MAX_FILTER_SUBJECTS + 1);
    assert.match(runToEnd(checkFilterList(filters)).error?.message ?? '', /more than the maximum of 10000/);
  });

  it('gives up past its work budget on lists built to defeat the trie, instead of computing for minutes', () => {
    // Wildcards against thousands of literal siblings that never collide: each
    // lookup visits every sibling. 12,000 of them need ~36 million steps.
    const half = 6000;
    const hostile = [
      ...Array.from({ length: half }, (_, j) => `x.*.b${j}`),
      ...Array.from({ length: half }, (_, i) => `x.${i}.a`),
    ];
    const started = performance.now();
    const search = runToEnd(findFirstOverlap(hostile, hostile.length));
    const took = performance.now() - started;
    assert.equal(search.overBudget, true);
    assert.ok(took < 5000, `took ${took.toFixed(0)} ms for ${MAX_OVERLAP_WORK} steps`);
    assert.match(runToEnd(checkSubjectList(hostile, false)).error?.message ?? '', /need more than \d+ steps to check for overlaps/);
    // The same subjects the other way round are cheap (literals looked up in a trie of wildcards).
    assert.equal(runToEnd(checkSubjectList([...hostile.slice(half), ...hostile.slice(0, half)], false)).error, null);
  });
});
