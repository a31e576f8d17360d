import './buffer-internals.js';
import { goQuote } from '../auth/wire-text.js';
import type { Logger } from '../log/logger.js';

/**
 * Protocol trace lines (-V) in nats-server's format, shared by every
 * connection kind: `<label> - <<- [OP args]`, `<label> - <<- MSG_PAYLOAD: ["..."]`,
 * `<label> - ->> [OP args]`.
 */
export function traceIn(logger: Logger, label: string, text: string): void {
  logger.trace(`${label} - <<- [${text}]`);
}

export function traceInPayload(logger: Logger, label: string, buf: Buffer, start: number, end: number): void {
  logger.trace(`${label} - <<- MSG_PAYLOAD: [${goQuote(buf.latin1Slice(start, end))}]`);
}

export function traceOut(logger: Logger, label: string, text: string): void {
  logger.trace(`${label} - ->> [${text}]`);
}
