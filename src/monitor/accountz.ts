/**
 * /accountz (the account list, or one account's detail with acc=) and
 * /accstatz (per-account connection and message totals).
 */
import type { Account } from '../accounts/account.js';
import { type Handler, type MonitorContext, jsonReply } from './context.js';
import { BadRequest } from './query.js';
import { formatDate, formatTime, nowNanos } from './go-format.js';
import { StatsSum } from './subsz.js';

export const handleAccountz: Handler = (ctx, q) => {
  ctx.count('/accountz');
  const server = ctx.server;
  const name = q.get('acc');
  const out: Record<string, unknown> = { server_id: server.id, now: formatTime(nowNanos()) };
  const sys = ctx.systemAccount();
  if (sys !== '') out.system_account = sys;
  if (name === '') {
    const names = [...server.accounts.keys()];
    // Go omits an empty list; there is always at least the global account, though.
    if (names.length > 0) out.accounts = names;
    return jsonReply(out);
  }
  const acc = server.accounts.get(name);
  if (acc === undefined) throw new BadRequest(`Account ${name} does not exist`);
  out.account_detail = accountDetail(ctx, acc);
  return jsonReply(out);
};

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
    update_time: formatDate(ctx.server.started),
  };
  if (acc.name === ctx.systemAccount()) d.is_system = true;
  d.expired = false;
  d.complete = true;
  d.jetstream_enabled = false;
  d.leafnode_connections = 0;
  d.client_connections = acc.clients.size;
  d.subscriptions = acc.sublist.size;
  d.sublist_stats = stats.json();
  return d;
}

export const handleAccstatz: Handler = (ctx, q) => {
  ctx.count('/accstatz');
  const unused = q.bool('unused');
  const list: Record<string, unknown>[] = [];
  for (const acc of ctx.server.accounts.values()) {
    if (!unused && acc.clients.size === 0) continue;
    list.push(accountStat(ctx, acc));
  }
  return jsonReply({
    server_id: ctx.server.id,
    now: formatTime(nowNanos()),
    account_statz: list,
  });
};

/** Live connections' counters plus what closed connections of the account left behind. */
function accountStat(ctx: MonitorContext, acc: Account): Record<string, unknown> {
  let inMsgs = 0;
  let inBytes = 0;
  let outMsgs = 0;
  let outBytes = 0;
  for (const c of acc.clients) {
    inMsgs += c.inMsgs;
    inBytes += c.inBytes;
    outMsgs += c.outMsgs;
    outBytes += c.outBytes;
  }
  const gone = acc.closedTotals;
  const conns = acc.clients.size;
  return {
    acc: acc.name,
    conns,
    leafnodes: 0,
    total_conns: conns,
    sent: { msgs: outMsgs + gone.outMsgs, bytes: outBytes + gone.outBytes },
    received: { msgs: inMsgs + gone.inMsgs, bytes: inBytes + gone.inBytes },
    slow_consumers: acc.slowConsumers,
  };
}
