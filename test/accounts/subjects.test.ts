/** Subject relations and transforms used by exports and imports. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSubsetMatch, subjectsCollide } from '../../src/accounts/subject-sets.js';
import { SubjectTransform, tokenizeWildcards, untokenizeWildcards } from '../../src/accounts/subject-transform.js';

describe('isSubsetMatch (nats-server rules)', () => {
  const table: [string, string, boolean][] = [
    ['foo.bar', 'foo.bar', true],
    ['foo.bar', 'foo.*', true],
    ['foo.bar', '>', true],
    ['foo.*', '>', true],
    ['foo.*', '*.*', true],
    ['foo.*', 'foo.*', true],
    ['foo.*', 'foo.bar', false],
    ['foo.>', 'foo.>', true],
    ['foo.>', '>', true],
    ['foo.>', 'foo.*', false],
    ['foo.*', 'foo.>', true],
    ['foo.bar.baz', 'foo.>', true],
    ['foo', 'foo.>', false],
    ['foo.bar', 'foo', false],
    ['foo', 'foo.bar', false],
    ['a.b.*', 'a.>', true],
  ];
  for (const [subject, test, expected] of table) {
    it(`${subject} within ${test}: ${expected}`, () => assert.equal(isSubsetMatch(subject, test), expected));
  }
});

describe('subjectsCollide', () => {
  const table: [string, string, boolean][] = [
    ['a', 'a', true],
    ['a', 'b', false],
    ['a.b', 'a.*', true],
    ['a.*', 'a.b', true],
    ['a.*', '*.b', true],
    ['a.*', 'b.*', false],
    ['a.*', 'a.*.c', false],
    ['a.>', 'a.*.c', true],
    ['a.*.c', 'a.>', true],
    ['foo.*.bar', 'foo.x.*', true],
    ['foo.*.bar', 'foo.x.baz', false],
    ['>', 'anything.at.all', true],
    ['a.b.>', 'a.*', false],
  ];
  for (const [a, b, expected] of table) {
    it(`${a} and ${b}: ${expected}`, () => {
      assert.equal(subjectsCollide(a, b), expected);
      assert.equal(subjectsCollide(b, a), expected, 'symmetric');
    });
  }
});

describe('SubjectTransform', () => {
  function create(src: string, dest: string): SubjectTransform {
    const t = SubjectTransform.create(src, dest);
    assert.ok(t instanceof SubjectTransform, String(t));
    return t;
  }

  it('substitutes wildcards by position and carries the tail of ">"', () => {
    assert.equal(create('orders.*.>', 'acme.$1.>').apply('orders.eu.new.x'), 'acme.eu.new.x');
    assert.equal(create('r.*.*', 'q.$2.$1').apply('r.a.b'), 'q.b.a');
    assert.equal(create('r.*.*', 'q.{{wildcard(2)}}.{{ wildcard(1) }}').apply('r.a.b'), 'q.b.a');
    assert.equal(create('a.>', 'x.a.>').apply('a.b.c'), 'x.a.b.c');
    assert.equal(create('a.b', 'c.d').apply('a.b'), 'c.d');
    assert.equal(create('r.*', 'q.$1').apply('s.a'), null);
    assert.equal(create('r.*', 'q.$1').apply('r.a.b'), null);
    assert.equal(create('r.>', 'q.>').apply('r'), null);
  });

  it('refuses what nats-server refuses, with its texts', () => {
    assert.equal(SubjectTransform.create('r.*.>', 'q.x'), 'invalid subject');
    assert.equal(SubjectTransform.create('r.*', 'q.*'), 'invalid subject');
    assert.equal(SubjectTransform.create('r..*', 'q.$1'), 'invalid subject');
    assert.equal(SubjectTransform.create('r.*', 'q.$2'), 'invalid mapping destination: wildcard index out of range in $2: [2]');
    assert.equal(SubjectTransform.create('r.*', 'q.x'), 'invalid mapping destination: not using all of the token wildcard(s) in q.x');
    assert.match(String(SubjectTransform.create('r.*', 'q.{{partition(3,1)}}')), /not supported by this Natter version/);
    assert.equal(SubjectTransform.create('r.*', 'q.{{wildcard()}}'),
      'invalid mapping destination: not enough arguments passed to the function in {{wildcard()}}');
  });

  it('converts between wildcards and placeholders', () => {
    assert.equal(tokenizeWildcards('foo.*.bar.*.>'), 'foo.$1.bar.$2.>');
    assert.deepEqual(untokenizeWildcards('foo.$2.bar.$1'), { subject: 'foo.*.bar.*', placeholders: ['$2', '$1'] });
    assert.deepEqual(untokenizeWildcards('$KV.x'), { subject: '$KV.x', placeholders: [] });
  });
});
