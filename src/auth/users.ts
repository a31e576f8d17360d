/**
 * Users: the `authorization` block and the `users` lists of accounts, parsed
 * and validated with nats-server's rules and wording, and the runtime table
 * that checks CONNECT credentials against them.
 *
 *   authorization {
 *     token: "s3cr3t"                   # or a bcrypt hash; or
 *     user: alice, password: pw         # one user (password may be bcrypt); or
 *     users: [
 *       { user: bob, password: $2a$11$..., permissions: { ... } }
 *       { nkey: UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4 }
 *     ]
 *     default_permissions: { ... }      # for users without their own
 *     timeout: 2.5                      # seconds to send CONNECT
 *   }
 *
 * Keys are case-insensitive, with nats-server's aliases (username, pass,
 * permission, authorization, default_permission, ...).
 */
import type { KeyObject } from 'node:crypto';
import { GLOBAL_ACCOUNT } from '../accounts/names.js';
import { describe, Problems, type InEntry, type InNode } from './conf-input.js';
import { isValidPublicUserKey, userKeyVerifier, verifyNonceSignature } from './nkey.js';
import { isBcrypt, verifySecret } from './passwords.js';
import { parsePermissions, Permissions, type PermissionsConfig } from './permissions.js';

/** Connection types a user may be limited to (nats-server / JWT names). */
export const CONNECTION_TYPES: ReadonlySet<string> = new Set([
  'STANDARD',
  'WEBSOCKET',
  'LEAFNODE',
  'LEAFNODE_WS',
  'MQTT',
  'MQTT_WS',
]);

interface UserBase {
  /** The account the user belongs to: GLOBAL_ACCOUNT for the authorization block. */
  readonly account: string;
  /** Own permissions, else the block's default_permissions, else null (no restriction). */
  readonly permissions: PermissionsConfig | null;
  /** Upper-case connection types; null or empty means any. */
  readonly allowedConnectionTypes: ReadonlySet<string> | null;
}

export interface PasswordUser extends UserBase {
  readonly kind: 'password';
  readonly username: string;
  /** Plain text or a bcrypt hash; may be empty. */
  readonly password: string;
}

export interface NkeyUser extends UserBase {
  readonly kind: 'nkey';
  /** The user's public nkey (U...). */
  readonly nkey: string;
}

export type UserConfig = PasswordUser | NkeyUser;

export interface AuthorizationConfig {
  readonly token: string | null;
  /** The single user of `user`/`password`. */
  readonly user: string | null;
  readonly password: string | null;
  /** `timeout` in milliseconds; null when not set. */
  readonly timeoutMs: number | null;
  /** The `users` list; null when the block has none (an empty list is not null). */
  readonly users: readonly UserConfig[] | null;
  readonly defaultPermissions: PermissionsConfig | null;
}

// ---- parsing ----------------------------------------------------------------

/**
 * Parses a `users` list for an account. Users without permissions get
 * `defaultPermissions`. Problems are recorded; entries with problems are
 * left out.
 */
export function parseUsers(
  node: InNode,
  problems: Problems,
  account: string,
  defaultPermissions: PermissionsConfig | null,
): UserConfig[] {
  if (node.kind !== 'array') {
    problems.add(node, `Expected users field to be an array, got ${describe(node)}`);
    return [];
  }
  const out: UserConfig[] = [];
  for (const item of node.items) {
    const user = parseUser(item, problems, account, defaultPermissions);
    if (user !== null) out.push(user);
  }
  return out;
}

function parseUser(
  node: InNode,
  problems: Problems,
  account: string,
  defaultPermissions: PermissionsConfig | null,
): UserConfig | null {
  if (node.kind !== 'map') {
    problems.add(node, `Expected user entry to be a map/struct, got ${describe(node)}`);
    return null;
  }
  const before = problems.list.length;
  let nkey: string | undefined;
  let username: string | undefined;
  let password: string | undefined;
  let permissions: PermissionsConfig | null = null;
  let types: ReadonlySet<string> | null = null;
  let nkeyEntry: InEntry | undefined;
  for (const e of node.entries) {
    switch (e.key.toLowerCase()) {
      case 'nkey':
        nkey = problems.string(e);
        nkeyEntry = e;
        break;
      case 'user':
      case 'username':
        username = problems.string(e);
        break;
      case 'pass':
      case 'password':
        password = problems.string(e);
        break;
      case 'permission':
      case 'permissions':
      case 'authorization':
        permissions = parsePermissions(e.value, problems);
        break;
      case 'allowed_connection_types':
      case 'connection_types':
      case 'clients':
        types = parseConnectionTypes(e, problems);
        break;
      default:
        problems.unknownField(e);
    }
  }
  if (problems.list.length !== before) return null;
  const base = { account, permissions: permissions ?? defaultPermissions, allowedConnectionTypes: types };
  if ((nkey === undefined || nkey === '') && (username === undefined || username === '')) {
    problems.add(node, 'User entry requires a user');
    return null;
  }
  if (nkey !== undefined && nkey !== '') {
    if (!isValidPublicUserKey(nkey)) {
      problems.add(nkeyEntry?.value ?? node, 'Not a valid public nkey for a user');
      return null;
    }
    if ((username ?? '') !== '' || (password ?? '') !== '') {
      problems.add(node, 'Nkey users do not take usernames or passwords');
      return null;
    }
    return { kind: 'nkey', nkey, ...base };
  }
  return { kind: 'password', username: username ?? '', password: password ?? '', ...base };
}

function parseConnectionTypes(e: InEntry, problems: Problems): ReadonlySet<string> | null {
  const v = e.value;
  const names: string[] = [];
  if (v.kind === 'string') {
    names.push(v.value);
  } else if (v.kind === 'array') {
    for (const item of v.items) {
      if (item.kind !== 'string') {
        problems.add(item, `allowed connection types must be strings, got ${describe(item)}`);
        return null;
      }
      names.push(item.value);
    }
  } else {
    problems.add(v, `allowed connection types must be a string or an array of strings, got ${describe(v)}`);
    return null;
  }
  const upper = names.map((n) => n.toUpperCase());
  const unknown = upper.filter((n) => !CONNECTION_TYPES.has(n));
  if (unknown.length > 0) {
    problems.add(v, `invalid connection types [${unknown.map((n) => JSON.stringify(n)).join(' ')}]`);
    return null;
  }
  return new Set(upper);
}

/** Parses the `authorization` block (the users of the global account). */
export function parseAuthorization(node: InNode, problems: Problems): AuthorizationConfig {
  const empty: AuthorizationConfig = {
    token: null, user: null, password: null, timeoutMs: null, users: null, defaultPermissions: null,
  };
  if (node.kind !== 'map') {
    problems.add(node, `authorization must be a map, got ${describe(node)}`);
    return empty;
  }
  let token: string | null = null;
  let user: string | null = null;
  let password: string | null = null;
  let timeoutMs: number | null = null;
  let usersNode: InNode | null = null;
  let defaultPermissions: PermissionsConfig | null = null;
  for (const e of node.entries) {
    switch (e.key.toLowerCase()) {
      case 'user':
      case 'username':
        user = problems.string(e) ?? null;
        break;
      case 'pass':
      case 'password':
        password = problems.string(e) ?? null;
        break;
      case 'token':
        token = problems.string(e) ?? null;
        break;
      case 'timeout':
        timeoutMs = parseTimeout(e, problems);
        break;
      case 'users':
        usersNode = e.value;
        break;
      case 'default_permission':
      case 'default_permissions':
      case 'permissions':
        defaultPermissions = parsePermissions(e.value, problems);
        break;
      default:
        problems.unknownField(e);
    }
  }
  // Parsed after the loop so default_permissions applies wherever it stands.
  const users = usersNode === null ? null : parseUsers(usersNode, problems, GLOBAL_ACCOUNT, defaultPermissions);
  if (token === '') token = null;
  if (user === '') user = null;
  if (password === '') password = null;
  if ((user !== null || password !== null) && token !== null) {
    problems.add(node, 'Cannot have a user/pass and token');
  } else if (users !== null && user !== null) {
    problems.add(node, 'Can not have a single user/pass and a users array');
  } else if (users !== null && token !== null) {
    problems.add(node, 'Can not have a token and a users array');
  }
  return { token, user, password, timeoutMs, users, defaultPermissions };
}

/**
 * Seconds, integer or fractional. nats-server reads anything else as one
 * second without a word; that hides typos, so it is an error here (as in
 * the options mapping). 0 keeps the default.
 */
function parseTimeout(e: InEntry, problems: Problems): number | null {
  const v = e.value;
  if (v.kind !== 'integer' && v.kind !== 'float') {
    problems.add(v, `timeout must be a number of seconds, got ${describe(v)}`);
    return null;
  }
  if (v.value < 0) {
    problems.add(v, 'timeout can not be negative');
    return null;
  }
  return v.value === 0 ? null : v.value * 1000;
}

// ---- the runtime table -------------------------------------------------------

/** What authentication needs from a client's CONNECT. */
export interface ConnectCredentials {
  readonly user?: unknown;
  readonly pass?: unknown;
  readonly auth_token?: unknown;
  readonly nkey?: unknown;
  readonly sig?: unknown;
}

/** Who a connection turned out to be. */
export interface AuthenticatedUser {
  /** `none` when the server requires no authentication. */
  readonly kind: 'none' | 'token' | 'user' | 'nkey';
  /** User name or public nkey; '' for `none`, a token, and anonymous global access. */
  readonly name: string;
  readonly account: string;
  /** Shared compiled permissions; null means unrestricted. */
  readonly permissions: Permissions | null;
}

/** Everything the table is built from; see security-config.ts. */
export interface UserTableConfig {
  readonly token: string | null;
  readonly user: string | null;
  readonly password: string | null;
  readonly timeoutMs: number | null;
  /** Password users of every account, by name. */
  readonly users: ReadonlyMap<string, PasswordUser>;
  /** Nkey users of every account, by public key. */
  readonly nkeys: ReadonlyMap<string, NkeyUser>;
  readonly noAuthUser: string | null;
  /**
   * Clients sending no credentials go to the global account without
   * permissions: what nats-server does when the only configured account is
   * the system account and no_auth_user is not set.
   */
  readonly anonymousGlobal: boolean;
}

interface CompiledUser<U extends UserConfig> {
  readonly user: U;
  readonly permissions: Permissions | null;
}

interface CompiledNkey extends CompiledUser<NkeyUser> {
  readonly verifier: KeyObject;
}

const ANONYMOUS_GLOBAL: AuthenticatedUser = Object.freeze({
  kind: 'user',
  name: '',
  account: GLOBAL_ACCOUNT,
  permissions: null,
});

const NOT_REQUIRED: AuthenticatedUser = Object.freeze({
  kind: 'none',
  name: '',
  account: GLOBAL_ACCOUNT,
  permissions: null,
});

/**
 * Checks CONNECT credentials in nats-server's order: an nkey when nkey
 * users exist and the client sent one; else a user name (or no_auth_user
 * when the client sent no credentials at all); else the token or the
 * single user. Permissions are compiled once per user and shared by its
 * connections (per-connection state lives in ClientPermissions).
 */
export class UserTable {
  readonly config: UserTableConfig;
  /** For INFO `auth_required`. */
  readonly authRequired: boolean;
  /** For INFO `nonce`: nkey users need one to sign. */
  readonly nonceRequired: boolean;
  /** Authorization timeout in milliseconds, when configured. */
  readonly timeoutMs: number | null;

  private readonly users = new Map<string, CompiledUser<PasswordUser>>();
  private readonly nkeys = new Map<string, CompiledNkey>();

  constructor(config: UserTableConfig) {
    this.config = config;
    // Users sharing one permissions object (default_permissions) share the compiled form too.
    const compiled = new Map<PermissionsConfig, Permissions>();
    const compile = (p: PermissionsConfig | null): Permissions | null => {
      if (p === null) return null;
      let c = compiled.get(p);
      if (c === undefined) {
        c = new Permissions(p);
        compiled.set(p, c);
      }
      return c;
    };
    for (const [name, user] of config.users) this.users.set(name, { user, permissions: compile(user.permissions) });
    for (const [key, user] of config.nkeys) {
      const verifier = userKeyVerifier(key);
      if (verifier === null) throw new Error(`not a valid public nkey for a user: ${key}`);
      this.nkeys.set(key, { user, permissions: compile(user.permissions), verifier });
    }
    this.authRequired = config.token !== null || config.user !== null || config.users.size > 0 ||
      config.nkeys.size > 0 || config.anonymousGlobal;
    this.nonceRequired = config.nkeys.size > 0;
    this.timeoutMs = config.timeoutMs;
  }

  /**
   * The identity of `no_auth_user` for a client that sends no credentials
   * (or no CONNECT at all); null when none is configured or it cannot match
   * (nats-server compares the stored password with itself, so a bcrypt one never does).
   */
  noAuthIdentity(): AuthenticatedUser | null {
    const name = this.config.noAuthUser;
    if (name === null) return null;
    const entry = this.users.get(name);
    if (entry === undefined || isBcrypt(entry.user.password)) return null;
    return { kind: 'user', name, account: entry.user.account, permissions: entry.permissions };
  }

  /** Names of the listed users, for certificate mapping (verify_and_map). */
  names(): IterableIterator<string> {
    return this.users.keys();
  }

  /** A listed user's identity without a password check: the TLS certificate vouched for it. */
  identityOf(name: string): AuthenticatedUser | null {
    const entry = this.users.get(name);
    return entry === undefined ? null : { kind: 'user', name, account: entry.user.account, permissions: entry.permissions };
  }

  /** Whether a listed user (or nkey) still exists, to tell a removed user from a changed password. */
  knows(name: string): boolean {
    return this.users.has(name) || this.nkeys.has(name);
  }

  /**
   * Who the client is, or null for 'Authorization Violation'. `nonce` is
   * what the server sent in INFO (null if none); `connectionType` is one of
   * CONNECTION_TYPES. Asynchronous because bcrypt compares are slow.
   */
  async authenticate(
    creds: ConnectCredentials,
    nonce: string | null,
    connectionType = 'STANDARD',
  ): Promise<AuthenticatedUser | null> {
    if (!this.authRequired) return NOT_REQUIRED;
    const nkey = str(creds.nkey);
    if (this.nkeys.size > 0 && nkey !== '') {
      const entry = this.nkeys.get(nkey);
      if (entry === undefined || !typeAllowed(entry.user, connectionType)) return null;
      const sig = str(creds.sig);
      if (nonce === null || sig === '' || !verifyNonceSignature(entry.verifier, nonce, sig)) return null;
      return { kind: 'nkey', name: nkey, account: entry.user.account, permissions: entry.permissions };
    }
    let username = str(creds.user);
    let password = str(creds.pass);
    const token = str(creds.auth_token);
    if (this.users.size > 0 || this.config.anonymousGlobal) {
      const noCredentials = username === '' && password === '' && token === '';
      if (noCredentials && this.config.noAuthUser !== null) {
        // As nats-server: the configured user's stored password stands in
        // for the client's, so a bcrypt-hashed no_auth_user never matches.
        const stand = this.users.get(this.config.noAuthUser);
        if (stand !== undefined) {
          username = stand.user.username;
          password = stand.user.password;
        }
      } else if (noCredentials && this.config.anonymousGlobal) {
        return ANONYMOUS_GLOBAL;
      }
      if (username !== '') {
        const entry = this.users.get(username);
        if (entry === undefined || !typeAllowed(entry.user, connectionType)) return null;
        if (!(await verifySecret(entry.user.password, password))) return null;
        return { kind: 'user', name: username, account: entry.user.account, permissions: entry.permissions };
      }
    }
    if (this.config.token !== null) {
      return (await verifySecret(this.config.token, token))
        ? { kind: 'token', name: '', account: GLOBAL_ACCOUNT, permissions: null }
        : null;
    }
    if (this.config.user !== null) {
      if (username !== this.config.user) return null;
      return (await verifySecret(this.config.password ?? '', password))
        ? { kind: 'user', name: username, account: GLOBAL_ACCOUNT, permissions: null }
        : null;
    }
    return null;
  }
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function typeAllowed(user: UserConfig, connectionType: string): boolean {
  const types = user.allowedConnectionTypes;
  return types === null || types.size === 0 || types.has(connectionType);
}
