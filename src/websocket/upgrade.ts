/**
 * The checks nats-server makes on a websocket upgrade request (RFC 6455
 * section 4.2.1, then the origin), in its order, with its log reasons and
 * its answers: Go's http.Error (status text as a plain-text body, with
 * `Sec-Websocket-Version: 13`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** A refused upgrade: the HTTP status (null: closed without an answer) and the reason nats-server logs. */
export interface UpgradeRefusal {
  readonly status: number | null;
  readonly reason: string;
}

interface AllowedOrigin {
  readonly scheme: string;
  readonly port: string;
}

/**
 * `same_origin` and `allowed_origins`: with neither, every origin is
 * accepted; so is a request without an Origin header (a dedicated client,
 * not a web page, can claim any origin anyway).
 */
export class OriginPolicy {
  private readonly sameOrigin: boolean;
  /** Allowed scheme and port by lower-cased host. */
  private readonly allowed = new Map<string, AllowedOrigin[]>();

  /** `badOrigin` hears of each configured origin that is not an absolute URL; it is skipped, as nats-server does. */
  constructor(sameOrigin: boolean, allowedOrigins: readonly string[], badOrigin: (origin: string) => void) {
    this.sameOrigin = sameOrigin;
    for (const origin of allowedOrigins) {
      const u = parseOrigin(origin);
      if (u === null) {
        badOrigin(origin);
        continue;
      }
      const list = this.allowed.get(u.host);
      const entry = { scheme: u.scheme, port: u.port };
      if (list === undefined) this.allowed.set(u.host, [entry]);
      else list.push(entry);
    }
  }

  /** Why the request's origin is refused, or null. `secure`: the request came over TLS. */
  refusal(req: IncomingMessage, secure: boolean): string | null {
    if (!this.sameOrigin && this.allowed.size === 0) return null;
    const origin = header(req, 'origin') ?? header(req, 'sec-websocket-origin');
    if (origin === undefined || origin === '') return null;
    const o = parseOrigin(origin);
    if (o === null) return `parse "${origin}": invalid URI for request`;
    if (this.sameOrigin) {
      const host = splitHostPort(req.headers.host ?? '', secure);
      if (host === null) return `address ${req.headers.host ?? ''}: missing port in address`;
      if (o.host !== host.host || o.port !== host.port || o.scheme !== (secure ? 'https' : 'http')) return 'not same origin';
    }
    if (this.allowed.size > 0) {
      const list = this.allowed.get(o.host) ?? [];
      if (!list.some((a) => a.scheme === o.scheme && a.port === o.port)) return 'not in the allowed list';
    }
    return null;
  }
}

/** The first header of that name (Go's Header.Get). */
function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Whether a comma-separated header holds `token`, compared case-insensitively (nats-server's wsHeaderContains). */
function headerHasToken(req: IncomingMessage, name: string, token: string): boolean {
  const v = req.headers[name];
  if (v === undefined) return false;
  const values = Array.isArray(v) ? v : [v];
  const want = token.toLowerCase();
  return values.some((s) => s.split(',').some((t) => t.trim().toLowerCase() === want));
}

/** An origin as nats-server compares it: scheme, lower-cased host, and the port (the scheme's default when absent). */
function parseOrigin(origin: string): { scheme: string; host: string; port: string } | null {
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return null;
  }
  const scheme = u.protocol.slice(0, -1);
  if (u.host === '') return null;
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  // URL drops a port equal to the scheme's default; nats-server writes that default in.
  const port = u.port !== '' ? u.port : scheme === 'https' ? '443' : '80';
  return { scheme, host, port };
}

/** Go's net.SplitHostPort with the scheme's port when there is none (nats-server's wsGetHostAndPort). */
function splitHostPort(hostport: string, secure: boolean): { host: string; port: string } | null {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*))(?::(\d*))?$/.exec(hostport);
  if (m === null) return null;
  const host = (m[1] ?? m[2] ?? '').toLowerCase();
  return { host, port: m[3] ?? (secure ? '443' : '80') };
}

/** A valid Sec-WebSocket-Key: base64 of 16 bytes. */
function validKey(key: string): boolean {
  return /^[A-Za-z0-9+/]{22}==$/.test(key);
}

/**
 * Why nats-server would refuse this upgrade request, or null when it goes
 * on. `head` is what the client sent after the request (it must wait for
 * the answer); `secure` says the request came over TLS.
 */
export function upgradeRefusal(req: IncomingMessage, head: Buffer | null, secure: boolean, origins: OriginPolicy): UpgradeRefusal | null {
  if (req.method !== 'GET') return { status: 405, reason: 'request method must be GET' };
  if ((req.headers.host ?? '') === '') return { status: 400, reason: "'Host' missing in request" };
  if (!headerHasToken(req, 'upgrade', 'websocket')) return { status: 400, reason: "invalid value for header 'Upgrade'" };
  if (!headerHasToken(req, 'connection', 'upgrade')) return { status: 400, reason: "invalid value for header 'Connection'" };
  const key = header(req, 'sec-websocket-key') ?? '';
  if (key === '') return { status: 400, reason: 'key missing' };
  if (!validKey(key)) return { status: 400, reason: 'invalid websocket key' };
  if (!headerHasToken(req, 'sec-websocket-version', '13')) return { status: 400, reason: 'invalid version' };
  const origin = origins.refusal(req, secure);
  if (origin !== null) return { status: 403, reason: `origin not allowed: ${origin}` };
  // nats-server has taken the connection over from HTTP by then: it closes without an answer.
  if (head !== null && head.length > 0) return { status: null, reason: 'client sent data before handshake is complete' };
  return null;
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  403: 'Forbidden',
  405: 'Method Not Allowed',
  503: 'Service Unavailable',
};

/** Go's http.Error headers and body for `status`, with the Sec-Websocket-Version nats-server adds. */
function errorParts(status: number): { text: string; body: string; headers: Record<string, string> } {
  const text = STATUS_TEXT[status] ?? 'Error';
  const body = `${text}\n`;
  return {
    text,
    body,
    headers: {
      'Content-Type': 'text/plain; charset=utf-8',
      'Sec-Websocket-Version': '13',
      'X-Content-Type-Options': 'nosniff',
      Date: new Date().toUTCString(),
      'Content-Length': String(Buffer.byteLength(body)),
    },
  };
}

/** Answers a refused upgrade on its raw socket and closes it (the socket left HTTP's hands with the upgrade). */
export function refuseUpgrade(socket: Duplex, status: number): void {
  const { text, body, headers } = errorParts(status);
  let head = `HTTP/1.1 ${status} ${text}\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  socket.end(`${head}Connection: close\r\n\r\n${body}`);
}

/** Answers a plain HTTP request (no upgrade asked) the same way. */
export function refuseRequest(res: ServerResponse, status: number): void {
  const { body, headers } = errorParts(status);
  res.writeHead(status, headers);
  res.end(body);
}
