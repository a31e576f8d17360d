/**
 * INFO fields that legitimately differ between two servers (or two runs) are
 * replaced by a placeholder naming their JSON type, so that the shape is still
 * compared; Natter's own extension fields are dropped; keys are sorted.
 */

/** Differ per server/run/build: compared by type only. */
export const VARYING_INFO_FIELDS = new Set([
  'server_id',
  'server_name',
  'version',
  'go',
  'git_commit',
  'client_id',
  'port',
  'nonce',
]);

/** Fields Natter may add that nats-server does not send; clients ignore unknown fields. */
export const EXTENSION_INFO_FIELDS = new Set(['natter_version']);

function typeTag(v: unknown): string {
  if (v === null) return '<null>';
  if (Array.isArray(v)) return '<array>';
  return `<${typeof v}>`;
}

export function normalizeInfo(info: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(info).sort()) {
    if (EXTENSION_INFO_FIELDS.has(k)) continue;
    out[k] = VARYING_INFO_FIELDS.has(k) ? typeTag(info[k]) : info[k];
  }
  return out;
}

/** Rewrites every `INFO {...} \r\n` in a byte stream (latin1 text) with its normalised JSON. */
export function normalizeStream(text: string): string {
  return text.replace(/INFO (\{[^\r\n]*\}) \r\n/g, (whole, json: string) => {
    try {
      return `INFO ${JSON.stringify(normalizeInfo(JSON.parse(json) as Record<string, unknown>))} \r\n`;
    } catch {
      return whole;
    }
  });
}

/** Makes control characters visible, for readable assertion messages. */
export function visible(s: string): string {
  return s.replace(/\r/g, '\\r').replace(/\n/g, '\\n\n').replace(/\t/g, '\\t');
}
