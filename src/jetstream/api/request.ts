/** Request bodies of the paged and message APIs: a JSON object, or nothing (an empty body means defaults). */
import { type JsApiError, invalidJson } from './errors.js';

export type JsonObject = Record<string, unknown>;

export function parseRequest(body: Buffer): JsonObject | JsApiError {
  if (body.length === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch (e) {
    return invalidJson(e instanceof Error ? e.message : String(e));
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return invalidJson('json: cannot unmarshal into a request object');
  return v as JsonObject;
}

/** nats-server's isEmptyRequest: no bytes, or a JSON object without fields. */
export function isEmptyRequest(body: Buffer): boolean {
  if (body.length === 0) return true;
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;
  } catch {
    return false;
  }
}
