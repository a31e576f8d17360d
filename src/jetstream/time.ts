/** Times in API responses: Go's RFC 3339 with nanoseconds, from the stores' millisecond timestamps. */
import { formatTime, nowNanos } from '../text/go-format.js';

/** Go's zero time, which nats-server shows for "never". */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

/** A store timestamp (ms with a µs fraction) as RFC 3339. */
export function msToTimeString(ms: number): string {
  return formatTime(BigInt(Math.round(ms * 1000)) * 1000n);
}

export function nowTimeString(): string {
  return formatTime(nowNanos());
}
