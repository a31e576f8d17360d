/**
 * A websocket connection as a Client's transport (ClientTransport in
 * src/server/client.ts): the NATS protocol bytes travel in binary frames,
 * framed and unframed by the `ws` library, and everything else about the
 * connection (parser, outbound queue, flush scheduling, write deadline,
 * pings, slow consumers, /connz) is the ordinary Client's.
 *
 * Outbound: each Buffer a flush hands over goes out as one binary message
 * (`ws.send` frames it without copying: the frame header and the payload
 * are written separately), cut into 4 KiB messages for browsers as
 * nats-server does; a flush's several segments are corked into one write
 * on the underlying socket. Inbound: each message's payload Buffer is
 * handed to the client as it came from `ws` (unmasked in place).
 *
 * Close codes are nats-server's (close-frame.ts): the client's close
 * reason picks the status, and the reason text goes in the frame body.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { ClientTransport, CloseReason } from '../server/client.js';
import { closeStatusFor, closeText } from './close-frame.js';

/**
 * The largest message sent to a browser (nats-server's wsFrameSizeForBrowsers:
 * browsers were found to cope better with frames of at most 4 KiB).
 */
const BROWSER_FRAME_SIZE = 4096;

export class WebsocketTransport implements ClientTransport {
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Why the client closed, read when it ends the transport; set by the client's owner. */
  closeReason: () => CloseReason | null = () => null;
  private readonly ws: WebSocket;
  /** The TCP (or TLS) socket under the websocket: drain, close and corking are its. */
  readonly raw: Socket;
  /** Outbound messages are cut to this size (views, not copies); 0: sent whole. */
  private readonly maxMessage: number;

  /** `browser`: the upgrade request came from a browser (its User-Agent starts with "Mozilla/", as nats-server tells). */
  constructor(ws: WebSocket, raw: Socket, browser: boolean) {
    this.ws = ws;
    this.raw = raw;
    this.remoteAddress = raw.remoteAddress ?? '';
    this.remotePort = raw.remotePort ?? 0;
    this.maxMessage = browser ? BROWSER_FRAME_SIZE : 0;
  }

  /** Bytes given to `send` that have not reached the kernel (including those still being compressed). */
  get writableLength(): number {
    return this.ws.bufferedAmount;
  }

  get destroyed(): boolean {
    return this.raw.destroyed;
  }

  write(chunk: Buffer): boolean {
    const max = this.maxMessage;
    if (max === 0 || chunk.length <= max) {
      this.ws.send(chunk, SEND_BINARY);
      return true;
    }
    // One write to the socket for all the pieces.
    this.raw.cork();
    for (let off = 0; off < chunk.length; off += max) this.ws.send(chunk.subarray(off, off + max), SEND_BINARY);
    this.raw.uncork();
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

  /** A graceful end: the close frame with nats-server's status for the client's close reason; `ws` closes the socket after the peer's answer. */
  end(): void {
    const reason = this.closeReason();
    this.ws.close(closeStatusFor(reason), closeText(reason ?? ''));
  }

  destroy(): void {
    this.ws.terminate();
  }

  once(event: 'close', listener: () => void): this {
    this.raw.once(event, listener);
    return this;
  }
}

/** Outbound NATS protocol always travels in binary frames; compression is left to the negotiated extension. */
const SEND_BINARY = { binary: true } as const;
