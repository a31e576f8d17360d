/**
 * The dialling side of a leaf connection over websocket (a `ws://` or
 * `wss://` remote), as nats-server 2.9 solicits one: an HTTP upgrade to the
 * hub's websocket port on the `/leafnode` path (the hub tells leaf
 * connections from clients by it), asking for permessage-deflate without
 * context takeover when `ws_compression` is set and for unmasked frames
 * (`Nats-No-Masking: true`) when `ws_no_masking` is. A hub that grants
 * compression must grant it without context takeover; one that does not
 * echo the no-masking header gets masked frames, as any client sends. TLS
 * (`wss://`) is the websocket's: the leaf protocol starts none of its own.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocket, type ClientOptions } from 'ws';
import { LEAF_WS_PATH, NO_MASKING_HEADER, NO_MASKING_VALUE, WebsocketPeerTransport } from '../websocket/peer-transport.js';
import type { LeafRemoteConfig, LeafURL } from './config.js';

/** What nats-server offers (wsPMCReqHeaderValue), and what it accepts back. */
const PMC = 'permessage-deflate';
const SERVER_NO_CONTEXT = 'server_no_context_takeover';
const CLIENT_NO_CONTEXT = 'client_no_context_takeover';
/** Below this many bytes a message is not worth compressing (nats-server's wsCompressThreshold). */
const COMPRESS_THRESHOLD = 64;
/** The largest message taken from the hub: a flush of LMSGs, each at most MAX_PAYLOAD_MAX_SIZE (64 MiB). */
const MAX_MESSAGE = 128 * 1024 * 1024;

/** A dial under way; cancel() abandons it. */
export interface WebsocketDial {
  cancel(): void;
}

/**
 * Dials `url` for `remote`; `done` hears once: the transport, or the error
 * that ended the attempt (a refused or failed upgrade, a timeout).
 */
export function dialLeafWebsocket(url: LeafURL, remote: LeafRemoteConfig, timeoutMs: number, done: (e: Error | null, t: WebsocketPeerTransport | null) => void): WebsocketDial {
  const secure = url.tlsScheme;
  const host = url.host.includes(':') ? `[${url.host}]` : url.host;
  // nats-server 2.9 appends the URL's own path (without its slash) to the leafnode path.
  const target = `${secure ? 'wss' : 'ws'}://${host}:${url.port}${LEAF_WS_PATH}${url.path.replace(/^\//, '')}`;
  const t = remote.tls;
  const options: ClientOptions = {
    handshakeTimeout: timeoutMs,
    maxPayload: MAX_MESSAGE,
    skipUTF8Validation: true,
    followRedirects: false,
    perMessageDeflate: remote.wsCompression
      ? { serverNoContextTakeover: true, clientNoContextTakeover: true, threshold: COMPRESS_THRESHOLD }
      : false,
    headers: remote.wsNoMasking ? { [NO_MASKING_HEADER]: NO_MASKING_VALUE } : {},
  };
  if (secure) {
    Object.assign(options, t?.contextOptions ?? {});
    // `ws` names the host for SNI itself (not an IP address).
    options.rejectUnauthorized = !(t?.config.insecure ?? false);
  }
  const ws = new WebSocket(target, options);
  let settled = false;
  let mask = true;
  let raw: Socket | null = null;
  const finish = (e: Error | null, transport: WebsocketPeerTransport | null): void => {
    if (settled) return;
    settled = true;
    ws.removeAllListeners();
    if (e !== null) {
      // A failed attempt may still emit errors while it is torn down.
      ws.on('error', () => undefined);
      ws.terminate();
    }
    done(e, transport);
  };
  ws.once('upgrade', (res: IncomingMessage) => {
    raw = res.socket;
    const problem = compressionProblem(res, remote.wsCompression);
    if (problem !== null) {
      finish(new Error(problem), null);
      return;
    }
    mask = !(remote.wsNoMasking && res.headers[NO_MASKING_HEADER.toLowerCase()] === NO_MASKING_VALUE);
  });
  ws.once('open', () => {
    if (raw === null) {
      finish(new Error('invalid websocket connection'), null);
      return;
    }
    finish(null, new WebsocketPeerTransport(ws, raw, secure, mask));
  });
  ws.once('error', (e: Error) => finish(e, null));
  return { cancel: () => finish(new Error('dial cancelled'), null) };
}

/** nats-server's check of a granted permessage-deflate: both sides without context takeover, or a negotiation error. */
function compressionProblem(res: IncomingMessage, asked: boolean): string | null {
  if (!asked) return null;
  const v = res.headers['sec-websocket-extensions'];
  if (v === undefined) return null;
  for (const ext of v.split(',')) {
    const params = ext.split(';').map((p) => p.trim().toLowerCase());
    if (params[0] !== PMC) continue;
    return params.includes(SERVER_NO_CONTEXT) && params.includes(CLIENT_NO_CONTEXT) ? null : 'compression negotiation error';
  }
  return null;
}
