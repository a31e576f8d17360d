/**
 * `--signal <command>[=<pid|pidfile>]`: control a running server from the
 * command line the way `nats-server --signal` does. Without a pid the single
 * running natter-server is found (nats-server asks `pgrep nats-server`; Natter
 * runs under `node`, so it looks at /proc/<pid>/cmdline instead).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { strerror } from '../log/errno.js';

/** The name `--signal` looks for and that its messages use. */
export const PROCESS_NAME = 'natter-server';

/** Signal commands and the POSIX signal each one sends (as nats-server maps them). */
export const SIGNAL_COMMANDS: Readonly<Record<string, NodeJS.Signals>> = {
  stop: 'SIGKILL',
  quit: 'SIGINT',
  reopen: 'SIGUSR1',
  reload: 'SIGHUP',
  ldm: 'SIGUSR2',
  term: 'SIGTERM',
};

/** Is this command line (argv as in /proc/<pid>/cmdline) a natter-server? */
export function isServerCommandLine(argv: readonly string[]): boolean {
  const first = argv[0];
  if (first === undefined) return false;
  const exe = path.basename(first);
  if (exe === PROCESS_NAME) return true;
  if (!/^node(js)?(\d+(\.\d+)*)?$/.test(exe)) return false;
  // `node [node options] <script> ...`: the script is the first non-option.
  const script = argv.slice(1).find((a) => !a.startsWith('-'));
  if (script === undefined) return false;
  const base = path.basename(script);
  return base === PROCESS_NAME || base === `${PROCESS_NAME}.js`;
}

/** PIDs of running natter-server processes other than this one. */
export function findServerPids(procDir = '/proc'): number[] {
  let entries: string[];
  try {
    entries = fs.readdirSync(procDir);
  } catch {
    throw new Error('unable to resolve pid, try providing one');
  }
  const pids: number[] = [];
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    let raw: string;
    try {
      raw = fs.readFileSync(path.join(procDir, name, 'cmdline'), 'utf8');
    } catch {
      continue; // exited meanwhile, or not ours to read
    }
    const argv = raw.split('\0');
    if (argv[argv.length - 1] === '') argv.pop();
    if (isServerCommandLine(argv)) pids.push(pid);
  }
  return pids.sort((a, b) => a - b);
}

/** A pid file's content when `value` names a readable file, else `value`. */
function maybeReadPidFile(value: string): string {
  try {
    // Trimmed: pid files written by other tools usually end with a newline.
    return fs.readFileSync(value, 'utf8').trim();
  } catch {
    return value;
  }
}

function killError(err: unknown): string {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  if (typeof code === 'string') return strerror(code) ?? code;
  return err instanceof Error ? err.message : String(err);
}

export interface SignalDeps {
  /** Finds candidate pids when none (or a `123*` pattern) is given. */
  findPids?: () => number[];
  /** Sends the signal; throws an errno-style error on failure. */
  kill?: (pid: number, signal: NodeJS.Signals) => void;
}

/**
 * Carries out `--signal <spec>`. Throws an Error whose message is what
 * follows `nats-server: ` on nats-server's stderr for the same failure.
 *
 * `spec` is `<command>`, `<command>=<pid>`, `<command>=<pidfile>` or
 * `<command>=<pid prefix>*` (every running server whose pid starts so).
 */
export function sendSignal(spec: string, deps: SignalDeps = {}): void {
  const parts = spec.split('=');
  if (parts.length > 2) throw new Error(`invalid signal parameters: [${parts.slice(2).join(' ')}]`);
  const command = parts[0] as string;
  const expr = parts.length === 2 ? maybeReadPidFile(parts[1] as string) : '';
  const isGlob = expr.endsWith('*');
  const pidStr = isGlob ? expr.slice(0, -1) : expr;

  let pids: number[] = [];
  if (pidStr !== '') {
    if (!/^[+-]?\d+$/.test(pidStr)) throw new Error(`invalid pid: ${pidStr}`);
    pids = [Number(pidStr)];
  }
  if (pidStr === '' || isGlob) pids = (deps.findPids ?? findServerPids)();
  if (pids.length > 1 && !isGlob) {
    throw new Error(`multiple ${PROCESS_NAME} processes running:${pids.map((p) => `\n${p}`).join('')}`);
  }
  if (pids.length === 0) throw new Error(`no ${PROCESS_NAME} processes running`);

  const signal = Object.prototype.hasOwnProperty.call(SIGNAL_COMMANDS, command) ? SIGNAL_COMMANDS[command] : undefined;
  if (signal === undefined) throw new Error(`unknown signal ${JSON.stringify(command)}`);

  const kill = deps.kill ?? ((pid: number, sig: NodeJS.Signals): void => {
    process.kill(pid, sig);
  });
  const failures: string[] = [];
  for (const pid of pids) {
    const s = String(pid);
    if (pidStr !== '' && s !== String(Number(pidStr)) && !(isGlob && s.startsWith(pidStr))) continue;
    try {
      kill(pid, signal);
    } catch (err) {
      // One named process: just the reason, as nats-server prints it.
      if (!isGlob && pidStr !== '') throw new Error(killError(err));
      failures.push(`signal ${JSON.stringify(command)} ${pid}: ${killError(err)}`);
    }
  }
  if (failures.length > 0) throw new Error(failures.join('\n'));
}
