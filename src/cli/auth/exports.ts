/**
 * `add export`, `add import` and `generate activation`: stream and service
 * exports in account JWTs, the imports that use them, and activation
 * tokens for private (token-required) exports.
 */
import { existsSync, readFileSync } from 'node:fs';
import { encodeActivation, nowSec } from '../../jwt/encode.js';
import { isValidSubject } from '../../subjects/validate.js';
import { accountKey, reissueAccount } from './accounts.js';
import { COMMON_FLAGS, type CommandContext, type CommandDef } from './command.js';
import { AuthCliError } from './errors.js';
import { parseStoredJwt, writeOutput } from './store.js';
import { parseTimeFlag } from './values.js';

const RESPONSE_TYPES = ['Singleton', 'Stream', 'Chunked'];
const ACCOUNT_KEY = /^A[A-Z2-7]{55}$/;

function subjectFlag(ctx: CommandContext, flag: string): string {
  const s = ctx.args.string(flag);
  if (s === undefined || s === '') throw new AuthCliError(`--${flag} is required`);
  if (!isValidSubject(s)) throw new AuthCliError(`--${flag}: ${JSON.stringify(s)} is not a valid subject`);
  return s;
}

interface ExportEntry {
  readonly name?: unknown;
  readonly subject?: unknown;
  readonly type?: unknown;
  readonly token_req?: unknown;
}

function exportsOf(nats: Readonly<Record<string, unknown>>): ExportEntry[] {
  return Array.isArray(nats.exports) ? (nats.exports as ExportEntry[]) : [];
}

/** Does the export subject `exp` cover `sub` (equal, or a wildcard that matches it token by token)? */
function covers(exp: string, sub: string): boolean {
  const e = exp.split('.');
  const s = sub.split('.');
  for (let i = 0; i < e.length; i++) {
    if (e[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (e[i] !== '*' && e[i] !== s[i]) return false;
  }
  return e.length === s.length;
}

function findExport(nats: Readonly<Record<string, unknown>>, subject: string, type: string): ExportEntry | undefined {
  return exportsOf(nats).find((e) => e.type === type && typeof e.subject === 'string' && covers(e.subject, subject));
}

export const ADD_EXPORT: CommandDef = {
  words: 'add export',
  summary: 'export a stream (default) or a service from an account',
  flags: {
    ...COMMON_FLAGS,
    account: { kind: 'string', short: 'a', help: 'exporting account' },
    subject: { kind: 'string', short: 's', help: 'exported subject' },
    name: { kind: 'string', short: 'n', help: 'export name (default: the subject)' },
    service: { kind: 'boolean', help: 'export a service (default: a stream)' },
    private: { kind: 'boolean', help: 'importers need an activation token' },
    'response-type': { kind: 'string', help: 'service responses: Singleton (default), Stream or Chunked' },
  },
  run(ctx) {
    const o = ctx.operator();
    const { name, jwt } = ctx.store.findAccount(o, ctx.args.nameFrom('account', 'account'));
    const subject = subjectFlag(ctx, 'subject');
    const service = ctx.args.bool('service');
    const type = service ? 'service' : 'stream';
    const entry: Record<string, unknown> = { name: ctx.args.string('name') ?? subject, subject, type };
    if (ctx.args.bool('private')) entry.token_req = true;
    const rt = ctx.args.string('response-type');
    if (rt !== undefined) {
      const canonical = RESPONSE_TYPES.find((t) => t.toLowerCase() === rt.toLowerCase());
      if (canonical === undefined) throw new AuthCliError(`--response-type must be one of ${RESPONSE_TYPES.join(', ')}`);
      if (!service) throw new AuthCliError('--response-type applies to service exports only (add --service)');
      if (canonical !== 'Singleton') entry.response_type = canonical;
    }
    const list = exportsOf(jwt.nats);
    if (list.some((e) => e.subject === subject)) throw new AuthCliError(`account ${name} already exports ${subject}`);
    reissueAccount(ctx, o, name, jwt, { ...jwt.nats, exports: [...list, entry] });
    ctx.note(`[ OK ] added ${ctx.args.bool('private') ? 'private' : 'public'} ${type} export ${JSON.stringify(entry.name)} (${subject}) to account ${name}`);
  },
};

/** An account public key from a name in the store or the key itself (another operator's account). */
function accountPubOf(ctx: CommandContext, o: string, ref: string): { pub: string; nats: Readonly<Record<string, unknown>> | null; name: string } {
  if (ACCOUNT_KEY.test(ref)) {
    for (const a of ctx.store.accounts(o)) {
      const j = ctx.store.readJwt(ctx.store.accountJwtPath(o, a));
      if (j.sub === ref) return { pub: ref, nats: j.nats, name: a };
    }
    return { pub: ref, nats: null, name: ref };
  }
  const { name, jwt } = ctx.store.findAccount(o, ref);
  return { pub: jwt.sub, nats: jwt.nats, name };
}

/** An activation token: the exporter signs that `importer` may import `subject`. */
function mintActivation(ctx: CommandContext, exporter: { pub: string; nats: Readonly<Record<string, unknown>> }, importer: string, subject: string, kind: 'stream' | 'service', exp: number): string {
  const key = accountKey(ctx.store, exporter.pub, exporter.nats, ctx.args.string('signing-key'));
  const issuerAccount = key.pub === exporter.pub ? undefined : exporter.pub;
  return encodeActivation(importer, key.kp, { subject, kind, issuerAccount }, exp > 0 ? { exp } : {});
}

export const ADD_IMPORT: CommandDef = {
  words: 'add import',
  summary: "import another account's stream (default) or service",
  flags: {
    ...COMMON_FLAGS,
    account: { kind: 'string', short: 'a', help: 'importing account' },
    'src-account': { kind: 'string', help: 'exporting account (name or public key)' },
    'remote-subject': { kind: 'string', help: 'the subject as exported' },
    'local-subject': { kind: 'string', short: 's', help: 'the subject in the importing account (default: the remote one)' },
    name: { kind: 'string', short: 'n', help: 'import name (default: the remote subject)' },
    service: { kind: 'boolean', help: 'import a service (default: a stream)' },
    token: { kind: 'string', help: 'activation token (JWT or file) for a private export; made here when the exporter is in the store' },
    'signing-key': { kind: 'string', short: 'K', help: "exporter's signing key for a token made here" },
  },
  run(ctx) {
    const o = ctx.operator();
    const { name, jwt } = ctx.store.findAccount(o, ctx.args.nameFrom('account', 'account'));
    const srcRef = ctx.args.string('src-account');
    if (srcRef === undefined || srcRef === '') throw new AuthCliError('--src-account is required');
    const src = accountPubOf(ctx, o, srcRef);
    if (src.pub === jwt.sub) throw new AuthCliError('an account cannot import from itself');
    const remote = subjectFlag(ctx, 'remote-subject');
    const local = ctx.args.has('local-subject') ? subjectFlag(ctx, 'local-subject') : undefined;
    const type = ctx.args.bool('service') ? 'service' : 'stream';
    const entry: Record<string, unknown> = { name: ctx.args.string('name') ?? remote, subject: remote, account: src.pub };
    let token = ctx.args.string('token');
    if (token !== undefined && !token.startsWith('eyJ') && existsSync(token)) token = readFileSync(token, 'utf8').trim();
    if (src.nats !== null) {
      const exp = findExport(src.nats, remote, type);
      if (exp === undefined) throw new AuthCliError(`account ${src.name} has no ${type} export covering ${remote}`);
      if (exp.token_req === true && token === undefined) token = mintActivation(ctx, { pub: src.pub, nats: src.nats }, jwt.sub, remote, type, 0);
    }
    if (token !== undefined) {
      const t = parseStoredJwt(token, '--token');
      if (t.sub !== jwt.sub) throw new AuthCliError(`the activation token is for ${t.sub}, not for account ${name} (${jwt.sub})`);
      entry.token = token;
    }
    if (local !== undefined && local !== remote) entry.local_subject = local;
    entry.type = type;
    const imports = Array.isArray(jwt.nats.imports) ? (jwt.nats.imports as Record<string, unknown>[]) : [];
    const localOf = (i: Record<string, unknown>): unknown => i.local_subject ?? i.to ?? i.subject;
    if (imports.some((i) => i.account === src.pub && localOf(i) === (local ?? remote))) {
      throw new AuthCliError(`account ${name} already imports ${local ?? remote} from ${src.name}`);
    }
    reissueAccount(ctx, o, name, jwt, { ...jwt.nats, imports: [...imports, entry] });
    ctx.note(`[ OK ] added ${type} import ${JSON.stringify(entry.name)} (${remote} from ${src.name}) to account ${name}`);
  },
};

export const GENERATE_ACTIVATION: CommandDef = {
  words: 'generate activation',
  summary: 'make an activation token for a private export',
  flags: {
    ...COMMON_FLAGS,
    account: { kind: 'string', short: 'a', help: 'exporting account' },
    subject: { kind: 'string', short: 's', help: 'exported subject (or a narrower one)' },
    'target-account': { kind: 'string', short: 't', help: 'importing account (name or public key)' },
    service: { kind: 'boolean', help: 'the export is a service (default: look it up)' },
    expiry: { kind: 'string', help: 'token expiry: 30m, 7d, 1y, a date, or 0 for none' },
    'signing-key': { kind: 'string', short: 'K', help: 'exporting account signing key to sign with' },
    output: { kind: 'string', short: 'o', help: 'write the token to this file instead of stdout' },
  },
  run(ctx) {
    const o = ctx.operator();
    const { name, jwt } = ctx.store.findAccount(o, ctx.args.nameFrom('account', 'account'));
    const subject = subjectFlag(ctx, 'subject');
    const targetRef = ctx.args.string('target-account');
    if (targetRef === undefined || targetRef === '') throw new AuthCliError('--target-account is required');
    const target = accountPubOf(ctx, o, targetRef);
    const exp = findExport(jwt.nats, subject, 'service') ?? findExport(jwt.nats, subject, 'stream');
    if (exp === undefined) throw new AuthCliError(`account ${name} has no export covering ${subject}`);
    if (exp.token_req !== true) throw new AuthCliError(`the export ${String(exp.subject)} of account ${name} is public: it needs no activation token`);
    const expiry = ctx.args.has('expiry') ? parseTimeFlag('expiry', ctx.args.string('expiry') ?? '', nowSec()) : 0;
    const token = mintActivation(ctx, { pub: jwt.sub, nats: jwt.nats }, target.pub, subject, exp.type === 'service' ? 'service' : 'stream', expiry);
    writeOutput(ctx, ctx.args.string('output'), `${token}\n`, false);
  },
};
