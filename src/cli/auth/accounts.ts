/**
 * `add account` and `edit account`: account JWTs signed by the operator (or
 * one of its signing keys), their limits and their signing keys. Every edit
 * re-issues the JWT with the key that issued it before.
 */
import { existsSync } from 'node:fs';
import type { KeyPair } from '@nats-io/nkeys';
import { encodeAccount, encodeClaims, newAccount, nscAccountLimits, type Identity } from '../../jwt/encode.js';
import type { Args, FlagTable } from './args.js';
import { COMMON_FLAGS, type CommandContext, type CommandDef } from './command.js';
import { AuthCliError } from './errors.js';
import { checkName, keptStandardFields, resolveSigningKey, type StoredJwt, type Store } from './store.js';
import { parseLimit } from './values.js';

/** Limit flags and the account JWT `limits` field each sets. */
const LIMIT_FIELDS: Readonly<Record<string, string>> = {
  conn: 'conn',
  subs: 'subs',
  payload: 'payload',
  data: 'data',
  imports: 'imports',
  exports: 'exports',
  leaf: 'leaf',
  'js-mem': 'mem_storage',
  'js-disk': 'disk_storage',
  'js-streams': 'streams',
  'js-consumers': 'consumer',
};

const JS_FIELDS = ['mem_storage', 'disk_storage', 'streams', 'consumer'];

export const LIMIT_FLAGS: FlagTable = {
  conn: { kind: 'string', help: 'max client connections (-1 unlimited)' },
  subs: { kind: 'string', help: 'max subscriptions' },
  payload: { kind: 'string', help: 'max message payload (bytes, 1K/1M suffixes)' },
  data: { kind: 'string', help: 'max data in flight (bytes)' },
  imports: { kind: 'string', help: 'max imports' },
  exports: { kind: 'string', help: 'max exports' },
  leaf: { kind: 'string', help: 'max leaf node connections' },
  'js-mem': { kind: 'string', aliases: ['js-mem-storage'], help: 'JetStream memory storage (bytes; enables JetStream)' },
  'js-disk': { kind: 'string', aliases: ['js-disk-storage'], help: 'JetStream disk storage (bytes; enables JetStream)' },
  'js-streams': { kind: 'string', help: 'JetStream max streams' },
  'js-consumers': { kind: 'string', aliases: ['js-consumer'], help: 'JetStream max consumers' },
  'disallow-bearer': { kind: 'boolean', help: 'refuse bearer-token users in this account' },
};

/**
 * Applies the limit flags given to `limits`. JetStream fields not given
 * become -1 once any is set, since 0 would mean no streams or consumers.
 */
export function applyLimitFlags(args: Args, limits: Record<string, unknown>): void {
  let js = false;
  for (const [flag, field] of Object.entries(LIMIT_FIELDS)) {
    const v = args.string(flag);
    if (v === undefined) continue;
    limits[field] = parseLimit(flag, v);
    if (JS_FIELDS.includes(field)) js = true;
  }
  if (js) for (const f of JS_FIELDS) if (limits[f] === undefined) limits[f] = -1;
  const nb = args.optionalBool('disallow-bearer');
  if (nb !== undefined) {
    if (nb) limits.disallow_bearer = true;
    else delete limits.disallow_bearer;
  }
}

/** The operator's identity and signing keys, to check who may issue accounts. */
function operatorKeys(ctx: CommandContext, o: string): { identity: string; signing: readonly string[] } {
  const op = ctx.store.readJwt(ctx.store.operatorJwtPath(o));
  const sk = op.nats.signing_keys;
  return { identity: op.sub, signing: Array.isArray(sk) ? sk.filter((k): k is string => typeof k === 'string') : [] };
}

/** The key to issue an account JWT with: -K (an operator signing key), else the operator's own key. */
function accountSigner(ctx: CommandContext, o: string, previousIssuer: string | null): KeyPair {
  const keys = operatorKeys(ctx, o);
  const ref = ctx.args.string('signing-key');
  if (ref !== undefined) {
    const id: Identity = resolveSigningKey(ctx.store, ref);
    if (id.pub !== keys.identity && !keys.signing.includes(id.pub)) throw new AuthCliError(`${id.pub} is not a signing key of operator ${o}`);
    return id.kp;
  }
  if (previousIssuer !== null && previousIssuer !== keys.identity && keys.signing.includes(previousIssuer)) {
    const kp = ctx.store.keyPairOf(previousIssuer);
    if (kp !== null) return kp;
  }
  return ctx.store.requireKeyPair(keys.identity, 'operator');
}

/** Re-issues an account JWT with changed `nats` (its name and times kept). */
export function reissueAccount(ctx: CommandContext, o: string, name: string, jwt: StoredJwt, nats: Record<string, unknown>): string {
  const token = encodeClaims('account', jwt.sub, accountSigner(ctx, o, jwt.iss), nats, keptStandardFields(jwt));
  ctx.store.writePublic(ctx.store.accountJwtPath(o, name), token);
  return token;
}

/** An account's signing keys as public keys (scoped ones by their `key`). */
export function accountSigningKeys(nats: Readonly<Record<string, unknown>>): string[] {
  const sk = nats.signing_keys;
  if (!Array.isArray(sk)) return [];
  return sk.map((k: unknown) => (typeof k === 'string' ? k : k !== null && typeof k === 'object' ? String((k as { key?: unknown }).key ?? '') : '')).filter((k) => k !== '');
}

/** The seed of an account: its identity key or a signing key, as given by -K or the account's own. */
export function accountKey(store: Store, accountPub: string, nats: Readonly<Record<string, unknown>>, ref: string | undefined): Identity {
  if (ref === undefined) {
    const kp = store.requireKeyPair(accountPub, 'account');
    return { kp, pub: accountPub, seed: new TextDecoder().decode(kp.getSeed()) };
  }
  const id = resolveSigningKey(store, ref);
  if (id.pub !== accountPub && !accountSigningKeys(nats).includes(id.pub)) throw new AuthCliError(`${id.pub} is not a signing key of account ${accountPub}`);
  return id;
}

export const ADD_ACCOUNT: CommandDef = {
  words: 'add account',
  summary: 'create an account signed by the operator',
  flags: {
    ...COMMON_FLAGS,
    name: { kind: 'string', short: 'n', help: 'account name' },
    'signing-key': { kind: 'string', short: 'K', help: 'operator signing key to sign with (public key, seed or .nk file)' },
    ...LIMIT_FLAGS,
  },
  run(ctx) {
    const o = ctx.operator();
    const name = checkName(ctx.args.nameFrom('name', 'account'), 'account');
    if (existsSync(ctx.store.accountJwtPath(o, name))) throw new AuthCliError(`account ${JSON.stringify(name)} already exists under operator ${o}`);
    const signer = accountSigner(ctx, o, null);
    const acc = newAccount();
    const limits = nscAccountLimits();
    applyLimitFlags(ctx.args, limits);
    ctx.store.storeKey(acc);
    ctx.store.writePublic(ctx.store.accountJwtPath(o, name), encodeAccount(acc.pub, signer, { limits }, { name }));
    ctx.note(`[ OK ] added account ${name} (${acc.pub})`);
  },
};

export const EDIT_ACCOUNT: CommandDef = {
  words: 'edit account',
  summary: 'change an account: signing keys, limits',
  flags: {
    ...COMMON_FLAGS,
    name: { kind: 'string', short: 'n', help: 'account name' },
    sk: { kind: 'list', help: 'add a signing key: "generate" for a new one, or a public key, seed or .nk file' },
    'rm-sk': { kind: 'list', help: 'remove a signing key (public key)' },
    'signing-key': { kind: 'string', short: 'K', help: 'operator signing key to sign with' },
    ...LIMIT_FLAGS,
  },
  run(ctx) {
    const o = ctx.operator();
    const { name, jwt } = ctx.store.findAccount(o, ctx.args.nameFrom('name', 'account'));
    const nats = { ...jwt.nats };
    const keys: unknown[] = Array.isArray(nats.signing_keys) ? [...(nats.signing_keys as unknown[])] : [];
    for (const ref of ctx.args.list('sk')) {
      let pub: string;
      if (ref === 'generate') {
        const id = newAccount();
        ctx.store.storeKey(id);
        pub = id.pub;
      } else {
        const id = /^A[A-Z2-7]{55}$/.test(ref) ? null : resolveSigningKey(ctx.store, ref);
        if (id !== null) ctx.store.storeKey(id);
        pub = id?.pub ?? ref;
      }
      if (!pub.startsWith('A')) throw new AuthCliError(`signing key ${pub} is not an account key`);
      if (!accountSigningKeys(nats).includes(pub) && !keys.includes(pub)) keys.push(pub);
      ctx.note(`[ OK ] added signing key ${pub}`);
    }
    for (const pub of ctx.args.list('rm-sk')) {
      const i = keys.findIndex((k) => k === pub || (k !== null && typeof k === 'object' && (k as { key?: unknown }).key === pub));
      if (i < 0) throw new AuthCliError(`${pub} is not a signing key of account ${name}`);
      keys.splice(i, 1);
      ctx.note(`[ OK ] removed signing key ${pub}`);
    }
    if (keys.length > 0) nats.signing_keys = keys;
    else delete nats.signing_keys;
    const limits: Record<string, unknown> = nats.limits !== null && typeof nats.limits === 'object' ? { ...(nats.limits as Record<string, unknown>) } : {};
    applyLimitFlags(ctx.args, limits);
    nats.limits = limits;
    reissueAccount(ctx, o, name, jwt, nats);
    ctx.note(`[ OK ] edited account ${name}`);
  },
};
