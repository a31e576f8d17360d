/** One `$JS.API.…` request as the router hands it to an API family. */
import type { Account } from '../../accounts/account.js';
import type { ClientIdentity } from '../../server/client-identity.js';

export interface ApiRequest {
  readonly account: Account;
  /** Subject tokens after `$JS.API.` (a `$JS.<domain>.API.` prefix already removed), e.g. ['CONSUMER', 'INFO', 'ORDERS', 'dur']. */
  readonly tokens: readonly string[];
  /** The full request subject as received. */
  readonly subject: string;
  readonly reply: string | null;
  readonly hdr: Buffer | null;
  /** The payload (headers excluded). */
  readonly body: Buffer;
  /** The requesting connection, null when internal (for client info in advisories). */
  readonly client: ClientIdentity | null;
}

/** A response body (`type` and the family's fields, or `error`), or null to send nothing. */
export type ApiResponse = Record<string, unknown> | null;
