/**
 * One traced message on one server (ADR-41): the events it met here,
 * published as one JSON trace event to the trace destination once its
 * routing is done. Field names, order and omissions are nats-server's
 * (MsgTraceEvent and friends in its msgtrace.go), so `nats trace` and
 * other readers of that format understand Natter's events.
 */
import type { Account } from '../accounts/account.js';
import type { ClientPermissions } from '../auth/permissions.js';
import { formatTime, nowNanos } from '../text/go-format.js';
import type { HeaderMap } from './trace-headers.js';

/** nats-server's connection kinds, as trace events number them. */
export const TraceKind = { Client: 0, Router: 1, Gateway: 2, System: 3, Leaf: 4, JetStream: 5, Account: 6 } as const;
export type TraceKindValue = (typeof TraceKind)[keyof typeof TraceKind];

/** Why an egress did not (or will not) happen, in nats-server's words. */
export const TRACE_ERR = {
  onlyNoSupport: 'Not delivered because remote does not support message tracing',
  noSupport: 'Message delivered but remote does not support message tracing so no trace event generated from there',
  noEcho: 'Not delivered because of no echo',
  pubViolation: 'Not delivered because publish denied for this subject',
  subDeny: 'Not delivered because subscription denies this subject',
  subClosed: 'Not delivered because subscription is closed',
  clientClosed: 'Not delivered because client is closed',
  autoSubExceeded: 'Not delivered because auto-unsubscribe exceeded',
} as const;

export interface IngressEventJson {
  type: 'in';
  ts: string;
  kind: number;
  cid: number;
  name?: string;
  acc: string;
  subj: string;
  error?: string;
}

export interface EgressEventJson {
  type: 'eg';
  ts: string;
  kind: number;
  cid: number;
  name?: string;
  hop?: string;
  acc?: string;
  sub?: string;
  queue?: string;
  error?: string;
}

export interface JetStreamEventJson {
  type: 'js';
  ts: string;
  stream: string;
  subject?: string;
  nointerest?: boolean;
  error?: string;
}

export type TraceEventJson =
  | IngressEventJson
  | EgressEventJson
  | JetStreamEventJson
  | { type: 'sm'; ts: string; to: string }
  | { type: 'se'; ts: string; acc: string; to: string }
  | { type: 'si'; ts: string; acc: string; from: string; to: string };

/** nats-server's ServerInfo block, as trace events carry it. */
export interface TraceServerJson {
  name: string;
  host: string;
  id: string;
  cluster?: string;
  domain?: string;
  ver: string;
  tags?: string[];
  jetstream: boolean;
  flags: number;
  seq: number;
  time: string;
}

/** Where a message came from, as the ingress event names it. */
export interface TraceOrigin {
  readonly kind: TraceKindValue;
  readonly cid: number;
  /** The client's CONNECT name, or the remote server's name for a route or leaf connection. */
  readonly name: string;
}

/** Not traced: route the message as usual. */
export const NOT_TRACED = 0;
/** Not traced and not routed either (a trace-only message whose trace cannot happen). */
export const DROP = 1;
/** Not traced (sampled out, or disabled upstream): route a copy whose Nats-Trace-Dest says so, so that peers do not trace it. */
export const DISABLE = 2;
export type TraceDecision = MsgTrace | typeof NOT_TRACED | typeof DROP | typeof DISABLE;

/**
 * What the message paths ask of a server's tracer (src/trace/msg-tracer.ts):
 * whether a message entering from a connection is traced, and routing it
 * with that decision.
 */
export interface TraceStarter {
  /**
   * Decides for the message buf[start, end) with hdrLen > 0 bytes of
   * headers entering `acc` through connection `cid` of `kind` (`name`:
   * its CONNECT name, or the remote server's). `perms` are the sender's
   * publish rules; `sender` is told about a refused trace destination
   * when it can take an -ERR.
   */
  begin(kind: TraceKindValue, cid: number, name: string, perms: ClientPermissions | null, acc: Account, subject: string,
    buf: Buffer, start: number, hdrLen: number, end: number, sender: object | null): TraceDecision;
  /** A publish refused at the door (`error`, e.g. a publish permissions violation): a traced one reports it as its ingress error. */
  refused(kind: TraceKindValue, cid: number, name: string, perms: ClientPermissions | null, acc: Account, subject: string,
    buf: Buffer, start: number, hdrLen: number, end: number, sender: object | null, error: string): void;
  /** Routes the message as `d` says (`route` does the routing) and publishes the trace event after. */
  run(d: Exclude<TraceDecision, typeof NOT_TRACED>, buf: Buffer, start: number, hdrLen: number, end: number,
    route: (buf: Buffer, start: number, hdrLen: number, end: number) => number): number;
}

export function now(): string {
  return formatTime(nowNanos());
}

export class MsgTrace {
  /** The account the trace event is published in (the ingress account). */
  readonly account: Account;
  readonly dest: string;
  /** Nats-Trace-Only: trace where the message would go without delivering it to clients. */
  readonly traceOnly: boolean;
  /** Nats-Trace-Hop as received ('' at the origin server). */
  readonly hop: string;
  /** How many remote servers this server passed the message on to. */
  hops = 0;
  readonly headers: HeaderMap;
  readonly msgSize: number;
  readonly ingress: IngressEventJson;
  readonly events: TraceEventJson[];
  /** The JetStream event, once a stream took the message. */
  js: JetStreamEventJson | null = null;
  /** How the event travels, from the message's Accept-Encoding: plain, compressed, or marked `identity` (an encoding this server does not offer). */
  readonly encoding: 'none' | 'gzip' | 'snappy' | 'identity';
  /** Leaf connections already reported (a leaf takes a message once however many of its subscriptions match). */
  private leafs: Set<number> | null = null;

  constructor(account: Account, dest: string, traceOnly: boolean, hop: string, headers: HeaderMap, msgSize: number, origin: TraceOrigin, subject: string, encoding: MsgTrace['encoding']) {
    this.account = account;
    this.dest = dest;
    this.traceOnly = traceOnly;
    this.hop = hop;
    this.headers = headers;
    this.msgSize = msgSize;
    this.encoding = encoding;
    // Key order is the JSON's: nats-server's field order, `name` left out when empty.
    const ingress: IngressEventJson = origin.name === ''
      ? { type: 'in', ts: now(), kind: origin.kind, cid: origin.cid, acc: account.name, subj: subject }
      : { type: 'in', ts: now(), kind: origin.kind, cid: origin.cid, name: origin.name, acc: account.name, subj: subject };
    this.ingress = ingress;
    this.events = [ingress];
  }

  setIngressError(error: string): void {
    this.ingress.error = error;
  }

  /** The hop id the next remote server gets in Nats-Trace-Hop: `<hop>.<n>`, or `<n>` at the origin. */
  nextHop(): string {
    this.hops++;
    return this.hop === '' ? String(this.hops) : `${this.hop}.${this.hops}`;
  }

  /**
   * An egress: `sub` and `queue` only for client connections (a route or
   * leaf connection's matching subscription says nothing of who gets it
   * there); `acc` only when the destination's account differs from the
   * ingress account (service imports).
   */
  addEgress(kind: TraceKindValue, cid: number, name: string, hop: string, acc: string, sub: string, queue: string | null, error: string): void {
    const e: EgressEventJson = { type: 'eg', ts: now(), kind, cid };
    if (name !== '') e.name = name;
    if (hop !== '') e.hop = hop;
    if (acc !== '' && acc !== this.ingress.acc) e.acc = acc;
    if (sub !== '') e.sub = sub;
    if (queue !== null && queue !== '') e.queue = queue;
    if (error !== '') e.error = error;
    this.events.push(e);
  }

  /** True the first time a given leaf connection is seen for this message. */
  firstLeafEgress(cid: number): boolean {
    const seen = (this.leafs ??= new Set());
    if (seen.has(cid)) return false;
    seen.add(cid);
    return true;
  }

  addSubjectMapping(to: string): void {
    this.events.push({ type: 'sm', ts: now(), to });
  }

  addStreamExport(importer: string, to: string): void {
    this.events.push({ type: 'se', ts: now(), acc: importer, to });
  }

  addServiceImport(exporter: string, from: string, to: string): void {
    this.events.push({ type: 'si', ts: now(), acc: exporter, from, to });
  }

  addJetStream(stream: string): JetStreamEventJson {
    const e: JetStreamEventJson = { type: 'js', ts: now(), stream };
    this.js = e;
    this.events.push(e);
    return e;
  }

  /** The trace event, as nats-server marshals MsgTraceEvent (header keys sorted, as Go sorts map keys). */
  toJSON(server: TraceServerJson): Record<string, unknown> {
    const header: Record<string, string[]> = {};
    for (const key of [...this.headers.keys()].sort(compareBytes)) header[key] = this.headers.get(key) as string[];
    const request: Record<string, unknown> = {};
    if (this.headers.size > 0) request.header = header;
    if (this.msgSize > 0) request.msgsize = this.msgSize;
    const out: Record<string, unknown> = { server, request };
    if (this.hops > 0) out.hops = this.hops;
    out.events = this.events;
    return out;
  }
}

function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
