/**
 * Runs the compiled `natter` tool as a child process, as a shell user
 * would: with a private config directory (so no saved context of the
 * machine leaks in) and none of the NATS_* variables of the environment.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { trackChild } from '../../helpers/children.js';
import { withTimeout } from '../../helpers/natter.js';

export const NATTER_BIN = fileURLToPath(new URL('../../../src/cli/natter.js', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly env?: Readonly<Record<string, string>>;
  /** Written to stdin, which is then closed; without it stdin is /dev/null. */
  readonly input?: string;
  readonly timeoutMs?: number;
  readonly cwd?: string;
}

/** A private XDG_CONFIG_HOME for a test file's contexts; remove() when done. */
export class ToolHome {
  readonly dir = mkdtempSync(join(tmpdir(), 'natter-tool-home-'));

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function cleanEnv(home: ToolHome, extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('NATS_') && k !== 'NO_COLOR') env[k] = v;
  return { ...env, XDG_CONFIG_HOME: home.dir, ...extra };
}

/** A running `natter` command (sub, reply, kv watch...). */
export interface RunningCli {
  stdout(): string;
  stderr(): string;
  /** Resolves once stderr has a line matching `re` (the "Subscribing on ..." note says it is ready). */
  waitForStderr(re: RegExp, ms?: number): Promise<void>;
  /** Resolves with the result when the process exits. */
  readonly result: Promise<CliResult>;
  kill(signal?: NodeJS.Signals): void;
}

export function startCli(home: ToolHome, args: readonly string[], opts: CliOptions = {}): RunningCli {
  const proc = spawn(process.execPath, [NATTER_BIN, ...args], { env: cleanEnv(home, opts.env), cwd: opts.cwd, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  trackChild(proc);
  if (opts.input !== undefined) proc.stdin?.end(opts.input);
  let stdout = '';
  let stderr = '';
  const watchers: Array<() => void> = [];
  proc.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const w of [...watchers]) w();
  });
  const result = new Promise<CliResult>((resolve) => proc.once('close', (code) => resolve({ code, stdout, stderr })));
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    waitForStderr: (re, ms = 10_000) => {
      const seen = new Promise<void>((resolve) => {
        const check = (): void => {
          if (re.test(stderr)) {
            watchers.splice(watchers.indexOf(check), 1);
            resolve();
          }
        };
        watchers.push(check);
        check();
      });
      return withTimeout(
        Promise.race([seen, result.then((r) => Promise.reject(new Error(`natter ${args.join(' ')} exited (${r.code}) before printing ${re}:\n${r.stderr}`)))]),
        ms,
        `natter ${args.join(' ')} printed nothing matching ${re} within ${ms}ms; stderr:\n${stderr}`,
      );
    },
    result,
    kill: (signal = 'SIGTERM') => proc.kill(signal),
  };
}

/** Runs `natter ...args` to completion (killed after `timeoutMs`). */
export async function runCli(home: ToolHome, args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  const running = startCli(home, args, opts);
  const ms = opts.timeoutMs ?? 30_000;
  const timer = setTimeout(() => running.kill('SIGKILL'), ms);
  try {
    return await running.result;
  } finally {
    clearTimeout(timer);
  }
}

/** No stack trace, exactly one line, and a non-zero exit: how every failure must look. */
export function isOneLineError(r: CliResult): boolean {
  const lines = r.stderr.trimEnd().split('\n');
  return r.code !== 0 && lines.length === 1 && lines[0].startsWith('natter: ') && !/\n\s+at /.test(r.stderr);
}
