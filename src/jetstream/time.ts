/** Times in API responses: Go's RFC 3339 with nanoseconds, from the stores' millisecond timestamps. */
import { formatTime, nowNanos } from '../text/go-format.js';

/** Go's zero time, which nats-server shows for "never". */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

/** The whole-second part of the last time formatted: messages read in a row mostly share their second. */
let lastSecond = NaN;
let lastSecondText = '';

/**
 * A store timestamp (ms with a µs fraction) as RFC 3339. Every direct get
 * and republished message carries one, so this stays in plain numbers (the
 * general formatter works in BigInt nanoseconds).
 */
export function msToTimeString(ms: number): string {
  const us = Math.round(ms * 1000);
  if (!Number.isSafeInteger(us)) return formatTime(BigInt(us) * 1000n);
  const sec = Math.floor(us / 1_000_000);
  if (sec !== lastSecond) {
    lastSecondText = new Date(sec * 1000).toISOString().slice(0, 19);
    lastSecond = sec;
  }
  let frac = us - sec * 1_000_000;
  if (frac === 0) return lastSecondText + 'Z';
  // Go drops the fraction's trailing zeros.
  let digits = 6;
  while (frac % 10 === 0) {
    frac /= 10;
    digits--;
  }
  return lastSecondText + '.' + String(frac).padStart(digits, '0') + 'Z';
}

export function nowTimeString(): string {
  return formatTime(nowNanos());
}
