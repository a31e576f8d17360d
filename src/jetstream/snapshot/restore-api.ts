/**
 * `$JS.API.STREAM.RESTORE.<stream>` with `{config, state}`: checks the
 * request as nats-server does (bad request, invalid JSON, name mismatch,
 * path separators, the config, the account's stream limit, a stream or a
 * restore of that name: 10130), then answers with the `deliver_subject`
 * `$JS.SNAPSHOT.RESTORE.<stream>.<id>` the client publishes the snapshot to:
 *
 * - each chunk with a reply subject; it is acknowledged with an empty
 *   message once taken in (the upload's flow control); a chunk without a
 *   reply ends the restore (logged, nothing answered);
 * - an empty message ends the upload; its reply gets the stream create
 *   response: the new stream's info, or `10062 restore failed: …`;
 * - 5 s without a chunk and the restore is abandoned as stalled.
 *
 * The config of the request is the restored stream's (as in nats-server:
 * a restore may change limits); its name must be the archive's. A file
 * stream is staged under `<account>/snapshots/` and moved into place in one
 * rename once complete, so a failed or interrupted restore leaves no
 * half-made stream behind. In a JetStream cluster restores are refused: a
 * replicated stream would have to be placed and seeded on every peer.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApiRequest, ApiResponse } from '../api/context.js';
import { writeMeta, type JetStream } from '../jetstream.js';
import type { JsAccount } from '../js-account.js';
import type { StreamConfig } from '../types.js';
import type { StreamStore } from '../store/types.js';
import {
  type JsApiError, badRequest, maximumStreamsLimit, streamInvalidConfig, streamMismatch, streamNameContainsPathSeparators, streamNameExistRestoreFailed,
  streamRestore, streamSubjectOverlap,
} from '../api/errors.js';
import { isEmptyRequest, parseRequest } from '../api/request.js';
import { checkStreamConfig, checkSubjectList, decodeStreamConfig, isConfig } from '../stream-config.js';
import { anyCollision, MAX_OVERLAP_WORK, SubjectOverlapIndex } from '../subject-overlap.js';
import { streamInfo } from '../api/stream-info.js';
import { openStore } from '../store-factory.js';
import { runInSlices } from '../slices.js';
import { publishAdvisory } from '../advisories.js';
import { clientInfo } from '../../accounts/client-info.js';
import { nowTimeString } from '../time.js';
import { ArchiveRestorer } from './archive.js';

const TYPE = 'io.nats.jetstream.api.v1.stream_restore_response';
const CREATE_TYPE = 'io.nats.jetstream.api.v1.stream_create_response';
/** A restore that receives nothing for this long is abandoned (nats-server's activity interval). */
const RESTORE_STALL_MS = 5_000;

/** Stream names with a restore under way, per account: a second restore of one is refused as nats-server's cluster refuses it. */
const restoring = new WeakMap<JsAccount, Set<string>>();

/** nats-server's restore response always carries `deliver_subject`, empty with an error. */
function fail(err: JsApiError): ApiResponse {
  return { type: TYPE, error: err.toJSON(), deliver_subject: '' };
}

function restoreInProgress(jsa: JsAccount, name: string): boolean {
  return restoring.get(jsa)?.has(name) === true;
}

export async function handleRestore(req: ApiRequest, js: JetStream, jsa: JsAccount): Promise<ApiResponse> {
  if (isEmptyRequest(req.body)) return fail(badRequest());
  const parsed = parseRequest(req.body);
  if (parsed instanceof Error) return fail(parsed);
  const rawConfig = typeof parsed.config === 'object' && parsed.config !== null ? { ...(parsed.config as Record<string, unknown>) } : {};
  const name = req.tokens[2];
  if (rawConfig.name === undefined || rawConfig.name === '') rawConfig.name = name;
  if (rawConfig.name !== name) return fail(streamMismatch());
  if (/[\\/]/.test(name)) return fail(streamNameContainsPathSeparators());
  if (js.cluster !== null) return fail(streamRestore('restoring a stream in a JetStream cluster is not supported by this server'));
  const input = decodeStreamConfig(Buffer.from(JSON.stringify(rawConfig)), js.config.strict);
  if (input instanceof Error) return fail(input);
  const checked = await runInSlices(checkSubjectList(input.subjects ?? [], input.no_ack === true));
  const cfg = checkStreamConfig(input, { lookup: (n) => jsa.streams.get(n)?.config() ?? null }, checked);
  if (!isConfig(cfg)) return fail(cfg);
  if (jsa.limits.maxStreams > 0 && jsa.streams.size >= jsa.limits.maxStreams) return fail(maximumStreamsLimit());
  if (jsa.streams.has(name) || restoreInProgress(jsa, name)) return fail(streamNameExistRestoreFailed());

  let set = restoring.get(jsa);
  if (set === undefined) restoring.set(jsa, (set = new Set()));
  set.add(name);
  const id = randomBytes(11).toString('base64url');
  const staging = cfg.storage === 'file' ? join(jsa.dir, 'snapshots', id) : null;
  let store: StreamStore;
  try {
    if (staging !== null) await mkdir(staging, { recursive: true });
    store = openStore(cfg, { dir: staging ?? '', sync: js.config.sync, logger: js.core.logger });
  } catch (e) {
    set.delete(name);
    if (staging !== null) await rm(staging, { recursive: true, force: true });
    return fail(streamRestore(e instanceof Error ? e.message : String(e)));
  }
  const upload = new Upload(js, jsa, cfg, store, staging, req, `$JS.SNAPSHOT.RESTORE.${name}.${id}`, () => set.delete(name));
  // The client learns the subject from this answer, so chunks come after it.
  upload.start();
  return { type: TYPE, deliver_subject: upload.subject };
}

/** Does another stream of the account capture one of the restored stream's subjects (checked in slices, as a create does)? */
async function subjectsOverlap(jsa: JsAccount, cfg: StreamConfig): Promise<JsApiError | null> {
  const index = new SubjectOverlapIndex();
  const subjects = cfg.subjects ?? [];
  for (let i = 0; i < subjects.length; i++) index.insert(subjects[i], i);
  const others = [...jsa.streams.values()].map((s) => s.config().subjects ?? []);
  switch (await runInSlices(anyCollision(index, others))) {
    case 'found': return streamSubjectOverlap();
    case 'over-budget': return streamInvalidConfig(`stream subjects need more than ${MAX_OVERLAP_WORK} steps to check against other streams`);
    case 'none': return null;
  }
}

/** One restore: takes the chunks in, then builds the stream. */
class Upload {
  private readonly restorer: ArchiveRestorer;
  private readonly what: string;
  private readonly started = nowTimeString();
  private readonly client: ReturnType<typeof clientInfo> | undefined;
  private sub: ReturnType<JetStream['core']['subscribeInternal']> | null = null;
  /** Chunks are written one after the other. */
  private chain: Promise<void> = Promise.resolve();
  private stall: NodeJS.Timeout | null = null;
  private total = 0;
  private done = false;

  constructor(
    private readonly js: JetStream, private readonly jsa: JsAccount, private readonly cfg: StreamConfig, private store: StreamStore,
    private readonly staging: string | null, req: ApiRequest, readonly subject: string, private readonly release: () => void,
  ) {
    this.restorer = new ArchiveRestorer({ name: cfg.name, store });
    this.what = `stream '${jsa.account.name} > ${cfg.name}'`;
    this.client = req.client === null ? undefined : clientInfo(req.client, null);
  }

  start(): void {
    this.js.core.logger.info(`Starting restore for ${this.what}`);
    this.advise('RESTORE_CREATE', 'io.nats.jetstream.advisory.v1.restore_create', {});
    this.sub = this.js.core.subscribeInternal(this.jsa.account, this.subject, null, (_subject, reply, hdrLen, msg) => {
      this.onChunk(reply, hdrLen > 0 ? msg.subarray(hdrLen) : msg);
    });
    this.armStall();
  }

  private onChunk(reply: string | null, data: Buffer): void {
    if (this.done) return;
    if (reply === null || reply === '') {
      void this.abort(`restore for ${this.what} requires reply subject for each chunk`, null);
      return;
    }
    if (data.length === 0) {
      this.done = true;
      this.clearStall();
      this.chain = this.chain.then(() => this.finish(reply));
      return;
    }
    // The message buffer is only valid during this call.
    const chunk = Buffer.from(data);
    this.total += chunk.length;
    this.armStall();
    this.chain = this.chain.then(async () => {
      if (this.done && this.sub === null) return;
      try {
        await this.restorer.write(chunk);
      } catch (e) {
        await this.abort(e instanceof Error ? e.message : String(e), reply);
        return;
      }
      this.js.core.publishInternal(this.jsa.account, reply, null, Buffer.alloc(0));
    });
  }

  private armStall(): void {
    this.clearStall();
    this.stall = setTimeout(() => void this.abort(`restore for ${this.what} is stalled`, null), RESTORE_STALL_MS);
    this.stall.unref();
  }

  private clearStall(): void {
    if (this.stall !== null) clearTimeout(this.stall);
    this.stall = null;
  }

  /** The upload is over: everything staged goes; `reply`, when given, gets the failure. */
  private async abort(reason: string, reply: string | null): Promise<void> {
    if (this.sub === null) return;
    this.done = true;
    this.close();
    this.restorer.destroy();
    this.js.core.logger.warn(reason);
    await this.discard();
    this.completed();
    if (reply !== null) this.answer(reply, { type: CREATE_TYPE, error: streamRestore(reason).toJSON() });
    this.js.core.logger.warn(`Restore failed for ${this.total} bytes for ${this.what}`);
  }

  private async finish(reply: string): Promise<void> {
    if (this.sub === null) return;
    this.close();
    let res: ApiResponse;
    try {
      await this.restorer.end();
      res = await this.jsa.serially(() => this.install());
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      res = { type: CREATE_TYPE, error: ('errCode' in err ? (err as JsApiError) : streamRestore(err.message)).toJSON() };
    }
    if (res !== null && res.error !== undefined) {
      await this.discard();
      this.js.core.logger.warn(`Restore failed for ${this.total} bytes for ${this.what}`);
    } else {
      this.js.core.logger.info(`Completed restore of ${this.total} bytes for ${this.what}`);
    }
    this.completed();
    this.answer(reply, res);
  }

  /** Moves the staged store into place and registers the stream; throws (a JsApiError or an Error) when it cannot be. */
  private async install(): Promise<ApiResponse> {
    const { js, jsa, cfg } = this;
    if (jsa.streams.has(cfg.name)) throw streamNameExistRestoreFailed();
    const overlap = await subjectsOverlap(jsa, cfg);
    if (overlap !== null) throw overlap;
    const created = this.restorer.archived?.created || nowTimeString();
    let dir: string | null = null;
    if (this.staging !== null) {
      // Closed, described and renamed: the stream appears in its place whole or not at all.
      await this.store.stop();
      await writeMeta(this.staging, { config: cfg, created });
      dir = js.streamDir(jsa, cfg.name);
      await rm(dir, { recursive: true, force: true });
      await mkdir(join(dir, '..'), { recursive: true });
      await rename(this.staging, dir);
      this.store = openStore(cfg, { dir, sync: js.config.sync, logger: js.core.logger });
    }
    const stream = await js.adoptStream(jsa, cfg, this.store, created, dir);
    if (stream instanceof Error) {
      if (dir !== null) {
        await this.store.delete();
        await rm(dir, { recursive: true, force: true });
      }
      throw stream;
    }
    return { type: CREATE_TYPE, ...streamInfo(js, stream) };
  }

  /** Removes what was staged (the store of a failed restore). */
  private async discard(): Promise<void> {
    try {
      await this.store.delete();
    } catch {
      // Already stopped (or deleted by a refused install); removing the directory is what matters.
    }
    if (this.staging !== null) await rm(this.staging, { recursive: true, force: true });
  }

  private close(): void {
    this.clearStall();
    if (this.sub !== null) this.js.core.unsubscribeInternal(this.jsa.account, this.sub);
    this.sub = null;
  }

  private completed(): void {
    this.release();
    this.advise('RESTORE_COMPLETE', 'io.nats.jetstream.advisory.v1.restore_complete', { start: this.started, end: nowTimeString(), bytes: this.total });
  }

  private answer(reply: string, res: ApiResponse): void {
    if (res !== null && !this.js.core.shuttingDown) this.js.core.publishInternal(this.jsa.account, reply, null, JSON.stringify(res));
  }

  private advise(event: string, type: string, extra: Record<string, unknown>): void {
    const domain = this.js.config.domain;
    publishAdvisory(this.js.core, this.jsa.account, `$JS.EVENT.ADVISORY.STREAM.${event}.${this.cfg.name}`, type, {
      stream: this.cfg.name, ...extra, client: this.client, ...(domain !== '' ? { domain } : {}),
    });
  }
}
