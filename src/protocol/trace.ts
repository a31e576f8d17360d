import './buffer-internals.js';
import { goQuoteWire } from '../text/go-format.js';
import type { Logger } from '../log/logger.js';

/**
 * Protocol trace lines (-V) in nats-server's format, shared by every
 * connection kind: `<label> - <<- [OP args]`, `<label> - <<- MSG_PAYLOAD: ["..."]`,
 * `<label> - ->> [OP args]`.
 */
export function traceIn(logger: Logger, label: string, text: string): void {
  logger.trace(`${label} - <<- [${redactSecrets(text)}]`);
}

export function traceInPayload(logger: Logger, label: string, buf: Buffer, start: number, end: number): void {
  logger.trace(`${label} - <<- MSG_PAYLOAD: [${goQuoteWire(buf.latin1Slice(start, end))}]`);
}

export function traceOut(logger: Logger, label: string, text: string): void {
  logger.trace(`${label} - ->> [${redactSecrets(text)}]`);
}

/**
 * CONNECT fields whose values are credentials. nats-server 2.9.10 hides
 * only `pass`; a token, a nonce signature or a user JWT opens the door just
 * as well, so none of them reaches a log here.
 */
const SECRET_FIELD = /("(?:pass|auth_token|sig|jwt)"\s*:\s*)"(?:[^"\\]|\\.)*"/g;

/** A protocol line with every credential value replaced by `[REDACTED]` (nats-server's marker). */
export function redactSecrets(text: string): string {
  // Only CONNECT carries credentials; every other line passes untouched and uncopied.
  if (!text.startsWith('CONNECT')) return text;
  return text.replace(SECRET_FIELD, '$1"[REDACTED]"');
}
