/**
 * The JetStream servers of the cluster: who they are and whether they are
 * alive. Each Natter JetStream server announces itself in the system account
 * (name, peer id, cluster, tags, free storage, HA asset count) soon after
 * start, every second for the first 10 s, every 10 s after that, whenever a
 * peer asks, and once more when it meets a peer it did not know (so a
 * newcomer learns everyone within a round trip). It says goodbye at shutdown
 * and in lame duck mode; a peer silent for 30 s is offline.
 *
 * nats-server's JetStream servers speak another dialect (their own Raft
 * subjects, their own meta group): one that shows up in `$SYS.SERVER.*.STATSZ`
 * with JetStream on is reported as an unsupported mixed cluster, and since
 * placement only ever picks announced Natter peers, nothing lands on it.
 */
import { createHash } from 'node:crypto';
import type { Account } from '../../accounts/account.js';
import type { ServerCore, Unregister } from '../../server/core.js';
import type { Subscription } from '../../server/subscription.js';
import { NATTER_VERSION } from '../../server/version.js';
import type { JsPeer } from './types.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A server's Raft peer id: nats-server's getHash (first 8 bytes of sha256 of the name, each mod 62 in base-62 digits). */
export function peerIdOf(serverName: string): string {
  const sha = createHash('sha256').update(serverName).digest();
  let id = '';
  for (let i = 0; i < 8; i++) id += BASE62[sha[i] % 62];
  return id;
}

export const PEER_HELLO_SUBJECT = '$NATTER.JSC.PEER.HELLO';
const PEER_ASK_SUBJECT = '$NATTER.JSC.PEER.ASK';
const STATSZ_SUBJECT = '$SYS.SERVER.*.STATSZ';
const SERVER_PING_SUBJECT = '$SYS.REQ.SERVER.PING';

/** The first announcements come quickly (routes form within moments of start), then about every second. */
const FIRST_ANNOUNCE_MS = 250;
const FIRST_PHASE_MS = 2000;
const FAST_ANNOUNCE_MS = 1000;
const FAST_PHASE_MS = 10_000;
const SLOW_ANNOUNCE_MS = 10_000;
/** A peer not heard from for this long is offline. */
const PEER_OFFLINE_MS = 30_000;
/** A JetStream nats-server must stay unannounced this long before it is called foreign (our own announce may be in flight). */
const FOREIGN_GRACE_MS = 3000;
/** A foreign server not seen in STATSZ for this long is forgotten (it left). */
const FOREIGN_FORGET_MS = 120_000;
/** When to ask every server for STATSZ once routes had a moment to form. */
const STATSZ_PING_DELAY_MS = 2000;

/** What a Natter JetStream server says about itself. */
interface Announcement {
  name: string;
  id: string;
  server_id: string;
  cluster: string;
  tags: string[];
  available: { memory: number; file: number };
  ha_assets: number;
  version: string;
  goodbye?: boolean;
}

/** This server's figures, read at each announcement. */
export interface SelfFigures {
  available(): { memory: number; file: number };
  haAssets(): number;
}

interface KnownPeer {
  name: string;
  id: string;
  cluster: string;
  tags: string[];
  available: { memory: number; file: number };
  haAssets: number;
  lastSeen: number;
  gone: boolean;
}

export class PeerDirectory {
  readonly selfId: string;
  private readonly core: ServerCore;
  private readonly sys: Account;
  private readonly clusterName: string;
  private readonly figures: SelfFigures;
  private readonly known = new Map<string, KnownPeer>();
  private readonly seenListeners: Array<(peer: JsPeer) => void> = [];
  /** JetStream nats-servers by name: when first and last seen, and whether the error was logged. */
  private readonly foreign = new Map<string, { first: number; last: number; reported: boolean }>();
  private readonly subs: Subscription[] = [];
  private timer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private readonly statszInbox: string;
  private startedAt = 0;
  private closed = false;
  /** Said goodbye: no more announcements (they would bring this server back online in its peers' eyes). */
  private leaving = false;

  /** Milliseconds, monotonic (tests pass their own). */
  private readonly now: () => number;

  constructor(core: ServerCore, sys: Account, clusterName: string, figures: SelfFigures, now: () => number = () => performance.now()) {
    this.core = core;
    this.now = now;
    this.sys = sys;
    this.clusterName = clusterName;
    this.figures = figures;
    this.selfId = peerIdOf(core.name);
    this.statszInbox = `$NATTER.JSC.STATSZ.${this.selfId}`;
  }

  start(): void {
    this.startedAt = this.now();
    const sub = (subject: string, handler: (payload: Buffer) => void): void => {
      this.subs.push(this.core.subscribeInternal(this.sys, subject, null, (_s, _r, hdrLen, msg) => {
        handler(hdrLen > 0 ? msg.subarray(hdrLen) : msg);
      }));
    };
    sub(PEER_HELLO_SUBJECT, (p) => this.heard(p));
    sub(PEER_ASK_SUBJECT, () => this.announce());
    sub(STATSZ_SUBJECT, (p) => this.statsz(p));
    sub(this.statszInbox, (p) => this.statsz(p));
    this.announce();
    this.schedule(FIRST_ANNOUNCE_MS);
    this.pingTimer = setTimeout(() => {
      this.pingTimer = null;
      this.askStatsz();
    }, STATSZ_PING_DELAY_MS);
    this.pingTimer.unref();
  }

  /** Every JetStream server known, this one included (never offline to itself). */
  peers(): JsPeer[] {
    const now = this.now();
    const out: JsPeer[] = [this.selfPeer()];
    for (const p of this.known.values()) out.push(this.view(p, now));
    return out;
  }

  peer(id: string): JsPeer | null {
    if (id === this.selfId) return this.selfPeer();
    const p = this.known.get(id);
    return p === undefined ? null : this.view(p, this.now());
  }

  /** The server name behind a peer id; '' when unknown. */
  nameOf(id: string): string {
    if (id === this.selfId) return this.core.name;
    return this.known.get(id)?.name ?? '';
  }

  /** A peer id from a server name or an id; null when no known peer matches. */
  resolve(nameOrId: string): string | null {
    if (nameOrId === this.core.name || nameOrId === this.selfId) return this.selfId;
    for (const p of this.known.values()) if (p.name === nameOrId || p.id === nameOrId) return p.id;
    return null;
  }

  /** Told when a peer is first heard from, or heard again after it was offline. */
  onPeerSeen(listener: (peer: JsPeer) => void): Unregister {
    this.seenListeners.push(listener);
    return () => {
      const i = this.seenListeners.indexOf(listener);
      if (i >= 0) this.seenListeners.splice(i, 1);
    };
  }

  /** Names of JetStream-enabled nats-servers in the cluster (unsupported: they run their own meta group). */
  foreignJetStreamServers(): string[] {
    const now = this.now();
    const out: string[] = [];
    for (const [name, f] of this.foreign) if (this.isForeign(name, f, now)) out.push(name);
    return out.sort();
  }

  /** The health problem the cluster has because of them (for /healthz), or null. */
  healthProblem(): string | null {
    const names = this.foreignJetStreamServers();
    if (names.length === 0) return null;
    return `mixed JetStream cluster of nats-server and Natter is not supported: JetStream is enabled on nats-server ${names.map((n) => `'${n}'`).join(', ')}`;
  }

  /** Tells the cluster this server is going away (shutdown, lame duck); it announces nothing else from then on. */
  goodbye(): void {
    if (this.closed) return;
    this.leaving = true;
    this.publish(true);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.pingTimer !== null) clearTimeout(this.pingTimer);
    this.timer = this.pingTimer = null;
    for (const s of this.subs) this.core.unsubscribeInternal(this.sys, s);
    this.subs.length = 0;
  }

  // ---- announcements ---------------------------------------------------------

  private schedule(ms: number): void {
    this.timer = setTimeout(() => this.tick(), ms);
    this.timer.unref();
  }

  private tick(): void {
    this.timer = null;
    if (this.closed) return;
    this.announce();
    this.checkForeign();
    const age = this.now() - this.startedAt;
    // Routes form in the first moments: whoever is reachable by now tells us about itself at once.
    if (age < FIRST_PHASE_MS) this.core.publishInternal(this.sys, PEER_ASK_SUBJECT, null, '');
    // Servers that joined later are asked for STATSZ at each slow tick (theirs may be 30 s apart).
    if (age >= FAST_PHASE_MS) this.askStatsz();
    this.schedule(age < FIRST_PHASE_MS ? FIRST_ANNOUNCE_MS : age < FAST_PHASE_MS ? FAST_ANNOUNCE_MS : SLOW_ANNOUNCE_MS);
  }

  /** Every server answers `$SYS.REQ.SERVER.PING` with its STATSZ: how a JetStream nats-server shows itself. */
  private askStatsz(): void {
    if (!this.closed) this.core.publishInternal(this.sys, SERVER_PING_SUBJECT, this.statszInbox, '');
  }

  private announce(): void {
    if (this.closed || this.leaving) return;
    this.publish(false);
  }

  private publish(goodbye: boolean): void {
    const a: Announcement = {
      name: this.core.name,
      id: this.selfId,
      server_id: this.core.id,
      cluster: this.clusterName,
      tags: this.tags(),
      available: this.figures.available(),
      ha_assets: this.figures.haAssets(),
      version: NATTER_VERSION,
    };
    if (goodbye) a.goodbye = true;
    this.core.publishInternal(this.sys, PEER_HELLO_SUBJECT, null, JSON.stringify(a));
  }

  private tags(): string[] {
    return [...(this.core.options.server_tags ?? [])];
  }

  private heard(payload: Buffer): void {
    const a = parseAnnouncement(payload);
    if (a === null || a.id === this.selfId) return;
    const now = this.now();
    const prev = this.known.get(a.id);
    const wasOnline = prev !== undefined && !prev.gone && now - prev.lastSeen < PEER_OFFLINE_MS;
    const peer: KnownPeer = {
      name: a.name,
      id: a.id,
      cluster: a.cluster,
      tags: a.tags,
      available: a.available,
      haAssets: a.ha_assets,
      lastSeen: now,
      gone: a.goodbye === true,
    };
    this.known.set(a.id, peer);
    this.foreign.delete(a.name);
    if (peer.gone || wasOnline) return;
    // A newcomer (or a returning peer, which may have restarted and forgotten us) learns about this server at once.
    this.announce();
    const view = this.view(peer, now);
    for (const l of [...this.seenListeners]) l(view);
  }

  private selfPeer(): JsPeer {
    return {
      id: this.selfId,
      name: this.core.name,
      cluster: this.clusterName,
      tags: this.tags(),
      offline: this.closed,
      lastSeenMs: 0,
      available: this.figures.available(),
      haAssets: this.figures.haAssets(),
    };
  }

  private view(p: KnownPeer, now: number): JsPeer {
    const lastSeenMs = Math.max(0, now - p.lastSeen);
    return {
      id: p.id,
      name: p.name,
      cluster: p.cluster,
      tags: p.tags,
      offline: p.gone || lastSeenMs >= PEER_OFFLINE_MS,
      lastSeenMs,
      available: p.available,
      haAssets: p.haAssets,
    };
  }

  // ---- nats-server with JetStream --------------------------------------------

  private statsz(payload: Buffer): void {
    // Cheap test first: most STATSZ come from servers without JetStream, or from us.
    if (payload.indexOf('"jetstream":true') < 0) return;
    let name: unknown;
    try {
      name = (JSON.parse(payload.toString('utf8')) as { server?: { name?: unknown } }).server?.name;
    } catch {
      return;
    }
    if (typeof name !== 'string' || name === '' || name === this.core.name) return;
    if (this.resolve(name) !== null) return;
    const now = this.now();
    const f = this.foreign.get(name);
    if (f === undefined) this.foreign.set(name, { first: now, last: now, reported: false });
    else f.last = now;
  }

  private isForeign(name: string, f: { first: number; last: number }, now: number): boolean {
    return now - f.first >= FOREIGN_GRACE_MS && now - f.last < FOREIGN_FORGET_MS && this.resolve(name) === null;
  }

  private checkForeign(): void {
    const now = this.now();
    for (const [name, f] of this.foreign) {
      if (now - f.last >= FOREIGN_FORGET_MS) {
        this.foreign.delete(name);
        continue;
      }
      if (f.reported || !this.isForeign(name, f, now)) continue;
      f.reported = true;
      this.core.logger.error(
        `JetStream cluster: nats-server '${name}' has JetStream enabled; a JetStream cluster mixing nats-server and Natter is not supported: nothing is placed on it and its streams are not shared with Natter`,
      );
    }
  }
}

function parseAnnouncement(payload: Buffer): Announcement | null {
  let v: unknown;
  try {
    v = JSON.parse(payload.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const a = v as Partial<Announcement>;
  if (typeof a.name !== 'string' || typeof a.id !== 'string' || typeof a.cluster !== 'string') return null;
  const available = a.available;
  return {
    name: a.name,
    id: a.id,
    server_id: typeof a.server_id === 'string' ? a.server_id : '',
    cluster: a.cluster,
    tags: Array.isArray(a.tags) ? a.tags.filter((t): t is string => typeof t === 'string') : [],
    available: {
      memory: typeof available?.memory === 'number' ? available.memory : 0,
      file: typeof available?.file === 'number' ? available.file : 0,
    },
    ha_assets: typeof a.ha_assets === 'number' ? a.ha_assets : 0,
    version: typeof a.version === 'string' ? a.version : '',
    goodbye: a.goodbye === true,
  };
}
