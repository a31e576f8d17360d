/**
 * `init`, `add operator` and `edit operator`: an operator key (and optionally an operator
 * signing key), and with it the system account SYS and its user `sys`, whose
 * creds `push` uses to send claim updates.
 */
import { existsSync } from 'node:fs';
import { encodeAccount, encodeClaims, encodeOperator, encodeUser, newAccount, newOperator, newUser } from '../../jwt/encode.js';
import { formatCreds } from '../../jwt/creds.js';
import type { FlagTable } from './args.js';
import { COMMON_FLAGS, type CommandContext, type CommandDef } from './command.js';
import { AuthCliError } from './errors.js';
import { checkName, keptStandardFields, resolveSigningKey } from './store.js';

const OPERATOR_FLAGS: FlagTable = {
  ...COMMON_FLAGS,
  name: { kind: 'string', short: 'n', help: 'operator name' },
  sk: { kind: 'boolean', help: 'also generate an operator signing key' },
  'sys-account': { kind: 'string', help: 'name of the system account (default SYS)' },
  'sys-user': { kind: 'string', help: 'name of the system account user (default sys)' },
};

function createOperator(ctx: CommandContext, name: string, withSys: boolean): void {
  const { store, args } = ctx;
  checkName(name, 'operator');
  if (existsSync(store.operatorJwtPath(name))) throw new AuthCliError(`operator ${JSON.stringify(name)} already exists in ${store.root}`);
  const op = newOperator();
  store.storeKey(op);
  const nats: Record<string, unknown> = {};
  if (args.bool('sk')) {
    const sk = newOperator();
    store.storeKey(sk);
    nats.signing_keys = [sk.pub];
    ctx.note(`[ OK ] generated operator signing key ${sk.pub}`);
  }
  if (withSys) {
    const sysName = checkName(args.string('sys-account') ?? 'SYS', 'account');
    const userName = checkName(args.string('sys-user') ?? 'sys', 'user');
    const sys = newAccount();
    const user = newUser();
    store.storeKey(sys);
    store.storeKey(user);
    nats.system_account = sys.pub;
    store.writePublic(store.accountJwtPath(name, sysName), encodeAccount(sys.pub, op.kp, {}, { name: sysName }));
    const userJwt = encodeUser(user.pub, sys.kp, {}, { name: userName });
    store.writePublic(store.userJwtPath(name, sysName, userName), userJwt);
    store.writePrivate(store.credsPath(name, sysName, userName), formatCreds(userJwt, user.seed));
    ctx.note(`[ OK ] created system account ${sysName} (${sys.pub}) and its user ${userName}`);
  }
  store.writePublic(store.operatorJwtPath(name), encodeOperator(op.pub, op.kp, nats, { name }));
  store.setCurrentOperator(name);
  ctx.note(`[ OK ] created operator ${name} (${op.pub}) in ${store.root}`);
}

export const INIT: CommandDef = {
  words: 'init',
  summary: 'create an operator with a system account SYS and its user sys',
  flags: OPERATOR_FLAGS,
  run(ctx) {
    const name = ctx.args.string('operator') ?? ctx.args.nameFrom('name', 'operator');
    createOperator(ctx, name, true);
  },
};

export const ADD_OPERATOR: CommandDef = {
  words: 'add operator',
  summary: 'create an operator (with --sys, also its system account)',
  flags: { ...OPERATOR_FLAGS, sys: { kind: 'boolean', help: 'also create the system account and its user' } },
  run(ctx) {
    createOperator(ctx, ctx.args.nameFrom('name', 'operator'), ctx.args.bool('sys'));
  },
};

export const EDIT_OPERATOR: CommandDef = {
  words: 'edit operator',
  summary: 'change the operator: signing keys, system account',
  flags: {
    ...COMMON_FLAGS,
    sk: { kind: 'list', help: 'add an operator signing key: "generate" for a new one, or a public key, seed or .nk file' },
    'rm-sk': { kind: 'list', help: 'remove an operator signing key (accounts it issued stop being trusted)' },
    'system-account': { kind: 'string', help: 'the system account (name or public key)' },
  },
  run(ctx) {
    ctx.args.noPositionals();
    const o = ctx.operator();
    const op = ctx.store.readJwt(ctx.store.operatorJwtPath(o));
    const nats = { ...op.nats };
    const keys = Array.isArray(nats.signing_keys) ? (nats.signing_keys as unknown[]).filter((k): k is string => typeof k === 'string') : [];
    for (const ref of ctx.args.list('sk')) {
      const id = ref === 'generate' ? newOperator() : /^O[A-Z2-7]{55}$/.test(ref) ? null : resolveSigningKey(ctx.store, ref);
      if (id !== null) ctx.store.storeKey(id);
      const pub = id?.pub ?? ref;
      if (!pub.startsWith('O')) throw new AuthCliError(`signing key ${pub} is not an operator key`);
      if (!keys.includes(pub)) keys.push(pub);
      ctx.note(`[ OK ] added operator signing key ${pub}`);
    }
    for (const pub of ctx.args.list('rm-sk')) {
      const i = keys.indexOf(pub);
      if (i < 0) throw new AuthCliError(`${pub} is not a signing key of operator ${o}`);
      keys.splice(i, 1);
      const orphans = ctx.store.accounts(o).filter((a) => ctx.store.readJwt(ctx.store.accountJwtPath(o, a)).iss === pub);
      if (orphans.length > 0) ctx.note(`[WARN] accounts issued by ${pub} are no longer trusted until re-issued: ${orphans.join(', ')}`);
      ctx.note(`[ OK ] removed operator signing key ${pub}`);
    }
    if (keys.length > 0) nats.signing_keys = keys;
    else delete nats.signing_keys;
    const sys = ctx.args.string('system-account');
    if (sys !== undefined) nats.system_account = ctx.store.findAccount(o, sys).jwt.sub;
    const kp = ctx.store.requireKeyPair(op.sub, 'operator');
    ctx.store.writePublic(ctx.store.operatorJwtPath(o), encodeClaims('operator', op.sub, kp, nats, keptStandardFields(op)));
    ctx.note(`[ OK ] edited operator ${o}`);
  },
};
