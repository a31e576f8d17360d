/**
 * What every monitoring endpoint shares: the monitored server (as a
 * MonitorSource, never the concrete Server), request counters,
 * process usage, and the reply shapes the HTTP layer knows how to send.
 *
 * Each endpoint has a data builder (`varzData`, `connzData`...) that returns
 * the plain object and a thin HTTP handler around it; the system account's
 * `$SYS.REQ.SERVER...` responders call the same builders, so HTTP and `$SYS`
 * have one source of truth. A context works without an HTTP listener.
 */
import type { MonitorSource } from './source.js';
import type { Query } from './query.js';
import { ProcessUsage } from './process-usage.js';
import { marshalIndent } from '../text/go-format.js';
import { marshalSliced } from './slices.js';

/** A JSON body (already in Go's encoding; big ones as UTF-8 bytes) with its status; JSONP applies. */
export interface JsonReply {
  kind: 'json';
  status: number;
  body: string | Buffer;
}

/** An HTML page. */
export interface HtmlReply {
  kind: 'html';
  status: number;
  body: string;
}

export type Reply = JsonReply | HtmlReply;

/**
 * One endpoint: parses its query (throwing BadRequest for 400s) and answers,
 * at once or (for answers over many connections or subscriptions) later.
 */
export type Handler = (ctx: MonitorContext, q: Query) => Reply | Promise<Reply>;

export function jsonReply(value: unknown, status = 200): JsonReply {
  return { kind: 'json', status, body: marshalIndent(value) };
}

/** A JSON answer computed and serialized in slices (see slices.ts); `value` may be sliced work. */
export async function slicedJsonReply(value: unknown): Promise<JsonReply> {
  return { kind: 'json', status: 200, body: await marshalSliced(value, true) };
}

/** State every context of one server must agree on. */
interface SharedState {
  readonly usage: ProcessUsage;
  readonly reqStats: Map<string, number>;
}

const shared = new WeakMap<MonitorSource, SharedState>();

/** Where nats-server reports the monitor to be when no http_host is set: the client host. */
export function defaultHttpHost(source: MonitorSource): string {
  const o = source.options;
  return o.http_host === '' ? o.host : o.http_host;
}

export class MonitorContext {
  /** The server being reported on. */
  readonly source: MonitorSource;
  /**
   * CPU sampling and request counters are per server, not per context: the
   * HTTP monitor and the `$SYS` responders must report the same cpu and
   * http_req_stats.
   */
  readonly usage: ProcessUsage;
  /** Normalised base path ("/" or "/mon"), for routing and the index page links. */
  readonly basePath: string;
  /** The monitoring host, reported as /varz http_host. */
  readonly httpHost: string;
  private readonly reqStats: Map<string, number>;

  constructor(source: MonitorSource, basePath = '/', httpHost = defaultHttpHost(source)) {
    this.source = source;
    this.basePath = basePath;
    this.httpHost = httpHost;
    let state = shared.get(source);
    if (state === undefined) {
      state = { usage: new ProcessUsage(), reqStats: new Map() };
      shared.set(source, state);
    }
    this.usage = state.usage;
    this.reqStats = state.reqStats;
  }

  /** Counts a request under nats-server's path key (always without the base path). */
  count(path: string): void {
    this.reqStats.set(path, (this.reqStats.get(path) ?? 0) + 1);
  }

  /** /varz http_req_stats; Go marshals map keys sorted. */
  requestStats(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const k of [...this.reqStats.keys()].sort()) out[k] = this.reqStats.get(k) ?? 0;
    return out;
  }

  /** Sum of subscriptions over all accounts. */
  subscriptionCount(): number {
    let n = 0;
    for (const acc of this.source.accounts.values()) n += acc.sublist.size;
    return n;
  }

  /** The system account's name (`$SYS` unless configured), as nats-server reports it. */
  systemAccount(): string {
    return this.source.systemAccountName;
  }
}
