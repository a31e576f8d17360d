/**
 * Runs the reference server (Debian's nats-server 2.9.10) as a child process
 * on a free loopback port. Every process started here is killed when the test
 * process exits, whatever happened to the test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerOptions } from '../../src/index.js';
import { freePort, waitForListen } from './ports.js';
import { waitUntil } from './wait.js';
import { trackChild } from './children.js';

export const NATS_SERVER_BIN = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

export interface NatsServerHandle {
  readonly port: number;
  readonly url: string;
  readonly proc: ChildProcess;
  /** What the process printed so far (stdout + stderr). */
  log(): string;
  /** SIGTERM, then SIGKILL if it lingers; resolves once the process is gone. */
  stop(): Promise<void>;
  /** Like stop() but SIGKILL at once. */
  kill(): Promise<void>;
}

export interface NatsServerStart {
  /** Defaults to a free port. */
  port?: number;
  /** Extra command-line arguments. */
  args?: string[];
  /** Text of a config file to pass with -c. */
  config?: string;
  /**
   * How to tell it is up: `listening` (the default) connects to the client
   * port, and that probe then counts in /connz and /varz as a closed
   * connection; `logged` waits for "Server is ready" in its output instead.
   */
  readyWhen?: 'listening' | 'logged';
}

export async function startNatsServer(o: NatsServerStart = {}): Promise<NatsServerHandle> {
  const port = o.port ?? (await freePort());
  const args = ['-a', '127.0.0.1', '-p', String(port)];
  let dir: string | null = null;
  if (o.config !== undefined) {
    dir = mkdtempSync(join(tmpdir(), 'natter-ref-'));
    const file = join(dir, 'nats.conf');
    writeFileSync(file, o.config);
    args.push('-c', file);
  }
  args.push(...(o.args ?? []));
  const proc = spawn(NATS_SERVER_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(proc);
  let output = '';
  proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  let exited: string | null = null;
  const gone = new Promise<void>((resolve) => {
    proc.once('exit', (code, signal) => {
      exited = `nats-server exited (code ${code}, signal ${signal}): ${output}`;
      resolve();
    });
    proc.once('error', (e) => {
      exited = `nats-server failed to start: ${e.message}`;
      resolve();
    });
  });
  const stopWith = async (sig: NodeJS.Signals): Promise<void> => {
    if (exited === null) {
      proc.kill(sig);
      const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(t);
    }
  };
  try {
    if (o.readyWhen === 'logged') {
      await waitUntil(() => exited !== null || output.includes('Server is ready'), 5000, `"Server is ready" from nats-server: ${output}`);
      if (exited !== null) throw new Error(exited);
    } else {
      await waitForListen(port, 5000, '127.0.0.1', () => exited);
    }
  } catch (e) {
    await stopWith('SIGKILL');
    throw e;
  } finally {
    // nats-server has read its configuration by the time it listens.
    if (dir !== null) rmSync(dir, { recursive: true, force: true });
  }
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    proc,
    log: () => output,
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
  };
}

function ms(n: number): string {
  return `"${n}ms"`;
}

/**
 * A nats-server config file with the same limits as the given Natter options,
 * so both servers can be started alike. Only the options the suite uses.
 */
export function natsConfigFor(opts: Partial<ServerOptions>): string {
  const lines: string[] = [];
  const num = (k: keyof ServerOptions): void => {
    const v = opts[k];
    if (typeof v === 'number') lines.push(`${k}: ${v}`);
  };
  num('max_payload');
  num('max_control_line');
  num('max_connections');
  num('max_subscriptions');
  num('max_pending');
  num('ping_max');
  if (typeof opts.ping_interval === 'number') lines.push(`ping_interval: ${ms(opts.ping_interval)}`);
  if (typeof opts.write_deadline === 'number') lines.push(`write_deadline: ${ms(opts.write_deadline)}`);
  if (opts.no_header_support === true) lines.push('no_header_support: true');
  const auth: Record<string, unknown> = { ...(opts.authorization ?? {}) };
  if (typeof opts.auth_timeout === 'number') auth.timeout = opts.auth_timeout / 1000;
  if (Object.keys(auth).length > 0) lines.push(`authorization ${toConf(auth)}`);
  return lines.join('\n') + '\n';
}

function toConf(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(toConf).join(', ')}]`;
  if (v !== null && typeof v === 'object') {
    return `{ ${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k}: ${toConf(x)}`).join(', ')} }`;
  }
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}
