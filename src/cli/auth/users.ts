/**
 * `add user`, `edit user`, `revoke user` and `generate creds`: user JWTs
 * issued by an account or one of its signing keys, with permissions,
 * bearer and expiry; creds files (0600) next to them in the store.
 */
import { existsSync } from 'node:fs';
import { encodeClaims, newUser, nowSec } from '../../jwt/encode.js';
import { parseCidr } from '../../jwt/claims.js';
import { formatCreds } from '../../jwt/creds.js';
import { isValidSubject } from '../../subjects/validate.js';
import { accountKey, reissueAccount } from './accounts.js';
import type { Args, FlagTable } from './args.js';
import { COMMON_FLAGS, type CommandContext, type CommandDef } from './command.js';
import { AuthCliError } from './errors.js';
import { checkName, keptStandardFields, writeOutput, type StoredJwt } from './store.js';
import { parseCount, parseDurationNs, parseLimit, parseTimeFlag } from './values.js';

const USER_FLAGS: FlagTable = {
  ...COMMON_FLAGS,
  account: { kind: 'string', short: 'a', help: 'the account' },
  name: { kind: 'string', short: 'n', help: 'user name' },
  'allow-pub': { kind: 'list', help: 'subjects the user may publish to' },
  'allow-sub': { kind: 'list', help: 'subjects the user may subscribe to ("subject queue" for a queue group)' },
  'allow-pubsub': { kind: 'list', help: 'subjects the user may publish and subscribe to' },
  'deny-pub': { kind: 'list', help: 'subjects the user may not publish to' },
  'deny-sub': { kind: 'list', help: 'subjects the user may not subscribe to' },
  'deny-pubsub': { kind: 'list', help: 'subjects the user may neither publish nor subscribe to' },
  'allow-pub-response': { kind: 'string', optionalValue: true, help: 'may reply to requests it received (=N replies each, default 1)' },
  'response-ttl': { kind: 'string', help: 'how long a reply permission lasts (Go duration, e.g. 5s)' },
  bearer: { kind: 'boolean', help: 'bearer token: the JWT alone authenticates (no nonce signature)' },
  expiry: { kind: 'string', help: 'expiry: 30m, 12h, 7d, 1y, a date (2027-01-31), Unix seconds, 0 for none' },
  start: { kind: 'string', help: 'not valid before: same forms as --expiry' },
  tag: { kind: 'list', help: 'tags' },
  src: { kind: 'list', help: 'CIDRs the user may connect from' },
  subs: { kind: 'string', help: 'max subscriptions (-1 unlimited)' },
  payload: { kind: 'string', help: 'max payload' },
  data: { kind: 'string', help: 'max data' },
  'signing-key': { kind: 'string', short: 'K', help: 'issue with this account signing key (public key, seed or .nk file)' },
};

const EDIT_ONLY_FLAGS: FlagTable = {
  rm: { kind: 'list', help: 'remove subjects from every permission list' },
  'rm-response-perms': { kind: 'boolean', help: 'remove the response permission' },
  'rm-tag': { kind: 'list', help: 'remove tags' },
  'rm-src': { kind: 'list', help: 'remove source CIDRs' },
};

type PermDir = 'pub' | 'sub';
type PermList = 'allow' | 'deny';

function subjects(args: Args, flag: string): readonly string[] {
  const list = args.list(flag);
  for (const s of list) {
    // A subscribe permission may name a queue group after a space.
    const subject = flag.includes('sub') && !flag.includes('pubsub') ? s.split(' ')[0] : s;
    if (!isValidSubject(subject)) throw new AuthCliError(`--${flag}: ${JSON.stringify(s)} is not a valid subject`);
  }
  return list;
}

function permission(nats: Record<string, unknown>, dir: PermDir): Record<string, unknown> {
  const p = nats[dir];
  const copy = p !== null && typeof p === 'object' ? { ...(p as Record<string, unknown>) } : {};
  nats[dir] = copy;
  return copy;
}

function addTo(nats: Record<string, unknown>, dir: PermDir, list: PermList, items: readonly string[]): void {
  if (items.length === 0) return;
  const p = permission(nats, dir);
  const cur = Array.isArray(p[list]) ? (p[list] as string[]) : [];
  p[list] = [...cur, ...items.filter((s) => !cur.includes(s))];
}

function removeFrom(nats: Record<string, unknown>, items: readonly string[]): void {
  for (const dir of ['pub', 'sub'] as const) {
    const p = permission(nats, dir);
    for (const list of ['allow', 'deny'] as const) {
      if (!Array.isArray(p[list])) continue;
      const kept = (p[list] as string[]).filter((s) => !items.includes(s));
      if (kept.length > 0) p[list] = kept;
      else delete p[list];
    }
  }
}

/** Applies the permission, limit and flag options of add/edit user to `nats` and `std`. */
function applyUserFlags(args: Args, nats: Record<string, unknown>, std: Record<string, unknown>): void {
  removeFrom(nats, args.list('rm'));
  addTo(nats, 'pub', 'allow', [...subjects(args, 'allow-pub'), ...subjects(args, 'allow-pubsub')]);
  addTo(nats, 'sub', 'allow', [...subjects(args, 'allow-sub'), ...subjects(args, 'allow-pubsub')]);
  addTo(nats, 'pub', 'deny', [...subjects(args, 'deny-pub'), ...subjects(args, 'deny-pubsub')]);
  addTo(nats, 'sub', 'deny', [...subjects(args, 'deny-sub'), ...subjects(args, 'deny-pubsub')]);
  if (args.bool('rm-response-perms')) delete nats.resp;
  const resp = args.string('allow-pub-response');
  const ttl = args.string('response-ttl');
  if (resp !== undefined || ttl !== undefined) {
    const prev = nats.resp !== null && typeof nats.resp === 'object' ? (nats.resp as { max?: number; ttl?: number }) : {};
    const max = resp === undefined ? (prev.max ?? 1) : resp === '' ? 1 : parseCount('allow-pub-response', resp);
    if (max < 1) throw new AuthCliError('--allow-pub-response must allow at least 1 response');
    nats.resp = { max, ttl: ttl === undefined ? (prev.ttl ?? 0) : parseDurationNs('response-ttl', ttl) };
  }
  const bearer = args.optionalBool('bearer');
  if (bearer === true) nats.bearer_token = true;
  else if (bearer === false) delete nats.bearer_token;
  for (const f of ['subs', 'payload', 'data']) {
    const v = args.string(f);
    if (v !== undefined) nats[f] = parseLimit(f, v);
  }
  // Tags are lower-cased, as nsc stores them.
  const rmTags = args.list('rm-tag').map((t) => t.toLowerCase());
  const tags = (Array.isArray(nats.tags) ? (nats.tags as string[]) : []).filter((t) => !rmTags.includes(t.toLowerCase()));
  for (const t of args.list('tag')) if (!tags.includes(t.toLowerCase())) tags.push(t.toLowerCase());
  if (tags.length > 0) nats.tags = tags;
  else delete nats.tags;
  const src = (Array.isArray(nats.src) ? (nats.src as string[]) : []).filter((c) => !args.list('rm-src').includes(c));
  for (const c of args.list('src')) {
    if (parseCidr(c) === null) throw new AuthCliError(`--src: ${JSON.stringify(c)} is not a CIDR (e.g. 10.0.0.0/8)`);
    if (!src.includes(c)) src.push(c);
  }
  if (src.length > 0) nats.src = src;
  else delete nats.src;
  const now = nowSec();
  if (args.has('expiry')) std.exp = parseTimeFlag('expiry', args.string('expiry') ?? '', now);
  if (args.has('start')) std.nbf = parseTimeFlag('start', args.string('start') ?? '', now);
  if (std.exp === 0) delete std.exp;
  if (std.nbf === 0) delete std.nbf;
}

/** Issues a user JWT (and its creds file) with the account key or the signing key given. */
function issueUser(ctx: CommandContext, o: string, accountName: string, account: StoredJwt, userPub: string, userName: string, nats: Record<string, unknown>, std: Record<string, unknown>, keyRef: string | undefined): string {
  const key = accountKey(ctx.store, account.sub, account.nats, keyRef);
  if (key.pub === account.sub) delete nats.issuer_account;
  else nats.issuer_account = account.sub;
  const token = encodeClaims('user', userPub, key.kp, nats, { ...std, name: userName });
  ctx.store.writePublic(ctx.store.userJwtPath(o, accountName, userName), token);
  const seed = ctx.store.keyPairOf(userPub);
  if (seed !== null) {
    const path = ctx.store.credsPath(o, accountName, userName);
    ctx.store.writePrivate(path, formatCreds(token, new TextDecoder().decode(seed.getSeed())));
    ctx.note(`[ OK ] wrote creds ${path}`);
  }
  return token;
}

function userAndAccount(ctx: CommandContext): { o: string; account: string; jwt: StoredJwt; user: string } {
  const o = ctx.operator();
  const accRef = ctx.args.string('account');
  if (accRef === undefined || accRef === '') throw new AuthCliError('--account (-a) is required');
  const { name, jwt } = ctx.store.findAccount(o, accRef);
  return { o, account: name, jwt, user: checkName(ctx.args.nameFrom('name', 'user'), 'user') };
}

export const ADD_USER: CommandDef = {
  words: 'add user',
  summary: 'create a user (and its creds file) in an account',
  flags: USER_FLAGS,
  run(ctx) {
    const { o, account, jwt, user } = userAndAccount(ctx);
    if (existsSync(ctx.store.userJwtPath(o, account, user))) throw new AuthCliError(`user ${JSON.stringify(user)} already exists in account ${account}`);
    const nats: Record<string, unknown> = { pub: {}, sub: {}, subs: -1, data: -1, payload: -1 };
    const std: Record<string, unknown> = {};
    applyUserFlags(ctx.args, nats, std);
    const id = newUser();
    ctx.store.storeKey(id);
    issueUser(ctx, o, account, jwt, id.pub, user, nats, std, ctx.args.string('signing-key'));
    ctx.note(`[ OK ] added user ${user} (${id.pub}) to account ${account}`);
  },
};

export const EDIT_USER: CommandDef = {
  words: 'edit user',
  summary: "change a user's permissions, limits, bearer flag or expiry",
  flags: { ...USER_FLAGS, ...EDIT_ONLY_FLAGS },
  run(ctx) {
    const { o, account, jwt, user } = userAndAccount(ctx);
    const prev = ctx.store.findUser(o, account, user);
    const nats = { ...prev.nats };
    const std = keptStandardFields(prev);
    applyUserFlags(ctx.args, nats, std);
    // Re-issue with the key that issued it, unless -K names another.
    const keyRef = ctx.args.string('signing-key') ?? (prev.iss !== jwt.sub ? prev.iss : undefined);
    issueUser(ctx, o, account, jwt, prev.sub, user, nats, std, keyRef);
    ctx.note(`[ OK ] edited user ${user}`);
  },
};

export const REVOKE_USER: CommandDef = {
  words: 'revoke user',
  summary: "revoke a user's JWTs issued up to now (re-signs the account; push it to apply)",
  flags: {
    ...COMMON_FLAGS,
    account: { kind: 'string', short: 'a', help: 'the account' },
    name: { kind: 'string', short: 'n', help: 'user name' },
    'user-key': { kind: 'string', short: 'u', help: 'user public key (for users not in the store; "*" for all)' },
    at: { kind: 'string', help: 'revoke JWTs issued up to this time (default now): a date, RFC 3339, Unix seconds' },
  },
  run(ctx) {
    const o = ctx.operator();
    const accRef = ctx.args.string('account');
    if (accRef === undefined || accRef === '') throw new AuthCliError('--account (-a) is required');
    const { name, jwt } = ctx.store.findAccount(o, accRef);
    let pub = ctx.args.string('user-key');
    let label: string;
    if (pub !== undefined) {
      if (pub !== '*' && !/^U[A-Z2-7]{55}$/.test(pub)) throw new AuthCliError(`--user-key ${JSON.stringify(pub)} is not a user public key`);
      label = pub;
    } else {
      const user = checkName(ctx.args.nameFrom('name', 'user'), 'user');
      pub = ctx.store.findUser(o, name, user).sub;
      label = `${user} (${pub})`;
    }
    const now = nowSec();
    const at = ctx.args.has('at') ? parseTimeFlag('at', ctx.args.string('at') ?? '', now) : now;
    const revocations = jwt.nats.revocations !== null && typeof jwt.nats.revocations === 'object' ? { ...(jwt.nats.revocations as Record<string, unknown>) } : {};
    revocations[pub] = at;
    reissueAccount(ctx, o, name, jwt, { ...jwt.nats, revocations });
    ctx.note(`[ OK ] revoked user ${label} in account ${name}; push the account to apply it: natter auth push -a ${name}`);
  },
};

export const GENERATE_CREDS: CommandDef = {
  words: 'generate creds',
  summary: "print (or write) a user's creds file",
  flags: {
    ...COMMON_FLAGS,
    account: { kind: 'string', short: 'a', help: 'the account' },
    name: { kind: 'string', short: 'n', help: 'user name' },
    output: { kind: 'string', short: 'o', help: 'write the creds to this file (mode 0600) instead of stdout' },
  },
  run(ctx) {
    const { o, account, user } = userAndAccount(ctx);
    const jwt = ctx.store.findUser(o, account, user);
    const kp = ctx.store.requireKeyPair(jwt.sub, 'user');
    writeOutput(ctx, ctx.args.string('output'), formatCreds(jwt.token, new TextDecoder().decode(kp.getSeed())), true);
  },
};
