/**
 * Everything security in one validated model: `authorization`, `accounts`,
 * `no_auth_user` and `system_account` together, because nats-server checks
 * them against each other (a user defined twice across blocks, a single
 * user next to accounts with users, a no_auth_user nobody defines, a system
 * account that does not exist).
 *
 * Two entry points, one model:
 * - securityFromConfigTree(root): from the parsed configuration file. It
 *   knows positions (`file:line:col` in errors) and `$variable` definitions
 *   inside blocks, which are not unknown fields.
 * - securityFromOptions(opts): from plain blocks (ServerOptions, embedders);
 *   errors name the path of the value instead.
 * Both throw every problem at once (ConfigError or SecurityConfigError).
 *
 * Checks nats-server only makes when it starts, not with `-t` (no_auth_user,
 * system_account), are made here at load. Deliberate difference:
 * `system_account: "$G"` is an error; nats-server would make the global
 * account, where every authorization-block user lives, the system account.
 */
import type { ConfMap } from '../config/parser.js';
import { GLOBAL_ACCOUNT } from '../accounts/names.js';
import { parseAccounts, type AccountConfig } from '../accounts/account-config.js';
import type { AccountRoutes } from '../accounts/import-routes.js';
import { buildAccountRoutes } from '../accounts/import-validation.js';
import { fromConf, fromPlain, Problems, type InNode } from './conf-input.js';
import {
  parseAuthorization,
  UserTable,
  type AuthorizationConfig,
  type NkeyUser,
  type PasswordUser,
  type UserConfig,
} from './users.js';

/** nats-server's DEFAULT_SYSTEM_ACCOUNT. */
export const DEFAULT_SYSTEM_ACCOUNT = '$SYS';

export interface SecurityConfig {
  readonly authorization: AuthorizationConfig | null;
  /** Configured accounts, in configuration order ($G and an implicit $SYS not included). */
  readonly accounts: readonly AccountConfig[];
  /** Password users of every account (the authorization block's are in $G). */
  readonly users: ReadonlyMap<string, PasswordUser>;
  /** Nkey users of every account, by public key. */
  readonly nkeys: ReadonlyMap<string, NkeyUser>;
  readonly noAuthUser: string | null;
  /** The system account's name. */
  readonly systemAccount: string;
  /** True when the system account is not configured and must be created empty. */
  readonly systemAccountImplicit: boolean;
  /**
   * Clients without credentials are let into $G: nats-server does this when
   * the system account is the only configured account and no_auth_user is
   * not set, so that adding a system account does not lock out $G clients.
   */
  readonly anonymousGlobal: boolean;
  /** Stream and service imports, ready for routing. */
  readonly routes: AccountRoutes;
  /** The authentication table for CONNECT. */
  readonly userTable: UserTable;
}

/** The security-relevant settings as plain values (ServerOptions keys). */
export interface SecurityOptions {
  readonly authorization?: unknown;
  readonly accounts?: unknown;
  readonly no_auth_user?: unknown;
  readonly system_account?: unknown;
}

interface Inputs {
  readonly authorization: InNode | null;
  readonly accounts: InNode | null;
  readonly noAuthUser: InNode | null;
  readonly systemAccount: InNode | null;
}

/** From the root of a parsed configuration file (keys matched case-insensitively). */
export function securityFromConfigTree(root: ConfMap): SecurityConfig {
  const pick = (...keys: string[]): InNode | null => {
    let found: InNode | null = null;
    for (const e of root.entries.values()) {
      // A later key replaces an earlier one, as when nats-server reads the file.
      if (keys.includes(e.key.toLowerCase())) found = fromConf(e.value, e.key);
    }
    return found;
  };
  return build({
    authorization: pick('authorization'),
    accounts: pick('accounts'),
    noAuthUser: pick('no_auth_user'),
    systemAccount: pick('system_account', 'system'),
  });
}

/** From plain values, e.g. the blocks kept in ServerOptions. */
export function securityFromOptions(opts: SecurityOptions): SecurityConfig {
  const node = (v: unknown, path: string): InNode | null => (v === undefined ? null : fromPlain(v, path));
  return build({
    authorization: node(opts.authorization, 'authorization'),
    accounts: node(opts.accounts, 'accounts'),
    noAuthUser: node(opts.no_auth_user, 'no_auth_user'),
    systemAccount: node(opts.system_account, 'system_account'),
  });
}

function build(inputs: Inputs): SecurityConfig {
  const problems = new Problems();
  const authorization = inputs.authorization === null ? null : parseAuthorization(inputs.authorization, problems);
  const accounts = inputs.accounts === null ? [] : parseAccounts(inputs.accounts, problems);

  const users = new Map<string, PasswordUser>();
  const nkeys = new Map<string, NkeyUser>();
  const addUser = (u: UserConfig, at: InNode): void => {
    if (u.kind === 'nkey') {
      if (nkeys.has(u.nkey)) problems.add(at, `Duplicate nkey "${u.nkey}" detected`);
      else nkeys.set(u.nkey, u);
    } else if (users.has(u.username)) {
      problems.add(at, `Duplicate user ${JSON.stringify(u.username)} detected`);
    } else {
      users.set(u.username, u);
    }
  };
  if (authorization !== null && authorization.users !== null && inputs.authorization !== null) {
    for (const u of authorization.users) addUser(u, inputs.authorization);
  }
  for (const acc of accounts) {
    if (acc.users.length === 0) continue;
    const at = acc.usersAt ?? acc.at;
    if (authorization?.user != null) problems.add(at, 'Can not have a single user/pass and accounts');
    else if (authorization?.token != null) problems.add(at, 'Can not have a token and accounts');
    for (const u of acc.users) addUser(u, at);
  }

  let noAuthUser: string | null = null;
  if (inputs.noAuthUser !== null) {
    const v = inputs.noAuthUser;
    if (v.kind !== 'string') problems.add(v, 'no_auth_user must be a string');
    else if (v.value !== '') noAuthUser = v.value;
    if (noAuthUser !== null) {
      if (users.size === 0) {
        problems.add(v, `no_auth_user: "${noAuthUser}" present, but users are not defined`);
      } else if (!users.has(noAuthUser)) {
        problems.add(v, `no_auth_user: "${noAuthUser}" not present as user in authorization block or account configuration`);
      }
    }
  }

  const names = new Set(accounts.map((a) => a.name));
  let systemAccount = DEFAULT_SYSTEM_ACCOUNT;
  let systemExplicit = false;
  if (inputs.systemAccount !== null) {
    const v = inputs.systemAccount;
    if (v.kind !== 'string') {
      problems.add(v, 'system account name must be a string');
    } else if (v.value !== '') {
      systemAccount = v.value;
      systemExplicit = true;
      if (systemAccount === GLOBAL_ACCOUNT) problems.add(v, `"${GLOBAL_ACCOUNT}" can not be the system account`);
      else if (!names.has(systemAccount)) problems.add(v, 'error resolving system account: account missing');
    }
  }
  // A configured $SYS is the system account even when not named as such.
  const systemConfigured = systemExplicit || names.has(DEFAULT_SYSTEM_ACCOUNT);
  const anonymousGlobal = systemConfigured && accounts.length === 1 && noAuthUser === null;

  const routes = buildAccountRoutes(accounts, problems);
  problems.throwIfAny();

  const userTable = new UserTable({
    token: authorization?.token ?? null,
    user: authorization?.user ?? null,
    password: authorization?.password ?? null,
    timeoutMs: authorization?.timeoutMs ?? null,
    users,
    nkeys,
    noAuthUser,
    anonymousGlobal,
  });
  return {
    authorization,
    accounts,
    users,
    nkeys,
    noAuthUser,
    systemAccount,
    systemAccountImplicit: !names.has(systemAccount),
    anonymousGlobal,
    routes,
    userTable,
  };
}
