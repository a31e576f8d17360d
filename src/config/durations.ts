/**
 * Durations as nats-server reads them: Go's time.ParseDuration syntax
 * ("500ms", "10s", "2m", "1h30m", "1.5s", "-1m", "0"), converted to
 * milliseconds because that is the unit of the options model.
 *
 * Error messages keep Go's wording (`time: invalid duration "x"`), since that
 * is what operators will find when they search for them.
 */

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
  const invalid = (): DurationError => new DurationError(`time: invalid duration ${quote(text)}`);
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
    if (unitName === '') throw new DurationError(`time: missing unit in duration ${quote(text)}`);
    const unit = UNITS.get(unitName);
    if (unit === undefined) {
      throw new DurationError(`time: unknown unit ${quote(unitName)} in duration ${quote(text)}`);
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

/**
 * A millisecond count the way Go prints a time.Duration ("1m30s", "500ms",
 * "2h0m0s"), for messages that quote a duration back to the operator.
 */
export function formatGoDuration(ms: number): string {
  let ns = BigInt(Math.round(ms * 1e6));
  if (ns === 0n) return '0s';
  const sign = ns < 0n ? '-' : '';
  if (ns < 0n) ns = -ns;
  if (ns < 1_000_000_000n) {
    if (ns < 1_000n) return `${sign}${ns}ns`;
    if (ns < 1_000_000n) return `${sign}${decimal(ns, 1_000n)}\u00b5s`;
    return `${sign}${decimal(ns, 1_000_000n)}ms`;
  }
  const hours = ns / 3_600_000_000_000n;
  ns -= hours * 3_600_000_000_000n;
  const minutes = ns / 60_000_000_000n;
  ns -= minutes * 60_000_000_000n;
  const seconds = `${decimal(ns, 1_000_000_000n)}s`;
  if (hours > 0n) return `${sign}${hours}h${minutes}m${seconds}`;
  if (minutes > 0n) return `${sign}${minutes}m${seconds}`;
  return `${sign}${seconds}`;
}

/** n / unit printed with the fraction's trailing zeros removed. */
function decimal(n: bigint, unit: bigint): string {
  const whole = n / unit;
  const rest = n % unit;
  if (rest === 0n) return whole.toString();
  const width = unit.toString().length - 1;
  const frac = rest.toString().padStart(width, '0').replace(/0+$/, '');
  return `${whole}.${frac}`;
}

function quote(s: string): string {
  return JSON.stringify(s);
}
