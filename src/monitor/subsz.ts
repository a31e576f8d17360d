/**
 * /subsz (and its old alias /subscriptionsz): sublist statistics summed over
 * accounts, and with subs=1 a page of subscriptions, optionally only those a
 * publish on `test` would reach.
 */
import type { Account } from '../accounts/account.js';
import { isValidLiteralSubject, subjectMatches } from '../subjects/validate.js';
import { type Handler, type MonitorContext, jsonReply } from './context.js';
import { BadRequest } from './query.js';
import { formatTime, nowNanos } from './go-format.js';
import { subDetail } from './connz.js';

const DEFAULT_LIMIT = 1024;

/** nats-server's SublistStats, in its key order. */
export interface SublistStatsJson {
  num_subscriptions: number;
  num_cache: number;
  num_inserts: number;
  num_removes: number;
  num_matches: number;
  cache_hit_rate: number;
  max_fanout: number;
  avg_fanout: number;
}

/**
 * Sums per-account statistics the way nats-server does: hit rate and average
 * fan-out are recomputed from the underlying counts, not averaged.
 */
export class StatsSum {
  private subs = 0;
  private cache = 0;
  private inserts = 0;
  private removes = 0;
  private matches = 0;
  private hits = 0;
  private maxFanout = 0;
  private totFanout = 0;

  add(acc: Account): void {
    const s = acc.sublist.stats();
    this.subs += s.num_subscriptions;
    this.cache += s.num_cache;
    this.inserts += s.num_inserts;
    this.removes += s.num_removes;
    this.matches += s.num_matches;
    // The sublist reports ratios; its counts are whole numbers, so rounding recovers them exactly.
    this.hits += Math.round(s.cache_hit_rate * s.num_matches);
    this.totFanout += Math.round(s.avg_fanout * s.num_cache);
    if (s.max_fanout > this.maxFanout) this.maxFanout = s.max_fanout;
  }

  json(): SublistStatsJson {
    return {
      num_subscriptions: this.subs,
      num_cache: this.cache,
      num_inserts: this.inserts,
      num_removes: this.removes,
      num_matches: this.matches,
      cache_hit_rate: this.matches > 0 ? this.hits / this.matches : 0,
      max_fanout: this.maxFanout,
      avg_fanout: this.totFanout > 0 ? this.totFanout / this.cache : 0,
    };
  }
}

export const handleSubsz: Handler = (ctx, q) => {
  ctx.count('/subsz');
  const subs = q.bool('subs');
  let offset = q.int('offset');
  let limit = q.int('limit');
  const test = q.get('test');
  const filterAcc = q.get('acc');
  if (offset < 0) offset = 0;
  if (limit <= 0) limit = DEFAULT_LIMIT;
  if (test !== '' && !isValidLiteralSubject(test)) {
    throw new BadRequest(`invalid test subject, must be valid publish subject: ${test}`);
  }
  return jsonReply(subsz(ctx, subs, offset, limit, test, filterAcc));
};

function subsz(ctx: MonitorContext, withSubs: boolean, offset: number, limit: number, test: string, filterAcc: string): object {
  const now = nowNanos();
  const sum = new StatsSum();
  const page: Record<string, unknown>[] = [];
  let matched = 0;
  for (const acc of ctx.server.accounts.values()) {
    if (filterAcc !== '' && acc.name !== filterAcc) continue;
    sum.add(acc);
    if (!withSubs) continue;
    for (const s of acc.sublist.all()) {
      if (test !== '' && !subjectMatches(s.subject, test)) continue;
      // Only the requested window is turned into JSON objects.
      const i = matched++;
      if (i < offset || i >= offset + limit) continue;
      page.push(subDetail(acc.name, s.subject, s.queue ?? '', s.sid, s.delivered, s.max, s.client?.cid ?? 0));
    }
  }
  // nats-server answers with the bare statistics unless the page has entries.
  if (page.length === 0) return sum.json();
  return {
    server_id: ctx.server.id,
    now: formatTime(now),
    ...sum.json(),
    // nats-server reports the page's size here, not the number of matches.
    total: page.length,
    offset,
    limit,
    subscriptions_list: page,
  };
}
