/**
 * `$JS.API.>` in every account (and `$JS.<domain>.API.>` when a domain is
 * set): requests go to the family that answers them; the response goes back
 * to the reply subject after the request was handled, never from inside the
 * server's routing of the request itself. Requests wait their turn in one
 * queue handled in slices (request-queue.ts), and a body nested too deep or
 * holding too many arrays and objects is refused before it is parsed
 * (request-shape.ts). Subjects nats-server does not
 * serve get no answer at all (the requester times out, as with nats-server).
 * Accounts without JetStream get 'JetStream not enabled for account' for
 * every known request.
 */
import type { Account } from '../../accounts/account.js';
import type { Subscription } from '../../server/subscription.js';
import type { ClientIdentity } from '../../server/client-identity.js';
import type { JetStream } from '../jetstream.js';
import type { JsAccount } from '../js-account.js';
import type { ApiRequest, ApiResponse } from './context.js';
import { handleConsumerApi } from './consumer.js';
import { notEnabledForAccount } from './errors.js';
import { handleAccountInfo } from './info.js';
import { STREAM_API, streamApiType } from './stream.js';
import { handleDirectGet } from './direct.js';
import { apiAuditAdvisory } from '../advisories.js';
import { ApiRequestQueue } from './request-queue.js';
import { jsonShapeProblem } from './request-shape.js';

/** An API family's answer: JSON (maybe later), or null for none. */
export type ApiHandler = (req: ApiRequest, js: JetStream, jsa: JsAccount) => ApiResponse | Promise<ApiResponse>;

interface Route {
  /** The `type` of a refusal when the account has no JetStream. */
  readonly type: string;
  /** Extra fields nats-server puts next to such a refusal (paged responses embed their paging). */
  readonly refusalExtras: Record<string, unknown>;
  readonly handle: ApiHandler;
}

/** The response type word of each consumer operation (for refusals in accounts without JetStream). */
const CONSUMER_REFUSALS: Readonly<Record<string, string>> = {
  CREATE: 'create', DURABLE: 'create', DELETE: 'delete', INFO: 'info', LIST: 'list', NAMES: 'names',
  LEADER: 'leader_stepdown', PAUSE: 'pause', UNPIN: 'unpin',
};

/** Which handler serves the tokens after `$JS.API.`; null for subjects nats-server does not serve. */
function routeFor(tokens: readonly string[]): Route | null {
  const head = tokens[0];
  if (head === 'INFO' && tokens.length === 1) {
    return { type: 'io.nats.jetstream.api.v1.account_info_response', refusalExtras: {}, handle: handleAccountInfo };
  }
  if (head === 'STREAM') {
    const op = STREAM_API.find((o) => o.matches(tokens));
    if (op === undefined) return null;
    return { type: streamApiType(op.name), refusalExtras: op.refusalExtras, handle: op.handle };
  }
  if (head === 'CONSUMER' && tokens.length >= 2) {
    const op = CONSUMER_REFUSALS[tokens[1]];
    return {
      // MSG.NEXT has no JSON answer: an account without JetStream gets none.
      type: op === undefined ? '' : `io.nats.jetstream.api.v1.consumer_${op}_response`,
      refusalExtras: tokens[1] === 'NAMES' || tokens[1] === 'LIST' ? { total: 0, offset: 0, limit: 0, consumers: [] } : {},
      handle: (req, js) => handleConsumerApi(req, js),
    };
  }
  if (head === 'DIRECT' && tokens[1] === 'GET' && tokens.length >= 3) {
    return { type: '', refusalExtras: {}, handle: handleDirectGet };
  }
  // META, SERVER and ACCOUNT requests belong to the system account in nats-server; other accounts get no answer.
  return null;
}

/** The API subscriptions of every account; `refresh` adds accounts created since. */
export interface ApiRouter {
  refresh(): void;
  uninstall(): void;
}

/** A request waiting in the API queue with the handler that will answer it. */
interface PendingRequest {
  readonly route: Route;
  readonly req: ApiRequest;
  readonly size: number;
}

/** Subscribes the API in every account but the system account. */
export function installApiRouter(js: JetStream): ApiRouter {
  const core = js.core;
  const subs: Array<[Account, Subscription]> = [];
  const covered = new Set<Account>();
  const prefixes = ['$JS.API.'];
  if (js.config.domain !== '') prefixes.push(`$JS.${js.config.domain}.API.`);
  const queue = new ApiRequestQueue<PendingRequest>({
    handle: (p) => dispatch(js, p.route, p.req),
    dropped: (count) => core.logger.warn(`JetStream API queue limit reached, dropping ${count} requests`),
  });
  const refresh = (): void => {
    for (const acc of core.accounts.values()) {
      if (acc.name === core.systemAccountName || covered.has(acc)) continue;
      covered.add(acc);
      for (const prefix of prefixes) {
        const sub = core.subscribeInternal(acc, prefix + '>', null, (subject, reply, hdrLen, msg, from) => {
          onRequest(queue, acc, prefix.length, subject, reply, hdrLen, msg, from);
        });
        subs.push([acc, sub]);
      }
    }
  };
  refresh();
  return {
    refresh,
    uninstall: () => {
      queue.close();
      for (const [acc, sub] of subs) core.unsubscribeInternal(acc, sub);
    },
  };
}

function onRequest(queue: ApiRequestQueue<PendingRequest>, acc: Account, prefixLen: number, subject: string, reply: string | null, hdrLen: number, msg: Buffer, from: ClientIdentity | null): void {
  const tokens = subject.slice(prefixLen).split('.');
  const route = routeFor(tokens);
  if (route === null) return;
  // The message buffer is only valid during this call; handlers may finish later.
  const copy = Buffer.from(msg);
  const req: ApiRequest = {
    account: acc,
    tokens,
    subject,
    reply,
    hdr: hdrLen > 0 ? copy.subarray(0, hdrLen) : null,
    body: hdrLen > 0 ? copy.subarray(hdrLen) : copy,
    client: from,
  };
  // Handlers run after the server finished routing the request, so their replies never re-enter it.
  queue.push({ route, req, size: copy.length + subject.length });
}

/** Handles one request; the promise (never rejected) settles once it is answered. */
function dispatch(js: JetStream, route: Route, req: ApiRequest): Promise<void> | null {
  const subject = req.subject;
  const jsa = js.account(req.account);
  if (jsa === null) {
    if (route.type !== '') respond(js, null, req, { type: route.type, error: notEnabledForAccount().toJSON(), ...route.refusalExtras });
    return null;
  }
  // Refused before anything parses it; requests answered without JSON (pull requests, direct gets) are dropped.
  const shape = jsonShapeProblem(req.body);
  if (shape !== null) {
    if (route.type !== '') respond(js, jsa, req, { type: route.type, error: shape.toJSON(), ...route.refusalExtras });
    return null;
  }
  let result: ApiResponse | Promise<ApiResponse>;
  try {
    result = route.handle(req, js, jsa);
  } catch (e) {
    js.core.logger.error(`JetStream API ${subject} failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    return null;
  }
  if (!(result instanceof Promise)) {
    respond(js, jsa, req, result);
    return null;
  }
  return result.then(
    (res) => respond(js, jsa, req, res),
    (e: unknown) => js.core.logger.error(`JetStream API ${subject} failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`),
  );
}

function respond(js: JetStream, jsa: JsAccount | null, req: ApiRequest, res: ApiResponse): void {
  // Direct gets answer with their own messages and are not API calls in nats-server's counts.
  const counted = req.tokens[0] !== 'DIRECT';
  if (counted) {
    js.api.total++;
    if (jsa !== null) jsa.api.total++;
    if (res !== null && res.error !== undefined) {
      js.api.errors++;
      if (jsa !== null) jsa.api.errors++;
    }
  }
  if (res === null || js.core.shuttingDown) return;
  const json = JSON.stringify(res);
  if (req.reply !== null) js.core.publishInternal(req.account, req.reply, null, json);
  apiAuditAdvisory(js.core, req.account, js.config.domain, req.client, req.subject, req.body, json);
}
