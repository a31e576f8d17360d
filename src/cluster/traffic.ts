/**
 * What flows over the routes: interest and messages.
 *
 * - Interest: every local subscription change is counted per account and
 *   announced to the registered routes (RS+/RS-, queue weights); a route
 *   that registers gets all of it at once.
 * - Messages: a client publish goes, after local delivery, to each route
 *   with matching interest (RMSG/HMSG) and, per queue group not served
 *   locally, to one route picked by weight, named in that route's queue
 *   section. A routed message is delivered locally only, never forwarded,
 *   except to a queue group whose member here left meanwhile: that goes on
 *   to another route serving the group, as nats-server does.
 * - Accounts: a subscription in an account that imports a stream is also
 *   announced as interest in the exporter (shadow interest), so a publish
 *   there reaches it; a service request this server moves into the
 *   exporter goes to the exporter's routes, with a reply under the
 *   exporter's response prefix, whose wildcard interest is announced
 *   first so that responders elsewhere can answer.
 */
import { accountRoutesVersion, type Account } from '../accounts/account.js';
import { Permissions } from '../auth/permissions.js';
import { fromWire, toWire } from '../auth/wire-text.js';
import type { Logger } from '../log/logger.js';
import type { InterestListener, MessageForwarder, ServerCore } from '../server/core.js';
import type { Subscription } from '../server/subscription.js';
import type { ClusterConfig } from './config.js';
import { LocalInterest, RemoteInterest, type InterestUpdate } from './interest.js';
import type { Route } from './route.js';
import { StreamImportIndex, type Shadow } from './shadow-interest.js';
import { NOT_TRACED, TraceKind, type TraceStarter } from '../trace/msg-trace.js';
import { tracerOf } from '../trace/tracer-registry.js';
import { forwardTraced } from '../trace/trace-egress.js';
import { traceScope } from '../trace/trace-scope.js';

export class RouteTraffic implements InterestListener, MessageForwarder {
  /** Interest announced by every route. */
  readonly remoteInterest = new RemoteInterest<Route>();

  private readonly core: ServerCore;
  private readonly logger: Logger;
  /** Registered routes by remote server id (the mesh keeps them). */
  private readonly remotes: ReadonlyMap<string, Route>;
  private readonly localInterest = new LocalInterest();
  private readonly streamImports: StreamImportIndex;
  /** The shadow interest each subscription added, withdrawn exactly so when it goes (imports may change meanwhile). */
  private readonly shadowed = new Map<Subscription, readonly Shadow[]>();
  /** The account routes version the shadows were last checked against. */
  private shadowVersion = accountRoutesVersion();
  /** Accounts whose response wildcard (`_R_.<prefix>.>`) is announced; it stays, as in nats-server. */
  private readonly responseInterest = new Set<Account>();
  /** Queue groups a routed message found nobody here for (reused per message). */
  private readonly unserved: string[] = [];
  private readonly importPerms: Permissions | null;
  private readonly exportPerms: Permissions | null;
  private readonly wireNames = new WeakMap<Account, string>();
  /** Message tracing (src/trace): routed messages that carry Nats-Trace-Dest are traced here too. */
  private readonly tracer: TraceStarter | null;

  constructor(core: ServerCore, config: ClusterConfig, remotes: ReadonlyMap<string, Route>) {
    this.core = core;
    this.logger = core.logger;
    this.remotes = remotes;
    const perms = config.permissions;
    this.importPerms = perms?.import ? new Permissions({ publish: perms.import, subscribe: null, response: null }) : null;
    this.exportPerms = perms?.export ? new Permissions({ publish: null, subscribe: perms.export, response: null }) : null;
    this.streamImports = new StreamImportIndex(core.accounts);
    this.tracer = tracerOf(core);
  }

  /** Counts the subscriptions that exist before the first route: what the first routes will be told. */
  countExisting(): void {
    for (const acc of this.core.accounts.values()) {
      for (const sub of acc.sublist.all()) this.subscriptionAdded(acc, sub);
    }
  }

  // ---- routed messages and interest in ---------------------------------------------------

  /**
   * An RS+ may enter when its account exists here and the export permission
   * allows it. Returns the account's name, or null to ignore the interest.
   */
  acceptRemoteSub(route: Route, account: string, subject: string): string | null {
    const acc = this.accountOf(account);
    if (acc === undefined) {
      this.logger.error(`${route.label()} - Unknown account "${fromWire(account)}" for remote subject "${subject}"`);
      return null;
    }
    if (this.exportPerms !== null && !this.exportPerms.canSubscribe(subject, null)) {
      if (this.logger.debugEnabled) this.logger.debug(`${route.label()} - Can not export "${subject}", ignoring remote subscription request`);
      return null;
    }
    return acc.name;
  }

  /** The account a route names (in wire form: UTF-8 bytes as latin1 characters). */
  private accountOf(wireName: string): Account | undefined {
    return this.core.accounts.get(wireName) ?? this.core.accounts.get(fromWire(wireName));
  }

  /** An account's name as routes must see it; cached, since every routed message carries it. */
  private wireName(acc: Account): string {
    let n = this.wireNames.get(acc);
    if (n === undefined) {
      n = toWire(acc.name);
      this.wireNames.set(acc, n);
    }
    return n;
  }

  deliver(route: Route, account: string, subject: string, reply: string | null, queues: readonly string[], hdrLen: number, buf: Buffer, start: number, end: number): void {
    const acc = this.accountOf(account);
    if (acc === undefined) {
      if (this.logger.debugEnabled) this.logger.debug(`${route.label()} - Unknown account "${account}" for routed message on subject: "${subject}"`);
      return;
    }
    // ---- message tracing (src/trace) ----
    if (hdrLen > 0 && this.tracer !== null && traceScope.active === null) {
      const d = this.tracer.begin(TraceKind.Router, route.rid, route.remoteName, null, acc, subject, buf, start, hdrLen, end, null);
      if (d !== NOT_TRACED) {
        this.tracer.run(d, buf, start, hdrLen, end, (b, s, h, e) => {
          this.deliverRouted(route, acc, subject, reply, queues, h, b, s, e);
          return 0;
        });
        return;
      }
    }
    this.deliverRouted(route, acc, subject, reply, queues, hdrLen, buf, start, end);
  }

  private deliverRouted(route: Route, acc: Account, subject: string, reply: string | null, queues: readonly string[], hdrLen: number, buf: Buffer, start: number, end: number): void {
    if (queues.length === 0) {
      this.core.deliverFromPeer(acc, subject, reply, hdrLen, buf, start, end, queues);
      return;
    }
    const unserved = this.unserved;
    unserved.length = 0;
    this.core.deliverFromPeer(acc, subject, reply, hdrLen, buf, start, end, queues, unserved);
    if (unserved.length > 0) this.reroute(route, acc, subject, reply, [...unserved], hdrLen, buf, start, end);
  }

  /**
   * The sender picked this server for queue groups whose last member here
   * left before the message arrived: each goes on to a route that still
   * has members (the sender only if no other has), so it is not lost.
   */
  private reroute(from: Route, acc: Account, subject: string, reply: string | null, queues: readonly string[], hdrLen: number, buf: Buffer, start: number, end: number): void {
    const byRoute = new Map<Route, string[]>();
    for (const q of queues) {
      const to = this.remoteInterest.queueRoute(acc.name, subject, q, from);
      if (to === null) continue;
      const list = byRoute.get(to);
      if (list === undefined) byRoute.set(to, [q]);
      else list.push(q);
    }
    const account = this.wireName(acc);
    for (const [to, qs] of byRoute) {
      if (this.logger.debugEnabled) this.logger.debug(`${from.label()} - Re-routing message on "${subject}" for queue group(s) ${qs.join(', ')} to ${to.label()}`);
      to.sendMsg(account, subject, reply, qs, hdrLen, buf, start, end);
    }
  }

  // ---- interest (InterestListener) --------------------------------------------------

  subscriptionAdded(acc: Account, sub: Subscription): void {
    const u = this.localInterest.add(acc.name, sub.subject, sub.queue);
    if (u !== null) this.announce(u);
    const shadows = this.streamImports.shadowsOf(acc.name, sub.subject);
    if (shadows.length === 0) return;
    this.shadowed.set(sub, shadows);
    for (const sh of shadows) this.addShadow(sh, sub.queue);
  }

  subscriptionRemoved(acc: Account, sub: Subscription): void {
    const u = this.localInterest.remove(acc.name, sub.subject, sub.queue);
    if (u !== null) this.announce(u);
    const shadows = this.shadowed.get(sub);
    if (shadows === undefined) return;
    this.shadowed.delete(sub);
    for (const sh of shadows) this.removeShadow(sh, sub.queue);
  }

  private addShadow(sh: Shadow, queue: string | null): void {
    const u = this.localInterest.add(sh.account, sh.subject, queue);
    if (u !== null) this.announce(u);
  }

  private removeShadow(sh: Shadow, queue: string | null): void {
    const u = this.localInterest.remove(sh.account, sh.subject, queue);
    if (u !== null) this.announce(u);
  }

  /**
   * Imports changed (reload, JWT claim update): the shadow interest of
   * every existing subscription follows them; only the difference is
   * announced. Checked periodically rather than hooked into every way
   * accounts change.
   */
  resyncShadows(): void {
    if (accountRoutesVersion() === this.shadowVersion) return;
    this.shadowVersion = accountRoutesVersion();
    for (const acc of this.core.accounts.values()) {
      for (const sub of acc.sublist.all()) {
        const was = this.shadowed.get(sub) ?? [];
        const now = this.streamImports.shadowsOf(acc.name, sub.subject);
        for (const sh of was) if (!now.some((n) => sameShadow(n, sh))) this.removeShadow(sh, sub.queue);
        for (const sh of now) if (!was.some((w) => sameShadow(w, sh))) this.addShadow(sh, sub.queue);
        if (now.length === 0) this.shadowed.delete(sub);
        else this.shadowed.set(sub, now);
      }
    }
  }

  /** Only interest in subjects this server may import is announced. */
  private canImport(subject: string): boolean {
    return this.importPerms === null || this.importPerms.canPublish(subject);
  }

  private announce(u: InterestUpdate): void {
    if (this.remotes.size === 0 || !this.canImport(u.subject)) return;
    const account = toWire(u.account);
    for (const r of this.remotes.values()) r.sendInterest(account, u.subject, u.queue, u.weight);
  }

  /** A route registered: it learns every interest of this server at once. */
  sendAllInterest(route: Route): void {
    for (const u of this.localInterest.all()) {
      if (this.canImport(u.subject)) route.sendInterest(toWire(u.account), u.subject, u.queue, u.weight);
    }
    if (this.logger.debugEnabled) this.logger.debug(`${route.label()} - Sent local subscriptions to route`);
  }

  // ---- messages (MessageForwarder) ----------------------------------------------------

  forward(acc: Account, subject: string, reply: string | null, hdrLen: number, buf: Buffer, start: number, end: number, localQueues: readonly string[]): number {
    const t = this.remoteInterest.select(acc.name, subject, localQueues);
    if (t === null) return 0;
    const routes = t.routes;
    const account = this.wireName(acc);
    const trace = traceScope.active;
    if (trace !== null) return forwardTraced(trace, routes, t.queues, t.count, account, subject, reply, hdrLen, buf, start, end);
    for (let i = 0; i < t.count; i++) routes[i].sendMsg(account, subject, reply, t.queues[i], hdrLen, buf, start, end);
    return t.count;
  }

  forwardImport(acc: Account, subject: string, reply: string | null, hdrLen: number, buf: Buffer, start: number, end: number, localQueues: readonly string[]): number {
    if (reply !== null && !this.responseInterest.has(acc) && reply.startsWith(acc.responsePrefix)) {
      // Announced before the request goes out on the same connections, so the answer finds its way back.
      this.responseInterest.add(acc);
      const u = this.localInterest.add(acc.name, acc.responsePrefix + '>', null);
      if (u !== null) this.announce(u);
    }
    return this.forward(acc, subject, reply, hdrLen, buf, start, end, localQueues);
  }
}

function sameShadow(a: Shadow, b: Shadow): boolean {
  return a.account === b.account && a.subject === b.subject;
}
