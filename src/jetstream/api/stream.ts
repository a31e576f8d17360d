/**
 * `$JS.API.STREAM.…`: CREATE, UPDATE, DELETE, INFO, LIST, NAMES, PURGE,
 * MSG.GET, MSG.DELETE, and the cluster-only LEADER.STEPDOWN / PEER.REMOVE
 * (refused as a single server does); SNAPSHOT and RESTORE live in
 * ../snapshot/.
 */
import type { ApiRequest, ApiResponse } from './context.js';
import type { JetStream } from '../jetstream.js';
import type { JsAccount } from '../js-account.js';
import type { Stream } from '../stream.js';
import {
  type JsApiError, badRequest, clusterRequired, noMessageFound, notEmptyRequest, sequenceNotFound, streamGeneral, streamMismatch,
  streamMsgDeleteFailed, streamNameContainsPathSeparators, streamNameExist, streamNotFound, streamPurgeFailed,
  streamSealed, streamSubjectOverlap, streamInvalidConfig, streamCreate, maximumStreamsLimit,
} from './errors.js';
import {
  checkStreamConfig, checkStreamUpdate, checkSubjectList, decodeStreamConfig, isConfig, sameConfig, type StreamConfigInput,
  type SubjectListCheck,
} from '../stream-config.js';
import type { StreamConfig } from '../types.js';
import type { PurgeOptions } from '../store/types.js';
import { subjectsCollide } from '../../accounts/subject-sets.js';
import { anyCollision, indexOfList, MAX_OVERLAP_WORK, SubjectOverlapIndex } from '../subject-overlap.js';
import { isValidSubject } from '../../subjects/validate.js';
import { runInSlices } from '../slices.js';
import { streamInfo } from './stream-info.js';
import { msToTimeString } from '../time.js';
import { isEmptyRequest, parseRequest, type JsonObject } from './request.js';
import { clusterNotAvailable } from '../cluster/cluster-errors.js';
import { handleSnapshot } from '../snapshot/snapshot-api.js';
import { handleRestore } from '../snapshot/restore-api.js';

type Handler = (req: ApiRequest, js: JetStream, jsa: JsAccount) => ApiResponse | Promise<ApiResponse>;

export interface StreamOp {
  /** The operation as in the response type: create, msg_get, … */
  readonly name: string;
  matches(tokens: readonly string[]): boolean;
  readonly refusalExtras: Record<string, unknown>;
  readonly handle: Handler;
}

export function streamApiType(name: string): string {
  return `io.nats.jetstream.api.v1.stream_${name}_response`;
}

const NAMES_LIMIT = 1024;
const LIST_LIMIT = 256;
const MAX_SUBJECT_DETAILS = 100_000;
const PAGED = { total: 0, offset: 0, limit: 0 };
/** nats-server's purge response always carries `purged`, errors included. */
const NOTHING_PURGED = { purged: 0 };

function fail(name: string, err: JsApiError, extras: Record<string, unknown> = {}): ApiResponse {
  return { type: streamApiType(name), error: err.toJSON(), ...extras };
}

/** The stream named by the last subject token, or the error response. */
function lookup(req: ApiRequest, jsa: JsAccount, name: string, extras: Record<string, unknown> = {}): Stream | ApiResponse {
  const s = jsa.streams.get(req.tokens[req.tokens.length - 1]);
  return s ?? fail(name, streamNotFound(), extras);
}

function isStream(v: Stream | ApiResponse): v is Stream {
  return v !== null && typeof (v as Stream).processMsg === 'function';
}

function envOf(jsa: JsAccount) {
  return { lookup: (n: string) => jsa.streams.get(n)?.config() ?? null };
}

/**
 * Does another stream of the account capture one of the new config's
 * subjects? Every other stream's subjects are looked up in the trie of the
 * new ones (built by checkSubjectList, or here for a default subject list),
 * in slices: an account may hold many streams of many subjects. Null when
 * none does, else the error to answer with.
 */
async function otherStreamsOverlap(jsa: JsAccount, cfg: StreamConfig, checked: SubjectListCheck, except: string | null): Promise<JsApiError | null> {
  const subjects = cfg.subjects ?? [];
  let index = checked.subjects.length > 0 ? checked.index : null;
  if (index === null) {
    index = new SubjectOverlapIndex();
    for (let i = 0; i < subjects.length; i++) index.insert(subjects[i], i);
  }
  const others: Array<readonly string[]> = [];
  for (const s of jsa.streams.values()) if (s.name !== except) others.push(s.config().subjects ?? []);
  switch (await runInSlices(anyCollision(index, others))) {
    case 'found': return streamSubjectOverlap();
    case 'over-budget': return streamInvalidConfig(`stream subjects need more than ${MAX_OVERLAP_WORK} steps to check against other streams`);
    case 'none': return null;
  }
}

/** The account already has as many streams as it may (the stream `name` itself, if it exists, not counted). */
function atStreamLimit(jsa: JsAccount, name: string): boolean {
  const max = jsa.limits.maxStreams;
  if (max <= 0) return false;
  const others = jsa.streams.has(name) ? jsa.streams.size - 1 : jsa.streams.size;
  return others >= max;
}

/** checkSubjectList on the request's subjects, in slices. */
function checkSubjects(input: StreamConfigInput): Promise<SubjectListCheck> {
  return runInSlices(checkSubjectList(input.subjects ?? [], input.no_ack === true));
}

async function create(req: ApiRequest, js: JetStream, jsa: JsAccount): Promise<ApiResponse> {
  const input = decodeStreamConfig(req.body, js.config.strict);
  if (input instanceof Error) return fail('create', input);
  const name = req.tokens[2];
  if ((input.name ?? '') !== name) return fail('create', streamMismatch());
  if (/[\\/]/.test(name)) return fail('create', streamNameContainsPathSeparators());
  if (input.sealed === true) return fail('create', streamInvalidConfig('stream configuration for create can not be sealed'));
  // nats-server checks the account's stream limit here, before validating the config: an account at its limit is answered at once.
  if (atStreamLimit(jsa, name)) return fail('create', maximumStreamsLimit());
  const checked = await checkSubjects(input);
  const cfg = checkStreamConfig(input, envOf(jsa), checked);
  if (!isConfig(cfg)) return fail('create', cfg);
  const existing = jsa.streams.get(name);
  if (existing !== undefined) {
    if (!sameConfig(existing.config(), cfg)) return fail('create', streamNameExist());
    return { type: streamApiType('create'), ...streamInfo(js, existing), did_create: true };
  }
  const overlap = await otherStreamsOverlap(jsa, cfg, checked, null);
  if (overlap !== null) return fail('create', overlap);
  let stream;
  try {
    stream = await js.addStream(jsa, cfg, req.client);
  } catch (e) {
    // The store could not be opened (disk full, permissions): nats-server's stream create error.
    return fail('create', streamCreate(e instanceof Error ? e.message : String(e)));
  }
  if (stream instanceof Error) return fail('create', stream);
  return { type: streamApiType('create'), ...streamInfo(js, stream), did_create: true };
}

async function update(req: ApiRequest, js: JetStream, jsa: JsAccount): Promise<ApiResponse> {
  const input = decodeStreamConfig(req.body, js.config.strict);
  if (input instanceof Error) return fail('update', input);
  const subjectCheck = await checkSubjects(input);
  const checked = checkStreamConfig(input, envOf(jsa), subjectCheck);
  if (!isConfig(checked)) return fail('update', checked);
  if (checked.name !== req.tokens[2]) return fail('update', streamMismatch());
  const s = lookup(req, jsa, 'update');
  if (!isStream(s)) return s;
  const cfg = checkStreamUpdate(s.config(), input, envOf(jsa), subjectCheck);
  if (!isConfig(cfg)) return fail('update', cfg);
  const overlap = await otherStreamsOverlap(jsa, cfg, subjectCheck, s.name);
  if (overlap !== null) return fail('update', overlap);
  const refused = await js.updateStream(jsa, s, cfg, req.client);
  if (refused !== null) return fail('update', refused);
  return { type: streamApiType('update'), ...streamInfo(js, s) };
}

async function remove(req: ApiRequest, js: JetStream, jsa: JsAccount): Promise<ApiResponse> {
  if (!isEmptyRequest(req.body)) return fail('delete', notEmptyRequest());
  const s = lookup(req, jsa, 'delete');
  if (!isStream(s)) return s;
  await js.deleteStream(jsa, s, req.client);
  return { type: streamApiType('delete'), success: true };
}

function info(req: ApiRequest, js: JetStream, jsa: JsAccount): ApiResponse {
  const parsed = parseRequest(req.body);
  if (parsed instanceof Error) return fail('info', parsed, PAGED);
  const s = lookup(req, jsa, 'info', PAGED);
  if (!isStream(s)) return s;
  const filter = typeof parsed.subjects_filter === 'string' ? parsed.subjects_filter : '';
  const offset = typeof parsed.offset === 'number' && parsed.offset > 0 ? Math.floor(parsed.offset) : 0;
  let paged = { total: 0, offset: 0, limit: 0 };
  let subjects: Record<string, number> | undefined;
  if (filter !== '') {
    const counts = s.store.subjectsState(filter);
    if (counts.size > 0) {
      paged = { total: counts.size, offset, limit: MAX_SUBJECT_DETAILS };
      if (offset === 0 && counts.size <= MAX_SUBJECT_DETAILS) {
        subjects = Object.fromEntries(counts);
      } else {
        const all = [...counts.keys()].sort();
        const from = Math.min(offset, all.length);
        subjects = Object.fromEntries(all.slice(from, from + MAX_SUBJECT_DETAILS).map((n) => [n, counts.get(n) as number]));
      }
    }
  }
  const out = { type: streamApiType('info'), ...paged, ...streamInfo(js, s, { subjects, deletedDetails: parsed.deleted_details === true, withCluster: true }) };
  return out;
}

/**
 * The account's streams, sorted by name, narrowed to those whose subjects
 * collide with `filter`: asked of each config's trie (kept from its
 * validation), not subject by subject, as streams may have many thousands.
 */
function filtered(jsa: JsAccount, filter: string): Stream[] {
  const valid = isValidSubject(filter);
  const collides = (subjects: readonly string[]): boolean => valid
    ? indexOfList(subjects).findCollision(filter) >= 0
    : subjects.some((subj) => subjectsCollide(filter, subj));
  const all = [...jsa.streams.values()].filter((s) => filter === '' || collides(s.config().subjects ?? []));
  return all.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function paging(parsed: JsonObject): { offset: number; filter: string } {
  return {
    offset: typeof parsed.offset === 'number' && parsed.offset > 0 ? Math.floor(parsed.offset) : 0,
    filter: typeof parsed.subject === 'string' ? parsed.subject : '',
  };
}

function names(req: ApiRequest, _js: JetStream, jsa: JsAccount): ApiResponse {
  const parsed = parseRequest(req.body);
  if (parsed instanceof Error) return fail('names', parsed, { ...PAGED, streams: null });
  const { offset, filter } = paging(parsed);
  const all = filtered(jsa, filter);
  const from = Math.min(offset, all.length);
  const page = all.slice(from, from + NAMES_LIMIT).map((s) => s.name);
  return { type: streamApiType('names'), total: all.length, offset: from, limit: NAMES_LIMIT, streams: page.length > 0 ? page : null };
}

function list(req: ApiRequest, js: JetStream, jsa: JsAccount): ApiResponse {
  const parsed = parseRequest(req.body);
  if (parsed instanceof Error) return fail('list', parsed, { ...PAGED, streams: [] });
  const { offset, filter } = paging(parsed);
  const all = filtered(jsa, filter);
  const from = Math.min(offset, all.length);
  const page = all.slice(from, from + LIST_LIMIT).map((s) => streamInfo(js, s, { withCluster: true }));
  return { type: streamApiType('list'), total: all.length, offset: from, limit: LIST_LIMIT, streams: page };
}

/** Purges run in slices (millions of messages take a while); they wait their turn with creates, updates and deletes. */
async function purge(req: ApiRequest, _js: JetStream, jsa: JsAccount): Promise<ApiResponse> {
  const parsed = parseRequest(req.body);
  if (parsed instanceof Error) return fail('purge', parsed, NOTHING_PURGED);
  const seq = typeof parsed.seq === 'number' ? parsed.seq : 0;
  const keep = typeof parsed.keep === 'number' ? parsed.keep : 0;
  if (seq > 0 && keep > 0) return fail('purge', badRequest(), NOTHING_PURGED);
  const s = lookup(req, jsa, 'purge', NOTHING_PURGED);
  if (!isStream(s)) return s;
  const cfg = s.config();
  if (cfg.sealed) return fail('purge', streamSealed(), NOTHING_PURGED);
  if (cfg.deny_purge) return fail('purge', streamPurgeFailed('stream purge not permitted'), NOTHING_PURGED);
  const opts: PurgeOptions = {};
  if (typeof parsed.filter === 'string' && parsed.filter !== '') opts.subject = parsed.filter;
  if (seq > 0) opts.seq = seq;
  if (keep > 0) opts.keep = keep;
  if (s.replicated) {
    // A replicated purge is an entry of the stream's group, answered once applied here.
    const done = await s.proposePurge(opts);
    if (done === null) return fail('purge', clusterNotAvailable(), NOTHING_PURGED);
    return { type: streamApiType('purge'), success: true, purged: done };
  }
  let purged: number;
  try {
    purged = await runInSlices(s.store.purgeSteps(opts));
  } catch (e) {
    return fail('purge', streamGeneral(e instanceof Error ? e.message : String(e)), NOTHING_PURGED);
  }
  s.queueRemovals();
  return { type: streamApiType('purge'), success: true, purged };
}

function msgDelete(req: ApiRequest, _js: JetStream, jsa: JsAccount): ApiResponse | Promise<ApiResponse> {
  if (isEmptyRequest(req.body)) return fail('msg_delete', badRequest());
  const parsed = parseRequest(req.body);
  if (parsed instanceof Error) return fail('msg_delete', parsed);
  const s = lookup(req, jsa, 'msg_delete');
  if (!isStream(s)) return s;
  const cfg = s.config();
  if (cfg.sealed) return fail('msg_delete', streamSealed());
  if (cfg.deny_delete) return fail('msg_delete', streamMsgDeleteFailed('message delete not permitted'));
  const seq = typeof parsed.seq === 'number' ? parsed.seq : 0;
  if (s.replicated) return replicatedDelete(s, seq, parsed.no_erase !== true);
  const removed = parsed.no_erase === true ? s.store.removeMsg(seq) : s.store.eraseMsg(seq);
  if (!removed) return fail('msg_delete', sequenceNotFound(seq));
  s.queueRemovals();
  return { type: streamApiType('msg_delete'), success: true };
}

/** A message delete in a replicated stream is an entry of its group, answered once applied here. */
async function replicatedDelete(s: Stream, seq: number, erase: boolean): Promise<ApiResponse> {
  const removed = await s.proposeDelete(seq, erase);
  if (removed === null) return fail('msg_delete', clusterNotAvailable());
  if (!removed) return fail('msg_delete', sequenceNotFound(seq));
  return { type: streamApiType('msg_delete'), success: true };
}

function msgGet(req: ApiRequest, _js: JetStream, jsa: JsAccount): ApiResponse {
  if (isEmptyRequest(req.body)) return fail('msg_get', badRequest());
  const parsed = parseRequest(req.body);
  if (parsed instanceof Error) return fail('msg_get', parsed);
  const seq = typeof parsed.seq === 'number' ? parsed.seq : 0;
  const lastBy = typeof parsed.last_by_subj === 'string' ? parsed.last_by_subj : '';
  const nextBy = typeof parsed.next_by_subj === 'string' ? parsed.next_by_subj : '';
  const startTime = typeof parsed.start_time === 'string' ? parsed.start_time : '';
  if (typeof parsed.batch === 'number' && parsed.batch > 0) return fail('msg_get', badRequest());
  if (typeof parsed.max_bytes === 'number' && parsed.max_bytes > 0) return fail('msg_get', badRequest());
  if ((seq > 0 && lastBy !== '') || (seq === 0 && lastBy === '' && nextBy === '' && startTime === '') ||
      (seq > 0 && startTime !== '') || (startTime !== '' && lastBy !== '') || (lastBy !== '' && nextBy !== '')) {
    return fail('msg_get', badRequest());
  }
  const s = lookup(req, jsa, 'msg_get');
  if (!isStream(s)) return s;
  const store = s.store;
  const from = startTime !== '' ? seqFromTime(s, Date.parse(startTime)) : seq;
  let m;
  if (from > 0 && nextBy === '') m = startTime !== '' ? store.loadNextMsg(null, from) : store.loadMsg(from);
  else if (nextBy !== '') m = store.loadNextMsg([nextBy], from);
  else m = store.loadLastMsg(lastBy);
  if (m === null) return fail('msg_get', noMessageFound());
  const message: Record<string, unknown> = { subject: m.subject, seq: m.seq };
  if (m.hdr !== null && m.hdr.length > 0 && parsed.no_hdr !== true) message.hdrs = m.hdr.toString('base64');
  if (m.data.length > 0) message.data = m.data.toString('base64');
  message.time = msToTimeString(m.ts);
  return { type: streamApiType('msg_get'), message };
}

/**
 * The first sequence stored at or after `t` (ms). Messages are stored in
 * time order, so a binary search finds it in a few dozen loads, where
 * reading every message of a large file stream took seconds.
 */
export function seqFromTime(s: Stream, t: number): number {
  const store = s.store;
  const st = store.state();
  let lo = st.firstSeq;
  let hi = st.lastSeq + 1;
  while (lo < hi) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const m = store.loadNextMsg(null, mid);
    if (m === null || m.ts >= t) hi = mid;
    else lo = m.seq + 1;
  }
  return store.loadNextMsg(null, lo)?.seq ?? st.lastSeq + 1;
}

function clusterOnly(name: string): Handler {
  return (req, _js, jsa) => {
    const s = lookup(req, jsa, name);
    if (!isStream(s)) return s;
    return fail(name, clusterRequired());
  };
}

/** STREAM.<op>.<name> (3 tokens) or STREAM.<a>.<b>.<name> (4 tokens). */
function op(name: string, path: readonly string[], handle: Handler, refusalExtras: Record<string, unknown> = {}): StreamOp {
  const n = path.length + 2;
  return {
    name,
    matches: (t) => t.length === n && path.every((p, i) => t[i + 1] === p),
    refusalExtras,
    handle,
  };
}

function plain(name: string, word: string, handle: Handler, refusalExtras: Record<string, unknown>): StreamOp {
  return { name, matches: (t) => t.length === 2 && t[1] === word, refusalExtras, handle };
}

export const STREAM_API: readonly StreamOp[] = [
  op('create', ['CREATE'], (req, js, jsa) => jsa.serially(() => create(req, js, jsa))),
  op('update', ['UPDATE'], (req, js, jsa) => jsa.serially(() => update(req, js, jsa))),
  op('delete', ['DELETE'], (req, js, jsa) => jsa.serially(() => remove(req, js, jsa))),
  op('info', ['INFO'], info, PAGED),
  plain('names', 'NAMES', names, { ...PAGED, streams: null }),
  plain('list', 'LIST', list, { ...PAGED, streams: [] }),
  op('purge', ['PURGE'], (req, js, jsa) => jsa.serially(() => purge(req, js, jsa)), NOTHING_PURGED),
  op('msg_get', ['MSG', 'GET'], msgGet),
  op('msg_delete', ['MSG', 'DELETE'], msgDelete),
  op('snapshot', ['SNAPSHOT'], handleSnapshot),
  op('restore', ['RESTORE'], handleRestore),
  op('leader_stepdown', ['LEADER', 'STEPDOWN'], clusterOnly('leader_stepdown')),
  op('remove_peer', ['PEER', 'REMOVE'], clusterOnly('remove_peer')),
];
