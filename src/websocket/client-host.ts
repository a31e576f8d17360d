/**
 * What a websocket client sees as its server: the real one for everything
 * (routing, accounts, binding, monitoring) except how it authenticates and
 * what its INFO says, which nats-server decides per connection type:
 *
 * - The websocket block's `authorization { user, password, token, timeout }`
 *   and `no_auth_user`, when any is set, replace the top-level single user,
 *   token and no_auth_user (nats-server's authOverride); configured users
 *   and nkeys stay valid. Users are checked as connection type WEBSOCKET
 *   (allowed_connection_types).
 * - The websocket block's own `tls { verify_and_map }` decides certificate
 *   mapping; the client port's does not apply.
 * - Operator mode: `jwt_cookie` names a cookie of the upgrade request whose
 *   value is the user JWT when CONNECT carries none.
 * - INFO carries no TLS fields (TLS is the wss layer's business) and says
 *   auth_required when the override asks for credentials.
 */
import type { Account } from '../accounts/account.js';
import { generateNonce } from '../auth/nkey.js';
import type { SecurityConfig } from '../auth/security-config.js';
import { UserTable, type AuthenticatedUser } from '../auth/users.js';
import type { JetStream } from '../jetstream/jetstream.js';
import type { Logger } from '../log/logger.js';
import type { Client, ClientHost, ConnectionAuth } from '../server/client.js';
import type { ListenerHost } from '../server/client-listener.js';
import type { ServerCore } from '../server/core.js';
import type { FlushScheduler } from '../server/flush-scheduler.js';
import { InfoLine } from '../server/info-line.js';
import type { ServerOptions } from '../server/options.js';
import type { Subscription } from '../server/subscription.js';
import { certIdentities, peerCertificateOf, tlsMapUsername } from '../tls/index.js';
import { hasAuthOverride, type WebsocketConfig } from './config.js';
import { WebsocketClient } from './websocket-client.js';

/** The server as the websocket listener needs it: the core, the client port's host, and a connection id. */
export interface WebsocketServer extends ServerCore, ListenerHost {
  /** The next connection id; client connections of every kind share one sequence, as in nats-server. */
  nextClientId(): number;
  /** JetStream, when enabled (INFO tells its domain). */
  readonly jetstream: JetStream | null;
}

/** The connection type websocket clients are checked as. */
const WEBSOCKET = 'WEBSOCKET';

export class WebsocketClientHost implements ClientHost {
  private readonly server: WebsocketServer;
  /** The block in force; a reload may replace its `tls` (nothing else in it reloads). */
  private config: WebsocketConfig;
  private readonly override: boolean;
  /** The users websocket clients are checked against, made once per security configuration. */
  private table: { readonly security: SecurityConfig; readonly users: UserTable } | null = null;
  private readonly info = new InfoLine();
  /** The options object the INFO was built from; a reload replaces it. */
  private infoBuiltFor: ServerOptions | null = null;
  /** The websocket connect URLs the INFO carries now, as JSON (to tell a change). */
  private clusterURLs = '[]';

  constructor(server: WebsocketServer, config: WebsocketConfig) {
    this.server = server;
    this.config = config;
    this.override = hasAuthOverride(config);
  }

  get options(): ServerOptions {
    return this.server.options;
  }

  get logger(): Logger {
    return this.server.logger;
  }

  get flusher(): FlushScheduler {
    return this.server.flusher;
  }

  get stallThreshold(): number {
    return this.server.stallThreshold;
  }

  get authRequired(): boolean {
    return this.server.operatorMode || this.users().authRequired;
  }

  /** INFO's auth_required: credentials are needed (no no_auth_user stands in for them), or the override is in force (nats-server says so then). */
  private get credentialsRequired(): boolean {
    const users = this.users();
    return this.server.operatorMode || this.override || (users.authRequired && users.noAuthIdentity() === null);
  }

  private users(): UserTable {
    const security = this.server.security;
    if (this.table === null || this.table.security !== security) {
      const base = security.userTable;
      const c = this.config;
      const users = this.override
        ? new UserTable({ ...base.config, user: c.user, password: c.password, token: c.token, noAuthUser: c.noAuthUser })
        : base;
      this.table = { security, users };
    }
    return this.table.users;
  }

  /** What a new websocket connection is told about authentication and held to. */
  connectionAuth(): ConnectionAuth {
    const users = this.users();
    const operator = this.server.operatorMode;
    return {
      required: this.authRequired,
      timeoutMs: this.config.authTimeoutMs ?? users.timeoutMs ?? this.server.options.auth_timeout,
      nonce: operator || users.nonceRequired ? generateNonce() : null,
    };
  }

  infoFor(cid: number, ip: string, nonce: string | null, maxPayload: number | null = null): string {
    const server = this.server;
    if (this.infoBuiltFor !== server.options) {
      this.infoBuiltFor = server.options;
      this.info.build({
        id: server.id,
        name: server.name,
        options: server.options,
        port: server.port,
        authRequired: this.credentialsRequired,
        tls: {},
        jetstreamDomain: server.jetstream === null ? null : server.jetstream.config.domain,
      });
    }
    return this.info.forConnection(cid, ip, nonce, maxPayload, server.inLameDuck);
  }

  /** A reload gave the block a new `tls` (its `verify_and_map` decides certificate mapping from now on). */
  useConfig(config: WebsocketConfig): void {
    this.config = config;
  }

  /** The cluster's name and websocket connect URLs for the INFO; true when the URL list changed. */
  setCluster(name: string, connectURLs: readonly string[]): boolean {
    this.info.setCluster(name, connectURLs);
    const urls = JSON.stringify(connectURLs);
    if (urls === this.clusterURLs) return false;
    this.clusterURLs = urls;
    return true;
  }

  authenticateClient(c: Client, connect: Record<string, unknown>): Promise<AuthenticatedUser | null> {
    const server = this.server;
    if (server.operatorMode) {
      // nats-server fills the CONNECT itself, so a reload's recheck sees the same JWT.
      if (c instanceof WebsocketClient && c.cookieJwt !== null && (typeof connect.jwt !== 'string' || connect.jwt === '')) {
        connect.jwt = c.cookieJwt;
      }
      return server.authenticateClient(c, connect);
    }
    const users = this.users();
    if (this.config.tls?.map === true && !(typeof connect.nkey === 'string' && connect.nkey !== '') && c instanceof WebsocketClient) {
      const cert = peerCertificateOf(c.transport.raw);
      const name = cert === null ? null : tlsMapUsername(certIdentities(cert), users.names());
      return Promise.resolve(name === null ? null : users.identityOf(name));
    }
    return users.authenticate(connect, c.nonce, WEBSOCKET);
  }

  noAuthIdentity(): AuthenticatedUser | null {
    return this.server.operatorMode ? this.server.noAuthIdentity() : this.users().noAuthIdentity();
  }

  bindClient(c: Client, who: AuthenticatedUser): boolean {
    return this.server.bindClient(c, who);
  }

  clientConnected(c: Client): void {
    this.server.clientConnected(c);
  }

  clientAuthFailed(c: Client): void {
    this.server.clientAuthFailed(c);
  }

  removeClient(c: Client): void {
    this.server.removeClient(c);
  }

  countSlowConsumer(c: Client): void {
    this.server.countSlowConsumer(c);
  }

  subscriptionAdded(acc: Account, sub: Subscription): void {
    this.server.subscriptionAdded(acc, sub);
  }

  subscriptionRemoved(acc: Account, sub: Subscription): void {
    this.server.subscriptionRemoved(acc, sub);
  }

  routeMessage(pub: Client, acc: Account, subject: string, reply: string | null, hdrLen: number, buf: Buffer, start: number, end: number, sizeText: string | null): number {
    return this.server.routeMessage(pub, acc, subject, reply, hdrLen, buf, start, end, sizeText);
  }
}
