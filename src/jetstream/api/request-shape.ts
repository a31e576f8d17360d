/**
 * The shape of an API request body, checked before JSON.parse sees it.
 * JSON.parse is iterative and survives any nesting, but what a body can
 * make it build is the cost: 1 MB of nested arrays takes it 60-90 ms, in
 * one piece, on the event loop every client shares. And anything that later
 * walks a parsed value recursively (JSON.stringify overflows the stack at a
 * depth of about 10,000) must never meet a deep one. One pass over the bytes
 * (about 3 ms per MB, stopping at the first limit crossed) refuses both.
 */
import { type JsApiError, invalidJson } from './errors.js';

/**
 * Nesting allowed. The deepest JetStream request (a stream config's
 * sources, their subject transforms) nests five levels; Go's decoder, and so
 * nats-server, stops at 10,000, which is past what a recursive walk here
 * survives.
 */
export const MAX_JSON_DEPTH = 64;
/**
 * Arrays and objects allowed in one request: a stream config with 10,000
 * sources has about 30,000. JSON.parse builds this many nested arrays in
 * under 10 ms.
 */
export const MAX_JSON_CONTAINERS = 50_000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/** The limit `body` crosses as an `invalid JSON` API error, or null. Not a validation: JSON.parse still judges the syntax. */
export function jsonShapeProblem(body: Buffer): JsApiError | null {
  // Too short to nest past the depth limit, let alone hold that many containers.
  if (body.length <= MAX_JSON_DEPTH) return null;
  let depth = 0;
  let containers = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > MAX_JSON_DEPTH) return invalidJson(`exceeded max depth of ${MAX_JSON_DEPTH}`);
      if (++containers > MAX_JSON_CONTAINERS) return invalidJson(`more than ${MAX_JSON_CONTAINERS} arrays and objects`);
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return null;
}
