/**
 * Typed operator, account and user claims (nats-io/jwt v2 shapes, JSON
 * names kept) and the validation nats-server applies before trusting them.
 * Decoding checks types and fills defaults; `validate*` returns the
 * blocking problems nats-io/jwt reports (errors and time checks), so a
 * non-empty list means "refuse", as `vr.IsBlocking(true)` does.
 */
import { BlockList, isIP } from 'node:net';
import {
  decodeJwt,
  isPublicKeyOf,
  JwtError,
  NKEY_PREFIX_ACCOUNT,
  NKEY_PREFIX_OPERATOR,
  NKEY_PREFIX_USER,
  type DecodedJwt,
} from './jwt.js';

/** The revocation entry that revokes every user issued up to its time. */
export const REVOKE_ALL = '*';

/** Fields every claim has (jwt's ClaimsData); times are Unix seconds, 0 when unset. */
export interface ClaimsData {
  readonly jti: string;
  readonly iat: number;
  readonly iss: string;
  readonly sub: string;
  readonly name: string;
  readonly aud: string;
  readonly exp: number;
  readonly nbf: number;
}

export interface OperatorNats {
  readonly signing_keys: readonly string[];
  readonly system_account: string;
  readonly account_server_url: string;
  readonly assert_server_version: string;
  /** When true, only signing keys (not the identity key) may issue accounts. */
  readonly strict_signing_key_usage: boolean;
}

export interface OperatorClaims extends ClaimsData {
  readonly nats: OperatorNats;
}

/** An allow/deny pair; a list absent from the JSON is null (nats-server tells absent from empty). */
export interface Permission {
  readonly allow: readonly string[] | null;
  readonly deny: readonly string[] | null;
}

export interface ResponsePermission {
  /** `max`: responses per request; 0 means the server default. */
  readonly max: number;
  /** `ttl` in nanoseconds (a Go time.Duration); 0 means the server default. */
  readonly ttl: number;
}

export interface TimeRange {
  /** Time of day in Go's "15:04:05" layout, e.g. "08:00:00". */
  readonly start: string;
  readonly end: string;
}

/** Publish, subscribe and response permissions (jwt's Permissions). */
export interface JwtPermissions {
  readonly pub: Permission;
  readonly sub: Permission;
  readonly resp: ResponsePermission | null;
}

/** A user's permissions and limits (jwt's UserPermissionLimits). */
export interface UserPermissionLimits extends JwtPermissions {
  /** CIDRs the user may connect from; empty means anywhere. */
  readonly src: readonly string[];
  readonly times: readonly TimeRange[];
  /** IANA zone for `times`; '' means the server's local time. */
  readonly times_location: string;
  /** As sent: -1 is unlimited; absent reads 0 (Go's zero value), or -1 in a version 1 JWT. */
  readonly subs: number;
  readonly data: number;
  readonly payload: number;
  readonly bearer_token: boolean;
  readonly allowed_connection_types: readonly string[];
}

export interface UserNats extends UserPermissionLimits {
  /** The account a signing key issued this user for; '' when the account itself did. */
  readonly issuer_account: string;
  readonly tags: readonly string[];
}

export interface UserClaims extends ClaimsData {
  readonly nats: UserNats;
}

/** A scoped signing key: users it issues get `template` instead of their own permissions. */
export interface UserScope {
  readonly kind: 'user_scope';
  readonly key: string;
  readonly role: string;
  readonly template: UserPermissionLimits;
}

/** JetStream limits of an account (jwt's JetStreamLimits), as sent; 0 means disabled for the storage kinds. */
export interface JetStreamLimits {
  readonly mem_storage: number;
  readonly disk_storage: number;
  readonly streams: number;
  readonly consumer: number;
  readonly max_ack_pending: number;
  readonly mem_max_stream_bytes: number;
  readonly disk_max_stream_bytes: number;
  readonly max_bytes_required: boolean;
}

/** Account limits (jwt's OperatorLimits flattened), as sent: -1 is unlimited, absent reads 0 (false) as in Go. */
export interface AccountLimits {
  readonly subs: number;
  readonly data: number;
  readonly payload: number;
  readonly imports: number;
  readonly exports: number;
  readonly wildcards: boolean;
  readonly conn: number;
  readonly leaf: number;
  /** For the JetStream subsystem, which enforces them; the untiered limits. */
  readonly jetstream: JetStreamLimits;
  /** Tier name (e.g. "R1") → limits, when the account uses tiers instead. */
  readonly tiered_limits: ReadonlyMap<string, JetStreamLimits>;
}

export type ExportKind = 'stream' | 'service';

/** An export of an account JWT (jwt's Export). */
export interface JwtExport {
  readonly name: string;
  readonly subject: string;
  /** 'stream' or 'service'; any other value as sent, lower-cased (validation refuses it). */
  readonly type: string;
  readonly token_req: boolean;
  /** Importing account (or `*`) → Unix seconds: activations issued up to it are revoked. */
  readonly revocations: ReadonlyMap<string, number>;
  /** "Singleton", "Stream", "Chunked" or '' (Singleton). */
  readonly response_type: string;
  /** Nanoseconds (a Go time.Duration); 0 for the default. */
  readonly response_threshold: number;
  readonly account_token_position: number;
  readonly advertise: boolean;
}

/** An import of an account JWT (jwt's Import). */
export interface JwtImport {
  readonly name: string;
  /** The subject as the publisher sees it (the exporter's for streams, the requester's for services). */
  readonly subject: string;
  readonly account: string;
  /** An activation JWT, when the export requires one. */
  readonly token: string;
  /** Deprecated: a stream's prefix, or a service's subject in the exporter. */
  readonly to: string;
  readonly local_subject: string;
  readonly type: string;
  readonly share: boolean;
}

export interface AccountNats {
  /** Signing keys by public key; null for an unscoped key. */
  readonly signing_keys: ReadonlyMap<string, UserScope | null>;
  readonly limits: AccountLimits;
  /** User (or `*`) → Unix seconds: users issued at or before it are revoked. */
  readonly revocations: ReadonlyMap<string, number>;
  /** For users whose JWT has no permissions of its own. */
  readonly default_permissions: JwtPermissions;
  /** `limits.disallow_bearer` (where nats-io/jwt puts it), or the same flag directly under `nats`. */
  readonly disallow_bearer: boolean;
  readonly exports: readonly JwtExport[];
  readonly imports: readonly JwtImport[];
  /** Account tags, for `{{account-tag(name)}}` in scope templates. */
  readonly tags: readonly string[];
}

export interface AccountClaims extends ClaimsData {
  readonly nats: AccountNats;
}

/** An activation: the exporting account lets `sub` (an account) import `subject`. */
export interface ActivationClaims extends ClaimsData {
  readonly nats: {
    readonly subject: string;
    /** 'stream' or 'service' (jwt's `kind`). */
    readonly kind: string;
    /** The exporting account when one of its signing keys issued this; '' otherwise. */
    readonly issuer_account: string;
  };
}

// ---- typed reading -------------------------------------------------------------

type Obj = Readonly<Record<string, unknown>>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function obj(o: Obj, key: string, where: string): Obj {
  const v = o[key];
  if (v === undefined || v === null) return {};
  if (!isObj(v)) throw new JwtError(`${where}.${key} must be an object`);
  return v;
}

function str(o: Obj, key: string, where: string): string {
  const v = o[key];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new JwtError(`${where}.${key} must be a string`);
  return v;
}

function int(o: Obj, key: string, where: string): number {
  const v = o[key];
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new JwtError(`${where}.${key} must be an integer`);
  return v;
}

function bool(o: Obj, key: string, where: string): boolean {
  const v = o[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new JwtError(`${where}.${key} must be a boolean`);
  return v;
}

function strList(o: Obj, key: string, where: string): string[] | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    throw new JwtError(`${where}.${key} must be an array of strings`);
  }
  return v as string[];
}

function list(o: Obj, key: string, where: string): readonly unknown[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new JwtError(`${where}.${key} must be an array`);
  return v;
}

function claimsData(p: Obj): ClaimsData {
  // `aud` is a string in NATS JWTs; nats-io/jwt ignores other forms.
  return {
    jti: str(p, 'jti', 'claims'),
    iat: int(p, 'iat', 'claims'),
    iss: str(p, 'iss', 'claims'),
    sub: str(p, 'sub', 'claims'),
    name: str(p, 'name', 'claims'),
    aud: typeof p.aud === 'string' ? p.aud : '',
    exp: int(p, 'exp', 'claims'),
    nbf: int(p, 'nbf', 'claims'),
  };
}

function permission(o: Obj, key: string, where: string): Permission {
  const p = obj(o, key, where);
  return { allow: strList(p, 'allow', `${where}.${key}`), deny: strList(p, 'deny', `${where}.${key}`) };
}

function jwtPermissions(n: Obj, where: string): JwtPermissions {
  const resp = n.resp === undefined || n.resp === null ? null : obj(n, 'resp', where);
  return {
    pub: permission(n, 'pub', where),
    sub: permission(n, 'sub', where),
    resp: resp === null ? null : { max: int(resp, 'max', `${where}.resp`), ttl: int(resp, 'ttl', `${where}.resp`) },
  };
}

function userPermissionLimits(n: Obj, where: string): UserPermissionLimits {
  // `src` is a list in current JWTs and a comma-separated string in older ones.
  let src: string[];
  if (typeof n.src === 'string') src = n.src === '' ? [] : n.src.split(',').map((s) => s.trim());
  else src = strList(n, 'src', where) ?? [];
  const times = list(n, 'times', where).map((t, i) => {
    if (!isObj(t)) throw new JwtError(`${where}.times[${i}] must be an object`);
    return { start: str(t, 'start', `${where}.times[${i}]`), end: str(t, 'end', `${where}.times[${i}]`) };
  });
  return {
    ...jwtPermissions(n, where),
    src,
    times,
    times_location: str(n, 'times_location', where),
    subs: int(n, 'subs', where),
    data: int(n, 'data', where),
    payload: int(n, 'payload', where),
    bearer_token: bool(n, 'bearer_token', where),
    allowed_connection_types: strList(n, 'allowed_connection_types', where) ?? [],
  };
}

function revocationMap(o: Obj, where: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of Object.entries(o)) {
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new JwtError(`${where}.${k} must be an integer`);
    out.set(k, v);
  }
  return out;
}

function jetStreamLimits(l: Obj, where: string): JetStreamLimits {
  return {
    mem_storage: int(l, 'mem_storage', where),
    disk_storage: int(l, 'disk_storage', where),
    streams: int(l, 'streams', where),
    consumer: int(l, 'consumer', where),
    max_ack_pending: int(l, 'max_ack_pending', where),
    mem_max_stream_bytes: int(l, 'mem_max_stream_bytes', where),
    disk_max_stream_bytes: int(l, 'disk_max_stream_bytes', where),
    max_bytes_required: bool(l, 'max_bytes_required', where),
  };
}

function entries(n: Obj, key: string, where: string): Array<[Obj, string]> {
  return list(n, key, where).map((e, i) => {
    const at = `${where}.${key}[${i}]`;
    if (!isObj(e)) throw new JwtError(`${at} must be an object`);
    return [e, at];
  });
}

function jwtExport(e: Obj, at: string): JwtExport {
  return {
    name: str(e, 'name', at),
    subject: str(e, 'subject', at),
    type: str(e, 'type', at).toLowerCase(),
    token_req: bool(e, 'token_req', at),
    revocations: revocationMap(obj(e, 'revocations', at), `${at}.revocations`),
    response_type: str(e, 'response_type', at),
    response_threshold: int(e, 'response_threshold', at),
    account_token_position: int(e, 'account_token_position', at),
    advertise: bool(e, 'advertise', at),
  };
}

function jwtImport(e: Obj, at: string): JwtImport {
  return {
    name: str(e, 'name', at),
    subject: str(e, 'subject', at),
    account: str(e, 'account', at),
    token: str(e, 'token', at),
    to: str(e, 'to', at),
    local_subject: str(e, 'local_subject', at),
    type: str(e, 'type', at).toLowerCase(),
    share: bool(e, 'share', at),
  };
}

function expectKind(d: DecodedJwt, kind: 'operator' | 'account' | 'user' | 'activation'): Obj {
  if (d.kind !== kind) throw new JwtError(`not ${kind === 'user' ? 'a' : 'an'} ${kind} JWT (type ${d.kind})`);
  return obj(d.payload, 'nats', 'claims');
}

/** Decodes and signature-checks an operator JWT (self-signed, or by one of its keys). */
export function decodeOperatorClaims(token: string): OperatorClaims {
  const d = decodeJwt(token);
  const n = expectKind(d, 'operator');
  const w = 'nats';
  return {
    ...claimsData(d.payload),
    nats: {
      signing_keys: strList(n, 'signing_keys', w) ?? [],
      system_account: str(n, 'system_account', w),
      account_server_url: str(n, 'account_server_url', w),
      assert_server_version: str(n, 'assert_server_version', w),
      strict_signing_key_usage: bool(n, 'strict_signing_key_usage', w),
    },
  };
}

/** Decodes and signature-checks an account JWT; whether its issuer is trusted is the caller's question. */
export function decodeAccountClaims(token: string): AccountClaims {
  const d = decodeJwt(token);
  const n = expectKind(d, 'account');
  const w = 'nats';
  const signingKeys = new Map<string, UserScope | null>();
  list(n, 'signing_keys', w).forEach((k, i) => {
    if (typeof k === 'string') {
      signingKeys.set(k, null);
    } else if (isObj(k)) {
      const where = `${w}.signing_keys[${i}]`;
      const kind = str(k, 'kind', where);
      if (kind !== 'user_scope') throw new JwtError(`${where}: unknown signing key kind ${JSON.stringify(kind)}`);
      const key = str(k, 'key', where);
      signingKeys.set(key, {
        kind,
        key,
        role: str(k, 'role', where),
        template: userPermissionLimits(obj(k, 'template', where), `${where}.template`),
      });
    } else {
      throw new JwtError(`${w}.signing_keys[${i}] must be a key or a scope`);
    }
  });
  const l = obj(n, 'limits', w);
  const lw = `${w}.limits`;
  const revocations = revocationMap(obj(n, 'revocations', w), `${w}.revocations`);
  const tiers = new Map<string, JetStreamLimits>();
  for (const [tier, t] of Object.entries(obj(l, 'tiered_limits', lw))) {
    if (!isObj(t)) throw new JwtError(`${lw}.tiered_limits.${tier} must be an object`);
    tiers.set(tier, jetStreamLimits(t, `${lw}.tiered_limits.${tier}`));
  }
  return {
    ...claimsData(d.payload),
    nats: {
      signing_keys: signingKeys,
      limits: {
        subs: int(l, 'subs', lw),
        data: int(l, 'data', lw),
        payload: int(l, 'payload', lw),
        imports: int(l, 'imports', lw),
        exports: int(l, 'exports', lw),
        wildcards: bool(l, 'wildcards', lw),
        conn: int(l, 'conn', lw),
        leaf: int(l, 'leaf', lw),
        jetstream: jetStreamLimits(l, lw),
        tiered_limits: tiers,
      },
      revocations,
      default_permissions: jwtPermissions(obj(n, 'default_permissions', w), `${w}.default_permissions`),
      disallow_bearer: bool(l, 'disallow_bearer', lw) || bool(n, 'disallow_bearer', w),
      exports: entries(n, 'exports', w).map(([e, at]) => jwtExport(e, at)),
      imports: entries(n, 'imports', w).map(([e, at]) => jwtImport(e, at)),
      tags: strList(n, 'tags', w) ?? [],
    },
  };
}

/** Decodes and signature-checks an activation JWT (issued by an account key). */
export function decodeActivationClaims(token: string): ActivationClaims {
  const d = decodeJwt(token);
  const n = expectKind(d, 'activation');
  const w = 'nats';
  return {
    ...claimsData(d.payload),
    nats: { subject: str(n, 'subject', w), kind: str(n, 'kind', w).toLowerCase(), issuer_account: str(n, 'issuer_account', w) },
  };
}

/** Decodes and signature-checks a user JWT (issued by an account key). */
export function decodeUserClaims(token: string): UserClaims {
  const d = decodeJwt(token);
  const n = expectKind(d, 'user');
  let limits = userPermissionLimits(n, 'nats');
  // A JWT without nats.version is version 1, whose missing limits mean no
  // limit (nats-io/jwt fills them with NoLimit before decoding); version 2
  // writes every limit, so a missing one there is Go's zero value.
  if (n.version === undefined || n.version === 1) {
    const unset = (k: string): boolean => n[k] === undefined || n[k] === null;
    limits = { ...limits, subs: unset('subs') ? -1 : limits.subs, data: unset('data') ? -1 : limits.data, payload: unset('payload') ? -1 : limits.payload };
  }
  return {
    ...claimsData(d.payload),
    nats: {
      ...limits,
      issuer_account: str(n, 'issuer_account', 'nats'),
      tags: strList(n, 'tags', 'nats') ?? [],
    },
  };
}

// ---- validation ------------------------------------------------------------------

/** nats-io/jwt's time checks; `now` in Unix seconds. */
export function timeProblems(c: ClaimsData, now: number): string[] {
  const out: string[] = [];
  if (c.exp > 0 && now > c.exp) out.push('claim is expired');
  if (c.nbf > 0 && c.nbf > now) out.push('claim is not yet valid');
  return out;
}

/** Go's "15:04:05" layout: the hour may have one digit, minutes and seconds have two. */
const TIME_OF_DAY = /^([01]?\d|2[0-3]):[0-5]\d:[0-5]\d$/;

/** Whether `zone` is an IANA time zone name this runtime knows. */
export function isKnownTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Parses a CIDR ("10.0.0.0/8", "::1/128"); null when it is not one. */
export function parseCidr(cidr: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | null {
  const slash = cidr.indexOf('/');
  if (slash < 0) return null;
  const address = cidr.slice(0, slash);
  const bits = cidr.slice(slash + 1);
  const v = isIP(address);
  if (v === 0 || !/^\d{1,3}$/.test(bits)) return null;
  const prefix = Number(bits);
  if (prefix > (v === 4 ? 32 : 128)) return null;
  return { address, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}

/*
 * Permission subjects are not checked: nats-server 2.9.10 admits a user whose
 * JWT allows "a..b" (such an entry just never matches), so refusing it here
 * would refuse clients nats-server lets in.
 */
function limitsProblems(l: UserPermissionLimits): string[] {
  const out: string[] = [];
  for (const cidr of l.src) if (parseCidr(cidr) === null) out.push(`invalid cidr ${JSON.stringify(cidr)}`);
  for (const t of l.times) {
    if (!TIME_OF_DAY.test(t.start)) out.push(`time range start ${JSON.stringify(t.start)} is not H:MM:SS`);
    if (!TIME_OF_DAY.test(t.end)) out.push(`time range end ${JSON.stringify(t.end)} is not H:MM:SS`);
  }
  if (l.times_location !== '' && !isKnownTimeZone(l.times_location)) {
    out.push(`could not parse time zone ${JSON.stringify(l.times_location)}`);
  }
  return out;
}

/** Blocking problems of user claims at `now` (Unix seconds). */
export function validateUserClaims(c: UserClaims, now: number): string[] {
  const out = timeProblems(c, now);
  if (!isPublicKeyOf(c.sub, NKEY_PREFIX_USER)) out.push(`subject ${JSON.stringify(c.sub)} is not a public user key`);
  if (c.nats.issuer_account !== '' && !isPublicKeyOf(c.nats.issuer_account, NKEY_PREFIX_ACCOUNT)) {
    out.push(`account_id ${JSON.stringify(c.nats.issuer_account)} is not a valid account public key`);
  }
  out.push(...limitsProblems(c.nats));
  return out;
}

/** jwt's Subject.IsContainedIn: every subject `s` matches is also matched by `other`. */
function isContainedIn(s: string, other: string): boolean {
  const o = other.split('.');
  const m = s.split('.');
  if (m.length > o.length && o[o.length - 1] !== '>') return false;
  if (m.length < o.length) return false;
  for (let i = 0; i < o.length; i++) {
    if (i === o.length - 1 && o[i] === '>') return true;
    if (o[i] !== m[i] && o[i] !== '*') return false;
  }
  return true;
}

function subjectProblems(subject: string): string[] {
  if (subject === '') return ['subject cannot be empty'];
  return subject.includes(' ') ? [`subject ${JSON.stringify(subject)} cannot have spaces`] : [];
}

const hasWildcards = (subject: string): boolean => subject.split('.').some((t) => t === '*' || t === '>');
const RESPONSE_TYPES: ReadonlySet<string> = new Set(['', 'Singleton', 'Stream', 'Chunked']);
const EXPORT_KINDS: ReadonlySet<string> = new Set(['stream', 'service']);

/** jwt's Export.Validate, Exports.Validate and the account's export limits. */
function exportProblems(exports: readonly JwtExport[], limits: AccountLimits): string[] {
  const out: string[] = [];
  for (const e of exports) {
    if (!EXPORT_KINDS.has(e.type)) out.push(`invalid export type: ${JSON.stringify(e.type)}`);
    if (e.type === 'service' && !RESPONSE_TYPES.has(e.response_type)) out.push(`invalid response type for service: ${JSON.stringify(e.response_type)}`);
    if (e.type === 'stream' && e.response_type !== '') out.push(`invalid response type for stream: ${JSON.stringify(e.response_type)}`);
    if (e.response_threshold < 0) out.push('negative response threshold is invalid');
    if (e.response_threshold > 0 && e.type !== 'service') out.push('response threshold only valid for services');
    out.push(...subjectProblems(e.subject));
    if (e.account_token_position > 0) {
      const tokens = e.subject.split('.');
      if (!hasWildcards(e.subject)) out.push(`Account Token Position can only be used with wildcard subjects: ${e.subject}`);
      else if (e.account_token_position > tokens.length) out.push(`Account Token Position ${e.account_token_position} exceeds length of subject '${e.subject}'`);
      else if (tokens[e.account_token_position - 1] !== '*') out.push(`Account Token Position ${e.account_token_position} matches '${tokens[e.account_token_position - 1]}' but must match a * in: ${e.subject}`);
    }
  }
  for (const kind of EXPORT_KINDS) {
    const subjects = exports.filter((e) => (kind === 'service') === (e.type === 'service')).map((e) => e.subject);
    const reported = new Set<string>();
    subjects.forEach((s, i) => subjects.forEach((other, j) => {
      if (i !== j && isContainedIn(s, other) && !reported.has(other)) {
        reported.add(other);
        out.push(`${kind} export subject ${JSON.stringify(other)} already exports ${JSON.stringify(s)}`);
      }
    }));
  }
  if (limits.exports !== -1) {
    if (exports.length > limits.exports) out.push('the account contains more exports than allowed by the operator');
    if (!limits.wildcards && exports.some((e) => hasWildcards(e.subject))) {
      out.push('the account contains wildcard exports that are not allowed by the operator');
    }
  }
  return out;
}

/** jwt's Import.Validate (activation times are checked when the import is used, not here). */
function importProblems(i: JwtImport, account: string): string[] {
  const out: string[] = [];
  if (!EXPORT_KINDS.has(i.type)) out.push(`invalid import type: ${JSON.stringify(i.type)}`);
  if (i.account === '') out.push('account to import from is not specified');
  out.push(...subjectProblems(i.subject));
  if (i.local_subject !== '') {
    out.push(...subjectProblems(i.local_subject));
    if (i.to !== '') out.push('Local Subject replaces To');
  }
  if (i.share && i.type !== 'service') out.push(`sharing information (for latency tracking) is only valid for services: ${JSON.stringify(i.subject)}`);
  if (i.token === '') return out;
  let act: ActivationClaims;
  try {
    act = decodeActivationClaims(i.token);
  } catch {
    out.push(`import ${JSON.stringify(i.subject)} contains an invalid activation token`);
    return out;
  }
  if (act.iss !== i.account && act.nats.issuer_account !== i.account) out.push(`activation token doesn't match account for import ${JSON.stringify(i.subject)}`);
  if (act.sub !== account) out.push(`activation token doesn't match account it is being included in, ${JSON.stringify(i.subject)}`);
  if (act.nats.kind !== i.type) out.push(`mismatch between token import type ${act.nats.kind} and type of import ${i.type}`);
  if (act.nats.issuer_account !== '' && !isPublicKeyOf(act.nats.issuer_account, NKEY_PREFIX_ACCOUNT)) out.push('account_id is not an account public key');
  const subject = i.type === 'service' && i.to !== '' ? i.to : i.subject;
  if (!isContainedIn(subject, act.nats.subject)) {
    out.push(`activation token import subject ${JSON.stringify(act.nats.subject)} doesn't match import ${JSON.stringify(i.subject)}`);
  }
  return out;
}

/** jwt's Imports.Validate: service imports may not share a local subject space; and the import limit. */
function importsProblems(imports: readonly JwtImport[], account: string, limits: AccountLimits): string[] {
  const out: string[] = [];
  const locals: string[] = [];
  for (const i of imports) {
    if (i.type === 'service') {
      const local = i.to !== '' ? i.to : i.local_subject !== '' ? i.local_subject : i.subject;
      for (const k of locals) {
        if (isContainedIn(local, k) || isContainedIn(k, local)) out.push(`overlapping subject namespace for ${JSON.stringify(local)} and ${JSON.stringify(k)}`);
      }
      locals.push(local);
    }
    out.push(...importProblems(i, account));
  }
  // nats-io/jwt checks this twice (once for non-empty limits), so nats-server reports it twice.
  if (!limitsEmpty(limits) && limits.imports >= 0 && imports.length > limits.imports) out.push('the account contains more imports than allowed by the operator');
  if (limits.imports !== -1 && imports.length > limits.imports) out.push('the account contains more imports than allowed by the operator');
  return out;
}

/** jwt's OperatorLimits.IsEmpty: every limit at Go's zero value. */
function limitsEmpty(l: AccountLimits): boolean {
  const js = l.jetstream;
  return l.subs === 0 && l.data === 0 && l.payload === 0 && l.imports === 0 && l.exports === 0 && !l.wildcards && l.conn === 0 && l.leaf === 0 &&
    js.mem_storage === 0 && js.disk_storage === 0 && js.streams === 0 && js.consumer === 0 && js.max_ack_pending === 0 &&
    js.mem_max_stream_bytes === 0 && js.disk_max_stream_bytes === 0 && !js.max_bytes_required && l.tiered_limits.size === 0;
}

/** Blocking problems of account claims at `now` (Unix seconds). */
export function validateAccountClaims(c: AccountClaims, now: number): string[] {
  const out = timeProblems(c, now);
  if (!isPublicKeyOf(c.sub, NKEY_PREFIX_ACCOUNT)) out.push(`subject ${JSON.stringify(c.sub)} is not a public account key`);
  out.push(...importsProblems(c.nats.imports, c.sub, c.nats.limits));
  out.push(...exportProblems(c.nats.exports, c.nats.limits));
  for (const [key, scope] of c.nats.signing_keys) {
    if (!isPublicKeyOf(key, NKEY_PREFIX_ACCOUNT)) out.push(`${JSON.stringify(key)} is not an account public key`);
    if (scope !== null) out.push(...limitsProblems(scope.template));
  }
  return out;
}

/** Blocking problems of activation claims at `now` (Unix seconds). */
export function validateActivationClaims(c: ActivationClaims, now: number): string[] {
  const out = timeProblems(c, now);
  if (c.nats.issuer_account !== '' && !isPublicKeyOf(c.nats.issuer_account, NKEY_PREFIX_ACCOUNT)) out.push('account_id is not an account public key');
  return out;
}

/** Blocking problems of operator claims at `now` (Unix seconds). */
export function validateOperatorClaims(c: OperatorClaims, now: number): string[] {
  const out = timeProblems(c, now);
  if (!isPublicKeyOf(c.sub, NKEY_PREFIX_OPERATOR)) out.push(`subject ${JSON.stringify(c.sub)} is not an operator public key`);
  for (const key of c.nats.signing_keys) {
    if (!isPublicKeyOf(key, NKEY_PREFIX_OPERATOR)) out.push(`${JSON.stringify(key)} is not an operator public key`);
  }
  if (c.nats.system_account !== '' && !isPublicKeyOf(c.nats.system_account, NKEY_PREFIX_ACCOUNT)) {
    out.push(`${JSON.stringify(c.nats.system_account)} is not an account public key`);
  }
  return out;
}

/** nats-server's isRevoked: revoked when the entry (for the user or `*`) is at or after the JWT's issue time. */
export function isUserRevoked(revocations: ReadonlyMap<string, number>, user: string, issuedAt: number): boolean {
  if (revocations.size === 0) return false;
  const all = revocations.get(REVOKE_ALL);
  if (all !== undefined && all >= issuedAt) return true;
  const t = revocations.get(user);
  return t !== undefined && t >= issuedAt;
}

/** Whether `ip` is inside one of the CIDRs; an empty list allows every address. */
export function sourceAllowed(src: readonly string[], ip: string): boolean {
  if (src.length === 0) return true;
  // Dual-stack sockets report IPv4 peers as IPv4-mapped IPv6; Go's ParseIP reads them as IPv4.
  if (ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4) ip = ip.slice(7);
  const family = isIP(ip);
  if (family === 0) return false;
  const blocks = new BlockList();
  for (const cidr of src) {
    const c = parseCidr(cidr);
    if (c !== null) blocks.addSubnet(c.address, c.prefix, c.family);
  }
  return blocks.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}
