/**
 * Account JWTs applied to the running server, as nats-server applies them:
 *
 * - every loaded account exists in the server, carrying its JWT limits;
 * - import routes (exports, imports, activation tokens) are rebuilt for all
 *   accounts whenever one changes, and again when an activation expires;
 * - a client joining an account at its `conn` limit is refused with
 *   "maximum account active connections exceeded";
 * - each client's subscription and payload limits are the lowest of its
 *   user's, its account's and the server's; at the subscription limit
 *   already, it is told "maximum subscriptions exceeded" and closed;
 * - a user JWT's `exp` (or the end of its connect window) ends the
 *   connection with "User Authentication Expired"; an account JWT's `exp`
 *   ends all of the account's with "Account Authentication Expired", as
 *   does deleting the account;
 * - a claim update re-checks the account's clients: the oldest past a
 *   lower `conn` limit are cut, revoked users get "User Authentication
 *   Revoked", bearer users of an account that no longer allows them an
 *   authorization violation, and users whose signing key was removed or
 *   re-scoped are closed.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Account } from '../accounts/account.js';
import { CloseReason, type Client } from '../server/client.js';
import type { ConnectionObserver, ServerCore, Unregister } from '../server/core.js';
import { ERR } from '../protocol/errors.js';
import { isUserRevoked, type AccountClaims } from './claims.js';
import { buildJwtRoutes } from './jwt-routes.js';
import type { JwtAccountListener, JwtAuthenticatedUser, JwtAuthenticator } from './operator-mode.js';

export const ERR_ACCOUNT_CONNECTIONS = 'maximum account active connections exceeded';
export const ERR_USER_EXPIRED = 'User Authentication Expired';
export const ERR_ACCOUNT_EXPIRED = 'Account Authentication Expired';
export const ERR_USER_REVOKED = 'User Authentication Revoked';

/** jwt's NoLimit. */
const NO_LIMIT = -1;
/** nats-server closes a client found at its subscription limit this long after telling it. */
const SUBS_LIMIT_CLOSE_DELAY_MS = 20;
/** setTimeout's longest delay; later expiries are re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** nats-server's minLimit: the lower of two limits where -1 is unlimited. */
function minLimit(value: number, limit: number): number {
  if (value === NO_LIMIT) return limit;
  if (limit === NO_LIMIT) return value;
  return Math.min(value, limit);
}

function isJwtUser(who: { kind: string }): who is JwtAuthenticatedUser {
  return who.kind === 'nkey' && 'issuedAt' in who;
}

/** A one-shot timer at a wall-clock time, which may lie further ahead than setTimeout reaches. */
class Deadline {
  private timer: NodeJS.Timeout;

  constructor(private readonly at: number, private readonly fire: () => void) {
    this.timer = this.arm();
  }

  cancel(): void {
    clearTimeout(this.timer);
  }

  private arm(): NodeJS.Timeout {
    const t = setTimeout(() => {
      if (Date.now() >= this.at) this.fire();
      else this.timer = this.arm();
    }, Math.min(Math.max(0, this.at - Date.now()), MAX_TIMER_MS));
    // Deadlines must not keep a finished process alive.
    t.unref();
    return t;
  }
}

export class LiveJwtAccounts implements JwtAccountListener, ConnectionObserver {
  private readonly server: ServerCore;
  private readonly auth: JwtAuthenticator;
  private readonly stopObserving: Unregister;
  /** The user each bound client authenticated as. */
  private readonly users = new Map<Client, JwtAuthenticatedUser>();
  private readonly userTimers = new Map<Client, Deadline>();
  private readonly accountTimers = new Map<string, Deadline>();
  private activationTimer: Deadline | null = null;
  private rebuilding = false;
  private rebuildAgain = false;
  private closed = false;

  constructor(server: ServerCore, auth: JwtAuthenticator) {
    this.server = server;
    this.auth = auth;
    auth.listen(this);
    this.stopObserving = server.addObserver(this);
    // Routes once for all the accounts there are at start, not once per account.
    this.rebuilding = true;
    for (const name of auth.accounts()) {
      const claims = auth.claimsOf(name);
      if (claims !== null) this.accountChanged(name, claims, null);
    }
    this.rebuilding = false;
    this.rebuildRoutes();
  }

  close(): void {
    this.closed = true;
    this.stopObserving();
    for (const t of this.userTimers.values()) t.cancel();
    for (const t of this.accountTimers.values()) t.cancel();
    this.activationTimer?.cancel();
    this.userTimers.clear();
    this.accountTimers.clear();
    this.users.clear();
    this.activationTimer = null;
  }

  // ---- the authenticator's news ------------------------------------------------

  accountChanged(name: string, claims: AccountClaims | null, previous: AccountClaims | null): void {
    if (this.closed) return;
    const acc = this.account(name, claims !== null);
    this.armAccountExpiry(name, claims);
    if (acc !== null) {
      acc.jwtLimits = claims?.nats.limits ?? null;
      acc.updated = new Date();
    }
    if (claims === null) {
      if (acc !== null) this.expireClients(acc);
    } else if (previous !== null && acc !== null) {
      this.recheckClients(acc, claims, previous);
    }
    this.rebuildRoutes();
    // JetStream limits live in the account JWT: JetStream enables, re-limits or keeps streams as the claims now say.
    this.server.accountsChanged();
  }

  /** The server's account, created when claims appear for the first time. */
  private account(name: string, create: boolean): Account | null {
    const existing = this.server.accounts.get(name);
    if (existing !== undefined || !create) return existing ?? null;
    return this.server.addAccount(name);
  }

  private armAccountExpiry(name: string, claims: AccountClaims | null): void {
    this.accountTimers.get(name)?.cancel();
    this.accountTimers.delete(name);
    if (claims === null || claims.exp === 0 || claims.exp * 1000 <= Date.now()) return;
    this.accountTimers.set(name, new Deadline(claims.exp * 1000, () => {
      this.accountTimers.delete(name);
      const acc = this.server.accounts.get(name);
      if (acc !== undefined) this.expireClients(acc);
    }));
  }

  /** Ends every connection of an account that expired or was deleted. */
  private expireClients(acc: Account): void {
    for (const c of [...this.server.clientsOf(acc)]) c.sendErrAndClose(ERR_ACCOUNT_EXPIRED, CloseReason.AuthenticationExpired);
  }

  /** The account's clients after a claim update, newest first (nats-server keeps the newest within `conn`). */
  private recheckClients(acc: Account, claims: AccountClaims, previous: AccountClaims): void {
    const clients = [...this.server.clientsOf(acc)].sort((a, b) => b.start.getTime() - a.start.getTime() || b.cid - a.cid);
    const conn = claims.nats.limits.conn;
    clients.forEach((c, i) => {
      if (conn !== NO_LIMIT && i >= conn) {
        c.sendErrAndClose(ERR_ACCOUNT_CONNECTIONS, CloseReason.MaxAccountConnections);
        return;
      }
      const who = this.users.get(c);
      if (who === undefined) return;
      // Limits first, as nats-server: a client at its subscription limit hears so even when revoked next.
      this.applyLimits(c, who, claims, true);
      if (who.bearer && claims.nats.disallow_bearer) {
        c.sendErrAndClose(ERR.authViolation, CloseReason.AuthViolation);
        return;
      }
      if (isUserRevoked(claims.nats.revocations, who.name, who.issuedAt)) {
        c.sendErrAndClose(ERR_USER_REVOKED, CloseReason.Revocation);
        return;
      }
      const key = who.signingKey;
      if (key !== '' && (!claims.nats.signing_keys.has(key) || !isDeepStrictEqual(claims.nats.signing_keys.get(key), previous.nats.signing_keys.get(key)))) {
        // nats-server closes these without a word.
        c.close(CloseReason.AuthViolation);
      }
    });
  }

  // ---- the server's clients --------------------------------------------------------

  /**
   * May this client join `acc`? Refuses (sending the error and closing) when
   * the account is at its connection limit.
   */
  admit(c: Client, acc: Account): boolean {
    const conn = acc.jwtLimits?.conn ?? NO_LIMIT;
    if (c.account === acc || conn === NO_LIMIT || this.server.clientsOf(acc).size < conn) return true;
    this.server.logger.error(`${c.label()} - ${ERR_ACCOUNT_CONNECTIONS}`);
    c.sendErrAndClose(ERR_ACCOUNT_CONNECTIONS, CloseReason.MaxAccountConnections);
    return false;
  }

  /** The client is bound to its account: limits and expiry apply from now on. */
  bound(c: Client, who: { kind: string }): void {
    if (!isJwtUser(who)) return;
    const claims = this.auth.claimsOf(who.account);
    if (claims === null) return;
    this.users.set(c, who);
    this.userTimers.get(c)?.cancel();
    this.userTimers.delete(c);
    if (who.expiresAt !== null) {
      this.userTimers.set(c, new Deadline(who.expiresAt, () => {
        this.userTimers.delete(c);
        if (this.server.logger.debugEnabled) this.server.logger.debug(`${c.label()} - ${ERR_USER_EXPIRED}`);
        c.sendErrAndClose(ERR_USER_EXPIRED, CloseReason.AuthenticationExpired);
      }));
    }
    this.applyLimits(c, who, claims, false);
  }

  /**
   * nats-server's applyAccountLimits: user, then account, then server
   * limits. A client already at its subscription limit is told so (at once
   * after an update; after its CONNECT is answered when just bound) and
   * closed shortly after.
   */
  private applyLimits(c: Client, who: JwtAuthenticatedUser, claims: AccountClaims, tellNow: boolean): void {
    const o = this.server.options;
    let subs = minLimit(who.subsLimit, claims.nats.limits.subs);
    let payload = minLimit(who.payloadLimit, claims.nats.limits.payload);
    payload = minLimit(payload, o.max_payload > 0 ? o.max_payload : NO_LIMIT);
    subs = minLimit(subs, o.max_subscriptions > 0 ? o.max_subscriptions : NO_LIMIT);
    c.subsLimit = subs;
    c.parserLimits.maxPayload = payload === NO_LIMIT ? o.max_payload : payload;
    c.maxPayloadOverride = c.parserLimits.maxPayload;
    if (subs === NO_LIMIT || c.subs.size < subs) return;
    const tell = (): void => {
      this.server.logger.error(`${c.label()} - ${ERR.maxSubscriptions}`);
      c.sendErr(ERR.maxSubscriptions);
    };
    if (tellNow) tell();
    setTimeout(() => {
      if (c.closed) return;
      if (!tellNow) tell();
      c.close(CloseReason.MaxSubscriptions);
    }, SUBS_LIMIT_CLOSE_DELAY_MS).unref();
  }

  clientConnected(): void {
    // Nothing to do: limits and timers were set when the client was bound.
  }

  clientAuthFailed(): void {
    // Nothing to do: the client never joined an account.
  }

  clientClosed(c: Client): void {
    this.forget(c);
  }

  /** Drops what was kept for a client (closed, or rebound by a reload). */
  forget(c: Client): void {
    this.userTimers.get(c)?.cancel();
    this.userTimers.delete(c);
    this.users.delete(c);
  }

  // ---- routes ----------------------------------------------------------------------

  /** Rebuilds the import routes of every account from the loaded JWTs. */
  rebuildRoutes(): void {
    if (this.closed) return;
    if (this.rebuilding) {
      this.rebuildAgain = true;
      return;
    }
    this.rebuilding = true;
    try {
      do {
        this.rebuildAgain = false;
        this.rebuildOnce();
      } while (this.rebuildAgain);
    } finally {
      this.rebuilding = false;
    }
  }

  private rebuildOnce(): void {
    const loaded = new Map<string, AccountClaims>();
    const pending = [...this.auth.accounts()];
    // Imports name their exporters: those are looked up (loaded from the resolver) as nats-server does.
    while (pending.length > 0) {
      const name = pending.pop() as string;
      if (loaded.has(name)) continue;
      const claims = this.auth.claimsOf(name);
      if (claims === null) continue;
      loaded.set(name, claims);
      for (const im of claims.nats.imports) if (!loaded.has(im.account)) pending.push(im.account);
    }
    const { routes, problems, nextExpiry } = buildJwtRoutes(loaded, Math.floor(Date.now() / 1000));
    if (this.server.logger.debugEnabled) for (const p of problems) this.server.logger.debug(`Import not added: ${p}`);
    for (const acc of this.server.accounts.values()) {
      acc.setRoutes(routes.streamImportsFrom(acc.name), routes.serviceImportsOf(acc.name));
    }
    this.activationTimer?.cancel();
    this.activationTimer = nextExpiry === null ? null : new Deadline(nextExpiry, () => {
      this.activationTimer = null;
      this.rebuildRoutes();
    });
  }
}
