/**
 * Leaf nodes, speaking nats-server's leafnode protocol both ways:
 *
 * - Hub side: the leafnode listener (`leafnodes { listen }`) accepts leaf
 *   connections; INFO (with a nonce) goes first, TLS follows when the block
 *   has one, then the leaf's CONNECT is checked against the block's
 *   `authorization` or, without one, the server's users or (operator
 *   mode) the user JWT signed over the nonce. The user's account, the
 *   block's `account` or the global account is what the leaf is bound to.
 *   The websocket listener hands over leaf connections upgraded on its
 *   `/leafnode` path the same way (TLS then being the websocket's).
 * - Leaf side: each entry of `remotes` is dialled (its URLs in turn, every
 *   `reconnect` seconds while down), bound to its local `account`, signs
 *   the hub's nonce with its creds or nkey, and upgrades to TLS when
 *   either side asks. A `ws://`/`wss://` remote dials the hub's websocket
 *   port instead (websocket-dial.ts).
 * - Interest: a connection is told every subscription of its account
 *   (local clients, internal subscribers, other leafs, and what routes
 *   announced; never its own) with queue weights, and the loop-detection
 *   subject `$LDS.<id>` of this server; a leaf connection that announces
 *   our own loop-detection subject back to us closes a loop and is refused.
 * - JetStream: the plain `$JS.API` stays on each side; a JetStream domain
 *   is reached across by its `$JS.<domain>.API` subjects (its internal
 *   subscriptions are interest like any other), and this server's own
 *   domain is never sent out.
 * - Messages: see leaf-connection.ts.
 */
import net from 'node:net';
import tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fromSeed } from '@nats-io/nkeys';
import type { Account } from '../accounts/account.js';
import { verifySecret } from '../auth/passwords.js';
import { generateNonce } from '../auth/nkey.js';
import { Permissions, type SubjectPermissionConfig } from '../auth/permissions.js';
import { LocalInterest } from '../cluster/interest.js';
import { jetStreamConfigFrom } from '../jetstream/config.js';
import { parseCreds } from '../jwt/creds.js';
import { ERR } from '../protocol/errors.js';
import { ERR_ACCOUNT_CONNECTIONS } from '../jwt/live-accounts.js';
import type { Logger } from '../log/logger.js';
import type { ConnectionUpkeep } from '../server/connection-upkeep.js';
import type { Flushable } from '../server/flush-scheduler.js';
import type { ServerOptions } from '../server/options.js';
import { PeerCloseReason, type PeerTransport } from '../server/peer-connection.js';
import type { InterestListener, ServerCore, Unregister } from '../server/core.js';
import type { RoutedInterestListener } from '../server/routed-interest.js';
import type { Subscription } from '../server/subscription.js';
import { SERVER_VERSION } from '../server/version.js';
import { describeTlsError, TlsAcceptor } from '../tls/index.js';
import { denyPermissions, leafNodeConfigFrom, type LeafNodeConfig, type LeafRemoteConfig, type LeafURL } from './config.js';
import type { LeafInfo, LeafNodeHandle } from './handle.js';
import { WebsocketPeerTransport } from '../websocket/peer-transport.js';
import { dialLeafWebsocket } from './websocket-dial.js';
import { LeafConnection, LOOP_RECONNECT_DELAY_MS, type LeafHost, type LeafPeerInfo } from './leaf-connection.js';

/** nats-server's leafnode protocol version in INFO. */
const LEAF_PROTO = 1;
/** DEFAULT_LEAF_TLS_TIMEOUT / TLS_TIMEOUT, shown in /varz. */
const DEFAULT_TLS_TIMEOUT_S = 2;
/** How long a dial may take before it counts as failed. */
const DIAL_TIMEOUT_MS = 2000;
/**
 * The plain JetStream API, KV and object store subjects stay on their own
 * side of a leaf connection, as nats-server logs it ("JetStream Not
 * Extended"); other domains are reached by `$JS.<domain>.API`.
 */
const JS_DENY = ['$JS.API.>', '$KV.>', '$OBJ.>'];

export interface LeafNodeDeps {
  /** Leaf connections are kept alive and watched for stuck writes by the server's upkeep. */
  readonly upkeep: ConnectionUpkeep;
}

/** Starts leaf nodes for a server whose configuration has a leafnodes block. */
export async function startLeafNodes(core: ServerCore, deps: LeafNodeDeps): Promise<LeafNodeHandle> {
  const raw = core.options.leafnodes;
  if (raw === undefined) throw new Error('no leafnodes block');
  const leafs = new LeafNodes(core, leafNodeConfigFrom(raw), deps.upkeep);
  await leafs.start();
  core.onShutdown(() => leafs.close());
  return {
    acceptWebsocket: (transport) => {
      // The websocket listener hands over its own transports only; the handle names their shape alone (see handle.ts).
      if (!(transport instanceof WebsocketPeerTransport)) throw new TypeError('not a leaf websocket transport');
      return leafs.acceptWebsocket(transport);
    },
    leafs: () => leafs.infos(),
    varz: () => leafs.varz(),
    close: () => leafs.close(),
  };
}

/** One `remotes` entry and its dialling state. */
interface Remote {
  readonly config: LeafRemoteConfig;
  /** The local account the connection binds to. */
  readonly accountName: string;
  /** Next URL to try (they are dialled in turn). */
  next: number;
  attempts: number;
  timer: NodeJS.Timeout | null;
  conn: LeafConnection | null;
  /** The dial under way: a TCP socket, or a websocket upgrade. */
  dialing: { cancel(): void } | null;
}

class LeafNodes implements LeafHost, InterestListener, RoutedInterestListener {
  readonly core: ServerCore;
  readonly logger: Logger;
  private readonly config: LeafNodeConfig;
  private readonly upkeep: ConnectionUpkeep;
  private readonly conns = new Set<LeafConnection>();
  /** What each registered connection was told, counted like route interest (subject, queue weights). */
  private readonly told = new Map<LeafConnection, LocalInterest>();
  private readonly remotes: Remote[];
  private readonly remoteOf = new Map<LeafConnection, Remote>();
  private readonly loopSubjects = new Map<Account, string>();
  private readonly acceptor: TlsAcceptor | null;
  private listener: net.Server | null = null;
  private boundPort = 0;
  private nextCid = 1;
  private closing = false;
  private readonly unregisters: Unregister[] = [];
  /** This server's JetStream domain, when it has one: its API is reached from other domains over leaf connections. */
  private readonly domain: string | null;

  constructor(core: ServerCore, config: LeafNodeConfig, upkeep: ConnectionUpkeep) {
    this.core = core;
    this.logger = core.logger;
    this.config = config;
    this.upkeep = upkeep;
    this.acceptor = config.tls === null ? null : new TlsAcceptor(config.tls, core.logger);
    const domain = jetStreamConfigFrom(core.options)?.domain ?? '';
    this.domain = domain === '' ? null : domain;
    this.remotes = config.remotes.map((r) => ({
      config: r, accountName: r.account ?? core.globalAccount.name, next: 0, attempts: 0, timer: null, conn: null, dialing: null,
    }));
  }

  get options(): ServerOptions {
    return this.core.options;
  }

  queueFlush(conn: Flushable): void {
    this.core.flusher.queue(conn);
  }

  async start(): Promise<void> {
    const c = this.config;
    for (const r of this.remotes) {
      if (!this.core.accounts.has(r.accountName)) throw new Error(`cannot find local account "${r.accountName}" specified in leafnode remote`);
    }
    for (const name of [c.account, c.user?.account ?? null, ...c.users.map((u) => u.account)]) {
      if (name !== null && !this.core.accounts.has(name)) throw new Error(`cannot find local account "${name}" specified in leafnode authorization`);
    }
    if (c.port !== null) {
      const listener = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
      await new Promise<void>((resolve, reject) => {
        listener.once('error', (e: NodeJS.ErrnoException) => {
          reject(new Error(`Error listening on leafnode port: ${c.port} - listen tcp ${hostPort(c.host, c.port ?? 0)}: ${e.code === 'EADDRINUSE' ? 'bind: address already in use' : e.message}`));
        });
        listener.listen({ host: c.host, port: c.port ?? 0, backlog: 128 }, () => {
          listener.removeAllListeners('error');
          resolve();
        });
      });
      listener.on('error', (e) => this.logger.error(`Leafnode listener error: ${e.message}`));
      this.listener = listener;
      const addr = listener.address();
      this.boundPort = typeof addr === 'object' && addr !== null ? addr.port : 0;
      this.logger.info(`Listening for leafnode connections on ${hostPort(c.host, this.boundPort)}`);
    }
    this.unregisters.push(
      this.core.addInterestListener(this),
      this.core.routedInterest.addListener(this),
      this.core.onReload(() => () => this.recheckUsers()),
      this.upkeep.addChore(() => {
        const now = Date.now();
        for (const conn of this.conns) conn.expireReplies(now);
      }),
    );
    for (const r of this.remotes) this.dial(r);
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const u of this.unregisters) u();
    for (const r of this.remotes) {
      if (r.timer !== null) clearTimeout(r.timer);
      r.timer = null;
      r.dialing?.cancel();
    }
    for (const conn of [...this.conns]) conn.close(PeerCloseReason.ServerShutdown);
    const listener = this.listener;
    this.listener = null;
    if (listener !== null) await new Promise<void>((r) => listener.close(() => r()));
  }

  // ---- accepting ------------------------------------------------------------------

  private accept(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const conn = this.open(socket, false, this.core.globalAccount, jsDenies(null, this.domain));
    conn.nonce = generateNonce();
    this.logger.info(`${conn.label()} - Leafnode connection created `);
    conn.beginAccepted(this.config.authTimeoutMs);
    const acceptor = this.acceptor;
    if (acceptor === null) {
      this.listen(conn, socket);
      return;
    }
    // INFO goes out in the clear, then the leaf starts TLS (nats-server 2.9 has no TLS-first for leafs).
    conn.flush();
    acceptor.upgrade({
      socket,
      label: conn.label(),
      deadline: Date.now() + acceptor.material.config.timeoutMs,
      onSecure: (secure) => {
        if (conn.closed || this.closing) {
          secure.destroy();
          return;
        }
        conn.socket = secure;
        this.listen(conn, secure);
      },
      onFailed: () => conn.close(PeerCloseReason.ReadError, true),
    });
  }

  /**
   * A leaf connection that came to the websocket listener on the leafnode
   * path: false when this server takes no leaf connections (no leafnode
   * port, as nats-server requires). TLS, if any, was the websocket's.
   */
  acceptWebsocket(transport: WebsocketPeerTransport): boolean {
    if (this.config.port === null) return false;
    if (this.closing) {
      transport.destroy();
      return true;
    }
    const conn = this.open(transport, false, this.core.globalAccount, jsDenies(null, this.domain));
    conn.nonce = generateNonce();
    this.logger.info(`${conn.label()} - Leafnode connection created `);
    conn.beginAccepted(this.config.authTimeoutMs);
    this.listen(conn, transport);
    return true;
  }

  /** A connection of either kind, known to the upkeep from now on. */
  private open(socket: PeerTransport, solicited: boolean, acc: Account, denies: Permissions | null): LeafConnection {
    const conn = new LeafConnection(this, socket, this.nextCid++, solicited, acc, denies);
    if (socket instanceof WebsocketPeerTransport) socket.closeReason = () => conn.closeReason;
    this.conns.add(conn);
    this.upkeep.watch(conn, this.core.options.ping_interval);
    return conn;
  }

  /** Reads `socket` (a TCP or TLS socket, or a websocket) into the connection. */
  private listen(conn: LeafConnection, socket: net.Socket | WebsocketPeerTransport): void {
    const events = {
      data: (chunk: Buffer): void => conn.onData(chunk),
      error: (e: NodeJS.ErrnoException): void => {
        if (this.logger.debugEnabled) this.logger.debug(`${conn.label()} - Leafnode connection error: ${e.message}`);
        conn.close(e.code === 'ECONNRESET' || e.code === 'EPIPE' ? PeerCloseReason.ClientClosed : PeerCloseReason.ReadError, true);
      },
      close: (): void => conn.close(PeerCloseReason.ClientClosed, true),
    };
    if (socket instanceof WebsocketPeerTransport) {
      socket.listen(events);
      return;
    }
    socket.on('data', events.data);
    socket.on('error', events.error);
    socket.on('close', events.close);
  }

  acceptInfoJSON(conn: LeafConnection, afterConnect: boolean): string {
    const c = this.config;
    const host = c.advertise === null ? c.host : c.advertise.replace(/:\d+$/, '');
    const port = c.advertise === null ? this.boundPort : Number.parseInt(c.advertise.split(':').pop() ?? '', 10) || this.boundPort;
    const info: Record<string, unknown> = {
      server_id: this.core.id,
      server_name: this.core.name,
      version: SERVER_VERSION,
      proto: LEAF_PROTO,
      go: `node${process.versions.node}`,
      host,
      port,
      headers: !this.core.options.no_header_support,
      auth_required: true,
    };
    if (c.tls !== null) {
      info.tls_required = true;
      info.tls_verify = c.tls.config.verify;
    }
    info.max_payload = this.core.options.max_payload;
    info.client_id = conn.cid;
    if (!afterConnect) info.nonce = conn.nonce;
    info.info_on_connect = true;
    // The answer to CONNECT: a nats-server leaf finishes its side of the handshake (and sends its interest) on it.
    if (afterConnect) info.connect_info = true;
    // A leaf checks for this list to know it reached a leafnode port. `no_advertise` keeps other
    // servers' URLs out of it in nats-server; this server never gossips any, so it lists its own only.
    info.leafnode_urls = [hostPort(host, port)];
    if (afterConnect) info.remote_account = conn.account.name;
    return JSON.stringify(info);
  }

  async authorize(conn: LeafConnection, connect: Record<string, unknown>): Promise<Account | null> {
    const c = this.config;
    let accountName: string | null;
    if (c.user !== null || c.users.length > 0) {
      const user = typeof connect.user === 'string' ? connect.user : '';
      const pass = typeof connect.pass === 'string' ? connect.pass : '';
      const entry = c.user !== null && c.user.user === user ? c.user : c.users.find((u) => u.user === user);
      if (entry === undefined || !(await verifySecret(entry.password, pass))) return null;
      accountName = entry.account ?? c.account;
      conn.authUser = user;
    } else {
      const who = await this.core.authenticatePeer(connect, conn.nonce, conn.host);
      if (who === null) return null;
      accountName = who.kind === 'none' ? c.account : who.account;
      conn.authUser = who.name;
    }
    const name = accountName ?? this.core.globalAccount.name;
    const acc = this.core.accounts.get(name);
    if (acc === undefined) {
      this.logger.error(`${conn.label()} - No local account "${name}" for leafnode`);
      return null;
    }
    return acc;
  }

  admit(conn: LeafConnection, acc: Account): boolean {
    // An account JWT's `limits.leaf` (-1: none), as nats-server's registerWithAccount checks it.
    const max = acc.jwtLimits?.leaf ?? -1;
    if (max < 0 || acc.leafConnections < max) return true;
    this.logger.error(`${conn.label()} - ${ERR_ACCOUNT_CONNECTIONS}`);
    conn.sendErrAndClose(ERR_ACCOUNT_CONNECTIONS, PeerCloseReason.MaxAccountConnections);
    return false;
  }

  /**
   * After a reload: accepted connections that logged in as one of the
   * server's users (the leafnodes block's own do not reload) are checked
   * again with their CONNECT, as clients are. One whose user is gone, or
   * now belongs to another account, is cut.
   */
  private recheckUsers(): void {
    const c = this.config;
    if (c.user !== null || c.users.length > 0) return;
    for (const conn of this.conns) {
      const connect = conn.connect;
      if (conn.solicited || !conn.registered || connect === null) continue;
      const bound = conn.account.name;
      const drop = (): void => {
        if (conn.closed) return;
        this.logger.info(`${conn.label()} - closing connection: user no longer authorized after reload`);
        conn.sendErrAndClose(ERR.authViolation, PeerCloseReason.AuthViolation);
      };
      this.core.authenticatePeer(connect, conn.nonce, conn.host).then((who) => {
        const account = who === null ? null : who.kind === 'none' ? (c.account ?? this.core.globalAccount.name) : who.account;
        if (account !== bound) drop();
      }, drop);
    }
  }

  // ---- soliciting -------------------------------------------------------------------

  private dial(r: Remote): void {
    if (this.closing) return;
    r.timer = null;
    const url = r.config.urls[r.next % r.config.urls.length];
    r.next++;
    if (this.logger.debugEnabled) this.logger.debug(`Trying to connect as leafnode to remote server on "${url.hostPort}"`);
    if (url.websocket) {
      r.dialing = dialLeafWebsocket(url, r.config, DIAL_TIMEOUT_MS, (e, transport) => {
        r.dialing = null;
        if (e !== null || transport === null) this.dialFailed(r, url, e ?? new Error('invalid websocket connection'));
        else this.dialed(r, transport);
      });
      return;
    }
    const socket = net.connect({ host: url.host, port: url.port });
    r.dialing = { cancel: () => socket.destroy() };
    const timer = setTimeout(() => socket.destroy(new Error(`dial tcp ${url.hostPort}: i/o timeout`)), DIAL_TIMEOUT_MS);
    socket.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      r.dialing = null;
      this.dialFailed(r, url, e);
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      r.dialing = null;
      socket.setNoDelay(true);
      this.dialed(r, socket);
    });
  }

  private dialFailed(r: Remote, url: LeafURL, e: NodeJS.ErrnoException): void {
    if (this.closing) return;
    r.attempts++;
    const why = e.code === 'ECONNREFUSED' ? `dial tcp ${url.hostPort}: connect: connection refused` : e.message;
    this.logger.error(`Error trying to connect as leafnode to remote server "${url.hostPort}" (attempt ${r.attempts}): ${why}`);
    this.retry(r, this.config.reconnectMs);
  }

  /** A dial reached the hub: the connection waits for its INFO. */
  private dialed(r: Remote, socket: net.Socket | WebsocketPeerTransport): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    r.attempts = 0;
    const acc = this.core.accounts.get(r.accountName) ?? this.core.globalAccount;
    const conn = this.open(socket, true, acc, jsDenies(denyPermissions(r.config), this.domain));
    r.conn = conn;
    this.remoteOf.set(conn, r);
    this.logger.info(`${conn.label()} - Leafnode connection created for account: ${acc.name} `);
    if (socket instanceof WebsocketPeerTransport && this.logger.debugEnabled) {
      this.logger.debug(`${conn.label()} - Leafnode compression=${socket.compressed} masking=${socket.masked}`);
    }
    this.listen(conn, socket);
  }

  private retry(r: Remote, delayMs: number): void {
    if (this.closing || r.timer !== null) return;
    r.timer = setTimeout(() => this.dial(r), delayMs);
  }

  hubInfo(conn: LeafConnection, info: LeafPeerInfo): void {
    const r = this.remoteOf.get(conn);
    if (r === undefined) return;
    const url = r.config.urls[(r.next - 1) % r.config.urls.length];
    const raw = conn.socket;
    // Over websocket, TLS is the websocket's (wss): the leaf protocol starts none of its own, as in nats-server.
    if (!(raw instanceof net.Socket) || !(info.tls_required || r.config.tls !== null || url.tlsScheme)) {
      conn.sendConnect(info);
      return;
    }
    this.upgradeSolicited(conn, raw, r, url, info);
  }

  /** The client side of leaf TLS, started once the hub's INFO is in; CONNECT follows the handshake. */
  private upgradeSolicited(conn: LeafConnection, raw: net.Socket, r: Remote, url: LeafURL, info: LeafPeerInfo): void {
    conn.parser.suspend();
    raw.removeAllListeners('data');
    raw.removeAllListeners('error');
    raw.removeAllListeners('close');
    const t = r.config.tls;
    const secure = tls.connect({
      ...(t?.contextOptions ?? {}),
      socket: raw,
      host: url.host,
      servername: net.isIP(url.host) === 0 ? url.host : undefined,
      rejectUnauthorized: !(t?.config.insecure ?? false),
    });
    raw.on('error', () => secure.destroy());
    const timeoutMs = t?.config.timeoutMs ?? DEFAULT_TLS_TIMEOUT_S * 1000;
    const timer = setTimeout(() => secure.destroy(new Error('TLS handshake timeout')), timeoutMs);
    const fail = (e: Error): void => {
      clearTimeout(timer);
      this.logger.error(`${conn.label()} - TLS handshake error: ${describeTlsError(e)}`);
      conn.close(PeerCloseReason.ReadError, true);
    };
    secure.once('error', fail);
    secure.once('secureConnect', () => {
      clearTimeout(timer);
      secure.removeListener('error', fail);
      if (conn.closed) {
        secure.destroy();
        return;
      }
      conn.socket = secure;
      this.listen(conn, secure);
      conn.sendConnect(info);
      conn.parser.resume();
    });
  }

  connectJSON(conn: LeafConnection, info: LeafPeerInfo): string | null {
    const r = this.remoteOf.get(conn);
    if (r === undefined) return null;
    const url = r.config.urls[(r.next - 1) % r.config.urls.length];
    const o: Record<string, unknown> = { version: SERVER_VERSION };
    try {
      if (r.config.credentials !== null) {
        const creds = parseCreds(readFileSync(r.config.credentials, 'utf8'));
        o.jwt = creds.jwt;
        o.sig = sign(creds.seed, info.nonce);
      } else if (r.config.nkey !== null) {
        const seed = r.config.nkey.startsWith('SU') ? r.config.nkey : readFileSync(r.config.nkey, 'utf8').trim();
        o.nkey = fromSeed(new TextEncoder().encode(seed)).getPublicKey();
        o.sig = sign(seed, info.nonce);
      }
    } catch (e) {
      this.logger.error(`${conn.label()} - Error loading leafnode credentials: ${(e as Error).message}`);
      return null;
    }
    if (url.user !== null) {
      o.user = url.user;
      o.pass = url.password ?? '';
    }
    const s = conn.socket;
    o.tls_required = s instanceof tls.TLSSocket || (s instanceof WebsocketPeerTransport && s.secure);
    o.server_id = this.core.id;
    o.name = this.core.name;
    o.cluster = this.core.name;
    o.headers = !this.core.options.no_header_support;
    if (r.config.denyExports.length > 0) o.deny_pub = [...r.config.denyExports];
    return JSON.stringify(o);
  }

  // ---- interest ------------------------------------------------------------------------

  loopSubject(acc: Account): string {
    let s = this.loopSubjects.get(acc);
    if (s === undefined) {
      s = '$LDS.' + randomBytes(16).toString('base64url').replace(/[-_]/g, 'x').slice(0, 22);
      this.loopSubjects.set(acc, s);
    }
    return s;
  }

  registered(conn: LeafConnection): void {
    const acc = conn.account;
    this.logger.info(`${conn.label()} - JetStream Not Extended, adding deny [${JS_DENY.join(' ')}] for account "${acc.name}"`);
    if (this.domain !== null) this.logger.info(`${conn.label()} - Adding deny "${domainApi(this.domain)}" for outgoing messages to account "${acc.name}"`);
    const told = new LocalInterest();
    this.told.set(conn, told);
    acc.leafConnections++;
    for (const sub of acc.sublist.all()) {
      if (sub.client !== conn) this.tell(conn, told, sub.subject, sub.queue, true);
    }
    for (const e of this.core.routedInterest.of(acc.name)) this.tell(conn, told, e.subject, e.queue, true);
    conn.sendInterest(this.loopSubject(acc), null, 1);
  }

  subscriptionAdded(acc: Account, sub: Subscription): void {
    for (const [conn, told] of this.told) {
      if (conn.account === acc && sub.client !== conn) this.tell(conn, told, sub.subject, sub.queue, true);
    }
  }

  subscriptionRemoved(acc: Account, sub: Subscription): void {
    for (const [conn, told] of this.told) {
      if (conn.account === acc && sub.client !== conn) this.tell(conn, told, sub.subject, sub.queue, false);
    }
  }

  routedInterestChanged(account: string, subject: string, queue: string | null, added: boolean): void {
    for (const [conn, told] of this.told) if (conn.account.name === account) this.tell(conn, told, subject, queue, added);
  }

  /** Counts one interest for `conn` and sends what changed: LS+/LS- or a new queue weight. */
  private tell(conn: LeafConnection, told: LocalInterest, subject: string, queue: string | null, added: boolean): void {
    // deny_imports (and the JetStream deny): this side wants none of these messages, so it asks for none.
    const d = conn.denies;
    if (d !== null && !d.canSubscribe(subject, null)) return;
    const name = conn.account.name;
    const u = added ? told.add(name, subject, queue) : told.remove(name, subject, queue);
    if (u !== null) conn.sendInterest(u.subject, u.queue, u.weight);
  }

  closed(conn: LeafConnection): void {
    this.conns.delete(conn);
    if (this.told.delete(conn)) conn.account.leafConnections--;
    this.upkeep.unwatch(conn);
    // An accepted connection is bound to no account until its CONNECT passed: nats-server names none then.
    const account = conn.registered || conn.solicited ? conn.account.name : '';
    this.logger.info(`${conn.label()} - Leafnode connection closed: ${conn.closeReason ?? PeerCloseReason.ClientClosed} account: ${account}`);
    const r = this.remoteOf.get(conn);
    if (r === undefined) return;
    this.remoteOf.delete(conn);
    if (r.conn === conn) r.conn = null;
    this.retry(r, conn.loopDetected ? LOOP_RECONNECT_DELAY_MS : this.config.reconnectMs);
  }

  // ---- monitoring -----------------------------------------------------------------------

  infos(): LeafInfo[] {
    const out: LeafInfo[] = [];
    for (const c of this.conns) {
      if (!c.registered) continue;
      out.push({
        remoteId: c.remoteId,
        remoteName: c.remoteName,
        account: c.account.name,
        ip: c.host,
        port: c.port,
        rttMs: c.rtt,
        inMsgs: c.inMsgs,
        outMsgs: c.outMsgs,
        inBytes: c.inBytes,
        outBytes: c.outBytes,
        subscriptions: [...c.subs.values()].map((s) => s.subject),
      });
    }
    return out;
  }

  varz(): Record<string, unknown> {
    const c = this.config;
    const v: Record<string, unknown> = {};
    if (c.port !== null) {
      v.host = c.host;
      v.port = this.boundPort;
      v.auth_timeout = c.authTimeoutMs / 1000;
      if (c.tls === null) {
        v.tls_timeout = DEFAULT_TLS_TIMEOUT_S;
      } else {
        v.tls_timeout = c.tls.config.timeoutMs / 1000;
        v.tls_required = true;
        v.tls_verify = c.tls.config.verify;
      }
    }
    if (this.remotes.length > 0) {
      v.remotes = this.remotes.map((r) => {
        const o: Record<string, unknown> = {};
        if (r.config.account !== null) o.local_account = r.config.account;
        o.urls = r.config.urls.map((u) => u.hostPort);
        const deny: Record<string, string[]> = {};
        if (r.config.denyExports.length > 0) deny.exports = [...r.config.denyExports];
        if (r.config.denyImports.length > 0) deny.imports = [...r.config.denyImports];
        if (Object.keys(deny).length > 0) o.deny = deny;
        return o;
      });
    }
    return v;
  }
}

/**
 * The connection's deny rules: the remote's deny lists and, since this
 * server extends no JetStream domain over leaf connections, JetStream's
 * subjects both ways, as nats-server does (registered() logs it).
 */
function jsDenies(deny: { publish: SubjectPermissionConfig | null; subscribe: SubjectPermissionConfig | null } | null, domain: string | null): Permissions {
  // This server's own domain is answered here: requests for it never go out (nats-server's outgoing deny).
  const pubDeny = [...(deny?.publish?.deny ?? []), ...JS_DENY, ...(domain === null ? [] : [domainApi(domain)])];
  const subDeny = [...(deny?.subscribe?.deny ?? []), ...JS_DENY];
  return new Permissions({ publish: { allow: null, deny: pubDeny }, subscribe: { allow: null, deny: subDeny }, response: null });
}

/** An ed25519 signature of the nonce by the seed's key, as nats-server checks it (unpadded base64url). */
function sign(seed: string, nonce: string): string {
  const kp = fromSeed(new TextEncoder().encode(seed));
  return Buffer.from(kp.sign(new TextEncoder().encode(nonce))).toString('base64url');
}

/** The API subjects of a JetStream domain. */
function domainApi(domain: string): string {
  return `$JS.${domain}.API.>`;
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
