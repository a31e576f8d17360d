import { Account } from '../accounts/account.js';
import { GLOBAL_ACCOUNT } from '../accounts/names.js';
import { ERR } from '../protocol/errors.js';
import type { Logger } from '../log/logger.js';
import { type Client, CloseReason, type ConnectionAuth } from './client.js';
import { ClientListener, type ListenerHost } from './client-listener.js';
import { ClientAuthenticator, recheckClients } from './client-auth.js';
import { InfoLine } from './info-line.js';
import { MessageRouter } from './message-router.js';
import { MsgTracer } from '../trace/msg-tracer.js';
import { FlushScheduler } from './flush-scheduler.js';
import { Subscription, type InternalHandler } from './subscription.js';
import { validateOptions, type ServerOptions } from './options.js';
import { newServerId } from './server-id.js';
import { NATTER_VERSION, SERVER_VERSION } from './version.js';
import type { SecurityConfig } from '../auth/security-config.js';
import type { AuthenticatedUser } from '../auth/users.js';
import { createJwtAuthenticator, type JwtAuthenticator } from '../jwt/operator-mode.js';
import { LiveJwtAccounts } from '../jwt/live-accounts.js';
import { ClaimServices, type ClaimReplies } from '../jwt/claim-services.js';
import { ClosedConnections } from './closed-connections.js';
import { diffOptions } from './reload.js';
import type { ClusterHandle } from '../cluster/handle.js';
import type { LeafNodeHandle } from '../leafnode/handle.js';
import type { WebsocketHandle } from '../websocket/handle.js';
import type { PeerGather } from './peer-gather.js';
import { RoutedInterest } from './routed-interest.js';
import type { Publisher } from './routed-message.js';
import { ConnectionUpkeep } from './connection-upkeep.js';
import { installSystemEvents, type SystemEventsHandle } from '../accounts/system-events.js';
import type { JetStream } from '../jetstream/jetstream.js';
import { configuredClusterName, jetStreamOn } from '../jetstream/cluster/mode.js';
import { peerIdOf } from '../jetstream/cluster/peers.js';
import type { MonitorSource, ServerStats } from '../monitor/source.js';
import type { ConnectionObserver, InterestListener, MessageForwarder, Unregister } from './core.js';
import { parseTlsBlock, type TlsConfig } from '../tls/index.js';

/**
 * One Natter server: the client listener, accounts, the connections, and the
 * once-per-turn flush of every connection that has something to send.
 */
export class Server implements MonitorSource, ListenerHost {
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
  /** How clients authenticate under the configuration in force. */
  private auth: ClientAuthenticator;
  private readonly router: MessageRouter;
  /** The client connections bound to each account (ServerCore.clientsOf). */
  private readonly accountClients = new Map<Account, Set<Client>>();

  /** Operator mode: accounts (and their JetStream limits) come from account JWTs. */
  get operatorMode(): boolean {
    return this.jwtAuth !== null;
  }
  /** Operator mode: account JWTs applied to accounts and clients (limits, routes, revocations, expiry). */
  private jwtLive: LiveJwtAccounts | null = null;
  inLameDuck = false;
  shuttingDown = false;
  private readonly listener = new ClientListener(this);
  /** The client port's `tls` block, parsed; null when the port is plain. */
  private tls: TlsConfig | null;
  private boundPort = 0;
  /** Shared by every kind of connection (clients, routes): one flush per connection per turn. */
  readonly flusher = new FlushScheduler();
  /** Keepalive PINGs and write deadlines of every connection kind, and periodic chores: one timer. */
  private readonly upkeep = new ConnectionUpkeep(this);
  private stopResponseExpiry: (() => void) | null = null;
  private readonly info = new InfoLine();
  private readonly shutdownHooks: Array<() => Promise<void> | void> = [];

  constructor(options: ServerOptions, logger: Logger) {
    validateOptions(options);
    this.options = options;
    this.logger = logger;
    this.name = options.server_name || this.id;
    this.globalAccount = new Account(GLOBAL_ACCOUNT);
    this.accounts.set(GLOBAL_ACCOUNT, this.globalAccount);
    this.stallThreshold = stallThresholdFor(options.max_pending);
    // The tls block is parsed once per configuration; the listener and verify_and_map share the result.
    this.tls = tlsConfigOf(options);
    this.auth = new ClientAuthenticator(options, createJwtAuthenticator(options, logger), this.tls);
    this.router = new MessageRouter(this.accounts, logger);
    this.router.tracer = new MsgTracer(this);
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
    // As nats-server: a configured cluster name, and the Raft node id of a JetStream server.
    const clusterName = configuredClusterName(o);
    if (clusterName !== '') this.logger.info(`  Cluster:  ${clusterName}`);
    this.logger.info(`  Name:     ${this.name}`);
    if (jetStreamOn(o)) this.logger.info(`  Node:     ${peerIdOf(this.name)}`);
    this.logger.info(`  ID:       ${this.id}`);
    this.afterBanner?.();
    // JetStream recovers before clients can connect, as in nats-server: no request finds its API missing.
    await this.startJetStream();
    try {
      this.boundPort = await this.listener.listen(o.host, o.port, this.tls);
    } catch (e) {
      for (const hook of this.shutdownHooks) await hook();
      throw e;
    }
    this.buildInfo();
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
    // Service-response mappings nobody answered expire.
    this.stopResponseExpiry = this.upkeep.addChore(() => {
      const now = Date.now();
      for (const acc of this.accounts.values()) acc.expireResponses(now);
    });
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
    this.systemEvents = installSystemEvents(this, { reload: () => this.requestReload(), claimRequestHandlers: (replies) => this.claimRequestHandlers(replies) });
    // Websocket before the cluster, as nats-server: route INFO carries the websocket URLs.
    if (o.websocket !== undefined) {
      const { startWebsocket } = await import('../websocket/websocket-listener.js');
      this.websocket = await startWebsocket(this);
    }
    if (o.cluster !== undefined) {
      // Loaded on demand, like monitoring: a single embedded server needs none of it.
      const { startCluster } = await import('../cluster/cluster.js');
      const cluster = await startCluster(this, { upkeep: this.upkeep, websocketURLs: this.websocket?.connectURLs ?? [] });
      this.cluster = cluster;
      cluster.onConnectURLsChanged(() => this.connectURLsChanged());
      cluster.onWebsocketConnectURLsChanged(() => this.websocketURLsChanged());
      this.connectURLsChanged();
    }
    if (o.leafnodes !== undefined) {
      const { startLeafNodes } = await import('../leafnode/leafnodes.js');
      this.leafnodes = await startLeafNodes(this, { upkeep: this.upkeep });
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

  private readonly lameDuckHooks: Array<() => Promise<void> | void> = [];

  onLameDuck(hook: () => Promise<void> | void): Unregister {
    this.lameDuckHooks.push(hook);
    return () => removeFrom(this.lameDuckHooks, hook);
  }

  private readonly reloadHooks: Array<(next: ServerOptions) => () => void> = [];

  onReload(prepare: (next: ServerOptions) => () => void): Unregister {
    this.reloadHooks.push(prepare);
    return () => removeFrom(this.reloadHooks, prepare);
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
    const router = this.router;
    if (router.forwarder !== null) throw new Error('another subsystem already forwards messages to peers');
    router.forwarder = forwarder;
    return () => {
      if (router.forwarder === forwarder) router.forwarder = null;
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
    return this.accountClients.get(acc) ?? NO_CLIENTS;
  }

  /** Notes that `c` is bound to `acc` now. */
  private bindToAccount(c: Client, acc: Account): void {
    let set = this.accountClients.get(acc);
    if (set === undefined) this.accountClients.set(acc, set = new Set());
    set.add(c);
  }

  private unbindFromAccount(c: Client, acc: Account): void {
    this.accountClients.get(acc)?.delete(c);
  }

  async shutdown(): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.logger.info('Initiating Shutdown...');
    this.stopResponseExpiry?.();
    this.stopResponseExpiry = null;
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
    for (const hook of [...this.lameDuckHooks]) {
      try {
        await hook();
      } catch (e) {
        this.logger.error(`Lame duck: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    this.buildInfo();
    const ldm = this.infoFor(0, '', null);
    // Each client hears it in its own kind's INFO (websocket clients: no TLS fields, no client-port URLs).
    for (const c of this.clients.values()) c.send(c.server === this ? ldm : c.server.infoFor(0, '', null));
    // With nobody connected there is nobody to give time to.
    if (this.clients.size > 0) await sleep(o.lame_duck_grace_period);
    const clients = [...this.clients.values()];
    if (clients.length > 0) {
      const spread = Math.max(0, o.lame_duck_duration - o.lame_duck_grace_period);
      const perClient = spread / clients.length;
      this.logger.info(`Closing ${clients.length} existing clients`);
      for (let i = 0; i < clients.length; i++) {
        if (this.shuttingDown) break;
        clients[i].close(CloseReason.LameDuck);
        // As nats-server: no wait after the last client, so a server with one client left exits at once.
        if (i < clients.length - 1 && perClient >= 1) await sleep(perClient);
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
      const tls = tlsConfigOf(next);
      const auth = new ClientAuthenticator(next, jwtAuth, tls);
      const commits = this.reloadHooks.map((prepare) => prepare(next));
      // TLS material is the last thing that can fail: after it, the reload cannot be refused.
      this.listener.applyOptions(next, tls);
      this.tls = tls;
      this.applyReload(next, changes, auth);
      for (const commit of commits) commit();
    } catch (e) {
      // The refused configuration's resolver must not keep its directory timers.
      jwtAuth?.close();
      throw e;
    }
    return changes;
  }

  private applyReload(next: ServerOptions, changes: string[], auth: ClientAuthenticator): void {
    const jwtAuth = auth.jwt;
    this.options = next;
    this.stallThreshold = stallThresholdFor(next.max_pending);
    this.jwtLive?.close();
    this.jwtAuth?.close();
    this.auth = auth;
    this.applyAccounts(auth.security);
    this.jwtLive = jwtAuth === null ? null : new LiveJwtAccounts(this, jwtAuth);
    this.accountsChanged();
    this.configLoadTime = new Date();
    this.buildInfo();
    recheckClients(this, auth);
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

  /**
   * URLs for the ports file: clients, and monitoring and cluster when on.
   * Complete once start() resolved: every listener is bound by then.
   */
  ports(): ServerPorts {
    const out: ServerPorts = { nats: this.clientURLs() };
    if (this.monitorURLs.length > 0) out.monitoring = this.monitorURLs;
    const cluster = this.cluster?.listenURLs() ?? [];
    if (cluster.length > 0) out.cluster = cluster;
    if (this.websocket !== null) out.websocket = [...this.websocket.urls];
    return out;
  }

  /** Set by the monitoring listener once it is bound. */
  monitorURLs: string[] = [];

  /** Run by start() right after the banner: the command line logs there what nats-server does (config file, trusted operators). */
  afterBanner: (() => void) | null = null;

  // ---- connections -----------------------------------------------------------

  /** Subsystems that follow connections (system account events, JWT live accounts). */
  private readonly observers: ConnectionObserver[] = [];

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
    this.bindToAccount(c, c.account);
    this.upkeep.watch(c, this.options.ping_interval);
    if (this.logger.debugEnabled) this.logger.debug(`${c.label()} - Client connection created`);
  }

  removeClient(c: Client): void {
    if (!this.clients.delete(c.cid)) return;
    this.upkeep.unwatch(c);
    this.unbindFromAccount(c, c.account);
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
    return this.auth.required;
  }

  /** The security configuration in force. */
  get security(): SecurityConfig {
    return this.auth.security;
  }

  /** Operator mode's authenticator (decentralized JWT auth); null otherwise. */
  private get jwtAuth(): JwtAuthenticator | null {
    return this.auth.jwt;
  }

  /** The system account's name: configured, named by the operator JWT, or `$SYS`. */
  get systemAccountName(): string {
    return this.jwtAuth?.systemAccount ?? this.security.systemAccount;
  }

  /** The user a client that sends no CONNECT is (no_auth_user), or null. */
  noAuthIdentity(): AuthenticatedUser | null {
    return this.auth.users.noAuthIdentity();
  }

  /** Who a CONNECT makes the client; null when it does not authenticate. */
  authenticateClient(c: Client, connect: Record<string, unknown>): Promise<AuthenticatedUser | null> {
    return this.auth.authenticate(c, connect);
  }

  /** What a new connection needs to know about authentication. */
  authFor(): ConnectionAuth {
    return this.auth.connectionAuth();
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
      this.unbindFromAccount(c, c.account);
      this.bindToAccount(c, acc);
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
   * The INFO line for a connection (cid 0: the shared part, for async INFO
   * updates); `maxPayload` replaces the server's for a client whose user or
   * account has a lower limit.
   */
  infoFor(cid: number, ip: string, nonce: string | null, maxPayload: number | null = null): string {
    return this.info.forConnection(cid, ip, nonce, maxPayload, this.inLameDuck);
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
  /** Leaf node connections, when the configuration has a leafnodes block (for /leafz, /varz). */
  leafnodes: LeafNodeHandle | null = null;
  /** The websocket listener, when the configuration has a websocket block with a port (for /varz). */
  websocket: WebsocketHandle | null = null;

  /** The next client connection id (client port and websocket share one sequence, as in nats-server). */
  nextClientId(): number {
    return this.listener.nextClientId();
  }

  /** Routed servers came or went: clients learn the new URLs through an async INFO, as in nats-server. */
  private connectURLsChanged(): void {
    const cluster = this.cluster;
    if (cluster === null) return;
    // The cluster's name may have changed too, which websocket clients' INFO also states.
    this.websocketURLsChanged();
    this.info.setCluster(cluster.varz()?.name ?? '', cluster.clientConnectURLs());
    const info = this.infoFor(0, '', null);
    for (const c of this.clients.values()) {
      // The client-port URLs are no use to websocket clients, which dial websocket listeners.
      if (c.connectReceived && c.protocol >= 1 && c.server === this) c.send(info);
    }
  }

  /** Websocket clients are told the websocket URLs of the cluster; the listener sends the async INFO when they changed. */
  private websocketURLsChanged(): void {
    const cluster = this.cluster;
    if (cluster !== null) this.websocket?.setCluster(cluster.varz()?.name ?? '', cluster.websocketConnectURLs());
  }

  /** Gathers what INFO states about this server again (start, reload, lame duck). */
  private buildInfo(): void {
    this.info.build({
      id: this.id,
      name: this.name,
      options: this.options,
      port: this.boundPort,
      authRequired: this.auth.credentialsRequired,
      tls: this.listener.tlsInfo(),
      jetstreamDomain: this.jetstream === null ? null : this.jetstream.config.domain,
    });
  }

  // ---- messages (routing itself is the MessageRouter's) ---------------------------

  /** Routes a client's publish in `acc`; returns how many subscriptions (and peers) got it. */
  routeMessage(pub: Client, acc: Account, subject: string, reply: string | null, hdrLen: number, buf: Buffer, start: number, end: number, sizeText: string | null): number {
    return this.router.routeMessage(pub, acc, subject, reply, hdrLen, buf, start, end, sizeText);
  }

  deliverFromPeer(acc: Account, subject: string, reply: string | null, hdrLen: number, buf: Buffer, start: number, end: number, queues: readonly string[], unserved: string[] | null = null): number {
    return this.router.deliverFromPeer(acc, subject, reply, hdrLen, buf, start, end, queues, unserved);
  }

  routeFromLeaf(pub: Publisher, acc: Account, subject: string, reply: string | null, queues: readonly string[] | null, hdrLen: number, buf: Buffer, start: number, end: number): number {
    return this.router.routeFromLeaf(pub, acc, subject, reply, queues, hdrLen, buf, start, end);
  }

  get peerGather(): PeerGather {
    return this.router.gather;
  }

  readonly routedInterest = new RoutedInterest();

  subscribePeer(acc: Account, sub: Subscription): boolean {
    if (!acc.sublist.insert(sub)) return false;
    this.subscriptionAdded(acc, sub);
    return true;
  }

  unsubscribePeer(acc: Account, sub: Subscription): void {
    if (sub.closed) return;
    sub.closed = true;
    if (acc.sublist.remove(sub)) this.subscriptionRemoved(acc, sub);
  }

  authenticatePeer(connect: Readonly<Record<string, unknown>>, nonce: string | null, host: string): Promise<AuthenticatedUser | null> {
    const jwt = this.jwtAuth;
    if (jwt !== null) return jwt.authenticate(connect, nonce, host, 'LEAFNODE');
    return this.auth.users.authenticate(connect, nonce, 'LEAFNODE');
  }

  /** Told about every subscription that comes and goes, in every account. */
  private readonly interestListeners: InterestListener[] = [];

  subscriptionAdded(acc: Account, sub: Subscription): void {
    for (const l of this.interestListeners) l.subscriptionAdded(acc, sub);
  }

  subscriptionRemoved(acc: Account, sub: Subscription): void {
    for (const l of this.interestListeners) l.subscriptionRemoved(acc, sub);
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
    return this.router.publishInternal(acc, subject, reply, payload, headers);
  }

  /**
   * Delivers a server-made message to the local subscribers of `routeSubject`
   * while showing them `shownSubject` in MSG/HMSG, as JetStream does: a pull
   * or push delivery travels to the consumer's inbox but carries the
   * stream message's own subject. `msg` holds the header block (hdrLen
   * bytes, -1 for none) followed by the payload.
   */
  deliverInternalAs(acc: Account, routeSubject: string, shownSubject: string, reply: string | null, hdrLen: number, msg: Buffer): number {
    return this.router.deliverInternalAs(acc, routeSubject, shownSubject, reply, hdrLen, msg);
  }

  countSlowConsumer(c: Client): void {
    this.stats.slowConsumers++;
    c.account.slowConsumers++;
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

/** The listeners' URLs by kind, as nats-server's ports file names them. */
export interface ServerPorts {
  /** Client URLs, `nats://host:port`. */
  nats: string[];
  /** Monitoring URLs (`http://` or `https://`), when monitoring is on. */
  monitoring?: string[];
  /** Route URLs (`nats://host:port`) for other servers' `cluster.routes`, when clustering is on. */
  cluster?: string[];
  /** Websocket URLs (`ws://` or `wss://`), when the websocket listener runs. */
  websocket?: string[];
}

function tlsConfigOf(o: ServerOptions): TlsConfig | null {
  return o.tls === undefined ? null : parseTlsBlock(o.tls);
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

/** What clientsOf gives for an account nobody is bound to. */
const NO_CLIENTS: ReadonlySet<Client> = new Set();

function removeFrom<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
