/**
 * Starts an embedded Natter for a test and makes sure it is closed.
 *
 * Tests look at internals (clients, accounts, subsystems) that the public
 * embedding API (src/index.ts) does not offer, so this builds the server
 * itself rather than going through startServer(); test/server/embedding.test.ts
 * covers the public API.
 */
import type { StartOptions } from '../../src/index.js';
import { silentLogger } from '../../src/log/silent-logger.js';
import { resolveOptions } from '../../src/server/options.js';
import { Server } from '../../src/server/server.js';

export interface TestNatter {
  /** nats://host:port */
  readonly url: string;
  readonly port: number;
  /** The server itself, for assertions on its internals. */
  readonly server: Server;
  /** Shuts the server down; rejects if that takes longer than CLOSE_TIMEOUT_MS. */
  close(): Promise<void>;
}

const live = new Set<TestNatter>();

/** How long close() may take before the helper gives up and reports it. */
export const CLOSE_TIMEOUT_MS = 3000;

/**
 * A started Natter with startServer()'s defaults (127.0.0.1, a random port,
 * silent), whose close() cannot hang a test file: if shutdown does not
 * settle within CLOSE_TIMEOUT_MS the returned promise rejects (the test or
 * hook that awaited it fails) instead of waiting forever.
 */
export async function startNatter(opts: StartOptions = {}): Promise<TestNatter> {
  const { logger, ...rest } = opts;
  const server = new Server(resolveOptions({ host: '127.0.0.1', port: 0, ...rest }), logger ?? silentLogger);
  await server.start();
  let closing: Promise<void> | null = null;
  const natter: TestNatter = {
    url: server.clientURLs()[0],
    port: server.port,
    server,
    close: () => {
      live.delete(natter);
      closing ??= withTimeout(server.shutdown(), CLOSE_TIMEOUT_MS, `Natter close() did not finish within ${CLOSE_TIMEOUT_MS}ms`);
      return closing;
    },
  };
  live.add(natter);
  return natter;
}

export function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Closes every Natter this process started and has not closed yet. */
export async function closeAllNatter(): Promise<void> {
  await Promise.allSettled([...live].map((s) => s.close()));
}
