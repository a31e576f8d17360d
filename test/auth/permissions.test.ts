/** Permissions: parsing, nats-server's allow/deny/queue semantics, responses, violation texts. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_ALLOW_RESPONSE_EXPIRES_MS,
  DEFAULT_ALLOW_RESPONSE_MAX_MSGS,
  isReservedReply,
  Permissions,
  permissionsConfigFrom,
  publishViolation,
  replyViolation,
  subscriptionViolation,
  type PermissionsConfig,
} from '../../src/auth/permissions.js';
import { toWire } from '../../src/auth/wire-text.js';
import { goQuoteWire } from '../../src/text/go-format.js';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfig } from '../../src/config/parser.js';
import { SecurityConfigError } from '../../src/auth/conf-input.js';

function config(value: unknown): PermissionsConfig {
  const c = permissionsConfigFrom(value);
  assert.ok(c !== null);
  return c;
}

function perms(value: unknown): Permissions {
  return new Permissions(config(value));
}

/** The problems of a `permissions { ... }` text, positions stripped. */
function refusal(text: string): string[] {
  const root = parseConfig(`permissions ${text}`, 'p.conf', { env: {} });
  const entry = root.entries.get('permissions');
  assert.ok(entry !== undefined);
  try {
    permissionsConfigFrom(entry.value);
  } catch (err) {
    if (err instanceof ConfigError) return err.errors.map((e) => e.problem);
    throw err;
  }
  assert.fail('expected a refusal');
}

describe('parsing permissions', () => {
  it('takes a subject, a list, or allow/deny, under either name', () => {
    assert.deepEqual(config({ publish: 'a.>' }).publish, { allow: ['a.>'], deny: null });
    assert.deepEqual(config({ pub: ['a', 'b'] }).publish, { allow: ['a', 'b'], deny: null });
    assert.deepEqual(config({ sub: { allow: 'x', deny: ['y', 'z'] } }).subscribe, { allow: ['x'], deny: ['y', 'z'] });
    assert.deepEqual(config({ subscribe: { deny: 'y' } }).subscribe, { allow: null, deny: ['y'] });
    assert.deepEqual(config({ PUBLISH: 'a' }).publish, { allow: ['a'], deny: null }, 'keys are case-insensitive');
  });

  it('reads an empty list as no list, and an empty map as nothing', () => {
    assert.deepEqual(config({ publish: [] }).publish, { allow: null, deny: null });
    assert.deepEqual(config({ publish: { allow: [], deny: ['x'] } }).publish, { allow: null, deny: ['x'] });
    assert.equal(config({ publish: {} }).publish, null);
  });

  it('accepts "subject queue" entries and refuses what is not a subject, with nats-server wording', () => {
    assert.deepEqual(config({ subscribe: ['jobs.* workers'] }).subscribe, { allow: ['jobs.* workers'], deny: null });
    assert.deepEqual(refusal('{ publish: "foo..bar" }'), ['subject "foo..bar" is not a valid subject']);
    assert.deepEqual(refusal('{ subscribe: ["jobs.* workers extra"] }'), ['subject "jobs.* workers extra" is not a valid subject']);
    assert.deepEqual(refusal('{ subscribe: ["foo..bar q"] }'), ['subject "foo..bar" is not a valid subject']);
    assert.deepEqual(refusal('{ subscribe: { deny: ["a.>.b"] } }'), ['subject "a.>.b" is not a valid subject']);
  });

  it('names unknown fields and wrong types', () => {
    assert.deepEqual(refusal('{ publsh: "foo" }'), ['Unknown field "publsh" parsing permissions']);
    assert.deepEqual(refusal('{ publish: { allow: "x", denyx: "y" } }'), [
      'Unknown field name "denyx" parsing subject permissions, only \'allow\' or \'deny\' are permitted',
    ]);
    assert.deepEqual(refusal('{ publish: ["a", 1] }'), ['Subject in permissions array cannot be cast to string, got integer 1']);
    assert.deepEqual(refusal('{ publish: 5 }'), ['Expected subject permissions to be a subject, or array of subjects, got integer 5']);
    assert.throws(() => permissionsConfigFrom('publish'), (err: unknown) => err instanceof SecurityConfigError &&
      /^permissions: Expected permissions to be a map\/struct, got string "publish"$/.test(err.message));
  });

  it('does not report variable definitions inside the block as unknown fields', () => {
    const root = parseConfig('permissions { SUBJ: "a.>", publish: $SUBJ }', 'p.conf', { env: {} });
    const entry = root.entries.get('permissions');
    assert.ok(entry !== undefined);
    assert.deepEqual(permissionsConfigFrom(entry.value)?.publish, { allow: ['a.>'], deny: null });
  });

  it('reports positions when parsing configuration text', () => {
    const root = parseConfig('permissions {\n  publish: "foo..bar"\n}', 'p.conf', { env: {} });
    const entry = root.entries.get('permissions');
    assert.ok(entry !== undefined);
    assert.throws(() => permissionsConfigFrom(entry.value), (err: unknown) =>
      err instanceof ConfigError && err.line === 2 && err.col === 12 && err.file === 'p.conf');
  });
});

describe('allow_responses', () => {
  it('defaults to one response within two minutes', () => {
    assert.equal(DEFAULT_ALLOW_RESPONSE_MAX_MSGS, 1);
    assert.equal(DEFAULT_ALLOW_RESPONSE_EXPIRES_MS, 120_000);
    assert.deepEqual(config({ allow_responses: true }).response, { maxMsgs: 1, expiresMs: 120_000 });
    assert.equal(config({ allow_responses: false }).response, null);
    assert.deepEqual(config({ allow_responses: { max: 5, expires: '1m' } }).response, { maxMsgs: 5, expiresMs: 60_000 });
    assert.deepEqual(config({ publish_allow_responses: { max_msgs: 0, ttl: '0s' } }).response, { maxMsgs: 1, expiresMs: 120_000 });
    assert.deepEqual(config({ allow_responses: { max: -1, expiration: '-1s' } }).response, { maxMsgs: -1, expiresMs: -1000 });
  });

  it('closes publishing to everything but the allow list and the replies', () => {
    assert.deepEqual(config({ allow_responses: true }).publish, { allow: [], deny: null });
    assert.deepEqual(config({ allow_responses: true, publish: { deny: 'x' } }).publish, { allow: [], deny: ['x'] });
    assert.deepEqual(config({ publish: 'a', allow_responses: true }).publish, { allow: ['a'], deny: null });
    const p = perms({ allow_responses: true, subscribe: 'req' });
    assert.equal(p.canPublish('req'), false);
  });

  it('refuses bad values with nats-server wording', () => {
    assert.deepEqual(refusal('{ allow_responses: "yes" }'), ['error parsing response permissions, expected a boolean or a map']);
    assert.deepEqual(refusal('{ allow_responses: { expires: 5 } }'), ['error parsing expires, not a duration string']);
    assert.deepEqual(refusal('{ allow_responses: { expires: "5x" } }'), ['error parsing expires: time: unknown unit "x" in duration "5x"']);
    assert.deepEqual(refusal('{ allow_responses: { maxx: 5 } }'), ['Unknown field "maxx" parsing permissions']);
    assert.deepEqual(refusal('{ allow_responses: { max: "x" } }'), ['max must be an integer, got string "x"']);
  });

  it('lets a reply subject be answered max times, until it expires', () => {
    let now = 1_000_000;
    const client = perms({ subscribe: 'req', allow_responses: { max: 2, expires: '1s' } }).forClient(() => now);
    assert.equal(client.tracksReplies, true);
    assert.equal(client.canPublish('reply.1'), false, 'not delivered yet');
    client.allowReply('reply.1');
    client.allowReply('reply.2');
    client.allowReply('reply.3');
    assert.equal(client.canPublish('reply.1'), true);
    assert.equal(client.canPublish('reply.1'), true);
    assert.equal(client.canPublish('reply.1'), false, 'third response');
    assert.equal(client.canPublish('reply.1'), false, 'and it stays closed');
    assert.equal(client.canPublish('reply.2'), true);
    now += 1001;
    assert.equal(client.canPublish('reply.2'), false, 'expired');
    client.allowReply('reply.3');
    assert.equal(client.canPublish('reply.3'), true, 'a new delivery re-opens it');
    assert.equal(client.canPublish('req'), false, 'the allow list is empty');
  });

  it('treats negative max and expires as unlimited', () => {
    let now = 0;
    const client = perms({ allow_responses: { max: -1, expires: '-1s' } }).forClient(() => now);
    client.allowReply('r');
    for (let i = 0; i < 100; i++) assert.equal(client.canPublish('r'), true);
    now += 10 * 365 * 24 * 3600 * 1000;
    assert.equal(client.canPublish('r'), true);
  });

  it('keeps the reply table bounded by pruning used and expired entries', () => {
    let now = 0;
    const client = perms({ allow_responses: { max: 1, expires: '1s' } }).forClient(() => now);
    for (let i = 0; i < 3000; i++) client.allowReply(`old.${i}`);
    now += 2000;
    for (let i = 0; i < 1200; i++) client.allowReply(`new.${i}`);
    assert.ok(client.openReplies <= 1200, `open replies ${client.openReplies}`);
    assert.equal(client.canPublish('new.5'), true);
  });

  it('does nothing for connections without response permissions', () => {
    const client = perms({ publish: 'a' }).forClient();
    client.allowReply('x');
    assert.equal(client.tracksReplies, false);
    assert.equal(client.canPublish('x'), false);
  });
});

/**
 * The user `a` of the live differential test (permissions-differential),
 * whose answers there were recorded from nats-server 2.9.10.
 */
const TABLE_USER = {
  publish: { allow: ['foo.*', 'bar.>'], deny: ['foo.secret'] },
  subscribe: { allow: ['foo.*', 'q.* workers', 'both', 'both v1', 'wq.> v.*'], deny: ['foo.secret', 'both v2'] },
};

describe('nats-server permission semantics', () => {
  const p = perms(TABLE_USER);

  it('checks publish allow, then deny, matching the subject token by token', () => {
    const table: [string, boolean][] = [
      ['foo.x', true], ['foo.secret', false], ['foo.x.y', false], ['bar', false], ['bar.a.b', true],
      // A client's '*' or '>' is a token only a wildcard pattern matches.
      ['foo.*', true], ['foo.>', true], ['baz', false],
    ];
    for (const [subject, allowed] of table) assert.equal(p.canPublish(subject), allowed, `PUB ${subject}`);
  });

  it('checks subscriptions with queue groups as nats-server does', () => {
    const table: [string, string | null, boolean][] = [
      ['foo.>', null, true], // foo.* matches the token '>' (nats-server behaves so)
      ['foo.*', null, true],
      ['foo.bar', null, true],
      ['foo.secret', null, false],
      ['q.x', null, false], // only queue group workers may subscribe there
      ['q.x', 'workers', true],
      ['q.x', 'other', false],
      ['both', null, true],
      ['both', 'v1', true],
      ['both', 'v2', false],
      ['both', 'v3', false], // "both v1" limits queue subscriptions to v1
      ['wq.a.b', 'v.x', true], // queue names may be wildcards
      ['wq.a.b', 'v', false],
      ['q.*', 'workers', true],
      ['q.>', 'workers', true],
      ['*', null, false],
      ['>', null, false],
    ];
    for (const [subject, queue, allowed] of table) {
      assert.equal(p.canSubscribe(subject, queue), allowed, `SUB ${subject} ${queue ?? ''}`);
      assert.equal(p.canSubscribe(subject, queue), allowed, `cached SUB ${subject} ${queue ?? ''}`);
    }
  });

  it('restricts nothing with empty lists, and subscribe deny alone', () => {
    const q = perms({ publish: [], subscribe: { deny: 'x.>' } });
    assert.equal(q.publishRestricted, false);
    assert.equal(q.canPublish('anything'), true);
    assert.equal(q.canSubscribe('>', null), true);
    assert.equal(q.canSubscribe('x.>', null), false);
    assert.equal(q.canSubscribe('x.y', null), false);
    assert.equal(q.canSubscribe('x', null), true);
  });

  it('filters deliveries a wildcard subscription would receive past a deny', () => {
    const client = perms({ subscribe: { deny: ['x.>', 'jobs.a q'] } }).forClient();
    assert.equal(client.canSubscribe('x', null), true);
    assert.equal(client.filtersDeliveries, false, 'a literal subscription needs no filter');
    assert.equal(client.deniesDelivery('x.y'), false, 'filter off');
    assert.equal(client.canSubscribe('>', null), true);
    assert.equal(client.filtersDeliveries, true);
    assert.equal(client.deniesDelivery('x.y'), true);
    assert.equal(client.deniesDelivery('x.y.z'), true);
    assert.equal(client.deniesDelivery('y'), false);
    assert.equal(client.deniesDelivery('jobs.a'), false, 'a queue deny filters nothing');
  });

  it('filters when the subscription only overlaps the deny (stricter than nats-server)', () => {
    const client = perms({ subscribe: { deny: 'foo.*.bar' } }).forClient();
    assert.equal(client.canSubscribe('foo.x.*', null), true);
    assert.equal(client.filtersDeliveries, true);
    assert.equal(client.deniesDelivery('foo.x.bar'), true);
    assert.equal(client.deniesDelivery('foo.x.baz'), false);
    const other = perms({ subscribe: { deny: 'foo.*.bar' } }).forClient();
    assert.equal(other.canSubscribe('other.*', null), true);
    assert.equal(other.filtersDeliveries, false, 'no overlap, no filter');
  });

  it('keeps decisions right past the cache bound', () => {
    const q = perms({ publish: { allow: 'n.*', deny: 'n.13' } });
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 3000; i++) assert.equal(q.canPublish(`n.${i}`), i !== 13);
    }
  });

  it('matches configured non-ASCII subjects against wire (latin1) subjects', () => {
    const q = perms({ publish: 'größe.>', subscribe: 'jobs.* wörker' });
    assert.equal(q.canPublish(toWire('größe.x')), true);
    assert.equal(q.canPublish('größe.x'), false, 'a JavaScript string is not what the parser hands over');
    assert.equal(q.canSubscribe('jobs.1', toWire('wörker')), true);
  });

  it('compiles to null when there are no permissions', () => {
    assert.equal(Permissions.compile(null), null);
  });
});

describe('violation texts', () => {
  it('are nats-server\'s', () => {
    assert.equal(publishViolation('foo.secret'), 'Permissions Violation for Publish to "foo.secret"');
    assert.equal(subscriptionViolation('foo.secret', null), 'Permissions Violation for Subscription to "foo.secret"');
    assert.equal(subscriptionViolation('q.x', 'other'), 'Permissions Violation for Subscription to "q.x" using queue "other"');
    assert.equal(replyViolation('_R_.abc'), 'Permissions Violation for Publish with Reply of "_R_.abc"');
  });

  it('quote subjects as Go\'s %q does, from wire form', () => {
    assert.equal(goQuoteWire('a"b\\x'), '"a\\"b\\\\x"');
    assert.equal(goQuoteWire(toWire('é.ü')), '"é.ü"');
    assert.equal(goQuoteWire(`x\x01\x7f\xff${toWire('\u2028')}`), '"x\\x01\\x7f\\xff\\u2028"');
    assert.equal(goQuoteWire('\t\n'), '"\\t\\n"');
    assert.equal(goQuoteWire(toWire('😀')), '"😀"');
    assert.equal(goQuoteWire('\xc3'), '"\\xc3"', 'a truncated sequence');
    assert.equal(goQuoteWire('\xc0\xaf'), '"\\xc0\\xaf"', 'an overlong form');
  });

  it('know the reply prefixes the server reserves', () => {
    assert.equal(isReservedReply('_R_.abc'), true);
    assert.equal(isReservedReply('_R_.'), true);
    assert.equal(isReservedReply('$JS.ACK.x'), true);
    assert.equal(isReservedReply('$JS.ACK.'), false);
    assert.equal(isReservedReply('_GR_.x'), true);
    assert.equal(isReservedReply('_INBOX.x'), false);
    assert.equal(isReservedReply('_R_'), false);
  });
});
