/**
 * The websocket listener: an HTTP (or HTTPS, with the block's `tls`) server
 * whose upgrade requests are checked as nats-server checks them
 * (upgrade.ts), then handed to the `ws` library's WebSocketServer in
 * noServer mode for the handshake and the framing. Each websocket becomes
 * an ordinary Client over a WebsocketTransport, registered with the server
 * like a client of the client port (max_connections, /connz, upkeep).
 *
 * Why `ws`: it is the maintained WebSocket implementation of the Node
 * ecosystem (permessage-deflate, close handshake, limits), it frames
 * outbound data without copying it (header and payload are written
 * separately under one cork), and it unmasks inbound payloads in place.
 */
import type { X509Certificate } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { isIP, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { WebSocketServer, type WebSocket } from 'ws';
import { ERR, errLine } from '../protocol/errors.js';
import { CloseReason } from '../server/client.js';

import { ownURLs } from '../cluster/connect-urls.js';
import type { ServerOptions } from '../server/options.js';
import { describeTlsError, loadTlsMaterial, pinnedCertId, type TlsMaterial } from '../tls/index.js';
import { WebsocketClientHost, type WebsocketServer } from './client-host.js';
import { websocketConfigFrom, websocketStartProblem, type WebsocketConfig } from './config.js';
import type { WebsocketHandle } from './handle.js';
import { WebsocketTransport } from './transport.js';
import { LEAF_WS_PATH, WebsocketPeerTransport } from './peer-transport.js';
import type { LeafNodeHandle } from '../leafnode/handle.js';
import { OriginPolicy, refuseRequest, refuseUpgrade, upgradeRefusal } from './upgrade.js';
import { WebsocketClient } from './websocket-client.js';

/** Go durations in /varz are nanoseconds. */
const NS_PER_MS = 1_000_000;
/** Room above max_payload for the protocol line and a few small operations batched into the same message. */
const FRAME_ROOM = 64 * 1024;
/**
 * Clients batch operations into one message; nats-server's current limit
 * for a buffered (compressed) message is 8 max_payloads, at most 64 MiB.
 */
const MESSAGE_PAYLOAD_MULTIPLE = 8;
const MESSAGE_PAYLOAD_LIMIT = 64 * 1024 * 1024;
/** Below this many bytes a message is not worth compressing (nats-server's wsCompressThreshold). */
const COMPRESS_THRESHOLD = 64;

/** The largest websocket message a client may send. */
function maxMessageSize(maxPayload: number): number {
  return Math.max(maxPayload + FRAME_ROOM, Math.min(maxPayload * MESSAGE_PAYLOAD_MULTIPLE, MESSAGE_PAYLOAD_LIMIT));
}

/** Starts the listener of the `websocket` block; null when the block leaves websocket off (port 0). */
/** The server as the listener sees it: leaf connections (the leafnode path) go to its leaf node layer, if any. */
type ListenerServer = WebsocketServer & { readonly leafnodes: LeafNodeHandle | null };

export async function startWebsocket(server: ListenerServer): Promise<WebsocketHandle | null> {
  const config = websocketConfigFrom(server.options.websocket);
  if (config === null) return null;
  const security = server.security;
  const problem = websocketStartProblem(config, {
    hasUsers: security.users.size > 0 || security.nkeys.size > 0,
    knowsUser: (name) => security.users.has(name),
    operatorMode: server.operatorMode,
  });
  if (problem !== null) throw new Error(problem);
  const listener = new WebsocketListener(server, config);
  await listener.listen();
  server.onReload((next) => listener.prepareReload(next));
  server.onLameDuck(() => listener.stopAccepting());
  server.onShutdown(() => listener.close());
  return listener;
}

class WebsocketListener implements WebsocketHandle {
  private readonly server: ListenerServer;
  /** The block in force; a reload may replace its `tls`. */
  private config: WebsocketConfig;
  private readonly host: WebsocketClientHost;
  private readonly http: http.Server;
  /** The same server when it is HTTPS (wss), for reloading its certificates. */
  private readonly tlsServer: https.Server | null = null;
  /** The certificate wss clients are shown (a reload logs when it changes). */
  private loadedCertificate: X509Certificate | null = null;
  private readonly wss: WebSocketServer;
  private readonly origins: OriginPolicy;
  private readonly secure: boolean;
  /** Connections that have not upgraded yet, with their handshake deadline. */
  private readonly handshaking = new Map<Socket, NodeJS.Timeout | null>();
  private boundPort = 0;
  private accepting = true;

  constructor(server: ListenerServer, config: WebsocketConfig) {
    this.server = server;
    this.config = config;
    this.host = new WebsocketClientHost(server, config);
    this.origins = new OriginPolicy(config.sameOrigin, config.allowedOrigins, (origin) => {
      server.logger.error(`error parsing allowed origin: parse "${origin}": invalid URI for request`);
    });
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: maxMessageSize(server.options.max_payload),
      // nats-server does not check text frames for UTF-8: the protocol is bytes either way.
      skipUTF8Validation: true,
      perMessageDeflate: config.compression
        ? { serverNoContextTakeover: true, clientNoContextTakeover: true, threshold: COMPRESS_THRESHOLD }
        : false,
    });
    // A client that asked not to mask its frames is told it was heard (nats-server's answer, below the 101's own headers).
    this.wss.on('headers', (headers: string[], req: http.IncomingMessage) => {
      if (wantsNoMasking(req)) headers.push(NO_MASKING_ANSWER);
    });
    const tls = config.tls;
    this.secure = tls !== null;
    if (tls !== null) {
      const material = loadTlsMaterial(tls);
      this.loadedCertificate = material.certificate;
      const verify = tls.verify || tls.map;
      const handshakeTimeout = config.handshakeTimeoutMs > 0 ? config.handshakeTimeoutMs : tls.timeoutMs;
      const secure = https.createServer({ ...material.contextOptions, requestCert: verify, rejectUnauthorized: verify, handshakeTimeout });
      secure.on('tlsClientError', (e: Error, s: TLSSocket) => {
        server.logger.error(`${s.remoteAddress ?? ''}:${s.remotePort ?? 0} - websocket TLS handshake error: ${describeTlsError(e)}`);
      });
      secure.on('secureConnection', (s: TLSSocket) => this.connected(s));
      this.http = secure;
      this.tlsServer = secure;
    } else {
      this.http = http.createServer();
      this.http.on('connection', (s: Socket) => this.connected(s));
    }
    this.http.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => this.upgrade(req, socket, head));
    this.http.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => this.plainRequest(req, res));
    this.http.on('clientError', (_e: Error, socket: Socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request');
      else socket.destroy();
    });
  }

  get urls(): readonly string[] {
    const c = this.config;
    const scheme = this.secure ? 'wss' : 'ws';
    if (c.advertise !== null) return [`${scheme}://${c.advertise}`];
    const host = c.host === '0.0.0.0' || c.host === '::' || c.host === '' ? '127.0.0.1' : c.host;
    return [`${scheme}://${host.includes(':') ? `[${host}]` : host}:${this.boundPort}`];
  }

  get connectURLs(): readonly string[] {
    return ownURLs(this.config.advertise, this.config.host, this.boundPort);
  }

  setCluster(name: string, connectURLs: readonly string[]): void {
    const host = this.host;
    if (!host.setCluster(name, connectURLs)) return;
    // As nats-server's async INFO: to clients that said they understand it (protocol 1), once connected.
    const info = host.infoFor(0, '', null);
    for (const c of this.server.clients.values()) {
      if (c.server === host && c.connectReceived && c.protocol >= 1) c.send(info);
    }
  }

  async listen(): Promise<void> {
    const c = this.config;
    const srv = this.http;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen({ host: c.host, port: c.port === -1 ? 0 : c.port, backlog: 1024 }, () => {
        srv.off('error', reject);
        resolve();
      });
    });
    srv.on('error', (e) => this.server.logger.error(`websocket listener error: ${e.message}`));
    const addr = srv.address();
    this.boundPort = typeof addr === 'object' && addr !== null ? addr.port : c.port;
    const scheme = this.secure ? 'wss' : 'ws';
    this.server.logger.info(`Listening for websocket clients on ${scheme}://${c.host}:${this.boundPort}`);
    if (!this.secure) this.server.logger.warn('Websocket not configured with TLS. DO NOT USE IN PRODUCTION!');
  }

  /**
   * A reload (SIGHUP): nats-server lets the block's `tls` change (a change
   * anywhere else in the block was refused before this runs) and new
   * connections get it, the certificate files read again even when the
   * block did not change. Throws, changing nothing, when the files do not
   * load or TLS would be turned on or off (the listener is HTTP or HTTPS
   * for its life).
   */
  prepareReload(next: ServerOptions): () => void {
    const config = websocketConfigFrom(next.websocket);
    const tls = config?.tls ?? null;
    if (config === null || (tls !== null) !== this.secure) {
      throw new Error('config reload not supported for websocket: TLS can be turned on or off only with a restart');
    }
    const server = this.tlsServer;
    if (tls === null || server === null) return () => this.useConfig(config);
    let material: TlsMaterial;
    try {
      material = loadTlsMaterial(tls);
    } catch (e) {
      this.server.logger.error(`Websocket TLS configuration not reloaded, the current one stays in force: ${(e as Error).message}`);
      throw e;
    }
    const verify = tls.verify || tls.map;
    const verifyable = server as unknown as { requestCert?: unknown; rejectUnauthorized?: unknown };
    if (typeof verifyable.requestCert !== 'boolean' || typeof verifyable.rejectUnauthorized !== 'boolean') {
      // Node keeps both as plain properties read for each new connection; a release that moved them must not pass silently.
      throw new Error('config reload not supported for websocket tls: this Node.js version cannot change client certificate checks');
    }
    const pinned = tls.pinnedCerts;
    const pinnedChanged = !sameIds(this.config.tls?.pinnedCerts ?? null, pinned);
    return () => {
      const before = this.loadedCertificate;
      server.setSecureContext(material.contextOptions);
      verifyable.requestCert = verify;
      verifyable.rejectUnauthorized = verify;
      this.loadedCertificate = material.certificate;
      const after = material.certificate;
      if (after !== null && before?.fingerprint256 !== after.fingerprint256) {
        this.server.logger.info(`Websocket TLS certificate loaded: ${after.subject.replace(/\n/g, ', ')} (serial ${after.serialNumber}, valid until ${after.validTo})`);
      }
      this.useConfig(config);
      if (pinnedChanged && pinned !== null) this.dropUnpinned(pinned);
    };
  }

  /** nats-server's recheckPinnedCerts: wss clients whose certificate the reloaded pinned_certs no longer list are let go. */
  private dropUnpinned(pinned: ReadonlySet<string>): void {
    const host = this.host;
    const dropped: WebsocketClient[] = [];
    for (const c of this.server.clients.values()) {
      if (c.server !== host || !(c instanceof WebsocketClient)) continue;
      const raw = c.transport.raw;
      const cert = raw instanceof TLSSocket ? raw.getPeerX509Certificate() : undefined;
      const id = cert === undefined ? null : pinnedCertId(cert);
      if (id === null || !pinned.has(id)) dropped.push(c);
    }
    if (dropped.length === 0) return;
    this.server.logger.info(`Disconnect ${dropped.length} clients due to pinned certs reload`);
    // Without a close frame: nats-server's (status 1015) is one RFC 6455 forbids sending, and `ws` refuses to.
    for (const c of dropped) c.close(CloseReason.TlsHandshakeError, true);
  }

  private useConfig(config: WebsocketConfig): void {
    this.config = config;
    this.host.useConfig(config);
  }

  /**
   * Lame duck: no new websocket clients (those connected are let go with
   * the others, as clients). Not waiting for the HTTP server's close: it
   * counts the upgraded connections too, which the server closes itself.
   */
  stopAccepting(): void {
    if (!this.accepting) return;
    this.accepting = false;
    this.http.close();
    for (const socket of this.handshaking.keys()) socket.destroy();
  }

  close(): void {
    this.stopAccepting();
    this.wss.close();
  }

  varz(): Record<string, unknown> {
    const c = this.config;
    const v: Record<string, unknown> = {};
    if (c.host !== '') v.host = c.host;
    v.port = this.boundPort;
    if (c.advertise !== null) v.advertise = c.advertise;
    if (c.noAuthUser !== null) v.no_auth_user = c.noAuthUser;
    if (c.jwtCookie !== null) v.jwt_cookie = c.jwtCookie;
    if (c.handshakeTimeoutMs > 0) v.handshake_timeout = c.handshakeTimeoutMs * NS_PER_MS;
    if (c.authTimeoutMs !== null) v.auth_timeout = c.authTimeoutMs / 1000;
    if (c.noTls) v.no_tls = true;
    if (c.tls?.map === true) v.tls_map = true;
    if (c.sameOrigin) v.same_origin = true;
    if (c.allowedOrigins.length > 0) v.allowed_origins = [...c.allowedOrigins];
    if (c.compression) v.compression = true;
    return v;
  }

  /** A new connection (after TLS, for wss): it has handshake_timeout to upgrade. */
  private connected(socket: Socket): void {
    if (!this.accepting || !this.pinnedCertAccepted(socket)) {
      socket.destroy();
      return;
    }
    const ms = this.config.handshakeTimeoutMs;
    const timer = ms > 0 ? setTimeout(() => socket.destroy(), ms) : null;
    this.handshaking.set(socket, timer);
    socket.once('close', () => this.handshakeOver(socket));
  }

  /** `pinned_certs`: a wss client must present one of the listed keys (checked after the handshake, as on the client port). */
  private pinnedCertAccepted(socket: Socket): boolean {
    const pinned = this.config.tls?.pinnedCerts ?? null;
    if (pinned === null || !(socket instanceof TLSSocket)) return true;
    const cert = socket.getPeerX509Certificate();
    const id = cert === undefined ? null : pinnedCertId(cert);
    if (id !== null && pinned.has(id)) return true;
    const label = `${socket.remoteAddress ?? ''}:${socket.remotePort ?? 0}`;
    this.server.logger.error(`${label} - websocket TLS handshake error: certificate not pinned${id === null ? '' : ` (key id ${id})`}`);
    return false;
  }

  private handshakeOver(socket: Socket): void {
    const timer = this.handshaking.get(socket);
    if (timer !== undefined && timer !== null) clearTimeout(timer);
    this.handshaking.delete(socket);
  }

  /** A request that asked for no upgrade: refused for the first check it fails, as nats-server's handler does. */
  private plainRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const refusal = upgradeRefusal(req, null, this.secure, this.origins) ?? { status: 400, reason: "invalid value for header 'Upgrade'" };
    this.logRefusal(req, refusal.reason);
    refuseRequest(res, refusal.status ?? 400);
  }

  private upgrade(req: http.IncomingMessage, socket: Socket, head: Buffer): void {
    const refusal = upgradeRefusal(req, head, this.secure, this.origins);
    if (refusal !== null) {
      this.logRefusal(req, refusal.reason);
      if (refusal.status === null) socket.destroy();
      else refuseUpgrade(socket, refusal.status);
      return;
    }
    this.handshakeOver(socket);
    if (!this.accepting || this.server.shuttingDown || this.server.inLameDuck) {
      socket.destroy();
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      // Before any frame is read: the socket's data events start on a later turn.
      if (wantsNoMasking(req) && !acceptUnmaskedFrames(ws)) {
        this.logRefusal(req, 'the ws library changed: cannot accept unmasked frames for Nats-No-Masking');
        ws.terminate();
        return;
      }
      if ((req.url ?? '').startsWith(LEAF_WS_PATH)) this.acceptLeaf(ws, socket);
      else this.accept(ws, req, socket);
    });
  }

  /**
   * An upgrade on the leafnode path is a leaf connection: the leaf node
   * layer runs it over the websocket. nats-server upgrades first, then
   * closes it when there is no leafnode port.
   */
  private acceptLeaf(ws: WebSocket, socket: Socket): void {
    socket.setNoDelay(true);
    // A server never masks its frames (RFC 6455 section 5.1).
    const transport = new WebsocketPeerTransport(ws, socket, this.secure, false);
    if (this.server.leafnodes?.acceptWebsocket(transport) !== true) {
      this.server.logger.error('Not configured to accept leaf node connections');
      ws.terminate();
    }
  }

  private logRefusal(req: http.IncomingMessage, reason: string): void {
    const s = req.socket;
    this.server.logger.error(`${s.remoteAddress ?? ''}:${s.remotePort ?? 0} - websocket handshake error: ${reason}`);
  }

  /** An upgraded connection becomes a client, greeted with INFO (or refused, as the client port refuses). */
  private accept(ws: WebSocket, req: http.IncomingMessage, socket: Socket): void {
    const server = this.server;
    const host = this.host;
    socket.setNoDelay(true);
    const cid = server.nextClientId();
    const auth = host.connectionAuth();
    const max = server.options.max_connections;
    if (max > 0 && server.clients.size >= max) {
      // As on the client port: greeted first, so the client can read why it is refused.
      const ip = socket.remoteAddress ?? '';
      server.logger.error(`${ip}:${socket.remotePort ?? 0} - wid:${cid} - Maximum Connections Exceeded: ${server.clients.size}`);
      ws.send(host.infoFor(cid, ip, auth.nonce) + errLine(ERR.maxConnections), SEND_BINARY);
      ws.close(1008, 'Maximum Connections Exceeded');
      // A peer that does not answer the close frame gets write_deadline, as lingering clients do.
      setTimeout(() => ws.terminate(), server.options.write_deadline).unref();
      return;
    }
    const transport = new WebsocketTransport(ws, socket, (req.headers['user-agent'] ?? '').startsWith('Mozilla/'));
    const client = new WebsocketClient(host, transport, cid, server.globalAccount, auth, {
      cookieJwt: this.config.jwtCookie === null ? null : cookieValue(req, this.config.jwtCookie),
      forwardedFor: forwardedFor(req),
    });
    ws.on('message', (data) => {
      if (Buffer.isBuffer(data)) client.onData(data);
    });
    socket.on('drain', () => client.onDrain());
    ws.on('error', (e: Error) => {
      // `ws` found a framing violation (or an oversized message) and is closing with its status already.
      server.logger.error(`${client.label()} - read error: ${e.message}`);
      client.close(CloseReason.ReadError);
    });
    ws.on('close', () => client.close(CloseReason.ClientClosed, true));
    ws.send(host.infoFor(cid, client.host, client.nonce), SEND_BINARY);
    server.addClient(client);
  }
}

const SEND_BINARY = { binary: true } as const;

/** Whether two pinned_certs sets (null: none configured) hold the same keys. */
function sameIds(a: ReadonlySet<string> | null, b: ReadonlySet<string> | null): boolean {
  if (a === null || b === null) return a === b;
  return a.size === b.size && [...a].every((id) => b.has(id));
}

/**
 * `Nats-No-Masking: true`: the client (a nats-server leaf node set to
 * `ws_no_masking`, or any client that asks) will send its frames unmasked,
 * which RFC 6455 forbids but nats-server allows on request, to spare the
 * XOR over every byte. The value must be exactly `true`, as nats-server
 * compares it.
 */
function wantsNoMasking(req: http.IncomingMessage): boolean {
  return req.headers['nats-no-masking'] === 'true';
}

const NO_MASKING_ANSWER = 'Nats-No-Masking: true';

/**
 * `ws` has no option for a server that accepts unmasked frames: its
 * receiver checks the mask bit by its `_isServer` flag, which only the
 * receiver reads (the sender's masking is decided by the WebSocket's own
 * flag, so our frames stay unmasked). Such a connection's masked frames
 * are refused instead ("MASK must be clear"), as nats-server, which then
 * reads no masking key, cannot make sense of them either. False when a
 * `ws` release renamed the field: the connection is refused, not left to
 * fail on its first frame.
 */
function acceptUnmaskedFrames(ws: WebSocket): boolean {
  const receiver = (ws as unknown as { _receiver?: { _isServer?: unknown } })._receiver;
  if (receiver === undefined || typeof receiver._isServer !== 'boolean') return false;
  receiver._isServer = false;
  return true;
}

/** The first X-Forwarded-For value when it is an IP address (nats-server ignores anything else), or null. */
function forwardedFor(req: http.IncomingMessage): string | null {
  const v = req.headers['x-forwarded-for'];
  const first = (Array.isArray(v) ? v[0] : v)?.trim();
  return first !== undefined && isIP(first) !== 0 ? first : null;
}

/** The value of the named cookie in the request's Cookie headers, or null. */
function cookieValue(req: http.IncomingMessage, name: string): string | null {
  const header = req.headers.cookie;
  if (header === undefined) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    return value.startsWith('"') && value.endsWith('"') && value.length >= 2 ? value.slice(1, -1) : value;
  }
  return null;
}
