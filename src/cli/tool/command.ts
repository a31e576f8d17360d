/** What a `natter` subcommand is: its words, flags and how it runs. */
import type { Flags, FlagTable } from './args.js';
import type { ToolConnection } from './connection.js';
import type { ToolOutput } from './output.js';

export interface Invocation {
  readonly flags: Flags;
  readonly out: ToolOutput;
  /** Opens a connection with the connection flags/env/context (each call a new one); the dispatcher closes them all when the command ends. */
  connect(opts?: { longRunning?: boolean }): Promise<ToolConnection>;
  /**
   * Resolves when the user interrupts (SIGINT/SIGTERM). Only long-running
   * commands ask, so they can stop cleanly; for the others the signals keep
   * their default and end the process at once, as does a second Ctrl-C.
   */
  interrupted(): Promise<void>;
}

export interface ToolCommand {
  /** The command words after `natter`, e.g. `stream add`. */
  readonly words: string;
  /** Positional arguments for the usage line, e.g. `<subject> [body]`. */
  readonly args: string;
  readonly summary: string;
  readonly flags: FlagTable;
  /** False for commands that never talk to a server (context, completion): they take no connection flags. */
  readonly connects: boolean;
  /** The exit code when the command fails before it can report (bad flags...): `server check` uses Nagios' UNKNOWN (3). */
  readonly failureExitCode?: number;
  /** The exit code. */
  run(inv: Invocation): Promise<number>;
}

export const JSON_FLAG: FlagTable = { json: { kind: 'boolean', help: 'print JSON for scripts' } };
