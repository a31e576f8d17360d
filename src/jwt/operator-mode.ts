/**
 * Operator mode: the trust chain operator → account → user, checked as
 * nats-server checks it.
 *
 *   operator: /path/to/operator.jwt      # or the JWT inline, or a list
 *   system_account: ADRN...              # else the operator's system_account
 *   resolver: MEMORY                     # or { type: full|cache, dir: ... } (resolver-config.ts)
 *   resolver_preload: { ACZS...: "eyJ0eXAi..." }
 *
 * Accounts are JWTs signed by a trusted key (the operator's identity key,
 * unless strict_signing_key_usage, and its signing keys), named by their
 * public keys as nats-server names them. They come from the preloads and,
 * with a directory resolver, from the directory (preloads are stored there
 * unless a newer JWT is); claim updates (claim-services.ts) replace them
 * while the server runs, and a listener (live-accounts.ts) applies each
 * change to the live server.
 *
 * A client proves itself with CONNECT `jwt` (a user JWT issued by the
 * account or one of its signing keys) and `sig` (the INFO nonce signed by
 * the user's key; bearer tokens skip it).
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
import { isPublicKeyOf, NKEY_PREFIX_ACCOUNT, NKEY_PREFIX_OPERATOR } from './jwt.js';
import { parseResolver } from './resolver-config.js';
import { openAccountSource, type AccountSource } from './account-source.js';
import { expandTemplate, TemplateError } from './scope-template.js';

/** The options operator mode reads; ServerOptions fits. */
export interface JwtModeOptions {
  /** JWT file path, inline JWT, or a list of them. */
  readonly operator?: unknown;
  /** Operator public keys trusted without an operator JWT (nats-server's trusted_keys). */
  readonly trusted_keys?: readonly string[];
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
  /** The user JWT's `iat`, for revocations. */
  readonly issuedAt: number;
  readonly bearer: boolean;
  /** The user's own `subs` and `payload` limits (or its scope's): -1 is unlimited. */
  readonly subsLimit: number;
  readonly payloadLimit: number;
}

/** Told about every account whose claims appear, change or go. */
export interface JwtAccountListener {
  /** `claims` null: the account was deleted; `previous` null: first loaded. */
  accountChanged(account: string, claims: AccountClaims | null, previous: AccountClaims | null): void;
}

export interface JwtAuthenticator {
  /** Account public keys to create: valid preloads, valid accounts of the directory, and the system account. */
  accounts(): string[];
  /** The system account's public key, from the config or the operator JWT; null when neither names one. */
  readonly systemAccount: string | null;
  /** Where account JWTs are kept. */
  readonly source: AccountSource;
  /** The verified claims of an account, loaded from the source on first use; null when unknown or not valid. */
  claimsOf(account: string): AccountClaims | null;
  /**
   * Checks an account JWT as a claim update must pass: decodes, validates
   * (without time checks, as nats-server), and requires a trusted issuer.
   * Throws ClaimUpdateError.
   */
  verifyUpdate(jwt: string): AccountClaims;
  /**
   * Stores verified claims and makes them current, telling the listener.
   * Throws ClaimUpdateError when the store refuses or the JWT is older than the current one.
   */
  applyUpdate(claims: AccountClaims, jwt: string): void;
  /** Removes an account (claim delete); its clients are told by the listener. */
  deleteAccount(account: string): void;
  /** Whether the operator forbids its identity key to issue accounts. */
  isStrictIssuer(issuer: string): boolean;
  /** Whether the key may sign operator requests (a key trusted to issue accounts). */
  isOperatorKey(key: string): boolean;
  /** Whether the account's claims are loaded (a cache resolver skips updates of others). */
  isLoaded(account: string): boolean;
  listen(listener: JwtAccountListener): void;
  /** Stops the source's timers. */
  close(): void;
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

/** Which check refused a claim update: replies name the account and word the context by it. */
export type ClaimUpdateStage = 'decode' | 'strict' | 'validate' | 'trust' | 'store';

/** A refused claim update: `reason` is the cause, as the reply's description ends. */
export class ClaimUpdateError extends Error {
  constructor(readonly stage: ClaimUpdateStage, readonly reason: string) {
    super(reason);
    this.name = 'ClaimUpdateError';
  }
}

/** nats-server's test for an inline JWT when no file has the name. */
const JWT_PREFIX = 'eyJ';

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

/** The configured trusted operators' claims (`operator`), for the start-up log; none outside operator mode. Throws as the server would. */
export function trustedOperatorClaims(options: JwtModeOptions): OperatorClaims[] {
  return options.operator === undefined ? [] : operatorRefs(options.operator).map(readOperator);
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
  const keys = options.trusted_keys ?? [];
  if (options.operator === undefined && keys.length === 0) return null;
  const operators = options.operator === undefined ? [] : operatorRefs(options.operator).map(readOperator);
  if (operators.length === 0 && keys.length === 0) return null;
  if (operators.length > 0 && keys.length > 0) throw new OperatorConfigError("conflicting options for 'TrustedKeys' and 'TrustedOperators'");
  for (const k of keys) if (!isPublicKeyOf(k, NKEY_PREFIX_OPERATOR)) throw new OperatorConfigError(`trusted Keys ${JSON.stringify(k)} are not valid public operator Keys`);
  if (options.resolver === undefined) throw new OperatorConfigError('operators require an account resolver to be configured');
  const resolver = parseResolver(options.resolver);
  if (resolver.config === null) {
    throw new OperatorConfigError(resolver.problems.map((p) => (p.key === null ? p.message : `resolver ${p.key}: ${p.message}`)).join('; '));
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
  const strictIdentities = new Set<string>();
  for (const o of operators) {
    if (!o.nats.strict_signing_key_usage) trusted.add(o.sub);
    else strictIdentities.add(o.sub);
    for (const k of o.nats.signing_keys) trusted.add(k);
  }
  // A trusted key vouches for accounts as an operator's identity key would (no operator JWT: no signing keys, no strict usage).
  for (const k of keys) trusted.add(k);
  const preloads = loadPreloads(options.resolver_preload, trusted, logger);
  let source: AccountSource;
  try {
    source = openAccountSource(resolver.config);
  } catch (e) {
    throw new OperatorConfigError(`resolver: ${(e as Error).message}`);
  }
  try {
    for (const [key, p] of preloads) source.preload(key, p.jwt);
  } catch (e) {
    source.close();
    throw new OperatorConfigError(`resolver_preload: ${(e as Error).message}`);
  }
  return new OperatorMode({ trusted, strictIdentities, source, systemAccount: systemAccount === '' ? null : systemAccount, logger });
}

function loadPreloads(preload: unknown, trusted: ReadonlySet<string>, logger: Logger): Map<string, { claims: AccountClaims; jwt: string }> {
  const out = new Map<string, { claims: AccountClaims; jwt: string }>();
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
    out.set(key, { claims, jwt: token.trim() });
  }
  return out;
}

interface OperatorModeSetup {
  /** Keys that may issue accounts. */
  readonly trusted: ReadonlySet<string>;
  /** Operator identity keys that strict_signing_key_usage keeps from issuing accounts. */
  readonly strictIdentities: ReadonlySet<string>;
  readonly source: AccountSource;
  readonly systemAccount: string | null;
  readonly logger: Logger;
}

class OperatorMode implements JwtAuthenticator {
  readonly systemAccount: string | null;
  readonly source: AccountSource;
  private readonly trusted: ReadonlySet<string>;
  private readonly strictIdentities: ReadonlySet<string>;
  private readonly logger: Logger;
  /** Accounts loaded so far, by public key. */
  private readonly claims = new Map<string, AccountClaims>();
  /** Compiled default permissions per account, built on first use. */
  private readonly defaults = new Map<string, Permissions | null>();
  private readonly listeners: JwtAccountListener[] = [];

  constructor(setup: OperatorModeSetup) {
    this.trusted = setup.trusted;
    this.strictIdentities = setup.strictIdentities;
    this.source = setup.source;
    this.systemAccount = setup.systemAccount;
    this.logger = setup.logger;
    for (const key of this.source.list()) this.claimsOf(key);
  }

  accounts(): string[] {
    const keys = [...this.claims.keys()];
    if (this.systemAccount !== null && !this.claims.has(this.systemAccount)) keys.push(this.systemAccount);
    return keys;
  }

  listen(listener: JwtAccountListener): void {
    this.listeners.push(listener);
  }

  close(): void {
    this.source.close();
    this.listeners.length = 0;
  }

  isStrictIssuer(issuer: string): boolean {
    return this.strictIdentities.has(issuer);
  }

  isOperatorKey(key: string): boolean {
    return this.trusted.has(key);
  }

  isLoaded(account: string): boolean {
    return this.claims.has(account);
  }

  claimsOf(account: string): AccountClaims | null {
    const known = this.claims.get(account);
    if (known !== undefined) return known;
    const jwt = this.source.fetch(account);
    if (jwt === null) return null;
    let claims: AccountClaims;
    try {
      claims = decodeAccountClaims(jwt.trim());
    } catch (e) {
      this.logger.error(`Account [${account}] JWT not valid: ${(e as Error).message}`);
      return null;
    }
    if (claims.sub !== account || !this.trusted.has(claims.iss)) {
      this.logger.error(`Account [${account}] JWT not valid: ${claims.sub !== account ? `the JWT is for account ${claims.sub}` : 'not signed by a trusted operator key'}`);
      return null;
    }
    // As with preloads: times are checked at each connect, anything else refuses the account.
    const problems = validateAccountClaims({ ...claims, exp: 0, nbf: 0 }, nowSeconds());
    if (problems.length > 0) {
      this.logger.error(`Account [${account}] JWT not valid: ${problems.join('; ')}`);
      return null;
    }
    this.claims.set(account, claims);
    for (const l of this.listeners) l.accountChanged(account, claims, null);
    return claims;
  }

  verifyUpdate(jwt: string): AccountClaims {
    let claims: AccountClaims;
    try {
      claims = decodeAccountClaims(jwt);
    } catch (e) {
      throw new ClaimUpdateError('decode', (e as Error).message);
    }
    if (this.strictIdentities.has(claims.iss)) throw new ClaimUpdateError('strict', 'operator requires issuer to be a signing key');
    // nats-server checks validity but not times here: an expired account is stored and refused at connect.
    const problems = validateAccountClaims({ ...claims, exp: 0, nbf: 0 }, nowSeconds());
    if (problems.length > 0) throw new ClaimUpdateError('validate', `validation errors: [${problems.join(' ')}]`);
    if (!this.trusted.has(claims.iss)) throw new ClaimUpdateError('trust', 'not signed by a trusted operator key');
    return claims;
  }

  applyUpdate(claims: AccountClaims, jwt: string): void {
    const previous = this.claimsOf(claims.sub);
    // A JWT issued before the current one would undo later changes (a revocation, say).
    if (previous !== null && claims.iat < previous.iat) {
      throw new ClaimUpdateError('store', `jwt issued at ${claims.iat} is older than the current one (issued at ${previous.iat})`);
    }
    try {
      this.source.store(claims.sub, jwt);
    } catch (e) {
      throw new ClaimUpdateError('store', (e as Error).message);
    }
    this.claims.set(claims.sub, claims);
    this.defaults.delete(claims.sub);
    for (const l of this.listeners) l.accountChanged(claims.sub, claims, previous);
  }

  deleteAccount(account: string): void {
    const previous = this.claims.get(account) ?? null;
    this.source.delete(account);
    this.claims.delete(account);
    this.defaults.delete(account);
    for (const l of this.listeners) l.accountChanged(account, null, previous);
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
    const account = this.claimsOf(accountKey);
    if (account === null) return this.refuse(`Account JWT lookup error: account ${accountKey} not found`);
    // nats-server marks an account expired once `exp` is reached (its timer fires then), not after it.
    if (timeProblems(account, now).length > 0 || (account.exp > 0 && account.exp <= now)) return this.refuse('Account JWT has expired');
    let limits: UserPermissionLimits = user.nats;
    if (user.iss !== account.sub) {
      if (!account.nats.signing_keys.has(user.iss)) return this.refuse('User JWT issuer is not known');
      const scope = account.nats.signing_keys.get(user.iss) ?? null;
      if (scope !== null) {
        if (!hasEmptyPermissions(user.nats)) return this.refuse('User JWT is not valid: scoped users require no permissions or limits set');
        try {
          limits = expandTemplate(scope.template, {
            userName: user.name,
            userKey: user.sub,
            userTags: user.nats.tags,
            accountName: account.name,
            accountKey: user.nats.issuer_account,
            accountTags: account.nats.tags,
          });
        } catch (e) {
          if (!(e instanceof TemplateError)) throw e;
          return this.refuse('User JWT generated invalid permissions');
        }
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
      signingKey: user.iss !== account.sub ? user.iss : '',
      expiresAt: ends.length === 0 ? null : Math.min(...ends),
      issuedAt: user.iat,
      bearer: limits.bearer_token,
      subsLimit: limits.subs,
      payloadLimit: limits.payload,
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
