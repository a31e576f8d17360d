/** Starts an embedded Natter and makes sure it is closed when the test file ends. */
import { startServer, type RunningServer, type StartOptions } from '../../src/index.js';

const live = new Set<RunningServer>();

/** How long close() may take before the helper gives up and reports it. */
export const CLOSE_TIMEOUT_MS = 3000;

/**
 * startServer() whose close() cannot hang a test file: if the server's own
 * close() does not settle within CLOSE_TIMEOUT_MS the returned promise
 * rejects (the test or hook that awaited it fails) instead of waiting forever.
 */
export async function startNatter(opts: StartOptions = {}): Promise<RunningServer> {
  const srv = await startServer(opts);
  live.add(srv);
  let closing: Promise<void> | null = null;
  return {
    url: srv.url,
    port: srv.port,
    server: srv.server,
    close: () => {
      live.delete(srv);
      closing ??= withTimeout(srv.close(), CLOSE_TIMEOUT_MS, `Natter close() did not finish within ${CLOSE_TIMEOUT_MS}ms`);
      return closing;
    },
  };
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
  const all = [...live];
  live.clear();
  await Promise.allSettled(all.map((s) => withTimeout(s.close(), CLOSE_TIMEOUT_MS, 'close timed out')));
}
