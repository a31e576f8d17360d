/**
 * Flag values of `natter auth`: limits with size suffixes, expiry times as
 * durations or dates, response permission TTLs.
 */
import { DurationError, parseGoDurationNs } from '../../config/durations.js';
import { parseSizedInteger } from '../../config/sizes.js';
import { AuthCliError } from './errors.js';

/** A limit: -1 (or "unlimited") for none, else a non-negative integer with an optional size suffix (1K, 512M, 1GiB). */
export function parseLimit(flag: string, text: string): number {
  if (/^(-1|unlimited)$/i.test(text)) return -1;
  const r = parseSizedInteger(text);
  if (!r.ok) throw new AuthCliError(`--${flag}: ${r.problem}`);
  if (r.value < 0) throw new AuthCliError(`--${flag}: ${text} is negative (use -1 for unlimited)`);
  return r.value;
}

const RELATIVE = /^(\d+)([smhdwy])$/;
const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400, y: 365 * 86400 };

/**
 * An absolute time in Unix seconds, from a duration after `now` ("90s",
 * "30m", "12h", "7d", "2w", "1y", or Go's "1h30m"), a date ("2027-01-31",
 * midnight UTC), an RFC 3339 time, or Unix seconds. "0" means none (0).
 */
export function parseTimeFlag(flag: string, text: string, now: number): number {
  if (text === '0' || text === '') return 0;
  const rel = RELATIVE.exec(text);
  if (rel !== null) return now + Number(rel[1]) * UNIT_SECONDS[rel[2]];
  if (/^\d{9,}$/.test(text)) return Number(text);
  if (/^\d{4}-\d{2}-\d{2}([T ].*)?$/.test(text)) {
    const ms = Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text);
    if (!Number.isNaN(ms)) return Math.floor(ms / 1000);
  }
  try {
    const ns = parseGoDurationNs(text);
    if (ns > 0n) return now + Number(ns / 1_000_000_000n);
  } catch (e) {
    if (!(e instanceof DurationError)) throw e;
  }
  throw new AuthCliError(`--${flag}: ${JSON.stringify(text)} is not a duration (30m, 12h, 7d, 1y), a date (2027-01-31), an RFC 3339 time or Unix seconds`);
}

/** A Go duration as nanoseconds (JWT `resp.ttl`). */
export function parseDurationNs(flag: string, text: string): number {
  try {
    return Number(parseGoDurationNs(text));
  } catch (e) {
    if (e instanceof DurationError) throw new AuthCliError(`--${flag}: ${e.message}`);
    throw e;
  }
}

export function parseCount(flag: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new AuthCliError(`--${flag}: ${JSON.stringify(text)} is not a non-negative integer`);
  return Number(text);
}

/** Unix seconds as "2026-11-22 11:30:00 UTC" (blank for 0). */
export function formatTime(sec: unknown): string {
  if (typeof sec !== 'number' || sec === 0) return '';
  return `${new Date(sec * 1000).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, '')} UTC`;
}
