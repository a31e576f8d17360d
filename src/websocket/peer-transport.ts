/**
 * A websocket as the byte stream of a server-to-server connection (a leaf
 * connection over `ws://`/`wss://`, either side): the leaf protocol's bytes
 * travel in binary messages, framed by the `ws` library, and the rest (the
 * parser, outbound queue, flushes, pings, write deadline) is the ordinary
 * peer connection's. Beside `ws` it knows only the PeerTransport shape.
 *
 * Masking: a client masks what it sends (RFC 6455 section 5.3) unless the
 * server agreed to `Nats-No-Masking` (nats-server's `ws_no_masking`); the
 * dialling side says so with `mask`.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { PeerCloseReason, PeerTransport } from '../server/peer-connection.js';
import { closeStatusFor, closeText } from './close-frame.js';

/** nats-server's leafNodeWSPath: an upgrade request whose path starts with it is a leaf connection. */
export const LEAF_WS_PATH = '/leafnode';

/** The request header (and its one value) a dialling leaf sends to ask that its frames go unmasked. */
export const NO_MASKING_HEADER = 'Nats-No-Masking';
export const NO_MASKING_VALUE = 'true';

/** What a peer connection hears from its websocket. */
export interface PeerTransportEvents {
  data(chunk: Buffer): void;
  error(e: Error): void;
  close(): void;
}

export class WebsocketPeerTransport implements PeerTransport {
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The websocket runs over TLS (wss). */
  readonly secure: boolean;
  /** This side masks what it sends. */
  readonly masked: boolean;
  private readonly ws: WebSocket;
  /** The TCP (or TLS) socket under the websocket: corking and the close are its. */
  private readonly raw: Socket;
  private readonly sendOptions: { readonly binary: true; readonly mask?: false };
  /** Why the connection closed, read when it ends the transport; set by the connection's owner. */
  closeReason: () => PeerCloseReason | null = () => null;

  /** `mask` false: the server agreed to unmasked frames from this (client) side. */
  constructor(ws: WebSocket, raw: Socket, secure: boolean, mask: boolean) {
    this.ws = ws;
    this.raw = raw;
    this.secure = secure;
    this.remoteAddress = raw.remoteAddress ?? '';
    this.remotePort = raw.remotePort ?? 0;
    this.masked = mask;
    this.sendOptions = mask ? { binary: true } : { binary: true, mask: false };
  }

  /** Both sides agreed to permessage-deflate. */
  get compressed(): boolean {
    return this.ws.extensions.includes('permessage-deflate');
  }

  /** Routes the websocket's messages, errors and close to the connection. */
  listen(events: PeerTransportEvents): void {
    this.ws.on('message', (data) => {
      if (Buffer.isBuffer(data)) events.data(data);
    });
    this.ws.on('error', (e: Error) => events.error(e));
    this.ws.on('close', () => events.close());
  }

  /** Bytes given to `write` that have not reached the kernel (including those still being compressed). */
  get writableLength(): number {
    return this.ws.bufferedAmount;
  }

  get destroyed(): boolean {
    return this.raw.destroyed;
  }

  /** One binary message per chunk: `ws` writes its header and the chunk without copying (masking aside). */
  write(chunk: Buffer): boolean {
    this.ws.send(chunk, this.sendOptions);
    return true;
  }

  cork(): void {
    this.raw.cork();
  }

  uncork(): void {
    this.raw.uncork();
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  isPaused(): boolean {
    return this.ws.isPaused;
  }

  /** A graceful end: the close frame with nats-server's status for the close reason; `ws` closes the socket after the peer's answer. */
  end(): void {
    const reason = this.closeReason();
    this.ws.close(closeStatusFor(reason), closeText(reason ?? ''));
  }

  destroy(): void {
    this.ws.terminate();
  }
}
