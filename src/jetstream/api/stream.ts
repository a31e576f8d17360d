/**
 * `$JS.API.STREAM.…`: CREATE, UPDATE, DELETE, INFO, LIST, NAMES, PURGE,
 * MSG.GET, MSG.DELETE, and the cluster-only LEADER.STEPDOWN / PEER.REMOVE
 * (refused as a single server does). SNAPSHOT and RESTORE are answered with
 * an error: this server does not implement them.
 */
import type { ApiRequest, ApiResponse } from './context.js';
import type { JetStream } from '../jetstream.js';
import type { JsAccount } from '../js-account.js';
import type { Stream } from '../stream.js';
import {
  type JsApiError, badRequest, clusterRequired, noMessageFound, notEmptyRequest, sequenceNotFound, streamGeneral, streamMismatch,
  streamMsgDeleteFailed, streamNameContainsPathSeparators, streamNameExist, streamNotFound, streamPurgeFailed, streamRestore,
  streamSealed, streamSnapshot, streamSubjectOverlap, streamInvalidConfig, streamCreate,
} from './errors.js';
import { checkStreamConfig, checkStreamUpdate, decodeStreamConfig, isConfig, sameConfig } from '../stream-config.js';
import { subjectsCollide } from '../../accounts/subject-sets.js';
import { streamInfo } from './stream-info.js';
import { msToTimeString } from '../time.js';
import { isEmptyRequest, parseRequest, type JsonObject } from './request.js';

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

/** Another stream of the account already captures one of `subjects`. */
function overlaps(jsa: JsAccount, subjects: readonly string[], except: string | null): boolean {
  for (const s of jsa.streams.values()) {
    if (s.name === except) continue;
    for (const a of s.config().subjects ?? []) for (const b of subjects) if (subjectsCollide(a, b)) return true;
  }
  return false;
}

async function create(req: ApiRequest, js: JetStream, jsa: JsAccount): Promise<ApiResponse> {
  const input = decodeStreamConfig(req.body, js.config.strict);
  if (input instanceof Error) return fail('create', input);
  const name = req.tokens[2];
  if ((input.name ?? '') !== name) return fail('create', streamMismatch());
  if (/[\\/]/.test(name)) return fail('create', streamNameContainsPathSeparators());
  if (input.sealed === true) return fail('create', streamInvalidConfig('stream configuration for create can not be sealed'));
  const cfg = checkStreamConfig(input, envOf(jsa));
  if (!isConfig(cfg)) return fail('create', cfg);
  const existing = jsa.streams.get(name);
  if (existing !== undefined) {
    if (!sameConfig(existing.config(), cfg)) return fail('create', streamNameExist());
    return { type: streamApiType('create'), ...streamInfo(js, existing), did_create: true };
  }
  if (overlaps(jsa, cfg.subjects ?? [], null)) return fail('create', streamSubjectOverlap());
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
  const checked = checkStreamConfig(input, envOf(jsa));
  if (!isConfig(checked)) return fail('update', checked);
  if (checked.name !== req.tokens[2]) return fail('update', streamMismatch());
  const s = lookup(req, jsa, 'update');
  if (!isStream(s)) return s;
  const cfg = checkStreamUpdate(s.config(), input, envOf(jsa));
  if (!isConfig(cfg)) return fail('update', cfg);
  if (overlaps(jsa, cfg.subjects ?? [], s.name)) return fail('update', streamSubjectOverlap());
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

/** The account's streams, sorted by name, narrowed to those whose subjects collide with `filter`. */
function filtered(jsa: JsAccount, filter: string): Stream[] {
  const all = [...jsa.streams.values()].filter((s) => filter === '' || (s.config().subjects ?? []).some((subj) => subjectsCollide(filter, subj)));
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

function purge(req: ApiRequest, _js: JetStream, jsa: JsAccount): ApiResponse {
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
  const opts: { subject?: string; seq?: number; keep?: number } = {};
  if (typeof parsed.filter === 'string' && parsed.filter !== '') opts.subject = parsed.filter;
  if (seq > 0) opts.seq = seq;
  if (keep > 0) opts.keep = keep;
  let purged: number;
  try {
    purged = s.store.purge(opts);
  } catch (e) {
    return fail('purge', streamGeneral(e instanceof Error ? e.message : String(e)), NOTHING_PURGED);
  }
  s.queueRemovals();
  return { type: streamApiType('purge'), success: true, purged };
}

function msgDelete(req: ApiRequest, _js: JetStream, jsa: JsAccount): ApiResponse {
  if (isEmptyRequest(req.body)) return fail('msg_delete', badRequest());
  const parsed = parseRequest(req.body);
  if (parsed instanceof Error) return fail('msg_delete', parsed);
  const s = lookup(req, jsa, 'msg_delete');
  if (!isStream(s)) return s;
  const cfg = s.config();
  if (cfg.sealed) return fail('msg_delete', streamSealed());
  if (cfg.deny_delete) return fail('msg_delete', streamMsgDeleteFailed('message delete not permitted'));
  const seq = typeof parsed.seq === 'number' ? parsed.seq : 0;
  const removed = parsed.no_erase === true ? s.store.removeMsg(seq) : s.store.eraseMsg(seq);
  if (!removed) return fail('msg_delete', sequenceNotFound(seq));
  s.queueRemovals();
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

/** The first sequence stored at or after `t` (ms). */
export function seqFromTime(s: Stream, t: number): number {
  const st = s.store.state();
  for (let m = s.store.loadNextMsg(null, st.firstSeq); m !== null; m = s.store.loadNextMsg(null, m.seq + 1)) {
    if (m.ts >= t) return m.seq;
  }
  return st.lastSeq + 1;
}

function clusterOnly(name: string): Handler {
  return (req, _js, jsa) => {
    const s = lookup(req, jsa, name);
    if (!isStream(s)) return s;
    return fail(name, clusterRequired());
  };
}

function notImplemented(name: string, err: JsApiError): Handler {
  return (req, _js, jsa) => {
    const s = lookup(req, jsa, name);
    if (!isStream(s)) return s;
    return fail(name, err);
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
  op('purge', ['PURGE'], purge, NOTHING_PURGED),
  op('msg_get', ['MSG', 'GET'], msgGet),
  op('msg_delete', ['MSG', 'DELETE'], msgDelete),
  op('snapshot', ['SNAPSHOT'], notImplemented('snapshot', streamSnapshot('snapshots are not supported by this server'))),
  op('restore', ['RESTORE'], (_req) => fail('restore', streamRestore('restores are not supported by this server'))),
  op('leader_stepdown', ['LEADER', 'STEPDOWN'], clusterOnly('leader_stepdown')),
  op('remove_peer', ['PEER', 'REMOVE'], clusterOnly('remove_peer')),
];
