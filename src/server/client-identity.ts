import type { ClientPermissions } from '../auth/permissions.js';

/**
 * Who a client connection is: what the server's own subscribers read of
 * the connection that sent them a request (JetStream's API audit and
 * advisories, `$SYS` USER.INFO), and what connection events describe.
 * Declared below subscriptions and accounts so that neither needs the
 * Client class; Client satisfies it.
 */
export interface ClientIdentity {
  readonly cid: number;
  /** The peer's address; '' when the socket did not tell. */
  readonly host: string;
  readonly start: Date;
  /** The authenticated user's name; '' for none. */
  readonly authUser: string;
  /** CONNECT's name, lang and version; '' when not sent. */
  readonly name: string;
  readonly lang: string;
  readonly version: string;
  /** The last measured round trip in milliseconds; 0 before the first PONG to a server PING. */
  readonly rtt: number;
  /** The account the connection is bound to now. */
  readonly account: { readonly name: string };
  /** The user's publish/subscribe rules; null when unrestricted. */
  readonly perms: ClientPermissions | null;
}
