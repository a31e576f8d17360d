/**
 * The exporter-side subject of a subscription in an importing account
 * (shadow interest), for the shapes of import nats-server distinguishes:
 * same subject, prefix, mapping, and subscriptions that are equal to,
 * broader than, narrower than, or only overlapping the import.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StreamImportRoute } from '../../src/accounts/import-routes.js';
import { SubjectTransform, tokenizeWildcards, untokenizeWildcards } from '../../src/accounts/subject-transform.js';
import { shadowSubject } from '../../src/cluster/shadow-interest.js';

/** An import of `from` (in EXP) as `to` (in IMP), built the way the account loader builds it. */
function route(from: string, to: string = from): StreamImportRoute {
  if (to === from || (!from.includes('*') && !from.includes('>'))) return new StreamImportRoute('IMP', 'EXP', from, to, null);
  const t = SubjectTransform.create(from, tokenizeWildcards(to));
  if (typeof t === 'string') throw new Error(t);
  return new StreamImportRoute('IMP', 'EXP', from, untokenizeWildcards(to).subject, t);
}

describe('shadow interest subjects', () => {
  it('uses the exported pattern for a subscription equal to or broader than the import', () => {
    assert.equal(shadowSubject(route('news.>'), 'news.>'), 'news.>');
    assert.equal(shadowSubject(route('news.*'), '>'), 'news.*');
    assert.equal(shadowSubject(route('feed.*', 'pfx.feed.*'), 'pfx.>'), 'feed.*');
    assert.equal(shadowSubject(route('price', 'cost'), 'cost'), 'price');
  });

  it('narrows the exported pattern like the subscription narrows the import', () => {
    assert.equal(shadowSubject(route('news.>'), 'news.sport.*'), 'news.sport.*');
    assert.equal(shadowSubject(route('feed.*', 'pfx.feed.*'), 'pfx.feed.x'), 'feed.x');
    assert.equal(shadowSubject(route('a.*.b.>', 'z.a.*.b.>'), 'z.a.1.b.c.d'), 'a.1.b.c.d');
    assert.equal(shadowSubject(route('a.*.>', 'z.$1.>'), 'z.k.*'), 'a.k.*');
  });

  it('falls back to the whole exported pattern where the mapping reorders wildcards', () => {
    assert.equal(shadowSubject(route('alerts.*.*', 'warn.$2.$1'), 'warn.b.a'), 'alerts.*.*');
    assert.equal(shadowSubject(route('alerts.*.*', 'warn.$1.$2'), 'warn.b.a'), 'alerts.b.a');
    assert.equal(shadowSubject(route('alerts.*', 'warn.{{wildcard(1)}}'), 'warn.x'), 'alerts.x');
    assert.equal(shadowSubject(route('alerts.*', 'warn.{{wildcard(1)}}'), 'warn.>'), 'alerts.*');
  });

  it('covers subscriptions that only overlap the import, and ignores unrelated ones', () => {
    assert.equal(shadowSubject(route('news.a.*'), 'news.*.x'), 'news.a.*');
    assert.equal(shadowSubject(route('news.>'), 'sport.>'), null);
    assert.equal(shadowSubject(route('feed.*', 'pfx.feed.*'), 'feed.x'), null);
    assert.equal(shadowSubject(route('price', 'cost'), 'price'), null);
  });
});
