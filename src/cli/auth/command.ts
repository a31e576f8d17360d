/** What every `natter auth` command gets, and how commands are declared. */
import { Args, type FlagTable } from './args.js';
import { Store } from './store.js';

export interface CommandIo {
  /** The command's result (describe output, creds, configs, tokens): stdout. */
  out(text: string): void;
  /** Progress notes ("[ OK ] added account"): stderr, as nsc prints them. */
  note(text: string): void;
}

export interface CommandContext extends CommandIo {
  readonly store: Store;
  readonly args: Args;
  /** The operator the command works on (--operator, else the current one). */
  operator(): string;
}

export interface CommandDef {
  /** The command words, e.g. "add account". */
  readonly words: string;
  readonly summary: string;
  readonly flags: FlagTable;
  run(ctx: CommandContext): Promise<void> | void;
}

/** Flags every command takes: where the store is and which operator to use. */
export const COMMON_FLAGS: FlagTable = {
  dir: { kind: 'string', help: 'store directory (default $NATTER_AUTH_DIR or ~/.natter/auth)' },
  store: { kind: 'string', help: 'store directory, same as --dir' },
  operator: { kind: 'string', help: 'operator to work on (default: the current one)' },
};
