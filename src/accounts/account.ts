import { Sublist } from '../subjects/sublist.js';
import type { Subscription } from '../server/subscription.js';
import type { Client } from '../server/client.js';

/** The global account nats-server uses when no accounts are configured. */
export const GLOBAL_ACCOUNT = '$G';

/** An isolated subject space and the connections bound to it. */
export class Account {
  readonly name: string;
  readonly sublist = new Sublist<Subscription>();
  readonly clients = new Set<Client>();
  /** When this account's definition last changed. */
  updated = new Date();
  /** Traffic of this account's connections that have closed (open ones are summed live). */
  readonly closedTotals = { inMsgs: 0, inBytes: 0, outMsgs: 0, outBytes: 0 };
  slowConsumers = 0;

  constructor(name: string) {
    this.name = name;
  }
}
