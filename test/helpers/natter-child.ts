/**
 * Runs an embedded Natter in a child process (forked with an IPC channel), so
 * a test can watch it from outside: did it crash, how much memory does it
 * hold, how many clients and subscriptions does it still track.
 *
 * Parent → child: { type: 'stats', id } | { type: 'stop' }
 * Child → parent: { type: 'ready', port } | { type: 'stats', id, ... }
 */
import { startNatter } from './natter.js';

export interface ChildStats {
  clients: number;
  subscriptions: number;
  heapUsed: number;
  rss: number;
}

// `node --test dist/test/` also loads every file under a test/ folder: without
// an IPC channel this is not a forked server, so do nothing.
if (typeof process.send === 'function') {
  await main();
}

async function main(): Promise<void> {
  const opts = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>;
  const srv = await startNatter(opts);
  const send = (m: unknown): void => {
    process.send?.(m);
  };
  const gc = (globalThis as { gc?: () => void }).gc;

  process.on('message', (m: { type: string; id?: number }) => {
    if (m.type === 'stats') {
      gc?.();
      gc?.();
      const mu = process.memoryUsage();
      const stats: ChildStats = {
        clients: srv.server.clients.size,
        // Client subscriptions still in the sublist: the server's own `$SYS` services subscribe in `$G` too.
        subscriptions: srv.server.globalAccount.sublist.all().filter((sub) => sub.client !== null).length,
        heapUsed: mu.heapUsed,
        rss: mu.rss,
      };
      send({ type: 'stats', id: m.id, ...stats });
    } else if (m.type === 'stop') {
      void srv.close().then(() => process.exit(0));
    }
  });
  // The parent went away: do not linger.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', port: srv.port });
}
