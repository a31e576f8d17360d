import { randomBytes } from 'node:crypto';
import { Sublist } from '../subjects/sublist.js';
import type { Subscription } from '../server/subscription.js';
import type { ServiceImportRoute, StreamImportRoute, ResponseType } from './import-routes.js';
import type { AccountLimits } from '../jwt/claims.js';

/** Bumped whenever any account's import routes are replaced: indexes built from them know to rebuild. */
let routesVersion = 0;

export function accountRoutesVersion(): number {
  return routesVersion;
}

/** Where a response to a service request must go back to. */
export interface ResponseEntry {
  readonly account: Account;
  readonly reply: string;
  readonly type: ResponseType;
  /** Date.now() after which an unanswered (or streaming) entry is dropped. */
  expires: number;
}

/**
 * An isolated subject space, its import routes, and counters of its
 * connections. Which connections are bound to it is the server's to know
 * (ServerCore.clientsOf): an account knows nothing of clients.
 */
export class Account {
  readonly name: string;
  readonly sublist = new Sublist<Subscription>();
  /** When this account's definition last changed. */
  updated = new Date();
  /** Traffic of this account's connections that have closed (open ones are summed live). */
  readonly closedTotals = { inMsgs: 0, inBytes: 0, outMsgs: 0, outBytes: 0 };
  slowConsumers = 0;
  /** Leaf connections bound to this account here (nats-server's nleafs), kept by the leaf node layer. */
  leafConnections = 0;
  /** Stream imports other accounts take from this one (this account exports). */
  streamExports: readonly StreamImportRoute[] = [];
  /** Service imports this account makes into others. */
  serviceImports: readonly ServiceImportRoute[] = [];
  /** Reply subjects (`_R_.…`) handed to this account's responders, mapped back to the requester. */
  readonly responses = new Map<string, ResponseEntry>();
  /** Any cross-account routing to consider on publish: keeps the common case to one check. */
  crossAccount = false;
  /**
   * The limits of the account JWT in operator mode (null for configured
   * accounts), replaced on every claim update. Connections, subscriptions
   * and payload are enforced by src/jwt/live-accounts.ts; JetStream reads
   * `jetstream` (or `tiered_limits`): mem_storage, disk_storage, streams, consumer...
   */
  jwtLimits: AccountLimits | null = null;

  /**
   * `_R_.<random>.`: the reply subjects this account's responders see all
   * start with it, so one wildcard interest (`<prefix>>`) brings their
   * answers back across routes, as nats-server's per-account response prefix.
   */
  readonly responsePrefix = `_R_.${randomBytes(5).toString('base64url').slice(0, 6)}.`;

  constructor(name: string) {
    this.name = name;
  }

  setRoutes(streamExports: readonly StreamImportRoute[], serviceImports: readonly ServiceImportRoute[]): void {
    routesVersion++;
    this.streamExports = streamExports;
    this.serviceImports = serviceImports;
    this.refreshCrossAccount();
  }

  refreshCrossAccount(): void {
    this.crossAccount = this.streamExports.length > 0 || this.serviceImports.length > 0 || this.responses.size > 0;
  }

  /** Drops response mappings past their time. */
  expireResponses(now: number): void {
    if (this.responses.size === 0) return;
    for (const [reply, e] of this.responses) if (e.expires <= now) this.responses.delete(reply);
    this.refreshCrossAccount();
  }
}
