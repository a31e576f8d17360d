/**
 * `natter auth`: nsc's job built into Natter. Finds the command from its
 * words (`add account`, `describe jwt`...), parses its flags, and runs it
 * against the store. Flags before the command words (`--dir`, `--store`,
 * `--operator`) apply to any command.
 */
import { ADD_ACCOUNT, EDIT_ACCOUNT } from './accounts.js';
import { Args, flagHelp, parseArgs, type FlagTable } from './args.js';
import { COMMON_FLAGS, type CommandDef, type CommandIo } from './command.js';
import { DESCRIBE_ACCOUNT, DESCRIBE_JWT, DESCRIBE_OPERATOR, DESCRIBE_USER } from './describe.js';
import { AuthCliError } from './errors.js';
import { redactText } from '../../log/redact.js';
import { ADD_EXPORT, ADD_IMPORT, GENERATE_ACTIVATION } from './exports.js';
import { LIST_ACCOUNTS, LIST_KEYS, LIST_OPERATORS, LIST_USERS } from './list.js';
import { ADD_OPERATOR, EDIT_OPERATOR, INIT } from './operators.js';
import { PUSH } from './push.js';
import { GENERATE_CONFIG } from './server-config.js';
import { defaultStoreRoot, Store } from './store.js';
import { ADD_USER, EDIT_USER, GENERATE_CREDS, REVOKE_USER } from './users.js';

export const COMMANDS: readonly CommandDef[] = [
  INIT,
  ADD_OPERATOR,
  EDIT_OPERATOR,
  ADD_ACCOUNT,
  EDIT_ACCOUNT,
  ADD_EXPORT,
  ADD_IMPORT,
  GENERATE_ACTIVATION,
  ADD_USER,
  EDIT_USER,
  REVOKE_USER,
  GENERATE_CREDS,
  GENERATE_CONFIG,
  DESCRIBE_OPERATOR,
  DESCRIBE_ACCOUNT,
  DESCRIBE_USER,
  DESCRIBE_JWT,
  PUSH,
  LIST_OPERATORS,
  LIST_ACCOUNTS,
  LIST_USERS,
  LIST_KEYS,
];

export function authUsage(): string {
  const lines = COMMANDS.map((c) => `  ${c.words.padEnd(22)} ${c.summary}`);
  return `Usage: natter auth [--dir STORE] [--operator NAME] <command> [flags]

Keys, JWTs and creds for operator mode (what nsc does). The store is
--dir / --store, else $NATTER_AUTH_DIR, else ~/.natter/auth.

Commands:
${lines.join('\n')}

\`natter auth <command> --help\` lists a command's flags.
`;
}

function commandUsage(c: CommandDef): string {
  return `Usage: natter auth ${c.words} [flags]\n\n${c.summary}\n\nFlags:\n${flagHelp(c.flags)}\n`;
}

/** The leading global flags: their values and the rest of argv. */
function globalFlags(argv: readonly string[]): { values: Map<string, string>; rest: readonly string[] } {
  const values = new Map<string, string>();
  let i = 0;
  while (i < argv.length && argv[i].startsWith('-')) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') break;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const name = flag.replace(/^--?/, '');
    if (!(name in COMMON_FLAGS)) throw new AuthCliError(`unknown flag ${flag} (command flags go after the command)`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new AuthCliError(`flag ${flag} needs a value`);
    values.set(name === 'store' ? 'dir' : name, value);
    i++;
  }
  return { values, rest: argv.slice(i) };
}

function findCommand(words: readonly string[]): { cmd: CommandDef; rest: readonly string[] } | null {
  for (const c of COMMANDS) {
    const w = c.words.split(' ');
    if (w.every((x, i) => words[i] === x)) return { cmd: c, rest: words.slice(w.length) };
  }
  return null;
}

/** Runs `natter auth <argv>`; returns the exit status (0 ok, 1 error). */
export async function runAuth(argv: readonly string[], io: CommandIo): Promise<number> {
  try {
    const { values: globals, rest } = globalFlags(argv);
    if (rest.length === 0 || rest[0] === 'help' || rest[0] === '-h' || rest[0] === '--help') {
      io.out(authUsage());
      return 0;
    }
    const found = findCommand(rest);
    if (found === null) throw new AuthCliError(`unknown command "${rest.filter((w) => !w.startsWith('-')).slice(0, 2).join(' ')}"; run \`natter auth help\``);
    const { cmd } = found;
    if (found.rest.includes('-h') || found.rest.includes('--help')) {
      io.out(commandUsage(cmd));
      return 0;
    }
    const table: FlagTable = cmd.flags;
    const args = new Args(parseArgs(found.rest, table));
    // In `generate config`, --dir is the resolver's directory; elsewhere the store.
    const dirIsStore = table.dir === COMMON_FLAGS.dir;
    const root = args.string('store') ?? (dirIsStore ? args.string('dir') : undefined) ?? globals.get('dir') ?? defaultStoreRoot();
    const store = new Store(root);
    const opFlag = args.string('operator') ?? globals.get('operator');
    await cmd.run({ ...io, store, args, operator: () => store.currentOperator(opFlag) });
    return 0;
  } catch (e) {
    // Our own errors, and file system ones (a store not readable, a disk full), are one line for the user.
    const systemError = e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string';
    if (e instanceof AuthCliError || systemError) {
      // Scripts keep stderr in their logs: a seed quoted back from the command line stays out of them.
      io.note(`natter auth: error: ${redactText((e as Error).message)}`);
      return 1;
    }
    throw e;
  }
}
