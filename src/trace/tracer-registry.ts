/**
 * Which tracer serves which server. Keyed by the server object itself, so
 * that any layer holding its server (as a ServerCore, or a client's host)
 * finds the tracer without importing the server or the tracer's module.
 */
import type { TraceStarter } from './msg-trace.js';

const tracers = new WeakMap<object, TraceStarter>();

export function registerTracer(server: object, tracer: TraceStarter): void {
  tracers.set(server, tracer);
}

/** The tracer of `server`; null before one is installed (or for a server that never installs one). */
export function tracerOf(server: object): TraceStarter | null {
  return tracers.get(server) ?? null;
}
