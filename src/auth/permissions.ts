/**
 * Publish and subscribe permissions of a user, with nats-server's exact
 * semantics, and the texts of the errors a violation produces.
 *
 * Configuration (inside a user, `default_permissions`, or an account):
 *
 *   permissions {
 *     publish: "foo.>"                       # or pub; a subject or a list
 *     subscribe: { allow: ["foo.*", "jobs.* workers"], deny: "foo.secret" }
 *     allow_responses: true                  # or { max: 5, expires: "1m" }
 *   }
 *
 * Rules, as nats-server applies them:
 * - Allow is checked, then deny. Subjects in a check are taken literally,
 *   token by token, against the permission patterns: a `*` or `>` the
 *   client sends is just a token that only a wildcard pattern matches (so
 *   `allow: "foo.*"` lets a client subscribe to `foo.>`, as in nats-server).
 * - An empty list means "no list": `publish: []` restricts nothing. But a
 *   publish allow list that is present and empty (what allow_responses
 *   installs when there is no publish allow list) allows nothing.
 * - `"subject queue"` entries are about queue subscriptions: allowing
 *   `"foo v1"` alone permits only queue group v1 on foo (queue names may be
 *   wildcards); allowing `"foo"` and `"foo v1"` permits plain subscriptions
 *   and queue group v1 only; denying `"foo v2"` forbids only that group.
 * - Deny on subscriptions cannot stop a wider wildcard subscription
 *   (`foo.>` while `foo.secret` is denied), so such messages are filtered at
 *   delivery: see ClientPermissions.deniesDelivery.
 * - allow_responses lets a client publish to the reply subject of each
 *   message delivered to it, at most `max` times (default 1) within
 *   `expires` (default 2m); negative values mean unlimited.
 */
import { Sublist, type SublistEntry } from '../subjects/sublist.js';
import { isValidSubject, subjectHasWildcard } from '../subjects/validate.js';
import { DurationError, parseGoDuration } from '../config/durations.js';
import { subjectsCollide, isSubsetMatch } from '../accounts/subject-sets.js';
import { describe, Problems, toInNode, type InEntry, type InNode, type SecurityInput } from './conf-input.js';
import { toWire } from './wire-text.js';
import { goQuoteWire } from '../text/go-format.js';

/** nats-server's DEFAULT_ALLOW_RESPONSE_MAX_MSGS. */
export const DEFAULT_ALLOW_RESPONSE_MAX_MSGS = 1;
/** nats-server's DEFAULT_ALLOW_RESPONSE_EXPIRATION (2 minutes). */
export const DEFAULT_ALLOW_RESPONSE_EXPIRES_MS = 2 * 60 * 1000;

/** Reply subjects tracked per connection before expired ones are pruned (nats-server's replyPermLimit). */
const REPLY_PRUNE_THRESHOLD = 4096;
/** Cached decisions per permission set and kind. */
const CACHE_LIMIT = 1024;

/** The queue group name nats-server reserves for its own use; no client may join it. */
export const SYSTEM_QUEUE_GROUP = '_sys_';

/** Subjects as configured (not yet in wire form); null means "no list". */
export interface SubjectPermissionConfig {
  readonly allow: readonly string[] | null;
  readonly deny: readonly string[] | null;
}

export interface ResponsePermissionConfig {
  /** Responses allowed per request; negative for unlimited. */
  readonly maxMsgs: number;
  /** How long a reply subject stays open, in milliseconds; negative for forever. */
  readonly expiresMs: number;
}

export interface PermissionsConfig {
  readonly publish: SubjectPermissionConfig | null;
  readonly subscribe: SubjectPermissionConfig | null;
  readonly response: ResponsePermissionConfig | null;
}

// ---- parsing ----------------------------------------------------------------

/**
 * Parses a `permissions` (or `default_permissions`) value, recording
 * problems with nats-server's wording. Returns null when the value is not a
 * map (after recording that).
 */
export function parsePermissions(node: InNode, problems: Problems): PermissionsConfig | null {
  if (node.kind !== 'map') {
    problems.add(node, `Expected permissions to be a map/struct, got ${describe(node)}`);
    return null;
  }
  let publish: SubjectPermissionConfig | null = null;
  let subscribe: SubjectPermissionConfig | null = null;
  let response: ResponsePermissionConfig | null = null;
  for (const e of node.entries) {
    switch (e.key.toLowerCase()) {
      case 'pub':
      case 'publish':
      case 'import':
        publish = parseSubjectPermission(e.value, problems);
        break;
      case 'sub':
      case 'subscribe':
      case 'export':
        subscribe = parseSubjectPermission(e.value, problems);
        break;
      case 'publish_allow_responses':
      case 'allow_responses':
        response = parseAllowResponses(e.value, problems);
        break;
      default:
        if (!e.usedAsVariable) problems.add(e, `Unknown field "${e.key}" parsing permissions`);
    }
  }
  return withResponseDefaults({ publish, subscribe, response });
}

/**
 * Parses a standalone permissions value (a ConfNode or a plain object) and
 * throws the problems found; for embedders and tests.
 */
export function permissionsConfigFrom(input: SecurityInput, path = 'permissions'): PermissionsConfig | null {
  const problems = new Problems();
  const config = parsePermissions(toInNode(input, path), problems);
  problems.throwIfAny();
  return config;
}

/**
 * With response permissions, publishing is restricted to the allow list
 * (empty if there was none) plus the replies; nats-server applies this
 * whatever order the keys came in.
 */
function withResponseDefaults(p: PermissionsConfig): PermissionsConfig {
  if (p.response === null) return p;
  const publish = p.publish ?? { allow: null, deny: null };
  return { ...p, publish: { allow: publish.allow ?? [], deny: publish.deny } };
}

function parseSubjectPermission(node: InNode, problems: Problems): SubjectPermissionConfig | null {
  if (node.kind !== 'map') {
    const subjects = parseSubjects(node, problems);
    return subjects === undefined ? null : { allow: subjects, deny: null };
  }
  if (node.entries.length === 0) return null;
  let allow: string[] | null = null;
  let deny: string[] | null = null;
  for (const e of node.entries) {
    switch (e.key.toLowerCase()) {
      case 'allow':
        allow = parseSubjects(e.value, problems) ?? null;
        break;
      case 'deny':
        deny = parseSubjects(e.value, problems) ?? null;
        break;
      default:
        if (!e.usedAsVariable) {
          problems.add(e, `Unknown field name "${e.key}" parsing subject permissions, only 'allow' or 'deny' are permitted`);
        }
    }
  }
  return { allow, deny };
}

/**
 * A subject or a list of them; an empty list is null ("no list"), and
 * undefined means a problem was recorded.
 */
function parseSubjects(node: InNode, problems: Problems): string[] | null | undefined {
  let subjects: string[];
  if (node.kind === 'string') {
    subjects = [node.value];
  } else if (node.kind === 'array') {
    subjects = [];
    for (const item of node.items) {
      if (item.kind !== 'string') {
        problems.add(item, `Subject in permissions array cannot be cast to string, got ${describe(item)}`);
        return undefined;
      }
      subjects.push(item.value);
    }
  } else {
    problems.add(node, `Expected subject permissions to be a subject, or array of subjects, got ${describe(node)}`);
    return undefined;
  }
  for (const s of subjects) {
    const bad = checkPermissionSubject(s);
    if (bad !== null) {
      problems.add(node, bad);
      return undefined;
    }
  }
  return subjects.length === 0 ? null : subjects;
}

/** nats-server's check: a valid subject, or exactly "subject queue" with a valid subject. */
function checkPermissionSubject(s: string): string | null {
  if (isValidSubject(s)) return null;
  const fields = splitFields(s);
  if (fields.length !== 2) return `subject ${JSON.stringify(s)} is not a valid subject`;
  if (!isValidSubject(fields[0])) return `subject ${JSON.stringify(fields[0])} is not a valid subject`;
  return null;
}

function splitFields(s: string): string[] {
  return s.split(/\s+/u).filter((f) => f !== '');
}

function parseAllowResponses(node: InNode, problems: Problems): ResponsePermissionConfig | null {
  if (node.kind === 'bool') {
    return node.value ? { maxMsgs: DEFAULT_ALLOW_RESPONSE_MAX_MSGS, expiresMs: DEFAULT_ALLOW_RESPONSE_EXPIRES_MS } : null;
  }
  if (node.kind !== 'map') {
    problems.add(node, 'error parsing response permissions, expected a boolean or a map');
    return null;
  }
  let maxMsgs = DEFAULT_ALLOW_RESPONSE_MAX_MSGS;
  let expiresMs = DEFAULT_ALLOW_RESPONSE_EXPIRES_MS;
  for (const e of node.entries) {
    switch (e.key.toLowerCase()) {
      case 'max':
      case 'max_msgs':
      case 'max_messages':
      case 'max_responses': {
        const n = problems.integer(e);
        // 0 keeps the default, negative means unlimited, as in nats-server.
        if (n !== undefined && n !== 0) maxMsgs = n;
        break;
      }
      case 'expires':
      case 'expiration':
      case 'ttl': {
        const ms = parseExpires(e, problems);
        if (ms === undefined) return null;
        if (ms !== 0) expiresMs = ms;
        break;
      }
      default:
        if (!e.usedAsVariable) problems.add(e, `Unknown field "${e.key}" parsing permissions`);
    }
  }
  return { maxMsgs, expiresMs };
}

function parseExpires(e: InEntry, problems: Problems): number | undefined {
  if (e.value.kind !== 'string') {
    problems.add(e.value, 'error parsing expires, not a duration string');
    return undefined;
  }
  try {
    return parseGoDuration(e.value.value);
  } catch (err) {
    if (!(err instanceof DurationError)) throw err;
    problems.add(e.value, `error parsing expires: ${err.message}`);
    return undefined;
  }
}

// ---- compiled permissions ----------------------------------------------------

interface PermEntry extends SublistEntry {
  readonly subject: string;
  readonly queue: string | null;
}

function sublistOf(subjects: readonly string[]): Sublist<PermEntry> {
  const list = new Sublist<PermEntry>();
  for (const s of subjects) {
    const fields = splitFields(s);
    // Entries that are not subjects (a publish "foo bar") can never match;
    // the sublist refuses them, which has the same effect.
    const entry: PermEntry = fields.length === 2
      ? { subject: toWire(fields[0]), queue: toWire(fields[1]) }
      : { subject: toWire(s.trim()), queue: null };
    list.insert(entry);
  }
  return list;
}

/** A Map that forgets its oldest entry when full. */
class BoundedCache<V> {
  private readonly map = new Map<string, V>();

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  set(key: string, value: V): void {
    if (this.map.size >= CACHE_LIMIT) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
    this.map.set(key, value);
  }
}

/**
 * The compiled, stateless part of a permission set, shareable by every
 * connection of a user. Subjects are in wire form (see wire-text.ts).
 * Decisions are cached, so a repeated subject costs one Map lookup.
 */
export class Permissions {
  readonly config: PermissionsConfig;
  /** Whether publishing is restricted at all; false makes canPublish always true. */
  readonly publishRestricted: boolean;
  readonly response: ResponsePermissionConfig | null;

  private readonly pubAllow: Sublist<PermEntry> | null;
  private readonly pubDeny: Sublist<PermEntry> | null;
  private readonly subAllow: Sublist<PermEntry> | null;
  private readonly subDeny: Sublist<PermEntry> | null;
  /** Plain (non-queue) subscribe deny subjects, in wire form. */
  private readonly deliveryDenySubjects: readonly string[];
  private readonly deliveryDeny: Sublist<PermEntry> | null;
  private readonly pubCache = new BoundedCache<boolean>();
  private readonly subCache = new BoundedCache<boolean>();
  private readonly deliveryCache = new BoundedCache<boolean>();

  constructor(config: PermissionsConfig) {
    this.config = config;
    this.response = config.response;
    const pub = config.publish;
    // A publish allow list that is present but empty allows nothing; an
    // empty subscribe allow list restricts nothing (nats-server's asymmetry).
    this.pubAllow = pub !== null && pub.allow !== null ? sublistOf(pub.allow) : null;
    this.pubDeny = pub !== null && pub.deny !== null && pub.deny.length > 0 ? sublistOf(pub.deny) : null;
    const sub = config.subscribe;
    this.subAllow = sub !== null && sub.allow !== null && sub.allow.length > 0 ? sublistOf(sub.allow) : null;
    this.subDeny = sub !== null && sub.deny !== null && sub.deny.length > 0 ? sublistOf(sub.deny) : null;
    this.deliveryDenySubjects = (sub?.deny ?? [])
      .filter((s) => splitFields(s).length === 1)
      .map((s) => toWire(s.trim()));
    this.deliveryDeny = this.deliveryDenySubjects.length > 0 ? sublistOf(this.deliveryDenySubjects) : null;
    this.publishRestricted = this.pubAllow !== null || this.pubDeny !== null;
  }

  /** Compiles a parsed configuration; null (no permissions) stays null. */
  static compile(config: PermissionsConfig | null): Permissions | null {
    return config === null ? null : new Permissions(config);
  }

  /** May the subject (wire form) be published to, leaving reply allowances aside? */
  canPublish(subject: string): boolean {
    if (!this.publishRestricted) return true;
    const cached = this.pubCache.get(subject);
    if (cached !== undefined) return cached;
    let allowed = true;
    if (this.pubAllow !== null) allowed = this.pubAllow.match(subject).psubs.length > 0;
    if (allowed && this.pubDeny !== null) allowed = this.pubDeny.match(subject).psubs.length === 0;
    this.pubCache.set(subject, allowed);
    return allowed;
  }

  /** May the subject (wire form) be subscribed to, with the queue group or null? */
  canSubscribe(subject: string, queue: string | null): boolean {
    if (this.subAllow === null && this.subDeny === null) return true;
    const key = queue === null ? subject : `${subject} ${queue}`;
    const cached = this.subCache.get(key);
    if (cached !== undefined) return cached;
    let allowed = true;
    if (this.subAllow !== null) {
      const r = this.subAllow.match(subject);
      allowed = r.psubs.length > 0;
      if (queue !== null && r.qsubs.length > 0) allowed = queueMatches(queue, r.qsubs);
    }
    if (allowed && this.subDeny !== null) {
      const r = this.subDeny.match(subject);
      allowed = r.psubs.length === 0;
      if (queue !== null && r.qsubs.length > 0) allowed = !queueMatches(queue, r.qsubs);
    }
    this.subCache.set(key, allowed);
    return allowed;
  }

  /**
   * Can a subscription on `subject` (already allowed) receive messages that
   * a subscribe deny covers? Then deliveries to it must be filtered.
   *
   * nats-server switches its filter on only when a deny subject lies wholly
   * inside the wildcard subscription, so `foo.x.*` still receives
   * `foo.x.bar` while `foo.*.bar` is denied. Natter filters whenever the two
   * overlap: a denied subject is never delivered.
   */
  subscriptionNeedsDeliveryFilter(subject: string): boolean {
    if (this.deliveryDeny === null || !subjectHasWildcard(subject)) return false;
    return this.deliveryDenySubjects.some((d) => subjectsCollide(d, subject));
  }

  /** Does a subscribe deny cover this (literal, wire form) message subject? */
  deniesDelivery(subject: string): boolean {
    if (this.deliveryDeny === null) return false;
    const cached = this.deliveryCache.get(subject);
    if (cached !== undefined) return cached;
    const denied = this.deliveryDeny.match(subject).psubs.length > 0;
    this.deliveryCache.set(subject, denied);
    return denied;
  }

  /** Per-connection state over these permissions. */
  forClient(clock: () => number = Date.now): ClientPermissions {
    return new ClientPermissions(this, clock);
  }
}

/**
 * nats-server's queue rule: the requested group matches an entry's group
 * by name, or when the entry's group is a wildcard pattern covering it.
 */
function queueMatches(queue: string, groups: readonly (readonly PermEntry[])[]): boolean {
  for (const group of groups) {
    const name = group[0].queue;
    if (name === null) continue;
    if (queue === name || (subjectHasWildcard(name) && isSubsetMatch(queue, name))) return true;
  }
  return false;
}

interface ReplyAllowance {
  /** When the reply subject was last handed to the client. */
  readonly since: number;
  /** Responses published to it since then. */
  count: number;
}

/**
 * One connection's view of its user's permissions: the shared decisions
 * plus what belongs to the connection, the reply subjects it may answer
 * (allow_responses) and whether deliveries need the deny filter.
 */
export class ClientPermissions {
  readonly permissions: Permissions;
  private readonly clock: () => number;
  private readonly replies: Map<string, ReplyAllowance> | null;
  private deliveryFilter = false;

  constructor(permissions: Permissions, clock: () => number = Date.now) {
    this.permissions = permissions;
    this.clock = clock;
    this.replies = permissions.response !== null ? new Map() : null;
  }

  /**
   * May the connection publish to the subject (wire form)? A subject the
   * permissions refuse is still allowed when it is an open reply subject;
   * each such publish uses up one of its `max` responses.
   */
  canPublish(subject: string): boolean {
    if (this.permissions.canPublish(subject)) return true;
    const replies = this.replies;
    if (replies === null) return false;
    const allowance = replies.get(subject);
    if (allowance === undefined) return false;
    const rp = this.permissions.response as ResponsePermissionConfig;
    allowance.count++;
    if (rp.maxMsgs > 0 && allowance.count > rp.maxMsgs) {
      replies.delete(subject);
      return false;
    }
    if (rp.expiresMs > 0 && this.clock() - allowance.since > rp.expiresMs) {
      replies.delete(subject);
      return false;
    }
    return true;
  }

  /**
   * May the connection subscribe (wire form subject, queue or null)? An
   * allowed wildcard subscription that overlaps a deny switches the
   * delivery filter on for this connection.
   */
  canSubscribe(subject: string, queue: string | null): boolean {
    if (!this.permissions.canSubscribe(subject, queue)) return false;
    if (!this.deliveryFilter && this.permissions.subscriptionNeedsDeliveryFilter(subject)) this.deliveryFilter = true;
    return true;
  }

  /** Must a message on this subject be withheld from the connection? */
  deniesDelivery(subject: string): boolean {
    return this.deliveryFilter && this.permissions.deniesDelivery(subject);
  }

  /** Whether deliveries to this connection are being filtered. */
  get filtersDeliveries(): boolean {
    return this.deliveryFilter;
  }

  /** Whether this connection tracks reply subjects at all (allow_responses). */
  get tracksReplies(): boolean {
    return this.replies !== null;
  }

  /**
   * Records that a message with this reply subject was delivered to the
   * connection, opening (or re-opening) it for responses.
   */
  allowReply(reply: string): void {
    const replies = this.replies;
    if (replies === null) return;
    replies.set(reply, { since: this.clock(), count: 0 });
    if (replies.size > REPLY_PRUNE_THRESHOLD) this.pruneReplies();
  }

  /** Open reply subjects (for monitoring and tests). */
  get openReplies(): number {
    return this.replies?.size ?? 0;
  }

  private pruneReplies(): void {
    const replies = this.replies;
    const rp = this.permissions.response;
    if (replies === null || rp === null) return;
    const now = this.clock();
    for (const [reply, a] of replies) {
      if ((rp.maxMsgs > 0 && a.count >= rp.maxMsgs) || (rp.expiresMs > 0 && now - a.since > rp.expiresMs)) {
        replies.delete(reply);
      }
    }
  }
}

// ---- violations ------------------------------------------------------------------

/** The -ERR text for a refused publish; `subject` in wire form. */
export function publishViolation(subject: string): string {
  return `Permissions Violation for Publish to ${goQuoteWire(subject)}`;
}

/** The -ERR text for a refused subscription; `subject` and `queue` in wire form. */
export function subscriptionViolation(subject: string, queue: string | null): string {
  const base = `Permissions Violation for Subscription to ${goQuoteWire(subject)}`;
  return queue === null ? base : `${base} using queue ${goQuoteWire(queue)}`;
}

/** The -ERR text when a reload takes away a subscription a client already has (nats-server names no queue here). */
export function subscriptionRevoked(subject: string, sid: string): string {
  return `${subscriptionViolation(subject, null)} (sid ${goQuoteWire(sid)})`;
}

/** The -ERR text for a publish whose reply subject is reserved for the server. */
export function replyViolation(reply: string): string {
  return `Permissions Violation for Publish with Reply of ${goQuoteWire(reply)}`;
}

/**
 * Reply subjects clients may not use because the server routes them itself:
 * service import replies (`_R_.`), JetStream acks (`$JS.ACK.`) and gateway
 * replies (`_GR_.`). nats-server refuses them from every client.
 */
export function isReservedReply(reply: string): boolean {
  return reply.startsWith('_R_.') ||
    (reply.length > 8 && reply.startsWith('$JS.ACK.')) ||
    (reply.length > 5 && reply.startsWith('_GR_.'));
}
