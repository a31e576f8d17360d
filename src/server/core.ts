/**
 * The server core: what subsystems (system account services, the cluster
 * layer, JetStream, JWT live accounts, monitoring, and later Raft groups,
 * gateways, leaf nodes and websocket) may use of a running server.
 *
 * Types only. Subsystems import this module, never `server.ts`; the
 * concrete `Server` implements it and hands itself over as a `ServerCore`.
 * Subsystems plug in by registering (observers, interest listeners, the
 * forwarder, shutdown hooks); the core never imports a subsystem.
 */
import type { Account } from '../accounts/account.js';
import type { SecurityConfig } from '../auth/security-config.js';
import type { Logger } from '../log/logger.js';
import type { Client } from './client.js';
import type { FlushScheduler } from './flush-scheduler.js';
import type { ServerOptions } from './options.js';
import type { InternalHandler, Subscription } from './subscription.js';
import type { AuthenticatedUser } from '../auth/users.js';
import type { PeerGather } from './peer-gather.js';
import type { RoutedInterest } from './routed-interest.js';
import type { Publisher } from './routed-message.js';

/** Undoes one registration. */
export type Unregister = () => void;

/** Carries a client publish to peer servers; returns how many peers got it. */
export interface MessageForwarder {
  forward(acc: Account, subject: string, reply: string | null, hdrLen: number, buf: Buffer, start: number, end: number, localQueues: readonly string[]): number;
  /**
   * The same for a message this server moved into `acc` from another
   * account (a service request with its `_R_` reply, or a response mapped
   * back to the requester): peers must also be able to answer on the reply.
   */
  forwardImport(acc: Account, subject: string, reply: string | null, hdrLen: number, buf: Buffer, start: number, end: number, localQueues: readonly string[]): number;
}

/** Follows interest: every subscription added to or removed from an account's sublist. */
export interface InterestListener {
  subscriptionAdded(acc: Account, sub: Subscription): void;
  subscriptionRemoved(acc: Account, sub: Subscription): void;
}

/** Follows the life of client connections; each call runs synchronously. */
export interface ConnectionObserver {
  clientConnected(c: Client): void;
  clientClosed(c: Client): void;
  clientAuthFailed(c: Client): void;
}

export interface ServerCore {
  readonly logger: Logger;
  /** The options in force; a reload replaces the object, so read it each time rather than keeping it. */
  readonly options: ServerOptions;
  readonly id: string;
  readonly name: string;
  readonly started: Date;
  /** True from the first step of shutdown on: subsystems stop starting new work. */
  readonly shuttingDown: boolean;

  // ---- accounts --------------------------------------------------------------
  /** Operator mode (decentralized JWT auth): accounts and their limits come from JWTs. */
  readonly operatorMode: boolean;
  /** The security configuration in force (users, configured accounts, their JetStream limits). */
  readonly security: SecurityConfig;
  /** The system account's name: configured, named by the operator JWT, or `$SYS`. */
  readonly systemAccountName: string;
  readonly accounts: ReadonlyMap<string, Account>;
  readonly globalAccount: Account;
  /** Creates an account that appeared while running (operator mode: an account JWT loaded or pushed). */
  addAccount(name: string): Account;
  /** The client connections bound to `acc` now. */
  clientsOf(acc: Account): ReadonlySet<Client>;
  /** Client URLs this server offers (for the ports file, route INFO connect_urls). */
  clientURLs(): string[];
  /** The bound client port (0 before start). */
  readonly port: number;

  // ---- messages --------------------------------------------------------------
  /** Subscribes the server itself in `acc`; the handler runs synchronously on delivery. */
  subscribeInternal(acc: Account, subject: string, queue: string | null, handler: InternalHandler): Subscription;
  unsubscribeInternal(acc: Account, sub: Subscription): void;
  /**
   * Publishes a message from the server itself into `acc`, routed like a
   * client's (imports and peers included). `headers` is a full NATS/1.0
   * header block. Returns how many subscriptions (and peers) got it.
   */
  publishInternal(acc: Account, subject: string, reply: string | null, payload: Buffer | string, headers?: string | Buffer | null): number;
  /**
   * Delivers a server-made message to the subscribers of `routeSubject`
   * (local ones; without any, a peer's through the routes) while showing
   * them `shownSubject` (JetStream deliveries carry the stored message's
   * subject). `msg` is the header block (hdrLen
   * bytes, -1 for none) followed by the payload.
   */
  deliverInternalAs(acc: Account, routeSubject: string, shownSubject: string, reply: string | null, hdrLen: number, msg: Buffer): number;
  /**
   * A message that arrived from a peer server: delivered here only, never
   * forwarded again. `queues` names the queue groups this server should
   * serve; groups nobody here could take are added to `unserved`.
   */
  deliverFromPeer(acc: Account, subject: string, reply: string | null, hdrLen: number, buf: Buffer, start: number, end: number, queues: readonly string[], unserved?: string[] | null): number;

  /**
   * A message that arrived over a leaf connection (`pub`): routed like a
   * client publish (local subscribers, routes, other leaf connections),
   * never back to `pub`. `queues` limits the queue groups served here to
   * those the sender named; null serves every group.
   */
  routeFromLeaf(pub: Publisher, acc: Account, subject: string, reply: string | null, queues: readonly string[] | null, hdrLen: number, buf: Buffer, start: number, end: number): number;

  // ---- peer subscriptions ------------------------------------------------------
  /**
   * Adds a subscription another server holds through a connection that
   * stands for it (a leaf node): into `acc`'s sublist, and told to every
   * interest listener like a client's. False when the subject is not valid.
   */
  subscribePeer(acc: Account, sub: Subscription): boolean;
  unsubscribePeer(acc: Account, sub: Subscription): void;
  /** Where such connections' deliveries are gathered: each takes a message once (peer-gather.ts). */
  readonly peerGather: PeerGather;
  /** Interest routes announced: the cluster layer reports it here, leaf nodes pass it on. */
  readonly routedInterest: RoutedInterest;
  /**
   * Checks the credentials of a CONNECT from another server (a leaf node)
   * against the server's users, or in operator mode its user JWT signed
   * over `nonce`. Null: not authorized.
   */
  authenticatePeer(connect: Readonly<Record<string, unknown>>, nonce: string | null, host: string): Promise<AuthenticatedUser | null>;

  // ---- connections -----------------------------------------------------------
  /** One flush per connection per event-loop turn, shared by every connection kind. */
  readonly flusher: FlushScheduler;

  // ---- registration ----------------------------------------------------------
  /** Runs at shutdown, in registration order, after clients were closed. */
  onShutdown(hook: () => Promise<void> | void): void;
  /**
   * Runs when lame duck mode begins, after the listener closed and before
   * clients are let go (JetStream hands its leaderships over here). Hooks
   * run in registration order; the server waits for each.
   */
  onLameDuck(hook: () => Promise<void> | void): Unregister;
  /**
   * Takes part in a configuration reload (SIGHUP): `prepare` sees the new
   * options before anything changed and throws to refuse the reload (the
   * server stays as it was); the function it returns runs once the reload
   * is certain. Hooks run in registration order.
   */
  onReload(prepare: (next: ServerOptions) => () => void): Unregister;
  addObserver(observer: ConnectionObserver): Unregister;
  addInterestListener(listener: InterestListener): Unregister;
  /** At most one forwarder (the cluster layer); throws when another is set. */
  setForwarder(forwarder: MessageForwarder): Unregister;
  /** Accounts or their limits changed (reload, account JWT update). */
  onAccountsChanged(listener: () => void): Unregister;
  /** Tells every onAccountsChanged listener (a subsystem that changes accounts calls it). */
  accountsChanged(): void;
}
