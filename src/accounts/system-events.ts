/**
 * The system account at work: nats-server's events and request services.
 *
 * Events, published in the system account:
 *   $SYS.ACCOUNT.<acc>.CONNECT / .DISCONNECT   a client of <acc> connected / left
 *                                              (not for the global account, as nats-server)
 *   $SYS.ACCOUNT.<acc>.SERVER.CONNS            the account's connection count changed (a client
 *   $SYS.SERVER.ACCOUNT.<acc>.CONNS            joined any account, or left one other than the global
 *                                              one), and every 30s while it has connections
 *   $SYS.SERVER.<id>.CLIENT.AUTH.ERR           a client failed to authenticate
 *   $SYS.SERVER.<id>.STATSZ                    server statistics: 250ms after start, then at
 *                                              doubling intervals up to every 30s, as nats-server
 *   $SYS.SERVER.<id>.SHUTDOWN                  on close()
 * and, as nats-server 2.10 does, `$SYS.ACCOUNT.CLIENT.AUTH.ERR` in the
 * account the failing client was in.
 *
 * Requests are answered by SystemServices (system-requests.ts). Accounts
 * created by a reload get their services when they are first seen: every
 * connect and authentication failure checks for new accounts (a client can
 * only ask from an account it is connected to), and so do the STATSZ timer
 * and a RELOAD request.
 */
import { type Account } from './account.js';
import { GLOBAL_ACCOUNT } from './names.js';
import type { ConnectionObserver, Unregister } from '../server/core.js';
import type { MonitorSource } from '../monitor/source.js';
import { CloseReason, type Client } from '../server/client.js';
import type { Subscription } from '../server/subscription.js';
import { SystemMessages } from './system-messages.js';
import { accountStat } from '../monitor/accountz.js';
import { toWire } from '../auth/wire-text.js';
import { SystemServices, statszSubject, type ClaimRequestHandlers, type ReloadConfig } from './system-requests.js';

export type { ClaimRequestHandlers, ReloadConfig } from './system-requests.js';

/** What the services need of the server beyond what it offers as a MonitorSource. */
export interface SystemEventsOptions {
  /**
   * Called for `$SYS.REQ.SERVER.<id>.RELOAD`. Without it the request is
   * answered with nats-server's error for a server not started from a file.
   */
  reload?: ReloadConfig;
  /**
   * The `$SYS` claim requests (operator mode), asked for whenever the
   * services move to a system account. Without it none are served.
   */
  claimRequestHandlers?: ClaimRequestHandlers;
}

export interface SystemEventsHandle {
  /** Announces SHUTDOWN, then stops events and services. Call it before clients are closed, so they hear it. */
  close(): void;
}

/** First STATSZ this soon after start; the interval then doubles up to the maximum. */
const STATSZ_FIRST_MS = 250;
const STATSZ_MAX_MS = 30_000;
/** An account with connections repeats its connection count this often (nats-server's events heartbeat). */
const ACCOUNT_CONNS_HEARTBEAT_MS = 30_000;

const ACCOUNT_AUTH_ERROR_SUBJECT = '$SYS.ACCOUNT.CLIENT.AUTH.ERR';

// Account names are configuration text; subjects are in wire form.
function connectSubject(account: string): string {
  return `$SYS.ACCOUNT.${toWire(account)}.CONNECT`;
}

function disconnectSubject(account: string): string {
  return `$SYS.ACCOUNT.${toWire(account)}.DISCONNECT`;
}

/** The account connection count goes to both: the second is the older name nats-server still sends. */
function accountConnsSubjects(account: string): [string, string] {
  const wire = toWire(account);
  return [`$SYS.ACCOUNT.${wire}.SERVER.CONNS`, `$SYS.SERVER.ACCOUNT.${wire}.CONNS`];
}

function authErrorSubject(serverId: string): string {
  return `$SYS.SERVER.${serverId}.CLIENT.AUTH.ERR`;
}

function shutdownSubject(serverId: string): string {
  return `$SYS.SERVER.${serverId}.SHUTDOWN`;
}

/** Servers with events installed: a second install would answer every request twice. */
const installed = new WeakSet<MonitorSource>();

/** Starts the system account's events and services on a started server. Throws if they already run there. */
export function installSystemEvents(server: MonitorSource, options: SystemEventsOptions = {}): SystemEventsHandle {
  if (installed.has(server)) throw new Error('system events are already installed on this server');
  installed.add(server);
  const events = new SystemEvents(server, options.reload ?? null, options.claimRequestHandlers ?? null);
  let open = true;
  return {
    close(): void {
      if (!open) return;
      open = false;
      events.close();
      installed.delete(server);
    },
  };
}

class SystemEvents implements ConnectionObserver {
  private readonly server: MonitorSource;
  private readonly msgs: SystemMessages;
  private readonly services: SystemServices;
  private readonly stopObserving: Unregister;
  /** The account the server-wide services are subscribed in. */
  private systemAccount: Account | null = null;
  private systemSubs: Array<[Account, Subscription]> = [];
  /** Per-account services (USER.INFO and the account-scoped imports), by account. */
  private readonly accountSubs = new Map<Account, Subscription[]>();
  private statszTimer: NodeJS.Timeout | null = null;
  private statszDelay = STATSZ_FIRST_MS;
  /** Accounts with connections and the timer of their next connection count heartbeat. */
  private readonly connsHeartbeats = new Map<Account, NodeJS.Timeout>();

  constructor(server: MonitorSource, reload: ReloadConfig | null, claimRequestHandlers: ClaimRequestHandlers | null) {
    this.server = server;
    this.msgs = new SystemMessages(server);
    const reloadThenSync = reload === null ? null : async (): Promise<void> => {
      await reload();
      this.sync();
    };
    this.services = new SystemServices(server, this.msgs, reloadThenSync, claimRequestHandlers);
    this.sync();
    this.stopObserving = server.addObserver(this);
    this.scheduleStatsz();
  }

  clientConnected(c: Client): void {
    this.guard('connect event', () => {
      this.sync();
      const sys = this.systemAccount;
      if (sys === null) return;
      this.sendAccountConns(sys, c.account);
      const acc = c.account.name;
      if (acc === GLOBAL_ACCOUNT) return;
      const subject = connectSubject(acc);
      if (this.msgs.wanted(sys, subject)) this.msgs.publish(sys, subject, this.msgs.connectEvent(c));
    });
  }

  clientClosed(c: Client): void {
    this.guard('disconnect event', () => {
      const sys = this.systemAccount;
      const acc = c.account.name;
      if (sys === null || acc === GLOBAL_ACCOUNT) return;
      this.sendAccountConns(sys, c.account);
      const subject = disconnectSubject(acc);
      if (!this.msgs.wanted(sys, subject)) return;
      const stop = c.stop ?? new Date();
      this.msgs.publish(sys, subject, this.msgs.disconnectEvent(c, stop, c.closeReason ?? '', acc));
    });
  }

  clientAuthFailed(c: Client): void {
    this.guard('auth error event', () => {
      this.sync();
      const sys = this.systemAccount;
      if (sys === null) return;
      const now = new Date();
      const account = c.account.name;
      // nats-server 2.10 tells the client's account first, then the operator.
      if (this.msgs.wanted(c.account, ACCOUNT_AUTH_ERROR_SUBJECT)) {
        this.msgs.publish(c.account, ACCOUNT_AUTH_ERROR_SUBJECT, this.msgs.disconnectEvent(c, now, CloseReason.AuthViolation, account));
      }
      const subject = authErrorSubject(this.server.id);
      if (this.msgs.wanted(sys, subject)) this.msgs.publish(sys, subject, this.msgs.disconnectEvent(c, now, CloseReason.AuthViolation, account));
    });
  }

  close(): void {
    this.stopObserving();
    if (this.statszTimer !== null) clearTimeout(this.statszTimer);
    this.statszTimer = null;
    for (const t of this.connsHeartbeats.values()) clearTimeout(t);
    this.connsHeartbeats.clear();
    const sys = this.systemAccount;
    if (sys !== null) this.msgs.publish(sys, shutdownSubject(this.server.id), this.msgs.serverInfo());
    this.unsubscribeAll();
  }

  /** An observer must not break the connection it is told about; a failure here is logged instead. */
  private guard(what: string, f: () => void): void {
    try {
      f();
    } catch (e) {
      this.server.logger.error(`System account ${what} failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    }
  }

  /**
   * Brings subscriptions in step with the accounts: services for accounts not
   * seen yet, and everything moved if the system account changed (a reload
   * may name another). Accounts are never removed, so an unchanged count
   * means nothing to do.
   */
  private sync(): void {
    const server = this.server;
    const sys = server.accounts.get(server.systemAccountName) ?? null;
    if (sys !== this.systemAccount) {
      this.unsubscribeAll();
      this.systemAccount = sys;
      if (sys !== null) {
        for (const [subject, handler] of this.services.systemAccountServices(sys)) {
          this.systemSubs.push([sys, server.subscribeInternal(sys, subject, null, handler)]);
        }
      }
    }
    if (this.accountSubs.size === server.accounts.size) return;
    for (const acc of server.accounts.values()) {
      if (this.accountSubs.has(acc)) continue;
      const subs = this.services.accountServices(acc, acc === sys)
        .map(([subject, handler]) => server.subscribeInternal(acc, subject, null, handler));
      this.accountSubs.set(acc, subs);
    }
  }

  private unsubscribeAll(): void {
    for (const [acc, sub] of this.systemSubs) this.server.unsubscribeInternal(acc, sub);
    this.systemSubs = [];
    for (const [acc, subs] of this.accountSubs) for (const sub of subs) this.server.unsubscribeInternal(acc, sub);
    this.accountSubs.clear();
    this.systemAccount = null;
  }

  /** The account's connection count; repeated while it has connections, as nats-server does. */
  private sendAccountConns(sys: Account, acc: Account): void {
    const subjects = accountConnsSubjects(acc.name);
    if (subjects.some((subject) => this.msgs.wanted(sys, subject))) {
      const event = this.msgs.accountConnectionsEvent(accountStat(acc, this.server.clientsOf(acc)));
      for (const subject of subjects) this.msgs.publish(sys, subject, event());
    }
    const pending = this.connsHeartbeats.get(acc);
    if (this.server.clientsOf(acc).size === 0) {
      if (pending !== undefined) clearTimeout(pending);
      this.connsHeartbeats.delete(acc);
      return;
    }
    // A count just went out: the next is due a whole interval from now.
    if (pending !== undefined) {
      pending.refresh();
      return;
    }
    const timer = setTimeout(() => {
      this.connsHeartbeats.delete(acc);
      this.guard('account connections heartbeat', () => {
        const current = this.systemAccount;
        if (current !== null) this.sendAccountConns(current, acc);
      });
    }, ACCOUNT_CONNS_HEARTBEAT_MS);
    timer.unref();
    this.connsHeartbeats.set(acc, timer);
  }

  private scheduleStatsz(): void {
    this.statszTimer = setTimeout(() => {
      this.guard('STATSZ', () => {
        this.sync();
        const sys = this.systemAccount;
        const subject = statszSubject(this.server.id);
        if (sys !== null && this.msgs.wanted(sys, subject)) this.services.sendStatsz(sys, subject);
      });
      this.statszDelay = Math.min(this.statszDelay * 2, STATSZ_MAX_MS);
      this.scheduleStatsz();
    }, this.statszDelay);
    // Events must not keep an otherwise finished process alive.
    this.statszTimer.unref();
  }
}
