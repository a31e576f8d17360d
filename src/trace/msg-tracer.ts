/**
 * Message tracing for one server (ADR-41): decides whether a message that
 * enters asks to be traced, starts its MsgTrace, and publishes the trace
 * event when the message's routing here is done.
 *
 * The decision follows nats-server's: `Nats-Trace-Dest` names the
 * destination (`Nats-Trace-Only: 1|true|on` suppresses delivery to
 * clients); without it, a sampled W3C `traceparent` traces to the
 * account's `msg_trace` destination, sampled once at the origin server. A
 * destination the sender may not publish to stops the message with a
 * permissions error.
 */
import { gzipSync } from 'node:zlib';
import type { Account } from '../accounts/account.js';
import type { AccountMsgTrace } from '../accounts/account-config.js';
import type { ClientPermissions } from '../auth/permissions.js';
import { S2Writer } from '../jetstream/snapshot/s2-stream.js';
import { configuredClusterName, jetStreamOn } from '../jetstream/cluster/mode.js';
import type { ServerCore } from '../server/core.js';
import { SERVER_VERSION } from '../server/version.js';
import { isValidLiteralSubject } from '../subjects/validate.js';
import { marshalCompact } from '../text/go-format.js';
import {
  DISABLE, DROP, MsgTrace, NOT_TRACED, TraceKind, now, type TraceDecision, type TraceKindValue, type TraceServerJson, type TraceStarter,
} from './msg-trace.js';
import { traceScope } from './trace-scope.js';
import { registerTracer } from './tracer-registry.js';
import {
  TRACE_DEST, TRACE_HOP, TRACE_ONLY, TRACE_ORIGIN_ACCOUNT, headerValue, liftTraceHeaders, mayNameTraceDest, mayNameTraceParent, withTraceDisabled,
} from './trace-headers.js';

/** A connection that can be told about a refused publish (clients). */
interface ErrorReceiver {
  sendErr(text: string): void;
}

const GZIP_HEADER = 'NATS/1.0\r\nContent-Encoding: gzip\r\n\r\n';
const SNAPPY_HEADER = 'NATS/1.0\r\nContent-Encoding: snappy\r\n\r\n';
const IDENTITY_HEADER = 'NATS/1.0\r\nContent-Encoding: identity\r\n\r\n';
const ACCEPT_ENCODING = 'Accept-Encoding';

export class MsgTracer implements TraceStarter {
  private readonly core: ServerCore;
  private seq = 0;
  /** Accounts with a `msg_trace` destination, from the security configuration last seen (reload replaces it). */
  private accountTraces = new Map<string, AccountMsgTrace>();
  private accountTracesOf: object | null = null;

  constructor(core: ServerCore) {
    this.core = core;
    registerTracer(core, this);
  }

  /** The `msg_trace` of `acc`, or undefined: what makes `traceparent` count. */
  private accountTrace(acc: Account): AccountMsgTrace | undefined {
    const sec = this.core.security;
    if (sec !== this.accountTracesOf) {
      this.accountTracesOf = sec;
      this.accountTraces = new Map();
      for (const a of sec.accounts) if (a.msgTrace !== null) this.accountTraces.set(a.name, a.msgTrace);
    }
    return this.accountTraces.size === 0 ? undefined : this.accountTraces.get(acc.name);
  }

  /**
   * Whether the message buf[start, end) (hdrLen > 0 bytes of headers)
   * entering `acc` is traced (see TraceStarter.begin). Cheap when it is
   * not: a byte scan of the header block, and nothing else unless it
   * names a trace header.
   */
  begin(kind: TraceKindValue, cid: number, name: string, perms: ClientPermissions | null, acc: Account, subject: string,
    buf: Buffer, start: number, hdrLen: number, end: number, sender: object | null): TraceDecision {
    let accTrace: AccountMsgTrace | undefined;
    if (!mayNameTraceDest(buf, start, hdrLen)) {
      accTrace = this.accountTrace(acc);
      if (accTrace === undefined || !mayNameTraceParent(buf, start, hdrLen)) return NOT_TRACED;
    }
    const req = liftTraceHeaders(buf, start, hdrLen);
    if (req === null) return NOT_TRACED;
    const h = req.headers;
    let traceOnly = false;
    let dest = '';
    if (!req.external) {
      const only = headerValue(h, TRACE_ONLY).toLowerCase();
      traceOnly = only === '1' || only === 'true' || only === 'on';
      dest = headerValue(h, TRACE_DEST);
      if (dest === '') return traceOnly ? DROP : NOT_TRACED;
    }
    const origin = headerValue(h, TRACE_ORIGIN_ACCOUNT);
    if (origin !== '') {
      this.core.logger.error(`Message tracing disabled because of header "${TRACE_ORIGIN_ACCOUNT}" with value="${origin}"`);
      return traceOnly ? DROP : DISABLE;
    }
    if (req.external) {
      accTrace ??= this.accountTrace(acc);
      if (accTrace === undefined) return NOT_TRACED;
      dest = accTrace.dest;
      // Sampled once, where the message enters the system; the servers it reaches next follow that choice.
      if (kind === TraceKind.Client && !sampled(accTrace.sampling)) return DISABLE;
    }
    if (!isValidLiteralSubject(dest)) {
      this.core.logger.error(`Destination "${dest}" is not valid, won't be able to trace events`);
      return traceOnly ? DROP : NOT_TRACED;
    }
    if (perms !== null && !perms.canPublish(dest)) {
      const text = `Permissions Violation for Publish to "${dest}"`;
      if (sender !== null && typeof (sender as Partial<ErrorReceiver>).sendErr === 'function') (sender as ErrorReceiver).sendErr(text);
      this.core.logger.error(`Publish Violation - Subject "${dest}"`);
      return DROP;
    }
    const hop = kind === TraceKind.Client ? '' : headerValue(h, TRACE_HOP);
    return new MsgTrace(acc, dest, traceOnly, hop, h, end - start, { kind, cid, name }, subject, encodingOf(headerValue(h, ACCEPT_ENCODING)));
  }

  run(d: Exclude<TraceDecision, typeof NOT_TRACED>, buf: Buffer, start: number, hdrLen: number, end: number,
    route: (buf: Buffer, start: number, hdrLen: number, end: number) => number): number {
    // Counted as taken: nats-server drops such a message before routing, so no no-responders status goes back either.
    if (d === DROP) return 1;
    if (d === DISABLE) {
      const w = withTraceDisabled(buf, start, hdrLen, end);
      return route(w.buf, 0, w.hdrLen, w.buf.length);
    }
    traceScope.active = d;
    try {
      return route(buf, start, hdrLen, end);
    } finally {
      traceScope.active = null;
      this.finish(d);
    }
  }

  refused(kind: TraceKindValue, cid: number, name: string, perms: ClientPermissions | null, acc: Account, subject: string,
    buf: Buffer, start: number, hdrLen: number, end: number, sender: object | null, error: string): void {
    const d = this.begin(kind, cid, name, perms, acc, subject, buf, start, hdrLen, end, sender);
    if (!(d instanceof MsgTrace)) return;
    d.setIngressError(error);
    this.finish(d);
  }

  /** Publishes the trace event of `t` to its destination, in its account. */
  finish(t: MsgTrace): void {
    const body = Buffer.from(marshalCompact(t.toJSON(this.serverInfo())));
    let payload = body;
    let headers: string | null = null;
    switch (t.encoding) {
      case 'gzip':
        payload = gzipSync(body);
        headers = GZIP_HEADER;
        break;
      case 'snappy': {
        const w = new S2Writer();
        payload = Buffer.concat([...w.write(body), ...w.end()]);
        headers = SNAPPY_HEADER;
        break;
      }
      case 'identity':
        headers = IDENTITY_HEADER;
        break;
    }
    this.core.publishInternal(t.account, t.dest, null, payload, headers);
  }

  /** nats-server's ServerInfo block, with this server's own sequence of trace events. */
  private serverInfo(): TraceServerJson {
    const c = this.core;
    const o = c.options;
    const js = jetStreamOn(o);
    const cluster = configuredClusterName(o);
    const tags = o.server_tags ?? [];
    // Built in nats-server's key order; cluster and tags are left out when empty, as Go's omitempty does.
    const info: Partial<TraceServerJson> = { name: c.name, host: o.host, id: c.id };
    if (cluster !== '') info.cluster = cluster;
    info.ver = SERVER_VERSION;
    if (tags.length > 0) info.tags = tags;
    info.jetstream = js;
    info.flags = js ? 1 : 0;
    info.seq = ++this.seq;
    info.time = now();
    return info as TraceServerJson;
  }
}

/** How the trace event travels, from the message's Accept-Encoding (as nats-server reads it). */
function encodingOf(accept: string): MsgTrace['encoding'] {
  if (accept === '') return 'none';
  const a = accept.toLowerCase();
  if (a.includes('snappy') || a.includes('s2')) return 'snappy';
  if (a.includes('gzip')) return 'gzip';
  return 'identity';
}

/** Sampling in percent: 100 (or out of range) always; otherwise that share of messages. */
function sampled(sampling: number): boolean {
  if (sampling <= 0 || sampling >= 100) return true;
  return Math.floor(Math.random() * 100) <= sampling;
}

