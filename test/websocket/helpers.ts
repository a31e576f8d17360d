/**
 * Shared by the websocket tests: a Natter with a websocket listener, the
 * same listener on nats-server 2.9.10, raw HTTP upgrade exchanges, and a
 * hand-written frame writer for the bytes the `ws` library would never send.
 */
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { WebSocket } from 'ws';
import type { StartOptions } from '../../src/index.js';
import { startNatter, type TestNatter } from '../helpers/natter.js';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';
import { freePort, waitForListen } from '../helpers/ports.js';

/**
 * The official browser clients (nats.ws, @nats-io/nats-core's wsconnect)
 * use the global WebSocket; Node 20 has none, so `ws` plays the browser's.
 */
export function installWebSocketGlobal(): void {
  (globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
}

export interface WsNatter extends TestNatter {
  /** ws://127.0.0.1:<port> (or wss://) */
  readonly wsUrl: string;
  readonly wsPort: number;
}

/** A Natter whose websocket block is `ws` (port and no_tls filled in unless given). */
export async function startWsNatter(ws: Record<string, unknown> = {}, opts: StartOptions = {}): Promise<WsNatter> {
  const port = typeof ws.port === 'number' ? ws.port : await freePort();
  const block = { no_tls: ws.tls === undefined, ...ws, port };
  const natter = await startNatter({ ...opts, websocket: block });
  const urls = natter.server.websocket?.urls ?? [];
  if (urls.length === 0) throw new Error('the websocket listener did not start');
  return { ...natter, close: natter.close, wsUrl: urls[0], wsPort: port };
}

export interface WsNatsServer extends NatsServerHandle {
  readonly wsPort: number;
  readonly wsUrl: string;
}

/** nats-server 2.9.10 with a plain websocket listener; `block` is extra text inside `websocket { }`, `extra` more top-level config. */
export async function startWsNatsServer(block = '', extra = ''): Promise<WsNatsServer> {
  const wsPort = await freePort();
  const srv = await startNatsServer({ config: `websocket { port: ${wsPort}, no_tls: true\n${block}\n}\n${extra}\n`, readyWhen: 'logged' });
  await waitForListen(wsPort);
  return { ...srv, stop: srv.stop, kill: srv.kill, log: srv.log, wsPort, wsUrl: `ws://127.0.0.1:${wsPort}` };
}

/** What came back for a raw HTTP exchange: the status line's code, the headers (lower-case names) and the body. */
export interface RawHttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly raw: string;
}

/** Sends `request` as is and reads the answer until the server closes or a full response with its body arrived. */
export function rawHttp(port: number, request: string | Buffer, timeoutMs = 3000): Promise<RawHttpAnswer> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(request));
    let data = '';
    const finish = (): void => {
      clearTimeout(timer);
      s.destroy();
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) {
        reject(new Error(`no HTTP answer: ${JSON.stringify(data)}`));
        return;
      }
      const lines = data.slice(0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({ status: Number(lines[0].split(' ')[1]), headers, body: data.slice(end + 4), raw: data });
    };
    const timer = setTimeout(finish, timeoutMs);
    s.on('data', (d: Buffer) => {
      data += d.toString('latin1');
      const end = data.indexOf('\r\n\r\n');
      const len = /\r\ncontent-length: *(\d+)/i.exec(data.slice(0, end));
      if (end >= 0 && len !== null && data.length >= end + 4 + Number(len[1])) finish();
    });
    s.on('close', finish);
    s.on('error', () => undefined);
  });
}

/** A valid upgrade request for `path` with `extra` header lines (each ending in CRLF). */
export function upgradeRequest(port: number, extra = '', key = randomBytes(16).toString('base64')): string {
  return `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;
}

/** One websocket frame as a client writes it (masked unless told otherwise). */
export function frame(opcode: number, payload: Buffer, o: { mask?: boolean; fin?: boolean; rsv1?: boolean } = {}): Buffer {
  const mask = o.mask ?? true;
  const len = payload.length;
  const head: number[] = [((o.fin ?? true) ? 0x80 : 0) | (o.rsv1 === true ? 0x40 : 0) | opcode];
  const m = mask ? 0x80 : 0;
  if (len < 126) head.push(m | len);
  else if (len < 65536) head.push(m | 126, len >> 8, len & 0xff);
  else {
    head.push(m | 127, 0, 0, 0, 0);
    head.push((len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), payload]);
  const key = randomBytes(4);
  const body = Buffer.alloc(len);
  for (let i = 0; i < len; i++) body[i] = payload[i] ^ key[i & 3];
  return Buffer.concat([Buffer.from(head), key, body]);
}

/** The frames a server sends, read from a byte stream (server frames are never masked). */
export class FrameReader {
  private buf = Buffer.alloc(0);
  readonly frames: Array<{ opcode: number; payload: Buffer }> = [];

  push(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    for (;;) {
      if (this.buf.length < 2) return;
      let len = this.buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        off = 10;
      }
      if (this.buf.length < off + len) return;
      this.frames.push({ opcode: this.buf[0] & 0x0f, payload: this.buf.subarray(off, off + len) });
      this.buf = this.buf.subarray(off + len);
    }
  }

  /** Everything the data frames carried, as text. */
  text(): string {
    return this.frames.filter((f) => f.opcode === 1 || f.opcode === 2 || f.opcode === 0).map((f) => f.payload.toString('latin1')).join('');
  }

  /** The close frame's status, or null before one came. */
  closeStatus(): number | null {
    const f = this.frames.find((x) => x.opcode === 8);
    return f === undefined ? null : f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005;
  }
}

/** A raw websocket connection: upgraded by hand, then bytes in and frames out under the test's control. */
export interface RawWs {
  readonly socket: net.Socket;
  readonly reader: FrameReader;
  /** Resolves when the server closed the TCP connection. */
  readonly closed: Promise<void>;
  /** The server's 101 answer: status line and headers. */
  readonly answer: string;
}

/** Upgrades a plain TCP connection by hand; resolves once the 101 answer arrived. */
export function rawWebsocket(port: number, extraHeaders = ''): Promise<RawWs> {
  return new Promise((resolve, reject) => {
    const key = randomBytes(16).toString('base64');
    const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
    const socket = net.connect(port, '127.0.0.1', () => socket.write(upgradeRequest(port, extraHeaders, key)));
    const reader = new FrameReader();
    let head = Buffer.alloc(0);
    let upgraded = false;
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('error', () => undefined);
    let answeredClose = false;
    // As a browser does: a close frame from the server is answered with one, so the server can end the connection.
    const answerClose = (): void => {
      const status = reader.closeStatus();
      if (status === null || answeredClose || socket.destroyed) return;
      answeredClose = true;
      const body = Buffer.alloc(2);
      body.writeUInt16BE(status === 1005 ? 1000 : status);
      socket.write(frame(8, body));
    };
    socket.on('data', (d: Buffer) => {
      if (upgraded) {
        reader.push(d);
        answerClose();
        return;
      }
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const text = head.subarray(0, end).toString('latin1');
      if (!text.startsWith('HTTP/1.1 101') || !text.includes(accept)) {
        reject(new Error(`upgrade refused: ${text}`));
        socket.destroy();
        return;
      }
      upgraded = true;
      resolve({ socket, reader, closed, answer: text });
      reader.push(head.subarray(end + 4));
      answerClose();
    });
    socket.once('close', () => {
      if (!upgraded) reject(new Error(`closed before the upgrade: ${head.toString('latin1')}`));
    });
  });
}
