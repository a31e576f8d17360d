/**
 * The HTTP(S) monitoring listener: nats-server's endpoints under `http_base_path`,
 * with Go's `net/http` routing behaviour where clients can observe it (exact
 * paths, 301 to the cleaned path, the plain-text 404 and 400 answers, JSONP).
 *
 * Every answer is computed when asked for; nothing is cached between requests.
 */
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { describeTlsError, sharedTlsOf } from '../tls/index.js';
import { defaultHttpHost, type Handler, MonitorContext, type Reply } from './context.js';
import { BadRequest, Query, unescape } from './query.js';
import { joinHostPort } from '../text/go-format.js';
import { handleRoot, joinPath } from './index-page.js';
import { handleVarz } from './varz.js';
import { handleConnz } from './connz.js';
import { handleSubsz } from './subsz.js';
import { handleRoutez } from './routez.js';
import { handleGatewayz } from './gatewayz.js';
import { handleLeafz } from './leafz.js';
import { handleAccountz, handleAccstatz } from './accountz.js';
import { handleJsz } from './jsz.js';
import { handleHealthz } from './healthz.js';
import { METRICS_CONTENT_TYPE, renderMetrics } from './metrics.js';
import { DASHBOARD_FILES } from './dashboard/index.js';
import type { MonitorSource } from './source.js';

export interface MonitorHandle {
  /** Where the monitor can be reached, e.g. ["http://127.0.0.1:8222"]. */
  urls: string[];
  close(): Promise<void>;
}

const ENDPOINTS: ReadonlyArray<readonly [string, Handler]> = [
  ['/varz', handleVarz],
  ['/connz', handleConnz],
  ['/routez', handleRoutez],
  ['/gatewayz', handleGatewayz],
  ['/leafz', handleLeafz],
  ['/subsz', handleSubsz],
  // Older tooling still asks for the previous name.
  ['/subscriptionsz', handleSubsz],
  ['/accountz', handleAccountz],
  ['/accstatz', handleAccstatz],
  ['/jsz', handleJsz],
  ['/healthz', handleHealthz],
];

/** A body with its own content type, outside nats-server's JSON set: no JSONP, not in http_req_stats. */
type Resource = (source: MonitorSource) => { contentType: string; body: string };

const RESOURCES: ReadonlyArray<readonly [string, Resource]> = [
  ['/metrics', (s) => ({ contentType: METRICS_CONTENT_TYPE, body: renderMetrics(s) })],
  ...DASHBOARD_FILES.map((f): readonly [string, Resource] => [f.path, () => ({ contentType: f.contentType, body: f.body() })]),
];

const NOT_FOUND_BODY = '404 page not found\n';
/** Go's http.Server default; Node's own default (16 KiB) would refuse requests nats-server accepts. */
const MAX_HEADER_BYTES = 1 << 20;

/** Starts the monitor for `source` per its http_* options (HTTPS with the client port's `tls` block). */
export async function startMonitoring(source: MonitorSource): Promise<MonitorHandle> {
  const o = source.options;
  if (o.http_port !== 0 && o.https_port !== 0) {
    // nats-server refuses to start with both.
    throw new Error(`can't specify both HTTP (${o.http_port}) and HTTPs (${o.https_port}) ports`);
  }
  if (o.http_port === 0 && o.https_port === 0) return { urls: [], close: async () => {} };
  const secure = o.https_port !== 0;
  const shared = sharedTlsOf(source);
  const material = shared.get();
  if (secure && material === null) throw new Error('TLS cert and key required for HTTPS');

  const host = defaultHttpHost(source);
  const basePath = normalizeBasePath(o.http_base_path);
  const ctx = new MonitorContext(source, basePath, host);
  const routes = new Map<string, Handler>();
  routes.set(basePath, handleRoot);
  for (const [p, h] of ENDPOINTS) routes.set(joinPath(basePath, p), h);
  const resources = new Map<string, Resource>();
  for (const [p, r] of RESOURCES) resources.set(joinPath(basePath, p), r);

  // Malformed requests get Node's own 400 and are closed, much as Go's server answers them.
  const handle = (req: IncomingMessage, res: ServerResponse): void => dispatch(ctx, routes, resources, req, res);
  let http: HttpServer | HttpsServer;
  let listener: NetServer;
  let unwatch = (): void => {};
  /** With TLS: every accepted socket, also those not yet (or never) an HTTPS connection, so close() can end them. */
  const sockets = new Set<Socket>();
  if (secure && material !== null) {
    // Monitoring never asks for a client certificate, whatever `verify` says (as in nats-server).
    const https = createHttpsServer({ ...material.contextOptions, maxHeaderSize: MAX_HEADER_BYTES }, handle);
    https.on('tlsClientError', (e: Error, s: TLSSocket) => {
      const peer = s.remoteAddress === undefined ? 'unknown' : joinHostPort(s.remoteAddress, s.remotePort ?? 0);
      source.logger.error(`monitoring: TLS handshake error from ${peer}: ${describeTlsError(e)}`);
    });
    // Reloaded certificates apply to new monitoring connections too.
    unwatch = shared.watch((m) => {
      if (m !== null) https.setSecureContext(m.contextOptions);
    });
    http = https;
    listener = createNetServer((socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      handOverTls(https, socket);
    });
  } else {
    http = createServer({ maxHeaderSize: MAX_HEADER_BYTES }, handle);
    listener = http;
  }

  const port = secure ? (o.https_port === -1 ? 0 : o.https_port) : (o.http_port === -1 ? 0 : o.http_port);
  try {
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen({ host, port }, () => {
        listener.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    unwatch();
    throw new Error(`can't listen to the monitor port: ${(e as Error).message}`);
  }
  listener.on('error', (e) => source.logger.error(`monitoring: ${e.message}`));
  const bound = (listener.address() as AddressInfo).port;
  const scheme = secure ? 'https' : 'http';
  source.logger.info(`Starting ${scheme} monitor on ${joinHostPort(host, bound)}`);

  let closing: Promise<void> | null = null;
  return {
    urls: [`${scheme}://${joinHostPort(advertisedHost(host), bound)}`],
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        unwatch();
        listener.close(() => resolve());
        // Keep-alive connections (and, with TLS, connections still in their handshake) would otherwise hold the listener open.
        http.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}

/** The five bytes Go's server takes for a plain HTTP request sent to its HTTPS port. */
const HTTP_STARTS = ['GET /', 'HEAD ', 'POST ', 'PUT /', 'OPTIO'];

/**
 * Looks at a monitoring connection's first bytes before TLS does: plain HTTP
 * gets the answer Go's server gives it, anything else goes to the HTTPS server.
 */
function handOverTls(https: HttpsServer, socket: Socket): void {
  socket.on('error', () => socket.destroy());
  socket.once('data', (first: Buffer) => {
    socket.pause();
    if (HTTP_STARTS.includes(first.toString('latin1', 0, 5))) {
      socket.end('HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n');
      // Read (and drop) the rest so the peer's close is seen and the socket goes away.
      socket.resume();
      return;
    }
    socket.unshift(first);
    https.emit('connection', socket);
  });
}

/** What to dial when listening on every interface (as the server does for client URLs). */
function advertisedHost(host: string): string {
  return host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
}

/** nats-server's normalisation: leading slash, cleaned, "" is "/". */
export function normalizeBasePath(p: string): string {
  if (p === '') return '/';
  return goCleanPath(p.startsWith('/') ? p : '/' + p);
}

/** Go's path.Clean for rooted paths. */
export function goCleanPath(p: string): string {
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return '/' + out.join('/');
}

/** Go's ServeMux canonical form: cleaned, keeping a trailing slash. */
function muxCleanPath(p: string): string {
  if (p === '') return '/';
  if (!p.startsWith('/')) p = '/' + p;
  let np = goCleanPath(p);
  if (p.endsWith('/') && np !== '/') np += '/';
  return np;
}

function dispatch(ctx: MonitorContext, routes: Map<string, Handler>, resources: Map<string, Resource>, req: IncomingMessage, res: ServerResponse): void {
  let target = req.url ?? '/';
  // Absolute-form request targets (sent to proxies) carry scheme and authority.
  const abs = /^[a-z][a-z0-9+.-]*:\/\/[^/?]*/i.exec(target);
  if (abs !== null) target = target.slice(abs[0].length) || '/';
  const qi = target.indexOf('?');
  const rawPath = qi < 0 ? target : target.slice(0, qi);
  const rawQuery = qi < 0 ? '' : target.slice(qi + 1);
  const path = unescape(rawPath, false);
  if (path === null) {
    // Go's server rejects a malformed escape before any handler runs.
    sendText(res, 400, '400 Bad Request');
    return;
  }
  const clean = muxCleanPath(path);
  if (clean !== path) {
    redirect(req, res, encodeURI(clean) + (rawQuery !== '' ? '?' + rawQuery : ''));
    return;
  }
  const resource = resources.get(path);
  if (resource !== undefined) {
    serveResource(ctx, path, resource, res);
    return;
  }
  const handler = routes.get(path);
  if (handler === undefined) {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
    res.end(NOT_FOUND_BODY);
    return;
  }
  const query = new Query(rawQuery);
  const failed = (e: unknown): void => {
    if (e instanceof BadRequest) {
      sendText(res, 400, e.message);
    } else {
      ctx.source.logger.error(`Error handling monitoring request ${path}: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      sendText(res, 500, 'Internal Server Error');
    }
  };
  let reply: Reply | Promise<Reply>;
  try {
    reply = handler(ctx, query);
  } catch (e) {
    failed(e);
    return;
  }
  if (reply instanceof Promise) reply.then((r) => sendReply(res, query, r), failed);
  else sendReply(res, query, reply);
}

function sendReply(res: ServerResponse, query: Query, reply: Reply): void {
  if (reply.kind === 'html') {
    res.writeHead(reply.status, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(reply.body);
    return;
  }
  const callback = query.get('callback');
  if (callback !== '') {
    res.writeHead(reply.status, { 'Content-Type': 'application/javascript' });
    res.end(typeof reply.body === 'string' ? `${callback}(${reply.body})` : Buffer.concat([Buffer.from(`${callback}(`), reply.body, Buffer.from(')')]));
  } else {
    res.writeHead(reply.status, { 'Content-Type': 'application/json' });
    res.end(reply.body);
  }
}

function serveResource(ctx: MonitorContext, path: string, resource: Resource, res: ServerResponse): void {
  let r: { contentType: string; body: string };
  try {
    r = resource(ctx.source);
  } catch (e) {
    ctx.source.logger.error(`Error handling monitoring request ${path}: ${(e as Error).stack ?? String(e)}`);
    sendText(res, 500, 'Internal Server Error');
    return;
  }
  res.writeHead(200, { 'Content-Type': r.contentType });
  res.end(r.body);
}

/** Go writes handler errors as plain text with a sniffed content type. */
function sendText(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(body);
}

/** Go's http.Redirect with 301, as its ServeMux answers an unclean path. */
function redirect(req: IncomingMessage, res: ServerResponse, location: string): void {
  const headers: Record<string, string> = { Location: location };
  let body = '';
  if (req.method === 'GET' || req.method === 'HEAD') {
    headers['Content-Type'] = 'text/html; charset=utf-8';
    body = `<a href="${htmlEscape(location)}">Moved Permanently</a>.\n\n`;
  }
  res.writeHead(301, headers);
  res.end(body);
}

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' };

function htmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}
