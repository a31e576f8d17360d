import { Sublist } from '../subjects/sublist.js';
import type { Subscription } from '../server/subscription.js';
import type { Client } from '../server/client.js';
import type { ServiceImportRoute, StreamImportRoute, ResponseType } from './account-config.js';

/** The global account nats-server uses when no accounts are configured. */
export const GLOBAL_ACCOUNT = '$G';

/** Where a response to a service request must go back to. */
export interface ResponseEntry {
  readonly account: Account;
  readonly reply: string;
  readonly type: ResponseType;
  /** Date.now() after which an unanswered (or streaming) entry is dropped. */
  expires: number;
}

/** An isolated subject space, the connections bound to it, and its import routes. */
export class Account {
  readonly name: string;
  readonly sublist = new Sublist<Subscription>();
  readonly clients = new Set<Client>();
  /** When this account's definition last changed. */
  updated = new Date();
  /** Traffic of this account's connections that have closed (open ones are summed live). */
  readonly closedTotals = { inMsgs: 0, inBytes: 0, outMsgs: 0, outBytes: 0 };
  slowConsumers = 0;
  /** Stream imports other accounts take from this one (this account exports). */
  streamExports: readonly StreamImportRoute[] = [];
  /** Service imports this account makes into others. */
  serviceImports: readonly ServiceImportRoute[] = [];
  /** Reply subjects (`_R_.…`) handed to this account's responders, mapped back to the requester. */
  readonly responses = new Map<string, ResponseEntry>();
  /** Any cross-account routing to consider on publish: keeps the common case to one check. */
  crossAccount = false;

  constructor(name: string) {
    this.name = name;
  }

  setRoutes(streamExports: readonly StreamImportRoute[], serviceImports: readonly ServiceImportRoute[]): void {
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
