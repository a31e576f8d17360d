import { test } from 'node:test';
import assert from 'node:assert/strict';
import { msToTimeString } from '../../src/jetstream/time.js';
import { formatTime } from '../../src/text/go-format.js';

/** What the general (BigInt nanosecond) formatter makes of a store timestamp. */
const viaNanos = (ms: number): string => formatTime(BigInt(Math.round(ms * 1000)) * 1000n);

test('msToTimeString writes Go RFC 3339 times with the fraction trimmed', () => {
  assert.equal(msToTimeString(0), '1970-01-01T00:00:00Z');
  assert.equal(msToTimeString(1_700_000_000_000), '2023-11-14T22:13:20Z');
  assert.equal(msToTimeString(1_700_000_000_123.4), '2023-11-14T22:13:20.1234Z');
  assert.equal(msToTimeString(1_700_000_000_000.001), '2023-11-14T22:13:20.000001Z');
  assert.equal(msToTimeString(-0.5), '1969-12-31T23:59:59.9995Z');
});

test('msToTimeString agrees with the nanosecond formatter, in and across seconds', () => {
  const samples = [1, 999.9995, 1000, 1_765_000_000_000, 253_402_300_799_999.999, -62_135_596_800_000];
  for (let i = 0; i < 2000; i++) samples.push(1_700_000_000_000 + i * 0.7371 + Math.floor(i / 100) * 1000);
  for (let i = 0; i < 500; i++) samples.push((Math.random() - 0.3) * 1e13);
  for (const ms of samples) assert.equal(msToTimeString(ms), viaNanos(ms), `at ${ms}`);
});
