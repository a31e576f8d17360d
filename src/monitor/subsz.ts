/**
 * /subsz (and its old alias /subscriptionsz): sublist statistics summed over
 * accounts, and with subs=1 a page of subscriptions, optionally only those a
 * publish on `test` would reach.
 */
import type { Account } from '../accounts/account.js';
import { isValidLiteralSubject, subjectMatches } from '../subjects/validate.js';
import { type Handler, type MonitorContext, jsonReply } from './context.js';
import { BadRequest } from './query.js';
import { formatTime, nowNanos } from '../text/go-format.js';
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

/** nats-server's SubszOptions. */
export interface SubszOptions {
  subscriptions: boolean;
  offset: number;
  limit: number;
  /** Only subscriptions a publish on this literal subject would reach; '' for all. */
  test: string;
  /** Only this account; '' for all. */
  account: string;
}

/** nats-server's Subsz: the statistics, then the page of subscriptions (absent when empty). */
export interface SubszJson extends SublistStatsJson {
  server_id: string;
  now: string;
  total: number;
  offset: number;
  limit: number;
  subscriptions_list?: Record<string, unknown>[];
}

export const handleSubsz: Handler = (ctx, q) => {
  ctx.count('/subsz');
  const z = subszData(ctx, {
    subscriptions: q.bool('subs'),
    offset: q.int('offset'),
    limit: q.int('limit'),
    test: q.get('test'),
    account: q.get('acc'),
  });
  // nats-server answers over HTTP with the bare statistics unless the page has entries.
  if (z.subscriptions_list === undefined) return jsonReply(sublistStatsOf(z));
  return jsonReply(z);
};

function sublistStatsOf(z: SubszJson): SublistStatsJson {
  return {
    num_subscriptions: z.num_subscriptions,
    num_cache: z.num_cache,
    num_inserts: z.num_inserts,
    num_removes: z.num_removes,
    num_matches: z.num_matches,
    cache_hit_rate: z.cache_hit_rate,
    max_fanout: z.max_fanout,
    avg_fanout: z.avg_fanout,
  };
}

/** The Subsz object (whole over `$SYS`); throws BadRequest for a test subject that is not literal. */
export function subszData(ctx: MonitorContext, o: SubszOptions): SubszJson {
  const offset = o.offset < 0 ? 0 : o.offset;
  const limit = o.limit <= 0 ? DEFAULT_LIMIT : o.limit;
  const test = o.test;
  if (test !== '' && !isValidLiteralSubject(test)) {
    throw new BadRequest(`invalid test subject, must be valid publish subject: ${test}`);
  }
  const now = nowNanos();
  const sum = new StatsSum();
  const page: Record<string, unknown>[] = [];
  let matched = 0;
  for (const acc of ctx.source.accounts.values()) {
    if (o.account !== '' && acc.name !== o.account) continue;
    sum.add(acc);
    if (!o.subscriptions) continue;
    for (const s of acc.sublist.all()) {
      if (test !== '' && !subjectMatches(s.subject, test)) continue;
      // Only the requested window is turned into JSON objects.
      const i = matched++;
      if (i < offset || i >= offset + limit) continue;
      page.push(subDetail(acc.name, s.subject, s.queue ?? '', s.sid, s.delivered, s.max, s.client?.cid ?? 0));
    }
  }
  const z: SubszJson = {
    server_id: ctx.source.id,
    now: formatTime(now),
    ...sum.json(),
    // nats-server reports the page's size here, not the number of matches.
    total: page.length,
    offset,
    limit,
  };
  if (page.length > 0) z.subscriptions_list = page;
  return z;
}
