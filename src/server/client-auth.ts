import { securityFromOptions, type SecurityConfig } from '../auth/security-config.js';
import type { AuthenticatedUser, UserTable } from '../auth/users.js';
import { generateNonce } from '../auth/nkey.js';
import { subscriptionRevoked, type ClientPermissions } from '../auth/permissions.js';
import type { JwtAuthenticator } from '../jwt/operator-mode.js';
import type { Logger } from '../log/logger.js';
import { ERR } from '../protocol/errors.js';
import { certIdentities, peerCertificateOf, tlsMapUsername, type TlsConfig } from '../tls/index.js';
import { CloseReason, type Client, type ConnectionAuth } from './client.js';
import type { ServerOptions } from './options.js';

/**
 * How clients authenticate under one configuration: configured users
 * (passwords, tokens, nkeys, certificates with verify_and_map) or, in
 * operator mode, user JWTs. A reload makes a new one, and the clients
 * already connected are checked against it (recheckClients).
 */
export class ClientAuthenticator {
  readonly security: SecurityConfig;
  /** Operator mode (decentralized JWT auth): accounts and users come from JWTs. */
  readonly jwt: JwtAuthenticator | null;
  /** verify_and_map: a client's certificate, not its CONNECT, names its user. */
  private readonly tlsMap: boolean;
  private readonly timeoutMs: number;

  /** Throws when the security part of `o` cannot be used. */
  constructor(o: ServerOptions, jwt: JwtAuthenticator | null, tls: TlsConfig | null) {
    this.jwt = jwt;
    this.security = securityFromOptions(jwt === null ? o : withoutSystemAccount(o));
    this.tlsMap = tls !== null && tls.map;
    this.timeoutMs = o.auth_timeout;
  }

  /** The user table of this configuration. */
  get users(): UserTable {
    return this.security.userTable;
  }

  /** Whether clients must authenticate: configured users, or operator mode. */
  get required(): boolean {
    return this.jwt !== null || this.users.authRequired;
  }

  /** INFO's auth_required: clients must bring credentials (no no_auth_user stands in for them). */
  get credentialsRequired(): boolean {
    return this.jwt !== null || (this.users.authRequired && this.users.noAuthIdentity() === null);
  }

  /**
   * Who a CONNECT makes the client: with verify_and_map the verified
   * certificate names the user (an nkey in CONNECT still goes first, as in
   * nats-server); otherwise the CONNECT credentials are checked.
   */
  authenticate(c: Client, connect: Record<string, unknown>): Promise<AuthenticatedUser | null> {
    const users = this.users;
    if (this.jwt !== null) return this.jwt.authenticate(connect, c.nonce, c.host, c.connectionType());
    if (this.tlsMap && !(typeof connect.nkey === 'string' && connect.nkey !== '')) {
      const cert = peerCertificateOf(c.socket);
      const name = cert === null ? null : tlsMapUsername(certIdentities(cert), users.names());
      return Promise.resolve(name === null ? null : users.identityOf(name));
    }
    return users.authenticate(connect, c.nonce, c.connectionType());
  }

  /** What a new connection needs to know about authentication. */
  connectionAuth(): ConnectionAuth {
    const users = this.users;
    return {
      required: this.required,
      timeoutMs: users.timeoutMs ?? this.timeoutMs,
      nonce: this.jwt !== null || users.nonceRequired ? generateNonce() : null,
    };
  }
}

/** In operator mode the system account is a public key the static account config does not know. */
function withoutSystemAccount(o: ServerOptions): ServerOptions {
  const { system_account: _named, ...rest } = o;
  return rest;
}

/** What checking the connected clients again needs of the server. */
export interface RecheckHost {
  readonly logger: Logger;
  readonly clients: ReadonlyMap<number, Client>;
  /** Binds a client to the account and permissions of `who`; false when it cannot. */
  bindClient(c: Client, who: AuthenticatedUser): boolean;
}

/**
 * After a reload: every client's saved CONNECT is checked against the new
 * users. Those who no longer pass, or whose account changed, are cut
 * (the password-rotation procedure relies on this); the rest get the new permissions.
 */
export function recheckClients(host: RecheckHost, auth: ClientAuthenticator): void {
  const users = auth.users;
  for (const c of [...host.clients.values()]) {
    if (!c.authorized || c.closed) continue;
    if (!c.server.authRequired) {
      // Without any authorization a named user no longer exists: nats-server drops such clients quietly.
      if (c.authUser !== '') dropAfterReload(host.logger, c, false);
      else applyPermissions(c, null);
      continue;
    }
    const creds = c.credentials ?? {};
    const account = c.account;
    // Through the client's own host: a websocket client is checked with the websocket block's overrides.
    c.server.authenticateClient(c, creds).then((who) => {
      if (c.closed) return;
      if (who === null) {
        // A removed user is closed quietly; a changed password or token is a violation.
        dropAfterReload(host.logger, c, c.authUser === '' || users.knows(c.authUser));
      } else if (who.account !== account.name || !host.bindClient(c, who)) {
        dropAfterReload(host.logger, c, false);
      } else {
        applyPermissions(c, c.perms);
      }
    }, () => dropAfterReload(host.logger, c, true));
  }
}

function dropAfterReload(logger: Logger, c: Client, violation: boolean): void {
  logger.info(`${c.label()} - closing connection: user no longer authorized after reload`);
  if (violation) c.sendErrAndClose(ERR.authViolation, CloseReason.AuthViolation);
  else c.close(CloseReason.ClientClosed);
}

/** New permissions on a live client: subscriptions they no longer allow are removed, each with an -ERR. */
function applyPermissions(c: Client, perms: ClientPermissions | null): void {
  c.perms = perms;
  if (perms === null) return;
  for (const sub of [...c.subs.values()]) {
    if (perms.canSubscribe(sub.subject, sub.queue)) continue;
    c.sendErr(subscriptionRevoked(sub.subject, sub.sid));
    c.removeSub(sub);
  }
}
