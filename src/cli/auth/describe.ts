/**
 * `describe operator|account|user|jwt`: a JWT decoded (signature checked)
 * and shown as a two-column table, or as the claims' pretty JSON with --json.
 * `describe jwt` takes a file (JWT, decorated JWT or creds) or a token.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseDecoratedJwt } from '../../jwt/creds.js';
import type { FlagTable } from './args.js';
import { COMMON_FLAGS, type CommandContext, type CommandDef } from './command.js';
import { AuthCliError } from './errors.js';
import { parseStoredJwt, type StoredJwt } from './store.js';
import { formatTime } from './values.js';

type Row = readonly [string, string];

const limit = (v: unknown): string => (v === undefined ? 'Not set' : v === -1 ? 'Unlimited' : String(v));

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))) : [];
}

function obj(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function commonRows(j: StoredJwt, idLabel: string): Row[] {
  const rows: Row[] = [
    ['Name', j.name],
    [idLabel, j.sub],
    ['Issuer ID', j.iss],
    ['Issued', formatTime(j.claims.iat)],
    ['Expires', formatTime(j.claims.exp)],
  ];
  if (typeof j.claims.nbf === 'number' && j.claims.nbf > 0) rows.push(['Not Before', formatTime(j.claims.nbf)]);
  rows.push(['ID (jti)', String(j.claims.jti ?? '')]);
  const tags = strings(j.nats.tags);
  if (tags.length > 0) rows.push(['Tags', tags.join(', ')]);
  return rows;
}

function permissionRows(nats: Record<string, unknown>): Row[] {
  const rows: Row[] = [];
  for (const [dir, label] of [['pub', 'Pub'], ['sub', 'Sub']] as const) {
    const p = obj(nats[dir]);
    for (const [list, word] of [['allow', 'Allow'], ['deny', 'Deny']] as const) {
      strings(p[list]).forEach((s, i) => rows.push([i === 0 ? `${label} ${word}` : '', s]));
    }
  }
  const resp = obj(nats.resp);
  if (nats.resp !== undefined) rows.push(['Response Permissions', `max ${String(resp.max ?? 0)}, ttl ${Number(resp.ttl ?? 0) / 1e9}s`]);
  return rows;
}

function operatorRows(j: StoredJwt): Row[] {
  const rows: Row[] = commonRows(j, 'Operator ID');
  strings(j.nats.signing_keys).forEach((k, i) => rows.push([i === 0 ? 'Signing Keys' : '', k]));
  rows.push(['System Account', String(j.nats.system_account ?? '')]);
  return rows;
}

function accountRows(j: StoredJwt): Row[] {
  const rows: Row[] = commonRows(j, 'Account ID');
  const l = obj(j.nats.limits);
  const sks = Array.isArray(j.nats.signing_keys) ? (j.nats.signing_keys as unknown[]) : [];
  sks.forEach((k, i) => rows.push([i === 0 ? 'Signing Keys' : '', typeof k === 'string' ? k : `${String(obj(k).key)} (scoped, role ${String(obj(k).role)})`]));
  rows.push(
    ['Max Connections', limit(l.conn)],
    ['Max Leaf Node Connections', limit(l.leaf)],
    ['Max Data', limit(l.data)],
    ['Max Exports', limit(l.exports)],
    ['Max Imports', limit(l.imports)],
    ['Max Msg Payload', limit(l.payload)],
    ['Max Subscriptions', limit(l.subs)],
    ['Exports Allows Wildcards', String(l.wildcards ?? false)],
  );
  if (l.disallow_bearer === true) rows.push(['Disallow Bearer Token', 'true']);
  if (l.mem_storage !== undefined || l.disk_storage !== undefined) {
    rows.push(
      ['JetStream Memory Storage', limit(l.mem_storage)],
      ['JetStream Disk Storage', limit(l.disk_storage)],
      ['JetStream Max Streams', limit(l.streams)],
      ['JetStream Max Consumers', limit(l.consumer)],
    );
  } else rows.push(['JetStream', 'Disabled']);
  const revs = Object.entries(obj(j.nats.revocations));
  rows.push(['Revocations', String(revs.length)]);
  for (const [k, at] of revs) rows.push(['', `${k} at ${formatTime(at)}`]);
  const exps = Array.isArray(j.nats.exports) ? (j.nats.exports as unknown[]) : [];
  rows.push(['Exports', String(exps.length)]);
  for (const e of exps.map(obj)) {
    rows.push(['', `${String(e.type)} ${String(e.subject)} "${String(e.name ?? '')}" ${e.token_req === true ? 'private' : 'public'}${e.response_type !== undefined ? ` ${String(e.response_type)}` : ''}`]);
  }
  const imps = Array.isArray(j.nats.imports) ? (j.nats.imports as unknown[]) : [];
  rows.push(['Imports', String(imps.length)]);
  for (const i of imps.map(obj)) {
    const local = i.local_subject ?? i.to;
    rows.push(['', `${String(i.type)} ${String(i.subject)}${local !== undefined ? ` -> ${String(local)}` : ''} from ${String(i.account)}${i.token !== undefined ? ' (token)' : ''}`]);
  }
  return rows;
}

function userRows(j: StoredJwt): Row[] {
  const rows: Row[] = commonRows(j, 'User ID');
  if (typeof j.nats.issuer_account === 'string' && j.nats.issuer_account !== '') rows.push(['Issuer Account', j.nats.issuer_account]);
  rows.push(['Bearer Token', j.nats.bearer_token === true ? 'Yes' : 'No']);
  const perms = permissionRows(j.nats);
  rows.push(...perms);
  if (perms.length === 0) rows.push(['Permissions', 'Unrestricted']);
  rows.push(['Max Msg Payload', limit(j.nats.payload)], ['Max Data', limit(j.nats.data)], ['Max Subscriptions', limit(j.nats.subs)]);
  const src = strings(j.nats.src);
  if (src.length > 0) rows.push(['Source Networks', src.join(', ')]);
  return rows;
}

function activationRows(j: StoredJwt): Row[] {
  const rows: Row[] = commonRows(j, 'Importer Account');
  rows.push(['Import Type', String(j.nats.kind ?? '')], ['Import Subject', String(j.nats.subject ?? '')]);
  if (typeof j.nats.issuer_account === 'string') rows.push(['Issuer Account', j.nats.issuer_account]);
  return rows;
}

const TITLES: Readonly<Record<string, string>> = {
  operator: 'Operator Details',
  account: 'Account Details',
  user: 'User',
  activation: 'Activation',
};

/** The table for any JWT, by its claim type. */
export function describeTable(j: StoredJwt): string {
  const type = String(obj(j.claims.nats).type ?? j.claims.type ?? 'generic');
  const rows =
    type === 'operator' ? operatorRows(j) : type === 'account' ? accountRows(j) : type === 'user' ? userRows(j) : type === 'activation' ? activationRows(j) : commonRows(j, 'Subject');
  const width = Math.max(...rows.map((r) => r[0].length));
  const lines = rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`.trimEnd());
  return `${TITLES[type] ?? 'JWT'}\n${lines.join('\n')}\n`;
}

function show(ctx: CommandContext, j: StoredJwt): void {
  ctx.out(ctx.args.bool('json') ? `${JSON.stringify(j.claims, null, 2)}\n` : describeTable(j));
}

const DESCRIBE_FLAGS: FlagTable = { ...COMMON_FLAGS, json: { kind: 'boolean', help: 'print the decoded claims as JSON' } };

export const DESCRIBE_OPERATOR: CommandDef = {
  words: 'describe operator',
  summary: 'show the operator JWT',
  flags: { ...DESCRIBE_FLAGS, name: { kind: 'string', short: 'n', help: 'operator name (default: the current one)' } },
  run(ctx) {
    const name = ctx.args.string('name') ?? ctx.args.positionals[0];
    const o = ctx.store.currentOperator(name ?? ctx.args.string('operator'));
    show(ctx, ctx.store.readJwt(ctx.store.operatorJwtPath(o)));
  },
};

export const DESCRIBE_ACCOUNT: CommandDef = {
  words: 'describe account',
  summary: 'show an account JWT',
  flags: { ...DESCRIBE_FLAGS, name: { kind: 'string', short: 'n', help: 'account name or public key' }, account: { kind: 'string', short: 'a', help: 'same as --name' } },
  run(ctx) {
    const ref = ctx.args.string('account') ?? ctx.args.nameFrom('name', 'account');
    show(ctx, ctx.store.findAccount(ctx.operator(), ref).jwt);
  },
};

export const DESCRIBE_USER: CommandDef = {
  words: 'describe user',
  summary: 'show a user JWT',
  flags: { ...DESCRIBE_FLAGS, account: { kind: 'string', short: 'a', help: 'the account' }, name: { kind: 'string', short: 'n', help: 'user name' } },
  run(ctx) {
    const o = ctx.operator();
    const accRef = ctx.args.string('account');
    if (accRef === undefined) throw new AuthCliError('--account (-a) is required');
    const { name } = ctx.store.findAccount(o, accRef);
    show(ctx, ctx.store.findUser(o, name, ctx.args.nameFrom('name', 'user')));
  },
};

export const DESCRIBE_JWT: CommandDef = {
  words: 'describe jwt',
  summary: 'decode any JWT: a file (JWT, decorated JWT, creds) or the token itself',
  flags: { ...DESCRIBE_FLAGS, file: { kind: 'string', short: 'f', help: 'the file (or token)' } },
  run(ctx) {
    const ref = ctx.args.string('file') ?? ctx.args.nameFrom('file', 'JWT file');
    let text: string;
    if (existsSync(ref)) text = readFileSync(ref, 'utf8');
    else if (ref.split('.').length === 3) text = ref;
    else throw new AuthCliError(`${ref}: no such file, and not a JWT`);
    show(ctx, parseStoredJwt(parseDecoratedJwt(text), ref));
  },
};
