import net from 'node:net';
import { sleep } from './wait.js';

/**
 * Ports handed out by this process: never handed out twice, so two servers
 * of one test cannot be given the same port.
 */
const handedOut = new Set<number>();

/**
 * A TCP port on 127.0.0.1 that was free a moment ago. Chosen below Linux's
 * ephemeral range (32768-60999): a port the OS picked for `listen(0)` is
 * also where it puts the local end of outgoing connections, so between this
 * call and the server's bind any client socket of the suite could take it
 * (a nats-server child then exits with "address already in use").
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (handedOut.has(port)) continue;
    if (await canListen(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ host: '127.0.0.1', port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** Resolves once something accepts TCP connections on host:port, rejects after `timeoutMs`. */
export async function waitForListen(port: number, timeoutMs = 5000, host = '127.0.0.1', alive?: () => string | null): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = alive?.();
    if (dead) throw new Error(dead);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host, port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => {
        s.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${host}:${port} after ${timeoutMs}ms`);
    await sleep(20);
  }
}
