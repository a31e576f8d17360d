import net from 'node:net';
import { ERR, errLine } from '../protocol/errors.js';
import { Client, CloseReason } from './client.js';
import type { Server } from './server.js';

/**
 * The client port: accepts sockets, greets them with INFO, turns them into
 * Clients (or refuses them), and owns the sockets that are closing.
 */
export class ClientListener {
  private readonly server: Server;
  private listener: net.Server | null = null;
  private nextCid = 1;
  /** Sockets we ended whose peer has not closed yet; shutdown cuts them. */
  private readonly lingering = new Set<net.Socket>();

  constructor(server: Server) {
    this.server = server;
  }

  /** Binds host:port; resolves with the bound port. */
  async listen(host: string, port: number): Promise<number> {
    const listener = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen({ host, port, backlog: 1024 }, () => {
        listener.off('error', reject);
        resolve();
      });
    });
    listener.on('error', (e) => this.server.logger.error(`Client listener error: ${e.message}`));
    this.listener = listener;
    const addr = listener.address();
    return typeof addr === 'object' && addr !== null ? addr.port : port;
  }

  /** Stops accepting; resolves once the listening socket is closed (not waiting for clients). */
  stopAccepting(): Promise<void> {
    const listener = this.listener;
    this.listener = null;
    if (listener === null) return Promise.resolve();
    return new Promise<void>((r) => listener.close(() => r()));
  }

  /** Destroys every socket still closing: the server is going away. */
  cutLingering(): void {
    for (const socket of this.lingering) socket.destroy();
  }

  private accept(socket: net.Socket): void {
    const server = this.server;
    if (server.shuttingDown || server.inLameDuck) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const cid = this.nextCid++;
    const max = server.options.max_connections;
    if (max > 0 && server.clients.size >= max) {
      // nats-server still greets the client, so it can read why it is refused.
      const ip = socket.remoteAddress ?? '';
      server.logger.error(`${ip}:${socket.remotePort ?? 0} - cid:${cid} - Maximum Connections Exceeded: ${server.clients.size}`);
      socket.on('error', () => socket.destroy());
      // Keep reading (and dropping) so the peer's close is seen and the socket goes away.
      socket.resume();
      socket.end(server.infoFor(cid, ip, null) + errLine(ERR.maxConnections));
      this.linger(socket);
      return;
    }
    const client = new Client(server, socket, cid, server.globalAccount, server.authFor());
    socket.on('data', (chunk: Buffer) => client.onData(chunk));
    socket.on('drain', () => client.onDrain());
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (server.logger.debugEnabled) server.logger.debug(`${client.label()} - Client connection error: ${e.message}`);
      client.close(e.code === 'ECONNRESET' || e.code === 'EPIPE' ? CloseReason.ClientClosed : CloseReason.ReadError, true);
    });
    socket.on('close', () => client.close(CloseReason.ClientClosed, true));
    // The INFO goes out directly: no queue exists yet and most clients wait for it.
    socket.write(server.infoFor(cid, client.host, client.nonce));
    server.addClient(client);
  }

  /**
   * A socket we ended but the peer has not closed yet. It gets write_deadline
   * to take our last bytes; shutdown does not wait for it.
   */
  linger(socket: net.Socket): void {
    if (socket.destroyed) return;
    this.lingering.add(socket);
    socket.once('close', () => this.lingering.delete(socket));
    setTimeout(() => socket.destroy(), this.server.options.write_deadline).unref();
  }
}
