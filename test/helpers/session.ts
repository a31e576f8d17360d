/**
 * A raw TCP conversation with a NATS server: read the INFO line, send bytes,
 * collect what comes back until a predicate holds, a timeout, or the server
 * closes the connection.
 */
import net from 'node:net';

export interface SessionOptions {
  host?: string;
  /** Wait for (and split off) the INFO line before resolving. Default true. */
  waitInfo?: boolean;
  /** How long connect + INFO may take. */
  timeoutMs?: number;
}

export class RawSession {
  readonly socket: net.Socket;
  /** The INFO line as sent, with its trailing CRLF; '' if none (yet). */
  infoLine = '';
  /** The INFO JSON. */
  info: Record<string, unknown> = {};
  /** Everything received after the first INFO line. */
  private buf: Buffer = Buffer.alloc(0);
  /** Bytes already handed out by take(). */
  private taken = 0;
  /** The peer closed (FIN or reset) or the socket was destroyed. */
  closed = false;
  /** Peer reset the connection (vs. an orderly close). */
  reset = false;
  private waiters = new Set<() => void>();
  private gotInfo = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => this.onData(d));
    const onClose = (): void => {
      this.closed = true;
      this.wake();
    };
    socket.on('end', onClose);
    socket.on('close', onClose);
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNRESET') this.reset = true;
      onClose();
    });
  }

  static async connect(port: number, o: SessionOptions = {}): Promise<RawSession> {
    const socket = net.connect({ host: o.host ?? '127.0.0.1', port });
    socket.setNoDelay(true);
    const s = new RawSession(socket);
    const timeout = o.timeoutMs ?? 3000;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`connect to ${port} timed out`)), timeout);
      socket.once('connect', () => {
        clearTimeout(t);
        resolve();
      });
      socket.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
    if (o.waitInfo !== false) {
      await s.waitFor(() => s.gotInfo || s.closed, timeout, 'INFO');
      if (!s.gotInfo) throw new Error(`connection closed before INFO: ${JSON.stringify(s.text())}`);
    }
    return s;
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    if (!this.gotInfo) {
      const nl = this.buf.indexOf(10);
      if (nl >= 0) {
        const line = this.buf.subarray(0, nl + 1).toString('latin1');
        if (line.startsWith('INFO ')) {
          this.gotInfo = true;
          this.infoLine = line;
          this.info = parseInfoLine(line);
          this.buf = this.buf.subarray(nl + 1);
        } else {
          // Not a NATS server greeting; keep the bytes for inspection.
          this.gotInfo = true;
        }
      }
    }
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves when `cond()` holds (checked on every event); false on timeout. */
  wait(cond: () => boolean, timeoutMs: number): Promise<boolean> {
    if (cond()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = (): void => {
        if (cond()) {
          done(true);
        }
      };
      const t = setTimeout(() => done(false), timeoutMs);
      const done = (v: boolean): void => {
        clearTimeout(t);
        this.waiters.delete(check);
        resolve(v);
      };
      this.waiters.add(check);
    });
  }

  /** Like wait() but throws, showing what was received. */
  async waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (!(await this.wait(cond, timeoutMs))) {
      throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}; received ${JSON.stringify(this.text())}${this.closed ? ' (closed)' : ''}`);
    }
  }

  /** Everything received after INFO, as latin1 text. */
  text(): string {
    return this.buf.toString('latin1');
  }

  bytes(): Buffer {
    return this.buf;
  }

  /** What arrived since the last take(). */
  fresh(): string {
    return this.buf.subarray(this.taken).toString('latin1');
  }

  /** Returns and marks as consumed what arrived since the last take(). */
  take(): string {
    const s = this.fresh();
    this.taken = this.buf.length;
    return s;
  }

  send(data: string | Buffer): void {
    if (this.socket.destroyed || this.socket.writableEnded) return;
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Sends and waits until `expect` (string: fresh text includes it) is seen. Returns fresh text. */
  async request(data: string | Buffer, expect: string | ((fresh: string) => boolean), timeoutMs = 2000): Promise<string> {
    this.send(data);
    return this.until(expect, timeoutMs);
  }

  /** Waits until the fresh text satisfies `expect`, then take()s it. Throws on timeout. */
  async until(expect: string | ((fresh: string) => boolean), timeoutMs = 2000): Promise<string> {
    const pred = typeof expect === 'string' ? (s: string) => s.includes(expect) : expect;
    await this.waitFor(() => pred(this.fresh()), timeoutMs, typeof expect === 'string' ? JSON.stringify(expect) : 'predicate');
    return this.take();
  }

  /** Sends PING and waits for the matching PONG: everything before it was processed. Returns fresh text including the PONG. */
  async sync(timeoutMs = 2000): Promise<string> {
    const before = countOf(this.fresh(), 'PONG\r\n');
    this.send('PING\r\n');
    await this.waitFor(() => countOf(this.fresh(), 'PONG\r\n') > before || this.closed, timeoutMs, 'PONG');
    return this.take();
  }

  /** Waits for the server to close the connection; false on timeout. */
  waitClosed(timeoutMs = 2000): Promise<boolean> {
    return this.wait(() => this.closed, timeoutMs);
  }

  /** Waits until nothing new arrived for `quietMs` (or `maxMs` passed). Returns fresh text without consuming it. */
  async settle(quietMs = 50, maxMs = 2000): Promise<string> {
    const deadline = Date.now() + maxMs;
    let len = -1;
    while (Date.now() < deadline && len !== this.buf.length && !this.closed) {
      len = this.buf.length;
      await new Promise((r) => setTimeout(r, quietMs));
    }
    return this.fresh();
  }

  close(): void {
    this.socket.destroy();
  }
}

export function parseInfoLine(line: string): Record<string, unknown> {
  const m = /^INFO\s+(\{.*\})\s*\r?\n?$/s.exec(line);
  if (!m) throw new Error(`not an INFO line: ${JSON.stringify(line)}`);
  return JSON.parse(m[1]) as Record<string, unknown>;
}

export function countOf(hay: string, needle: string): number {
  let n = 0;
  for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + needle.length)) n++;
  return n;
}

/** Opens a session, runs `fn`, and always closes it. */
export async function withSession<T>(port: number, fn: (s: RawSession) => Promise<T>, o?: SessionOptions): Promise<T> {
  const s = await RawSession.connect(port, o);
  try {
    return await fn(s);
  } finally {
    s.close();
  }
}
