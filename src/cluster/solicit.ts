/**
 * A route this server dials: configured (kept and retried forever) or
 * learned by gossip. The mesh keeps these entries; a route it dialled
 * remembers the entry it came from.
 */
import type { Socket } from 'node:net';
import type { RouteURL } from './config.js';

export interface Solicit {
  readonly url: RouteURL;
  readonly explicit: boolean;
  /** Failed attempts since the last route that registered. */
  attempts: number;
  /** No route from this entry has registered yet (error reports are rarer then). */
  firstConnect: boolean;
  timer: NodeJS.Timeout | null;
  /** A dial is under way (name lookup or connect). */
  pending: boolean;
  /** The socket of that dial, once it connects; cut on shutdown. */
  dialing: Socket | null;
  /** A route from this entry is open (in its handshake or registered). */
  routeOpen: boolean;
  /** The server behind the URL, once an INFO told us. */
  remoteId: string | null;
  /** The URL leads back to this server: never dialled again. */
  self: boolean;
}

export function newSolicit(url: RouteURL, explicit: boolean): Solicit {
  return { url, explicit, attempts: 0, firstConnect: true, timer: null, pending: false, dialing: null, routeOpen: false, remoteId: null, self: false };
}
