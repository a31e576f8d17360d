/**
 * Runs the compiled `natter-server` command as a child process with a config
 * file, the way an operator runs it: for tests of signals, of the real logger
 * (-DV output) and of config reloads (SIGHUP).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { trackChild } from './children.js';
import { freePort, waitForListen } from './ports.js';
import { withTimeout } from './natter.js';

const CLI = fileURLToPath(new URL('../../src/cli/natter-server.js', import.meta.url));

export interface CliExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface NatterCli {
  readonly proc: ChildProcess;
  readonly pid: number;
  /** The client port. */
  readonly port: number;
  /** The config file; rewrite it with writeConfig() and send SIGHUP to reload. */
  readonly configFile: string;
  /** What the server wrote to stderr so far: its log, unless the config or flags name a log file. */
  output(): string;
  /** Resolves with the first line of output (already written or to come) matching `re`; rejects after `ms`. */
  waitForOutput(re: RegExp, ms?: number): Promise<string>;
  /** Replaces the config file's content (JSON, which the config parser reads as it is). */
  writeConfig(config: Record<string, unknown>): void;
  /** Resolves when the process has exited. */
  readonly exited: Promise<CliExit>;
  /** SIGTERM, then SIGKILL if it is still there after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<CliExit>;
}

/**
 * Starts `natter-server -c <dir>/<name>.conf ...args` and waits until it
 * accepts client connections. `config.port` defaults to a free port.
 */
export async function startNatterCli(config: Record<string, unknown>, dir: string, args: string[] = [], name = 'natter'): Promise<NatterCli> {
  const port = typeof config.port === 'number' && config.port > 0 ? config.port : await freePort();
  const configFile = join(dir, `${name}.conf`);
  const writeConfig = (c: Record<string, unknown>): void => writeFileSync(configFile, JSON.stringify({ ...c, port }, null, 2));
  writeConfig(config);
  const proc = spawn(process.execPath, [CLI, '-c', configFile, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  trackChild(proc);
  let output = '';
  const waiters: Array<{ re: RegExp; resolve: (line: string) => void }> = [];
  proc.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
    for (const w of [...waiters]) {
      const line = output.split('\n').find((l) => w.re.test(l));
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  let exit: CliExit | null = null;
  const exited = new Promise<CliExit>((resolve) => proc.once('exit', (code, signal) => resolve((exit = { code, signal }))));
  try {
    await waitForListen(port, 10_000, '127.0.0.1', () => (exit ? `natter-server exited (${JSON.stringify(exit)}):\n${output}` : null));
  } catch (err) {
    proc.kill('SIGKILL');
    throw err;
  }
  return {
    proc,
    pid: proc.pid as number,
    port,
    configFile,
    output: () => output,
    waitForOutput: (re, ms = 3000) => {
      const seen = output.split('\n').find((l) => re.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      const waiter = { re, resolve: (_line: string): void => undefined };
      const found = new Promise<string>((resolve) => (waiter.resolve = resolve));
      waiters.push(waiter);
      return withTimeout(found, ms, `no natter-server output matching ${re} within ${ms}ms; output:\n${output}`).finally(() => {
        if (waiters.includes(waiter)) waiters.splice(waiters.indexOf(waiter), 1);
      });
    },
    writeConfig,
    exited,
    stop: async (graceMs = 5000) => {
      if (exit) return exit;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      const e = await exited;
      clearTimeout(t);
      return e;
    },
  };
}
