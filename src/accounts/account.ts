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

  constructor(name: string) {
    this.name = name;
  }
}
