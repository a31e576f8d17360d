/**
 * The server side of a TLS handshake on an accepted socket, for any listener.
 *
 * Sockets are handed to a `tls.Server` that never listens: Node computes a
 * client certificate's verification result (`authorized`) only for sockets a
 * tls.Server wraps, a bare `new TLSSocket(socket, { isServer: true })` leaves
 * it unset. The certificate checks then happen here, after the handshake, with
 * nats-server's wording in the log: a missing or unverifiable client
 * certificate, and pinned certificates. (Refused after the handshake, such a
 * client sees the connection close; Go's server sends a bad_certificate alert
 * first. Either way the client gets no further.)
 *
 * Before TLS sees any byte, the first one is looked at: a client speaking the
 * plain protocol to a TLS port is told apart (and logged as nats-server logs
 * it) without OpenSSL guessing at it.
 */
import { createHash, type X509Certificate } from 'node:crypto';
import type net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../log/logger.js';
import { ERR } from '../protocol/errors.js';
import { readCertificate } from './der.js';
import type { TlsMaterial } from './material.js';

/** TLS record types a handshake may start with: handshake, or an alert. */
const RECORD_HANDSHAKE = 0x16;
const RECORD_ALERT = 0x15;

export interface UpgradeRequest {
  /** The accepted socket; bytes already read from it must have been put back with unshift(). */
  socket: net.Socket;
  /** Log line prefix, e.g. "127.0.0.1:5555 - cid:7". */
  label: string;
  /** Date.now() by which the handshake must be complete. */
  deadline: number;
  /** The handshake is done and the client certificate (if any) passed every check. */
  onSecure(secure: tls.TLSSocket): void;
  /** The connection is gone without a completed handshake (already logged and destroyed). */
  onFailed(): void;
}

interface Pending {
  req: UpgradeRequest;
  timer: NodeJS.Timeout;
  done: boolean;
}

/** Lower-case hex SHA-256 of a certificate's SubjectPublicKeyInfo: what `pinned_certs` lists. */
export function pinnedCertId(cert: X509Certificate): string {
  return createHash('sha256').update(readCertificate(cert.raw).spki).digest('hex');
}

/** Go's RFC 3339 form of a time, as its x509 errors print them. */
function goTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Go's x509 wording for Node's verification error codes. */
function describeVerifyError(code: string, cert: X509Certificate): string {
  const now = new Date();
  switch (code) {
    case 'CERT_HAS_EXPIRED':
      return `x509: certificate has expired or is not yet valid: current time ${goTime(now)} is after ${goTime(new Date(cert.validTo))}`;
    case 'CERT_NOT_YET_VALID':
      return `x509: certificate has expired or is not yet valid: current time ${goTime(now)} is before ${goTime(new Date(cert.validFrom))}`;
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      return 'x509: certificate signed by unknown authority';
    case 'INVALID_PURPOSE':
      return 'x509: certificate specifies an incompatible key usage';
    default:
      return `x509: certificate verification failed (${code})`;
  }
}

/** A handshake failure as one readable line (OpenSSL's reason rather than its error stack). */
export function describeTlsError(e: Error): string {
  const err = e as NodeJS.ErrnoException & { reason?: unknown };
  // Node reports a peer that went away mid-handshake as a "socket hang up" reset; Go says EOF.
  if (err.code === 'ECONNRESET') return err.message === 'socket hang up' ? 'EOF' : 'read: connection reset by peer';
  if (typeof err.reason === 'string' && err.reason !== '') return err.reason;
  return err.message;
}

/** Go's net.JoinHostPort. */
function goHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Whether the first bytes can start a TLS record, by Go's test for a client's first record. */
function looksLikeTls(first: Buffer): boolean {
  if (first[0] !== RECORD_HANDSHAKE && first[0] !== RECORD_ALERT) return false;
  // Versions are 3.x; 16.0 and up cannot be TLS.
  return first.length < 3 || first.readUInt16BE(1) < 0x1000;
}

/** Accepts TLS on raw sockets with one set of material; a reload makes a new acceptor. */
export class TlsAcceptor {
  readonly material: TlsMaterial;
  private readonly logger: Logger;
  private readonly handshaker: tls.Server;
  /** Handshakes in flight by "address|port" (the one link Node gives from a TLS socket back to its request). */
  private readonly pending = new Map<string, Pending>();
  /** connection_rate_limit bookkeeping: the current one-second window. */
  private windowEnd = 0;
  private windowCount = 0;

  constructor(material: TlsMaterial, logger: Logger) {
    this.material = material;
    this.logger = logger;
    const c = material.config;
    this.handshaker = tls.createServer({
      ...material.contextOptions,
      requestCert: c.verify,
      // Refusing is done in onSecure, so that the reason can be logged.
      rejectUnauthorized: false,
      // Our deadline (set earlier, for the same time) fires first; this only keeps Node's 120 s default out of the way.
      handshakeTimeout: Math.max(1, c.timeoutMs),
    });
    this.handshaker.on('secureConnection', (s: tls.TLSSocket) => this.onSecure(s));
    this.handshaker.on('tlsClientError', (e: Error, s: tls.TLSSocket) => this.onTlsError(e, s));
  }

  /**
   * connection_rate_limit: whether one more TLS connection fits in the
   * current second (nats-server counts per one-second window).
   */
  admit(): boolean {
    const limit = this.material.config.connectionRateLimit;
    if (limit <= 0) return true;
    const now = Date.now();
    if (now > this.windowEnd) {
      this.windowEnd = now + 1000;
      this.windowCount = 0;
    } else {
      this.windowCount++;
    }
    return this.windowCount < limit;
  }

  /** Runs the server handshake on `req.socket`; exactly one of onSecure/onFailed follows. */
  upgrade(req: UpgradeRequest): void {
    const socket = req.socket;
    const key = `${socket.remoteAddress ?? ''}|${socket.remotePort ?? 0}`;
    const p: Pending = { req, done: false, timer: setTimeout(() => this.timedOut(key, p), Math.max(0, req.deadline - Date.now())) };
    if (this.logger.debugEnabled) this.logger.debug(`${req.label} - Starting TLS client connection handshake`);
    // The TLS socket takes over errors once it exists; before that (and for resets racing it) they end here.
    socket.on('error', () => socket.destroy());
    socket.once('close', () => this.fail(key, p, null, 'TLS handshake error: EOF'));
    socket.once('data', (first: Buffer) => {
      socket.pause();
      if (p.done) return;
      if (!looksLikeTls(first)) {
        this.fail(key, p, null, 'TLS handshake error: tls: first record does not look like a TLS handshake');
        return;
      }
      socket.unshift(first);
      this.pending.set(key, p);
      this.handshaker.emit('connection', socket);
    });
    socket.resume();
  }

  private onSecure(s: tls.TLSSocket): void {
    const key = `${s.remoteAddress ?? ''}|${s.remotePort ?? 0}`;
    const p = this.pending.get(key);
    if (p === undefined || p.done) {
      // Its request already failed (timed out, or the peer went away in between).
      s.destroy();
      return;
    }
    const c = this.material.config;
    const cert = s.getPeerX509Certificate();
    if (c.verify) {
      if (cert === undefined) return this.fail(key, p, s, "TLS handshake error: tls: client didn't provide a certificate");
      if (!s.authorized) {
        return this.fail(key, p, s, `TLS handshake error: tls: failed to verify client certificate: ${describeVerifyError(String(s.authorizationError), cert)}`);
      }
    }
    if (c.pinnedCerts !== null) {
      const id = cert === undefined ? null : pinnedCertId(cert);
      if (id === null || !c.pinnedCerts.has(id)) {
        if (this.logger.debugEnabled) {
          this.logger.debug(`${p.req.label} - ${id === null ? 'Failed pinned cert test as client did not provide a certificate' : `Failed pinned cert test for key id: ${id}`}`);
        }
        return this.fail(key, p, s, 'TLS handshake error: certificate not pinned');
      }
    }
    this.finish(key, p);
    if (this.logger.debugEnabled) {
      this.logger.debug(`${p.req.label} - TLS handshake complete`);
      const version = (s.getProtocol() ?? '').replace(/^TLSv/, '');
      this.logger.debug(`${p.req.label} - TLS version ${version}, cipher suite ${s.getCipher().standardName}`);
    }
    p.req.onSecure(s);
  }

  private onTlsError(e: Error, s: tls.TLSSocket): void {
    const key = `${s.remoteAddress ?? ''}|${s.remotePort ?? 0}`;
    const p = this.pending.get(key);
    // Without an address the socket is already closed; its raw socket's 'close' reports it.
    if (p !== undefined) this.fail(key, p, s, `TLS handshake error: ${describeTlsError(e)}`);
    else s.destroy();
  }

  /** The deadline passed: nats-server's two lines (its read deadline's error, then the timeout itself). */
  private timedOut(key: string, p: Pending): void {
    if (p.done) return;
    const s = p.req.socket;
    const local = goHostPort(s.localAddress ?? '', s.localPort ?? 0);
    const remote = goHostPort(s.remoteAddress ?? '', s.remotePort ?? 0);
    this.logger.error(`${p.req.label} - TLS handshake error: read tcp ${local}->${remote}: i/o timeout`);
    this.fail(key, p, null, 'TLS handshake timeout');
    // nats-server queues this error (and traces it), but the connection is closed before it can be sent.
    if (this.logger.traceEnabled) this.logger.trace(`${p.req.label} - ->> [-ERR ${ERR.tlsRequired}]`);
  }

  private finish(key: string, p: Pending): void {
    p.done = true;
    clearTimeout(p.timer);
    if (this.pending.get(key) === p) this.pending.delete(key);
  }

  /** Logs why, closes everything of this connection and tells its owner, once. */
  private fail(key: string, p: Pending, s: tls.TLSSocket | null, why: string): void {
    if (p.done) return;
    this.finish(key, p);
    this.logger.error(`${p.req.label} - ${why}`);
    s?.destroy();
    p.req.socket.destroy();
    p.req.onFailed();
  }
}

/**
 * The client certificate of a connection, or null: only TLS sockets with
 * `verify` have one, and it passed verification (the handshake fails
 * otherwise). This is what verify_and_map reads (see certIdentities).
 */
export function peerCertificateOf(socket: object): X509Certificate | null {
  if (!(socket instanceof tls.TLSSocket)) return null;
  return socket.getPeerX509Certificate() ?? null;
}
