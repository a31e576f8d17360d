/**
 * /connz: open and recently closed client connections, with nats-server's
 * parameters, filters, sort orders, paging and quirks.
 *
 * Paging cost: sorting needs every candidate, but only as a reference plus
 * one sort key; ConnInfo objects are built for the requested page alone, one
 * at a time while the answer is serialized (a LazyList), as are long
 * subscription lists. The default order (by cid, open connections) needs no
 * sort at all because the server's client map is in cid order, so it is
 * served by a single walk. The walks pause between connections (and between
 * subscriptions when filtering by subject): see slices.ts.
 */
import type { Client } from '../server/client.js';
import type { ClosedConnection } from '../server/closed-connections.js';
import { GLOBAL_ACCOUNT } from '../accounts/names.js';
import { subjectsCollide } from '../accounts/subject-sets.js';
import { toWire } from '../auth/wire-text.js';
import { type Handler, type MonitorContext, slicedJsonReply } from './context.js';
import { BadRequest, type Query } from './query.js';
import { LazyList, type Sliced } from './slices.js';
import {
  type EpochNanos, formatDate, formatRtt, formatTime, formatUptime, msToNanos, nanosBetween, nowNanos,
} from '../text/go-format.js';

const DEFAULT_LIMIT = 1024;

type SortOpt =
  | 'cid' | 'start' | 'subs' | 'pending' | 'msgs_to' | 'msgs_from' | 'bytes_to' | 'bytes_from'
  | 'last' | 'idle' | 'uptime' | 'stop' | 'reason' | 'rtt';

const SORT_OPTS: ReadonlySet<string> = new Set<SortOpt>([
  'cid', 'start', 'subs', 'pending', 'msgs_to', 'msgs_from', 'bytes_to', 'bytes_from',
  'last', 'idle', 'uptime', 'stop', 'reason', 'rtt',
]);

/**
 * Which connections to list. `none` is what nats-server does with a state
 * number it does not know (possible over `$SYS`, where the state is an
 * integer): it lists nothing.
 */
export type ConnState = 'open' | 'closed' | 'all' | 'none';

type Entry = { open: Client; closed?: undefined } | { open?: undefined; closed: ClosedConnection };

/** nats-server's ConnzOptions, as /connz's query or a `$SYS` request body gives them. */
export interface ConnzOptions {
  /** A sort option name; '' sorts by cid. */
  sort: string;
  auth: boolean;
  subs: boolean;
  subsDetail: boolean;
  offset: number;
  limit: number;
  cid: number;
  state: ConnState;
  user: string;
  acc: string;
  mqttClient: string;
  /**
   * Only open connections with a subscription that collides with this subject
   * (needs `acc`). nats-server reads it from `$SYS` requests, not from the HTTP query.
   */
  filterSubject: string;
}

/** Options after validation and defaults. */
type ConnzRequest = Omit<ConnzOptions, 'sort'> & { sort: SortOpt };

/** subs=detail, else a Go boolean; shared with /routez. */
export function decodeSubs(q: Query): { subs: boolean; detail: boolean } {
  if (q.get('subs').toLowerCase() === 'detail') return { subs: false, detail: true };
  return { subs: q.bool('subs'), detail: false };
}

function decodeState(q: Query): ConnState {
  const s = q.get('state');
  if (s === '') return 'open';
  switch (s.toLowerCase()) {
    case 'open': return 'open';
    case 'closed': return 'closed';
    case 'any': case 'all': return 'all';
  }
  throw new BadRequest(`Error decoding state for ${s}`);
}

export const handleConnz: Handler = (ctx, q) => {
  // Same decoding order as nats-server, so the first bad parameter wins the 400.
  const sort = q.get('sort');
  const auth = q.bool('auth');
  const { subs, detail } = decodeSubs(q);
  const offset = q.int('offset');
  const limit = q.int('limit');
  const cid = q.uint64('cid');
  const state = decodeState(q);
  ctx.count('/connz');
  return slicedJsonReply(connzData(ctx, {
    sort,
    auth,
    subs,
    subsDetail: detail,
    offset,
    limit,
    cid,
    state,
    user: q.get('user'),
    acc: q.get('acc'),
    mqttClient: q.get('mqtt_client'),
    filterSubject: '',
  }));
};

/**
 * The /connz object (also `$SYS.REQ...CONNZ`), as work to run in slices;
 * throws BadRequest at once for options nats-server refuses.
 */
export function connzData(ctx: MonitorContext, o: ConnzOptions): Sliced<Record<string, unknown>> {
  if (o.sort !== '' && !SORT_OPTS.has(o.sort)) throw new BadRequest(`invalid sorting option: ${o.sort}`);
  const sort = (o.sort === '' ? 'cid' : o.sort) as SortOpt;
  if (sort === 'stop' && o.state !== 'closed') throw new BadRequest('sort by stop only valid on closed connections');
  if (sort === 'reason' && o.state !== 'closed') throw new BadRequest('sort by reason only valid on closed connections');
  // A full wildcard filters nothing; subscriptions hold subjects in wire form.
  const filterSubject = o.filterSubject === '>' ? '' : toWire(o.filterSubject);
  if (filterSubject !== '' && o.acc === '') throw new BadRequest('filter by subject only valid with account filtering');
  return connz(ctx, {
    ...o,
    sort,
    filterSubject,
    offset: o.offset < 0 ? 0 : o.offset,
    // A cid lookup answers at most one connection.
    limit: o.cid > 0 ? 1 : o.limit <= 0 ? DEFAULT_LIMIT : o.limit,
  });
}

/** Global-account connections record no account name in nats-server's closed list. */
function closedAccount(cc: ClosedConnection): string {
  return cc.account === GLOBAL_ACCOUNT ? '' : cc.account;
}

function* connz(ctx: MonitorContext, r: ConnzRequest): Sliced<Record<string, unknown>> {
  const source = ctx.source;
  const now = nowNanos();
  const head = (serverId: string, total: number, conns: LazyList<Client> | LazyList<Entry> | [] | null, count: number): Record<string, unknown> => ({
    server_id: serverId,
    now: formatTime(now),
    num_connections: count,
    total,
    offset: r.offset,
    limit: r.limit,
    connections: conns,
  });

  let openSource: Iterable<Client> = source.clients.values();
  let openCount = source.clients.size;
  if (r.acc !== '') {
    const account = source.accounts.get(r.acc);
    // nats-server returns before filling in anything, server_id included.
    if (account === undefined) return head('', 0, null, 0);
    const accountClients = source.clientsOf(account);
    openSource = accountClients;
    openCount = accountClients.size;
  }

  const wantOpen = r.state === 'open' || r.state === 'all';
  const wantClosed = r.state === 'closed' || r.state === 'all';
  let closed: ClosedConnection[] = wantClosed ? source.closed.list() : [];
  let total = (wantOpen ? openCount : 0) + closed.length;
  if (r.acc !== '' && closed.length > 0) {
    const kept = closed.filter((cc) => closedAccount(cc) === r.acc);
    total -= closed.length - kept.length;
    closed = kept;
  }

  function* openFilter(c: Client): Sliced<boolean> {
    if (r.acc !== '' && c.account.name !== r.acc) return false;
    if (r.user !== '' && c.authUser !== r.user) return false;
    // No MQTT here: no client has an MQTT client id, so that filter matches nothing.
    if (r.mqttClient !== '') return false;
    return r.filterSubject === '' || (yield* hasInterestIn(c, r.filterSubject));
  }
  const closedFilter = (cc: ClosedConnection): boolean =>
    !(r.acc !== '' && closedAccount(cc) !== r.acc) &&
    !(r.user !== '' && cc.user !== r.user) &&
    r.mqttClient === '';

  const build = (e: Entry): Record<string, unknown> =>
    e.open !== undefined ? openInfo(e.open, now, r) : closedInfo(e.closed, r);

  // Fast path: open connections in cid order need no sort and no candidate list.
  if (r.cid === 0 && r.state === 'open' && r.acc === '' && (r.sort === 'cid' || r.sort === 'start')) {
    const page: Client[] = [];
    let seen = 0;
    for (const c of openSource) {
      yield;
      if (!(yield* openFilter(c))) continue;
      if (seen++ < r.offset) continue;
      if (page.length >= r.limit) break;
      page.push(c);
    }
    return head(source.id, total, new LazyList(page, (c) => openInfo(c, now, r)), page.length);
  }

  const entries: Entry[] = [];
  if (r.cid > 0) {
    // As in nats-server: a cid lookup with state=closed or all searches only
    // the closed list, and a found connection skips the user/account filters.
    if (wantClosed) {
      const cc = closed.find((x) => x.cid === r.cid);
      if (cc !== undefined && closedFilter(cc)) entries.push({ closed: cc });
    } else if (wantOpen) {
      const c = source.clients.get(r.cid);
      if (c !== undefined) entries.push({ open: c });
    }
  } else {
    if (wantOpen) {
      for (const c of openSource) {
        yield;
        if (yield* openFilter(c)) entries.push({ open: c });
      }
    }
    for (const cc of closed) if (closedFilter(cc)) entries.push({ closed: cc });
  }
  if (entries.length === 0) return head(source.id, total, [], 0);

  if (r.sort === 'rtt') {
    // Unmeasured RTTs would all sort as zero; ask now, as rendering would.
    for (const e of entries) if (e.open !== undefined) requestRtt(e.open);
  }
  sortEntries(entries, r.sort, now);

  const page = entries.slice(Math.min(r.offset, entries.length), Math.min(r.offset + r.limit, entries.length));
  return head(source.id, total, new LazyList(page, build), page.length);
}

/** Subscriptions between two pauses of a walk over one connection's subscriptions. */
const SUBS_PER_PAUSE = 256;

/** Whether any of the connection's subscriptions could share a subject with `subject`. */
function* hasInterestIn(c: Client, subject: string): Sliced<boolean> {
  let n = 0;
  for (const s of c.subs.values()) {
    if (subjectsCollide(subject, s.subject)) return true;
    if (++n % SUBS_PER_PAUSE === 0) yield;
  }
  return false;
}

/** Bytes waiting for this connection: still in our queue plus still in Node's socket buffer. */
function pendingBytes(c: Client): number {
  return c.out.pending + c.socket.writableLength;
}

function sortEntries(entries: Entry[], sort: SortOpt, now: EpochNanos): void {
  const nowMs = Number(now / 1_000_000n);
  let key: (e: Entry) => number | string;
  let descending = true;
  switch (sort) {
    case 'cid': case 'start':
      key = (e) => (e.open ?? e.closed).cid; descending = false; break;
    case 'subs':
      key = (e) => e.open !== undefined ? e.open.subs.size : e.closed.subs.length; break;
    case 'pending':
      key = (e) => e.open !== undefined ? pendingBytes(e.open) : 0; break;
    case 'msgs_to':
      key = (e) => (e.open ?? e.closed).outMsgs; break;
    case 'msgs_from':
      key = (e) => (e.open ?? e.closed).inMsgs; break;
    case 'bytes_to':
      key = (e) => (e.open ?? e.closed).outBytes; break;
    case 'bytes_from':
      key = (e) => (e.open ?? e.closed).inBytes; break;
    case 'last':
      key = (e) => e.open !== undefined ? e.open.lastActivity : e.closed.lastActivity; break;
    case 'idle':
      key = (e) => nowMs - (e.open !== undefined ? e.open.lastActivity : e.closed.lastActivity); break;
    case 'uptime':
      // Shortest-lived first: nats-server does not reverse this one.
      key = (e) => e.open !== undefined ? nowMs - e.open.start.getTime() : e.closed.stop.getTime() - e.closed.start.getTime();
      descending = false;
      break;
    case 'stop':
      key = (e) => e.closed !== undefined ? e.closed.stop.getTime() : 0; break;
    case 'reason':
      key = (e) => e.closed !== undefined ? e.closed.reason : ''; descending = false; break;
    case 'rtt':
      key = (e) => (e.open ?? e.closed).rtt; break;
  }
  // Decorate once so keys are not recomputed O(n log n) times; cid breaks ties
  // so pages are stable between requests (Go's sort is not).
  const decorated = entries.map((e) => ({ e, k: key(e), cid: (e.open ?? e.closed).cid }));
  decorated.sort((a, b) => {
    if (a.k !== b.k) {
      const lt = a.k < b.k;
      return (descending ? !lt : lt) ? -1 : 1;
    }
    return a.cid - b.cid;
  });
  for (let i = 0; i < decorated.length; i++) entries[i] = decorated[i].e;
}

/**
 * nats-server pings a real client (one that sent a `lang`) whose RTT is still
 * unknown when it is listed, so the next listing has a value.
 */
function requestRtt(c: Client): void {
  if (c.rtt === 0 && c.rttStart === 0 && c.lang !== '' && c.connectReceived && !c.closed) c.sendPing();
}

function openInfo(c: Client, now: EpochNanos, r: ConnzRequest): Record<string, unknown> {
  requestRtt(c);
  const hasPort = c.port !== 0;
  const ci: Record<string, unknown> = {
    cid: c.cid,
    kind: 'Client',
    type: 'nats',
    ip: hasPort ? c.host : '',
    port: hasPort ? c.port : 0,
    start: formatDate(c.start),
    last_activity: formatTime(msToNanos(c.lastActivity)),
    rtt: formatRtt(c.rtt),
    uptime: formatUptime(nanosBetween(msToNanos(c.start.getTime()), now)),
    idle: formatUptime(nanosBetween(msToNanos(c.lastActivity), now)),
    pending_bytes: pendingBytes(c),
    in_msgs: c.inMsgs,
    out_msgs: c.outMsgs,
    in_bytes: c.inBytes,
    out_bytes: c.outBytes,
    subscriptions: c.subs.size,
  };
  if (c.name !== '') ci.name = c.name;
  if (c.lang !== '') ci.lang = c.lang;
  if (c.version !== '') ci.version = c.version;
  if (r.auth) {
    if (c.authUser !== '') ci.authorized_user = c.authUser;
    if (c.account.name !== GLOBAL_ACCOUNT) ci.account = c.account.name;
  }
  if (c.subs.size > 0) {
    // A connection may hold hundreds of thousands: listed lazily, like the page.
    if (r.subsDetail) {
      ci.subscriptions_list_detail = new LazyList([...c.subs.values()], (s) => subDetail(null, s.subject, s.queue ?? '', s.sid, s.delivered, s.max, c.cid));
    } else if (r.subs) {
      ci.subscriptions_list = new LazyList([...c.subs.values()], (s) => s.subject);
    }
  }
  return ci;
}

function closedInfo(cc: ClosedConnection, r: ConnzRequest): Record<string, unknown> {
  const stop = msToNanos(cc.stop.getTime());
  const last = cc.lastActivity;
  const hasPort = cc.port !== 0;
  // Uptime and idle are frozen at the moment of closing, as nats-server records them.
  const ci: Record<string, unknown> = {
    cid: cc.cid,
    kind: 'Client',
    type: 'nats',
    ip: hasPort ? cc.ip : '',
    port: hasPort ? cc.port : 0,
    start: formatDate(cc.start),
    last_activity: formatTime(msToNanos(last)),
    stop: formatTime(stop),
    reason: cc.reason,
    rtt: formatRtt(cc.rtt),
    uptime: formatUptime(nanosBetween(msToNanos(cc.start.getTime()), stop)),
    idle: formatUptime(nanosBetween(msToNanos(last), stop)),
    // The server empties a connection's queue when it closes.
    pending_bytes: 0,
    in_msgs: cc.inMsgs,
    out_msgs: cc.outMsgs,
    in_bytes: cc.inBytes,
    out_bytes: cc.outBytes,
    subscriptions: cc.subs.length,
  };
  if (cc.name !== '') ci.name = cc.name;
  if (cc.lang !== '') ci.lang = cc.lang;
  if (cc.version !== '') ci.version = cc.version;
  if (r.auth) {
    if (cc.user !== '') ci.authorized_user = cc.user;
    const acc = closedAccount(cc);
    if (acc !== '') ci.account = acc;
  }
  if (cc.subs.length > 0) {
    if (r.subsDetail) {
      // Closed details carry the account name, as nats-server's do.
      ci.subscriptions_list_detail = new LazyList(cc.subs, (s) => subDetail(cc.account, s.subject, s.queue, s.sid, s.msgs, s.max, cc.cid));
    } else if (r.subs) {
      ci.subscriptions_list = new LazyList(cc.subs, (s) => s.subject);
    }
  }
  return ci;
}

/** nats-server's SubDetail; `account` only where nats-server sets it. */
export function subDetail(account: string | null, subject: string, queue: string, sid: string, msgs: number, max: number, cid: number): Record<string, unknown> {
  const d: Record<string, unknown> = {};
  if (account !== null && account !== '') d.account = account;
  d.subject = subject;
  if (queue !== '') d.qgroup = queue;
  d.sid = sid;
  d.msgs = msgs;
  if (max !== 0) d.max = max;
  d.cid = cid;
  return d;
}
