/**
 * JetStream advisories: `$JS.EVENT.ADVISORY.…` messages published in the
 * stream's account, shaped like nats-server's TypedEvent JSON.
 */
import type { Account } from '../accounts/account.js';
import type { ServerCore } from '../server/core.js';
import type { ClientIdentity } from '../server/client-identity.js';
import { EventIds } from '../accounts/event-ids.js';
import { clientInfo } from '../accounts/client-info.js';
import { nowTimeString } from './time.js';

const ids = new EventIds();

export type StreamAction = 'create' | 'delete' | 'modify';

const ACTION_SUBJECT: Readonly<Record<StreamAction, string>> = { create: 'CREATED', delete: 'DELETED', modify: 'UPDATED' };

/**
 * Would anybody hear a message on `subject` in `account`: a subscriber
 * here (leaf connections' interest included), or on a route? Exports may
 * carry it to other accounts, so an account that has them always hears.
 */
function heard(core: ServerCore, account: Account, subject: string): boolean {
  if (account.crossAccount) return true;
  return account.sublist.hasInterest(subject) || core.routedInterest.has(account.name, subject);
}

/** Publishes an event body that is complete already (type, id, timestamp included). */
export function publishEvent(core: ServerCore, account: Account, subject: string, event: Record<string, unknown>): void {
  if (heard(core, account, subject)) core.publishInternal(account, subject, null, JSON.stringify(event));
}

/** Publishes `body` under `type`, with a fresh id and the current time first, as nats-server orders them. */
export function publishAdvisory(core: ServerCore, account: Account, subject: string, type: string, body: Record<string, unknown>): void {
  // Like nats-server, nothing is built for an advisory nobody listens to.
  if (!heard(core, account, subject)) return;
  const event = { type, id: ids.next(), timestamp: nowTimeString(), ...body };
  core.publishInternal(account, subject, null, JSON.stringify(event));
}

/** `$JS.EVENT.ADVISORY.STREAM.{CREATED,DELETED,UPDATED}.<stream>`. */
export function streamActionAdvisory(core: ServerCore, account: Account, stream: string, action: StreamAction, domain: string, client: ClientIdentity | null): void {
  const body: Record<string, unknown> = { stream, action };
  if (client !== null) body.client = clientInfo(client, null);
  if (domain !== '') body.domain = domain;
  publishAdvisory(core, account, `$JS.EVENT.ADVISORY.STREAM.${ACTION_SUBJECT[action]}.${stream}`, 'io.nats.jetstream.advisory.v1.stream_action', body);
}

/** `$JS.EVENT.ADVISORY.API`: one audit event per API request, request and response as text. */
export function apiAuditAdvisory(core: ServerCore, account: Account, domain: string, client: ClientIdentity | null, subject: string, request: Buffer, response: string): void {
  if (!heard(core, account, '$JS.EVENT.ADVISORY.API')) return;
  const body: Record<string, unknown> = { server: core.name };
  if (client !== null) body.client = clientInfo(client, null);
  body.subject = subject;
  // Decoded only when someone listens: a request may be a megabyte.
  body.request = request.toString('utf8');
  body.response = response;
  if (domain !== '') body.domain = domain;
  publishAdvisory(core, account, '$JS.EVENT.ADVISORY.API', 'io.nats.jetstream.advisory.v1.api_audit', body);
}
