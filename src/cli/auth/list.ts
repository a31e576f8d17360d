/** `list operators|accounts|users|keys`: what the store holds, one entry a line. */
import { COMMON_FLAGS, type CommandDef } from './command.js';
import { AuthCliError } from './errors.js';

export const LIST_OPERATORS: CommandDef = {
  words: 'list operators',
  summary: 'operators in the store (* marks the current one)',
  flags: COMMON_FLAGS,
  run(ctx) {
    ctx.args.noPositionals();
    const ops = ctx.store.operators();
    let current = '';
    if (ops.length > 0) current = ctx.store.currentOperator(undefined);
    for (const o of ops) ctx.out(`${o === current ? '*' : ' '} ${o.padEnd(20)} ${ctx.store.readJwt(ctx.store.operatorJwtPath(o)).sub}\n`);
  },
};

export const LIST_ACCOUNTS: CommandDef = {
  words: 'list accounts',
  summary: "the operator's accounts: name and public key",
  flags: COMMON_FLAGS,
  run(ctx) {
    ctx.args.noPositionals();
    const o = ctx.operator();
    for (const a of ctx.store.accounts(o)) ctx.out(`${a.padEnd(20)} ${ctx.store.readJwt(ctx.store.accountJwtPath(o, a)).sub}\n`);
  },
};

export const LIST_USERS: CommandDef = {
  words: 'list users',
  summary: "an account's users: name and public key",
  flags: { ...COMMON_FLAGS, account: { kind: 'string', short: 'a', help: 'the account' } },
  run(ctx) {
    ctx.args.noPositionals();
    const o = ctx.operator();
    const ref = ctx.args.string('account');
    if (ref === undefined) throw new AuthCliError('--account (-a) is required');
    const { name } = ctx.store.findAccount(o, ref);
    for (const u of ctx.store.users(o, name)) ctx.out(`${u.padEnd(20)} ${ctx.store.readJwt(ctx.store.userJwtPath(o, name, u)).sub}\n`);
  },
};

export const LIST_KEYS: CommandDef = {
  words: 'list keys',
  summary: 'stored keys: kind, public key, seed file',
  flags: COMMON_FLAGS,
  run(ctx) {
    ctx.args.noPositionals();
    for (const k of ctx.store.listKeys()) ctx.out(`${k.kind.padEnd(9)} ${k.pub} ${k.path}\n`);
  },
};
