import './buffer-internals.js';
import { goQuoteWire } from '../text/go-format.js';
import type { Logger } from '../log/logger.js';
import { redactProtocolLine } from '../log/redact.js';

/**
 * Protocol trace lines (-V) in nats-server's format, shared by every
 * connection kind: `<label> - <<- [OP args]`, `<label> - <<- MSG_PAYLOAD: ["..."]`,
 * `<label> - ->> [OP args]`.
 */
export function traceIn(logger: Logger, label: string, text: string): void {
  logger.trace(`${label} - <<- [${redactProtocolLine(text)}]`);
}

export function traceInPayload(logger: Logger, label: string, buf: Buffer, start: number, end: number): void {
  logger.trace(`${label} - <<- MSG_PAYLOAD: [${goQuoteWire(buf.latin1Slice(start, end))}]`);
}

export function traceOut(logger: Logger, label: string, text: string): void {
  logger.trace(`${label} - ->> [${redactProtocolLine(text)}]`);
}

/** Protocol lines are traced with every CONNECT credential replaced by `[REDACTED]` (nats-server's marker). */
export { redactProtocolLine as redactSecrets } from '../log/redact.js';
