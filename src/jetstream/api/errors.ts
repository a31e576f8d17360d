/**
 * JetStream API errors: `{ code, err_code, description }` exactly as
 * nats-server's errors.json defines them (code is the HTTP-like status,
 * err_code the JetStream error code clients switch on). Each API family adds
 * the constructors it needs here, named after nats-server's identifiers
 * (JSStreamNotFoundErr → streamNotFound) so they are easy to check against
 * the source of truth.
 */
import type { ApiErrorJson } from '../types.js';

export class JsApiError extends Error {
  readonly code: number;
  readonly errCode: number;

  constructor(code: number, errCode: number, description: string) {
    super(description);
    this.code = code;
    this.errCode = errCode;
  }

  toJSON(): ApiErrorJson {
    return { code: this.code, err_code: this.errCode, description: this.message };
  }
}

const e = (code: number, errCode: number, description: string): JsApiError => new JsApiError(code, errCode, description);

export const notEnabledForAccount = (): JsApiError => e(503, 10039, 'jetstream not enabled for account');
export const notEnabled = (): JsApiError => e(503, 10076, 'jetstream not enabled');
export const badRequest = (): JsApiError => e(400, 10003, 'bad request');
export const invalidJson = (detail: string): JsApiError => e(400, 10025, detail === '' ? 'invalid JSON' : `invalid JSON: ${detail}`);
export const streamNotFound = (): JsApiError => e(404, 10059, 'stream not found');
export const consumerNotFound = (): JsApiError => e(404, 10014, 'consumer not found');
