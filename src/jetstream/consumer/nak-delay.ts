/** The delay a `-NAK` may carry: `-NAK {"delay": <ns>}` or a Go duration such as `-NAK 1.5s`. */

const NS_PER_MS = 1_000_000;
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** The delay in ms; 0 for a plain NAK or one whose delay does not parse (nats-server treats those as plain). */
export function nakDelayMs(arg: Buffer): number {
  const text = arg.toString().trim();
  if (text === '') return 0;
  if (text.startsWith('{')) {
    try {
      const o = JSON.parse(text) as { delay?: unknown };
      return typeof o.delay === 'number' && o.delay > 0 ? o.delay / NS_PER_MS : 0;
    } catch {
      return 0;
    }
  }
  return parseGoDurationMs(text);
}

/** Go's time.ParseDuration for the units NAK delays use ("300ms", "1m30s"); 0 when malformed. */
function parseGoDurationMs(s: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * UNIT_MS[m[2]];
    consumed = re.lastIndex;
  }
  return consumed === s.length ? total : 0;
}
