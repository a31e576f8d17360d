/**
 * What the meta leader answers from the assignments: `$JS.API.INFO`,
 * STREAM.NAMES/LIST and CONSUMER.NAMES/LIST. NAMES needs only the
 * assignments; LIST also needs each asset's state, which only its leader
 * has: the meta leader asks every leader of the page on `$JSC.SI.<acc>.<s>`
 * (`$JSC.CI.<acc>.<s>.<c>` for consumers) and waits up to 4 s; those that
 * stay silent are named in `missing`, as nats-server does.
 *
 * Every server answers those internal requests for the assets it leads
 * (InfoResponder), with the info it would give STREAM.INFO / CONSUMER.INFO.
 */
import { randomBytes } from 'node:crypto';
import type { Unregister } from '../../server/core.js';
import type { ApiRequest, ApiResponse } from '../api/context.js';
import { streamNotFound, type JsApiError } from '../api/errors.js';
import { accountStats, type AssignedUsage } from '../api/info.js';
import { parseRequest } from '../api/request.js';
import { streamInfo } from '../api/stream-info.js';
import { consumerInfo } from '../consumer/info.js';
import type { JetStream } from '../jetstream.js';
import type { JsAccount } from '../js-account.js';
import { indexOfList } from '../subject-overlap.js';
import { subjectsCollide } from '../../accounts/subject-sets.js';
import { isValidSubject } from '../../subjects/validate.js';
import type { MetaView, StreamAssignment } from './types.js';

const STREAM_NAMES_LIMIT = 1024;
const STREAM_LIST_LIMIT = 256;
const CONSUMER_NAMES_LIMIT = 1024;
const CONSUMER_LIST_LIMIT = 256;
/** How long LIST waits for the leaders' answers (nats-server: 4 s). */
const LIST_WAIT_MS = 4000;

const STREAM_TYPE = 'io.nats.jetstream.api.v1.stream_';
const CONSUMER_TYPE = 'io.nats.jetstream.api.v1.consumer_';

export const streamInfoSubject = (account: string, stream: string): string => `$JSC.SI.${account}.${stream}`;
export const consumerInfoSubject = (account: string, stream: string, consumer: string): string => `$JSC.CI.${account}.${stream}.${consumer}`;

/** Stream info as this server's replica of it shows it, with the group's `cluster` block; null when it holds none. */
export function localStreamInfo(js: JetStream, meta: MetaView, account: string, name: string): Record<string, unknown> | null {
  const replica = meta.streamReplica(account, name);
  const stream = js.accounts.get(account)?.streams.get(name);
  if (replica === null || stream === undefined) return null;
  const info = streamInfo(js, stream, { withCluster: true });
  info.cluster = meta.context.clusterInfo(replica.raft);
  return info;
}

/** Consumer info as this server's replica of it shows it, with the group's `cluster` block; null when it holds none. */
export function localConsumerInfo(js: JetStream, meta: MetaView, account: string, stream: string, name: string): Record<string, unknown> | null {
  const replica = meta.consumerReplica(account, stream, name);
  const c = js.accounts.get(account)?.streams.get(stream)?.consumers.get(name);
  if (replica === null || c === undefined) return null;
  const info = consumerInfo(c);
  info.cluster = meta.context.clusterInfo(replica.raft);
  return info;
}

/** Answers `$JSC.SI` / `$JSC.CI` for the streams and consumers this server leads. */
export function installInfoResponder(js: JetStream, meta: MetaView): Unregister {
  const ctx = meta.context;
  const offStreams = ctx.subscribeSystem('$JSC.SI.*.*', (subject, reply) => {
    if (reply === null) return;
    const t = subject.split('.');
    if (meta.streamReplica(t[2], t[3])?.isActiveLeader() !== true) return;
    const info = localStreamInfo(js, meta, t[2], t[3]);
    if (info !== null) ctx.publishSystem(reply, null, JSON.stringify(info));
  });
  const offConsumers = ctx.subscribeSystem('$JSC.CI.*.*.*', (subject, reply) => {
    if (reply === null) return;
    const t = subject.split('.');
    if (meta.consumerReplica(t[2], t[3], t[4])?.isActiveLeader() !== true) return;
    const info = localConsumerInfo(js, meta, t[2], t[3], t[4]);
    if (info !== null) ctx.publishSystem(reply, null, JSON.stringify(info));
  });
  return () => {
    offStreams();
    offConsumers();
  };
}

/**
 * Asks the leaders behind `subjects` for their info, at once, and resolves
 * with the answers by subject once all came or `timeoutMs` passed.
 */
export function askLeaders(meta: MetaView, subjects: readonly string[], timeoutMs: number): Promise<Map<string, Record<string, unknown>>> {
  const got = new Map<string, Record<string, unknown>>();
  if (subjects.length === 0) return Promise.resolve(got);
  const ctx = meta.context;
  const inbox = `$JSC.R.${randomBytes(9).toString('base64url').replace(/[-_]/g, 'x')}`;
  return new Promise((resolve) => {
    let off: Unregister = () => undefined;
    const done = (): void => {
      clearTimeout(timer);
      off();
      resolve(got);
    };
    const timer = setTimeout(done, timeoutMs);
    off = ctx.subscribeSystem(`${inbox}.*`, (subject, _reply, payload) => {
      const i = Number(subject.slice(inbox.length + 1));
      const asked = subjects[i];
      if (asked === undefined || got.has(asked)) return;
      try {
        got.set(asked, JSON.parse(payload.toString('utf8')) as Record<string, unknown>);
      } catch {
        return;
      }
      if (got.size === subjects.length) done();
    });
    subjects.forEach((s, i) => ctx.publishSystem(s, `${inbox}.${i}`, ''));
  });
}

function byName(a: { config: { name: string } }, b: { config: { name: string } }): number {
  return a.config.name < b.config.name ? -1 : a.config.name > b.config.name ? 1 : 0;
}

function pagingOf(body: Buffer): { offset: number; filter: string } | JsApiError {
  const parsed = parseRequest(body);
  if (parsed instanceof Error) return parsed;
  return {
    offset: typeof parsed.offset === 'number' && parsed.offset > 0 ? Math.floor(parsed.offset) : 0,
    filter: typeof parsed.subject === 'string' ? parsed.subject : '',
  };
}

/** The account's stream assignments by name, narrowed to those whose subjects collide with `filter`. */
function assignedStreams(meta: MetaView, account: string, filter: string): StreamAssignment[] {
  const valid = filter !== '' && isValidSubject(filter);
  const collides = (subjects: readonly string[]): boolean => valid
    ? indexOfList(subjects).findCollision(filter) >= 0
    : subjects.some((s) => subjectsCollide(filter, s));
  return meta.streams(account).filter((sa) => filter === '' || collides(sa.config.subjects ?? [])).sort(byName);
}

export function clusteredStreamNames(req: ApiRequest, meta: MetaView): ApiResponse {
  const paging = pagingOf(req.body);
  if (paging instanceof Error) return { type: `${STREAM_TYPE}names_response`, error: paging.toJSON(), total: 0, offset: 0, limit: 0, streams: null };
  const all = assignedStreams(meta, req.account.name, paging.filter);
  const from = Math.min(paging.offset, all.length);
  const page = all.slice(from, from + STREAM_NAMES_LIMIT).map((sa) => sa.config.name);
  return { type: `${STREAM_TYPE}names_response`, total: all.length, offset: from, limit: STREAM_NAMES_LIMIT, streams: page.length > 0 ? page : null };
}

export async function clusteredStreamList(req: ApiRequest, meta: MetaView): Promise<ApiResponse> {
  const type = `${STREAM_TYPE}list_response`;
  const paging = pagingOf(req.body);
  if (paging instanceof Error) return { type, error: paging.toJSON(), total: 0, offset: 0, limit: 0, streams: [] };
  const account = req.account.name;
  const all = assignedStreams(meta, account, paging.filter);
  const from = Math.min(paging.offset, all.length);
  const page = all.slice(from, from + STREAM_LIST_LIMIT);
  const subjects = page.map((sa) => streamInfoSubject(account, sa.config.name));
  const answers = await askLeaders(meta, subjects, LIST_WAIT_MS);
  const streams: Record<string, unknown>[] = [];
  const missing: string[] = [];
  page.forEach((sa, i) => {
    const info = answers.get(subjects[i]);
    if (info === undefined) missing.push(sa.config.name);
    else streams.push(info);
  });
  const out: Record<string, unknown> = { type, total: all.length, offset: from, limit: STREAM_LIST_LIMIT, streams };
  if (missing.length > 0) out.missing = missing;
  return out;
}

/** CONSUMER.NAMES / CONSUMER.LIST of one stream, from its consumer assignments. */
export async function clusteredConsumerList(req: ApiRequest, meta: MetaView, namesOnly: boolean): Promise<ApiResponse> {
  const kind = namesOnly ? 'names' : 'list';
  const type = `${CONSUMER_TYPE}${kind}_response`;
  const paging = pagingOf(req.body);
  if (paging instanceof Error) return { type, error: paging.toJSON() };
  const account = req.account.name;
  const stream = req.tokens[2];
  if (meta.stream(account, stream) === null) return { type, error: streamNotFound().toJSON() };
  const all = [...meta.consumers(account, stream)].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const offset = Math.min(paging.offset, all.length);
  const limit = namesOnly ? CONSUMER_NAMES_LIMIT : CONSUMER_LIST_LIMIT;
  const page = all.slice(offset, offset + limit);
  if (namesOnly) return { type, total: all.length, offset, limit, consumers: page.map((ca) => ca.name) };
  const subjects = page.map((ca) => consumerInfoSubject(account, stream, ca.name));
  const answers = await askLeaders(meta, subjects, LIST_WAIT_MS);
  const consumers: Record<string, unknown>[] = [];
  const missing: string[] = [];
  page.forEach((ca, i) => {
    const info = answers.get(subjects[i]);
    if (info === undefined) missing.push(ca.name);
    else consumers.push(info);
  });
  const out: Record<string, unknown> = { type, total: all.length, offset, limit, consumers };
  if (missing.length > 0) out.missing = missing;
  return out;
}

/** The account's streams, consumers and reservations as the assignments say (every replica reserves max_bytes). */
export function assignedUsage(meta: MetaView, account: string): AssignedUsage {
  let consumers = 0;
  let reservedMemory = 0;
  let reservedStorage = 0;
  const streams = meta.streams(account);
  for (const sa of streams) {
    consumers += meta.consumers(account, sa.config.name).length;
    const reserved = sa.config.max_bytes > 0 ? sa.config.max_bytes * sa.config.num_replicas : 0;
    if (sa.config.storage === 'memory') reservedMemory += reserved;
    else reservedStorage += reserved;
  }
  return { streams: streams.length, consumers, reservedMemory, reservedStorage };
}

/** `$JS.API.INFO` on the meta leader: counts from the assignments, usage as this server sees it. */
export function clusteredAccountInfo(js: JetStream, meta: MetaView, jsa: JsAccount): ApiResponse {
  return { type: 'io.nats.jetstream.api.v1.account_info_response', ...accountStats(js, jsa, assignedUsage(meta, jsa.account.name)) };
}
