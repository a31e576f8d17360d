#!/usr/bin/env node
/**
 * The `natter` command: `natter auth ...` manages operators, accounts, users
 * and creds (see docs/auth-tool.md); every other command is the NATS client
 * tool in src/cli/tool/ (pub, sub, stream, kv, bench...; see
 * docs/natter-tool.md). The server itself is `natter-server`.
 */
import { runAuth } from './auth/main.js';
import { runTool } from './tool/main.js';

async function main(argv: readonly string[]): Promise<number> {
  if (argv[0] === 'auth') {
    return runAuth(argv.slice(1), { out: (t) => process.stdout.write(t), note: (t) => process.stderr.write(`${t}\n`) });
  }
  return runTool(argv);
}

// `natter stream ls | head`: the reader left, so there is nothing more to say; no EPIPE stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  process.exit(0);
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    // Commands report their own failures; this is the last guard, and still one line.
    process.stderr.write(`natter: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
