/**
 * Shared pieces of the TLS tests: a logger that keeps its lines, a raw
 * client that reads the clear-text INFO and then (optionally) starts TLS the
 * way NATS clients do, and waits on sockets.
 */
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import type { CertFiles } from './certs.js';

/** What a connection saw: every byte, and when it closed (ms after connecting). */
export interface Transcript {
  text(): string;
  closedAfter(): Promise<number>;
}

/** Records everything a socket receives until it closes. */
export function record(socket: net.Socket): Transcript {
  const start = Date.now();
  let data = '';
  socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
  socket.on('error', () => {});
  const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now() - start)));
  return { text: () => data, closedAfter: () => closed };
}

/** A plain TCP connection to 127.0.0.1:port. */
export function dial(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Reads the first protocol line (the INFO) and returns its JSON; leaves the socket paused. */
export function readInfo(socket: net.Socket): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.pause();
      const line = buf.slice(0, end);
      if (!line.startsWith('INFO ')) {
        reject(new Error(`expected INFO, got ${JSON.stringify(line)}`));
        return;
      }
      resolve(JSON.parse(line.slice(5)) as Record<string, unknown>);
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`closed before INFO; got ${JSON.stringify(buf)}`)));
  });
}

export interface TlsDialOptions {
  ca: string;
  /** Client certificate to present. */
  client?: CertFiles;
  /** Name to check the server certificate against (default "localhost"). */
  servername?: string;
}

/** Starts TLS on an existing socket; resolves once the client side of the handshake is done. */
export function startTls(socket: net.Socket, o: TlsDialOptions): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const t = tls.connect({
      socket,
      ca: readFileSync(o.ca),
      servername: o.servername ?? 'localhost',
      ...(o.client === undefined ? {} : { cert: readFileSync(o.client.cert), key: readFileSync(o.client.key) }),
    }, () => resolve(t));
    t.once('error', reject);
  });
}

/**
 * Dials, reads the clear-text INFO, starts TLS, sends CONNECT + PING and
 * resolves with the INFO once PONG comes back; rejects when the server ends
 * the connection instead.
 */
export async function tlsPing(port: number, o: TlsDialOptions): Promise<{ info: Record<string, unknown>; socket: tls.TLSSocket }> {
  const raw = await dial(port);
  const info = await readInfo(raw);
  const socket = await startTls(raw, o);
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      if (buf.includes('PONG\r\n')) resolve();
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`closed; got ${JSON.stringify(buf)}`)));
    socket.write('CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n');
  });
  return { info, socket };
}


export interface HttpsAnswer {
  status: number;
  type: string;
  body: string;
  /** The subject of the certificate the server presented. */
  subject: string;
}

/** GET over HTTPS trusting `ca`, on a fresh connection (so every call sees the current certificate). */
export function httpsGet(url: string, ca: string): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca: readFileSync(ca), agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({
        status: res.statusCode ?? 0,
        type: String(res.headers['content-type'] ?? ''),
        body,
        subject: (res.socket as tls.TLSSocket).getPeerX509Certificate()?.subject ?? '',
      }));
    });
    req.on('error', reject);
  });
}

/** Go's net/http answer to plain HTTP on a TLS port. */
export const PLAIN_HTTP_ON_HTTPS = 'HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n';
