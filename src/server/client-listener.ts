import net from 'node:net';
import { ERR, errLine } from '../protocol/errors.js';
import { loadTlsMaterial, sharedTlsOf, TlsAcceptor, type TlsConfig } from '../tls/index.js';
import type { Account } from '../accounts/account.js';
import { Client, CloseReason, type ClientHost, type ClientTransport, type ConnectionAuth } from './client.js';
import type { ServerOptions } from './options.js';

/** What nats-server sends a TLS client over connection_rate_limit (in clear, after INFO). */
const THROTTLED = 'Connection throttling is active. Please try again later.';

/** The first byte of a TLS record carrying a handshake: how a ClientHello starts. */
const TLS_HANDSHAKE_RECORD = 0x16;

/** What the client port needs from its server, besides what its clients need. */
export interface ListenerHost extends ClientHost {
  readonly shuttingDown: boolean;
  readonly inLameDuck: boolean;
  /** The account a connection is bound to until it authenticates. */
  readonly globalAccount: Account;
  /** The open client connections (max_connections counts them). */
  readonly clients: ReadonlyMap<number, Client>;
  /** The authentication facts a connection is greeted with (its INFO's nonce) and then created with. */
  authFor(): ConnectionAuth;
  /** A new connection, greeted and ready. */
  addClient(c: Client): void;
}

/** INFO's TLS fields, in nats-server's key order. */
export interface TlsInfoFields {
  tls_required?: true;
  tls_verify?: true;
  tls_available?: true;
}

/**
 * nats-server's top-level `allow_non_tls`: with a tls block, plain clients
 * are served too (INFO says tls_available instead of tls_required).
 */
function allowNonTls(o: ServerOptions): boolean {
  return o.allow_non_tls === true;
}

/**
 * Waits up to `ms` for a socket's first bytes without consuming them: they
 * are put back for whoever reads next. Nothing happens if the socket closes first.
 */
function awaitFirstBytes(socket: net.Socket, ms: number, arrived: (first: Buffer) => void, timedOut: () => void): void {
  const onData = (first: Buffer): void => {
    clearTimeout(timer);
    socket.off('close', onClose);
    socket.pause();
    socket.unshift(first);
    arrived(first);
  };
  const onClose = (): void => {
    clearTimeout(timer);
    socket.off('data', onData);
  };
  const timer = setTimeout(() => {
    socket.off('data', onData);
    socket.off('close', onClose);
    socket.pause();
    timedOut();
  }, Math.max(0, ms));
  socket.once('data', onData);
  socket.once('close', onClose);
  socket.resume();
}

/**
 * The client port: accepts sockets, greets them with INFO, runs the TLS
 * handshake when the port has TLS, turns them into Clients (or refuses them),
 * and owns the sockets that are closing.
 *
 * With TLS, a Client is only made once the handshake is done, over the TLS
 * socket: its reads are the decrypted stream, and the peer certificate stays
 * on that socket (peerCertificateOf(client.socket) in src/tls).
 */
export class ClientListener {
  private readonly server: ListenerHost;
  private listener: net.Server | null = null;
  private nextCid = 1;
  /** Sockets we ended whose peer has not closed yet; shutdown cuts them. */
  private readonly lingering = new Set<ClientTransport>();
  /** Accepted sockets still in their TLS handshake (no Client yet). */
  private readonly handshaking = new Set<net.Socket>();
  /** TLS for new connections; null when the port is plain. */
  private acceptor: TlsAcceptor | null = null;
  private mixedTls = false;

  constructor(server: ListenerHost) {
    this.server = server;
  }

  /** Loads TLS (throwing on broken material, before binding), binds host:port; resolves with the bound port. */
  async listen(host: string, port: number, tls: TlsConfig | null): Promise<number> {
    this.useTls(this.tlsFor(tls), this.server.options);
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

  /**
   * Takes the TLS part of a reloaded configuration: certificate, key and CA
   * are read again (also when the block did not change: files get replaced
   * in place) and used for every handshake from now on; connections already
   * up keep theirs. Broken material is refused: the error is logged and
   * thrown, and the current TLS stays in force. Nothing else can fail after
   * the files are loaded, so this either applies completely or not at all.
   */
  applyOptions(next: ServerOptions, tls: TlsConfig | null): void {
    let acceptor: TlsAcceptor | null;
    try {
      acceptor = this.tlsFor(tls);
    } catch (e) {
      this.server.logger.error(`TLS configuration not reloaded, the current one stays in force: ${(e as Error).message}`);
      throw e;
    }
    const before = this.acceptor?.material.certificate ?? null;
    const after = acceptor?.material.certificate ?? null;
    if (after !== null && before?.fingerprint256 !== after.fingerprint256) {
      this.server.logger.info(`TLS certificate loaded: ${after.subject.replace(/\n/g, ', ')} (serial ${after.serialNumber}, valid until ${after.validTo})`);
    }
    this.useTls(acceptor, next);
  }

  /** INFO's TLS fields as nats-server sets them for the current configuration. */
  tlsInfo(): TlsInfoFields {
    const a = this.acceptor;
    if (a === null) return {};
    const out: TlsInfoFields = {};
    if (!this.mixedTls) out.tls_required = true;
    if (a.material.config.verify) out.tls_verify = true;
    if (this.mixedTls) out.tls_available = true;
    return out;
  }

  /** The next client connection id; other listeners of client connections (websocket) draw from it too. */
  nextClientId(): number {
    return this.nextCid++;
  }

  /** Stops accepting; resolves once the listening socket is closed (not waiting for clients). */
  stopAccepting(): Promise<void> {
    const listener = this.listener;
    this.listener = null;
    if (listener === null) return Promise.resolve();
    return new Promise<void>((r) => listener.close(() => r()));
  }

  /** Destroys every socket still closing or still in its TLS handshake: the server is going away. */
  cutLingering(): void {
    for (const socket of this.lingering) socket.destroy();
    for (const socket of this.handshaking) socket.destroy();
  }

  private tlsFor(tls: TlsConfig | null): TlsAcceptor | null {
    return tls === null ? null : new TlsAcceptor(loadTlsMaterial(tls), this.server.logger);
  }

  private useTls(acceptor: TlsAcceptor | null, o: ServerOptions): void {
    this.acceptor = acceptor;
    // handshake_first means every client starts with TLS, whatever allow_non_tls says.
    this.mixedTls = acceptor !== null && allowNonTls(o) && !acceptor.material.config.handshakeFirst;
    sharedTlsOf(this.server).set(acceptor?.material ?? null);
  }

  private accept(socket: net.Socket): void {
    const server = this.server;
    if (server.shuttingDown || server.inLameDuck) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const cid = this.nextClientId();
    const ip = socket.remoteAddress ?? '';
    const max = server.options.max_connections;
    // Connections in their TLS handshake count: nats-server registers a client before its handshake.
    const open = server.clients.size + this.handshaking.size;
    if (max > 0 && open >= max) {
      // nats-server still greets the client, so it can read why it is refused.
      server.logger.error(`${ip}:${socket.remotePort ?? 0} - cid:${cid} - Maximum Connections Exceeded: ${open}`);
      this.refuse(socket, server.infoFor(cid, ip, null) + errLine(ERR.maxConnections));
      return;
    }
    const auth = server.authFor();
    const acceptor = this.acceptor;
    if (acceptor === null) {
      this.startClient(socket, cid, auth, true);
      return;
    }
    this.handshaking.add(socket);
    socket.once('close', () => this.handshaking.delete(socket));
    // Until a Client owns the socket, a reset just ends it.
    const dropOnError = (): void => {
      socket.destroy();
    };
    socket.on('error', dropOnError);
    const c = acceptor.material.config;
    const mixed = this.mixedTls;
    const label = `${ip}:${socket.remotePort ?? 0} - cid:${cid}`;
    const secure = (infoAfter: boolean): void => {
      if (!acceptor.admit()) {
        this.handshaking.delete(socket);
        this.refuse(socket, errLine(THROTTLED));
        return;
      }
      acceptor.upgrade({
        socket,
        label,
        deadline: Date.now() + c.timeoutMs,
        onSecure: (tlsSocket) => {
          this.handshaking.delete(socket);
          // Lame duck or shutdown began during the handshake: no new clients now.
          if (server.shuttingDown || server.inLameDuck) {
            tlsSocket.destroy();
            return;
          }
          this.startClient(tlsSocket, cid, auth, infoAfter);
        },
        onFailed: () => this.handshaking.delete(socket),
      });
    };
    const greet = (): void => {
      socket.write(server.infoFor(cid, ip, auth.nonce));
      if (!mixed) {
        secure(false);
        return;
      }
      // allow_non_tls: the client's first bytes tell whether it starts TLS; silence means plain.
      const plain = (): void => {
        this.handshaking.delete(socket);
        socket.off('error', dropOnError);
        this.startClient(socket, cid, auth, false);
      };
      awaitFirstBytes(socket, c.timeoutMs, (first) => (first[0] === TLS_HANDSHAKE_RECORD ? secure(false) : plain()), plain);
    };
    if (!c.handshakeFirst) {
      greet();
    } else if (c.handshakeFirstFallbackMs > 0) {
      // A client that says nothing for the fallback delay is not starting TLS: greet it in clear.
      awaitFirstBytes(socket, c.handshakeFirstFallbackMs, () => secure(true), greet);
    } else {
      secure(true);
    }
  }

  /** A connection that is ready for the protocol: a Client on `socket` (plain or TLS). */
  private startClient(socket: net.Socket, cid: number, auth: ConnectionAuth, writeInfo: boolean): void {
    const server = this.server;
    const client = new Client(server, socket, cid, server.globalAccount, auth);
    socket.on('data', (chunk: Buffer) => client.onData(chunk));
    socket.on('drain', () => client.onDrain());
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (server.logger.debugEnabled) server.logger.debug(`${client.label()} - Client connection error: ${e.message}`);
      client.close(e.code === 'ECONNRESET' || e.code === 'EPIPE' ? CloseReason.ClientClosed : CloseReason.ReadError, true);
    });
    socket.on('close', () => client.close(CloseReason.ClientClosed, true));
    // The INFO goes out directly: no queue exists yet and most clients wait for it.
    if (writeInfo) socket.write(server.infoFor(cid, client.host, client.nonce));
    server.addClient(client);
    // A socket paused while its first bytes were looked at starts flowing with its 'data' listener.
    socket.resume();
  }

  /** Sends the last words and lets the socket go. */
  private refuse(socket: net.Socket, lastWords: string): void {
    socket.on('error', () => socket.destroy());
    // Keep reading (and dropping) so the peer's close is seen and the socket goes away.
    socket.resume();
    socket.end(lastWords);
    this.linger(socket);
  }

  /**
   * A socket we ended but the peer has not closed yet. It gets write_deadline
   * to take our last bytes; shutdown does not wait for it.
   */
  linger(socket: ClientTransport): void {
    if (socket.destroyed) return;
    this.lingering.add(socket);
    socket.once('close', () => this.lingering.delete(socket));
    setTimeout(() => socket.destroy(), this.server.options.write_deadline).unref();
  }
}
