/**
 * /subsz (and its old alias /subscriptionsz): sublist statistics summed over
 * accounts, and with subs=1 a page of subscriptions, optionally only those a
 * publish on `test` would reach.
 *
 * Finding the page walks every subscription of every account (as
 * nats-server does); the walk pauses every SUBS_PER_PAUSE subscriptions
 * (see slices.ts), so hundreds of thousands do not hold the server.
 */
import type { Account } from '../accounts/account.js';
import { isValidLiteralSubject, subjectMatches } from '../subjects/validate.js';
import { type Handler, type MonitorContext, slicedJsonReply } from './context.js';
import { BadRequest } from './query.js';
import { formatTime, nowNanos } from '../text/go-format.js';
import { subDetail } from './connz.js';
import { LazyList, type Sliced } from './slices.js';
import type { Subscription } from '../server/subscription.js';

const DEFAULT_LIMIT = 1024;

/** Subscriptions walked between two pauses. */
const SUBS_PER_PAUSE = 256;

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
  subscriptions_list?: LazyList<{ account: string; sub: Subscription }>;
}

export const handleSubsz: Handler = (ctx, q) => {
  ctx.count('/subsz');
  const work = subszData(ctx, {
    subscriptions: q.bool('subs'),
    offset: q.int('offset'),
    limit: q.int('limit'),
    test: q.get('test'),
    account: q.get('acc'),
  });
  return slicedJsonReply(httpAnswer(work));
};

/** nats-server answers over HTTP with the bare statistics unless the page has entries. */
function* httpAnswer(work: Sliced<SubszJson>): Sliced<SubszJson | SublistStatsJson> {
  const z = yield* work;
  return z.subscriptions_list === undefined ? sublistStatsOf(z) : z;
}

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

/**
 * The Subsz object (whole over `$SYS`), as work to run in slices; throws
 * BadRequest at once for a test subject that is not literal.
 */
export function subszData(ctx: MonitorContext, o: SubszOptions): Sliced<SubszJson> {
  const test = o.test;
  if (test !== '' && !isValidLiteralSubject(test)) {
    throw new BadRequest(`invalid test subject, must be valid publish subject: ${test}`);
  }
  return subsz(ctx, o);
}

function* subsz(ctx: MonitorContext, o: SubszOptions): Sliced<SubszJson> {
  const offset = o.offset < 0 ? 0 : o.offset;
  const limit = o.limit <= 0 ? DEFAULT_LIMIT : o.limit;
  const test = o.test;
  const now = nowNanos();
  const sum = new StatsSum();
  const page: Array<{ account: string; sub: Subscription }> = [];
  let matched = 0;
  for (const acc of ctx.source.accounts.values()) {
    if (o.account !== '' && acc.name !== o.account) continue;
    sum.add(acc);
    // Past the requested window nothing more is reported: the walk can stop there.
    if (!o.subscriptions || matched >= offset + limit) continue;
    let walked = 0;
    for (const s of acc.sublist.entries()) {
      if (++walked % SUBS_PER_PAUSE === 0) yield;
      if (test !== '' && !subjectMatches(s.subject, test)) continue;
      // Only the requested window is turned into JSON objects.
      if (matched++ < offset) continue;
      page.push({ account: acc.name, sub: s });
      if (matched >= offset + limit) break;
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
  if (page.length > 0) {
    z.subscriptions_list = new LazyList(page, ({ account, sub }) =>
      subDetail(account, sub.subject, sub.queue ?? '', sub.sid, sub.delivered, sub.max, sub.client?.cid ?? 0));
  }
  return z;
}
