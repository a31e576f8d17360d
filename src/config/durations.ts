/**
 * Durations as nats-server reads them: Go's time.ParseDuration syntax
 * ("500ms", "10s", "2m", "1h30m", "1.5s", "-1m", "0"), converted to
 * milliseconds because that is the unit of the options model.
 *
 * Error messages keep Go's wording (`time: invalid duration "x"`), since that
 * is what operators will find when they search for them.
 */
import { goQuote } from '../text/go-format.js';

/** Nanoseconds per unit. Go accepts both micro signs for microseconds. */
const UNITS: ReadonlyMap<string, bigint> = new Map([
  ['ns', 1n],
  ['us', 1_000n],
  ['\u00b5s', 1_000n],
  ['\u03bcs', 1_000n],
  ['ms', 1_000_000n],
  ['s', 1_000_000_000n],
  ['m', 60_000_000_000n],
  ['h', 3_600_000_000_000n],
]);

/** Go durations are int64 nanoseconds. */
const MAX_NS = (1n << 63n) - 1n;

export class DurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DurationError';
  }
}

/** Nanoseconds of a Go duration string; throws DurationError. */
export function parseGoDurationNs(text: string): bigint {
  const invalid = (): DurationError => new DurationError(`time: invalid duration ${goQuote(text)}`);
  let s = text;
  let negative = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s.startsWith('-');
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') throw invalid();

  let total = 0n;
  while (s !== '') {
    const m = /^([0-9]*)(?:\.([0-9]*))?/.exec(s);
    const whole = m?.[1] ?? '';
    const frac = m?.[2];
    if (whole === '' && (frac === undefined || frac === '')) throw invalid();
    s = s.slice(m?.[0].length ?? 0);

    const unitMatch = /^[^0-9.]*/.exec(s);
    const unitName = unitMatch?.[0] ?? '';
    s = s.slice(unitName.length);
    if (unitName === '') throw new DurationError(`time: missing unit in duration ${goQuote(text)}`);
    const unit = UNITS.get(unitName);
    if (unit === undefined) {
      throw new DurationError(`time: unknown unit ${goQuote(unitName)} in duration ${goQuote(text)}`);
    }

    let part = BigInt(whole === '' ? '0' : whole) * unit;
    if (frac !== undefined && frac !== '') {
      // Truncates below a nanosecond, like Go.
      part += (BigInt(frac) * unit) / 10n ** BigInt(frac.length);
    }
    total += part;
    if (total > MAX_NS + (negative ? 1n : 0n)) throw invalid();
  }
  return negative ? -total : total;
}

/** Milliseconds of a Go duration string (may be fractional); throws DurationError. */
export function parseGoDuration(text: string): number {
  return Number(parseGoDurationNs(text)) / 1e6;
}

