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
 *
 * In a JetStream cluster (`js.cluster` set) every server still subscribes,
 * and sees each request once; the clustered layer (cluster/api-wiring.ts)
 * decides which one server answers, and with which handler.
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
import { installClusteredApi, type ClusteredApiLayer } from '../cluster/api-wiring.js';

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
  const clustered = js.cluster === null ? null : installClusteredApi(js, js.cluster, prefixes);
  const queue = new ApiRequestQueue<PendingRequest>({
    handle: (p) => (clustered === null ? dispatch(js, p.route, p.req) : dispatchClustered(js, clustered, p.route, p.req)),
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
      clustered?.uninstall();
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
  const jsa = js.account(req.account);
  if (jsa === null) {
    if (route.type !== '') respond(js, null, req, { type: route.type, error: notEnabledForAccount().toJSON(), ...route.refusalExtras });
    return null;
  }
  return run(js, jsa, route, req, route.handle, null);
}

/** In a cluster: only the server the gate names answers, with the clustered handler where there is one. */
function dispatchClustered(js: JetStream, layer: ClusteredApiLayer, route: Route, req: ApiRequest): Promise<void> | null {
  const jsa = js.account(req.account);
  if (jsa === null) {
    if (route.type !== '' && layer.answersForAccountWithoutJetStream()) {
      respond(js, null, req, { type: route.type, error: notEnabledForAccount().toJSON(), ...route.refusalExtras });
    }
    return null;
  }
  const gated = layer.decide(req);
  if (gated === null) return null;
  const { target, decision } = gated;
  if (decision.kind === 'silent') return null;
  if (decision.kind === 'refuse') {
    if (route.type === '') return null;
    const res = { type: route.type, error: decision.error.toJSON(), ...route.refusalExtras };
    if (decision.delayMs === 0) respond(js, jsa, req, res);
    else setTimeout(() => respond(js, jsa, req, res), decision.delayMs);
    return null;
  }
  const clusterHandler = layer.handlerFor(req.tokens, target);
  const handle: ApiHandler = clusterHandler === null ? route.handle : (r, _js, a) => clusterHandler(r, a);
  return run(js, jsa, route, req, handle, (res) => layer.decorate(req, target, res));
}

/** Checks the body's shape, runs the handler and answers with what it gives (passed through `finish`, when given). */
function run(
  js: JetStream, jsa: JsAccount, route: Route, req: ApiRequest, handle: ApiHandler, finish: ((res: ApiResponse) => ApiResponse) | null,
): Promise<void> | null {
  const subject = req.subject;
  // Refused before anything parses it; requests answered without JSON (pull requests, direct gets) are dropped.
  const shape = jsonShapeProblem(req.body);
  if (shape !== null) {
    if (route.type !== '') respond(js, jsa, req, { type: route.type, error: shape.toJSON(), ...route.refusalExtras });
    return null;
  }
  let result: ApiResponse | Promise<ApiResponse>;
  try {
    result = handle(req, js, jsa);
  } catch (e) {
    js.core.logger.error(`JetStream API ${subject} failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    return null;
  }
  if (!(result instanceof Promise)) {
    respond(js, jsa, req, finish === null ? result : finish(result));
    return null;
  }
  return result.then(
    (res) => respond(js, jsa, req, finish === null ? res : finish(res)),
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
