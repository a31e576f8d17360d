/**
 * Size suffixes on integers, as nats-server's configuration parser reads
 * them (case-insensitive):
 *
 *   k  m  g  t  p  e          decimal: 1000^n
 *   kb mb gb tb pb eb         binary:  1024^n   (so `1MB` is 1048576)
 *   ki mi gi ti pi ei         binary:  1024^n   (Kubernetes style, `10Gi`)
 *   kib mib gib tib pib eib   binary:  1024^n
 *
 * Note that a bare `m` is mega, not minutes: `ping_interval: 2m` unquoted is
 * the integer 2000000. Durations have to be quoted strings.
 */

const DECIMAL_STEP = 1000n;
const BINARY_STEP = 1024n;

function buildTable(): ReadonlyMap<string, bigint> {
  const table = new Map<string, bigint>([['', 1n]]);
  'kmgtpe'.split('').forEach((letter, i) => {
    const power = BigInt(i + 1);
    table.set(letter, DECIMAL_STEP ** power);
    for (const tail of ['b', 'i', 'ib']) table.set(letter + tail, BINARY_STEP ** power);
  });
  return table;
}

/** Lower-case suffix to multiplier. */
export const SIZE_SUFFIXES: ReadonlyMap<string, bigint> = buildTable();

export type SizeResult = { ok: true; value: number } | { ok: false; problem: string };

/**
 * The value of an integer token such as `512`, `-3`, `1MB` or `10Gi`.
 * Values beyond JavaScript's exact integer range are refused rather than
 * silently rounded.
 */
export function parseSizedInteger(text: string): SizeResult {
  const m = /^(-?[0-9]+)([A-Za-z]*)$/.exec(text);
  if (m === null) return { ok: false, problem: `expected an integer, but got '${text}'` };
  const multiplier = SIZE_SUFFIXES.get(m[2].toLowerCase());
  if (multiplier === undefined) {
    return { ok: false, problem: `'${text}' has an unknown size suffix '${m[2]}'` };
  }
  const value = BigInt(m[1]) * multiplier;
  const limit = BigInt(Number.MAX_SAFE_INTEGER);
  if (value > limit || value < -limit) {
    return { ok: false, problem: `integer '${text}' is out of the range` };
  }
  return { ok: true, value: Number(value) };
}
