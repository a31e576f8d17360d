/**
 * /accountz (the account list, or one account's detail with acc=) and
 * /accstatz (per-account connection and message totals).
 */
import type { Account } from '../accounts/account.js';
import type { Client } from '../server/client.js';
import { type Handler, type MonitorContext, jsonReply } from './context.js';
import { BadRequest } from './query.js';
import { formatDate, formatTime, nowNanos } from '../text/go-format.js';
import { StatsSum } from './subsz.js';

export const handleAccountz: Handler = (ctx, q) => {
  ctx.count('/accountz');
  return jsonReply(accountzData(ctx, { account: q.get('acc') }));
};

/** The /accountz object (also `$SYS.REQ...ACCOUNTZ`): the list, or one account's detail. */
export function accountzData(ctx: MonitorContext, o: { account: string }): Record<string, unknown> {
  const source = ctx.source;
  const out: Record<string, unknown> = { server_id: source.id, now: formatTime(nowNanos()) };
  const sys = ctx.systemAccount();
  if (sys !== '') out.system_account = sys;
  if (o.account === '') {
    const names = [...source.accounts.keys()];
    // Go omits an empty list; there is always at least the global account, though.
    if (names.length > 0) out.accounts = names;
    return out;
  }
  out.account_detail = accountInfoData(ctx, o.account);
  return out;
}

/** One account's AccountInfo (also `$SYS.REQ.ACCOUNT.<acc>.INFO`); BadRequest when there is no such account. */
export function accountInfoData(ctx: MonitorContext, name: string): Record<string, unknown> {
  const acc = ctx.source.accounts.get(name);
  if (acc === undefined) throw new BadRequest(`Account ${name} does not exist`);
  return accountDetail(ctx, acc);
}

/**
 * nats-server's AccountInfo for an account without JWT, imports, exports or
 * mappings (Natter has none of those yet, so those keys are omitted as Go's
 * omitempty omits them).
 */
function accountDetail(ctx: MonitorContext, acc: Account): Record<string, unknown> {
  const stats = new StatsSum();
  stats.add(acc);
  const d: Record<string, unknown> = {
    account_name: acc.name,
    // Accounts do not record when they were last updated yet; every account
    // that exists now was created with the server.
    update_time: formatDate(ctx.source.started),
  };
  if (acc.name === ctx.systemAccount()) d.is_system = true;
  d.expired = false;
  d.complete = true;
  d.jetstream_enabled = false;
  d.leafnode_connections = acc.leafConnections;
  d.client_connections = ctx.source.clientsOf(acc).size;
  d.subscriptions = acc.sublist.size;
  d.sublist_stats = stats.json();
  return d;
}

export const handleAccstatz: Handler = (ctx, q) => {
  ctx.count('/accstatz');
  return jsonReply(accstatzData(ctx, { accounts: [], includeUnused: q.bool('unused') }));
};

/** nats-server's AccountStat. */
export interface AccountStatJson {
  acc: string;
  conns: number;
  leafnodes: number;
  total_conns: number;
  sent: { msgs: number; bytes: number };
  received: { msgs: number; bytes: number };
  slow_consumers: number;
}

/** nats-server's AccountStatzOptions. */
export interface AccstatzOptions {
  /** Only these accounts (unknown names are skipped); empty for all. */
  accounts: readonly string[];
  /** Also accounts without connections. */
  includeUnused: boolean;
}

/** The /accstatz object (also `$SYS.REQ.ACCOUNT...STATZ`). */
export function accstatzData(ctx: MonitorContext, o: AccstatzOptions): { server_id: string; now: string; account_statz: AccountStatJson[] } {
  const source = ctx.source;
  const list: AccountStatJson[] = [];
  const chosen = o.accounts.length === 0
    ? [...source.accounts.values()]
    : o.accounts.flatMap((name) => source.accounts.get(name) ?? []);
  for (const acc of chosen) {
    const clients = source.clientsOf(acc);
    if (!o.includeUnused && clients.size === 0) continue;
    list.push(accountStat(acc, clients));
  }
  return {
    server_id: source.id,
    now: formatTime(nowNanos()),
    account_statz: list,
  };
}

/**
 * Live connections' counters plus what closed connections of the account
 * left behind (also in account connection events). `clients` are the
 * account's open connections (`clientsOf(acc)`).
 */
export function accountStat(acc: Account, clients: ReadonlySet<Client>): AccountStatJson {
  let inMsgs = 0;
  let inBytes = 0;
  let outMsgs = 0;
  let outBytes = 0;
  for (const c of clients) {
    inMsgs += c.inMsgs;
    inBytes += c.inBytes;
    outMsgs += c.outMsgs;
    outBytes += c.outBytes;
  }
  const gone = acc.closedTotals;
  const conns = clients.size;
  return {
    acc: acc.name,
    conns,
    leafnodes: acc.leafConnections,
    total_conns: conns + acc.leafConnections,
    sent: { msgs: outMsgs + gone.outMsgs, bytes: outBytes + gone.outBytes },
    received: { msgs: inMsgs + gone.inMsgs, bytes: inBytes + gone.inBytes },
    slow_consumers: acc.slowConsumers,
  };
}
