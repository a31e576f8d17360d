#!/usr/bin/env node
/**
 * The `natter` command: Natter's tools. `natter auth ...` manages
 * operators, accounts, users and creds (see docs/auth-tool.md); the server
 * itself is `natter-server`.
 */
import { runAuth } from './auth/main.js';

const USAGE = `Usage: natter <tool> [arguments]

Tools:
  auth    operators, accounts, users, creds and server configs for operator mode

Run \`natter auth help\` for its commands. The server is \`natter-server\`.
`;

async function main(argv: readonly string[]): Promise<number> {
  const [tool, ...rest] = argv;
  if (tool === undefined || tool === 'help' || tool === '-h' || tool === '--help') {
    process.stdout.write(USAGE);
    return tool === undefined ? 1 : 0;
  }
  if (tool === 'auth') {
    return runAuth(rest, { out: (t) => process.stdout.write(t), note: (t) => process.stderr.write(`${t}\n`) });
  }
  process.stderr.write(`natter: unknown tool ${JSON.stringify(tool)}\n${USAGE}`);
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`natter: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
