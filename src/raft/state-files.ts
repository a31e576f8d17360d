/**
 * The two small files of a file-backed Raft storage besides its log: the
 * hard state (`state`) and the latest snapshot (`snapshot`). Both are
 * replaced atomically (temporary file, fsync, rename, fsync of the
 * directory) so a crash leaves the old or the new version, and both end in
 * a CRC-32 so damage is recognised instead of trusted.
 *
 * state, little-endian:     "NRH1" | JSON {term, vote, floor} | u32 crc32
 * snapshot, little-endian:  "NRS1" | u32 meta length | JSON meta | data | u32 crc32
 *
 * The crc covers every byte before it.
 */
import { crc32 } from 'node:zlib';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { HardState, PeerId, Snapshot, SnapshotMeta } from './types.js';

const STATE_MAGIC = Buffer.from('NRH1', 'latin1');
const SNAPSHOT_MAGIC = Buffer.from('NRS1', 'latin1');
const CRC_BYTES = 4;

export const STATE_FILE = 'state';
export const SNAPSHOT_FILE = 'snapshot';
/** Where a damaged snapshot is moved so it is reported once and kept for inspection. */
export const DAMAGED_SNAPSHOT_FILE = 'snapshot.damaged';

/** The hard state plus the log floor (see PersistedState.floor). */
export interface PersistedState extends HardState {
  /**
   * An index the log is known to have durably reached, lowered before any
   * truncation below it. A log that loads shorter than this lost entries it
   * had acknowledged (a cut file), which checksums alone cannot see.
   */
  readonly floor: number;
}

/** An I/O failure, named with the storage and the operation, keeping the system error code. */
export class RaftStorageError extends Error {
  readonly code: string | undefined;
  constructor(dir: string, what: string, cause: unknown) {
    const err = cause as NodeJS.ErrnoException;
    super(`raft storage ${dir}: cannot ${what}: ${err?.message ?? String(cause)}`, { cause });
    this.name = 'RaftStorageError';
    this.code = err?.code;
  }
}

export function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
}

/** fsyncs a directory, so files created, renamed or removed in it stay that way after a power loss. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes `parts` back to back at `position`. A write cut short (the disk
 * filled up, the file hit its size limit) is retried for the rest, so the
 * caller gets the system's error (ENOSPC, EFBIG) rather than a short count.
 */
export async function writeFully(fh: FileHandle, parts: readonly Buffer[], position: number): Promise<void> {
  let rest = parts;
  let at = position;
  for (;;) {
    let total = 0;
    for (const p of rest) total += p.length;
    const { bytesWritten } = await fh.writev(rest as Buffer[], at);
    if (bytesWritten === total) return;
    if (bytesWritten === 0) throw new Error(`no progress writing ${total} bytes`);
    at += bytesWritten;
    let skip = bytesWritten;
    let i = 0;
    while (skip >= rest[i].length) skip -= rest[i++].length;
    rest = [rest[i].subarray(skip), ...rest.slice(i + 1)];
  }
}

/**
 * Creates `dir` and any missing parents; when durable, also fsyncs the
 * directories that hold the new names, so a power loss cannot take the
 * whole storage (with the vote it holds) away.
 */
export async function makeDir(dir: string, sync: boolean): Promise<void> {
  const created = await mkdir(dir, { recursive: true });
  if (created === undefined || !sync) return;
  const first = resolve(created);
  for (let p = resolve(dir); ; p = dirname(p)) {
    await syncDir(dirname(p));
    if (p === first || dirname(p) === p) return;
  }
}

/** Replaces `dir/name` with `parts` so a crash leaves the old or the new content, never a mix. */
export async function replaceFile(dir: string, name: string, parts: readonly Buffer[], sync: boolean): Promise<void> {
  const tmp = join(dir, `${name}.tmp`);
  const fh = await open(tmp, 'w');
  try {
    await writeFully(fh, parts, 0);
    if (sync) await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, name));
  if (sync) await syncDir(dir);
}

/** Removes temporary files a crash may have left behind mid-replace. */
export async function removeLeftovers(dir: string): Promise<void> {
  await rm(join(dir, `${STATE_FILE}.tmp`), { force: true });
  await rm(join(dir, `${SNAPSHOT_FILE}.tmp`), { force: true });
}

export function encodeState(state: PersistedState): Buffer[] {
  const body = Buffer.from(JSON.stringify({ term: state.term, vote: state.vote, floor: state.floor }));
  const crc = Buffer.allocUnsafe(CRC_BYTES);
  crc.writeUInt32LE(crc32(body, crc32(STATE_MAGIC)));
  return [STATE_MAGIC, body, crc];
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** The state in `buf`, or null when it is damaged. */
export function decodeState(buf: Buffer): PersistedState | null {
  if (buf.length < STATE_MAGIC.length + CRC_BYTES || !buf.subarray(0, STATE_MAGIC.length).equals(STATE_MAGIC)) return null;
  const end = buf.length - CRC_BYTES;
  if (crc32(buf.subarray(0, end)) !== buf.readUInt32LE(end)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(buf.subarray(STATE_MAGIC.length, end).toString('utf8'));
  } catch {
    return null;
  }
  const { term, vote, floor } = (parsed ?? {}) as Record<string, unknown>;
  if (!isCount(term) || !isCount(floor) || !(vote === null || typeof vote === 'string')) return null;
  return { term, vote, floor };
}

/** The snapshot file as buffers to write in order (the data is not copied). */
export function encodeSnapshot(snapshot: Snapshot): Buffer[] {
  const meta = Buffer.from(JSON.stringify({
    lastIndex: snapshot.meta.lastIndex,
    lastTerm: snapshot.meta.lastTerm,
    peers: snapshot.meta.peers,
  }));
  const head = Buffer.allocUnsafe(SNAPSHOT_MAGIC.length + 4);
  SNAPSHOT_MAGIC.copy(head, 0);
  head.writeUInt32LE(meta.length, SNAPSHOT_MAGIC.length);
  const crc = Buffer.allocUnsafe(CRC_BYTES);
  crc.writeUInt32LE(crc32(snapshot.data, crc32(meta, crc32(head))));
  return [head, meta, snapshot.data, crc];
}

function decodeMeta(json: string): SnapshotMeta | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return null;
  }
  const { lastIndex, lastTerm, peers } = (parsed ?? {}) as Record<string, unknown>;
  if (!isCount(lastIndex) || !isCount(lastTerm)) return null;
  if (!Array.isArray(peers) || !peers.every((p): p is PeerId => typeof p === 'string')) return null;
  return { lastIndex, lastTerm, peers };
}

/** The snapshot in `buf` (its data a view into `buf`), or null when it is damaged. */
export function decodeSnapshot(buf: Buffer): Snapshot | null {
  const headLen = SNAPSHOT_MAGIC.length + 4;
  if (buf.length < headLen + CRC_BYTES || !buf.subarray(0, SNAPSHOT_MAGIC.length).equals(SNAPSHOT_MAGIC)) return null;
  const end = buf.length - CRC_BYTES;
  const metaLen = buf.readUInt32LE(SNAPSHOT_MAGIC.length);
  if (metaLen > end - headLen) return null;
  if (crc32(buf.subarray(0, end)) !== buf.readUInt32LE(end)) return null;
  const meta = decodeMeta(buf.subarray(headLen, headLen + metaLen).toString('utf8'));
  if (meta === null) return null;
  return { meta, data: buf.subarray(headLen + metaLen, end) };
}
