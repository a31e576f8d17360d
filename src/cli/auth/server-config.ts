/**
 * `generate config`: a server configuration for the current operator that
 * nats-server and natter-server both load: the operator JWT inline, the
 * system account, and either the MEMORY resolver or the full (directory)
 * resolver, with every account JWT of the store preloaded.
 *
 * Here `--dir` is the full resolver's directory, as in the config it
 * writes; the store is then given with --store, $NATTER_AUTH_DIR, or
 * `natter auth --dir STORE generate config ...`.
 */
import { COMMON_FLAGS, type CommandDef } from './command.js';
import { AuthCliError } from './errors.js';
import { writeOutput } from './store.js';

/** A string in NATS configuration syntax: double-quoted, JSON escapes. */
const q = (s: string): string => JSON.stringify(s);

export const GENERATE_CONFIG: CommandDef = {
  words: 'generate config',
  summary: 'print a server config (operator, system account, resolver) for this operator',
  flags: {
    ...COMMON_FLAGS,
    dir: { kind: 'string', help: 'full resolver: where the server keeps account JWTs (default ./jwt)' },
    'mem-resolver': { kind: 'boolean', help: 'MEMORY resolver: the accounts preloaded, updates are not kept' },
    'full-resolver': { kind: 'boolean', aliases: ['nats-resolver'], help: 'full resolver: account JWTs kept in --dir, updates over $SYS' },
    'allow-delete': { kind: 'boolean', help: 'full resolver: allow $SYS.REQ.CLAIMS.DELETE' },
    'sys-only': { kind: 'boolean', help: 'preload only the system account (push the others)' },
    output: { kind: 'string', short: 'o', help: 'write the config to this file instead of stdout' },
  },
  run(ctx) {
    const mem = ctx.args.bool('mem-resolver');
    const full = ctx.args.bool('full-resolver');
    if (mem === full) throw new AuthCliError('choose one of --mem-resolver and --full-resolver');
    if (mem && ctx.args.has('dir')) throw new AuthCliError('--dir applies to the full resolver only');
    const o = ctx.operator();
    const op = ctx.store.readJwt(ctx.store.operatorJwtPath(o));
    const sys = typeof op.nats.system_account === 'string' ? op.nats.system_account : '';
    const lines: string[] = [`# Operator ${q(o)}, made by natter auth`, `operator: ${q(op.token)}`];
    if (sys !== '') lines.push(`system_account: ${q(sys)}`);
    if (mem) lines.push('resolver: MEMORY');
    else {
      lines.push('resolver: {', '  type: full', `  dir: ${q(ctx.args.string('dir') ?? './jwt')}`, `  allow_delete: ${ctx.args.bool('allow-delete')}`, '  interval: "2m"', '}');
    }
    const preload: string[] = [];
    for (const a of ctx.store.accounts(o)) {
      const j = ctx.store.readJwt(ctx.store.accountJwtPath(o, a));
      if (ctx.args.bool('sys-only') && j.sub !== sys) continue;
      preload.push(`  # ${a}`, `  ${j.sub}: ${q(j.token)}`);
    }
    lines.push('resolver_preload: {', ...preload, '}');
    writeOutput(ctx, ctx.args.string('output'), `${lines.join('\n')}\n`, false);
  },
};
