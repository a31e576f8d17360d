/**
 * The content of a stream snapshot. nats-server's is a tar of its store
 * directory; Natter's store is its own, so a Natter snapshot is a tar of
 * Natter's records instead (docs/jetstream-snapshots.md), compressed in the
 * same S2 stream format:
 *
 *   stream.json            format tag, stream config, creation time, first/last sequence
 *   msgs/NNNNNN.dat        messages, in sequence order, in segments of about 1 MiB
 *   consumers/NNNNNN.json  one per consumer: name, config, creation time, state
 *
 * A message record is: u64 seq, f64 timestamp (ms), u32 subject length,
 * u32 header length, u32 data length (little endian), then the three.
 * Only a Natter server reads it back; a nats-server archive is refused.
 */
import { once } from 'node:events';
import tar from 'tar-stream';
import type { ConsumerConfig, StreamConfig } from '../types.js';
import type { ConsumerState, StreamStore } from '../store/types.js';
import { S2Reader, S2Writer } from './s2-stream.js';

const ARCHIVE_FORMAT = 'natter-stream-snapshot/1';
const HEADER_ENTRY = 'stream.json';
const SEGMENT_BYTES = 1024 * 1024;
const RECORD_FIXED = 8 + 8 + 4 + 4 + 4;
/** A consumer's JSON or the header is small; anything bigger than this is not ours. */
const MAX_JSON_ENTRY = 64 * 1024 * 1024;
/** A segment holds records of at most a max-size message each, plus one record past the segment size. */
const MAX_SEGMENT_ENTRY = 256 * 1024 * 1024;

/** One consumer as it goes into a snapshot. */
export interface ConsumerSnapshot {
  readonly name: string;
  readonly config: ConsumerConfig;
  /** Creation time, ms since the epoch. */
  readonly created: number;
  readonly state: ConsumerState;
}

/** What a snapshot is made of, captured when it starts. */
export interface SnapshotSource {
  readonly config: StreamConfig;
  readonly created: string;
  readonly store: StreamStore;
  readonly firstSeq: number;
  /** Messages stored after the snapshot started are not in it. */
  readonly lastSeq: number;
  readonly consumers: readonly ConsumerSnapshot[];
}

interface ArchiveHeader {
  format: string;
  config: StreamConfig;
  created: string;
  first_seq: number;
  last_seq: number;
}

interface ConsumerEntry {
  name: string;
  created: number;
  config: ConsumerConfig;
  state: {
    delivered: { consumer_seq: number; stream_seq: number };
    ack_floor: { consumer_seq: number; stream_seq: number };
    /** [stream seq, consumer seq, delivery time ms] */
    pending: Array<[number, number, number]>;
    /** [stream seq, delivery count] */
    redelivered: Array<[number, number]>;
  };
}

function entryName(dir: string, n: number, ext: string): string {
  return `${dir}/${String(n).padStart(6, '0')}.${ext}`;
}

function consumerEntry(c: ConsumerSnapshot): ConsumerEntry {
  const s = c.state;
  return {
    name: c.name,
    created: c.created,
    config: c.config,
    state: {
      delivered: { consumer_seq: s.delivered.consumerSeq, stream_seq: s.delivered.streamSeq },
      ack_floor: { consumer_seq: s.ackFloor.consumerSeq, stream_seq: s.ackFloor.streamSeq },
      pending: [...s.pending].map(([seq, p]) => [seq, p.consumerSeq, p.ts]),
      redelivered: [...s.redelivered],
    },
  };
}

/** The tar entries of a snapshot, message segments read from the store as they are asked for. */
function* entries(src: SnapshotSource): Generator<{ name: string; data: Buffer }> {
  const header: ArchiveHeader = { format: ARCHIVE_FORMAT, config: src.config, created: src.created, first_seq: src.firstSeq, last_seq: src.lastSeq };
  yield { name: HEADER_ENTRY, data: Buffer.from(JSON.stringify(header)) };
  let segment: Buffer[] = [];
  let size = 0;
  let n = 0;
  for (let m = src.store.loadNextMsg(null, src.firstSeq); m !== null && m.seq <= src.lastSeq; m = src.store.loadNextMsg(null, m.seq + 1)) {
    const subject = Buffer.from(m.subject, 'utf8');
    const hdrLen = m.hdr === null ? 0 : m.hdr.length;
    const fixed = Buffer.allocUnsafe(RECORD_FIXED);
    fixed.writeBigUInt64LE(BigInt(m.seq), 0);
    fixed.writeDoubleLE(m.ts, 8);
    fixed.writeUInt32LE(subject.length, 16);
    fixed.writeUInt32LE(hdrLen, 20);
    fixed.writeUInt32LE(m.data.length, 24);
    segment.push(fixed, subject);
    if (m.hdr !== null) segment.push(m.hdr);
    segment.push(m.data);
    size += RECORD_FIXED + subject.length + hdrLen + m.data.length;
    if (size >= SEGMENT_BYTES) {
      yield { name: entryName('msgs', ++n, 'dat'), data: Buffer.concat(segment, size) };
      segment = [];
      size = 0;
    }
  }
  if (size > 0) yield { name: entryName('msgs', ++n, 'dat'), data: Buffer.concat(segment, size) };
  let i = 0;
  for (const c of src.consumers) yield { name: entryName('consumers', ++i, 'json'), data: Buffer.from(JSON.stringify(consumerEntry(c))) };
}

/**
 * The snapshot as S2-compressed tar bytes, produced as they are consumed
 * (the tar packer holds about one entry ahead): a large stream is never
 * held in memory whole.
 */
export async function* snapshotBytes(src: SnapshotSource): AsyncGenerator<Buffer> {
  const pack = tar.pack();
  const mtime = new Date();
  const producer = (async () => {
    for (const e of entries(src)) {
      await new Promise<void>((resolve, reject) => {
        pack.entry({ name: e.name, size: e.data.length, mtime, mode: 0o600 }, e.data, (err) => (err ? reject(err) : resolve()));
      });
    }
    pack.finalize();
  })();
  // Keeps a failure from surfacing as an unhandled rejection before it is awaited below.
  producer.catch(() => undefined);
  const s2 = new S2Writer();
  try {
    for await (const piece of pack as AsyncIterable<Buffer>) {
      const out = s2.write(piece);
      if (out.length > 0) yield Buffer.concat(out);
    }
    await producer;
    yield Buffer.concat(s2.end());
  } finally {
    pack.destroy();
  }
}

/** Where restored data goes: the new stream's store, its consumers' stores included. */
export interface RestoreTarget {
  readonly name: string;
  readonly store: StreamStore;
}

/**
 * Reads a snapshot as its chunks arrive and writes it into a fresh store:
 * `write` each chunk (its promise settles once the chunk was taken in,
 * the flow control of the upload), then `end`. Errors are thrown as
 * Error with the reason a restore fails with.
 */
export class ArchiveRestorer {
  private readonly s2 = new S2Reader();
  private readonly extract = tar.extract();
  /** The extractor as streamx's writable (write without a callback, end without arguments). */
  private readonly sink = this.extract as unknown as { write(data: Buffer): boolean; end(): void };
  private header: ArchiveHeader | null = null;
  private failure: Error | null = null;
  private readonly finished: Promise<void>;

  constructor(private readonly target: RestoreTarget) {
    this.extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const limit = header.name === HEADER_ENTRY || header.name.startsWith('consumers/') ? MAX_JSON_ENTRY : MAX_SEGMENT_ENTRY;
      stream.on('data', (data: unknown) => {
        const c = data as Buffer;
        size += c.length;
        if (size > limit) {
          stream.destroy(new Error(`snapshot entry ${header.name} is too large`));
          return;
        }
        chunks.push(c);
      });
      stream.on('error', (err: Error) => next(err));
      stream.on('end', () => {
        try {
          this.apply(header.name, header.type ?? 'file', Buffer.concat(chunks, size));
          next();
        } catch (e) {
          next(e instanceof Error ? e : new Error(String(e)));
        }
      });
    });
    this.finished = new Promise<void>((resolve, reject) => {
      this.extract.on('finish', resolve);
      this.extract.on('error', (err: Error) => {
        this.failure ??= err;
        reject(err);
      });
    });
    this.finished.catch(() => undefined);
  }

  /** The stream's config and creation time as the archive holds them (set once its first entry was read). */
  get archived(): { config: StreamConfig; created: string } | null {
    return this.header === null ? null : { config: this.header.config, created: this.header.created };
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.failure !== null) throw this.failure;
    let data: Buffer[];
    try {
      data = this.s2.push(chunk);
    } catch (e) {
      throw this.fail(e);
    }
    for (const d of data) {
      // streamx's write takes no callback: a full buffer says so and 'drain' follows, or 'error' fails the restore.
      if (!this.sink.write(d)) await Promise.race([once(this.extract, 'drain'), this.finished]);
      if (this.failure !== null) throw this.failure;
    }
  }

  /** The upload is complete: the archive must end here, and the store gets the snapshot's last sequence. */
  async end(): Promise<void> {
    if (this.failure !== null) throw this.failure;
    try {
      this.s2.end();
    } catch (e) {
      throw this.fail(e);
    }
    this.sink.end();
    await this.finished;
    if (this.failure !== null) throw this.failure;
    const header = this.header;
    if (header === null) throw this.fail(new Error('snapshot holds no stream'));
    const store = this.target.store;
    const st = store.state();
    if (st.lastSeq < header.last_seq) {
      // Messages deleted at the tail still used their sequences.
      if (st.msgs === 0) store.compact(header.last_seq + 1);
      else while (store.state().lastSeq < header.last_seq) store.skipMsg();
    }
  }

  /** Stops reading (the upload was abandoned). */
  destroy(): void {
    this.extract.destroy();
  }

  private fail(e: unknown): Error {
    const err = e instanceof Error ? e : new Error(String(e));
    this.failure ??= err;
    return this.failure;
  }

  private apply(name: string, type: string, data: Buffer): void {
    if (type !== 'file') throw new Error(`unexpected snapshot entry ${name}`);
    if (this.header === null) {
      if (name !== HEADER_ENTRY) throw new Error('not a Natter stream snapshot (a nats-server store archive cannot be restored by Natter)');
      this.header = readHeader(data);
      if (this.header.config.name !== this.target.name) throw new Error('stream names do not match');
      const store = this.target.store;
      if (this.header.first_seq > store.state().firstSeq) store.compact(this.header.first_seq);
      return;
    }
    if (name.startsWith('msgs/')) this.applyMessages(data);
    else if (name.startsWith('consumers/')) this.applyConsumer(data);
    else throw new Error(`unexpected snapshot entry ${name}`);
  }

  private applyMessages(seg: Buffer): void {
    const store = this.target.store;
    let off = 0;
    while (off < seg.length) {
      if (seg.length - off < RECORD_FIXED) throw new Error('snapshot message segment is truncated');
      const seq = Number(seg.readBigUInt64LE(off));
      const ts = seg.readDoubleLE(off + 8);
      const subjLen = seg.readUInt32LE(off + 16);
      const hdrLen = seg.readUInt32LE(off + 20);
      const dataLen = seg.readUInt32LE(off + 24);
      const start = off + RECORD_FIXED;
      const end = start + subjLen + hdrLen + dataLen;
      if (end > seg.length) throw new Error('snapshot message segment is truncated');
      const subject = seg.toString('utf8', start, start + subjLen);
      const hdr = hdrLen === 0 ? null : Buffer.from(seg.subarray(start + subjLen, start + subjLen + hdrLen));
      const payload = Buffer.from(seg.subarray(start + subjLen + hdrLen, end));
      if (seq <= store.state().lastSeq) throw new Error(`snapshot message ${seq} is out of order`);
      store.storeMsgAt(seq, subject, hdr, payload, ts);
      off = end;
    }
  }

  private applyConsumer(data: Buffer): void {
    const e = JSON.parse(data.toString('utf8')) as ConsumerEntry;
    if (typeof e.name !== 'string' || e.name === '' || typeof e.config !== 'object' || e.config === null || typeof e.state !== 'object') {
      throw new Error('snapshot consumer entry is malformed');
    }
    const s = e.state;
    const state: ConsumerState = {
      delivered: { consumerSeq: s.delivered.consumer_seq, streamSeq: s.delivered.stream_seq },
      ackFloor: { consumerSeq: s.ack_floor.consumer_seq, streamSeq: s.ack_floor.stream_seq },
      pending: new Map(s.pending.map(([seq, cseq, ts]) => [seq, { consumerSeq: cseq, ts }])),
      redelivered: new Map(s.redelivered),
    };
    const cs = this.target.store.consumerStore(e.name);
    cs.saveConfig(e.config, e.created);
    cs.update(state);
  }
}

function readHeader(data: Buffer): ArchiveHeader {
  let h: Partial<ArchiveHeader>;
  try {
    h = JSON.parse(data.toString('utf8')) as Partial<ArchiveHeader>;
  } catch {
    throw new Error('snapshot header is not valid JSON');
  }
  if (h.format !== ARCHIVE_FORMAT) throw new Error(`unsupported snapshot format ${JSON.stringify(h.format ?? null)}`);
  if (typeof h.config !== 'object' || h.config === null || typeof h.first_seq !== 'number' || typeof h.last_seq !== 'number') {
    throw new Error('snapshot header is malformed');
  }
  return { format: h.format, config: h.config, created: typeof h.created === 'string' ? h.created : '', first_seq: h.first_seq, last_seq: h.last_seq };
}
