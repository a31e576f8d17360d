/** Go-style durations, as nats-server reads them. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DurationError, parseGoDuration, parseGoDurationNs } from '../../src/config/durations.js';
import { formatGoDuration, msToGoDuration } from '../../src/text/go-format.js';

describe('parseGoDuration', () => {
  const good: [string, number][] = [
    ['0', 0],
    ['2m', 120_000],
    ['10s', 10_000],
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['1.5s', 1500],
    ['.5s', 500],
    ['1.s', 1000],
    ['-1m', -60_000],
    ['+3s', 3000],
    ['1h2m3s4ms', 3_723_004],
    ['250us', 0.25],
    ['250\u00b5s', 0.25],
    ['250\u03bcs', 0.25],
    ['1500ns', 0.0015],
    ['0s', 0],
    ['24h', 86_400_000],
  ];
  for (const [text, ms] of good) {
    it(`reads ${JSON.stringify(text)} as ${ms} ms`, () => {
      assert.equal(parseGoDuration(text), ms);
    });
  }

  const bad: [string, string][] = [
    ['', 'time: invalid duration ""'],
    ['abc', 'time: invalid duration "abc"'],
    ['-', 'time: invalid duration "-"'],
    ['.s', 'time: invalid duration ".s"'],
    ['10', 'time: missing unit in duration "10"'],
    ['1h30', 'time: missing unit in duration "1h30"'],
    ['10x', 'time: unknown unit "x" in duration "10x"'],
    ['5 s', 'time: unknown unit " s" in duration "5 s"'],
    ['10sec', 'time: unknown unit "sec" in duration "10sec"'],
    ['3000000h', 'time: invalid duration "3000000h"'],
  ];
  for (const [text, message] of bad) {
    it(`refuses ${JSON.stringify(text)} with Go's message`, () => {
      assert.throws(() => parseGoDuration(text), (err: unknown) => {
        assert.ok(err instanceof DurationError);
        assert.equal(err.message, message);
        return true;
      });
    });
  }

  it('keeps nanosecond precision internally', () => {
    assert.equal(parseGoDurationNs('1.000000001s'), 1_000_000_001n);
    assert.equal(parseGoDurationNs('-2562047h47m16.854775808s'), -(1n << 63n));
  });
});

describe('formatGoDuration of a millisecond count (config messages)', () => {
  const cases: [number, string][] = [
    [0, '0s'],
    [10_000, '10s'],
    [60_000, '1m0s'],
    [90_500, '1m30.5s'],
    [3_600_000, '1h0m0s'],
    [500, '500ms'],
    [1.5, '1.5ms'],
    [0.25, '250\u00b5s'],
    [0.000001, '1ns'],
    [-30_000, '-30s'],
  ];
  for (const [ms, text] of cases) {
    it(`prints ${ms} ms as ${text}`, () => {
      assert.equal(formatGoDuration(msToGoDuration(ms)), text);
    });
  }
});
