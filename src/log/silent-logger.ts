import type { Logger } from './logger.js';

/** The embedding API's default: tests that embed a server want quiet output. */
export const silentLogger: Logger = {
  info() {},
  warn() {},
  error() {},
  fatal() {},
  debug() {},
  trace() {},
  debugEnabled: false,
  traceEnabled: false,
};
