/**
 * /jsz: JetStream usage as nats-server 2.9 reports it. Without JetStream
 * every answer is the "disabled" report (zero usage, zero limits).
 */
import { type Handler, type MonitorContext, jsonReply } from './context.js';
import { BadRequest, FilteredRequest } from './query.js';
import { formatTime, nowNanos } from '../text/go-format.js';
import type { JetStream } from '../jetstream/jetstream.js';
import type { JsAccount } from '../jetstream/js-account.js';
import { streamConfigJson } from '../jetstream/stream-config.js';
import { join } from 'node:path';

/** What /jsz may be asked for beyond the totals. */
export interface JszOptions {
  leaderOnly: boolean;
  accounts?: boolean;
  streams?: boolean;
  consumers?: boolean;
  config?: boolean;
  /** Only this account's details. */
  account?: string;
}

export const handleJsz: Handler = (ctx, q) => {
  ctx.count('/jsz');
  // Same parameters and order as nats-server, for the same 400s.
  const accounts = q.bool('accounts');
  const streams = q.bool('streams');
  const consumers = q.bool('consumers');
  const config = q.bool('config');
  q.int('offset');
  q.int('limit');
  const leaderOnly = q.bool('leader-only');
  const account = q.get('acc');
  return jsonReply(jszData(ctx, { leaderOnly, accounts, streams, consumers, config, account }));
};

/** The /jsz object (also `$SYS.REQ...JSZ`). */
export function jszData(ctx: MonitorContext, o: JszOptions): Record<string, unknown> {
  const js = ctx.source.jetstream;
  if (js === null) {
    // A server without JetStream is never the meta leader.
    if (o.leaderOnly) throw new FilteredRequest('filtered response: not leader');
    return {
      server_id: ctx.source.id,
      now: formatTime(nowNanos()),
      disabled: true,
      config: { max_memory: 0, max_storage: 0 },
      memory: 0,
      storage: 0,
      reserved_memory: 0,
      reserved_storage: 0,
      accounts: 0,
      ha_assets: 0,
      api: { total: 0, errors: 0 },
      streams: 0,
      consumers: 0,
      messages: 0,
      bytes: 0,
    };
  }
  const t = js.totals();
  const out: Record<string, unknown> = {
    server_id: ctx.source.id,
    now: formatTime(nowNanos()),
    config: jetStreamConfigJson(js),
    ...jetStreamStats(js),
    streams: t.streams,
    consumers: t.consumers,
    messages: t.messages,
    bytes: t.bytes,
  };
  const wantDetails = o.accounts === true || o.streams === true || o.consumers === true || o.config === true || (o.account ?? '') !== '';
  if (wantDetails) {
    const details: Record<string, unknown>[] = [];
    for (const jsa of js.accounts.values()) {
      if (o.account !== undefined && o.account !== '' && jsa.account.name !== o.account) continue;
      details.push(accountDetail(ctx.source.name, jsa, o));
    }
    if (details.length > 0) out.account_details = details;
  }
  return out;
}

/** `config` of /jsz and /varz: the server-wide limits and the store directory. */
export function jetStreamConfigJson(js: JetStream): Record<string, unknown> {
  const c = js.config;
  const o: Record<string, unknown> = { max_memory: c.maxMemory, max_storage: c.maxStore, store_dir: join(c.storeDir, 'jetstream') };
  if (c.domain !== '') o.domain = c.domain;
  return o;
}

/** The usage block shared by /jsz and /varz `jetstream.stats`. */
export function jetStreamStats(js: JetStream): Record<string, unknown> {
  let reservedMemory = 0;
  let reservedStorage = 0;
  for (const jsa of js.accounts.values()) {
    reservedMemory += jsa.reserved('memory', null);
    reservedStorage += jsa.reserved('file', null);
  }
  return {
    memory: js.used('memory'),
    storage: js.used('file'),
    reserved_memory: reservedMemory,
    reserved_storage: reservedStorage,
    accounts: js.accounts.size,
    ha_assets: 0,
    api: { total: js.api.total, errors: js.api.errors },
  };
}

/** `leader` names this server: without clustering every stream's leader is the server holding it. */
function accountDetail(leader: string, jsa: JsAccount, o: JszOptions): Record<string, unknown> {
  const d: Record<string, unknown> = {
    name: jsa.account.name,
    id: jsa.account.name,
    memory: jsa.used('memory'),
    storage: jsa.used('file'),
    reserved_memory: jsa.reserved('memory', null),
    reserved_storage: jsa.reserved('file', null),
    accounts: 0,
    ha_assets: 0,
    api: { total: jsa.api.total, errors: jsa.api.errors },
  };
  if (o.streams === true || o.consumers === true || o.config === true) {
    d.stream_detail = [...jsa.streams.values()].map((s) => {
      const sd: Record<string, unknown> = { name: s.name, created: s.createdText, cluster: { leader } };
      if (o.config === true) sd.config = streamConfigJson(s.config());
      sd.state = s.stateJson();
      return sd;
    });
  }
  return d;
}

/** One account's JetStream usage (`$SYS.REQ.ACCOUNT.<acc>.JSZ`). */
export function jszAccountData(ctx?: MonitorContext, account?: string): Record<string, unknown> {
  const js = ctx?.source.jetstream ?? null;
  if (js === null || account === undefined || !js.accounts.has(account)) throw new BadRequest('jetstream not enabled');
  return jszData(ctx as MonitorContext, { leaderOnly: false, accounts: true, streams: true, account });
}
