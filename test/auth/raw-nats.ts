/**
 * Just enough of a NATS client to compare Natter's decisions with the real
 * server's answers, protocol line by line.
 */
import * as net from 'node:net';

/** A raw protocol connection that can run one command and collect what came back before PONG. */
export class RawClient {
  private buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private readonly socket: net.Socket;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    });
  }

  /** Connects and sends CONNECT with the given fields; returns after the server's PONG. */
  static async connect(port: number, connect: Record<string, unknown>): Promise<RawClient> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    const c = new RawClient(socket);
    await c.until((text) => text.includes('\r\n'));
    c.buffer = Buffer.alloc(0); // the INFO line
    const lines = await c.run(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, ...connect })}`);
    if (lines.some((l) => l.startsWith('-ERR'))) throw new Error(`CONNECT refused: ${lines.join(' | ')}`);
    return c;
  }

  /** Sends a command (raw bytes as latin1; '' for none) and PING; returns the lines before PONG. */
  async run(command: string): Promise<string[]> {
    this.socket.write(Buffer.from(command === '' ? 'PING\r\n' : `${command}\r\nPING\r\n`, 'latin1'));
    const text = await this.until((t) => t.includes('PONG\r\n'));
    const end = text.indexOf('PONG\r\n');
    this.buffer = this.buffer.subarray(Buffer.byteLength(text.slice(0, end + 6), 'latin1'));
    return text.slice(0, end).split('\r\n').filter((l) => l !== '' && l !== 'PING');
  }

  /** The -ERR texts (without -ERR and quotes) among lines. */
  static errors(lines: readonly string[]): string[] {
    return lines.filter((l) => l.startsWith('-ERR ')).map((l) => l.slice(6, -1));
  }

  close(): void {
    this.socket.destroy();
  }

  /** Waits until the buffered text satisfies `done`; returns it (latin1). */
  private async until(done: (text: string) => boolean): Promise<string> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const text = this.buffer.toString('latin1');
      if (done(text)) return text;
      if (Date.now() > deadline) throw new Error(`timed out waiting; have ${JSON.stringify(text)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}
