import { randomBytes } from 'node:crypto';
import { Account } from '../accounts/account.js';
import { GLOBAL_ACCOUNT } from '../accounts/names.js';
import { ERR } from '../protocol/errors.js';
import type { Logger } from '../log/logger.js';
import { type Client, CloseReason } from './client.js';
import { ClientListener } from './client-listener.js';
import { FlushScheduler } from './flush-scheduler.js';
import { Subscription, type InternalHandler } from './subscription.js';
import { validateOptions, type ServerOptions } from './options.js';
import { newServerId } from './server-id.js';
import { NATTER_VERSION, PROTO_VERSION, SERVER_VERSION } from './version.js';
import { securityFromOptions, type SecurityConfig } from '../auth/security-config.js';
import type { AuthenticatedUser, UserTable } from '../auth/users.js';
import { generateNonce } from '../auth/nkey.js';
import { createJwtAuthenticator, type JwtAuthenticator } from '../jwt/operator-mode.js';
import { LiveJwtAccounts } from '../jwt/live-accounts.js';
import { ClaimServices, type ClaimReplies } from '../jwt/claim-services.js';
import { certIdentities, parseTlsBlock, peerCertificateOf, tlsMapUsername } from '../tls/index.js';
import { subscriptionRevoked, type ClientPermissions } from '../auth/permissions.js';
import { ClosedConnections } from './closed-connections.js';
import { diffOptions } from './reload.js';
import type { ClusterHandle } from '../cluster/cluster.js';
import { installSystemEvents, type SystemEventsHandle } from '../accounts/system-events.js';
import type { JetStream } from '../jetstream/jetstream.js';
import type { MonitorSource, ServerStats } from '../monitor/source.js';
import type { ConnectionObserver, InterestListener, MessageForwarder, Unregister } from './core.js';

export type { ConnectionObserver, InterestListener, MessageForwarder } from './core.js';

/** Service responses travel back on `_R_.<random>` subjects, as in nats-server. */
const RESPONSE_PREFIX = '_R_.';
/** Longest chain of cross-account hops one message may take. */
const MAX_IMPORT_DEPTH = 8;

/** How long a paused fast producer waits for its consumer at most. */
const MAX_PRODUCER_STALL_MS = 1000;


/**
 * One Natter server: the client listener, accounts, the connections, and the
 * once-per-turn flush of every connection that has something to send.
 */
export class Server implements MonitorSource {
  options: ServerOptions;
  readonly logger: Logger;
  readonly id = newServerId();
  readonly name: string;
  readonly started = new Date();
  /** When the configuration was last loaded (start or accepted reload). */
  configLoadTime = this.started;
  readonly accounts = new Map<string, Account>();
  readonly globalAccount: Account;
  readonly clients = new Map<number, Client>();
  readonly closed: ClosedConnections;
  readonly stats: ServerStats = { inMsgs: 0, inBytes: 0, outMsgs: 0, outBytes: 0, slowConsumers: 0, totalConnections: 0 };
  /** Kernel-bound backlog above which a consumer is stalled and its producers wait. */
  stallThreshold: number;
  security: SecurityConfig;
  /** Operator mode (decentralized JWT auth): accounts and users come from JWTs. */
  private jwtAuth: JwtAuthenticator | null;

  /** Operator mode: accounts (and their JetStream limits) come from account JWTs. */
  get operatorMode(): boolean {
    return this.jwtAuth !== null;
  }
  /** Operator mode: account JWTs applied to accounts and clients (limits, routes, revocations, expiry). */
  private jwtLive: LiveJwtAccounts | null = null;
  /** verify_and_map: a client's certificate, not its CONNECT, names its user. */
  private tlsMap: boolean;
  inLameDuck = false;
  shuttingDown = false;
  private readonly listener = new ClientListener(this);
  private boundPort = 0;
  /** Shared by every kind of connection (clients, routes): one flush per connection per turn. */
  readonly flusher = new FlushScheduler();
  private pingTimer: NodeJS.Timeout | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private infoPrefix = '';
  private readonly shutdownHooks: Array<() => Promise<void> | void> = [];

  constructor(options: ServerOptions, logger: Logger) {
    validateOptions(options);
    this.options = options;
    this.logger = logger;
    this.name = options.server_name || this.id;
    this.globalAccount = new Account(GLOBAL_ACCOUNT);
    this.accounts.set(GLOBAL_ACCOUNT, this.globalAccount);
    this.stallThreshold = stallThresholdFor(options.max_pending);
    this.jwtAuth = createJwtAuthenticator(options, logger);
    this.security = securityFromOptions(this.jwtAuth === null ? options : withoutSystemAccount(options));
    this.tlsMap = options.tls !== undefined && parseTlsBlock(options.tls).map;
    this.applyAccounts(this.security);
    if (this.jwtAuth !== null) this.jwtLive = new LiveJwtAccounts(this, this.jwtAuth);
    this.closed = new ClosedConnections(10000);
  }

  // ---- lifecycle -------------------------------------------------------------

  async start(): Promise<void> {
    const o = this.options;
    this.logger.info(`Starting nats-server`);
    this.logger.info(`  Version:  ${SERVER_VERSION} (natter ${NATTER_VERSION})`);
    this.logger.info(`  Git:      [not set]`);
    this.logger.info(`  Name:     ${this.name}`);
    this.logger.info(`  ID:       ${this.id}`);
    // JetStream recovers before clients can connect, as in nats-server: no request finds its API missing.
    await this.startJetStream();
    try {
      this.boundPort = await this.listener.listen(o.host, o.port);
    } catch (e) {
      for (const hook of this.shutdownHooks) await hook();
      throw e;
    }
    this.buildInfoPrefix();
    this.logger.info(`Listening for client connections on ${hostPort(o.host, this.boundPort)}`);
    if (o.tls !== undefined && o.allow_non_tls !== true) this.logger.info('TLS required for client connections');
    try {
      await this.startSubsystems();
    } catch (e) {
      // A half-started server must not keep the client port, nor subsystems that did start.
      this.systemEvents?.close();
      this.systemEvents = null;
      await this.listener.stopAccepting();
      for (const hook of this.shutdownHooks) await hook();
      throw e;
    }
    this.startTimers();
    this.logger.info('Server is ready');
  }

  private async startJetStream(): Promise<void> {
    const o = this.options;
    if (o.jetstream === undefined || o.jetstream === false) return;
    // Loaded on demand: servers without JetStream never load it.
    const { startJetStream } = await import('../jetstream/start.js');
    this.jetstream = await startJetStream(this);
  }

  private async startSubsystems(): Promise<void> {
    const o = this.options;
    this.systemEvents = installSystemEvents(this, { reload: () => this.requestReload() });
    if (o.cluster !== undefined) {
      // Loaded on demand, like monitoring: a single embedded server needs none of it.
      const { startCluster } = await import('../cluster/cluster.js');
      const cluster = await startCluster(this);
      this.cluster = cluster;
      cluster.onConnectURLsChanged(() => this.connectURLsChanged());
      this.connectURLsChanged();
    }
    if (o.http_port !== 0 || o.https_port !== 0) {
      // Loaded on demand: embedded test servers rarely want HTTP and start faster without it.
      const { startMonitoring } = await import('../monitor/monitor-server.js');
      const monitor = await startMonitoring(this);
      this.monitorURLs = monitor.urls;
      this.onShutdown(() => monitor.close());
    }
  }

  /** Lets a subsystem (monitoring, later routes...) take part in shutdown. */
  onShutdown(hook: () => Promise<void> | void): void {
    this.shutdownHooks.push(hook);
  }

  addObserver(observer: ConnectionObserver): Unregister {
    this.observers.push(observer);
    return () => removeFrom(this.observers, observer);
  }

  addInterestListener(listener: InterestListener): Unregister {
    this.interestListeners.push(listener);
    return () => removeFrom(this.interestListeners, listener);
  }

  setForwarder(forwarder: MessageForwarder): Unregister {
    if (this.forwarder !== null) throw new Error('another subsystem already forwards messages to peers');
    this.forwarder = forwarder;
    return () => {
      if (this.forwarder === forwarder) this.forwarder = null;
    };
  }

  private readonly accountListeners: Array<() => void> = [];

  onAccountsChanged(listener: () => void): Unregister {
    this.accountListeners.push(listener);
    return () => removeFrom(this.accountListeners, listener);
  }

  accountsChanged(): void {
    for (const l of [...this.accountListeners]) l();
  }

  clientsOf(acc: Account): ReadonlySet<Client> {
    return acc.clients;
  }

  async shutdown(): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.logger.info('Initiating Shutdown...');
    this.stopTimers();
    // SHUTDOWN is announced while clients can still hear it.
    this.systemEvents?.close();
    this.systemEvents = null;
    const closing = this.listener.stopAccepting();
    for (const c of [...this.clients.values()]) c.close(CloseReason.ServerShutdown);
    this.jwtLive?.close();
    this.jwtAuth?.close();
    for (const hook of this.shutdownHooks) await hook();
    // Closed clients had their last bytes handed to the kernel; give the loop one turn, then cut.
    await new Promise((r) => setImmediate(r));
    this.listener.cutLingering();
    await closing;
    this.logger.info('Server Exiting..');
  }

  /**
   * Lame duck mode: stop accepting, tell clients (INFO ldm), then close them
   * spread over lame_duck_duration after a grace period, then shut down.
   */
  async lameDuck(): Promise<void> {
    if (this.inLameDuck || this.shuttingDown) return;
    this.inLameDuck = true;
    const o = this.options;
    this.logger.info('Entering lame duck mode, stop accepting new clients');
    void this.listener.stopAccepting();
    this.cluster?.enterLameDuck();
    this.buildInfoPrefix();
    const ldm = this.infoFor(0, '', null);
    for (const c of this.clients.values()) c.send(ldm);
    // With nobody connected there is nobody to give time to.
    if (this.clients.size > 0) await sleep(o.lame_duck_grace_period);
    const clients = [...this.clients.values()];
    if (clients.length > 0) {
      const spread = Math.max(0, o.lame_duck_duration - o.lame_duck_grace_period);
      const perClient = spread / clients.length;
      this.logger.info(`Closing ${clients.length} existing clients`);
      for (const c of clients) {
        if (this.shuttingDown) break;
        c.close(CloseReason.LameDuck);
        if (perClient >= 1) await sleep(perClient);
      }
    }
    await this.shutdown();
  }

  /**
   * Applies a new option set (SIGHUP). Returns what changed; throws when a
   * change needs a restart, as nats-server refuses those.
   */
  reload(next: ServerOptions): string[] {
    // Everything that can fail runs before anything changes: a refused reload leaves the server as it was.
    validateOptions(next);
    const changes = diffOptions(this.options, next);
    const jwtAuth = createJwtAuthenticator(next, this.logger);
    try {
      const security = securityFromOptions(jwtAuth === null ? next : withoutSystemAccount(next));
      const tlsMap = next.tls !== undefined && parseTlsBlock(next.tls).map;
      // TLS material is the last thing that can fail: after it, the reload cannot be refused.
      this.listener.applyOptions(next);
      this.applyReload(next, changes, jwtAuth, security, tlsMap);
    } catch (e) {
      // The refused configuration's resolver must not keep its directory timers.
      jwtAuth?.close();
      throw e;
    }
    return changes;
  }

  private applyReload(next: ServerOptions, changes: string[], jwtAuth: JwtAuthenticator | null, security: SecurityConfig, tlsMap: boolean): void {
    this.options = next;
    this.tlsMap = tlsMap;
    this.stallThreshold = stallThresholdFor(next.max_pending);
    this.security = security;
    this.jwtLive?.close();
    this.jwtAuth?.close();
    this.jwtAuth = jwtAuth;
    this.applyAccounts(security);
    this.jwtLive = jwtAuth === null ? null : new LiveJwtAccounts(this, jwtAuth);
    this.jetstream?.accountsChanged().catch((e: unknown) => this.logger.error(`JetStream: reload of accounts failed: ${e instanceof Error ? e.message : String(e)}`));
    this.configLoadTime = new Date();
    this.buildInfoPrefix();
    this.stopTimers();
    this.startTimers();
    this.recheckClients();
    for (const change of changes) this.logger.info(`Reloaded: ${change}`);
    this.logger.info('Reloaded server configuration');
  }

  get port(): number {
    return this.boundPort;
  }

  /** Client URLs for the ports file and the embedding API. */
  clientURLs(): string[] {
    return [`nats://${hostPort(advertisedHost(this.options.host), this.boundPort)}`];
  }

  /** URLs for the ports file: clients and (when on) monitoring. */
  ports(): { nats: string[]; monitoring?: string[] } {
    const out: { nats: string[]; monitoring?: string[] } = { nats: this.clientURLs() };
    if (this.monitorURLs.length > 0) out.monitoring = this.monitorURLs;
    return out;
  }

  /** Set by the monitoring listener once it is bound. */
  monitorURLs: string[] = [];

  // ---- connections -----------------------------------------------------------

  /** Subsystems that follow connections (system account events). */
  readonly observers: ConnectionObserver[] = [];

  /** A client passed CONNECT (and authentication, when required). */
  clientConnected(c: Client): void {
    // A repeated CONNECT is not a new connection.
    if (c.announced) return;
    c.announced = true;
    for (const o of this.observers) o.clientConnected(c);
  }

  clientAuthFailed(c: Client): void {
    for (const o of this.observers) o.clientAuthFailed(c);
  }

  /** A new connection, greeted and ready (called by the client listener). */
  addClient(c: Client): void {
    this.stats.totalConnections++;
    this.clients.set(c.cid, c);
    c.account.clients.add(c);
    if (this.logger.debugEnabled) this.logger.debug(`${c.label()} - Client connection created`);
  }

  removeClient(c: Client): void {
    if (!this.clients.delete(c.cid)) return;
    c.account.clients.delete(c);
    this.stats.inMsgs += c.inMsgs;
    this.stats.inBytes += c.inBytes;
    this.stats.outMsgs += c.outMsgs;
    this.stats.outBytes += c.outBytes;
    const t = c.account.closedTotals;
    t.inMsgs += c.inMsgs;
    t.inBytes += c.inBytes;
    t.outMsgs += c.outMsgs;
    t.outBytes += c.outBytes;
    this.closed.add(c);
    if (c.announced) for (const o of this.observers) o.clientClosed(c);
    if (this.logger.debugEnabled) this.logger.debug(`${c.label()} - Client connection closed: ${c.closeReason ?? ''}`);
    this.listener.linger(c.socket);
  }

  /** After the logger's levels changed (reload): connections start or stop protocol tracing. */
  followLogLevels(): void {
    for (const c of this.clients.values()) c.parser.tracing = this.logger.traceEnabled;
  }

  /** Whether clients must authenticate: configured users, or operator mode. */
  get authRequired(): boolean {
    return this.jwtAuth !== null || this.users.authRequired;
  }

  /** The system account's name: configured, named by the operator JWT, or `$SYS`. */
  get systemAccountName(): string {
    return this.jwtAuth?.systemAccount ?? this.security.systemAccount;
  }

  /** The user table of the current configuration. */
  get users(): UserTable {
    return this.security.userTable;
  }

  /**
   * Who a CONNECT makes the client: with verify_and_map the verified
   * certificate names the user (an nkey in CONNECT still goes first, as in
   * nats-server); otherwise the CONNECT credentials are checked.
   */
  authenticateClient(c: Client, connect: Record<string, unknown>): Promise<AuthenticatedUser | null> {
    const users = this.users;
    if (this.jwtAuth !== null) return this.jwtAuth.authenticate(connect, c.nonce, c.host);
    if (this.tlsMap && !(typeof connect.nkey === 'string' && connect.nkey !== '')) {
      const cert = peerCertificateOf(c.socket);
      const name = cert === null ? null : tlsMapUsername(certIdentities(cert), users.names());
      return Promise.resolve(name === null ? null : users.identityOf(name));
    }
    return users.authenticate(connect, c.nonce);
  }

  /** What a new connection needs to know about authentication. */
  authFor(): { required: boolean; timeoutMs: number; nonce: string | null } {
    const users = this.users;
    return {
      required: this.authRequired,
      timeoutMs: users.timeoutMs ?? this.options.auth_timeout,
      nonce: this.jwtAuth !== null || users.nonceRequired ? generateNonce() : null,
    };
  }

  /**
   * Binds an authenticated client to its account and permissions. False
   * when the account cannot take clients (unknown, or the system account
   * for a user that is not a system user).
   */
  bindClient(c: Client, who: AuthenticatedUser): boolean {
    const acc = this.accounts.get(who.account);
    if (acc === undefined) return false;
    if (this.jwtLive !== null && !this.jwtLive.admit(c, acc)) return false;
    if (c.account !== acc) {
      if (c.subs.size > 0) return false;
      c.account.clients.delete(c);
      acc.clients.add(c);
      c.account = acc;
    }
    c.authUser = who.name;
    c.perms = who.permissions === null ? null : who.permissions.forClient();
    this.jwtLive?.bound(c, who);
    return true;
  }

  /** Creates an account that appeared while running (operator mode: an account JWT loaded or pushed). */
  addAccount(name: string): Account {
    const acc = new Account(name);
    this.accounts.set(name, acc);
    return acc;
  }

  /** `$SYS` claim requests (operator mode), answered through `replies`; none otherwise. */
  claimRequestHandlers(replies: ClaimReplies): Array<[string, InternalHandler]> {
    return new ClaimServices(() => this.jwtAuth, replies, this.logger).handlers();
  }

  /** Creates configured accounts and installs their import routes. */
  private applyAccounts(sec: SecurityConfig): void {
    const names = new Set<string>([GLOBAL_ACCOUNT, this.systemAccountName, ...sec.accounts.map((a) => a.name), ...(this.jwtAuth?.accounts() ?? [])]);
    for (const name of names) {
      if (!this.accounts.has(name)) this.accounts.set(name, new Account(name));
    }
    for (const acc of this.accounts.values()) {
      // In operator mode the account JWTs give the routes (LiveJwtAccounts).
      if (this.jwtAuth === null) acc.setRoutes(sec.routes.streamImportsFrom(acc.name), sec.routes.serviceImportsOf(acc.name));
      acc.updated = new Date();
    }
  }

  /**
   * After a reload: every client's saved CONNECT is checked against the new
   * users. Those who no longer pass, or whose account changed, are cut
   * (the password-rotation procedure relies on this); the rest get the new permissions.
   */
  private recheckClients(): void {
    const users = this.users;
    for (const c of [...this.clients.values()]) {
      if (!c.authorized || c.closed) continue;
      if (!this.authRequired) {
        // Without any authorization a named user no longer exists: nats-server drops such clients quietly.
        if (c.authUser !== '') this.dropAfterReload(c, false);
        else this.applyPermissions(c, null);
        continue;
      }
      const creds = c.credentials ?? {};
      const account = c.account;
      this.authenticateClient(c, creds).then((who) => {
        if (c.closed) return;
        if (who === null) {
          // A removed user is closed quietly; a changed password or token is a violation.
          this.dropAfterReload(c, c.authUser === '' || users.knows(c.authUser));
        } else if (who.account !== account.name || !this.bindClient(c, who)) {
          this.dropAfterReload(c, false);
        } else {
          this.applyPermissions(c, c.perms);
        }
      }, () => this.dropAfterReload(c, true));
    }
  }

  private dropAfterReload(c: Client, violation: boolean): void {
    this.logger.info(`${c.label()} - closing connection: user no longer authorized after reload`);
    if (violation) c.sendErrAndClose(ERR.authViolation, CloseReason.AuthViolation);
    else c.close(CloseReason.ClientClosed);
  }

  /** New permissions on a live client: subscriptions they no longer allow are removed, each with an -ERR. */
  private applyPermissions(c: Client, perms: ClientPermissions | null): void {
    c.perms = perms;
    if (perms === null) return;
    for (const sub of [...c.subs.values()]) {
      if (perms.canSubscribe(sub.subject, sub.queue)) continue;
      c.sendErr(subscriptionRevoked(sub.subject, sub.sid));
      c.removeSub(sub);
    }
  }

  /**
   * The INFO line for a connection (cid 0: the shared part, for async INFO
   * updates); `maxPayload` replaces the server's for a client whose user or
   * account has a lower limit.
   */
  infoFor(cid: number, ip: string, nonce: string | null, maxPayload: number | null = null): string {
    let s = this.infoPrefix;
    if (maxPayload !== null) s = s.replace(`"max_payload":${this.options.max_payload}`, `"max_payload":${maxPayload}`);
    if (cid !== 0) s += `,"client_id":${cid},"client_ip":${JSON.stringify(ip)}`;
    if (nonce !== null) s += `,"nonce":${JSON.stringify(nonce)}`;
    s += this.clusterInfo;
    if (this.inLameDuck) s += ',"ldm":true';
    return `INFO ${s}} \r\n`;
  }

  /** `$SYS` events and services; running between start and shutdown. */
  systemEvents: SystemEventsHandle | null = null;
  /**
   * Re-reads the configuration for `$SYS.REQ.SERVER.<id>.RELOAD`; the CLI
   * sets it when the server runs from a config file.
   */
  reloadConfig: (() => Promise<void>) | null = null;

  private requestReload(): Promise<void> {
    if (this.reloadConfig === null) {
      return Promise.reject(new Error('can only reload config when a file is provided using -c or --config'));
    }
    return this.reloadConfig();
  }

  /** The JetStream engine when enabled (for INFO, /jsz, /varz). */
  jetstream: JetStream | null = null;

  /** The cluster layer, when this server is part of one (for /routez, /varz). */
  cluster: ClusterHandle | null = null;
  /** `,"cluster":...,"connect_urls":[...]` for client INFO; empty when not clustered. */
  private clusterInfo = '';

  /** Routed servers came or went: clients learn the new URLs through an async INFO, as in nats-server. */
  private connectURLsChanged(): void {
    const cluster = this.cluster;
    if (cluster === null) return;
    const urls = cluster.clientConnectURLs();
    const name = cluster.varz()?.name ?? '';
    this.clusterInfo = (name !== '' ? `,"cluster":${JSON.stringify(name)}` : '') +
      (urls.length > 0 ? `,"connect_urls":${JSON.stringify(urls)}` : '');
    const info = this.infoFor(0, '', null);
    for (const c of this.clients.values()) {
      if (c.connectReceived && c.protocol >= 1) c.send(info);
    }
  }

  private buildInfoPrefix(): void {
    const o = this.options;
    const info: Record<string, unknown> = {
      server_id: this.id,
      server_name: this.name,
      version: SERVER_VERSION,
      proto: PROTO_VERSION,
      go: `node${process.versions.node}`,
      host: o.host,
      port: this.boundPort,
      headers: !o.no_header_support,
    };
    if (this.jwtAuth !== null || (this.users.authRequired && this.users.noAuthIdentity() === null)) info.auth_required = true;
    Object.assign(info, this.listener.tlsInfo());
    info.max_payload = o.max_payload;
    if (this.jetstream !== null) {
      info.jetstream = true;
      // nats-server writes the domain after the per-client fields; clients read it by name.
      if (this.jetstream.config.domain !== '') info.domain = this.jetstream.config.domain;
    }
    info.natter_version = NATTER_VERSION;
    const json = JSON.stringify(info);
    this.infoPrefix = json.slice(0, -1);
  }

  // ---- message routing (hot path) ------------------------------------------

  /**
   * Delivers a published message to every matching subscription of the
   * account: all plain subscribers, one member of each queue group.
   * Returns how many subscriptions got it.
   */
  routeMessage(pub: Client | null, acc: Account, subject: string, reply: string | null, hdrLen: number, buf: Buffer, start: number, end: number, sizeText: string | null): number {
    const forwarder = this.forwarder;
    const outer = this.queueRecord;
    let served: string[] | null = null;
    if (forwarder !== null) {
      // An internal handler may publish while an outer publish is being routed: that one keeps its list.
      served = this.routing === 0 ? this.localQueues : [];
      served.length = 0;
    }
    this.routing++;
    // Stream-import deliveries record too: an importer's queue group stands for the exporter's shadow group.
    this.queueRecord = served;
    let delivered = this.deliverLocal(pub, acc, subject, reply, hdrLen, buf, start, end, sizeText);
    if (acc.crossAccount) delivered += this.routeAcrossAccounts(pub, acc, subject, reply, hdrLen, buf, start, end, 0, null, true);
    this.queueRecord = outer;
    this.routing--;
    if (forwarder !== null) delivered += forwarder.forward(acc, subject, reply, hdrLen, buf, start, end, served as string[]);
    return delivered;
  }

  /**
   * A message that arrived from a peer server (route): delivered here only,
   * never forwarded again. `queues` names the queue groups this server
   * should serve (one member each); plain subscribers always get it. The
   * groups of `queues` nobody here could take (the member left meanwhile)
   * are added to `unserved`, for the caller to hand on.
   */
  deliverFromPeer(acc: Account, subject: string, reply: string | null, hdrLen: number, buf: Buffer, start: number, end: number, queues: readonly string[], unserved: string[] | null = null): number {
    const outer = this.queueRecord;
    let served: string[] | null = null;
    if (unserved !== null && queues.length > 0) {
      served = this.peerQueues;
      served.length = 0;
    }
    this.queueRecord = served;
    let delivered = this.deliverLocal(null, acc, subject, reply, hdrLen, buf, start, end, null, queues);
    if (acc.crossAccount) delivered += this.routeAcrossAccounts(null, acc, subject, reply, hdrLen, buf, start, end, 0, queues, false);
    this.queueRecord = outer;
    if (served !== null && unserved !== null) {
      for (let i = 0; i < queues.length; i++) if (!served.includes(queues[i])) unserved.push(queues[i]);
    }
    return delivered;
  }

  // ---- cluster plug points ---------------------------------------------------

  /** Set by the cluster layer: carries client publishes to peers with interest. */
  forwarder: MessageForwarder | null = null;
  /** Queue groups of the publishing account served locally by the publish being routed (for the forwarder). */
  private readonly localQueues: string[] = [];
  /** Where deliverLocal notes the queue groups it served; null: nobody asks. */
  private queueRecord: string[] | null = null;
  /** routeMessage calls under way (internal handlers can publish from inside one). */
  private routing = 0;
  /** Queue groups served for the routed message being delivered (peer input never nests). */
  private readonly peerQueues: string[] = [];
  /** Told about every subscription that comes and goes, in every account. */
  readonly interestListeners: InterestListener[] = [];

  subscriptionAdded(acc: Account, sub: Subscription): void {
    for (const l of this.interestListeners) l.subscriptionAdded(acc, sub);
  }

  subscriptionRemoved(acc: Account, sub: Subscription): void {
    for (const l of this.interestListeners) l.subscriptionRemoved(acc, sub);
  }

  /**
   * A message entering `acc` from another account: its subscribers, peers
   * with interest in `acc` (only when the message began on this server:
   * a routed one was already spread by its origin), then `acc`'s own
   * onward routes.
   */
  private routeIn(pub: Client | null, acc: Account, subject: string, reply: string | null, hdrLen: number, buf: Buffer, start: number, end: number, depth: number, local: boolean): number {
    const forwarder = local ? this.forwarder : null;
    const outer = this.queueRecord;
    // Queue groups served here are not offered to peers; the caller's own record must not see `acc`'s groups.
    const served: string[] | null = forwarder === null ? null : [];
    this.queueRecord = served;
    let delivered = this.deliverLocal(pub, acc, subject, reply, hdrLen, buf, start, end, null);
    this.queueRecord = null;
    if (forwarder !== null) delivered += forwarder.forwardImport(acc, subject, reply, hdrLen, buf, start, end, served as string[]);
    if (acc.crossAccount) delivered += this.routeAcrossAccounts(pub, acc, subject, reply, hdrLen, buf, start, end, depth + 1, null, local);
    this.queueRecord = outer;
    return delivered;
  }

  /**
   * Stream exports, service imports and service responses of `acc`: the
   * message is delivered again in each account a route leads to, with the
   * subject (and for services the reply) mapped into that account's space.
   * Cycles are refused at load; the depth bound guards chains anyway.
   * A message from a peer (`local` false) takes responses and stream
   * imports only: its origin already went through the service imports, as
   * nats-server ignores them on routed messages. `queueFilter` is the
   * routed message's queue section: the importers' queue groups are the
   * exporter's shadow groups of the same names.
   */
  private routeAcrossAccounts(pub: Client | null, acc: Account, subject: string, reply: string | null, hdrLen: number, buf: Buffer, start: number, end: number, depth: number, queueFilter: readonly string[] | null, local: boolean): number {
    if (depth >= MAX_IMPORT_DEPTH) return 0;
    let delivered = 0;
    if (acc.responses.size > 0 && subject.startsWith(RESPONSE_PREFIX)) {
      const e = acc.responses.get(subject);
      if (e !== undefined) {
        if (e.type === 'singleton') {
          acc.responses.delete(subject);
          acc.refreshCrossAccount();
        }
        delivered += this.routeIn(pub, e.account, e.reply, reply, hdrLen, buf, start, end, depth, local);
      }
    }
    const streams = acc.streamExports;
    for (let i = 0; i < streams.length; i++) {
      const route = streams[i];
      const mapped = route.map(subject);
      const importer = mapped === null ? undefined : this.accounts.get(route.importer);
      // A stream import reaches the importer's own subscribers only; it does not pass on further.
      if (importer !== undefined) delivered += this.deliverLocal(pub, importer, mapped as string, reply, hdrLen, buf, start, end, null, queueFilter);
    }
    if (!local) return delivered;
    const services = acc.serviceImports;
    for (let i = 0; i < services.length; i++) {
      const route = services[i];
      if (!route.covers(subject)) continue;
      const to = route.toExporter(subject);
      const exporter = this.accounts.get(route.exporter);
      if (to === null || exporter === undefined) continue;
      // The import itself is interest, as in nats-server: no 503 even when nobody serves it yet.
      delivered++;
      let mappedReply: string | null = null;
      if (reply !== null) {
        // The responder sees a private reply subject; its answer is mapped back to the requester's.
        mappedReply = exporter.responsePrefix + randomBytes(12).toString('base64url');
        exporter.responses.set(mappedReply, { account: acc, reply, type: route.responseType, expires: Date.now() + route.responseThresholdMs });
        exporter.crossAccount = true;
      }
      if (hdrLen > 0) {
        // Requests with headers tell the responder who is asking (nats-server's Nats-Request-Info).
        const withInfo = addRequestInfo(buf, start, hdrLen, end, acc.name, pub);
        delivered += this.routeIn(pub, exporter, to, mappedReply, withInfo.hdrLen, withInfo.msg, 0, withInfo.msg.length, depth, local);
      } else {
        delivered += this.routeIn(pub, exporter, to, mappedReply, hdrLen, buf, start, end, depth, local);
      }
    }
    return delivered;
  }

  /** Delivers to the subscribers of one account: all plain ones, one member per queue group. */
  private deliverLocal(pub: Client | null, acc: Account, subject: string, reply: string | null, hdrLen: number, buf: Buffer, start: number, end: number, sizeText: string | null, queueFilter: readonly string[] | null = null, shown: string | null = null): number {
    const r = acc.sublist.match(subject);
    const psubs = r.psubs;
    const qsubs = r.qsubs;
    if (psubs.length === 0 && qsubs.length === 0) return 0;
    const size = end - start;
    let head: string;
    let tail: string;
    if (shown !== null) {
      head = (hdrLen < 0 ? 'MSG ' : 'HMSG ') + shown + ' ';
      tail = (reply === null ? '' : reply + ' ') + (hdrLen < 0 ? '' : hdrLen + ' ') + size + '\r\n';
    } else if (sizeText !== null) {
      // Sizes written with leading zeros are echoed as written (nats-server copies the bytes).
      head = hdrLen < 0 ? 'MSG ' + subject + ' ' : 'HMSG ' + subject + ' ';
      tail = (reply === null ? '' : reply + ' ') + sizeText + '\r\n';
    } else if (hdrLen < 0) {
      head = r.msgHead ??= 'MSG ' + subject + ' ';
      tail = reply === null ? sizeTail(size) : reply + ' ' + size + '\r\n';
    } else {
      head = r.hmsgHead ??= 'HMSG ' + subject + ' ';
      tail = reply === null ? hdrLen + ' ' + size + '\r\n' : reply + ' ' + hdrLen + ' ' + size + '\r\n';
    }
    let delivered = 0;
    for (let i = 0; i < psubs.length; i++) {
      if (this.deliver(pub, psubs[i], subject, head, tail, hdrLen, reply, buf, start, end)) delivered++;
    }
    for (let g = 0; g < qsubs.length; g++) {
      const group = qsubs[g];
      const n = group.length;
      const queue = group[0].queue as string;
      if (queueFilter !== null && !queueFilter.includes(queue)) continue;
      // Random start, then the next member that can take it (echo, max, closed).
      const first = (Math.random() * n) | 0;
      for (let k = 0; k < n; k++) {
        if (this.deliver(pub, group[(first + k) % n], subject, head, tail, hdrLen, reply, buf, start, end)) {
          delivered++;
          const record = this.queueRecord;
          if (record !== null) record.push(queue);
          break;
        }
      }
    }
    return delivered;
  }

  private deliver(pub: Client | null, sub: Subscription, subject: string, head: string, tail: string, hdrLen: number, reply: string | null, buf: Buffer, start: number, end: number): boolean {
    const c = sub.client;
    if (c === null) return this.deliverInternal(pub, sub, subject, hdrLen, reply, buf, start, end);
    if (sub.closed || c.closed) return false;
    if (c === pub && !pub.echo) return false;
    const perms = c.perms;
    // Deny rules inside a wildcard subscription's range are enforced here, per subject.
    if (perms !== null && perms.filtersDeliveries && perms.deniesDelivery(subject)) return false;
    sub.delivered++;
    if (sub.max > 0 && sub.delivered >= sub.max) {
      if (sub.delivered > sub.max) {
        c.removeSub(sub);
        return false;
      }
      c.removeSub(sub);
    }
    if (hdrLen >= 0 && !c.headers) {
      // A subscriber that did not negotiate headers gets the payload alone.
      const bodyStart = start + hdrLen;
      c.enqueueMsg(sub, 'MSG' + head.slice(4), (reply === null ? '' : reply + ' ') + (end - bodyStart) + '\r\n', buf, bodyStart, end);
    } else {
      c.enqueueMsg(sub, head, tail, buf, start, end);
    }
    if (reply !== null && perms !== null && perms.tracksReplies) perms.allowReply(reply);
    if (c.stalled && pub !== null) c.addStalledProducer(pub);
    return true;
  }

  private deliverInternal(pub: Client | null, sub: Subscription, subject: string, hdrLen: number, reply: string | null, buf: Buffer, start: number, end: number): boolean {
    if (sub.closed || sub.handler === null) return false;
    sub.delivered++;
    try {
      sub.handler(subject, reply, hdrLen, buf.subarray(start, end), pub);
    } catch (e) {
      this.logger.error(`Internal subscription on "${sub.subject}" failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    return true;
  }

  // ---- internal clients ------------------------------------------------------

  private nextInternalSid = 1;

  /** Subscribes the server itself in `acc`; the handler runs synchronously on delivery. */
  subscribeInternal(acc: Account, subject: string, queue: string | null, handler: InternalHandler): Subscription {
    const sub = new Subscription(null, subject, queue, String(this.nextInternalSid++), handler);
    if (!acc.sublist.insert(sub)) throw new Error(`invalid internal subscription subject "${subject}"`);
    this.subscriptionAdded(acc, sub);
    return sub;
  }

  unsubscribeInternal(acc: Account, sub: Subscription): void {
    if (sub.closed) return;
    sub.closed = true;
    if (acc.sublist.remove(sub)) this.subscriptionRemoved(acc, sub);
  }

  /**
   * Publishes a message from the server itself into `acc`, routed like a
   * client's (imports included). `headers` is a full NATS/1.0 header block.
   */
  publishInternal(acc: Account, subject: string, reply: string | null, payload: Buffer | string, headers: string | Buffer | null = null): number {
    const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
    let msg = body;
    let hdrLen = -1;
    if (headers !== null) {
      const h = typeof headers === 'string' ? Buffer.from(headers, 'latin1') : headers;
      msg = Buffer.concat([h, body]);
      hdrLen = h.length;
    }
    return this.routeMessage(null, acc, subject, reply, hdrLen, msg, 0, msg.length, null);
  }

  /**
   * Delivers a server-made message to the local subscribers of `routeSubject`
   * while showing them `shownSubject` in MSG/HMSG, as JetStream does: a pull
   * or push delivery travels to the consumer's inbox but carries the
   * stream message's own subject. `msg` holds the header block (hdrLen
   * bytes, -1 for none) followed by the payload.
   */
  deliverInternalAs(acc: Account, routeSubject: string, shownSubject: string, reply: string | null, hdrLen: number, msg: Buffer): number {
    return this.deliverLocal(null, acc, routeSubject, reply, hdrLen, msg, 0, msg.length, null, null, shownSubject);
  }

  // ---- outbound scheduling -------------------------------------------------

  /** Puts a connection on this turn's flush list. */
  queueFlush(c: Client): void {
    this.flusher.queue(c);
  }

  watchPausedProducer(c: Client): void {
    setTimeout(() => c.resume(), MAX_PRODUCER_STALL_MS).unref();
  }

  countSlowConsumer(c: Client): void {
    this.stats.slowConsumers++;
    c.account.slowConsumers++;
  }

  // ---- timers ----------------------------------------------------------------

  private startTimers(): void {
    const o = this.options;
    if (o.ping_interval > 0) {
      this.pingTimer = setInterval(() => this.pingSweep(), o.ping_interval);
      this.pingTimer.unref();
    }
    const sweepEvery = Math.max(10, Math.min(1000, o.write_deadline / 2));
    this.sweepTimer = setInterval(() => this.housekeeping(), sweepEvery);
    this.sweepTimer.unref();
  }

  private stopTimers(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.pingTimer = this.sweepTimer = null;
  }

  /** PINGs every client that was quiet for a whole interval; too many unanswered is 'Stale Connection'. */
  private pingSweep(): void {
    const o = this.options;
    const now = Date.now();
    for (const c of this.clients.values()) {
      if (c.closed) continue;
      if (c.pingsOut + 1 > o.ping_max) {
        this.logger.debug(`${c.label()} - Stale Client Connection - Closing`);
        c.sendErrAndClose(ERR.staleConnection, CloseReason.StaleConnection);
        continue;
      }
      if (now - c.lastActivity < o.ping_interval && c.pingsOut === 0) continue;
      c.sendPing();
    }
  }

  /**
   * Periodic upkeep: expired service-response mappings go, and connections
   * are cut whose socket made no progress for longer than write_deadline
   * while bytes were waiting (a peer that stopped reading). Progress, not
   * emptiness, is what counts, so a busy stream is never cut.
   */
  private housekeeping(): void {
    const deadline = this.options.write_deadline;
    const now = Date.now();
    for (const acc of this.accounts.values()) acc.expireResponses(now);
    for (const c of this.clients.values()) {
      const waiting = c.socket.writableLength;
      if (waiting === 0 || c.closed) {
        c.stuckSince = 0;
        continue;
      }
      const sent = c.bytesHanded - waiting;
      if (c.stuckSince === 0 || sent !== c.sentMark) {
        c.sentMark = sent;
        c.stuckSince = now;
      } else if (now - c.stuckSince > deadline) {
        c.slowConsumer(CloseReason.SlowConsumerWriteDeadline);
      }
    }
  }

  /** Totals including live connections (closed ones are folded into `stats`). */
  totals(): ServerStats {
    const t = { ...this.stats };
    for (const c of this.clients.values()) {
      t.inMsgs += c.inMsgs;
      t.inBytes += c.inBytes;
      t.outMsgs += c.outMsgs;
      t.outBytes += c.outBytes;
    }
    return t;
  }

}

/**
 * Inserts `Nats-Request-Info: {"acc":...,"rtt":...}` (rtt in nanoseconds)
 * at the end of a message's header block.
 */
function addRequestInfo(buf: Buffer, start: number, hdrLen: number, end: number, account: string, pub: Client | null): { msg: Buffer; hdrLen: number } {
  const info = Buffer.from(`Nats-Request-Info: ${JSON.stringify({ acc: account, rtt: Math.round((pub?.rtt ?? 0) * 1e6) })}\r\n`);
  // The header block ends with an empty line; the new header goes before it.
  const cut = start + hdrLen - 2;
  const msg = Buffer.concat([buf.subarray(start, cut), info, buf.subarray(cut, end)]);
  return { msg, hdrLen: hdrLen + info.length };
}

/** In operator mode the system account is a public key the static account config does not know. */
function withoutSystemAccount(o: ServerOptions): ServerOptions {
  const { system_account: _named, ...rest } = o;
  return rest;
}

/** "<size>\r\n" strings, made once per size: most traffic repeats a few sizes. */
const SIZE_TAIL_MAX = 16384;
const SIZE_TAILS = new Array<string | undefined>(SIZE_TAIL_MAX + 1);
function sizeTail(size: number): string {
  if (size > SIZE_TAIL_MAX) return size + '\r\n';
  return SIZE_TAILS[size] ??= size + '\r\n';
}

/** Producers wait once a consumer has this much unsent in the kernel path. */
function stallThresholdFor(maxPending: number): number {
  return Math.max(64 * 1024, Math.min(maxPending / 4, 8 * 1024 * 1024));
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** What clients should dial when the server listens on every interface. */
function advertisedHost(host: string): string {
  return host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
}

function removeFrom<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
