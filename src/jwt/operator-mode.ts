/**
 * Operator mode with the MEMORY resolver: the trust chain operator →
 * account → user, checked as nats-server checks it.
 *
 *   operator: /path/to/operator.jwt      # or the JWT inline, or a list
 *   system_account: ADRN...              # else the operator's system_account
 *   resolver: MEMORY
 *   resolver_preload: { ACZS...: "eyJ0eXAi..." }
 *
 * Accounts are the preloaded JWTs signed by a trusted key (the operator's
 * identity key, unless strict_signing_key_usage, and its signing keys),
 * named by their public keys as nats-server names them. A client proves
 * itself with CONNECT `jwt` (a user JWT issued by the account or one of its
 * signing keys) and `sig` (the INFO nonce signed by the user's key; bearer
 * tokens skip it).
 */
import { readFileSync } from 'node:fs';
import { CONNECTION_TYPES, type AuthenticatedUser } from '../auth/users.js';
import {
  DEFAULT_ALLOW_RESPONSE_EXPIRES_MS,
  DEFAULT_ALLOW_RESPONSE_MAX_MSGS,
  Permissions,
  type PermissionsConfig,
  type SubjectPermissionConfig,
} from '../auth/permissions.js';
import { userKeyVerifier, verifyNonceSignature } from '../auth/nkey.js';
import type { Logger } from '../log/logger.js';
import {
  decodeAccountClaims,
  decodeOperatorClaims,
  decodeUserClaims,
  isUserRevoked,
  sourceAllowed,
  timeProblems,
  validateAccountClaims,
  validateOperatorClaims,
  validateUserClaims,
  type AccountClaims,
  type JwtPermissions,
  type OperatorClaims,
  type Permission,
  type UserClaims,
  type UserPermissionLimits,
} from './claims.js';
import { parseDecoratedJwt } from './creds.js';
import { isPublicKeyOf, NKEY_PREFIX_ACCOUNT } from './jwt.js';

/** The options operator mode reads; ServerOptions fits. */
export interface JwtModeOptions {
  /** JWT file path, inline JWT, or a list of them. */
  readonly operator?: unknown;
  readonly resolver?: unknown;
  /** Account public key → account JWT. */
  readonly resolver_preload?: unknown;
  readonly system_account?: string;
  /** Set only to be refused: operator mode takes no configured accounts or users. */
  readonly accounts?: unknown;
  readonly authorization?: unknown;
}

/** A client authenticated by a user JWT. */
export interface JwtAuthenticatedUser extends AuthenticatedUser {
  readonly kind: 'nkey';
  /** The user's public key. */
  readonly name: string;
  /** The account's public key. */
  readonly account: string;
  /** The account signing key that issued the user; '' when the account key did. */
  readonly signingKey: string;
  /**
   * Date.now() at which the connection must end: the JWT's `exp` or the end
   * of its connect-time window, whichever is first; null for never.
   */
  readonly expiresAt: number | null;
}

export interface JwtAuthenticator {
  /** Account public keys to create: valid preloads and the system account. */
  accounts(): string[];
  /** The system account's public key, from the config or the operator JWT; null when neither names one. */
  readonly systemAccount: string | null;
  /**
   * Who a CONNECT makes the client, or null for 'Authorization Violation'.
   * `nonce` is what INFO carried; `clientIp` the peer address (for `src`);
   * `connectionType` one of CONNECTION_TYPES.
   */
  authenticate(
    connect: Readonly<Record<string, unknown>>,
    nonce: string | null,
    clientIp?: string,
    connectionType?: string,
  ): Promise<JwtAuthenticatedUser | null>;
}

/** Thrown for a configuration nats-server would refuse to start with. */
export class OperatorConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OperatorConfigError';
  }
}

/** nats-server's test for an inline JWT when no file has the name. */
const JWT_PREFIX = 'eyJ';
/** nats-server matches the resolver keyword case-insensitively; URL and full/cache resolvers come later. */
const MEMORY_RESOLVER = /^\s*(MEM|MEMORY)\s*$/i;

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function readOperator(ref: string): OperatorClaims {
  let text: string;
  try {
    text = readFileSync(ref, 'utf8');
  } catch (e) {
    if (!ref.startsWith(JWT_PREFIX)) throw new OperatorConfigError(`error parsing operator JWT: ${(e as Error).message}`);
    text = ref;
  }
  let claims: OperatorClaims;
  try {
    claims = decodeOperatorClaims(parseDecoratedJwt(text));
  } catch (e) {
    throw new OperatorConfigError(`error parsing operator JWT: ${(e as Error).message}`);
  }
  // nats-server loads an operator JWT without checking its times; only its shape matters here.
  const problems = validateOperatorClaims({ ...claims, exp: 0, nbf: 0 }, nowSeconds());
  if (problems.length > 0) throw new OperatorConfigError(`error parsing operator JWT: ${problems.join('; ')}`);
  return claims;
}

function operatorRefs(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  throw new OperatorConfigError('operator must be a JWT file name, a JWT, or an array of them');
}

function hasEntries(v: unknown): boolean {
  return v !== null && typeof v === 'object' && Object.keys(v).length > 0;
}

function hasUsers(authorization: unknown): boolean {
  if (authorization === null || typeof authorization !== 'object') return false;
  // The single user/password of the block is not refused by nats-server, only the users list.
  return Object.keys(authorization).some((k) => k.toLowerCase() === 'users');
}

/**
 * The JWT authenticator for these options, or null when no operator is
 * configured (operator mode is off). Throws OperatorConfigError for what
 * nats-server refuses at start; logs (as nats-server does) preloaded
 * accounts that cannot be used.
 */
export function createJwtAuthenticator(options: JwtModeOptions, logger: Logger): JwtAuthenticator | null {
  if (options.operator === undefined) return null;
  const operators = operatorRefs(options.operator).map(readOperator);
  if (operators.length === 0) return null;
  if (options.resolver === undefined) throw new OperatorConfigError('operators require an account resolver to be configured');
  if (typeof options.resolver !== 'string' || !MEMORY_RESOLVER.test(options.resolver)) {
    throw new OperatorConfigError('only the MEMORY account resolver is supported so far');
  }
  if (hasEntries(options.accounts)) throw new OperatorConfigError('operators do not allow Accounts to be configured directly');
  if (hasUsers(options.authorization)) throw new OperatorConfigError('operators do not allow users to be configured directly');

  let systemAccount = options.system_account ?? '';
  if (systemAccount !== '') {
    const named = operators.filter((o) => o.nats.system_account !== '');
    if (named.length > 0 && !named.some((o) => o.nats.system_account === systemAccount)) {
      throw new OperatorConfigError('system_account in config and operator JWT must be identical');
    }
  } else if (operators.length === 1) {
    systemAccount = operators[0].nats.system_account;
  }
  if (systemAccount !== '' && !isPublicKeyOf(systemAccount, NKEY_PREFIX_ACCOUNT)) {
    throw new OperatorConfigError(`system_account ${JSON.stringify(systemAccount)} is not an account public key`);
  }

  // Operator subjects and signing keys are operator nkeys: readOperator validated them.
  const trusted = new Set<string>();
  for (const o of operators) {
    if (!o.nats.strict_signing_key_usage) trusted.add(o.sub);
    for (const k of o.nats.signing_keys) trusted.add(k);
  }
  const accounts = loadPreloads(options.resolver_preload, trusted, logger);
  return new MemoryJwtAuthenticator(accounts, systemAccount === '' ? null : systemAccount, logger);
}

function loadPreloads(preload: unknown, trusted: ReadonlySet<string>, logger: Logger): Map<string, AccountClaims> {
  const out = new Map<string, AccountClaims>();
  if (preload === undefined) return out;
  if (preload === null || typeof preload !== 'object' || Array.isArray(preload)) {
    throw new OperatorConfigError('resolver_preload must be a map of account public keys to account JWTs');
  }
  for (const [key, token] of Object.entries(preload)) {
    if (typeof token !== 'string') throw new OperatorConfigError(`preload map value should be a string JWT (account ${key})`);
    let claims: AccountClaims;
    try {
      claims = decodeAccountClaims(token.trim());
    } catch (e) {
      logger.error(`Preloaded account [${key}] not valid: ${(e as Error).message}`);
      continue;
    }
    if (claims.sub !== key) {
      logger.error(`Preloaded account [${key}] not valid: the JWT is for account ${claims.sub}`);
      continue;
    }
    if (!trusted.has(claims.iss)) {
      logger.error(`Preloaded account [${key}] not valid: not signed by a trusted operator key`);
      continue;
    }
    const problems = validateAccountClaims(claims, nowSeconds());
    if (problems.length > 0) {
      logger.warn(`Account [${key}] has validation issues:`);
      for (const p of problems) logger.warn(`  - ${p}`);
    }
    // Expired (or not yet valid) accounts stay, as their times are checked at each
    // connect; any other problem makes nats-server refuse the account at every look-up.
    if (validateAccountClaims({ ...claims, exp: 0, nbf: 0 }, nowSeconds()).length > 0) continue;
    out.set(key, claims);
  }
  return out;
}

class MemoryJwtAuthenticator implements JwtAuthenticator {
  /** Compiled default permissions per account, built on first use. */
  private readonly defaults = new Map<string, Permissions | null>();

  constructor(
    private readonly claims: ReadonlyMap<string, AccountClaims>,
    readonly systemAccount: string | null,
    private readonly logger: Logger,
  ) {}

  accounts(): string[] {
    const keys = [...this.claims.keys()];
    if (this.systemAccount !== null && !this.claims.has(this.systemAccount)) keys.push(this.systemAccount);
    return keys;
  }

  // The work is synchronous (ed25519 is native and fast); async fits the server's auth seam
  // and turns an unexpected throw into a rejection, which the client handles as a refusal.
  async authenticate(
    connect: Readonly<Record<string, unknown>>,
    nonce: string | null,
    clientIp = '',
    connectionType = 'STANDARD',
  ): Promise<JwtAuthenticatedUser | null> {
    return this.check(connect, nonce, clientIp, connectionType);
  }

  private refuse(why: string): null {
    if (this.logger.debugEnabled) this.logger.debug(why);
    return null;
  }

  private check(
    connect: Readonly<Record<string, unknown>>,
    nonce: string | null,
    clientIp: string,
    connectionType: string,
  ): JwtAuthenticatedUser | null {
    const token = typeof connect.jwt === 'string' ? connect.jwt : '';
    if (token === '') return this.refuse('Authentication requires a user JWT');
    let user: UserClaims;
    try {
      user = decodeUserClaims(token);
    } catch (e) {
      return this.refuse(`User JWT not valid: ${(e as Error).message}`);
    }
    const now = nowSeconds();
    const problems = validateUserClaims(user, now);
    if (problems.length > 0) return this.refuse(`User JWT no longer valid: ${problems.join('; ')}`);
    if (!connectionTypeAllowed(user.nats.allowed_connection_types, connectionType)) {
      return this.refuse(`Connection type ${connectionType} not allowed`);
    }
    const accountKey = user.nats.issuer_account !== '' ? user.nats.issuer_account : user.iss;
    const account = this.claims.get(accountKey);
    if (account === undefined) return this.refuse(`Account JWT lookup error: account ${accountKey} not found`);
    if (timeProblems(account, now).length > 0) return this.refuse('Account JWT has expired');
    let limits: UserPermissionLimits = user.nats;
    if (user.iss !== account.sub) {
      if (!account.nats.signing_keys.has(user.iss)) return this.refuse('User JWT issuer is not known');
      const scope = account.nats.signing_keys.get(user.iss) ?? null;
      if (scope !== null) {
        if (!hasEmptyPermissions(user.nats)) return this.refuse('User JWT is not valid: scoped users require no permissions or limits set');
        if (usesTemplates(scope.template)) return this.refuse('User JWT is not valid: scope templates are not supported yet');
        limits = scope.template;
      }
    }
    if (limits.bearer_token && account.nats.disallow_bearer) return this.refuse('Account does not allow bearer token');
    if (!limits.bearer_token) {
      const sig = typeof connect.sig === 'string' ? connect.sig : '';
      if (sig === '') return this.refuse('Signature missing');
      // The subject is a user key (validated above), so the verifier is never null.
      const verifier = userKeyVerifier(user.sub);
      if (verifier === null || nonce === null || !verifyNonceSignature(verifier, nonce, sig)) return this.refuse('Signature not verified');
    }
    if (isUserRevoked(account.nats.revocations, user.sub, user.iat)) return this.refuse('User authentication revoked');
    if (!sourceAllowed(limits.src, clientIp)) {
      this.logger.error(`Bad src Ip ${clientIp}`);
      return null;
    }
    const window = connectWindow(limits, new Date());
    if (!window.allowed) {
      this.logger.error('Outside connect times');
      return null;
    }
    const ends = [user.exp > 0 ? user.exp * 1000 : null, window.endsAt].filter((t): t is number => t !== null);
    return {
      kind: 'nkey',
      name: user.sub,
      account: account.sub,
      permissions: this.permissionsFor(limits, account),
      signingKey: user.nats.issuer_account !== '' ? user.iss : '',
      expiresAt: ends.length === 0 ? null : Math.min(...ends),
    };
  }

  private permissionsFor(limits: JwtPermissions, account: AccountClaims): Permissions | null {
    const own = permissionsConfig(limits);
    if (own !== null) return new Permissions(own);
    let d = this.defaults.get(account.sub);
    if (d === undefined) {
      d = Permissions.compile(permissionsConfig(account.nats.default_permissions));
      this.defaults.set(account.sub, d);
    }
    return d;
  }
}

/**
 * nats-server's convertAllowedConnectionTypes + connectionTypeAllowed:
 * unknown types are ignored, but a list naming only unknown types admits nobody.
 */
function connectionTypeAllowed(types: readonly string[], connectionType: string): boolean {
  if (types.length === 0) return true;
  const known = types.map((t) => t.toUpperCase()).filter((t) => CONNECTION_TYPES.has(t));
  return known.length > 0 && known.includes(connectionType);
}

function isEmptyPermission(p: Permission): boolean {
  return (p.allow ?? []).length === 0 && (p.deny ?? []).length === 0;
}

/** jwt's HasEmptyPermissions: what a user issued by a scoped key must look like. */
function hasEmptyPermissions(l: UserPermissionLimits): boolean {
  return isEmptyPermission(l.pub) && isEmptyPermission(l.sub) && l.resp === null && l.src.length === 0 &&
    l.times.length === 0 && l.times_location === '' && l.subs === 0 && l.data === 0 && l.payload === 0 &&
    !l.bearer_token && l.allowed_connection_types.length === 0;
}

function usesTemplates(l: UserPermissionLimits): boolean {
  return [l.pub.allow, l.pub.deny, l.sub.allow, l.sub.deny].some((list) => (list ?? []).some((s) => s.includes('{{')));
}

function subjectConfig(p: Permission): SubjectPermissionConfig {
  return { allow: p.allow, deny: p.deny };
}

/**
 * nats-server's buildPermissionsFromJwt: a side counts only when it has
 * subjects; `resp` brings the defaults for 0 values and an (empty, so
 * closed) publish allow list when there is none.
 */
export function permissionsConfig(p: JwtPermissions): PermissionsConfig | null {
  const publish = isEmptyPermission(p.pub) ? null : subjectConfig(p.pub);
  const subscribe = isEmptyPermission(p.sub) ? null : subjectConfig(p.sub);
  if (p.resp === null) return publish === null && subscribe === null ? null : { publish, subscribe, response: null };
  return {
    publish: { allow: publish?.allow ?? [], deny: publish?.deny ?? null },
    subscribe,
    response: {
      maxMsgs: p.resp.max === 0 ? DEFAULT_ALLOW_RESPONSE_MAX_MSGS : p.resp.max,
      expiresMs: p.resp.ttl === 0 ? DEFAULT_ALLOW_RESPONSE_EXPIRES_MS : p.resp.ttl / 1e6,
    },
  };
}

/** Seconds since midnight of `at` in `zone` ('' for the server's local time). */
function secondsOfDay(at: Date, zone: string): number {
  if (zone === '') return at.getHours() * 3600 + at.getMinutes() * 60 + at.getSeconds() + at.getMilliseconds() / 1000;
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: zone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  }).formatToParts(at);
  const get = (t: string): number => Number(parts.find((p) => p.type === t)?.value ?? 0);
  return get('hour') * 3600 + get('minute') * 60 + get('second') + at.getMilliseconds() / 1000;
}

function parseTimeOfDay(s: string): number {
  const [h, m, sec] = s.split(':').map(Number);
  return h * 3600 + m * 60 + sec;
}

/**
 * nats-server's validateTimes: inside one of the ranges now, and until
 * when. A range whose start is after its end runs from the start to the
 * end on the next day (so, as in nats-server, only its part after the start
 * admits anyone).
 */
export function connectWindow(l: Pick<UserPermissionLimits, 'times' | 'times_location'>, at: Date): { allowed: boolean; endsAt: number | null } {
  if (l.times.length === 0) return { allowed: true, endsAt: null };
  const now = secondsOfDay(at, l.times_location);
  for (const t of l.times) {
    const start = parseTimeOfDay(t.start);
    let end = parseTimeOfDay(t.end);
    if (start > end) end += 24 * 3600;
    if (start < now && end > now) return { allowed: true, endsAt: at.getTime() + (end - now) * 1000 };
  }
  return { allowed: false, endsAt: null };
}
