/**
 * The `natter` tool's dispatcher: finds the command from its words
 * (`pub`, `stream add`...), parses its flags together with the connection
 * flags, runs it, closes the connections it opened, and turns any failure
 * into one line on stderr with a non-zero exit.
 */
import { flagHelp, parseCommandLine, type FlagTable } from './args.js';
import type { Invocation, ToolCommand } from './command.js';
import { COMPLETION } from './completion.js';
import { CONNECTION_FLAGS, displayServers, openConnection, resolveSettings, type ToolConnection } from './connection.js';
import { describeError } from './errors.js';
import { ToolOutput } from './output.js';
import { FAMILIES } from './registry.js';
import { NATTER_VERSION } from '../../server/version.js';

/** The families main knows of beyond the loadable ones: `auth` is dispatched by natter.ts, `completion` is here. */
const USAGE_LINES: ReadonlyArray<readonly [string, string]> = [
  ...FAMILIES.map((f) => [f.name, f.summary] as const),
  ['auth', 'operators, accounts, users and creds for operator mode (see natter auth help)'],
  ['completion', 'shell completion script (bash or zsh)'],
];

async function familyCommands(name: string): Promise<readonly ToolCommand[]> {
  if (name === COMPLETION.words) return [COMPLETION];
  const family = FAMILIES.find((f) => f.name === name);
  return family ? family.load() : [];
}

export function toolUsage(): string {
  const lines = USAGE_LINES.map(([w, s]) => `  ${w.padEnd(11)} ${s}`);
  return `Usage: natter <command> [flags]

Commands:
${lines.join('\n')}

Connection flags (every command that talks to a server):
${flagHelp(CONNECTION_FLAGS)}

\`natter <command> --help\` shows a command's flags; \`natter --version\` the version.
The server itself is \`natter-server\`.
`;
}

function commandUsage(c: ToolCommand): string {
  const flags = c.connects ? { ...c.flags, ...CONNECTION_FLAGS } : c.flags;
  return `Usage: natter ${c.words}${c.args ? ` ${c.args}` : ''} [flags]\n\n${c.summary}\n\nFlags:\n${flagHelp(flags)}\n`;
}

function familyUsage(family: string, commands: readonly ToolCommand[]): string {
  const width = Math.max(...commands.map((c) => `${c.words} ${c.args}`.length));
  const lines = commands.map((c) => `  natter ${`${c.words} ${c.args}`.padEnd(width)}  ${c.summary}`);
  return `Usage: natter ${family} <command> [flags]\n\n${lines.join('\n')}\n\n\`natter ${family} <command> --help\` shows its flags.\n`;
}

/** The words of argv, skipping connection flags' values (`-s URL`) so they are not taken for words. */
function leadingWords(argv: readonly string[], max: number): Array<{ word: string; index: number }> {
  const words: Array<{ word: string; index: number }> = [];
  for (let i = 0; i < argv.length && words.length < max; i++) {
    const arg = argv[i];
    if (arg === '--') break;
    if (arg.startsWith('-')) {
      const name = arg.replace(/^--?/, '');
      const spec = Object.entries(CONNECTION_FLAGS).find(([n, s]) => n === name || s.short === name)?.[1];
      if (spec && spec.kind !== 'boolean' && !arg.includes('=')) i++;
      continue;
    }
    words.push({ word: arg, index: i });
  }
  return words;
}

const HELP_FLAGS: FlagTable = { help: { kind: 'boolean', short: 'h', help: 'show this help' } };

let interruption: Promise<void> | null = null;
function interrupted(): Promise<void> {
  interruption ??= new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  return interruption;
}

export async function runTool(argv: readonly string[], out: ToolOutput = new ToolOutput()): Promise<number> {
  if (argv[0] === '--version' || argv[0] === 'version') {
    out.line(NATTER_VERSION);
    return 0;
  }
  if (argv.length === 0 || argv[0] === 'help' || argv[0] === '-h' || argv[0] === '--help') {
    out.write(toolUsage());
    return argv.length === 0 ? 1 : 0;
  }
  const [first, second] = leadingWords(argv, 2);
  const wantsHelp = argv.includes('--help') || argv.includes('-h');
  if (first === undefined) {
    out.note(`natter: no command given (flags alone: ${argv.join(' ')}); run \`natter --help\``);
    return 1;
  }
  const family = await familyCommands(first.word);
  if (family.length === 0) {
    out.note(`natter: unknown command ${JSON.stringify(first.word)}; run \`natter --help\` for the list`);
    return 1;
  }
  let command = family.find((c) => c.words === first.word);
  let used = [first.index];
  if (!command) {
    if (second === undefined || second.word === 'help') {
      if (wantsHelp || second?.word === 'help') {
        out.write(familyUsage(first.word, family));
        return 0;
      }
      out.note(`natter: ${first.word} needs a command: ${family.map((c) => c.words.split(' ')[1]).join(', ')}`);
      return 1;
    }
    command = family.find((c) => c.words === `${first.word} ${second.word}`);
    if (!command) {
      out.note(`natter: unknown command ${JSON.stringify(`${first.word} ${second.word}`)}; known: ${family.map((c) => c.words.split(' ')[1]).join(', ')}`);
      return 1;
    }
    used = [first.index, second.index];
  }
  if (wantsHelp) {
    out.write(commandUsage(command));
    return 0;
  }
  const rest = argv.filter((_, i) => !used.includes(i));
  const connections: ToolConnection[] = [];
  // Any refused publish or subscription ends the command: nothing the tool does continues sensibly after one.
  let reportDenied: (e: Error) => void = () => undefined;
  const denied = new Promise<never>((_, reject) => (reportDenied = reject));
  denied.catch(() => undefined);
  let server: string | undefined;
  try {
    const flags = parseCommandLine(rest, command.connects ? { ...command.flags, ...CONNECTION_FLAGS, ...HELP_FLAGS } : { ...command.flags, ...HELP_FLAGS });
    const inv: Invocation = {
      flags,
      out,
      interrupted,
      connect: async (opts) => {
        const settings = resolveSettings(flags);
        server = displayServers(settings);
        const connection = await openConnection(settings, reportDenied, opts?.longRunning === true ? (text) => out.note(text) : null);
        connections.push(connection);
        return connection;
      },
    };
    return await Promise.race([command.run(inv), denied]);
  } catch (e) {
    out.note(`natter: ${describeError(e, server)}`);
    return command.failureExitCode ?? 1;
  } finally {
    // A connection the server already closed (an auth error, say) has nothing left to flush.
    await Promise.all(connections.map((c) => c.close().catch(() => undefined)));
  }
}
