/**
 * The Go-compatible formatting and query decoding the endpoints rely on.
 * Expected strings are what Go 1.19 (nats-server 2.9.10's toolchain) prints.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatGoDuration, formatRtt, formatTime, formatUptime, goQuote, marshalCompact, marshalIndent, msToNanos, nowNanos,
} from '../../src/text/go-format.js';
import { BadRequest, Query } from '../../src/monitor/query.js';
import { goCleanPath, normalizeBasePath } from '../../src/monitor/monitor-server.js';

test('Go Duration.String', () => {
  const cases: Array<[number, string]> = [
    [0, '0s'],
    [1, '1ns'],
    [999, '999ns'],
    [1_000, '1µs'],
    [591_000, '591µs'],
    [591_500, '591.5µs'],
    [2_641_584, '2.641584ms'],
    [1_000_000, '1ms'],
    [1_500_000_000, '1.5s'],
    [62_000_000_000, '1m2s'],
    [3_661_500_000_000, '1h1m1.5s'],
    [-1_500, '-1.5µs'],
  ];
  for (const [ns, s] of cases) assert.equal(formatGoDuration(ns), s, `${ns}ns`);
});

test('RTT is truncated to microseconds below a millisecond, like nats-server', () => {
  assert.equal(formatRtt(0), '0s');
  assert.equal(formatRtt(0.5917), '591µs');
  assert.equal(formatRtt(2.641584), '2.641584ms');
  assert.equal(formatRtt(0.0005), '500ns');
});

test('nats-server uptime strings', () => {
  const s = 1_000_000_000;
  assert.equal(formatUptime(0), '0s');
  assert.equal(formatUptime(999_999_999), '0s');
  assert.equal(formatUptime(62 * s), '1m2s');
  assert.equal(formatUptime(3600 * s), '1h0m0s');
  assert.equal(formatUptime((86400 + 3661) * s), '1d1h1m1s');
  assert.equal(formatUptime((400 * 86400 + 5) * s), '1y35d0h0m5s');
  assert.equal(formatUptime(-5 * s), '0s');
});

test('RFC3339 with nanoseconds, trailing zeros dropped as Go does', () => {
  const t = msToNanos(Date.UTC(2024, 0, 2, 3, 4, 5, 120));
  assert.equal(formatTime(t), '2024-01-02T03:04:05.12Z');
  assert.equal(formatTime(t + 345n), '2024-01-02T03:04:05.120000345Z');
  assert.equal(formatTime(msToNanos(Date.UTC(2024, 0, 2, 3, 4, 5, 0))), '2024-01-02T03:04:05Z');
  const now = nowNanos();
  const wall = BigInt(Date.now()) * 1_000_000n;
  assert.ok(now <= wall + 2_000_000n && now >= wall - 2_000_000n, 'nowNanos stays on the wall clock');
  assert.match(formatTime(now), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
});

test('strconv.Quote for 400 bodies', () => {
  assert.equal(goQuote('abc'), '"abc"');
  assert.equal(goQuote('a"b\\c'), '"a\\"b\\\\c"');
  assert.equal(goQuote('tab\there\n'), '"tab\\there\\n"');
  assert.equal(goQuote('\x01'), '"\\x01"');
  assert.equal(goQuote('µs'), '"µs"');
});

test('encoding/json escapes <, > and & like Go', () => {
  assert.equal(marshalCompact({ s: 'foo.>' }), '{"s":"foo.\\u003e"}');
  assert.equal(marshalIndent({ a: [], b: {}, c: 'x<&' }), '{\n  "a": [],\n  "b": {},\n  "c": "x\\u003c\\u0026"\n}');
});

test('query parsing follows Go: first value wins, malformed pairs are dropped', () => {
  const q = new Query('a=1&a=2&b=x%20y&c=%zz&d=p+q&e;=1&f');
  assert.equal(q.get('a'), '1');
  assert.equal(q.get('b'), 'x y');
  assert.equal(q.get('c'), '');
  assert.equal(q.get('d'), 'p q');
  assert.equal(q.get('e;'), '');
  assert.equal(q.get('f'), '');
});

test('Go strconv decoding and its error texts', () => {
  const q = new Query('t=T&f=0&bad=maybe&n=-12&p=%2B7&x=1.5&big=99999999999999999999&u=-1');
  assert.equal(q.bool('t'), true);
  assert.equal(q.bool('f'), false);
  assert.equal(q.bool('missing'), false);
  assert.throws(() => q.bool('bad'), (e: unknown) => e instanceof BadRequest &&
    e.message === `Error decoding boolean for 'bad': strconv.ParseBool: parsing "maybe": invalid syntax`);
  assert.equal(q.int('n'), -12);
  assert.equal(q.int('p'), 7);
  assert.throws(() => q.int('x'), { message: `Error decoding int for 'x': strconv.Atoi: parsing "1.5": invalid syntax` });
  assert.throws(() => q.int('big'), { message: `Error decoding int for 'big': strconv.Atoi: parsing "99999999999999999999": value out of range` });
  assert.throws(() => q.uint64('u'), { message: `Error decoding uint64 for 'u': strconv.ParseUint: parsing "-1": invalid syntax` });
  assert.equal(q.uint64('missing'), 0);
});

test('base path normalisation', () => {
  assert.equal(normalizeBasePath(''), '/');
  assert.equal(normalizeBasePath('/'), '/');
  assert.equal(normalizeBasePath('mon'), '/mon');
  assert.equal(normalizeBasePath('/mon/'), '/mon');
  assert.equal(goCleanPath('/a//b/./c/..'), '/a/b');
  assert.equal(goCleanPath('/..'), '/');
});
