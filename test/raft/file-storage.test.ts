/**
 * The file-backed Raft storage: round trips through close and reopen,
 * group commit, segment roll-over, truncation, snapshots with compaction,
 * and what load makes of damaged files (a flipped bit, a cut file, garbage
 * or zeros past the end, a damaged snapshot or state file), plus an I/O
 * failure surfacing as rejected promises.
 */
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFileRaftStorage, type FileRaftStorage, type FileRaftStorageOptions } from '../../src/raft/file-storage.js';
import { encodeLogRecord, recordBytes } from '../../src/raft/log-record.js';
import type { EntryKind, LogEntry } from '../../src/raft/types.js';

const dirs: string[] = [];
const opened: FileRaftStorage[] = [];

afterEach(async () => {
  for (const s of opened.splice(0)) await s.close().catch(() => undefined);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'natter-raft-fs-'));
  dirs.push(d);
  return d;
}

/** Opens (without loading) a storage that the test's cleanup closes. */
function open(dir: string, options: Partial<FileRaftStorageOptions> = {}): FileRaftStorage {
  const s = openFileRaftStorage(dir, { sync: true, ...options });
  opened.push(s);
  return s;
}

/** Entry `index`: its data says which entry it is, so a mix-up cannot pass. */
function entry(index: number, term = 1, kind: EntryKind = 'normal', size = 20): LogEntry {
  const data = Buffer.alloc(size, index % 251);
  data.write(`#${index}`, 0);
  return { index, term, kind, data };
}

function entries(from: number, to: number, term = 1, size = 20): LogEntry[] {
  const out: LogEntry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term, 'normal', size));
  return out;
}

function indexes(list: readonly LogEntry[]): number[] {
  return list.map((e) => e.index);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

function segmentFiles(dir: string): string[] {
  return readdirSync(join(dir, 'log')).filter((n) => n.endsWith('.seg')).sort();
}

function segmentPath(dir: string, name: string): string {
  return join(dir, 'log', name);
}

/** A storage whose floor is never recorded on its own: what a crash before the next floor leaves. */
const noFloor = { floorIntervalMs: 1_000_000_000 };

describe('file raft storage', () => {
  it('round-trips hard state and entries of every kind through close and reopen', async () => {
    const dir = tempDir();
    const s = open(dir);
    assert.deepEqual(await s.load(), { hard: { term: 0, vote: null }, snapshot: null, entries: [], damaged: false });
    await s.saveHardState({ term: 3, vote: 'n2' });
    const written = [entry(1, 1, 'peers'), entry(2, 2, 'noop', 0), entry(3, 3, 'normal', 1000), { index: 4, term: 2 ** 40, kind: 'normal' as const, data: Buffer.from('big term') }];
    await s.append(written);
    await s.close();
    const loaded = await open(dir).load();
    assert.equal(loaded.damaged, false);
    assert.deepEqual(loaded.hard, { term: 3, vote: 'n2' });
    assert.deepEqual(loaded.entries, written);
  });

  it('a closed storage loads again and carries on', async () => {
    const dir = tempDir();
    const s = open(dir);
    await s.load();
    await s.append(entries(1, 5));
    await s.close();
    await assert.rejects(s.append([entry(6)]), /not loaded/);
    assert.deepEqual(indexes((await s.load()).entries), range(1, 5));
    await s.append([entry(6)]);
    await s.close();
    assert.deepEqual(indexes((await open(dir).load()).entries), range(1, 6));
  });

  it('group-commits the appends of one turn into one batch, and later ones into the next', async () => {
    const dir = tempDir();
    const s = open(dir);
    await s.load();
    const first = Array.from({ length: 100 }, (_, i) => s.append([entry(i + 1)]));
    assert.equal(new Set(first).size, 1, 'one promise for the whole batch');
    await Promise.all(first);
    assert.deepEqual(s.stats(), { appendBatches: 1, appendedEntries: 100, largestBatch: 100 });
    // Appends made while a batch is being written join the next one.
    const during: Promise<void>[] = [];
    const writing = s.append([entry(101)]);
    setImmediate(() => {
      for (let i = 102; i <= 150; i++) during.push(s.append([entry(i)]));
    });
    await writing;
    await Promise.all(during);
    assert.equal(s.stats().appendedEntries, 150);
    assert.ok(s.stats().appendBatches <= 3, `batches: ${s.stats().appendBatches}`);
  });

  it('runs operations in call order', async () => {
    const dir = tempDir();
    const s = open(dir);
    await s.load();
    const done: string[] = [];
    const ops = [
      s.append(entries(1, 10)).then(() => done.push('append 1-10')),
      s.saveHardState({ term: 2, vote: 'a' }).then(() => done.push('vote')),
      s.truncateFrom(6).then(() => done.push('truncate 6')),
      s.append(entries(6, 8, 2)).then(() => done.push('append 6-8')),
      s.saveHardState({ term: 3, vote: null }).then(() => done.push('term 3')),
    ];
    await Promise.all(ops);
    assert.deepEqual(done, ['append 1-10', 'vote', 'truncate 6', 'append 6-8', 'term 3']);
    await s.close();
    const loaded = await open(dir).load();
    assert.deepEqual(loaded.hard, { term: 3, vote: null });
    assert.deepEqual(loaded.entries.map((e) => [e.index, e.term]), [[1, 1], [2, 1], [3, 1], [4, 1], [5, 1], [6, 2], [7, 2], [8, 2]]);
  });

  it('refuses appends that leave a gap or overlap, and calls before load', async () => {
    const dir = tempDir();
    const s = open(dir);
    await assert.rejects(s.append([entry(1)]), /not loaded/);
    await s.load();
    await assert.rejects(s.append([entry(2)]), /entry 2 where 1 comes next/);
    await s.append(entries(1, 3));
    await assert.rejects(s.append([entry(3)]), /entry 3 where 4 comes next/);
    await assert.rejects(s.append([entry(4), entry(6)]), /entry 6 where 5 comes next/);
    await s.append([entry(4)]);
    assert.deepEqual(s.stats().appendedEntries, 4);
  });

  it('rolls segments over and reads them all back', async () => {
    const dir = tempDir();
    const s = open(dir, { segmentBytes: 1024 });
    await s.load();
    // 52-byte records: 19 to a segment, within one batch and across batches.
    await s.append(entries(1, 100));
    for (let i = 101; i <= 150; i += 10) await s.append(entries(i, i + 9));
    await s.close();
    const files = segmentFiles(dir);
    assert.ok(files.length >= 7, `segments: ${files}`);
    assert.equal(files[0], '00000000000000000001.seg');
    for (const f of files) assert.ok(statSync(segmentPath(dir, f)).size <= 1024);
    const loaded = await open(dir, { segmentBytes: 1024 }).load();
    assert.deepEqual(loaded.entries, entries(1, 150));
  });

  it('an entry larger than a segment gets a segment of its own', async () => {
    const dir = tempDir();
    const s = open(dir, { segmentBytes: 256 });
    await s.load();
    await s.append([entry(1), entry(2, 1, 'normal', 1000), entry(3)]);
    await s.close();
    assert.equal(segmentFiles(dir).length, 3);
    assert.deepEqual((await open(dir).load()).entries, [entry(1), entry(2, 1, 'normal', 1000), entry(3)]);
  });

  it('truncates inside a segment, at a segment start, and everything', async () => {
    const dir = tempDir();
    const s = open(dir, { segmentBytes: 1024 });
    await s.load();
    await s.append(entries(1, 100));
    await s.truncateFrom(50);
    await s.close();
    assert.deepEqual(indexes((await s.load()).entries), range(1, 49));
    // Cut where the third segment starts: on a segment boundary.
    const third = segmentFiles(dir)[2];
    const boundary = Number(third.slice(0, 20));
    await s.truncateFrom(boundary);
    assert.ok(!segmentFiles(dir).includes(third));
    await s.append(entries(boundary, 60, 2));
    await s.truncateFrom(200);
    await s.close();
    const loaded = await s.load();
    assert.deepEqual(loaded.entries, [...entries(1, boundary - 1), ...entries(boundary, 60, 2)]);
    await s.truncateFrom(1);
    await s.append(entries(1, 3, 3));
    await s.close();
    assert.deepEqual((await s.load()).entries, entries(1, 3, 3));
    assert.equal(segmentFiles(dir).length, 1);
  });

  it('truncating at or below the snapshot drops what follows it, nothing it covers', async () => {
    const dir = tempDir();
    const s = open(dir);
    await s.load();
    await s.append(entries(1, 10));
    await s.saveSnapshot({ meta: { lastIndex: 5, lastTerm: 1, peers: [] }, data: Buffer.alloc(0) });
    await s.truncateFrom(2);
    await assert.rejects(s.append([entry(2)]), /entry 2 where 6 comes next/);
    await s.close();
    const loaded = await s.load();
    assert.equal(loaded.damaged, false);
    assert.equal(loaded.snapshot?.meta.lastIndex, 5);
    assert.deepEqual(loaded.entries, []);
    await s.append(entries(6, 7, 2));
    await s.close();
    assert.deepEqual((await s.load()).entries, entries(6, 7, 2));
  });

  it('stores a snapshot, compacts whole segments and keeps the entries after it', async () => {
    const dir = tempDir();
    const s = open(dir, { segmentBytes: 1024 });
    await s.load();
    await s.append(entries(1, 100));
    const before = segmentFiles(dir);
    const snap = { meta: { lastIndex: 60, lastTerm: 1, peers: ['a', 'b', 'c'] }, data: Buffer.from('state at 60') };
    await s.saveSnapshot(snap);
    const after = segmentFiles(dir);
    assert.ok(after.length < before.length);
    // The segment holding 61 stays whole (it starts at or before 61).
    assert.ok(Number(after[0].slice(0, 20)) <= 61 && Number(after[0].slice(0, 20)) > 40, `first segment ${after[0]}`);
    await s.close();
    const loaded = await open(dir, { segmentBytes: 1024 }).load();
    assert.equal(loaded.damaged, false);
    assert.deepEqual(loaded.snapshot, snap);
    assert.deepEqual(loaded.entries, entries(61, 100));
  });

  it('a snapshot past the end of the log drops the log; appends resume after it', async () => {
    const dir = tempDir();
    const s = open(dir, { segmentBytes: 1024 });
    await s.load();
    await s.append(entries(1, 30));
    await s.saveSnapshot({ meta: { lastIndex: 500, lastTerm: 4, peers: ['a'] }, data: Buffer.alloc(0) });
    assert.deepEqual(segmentFiles(dir), []);
    await assert.rejects(s.append([entry(31)]), /entry 31 where 501 comes next/);
    await s.append(entries(501, 510, 4));
    await s.close();
    const loaded = await open(dir).load();
    assert.equal(loaded.damaged, false);
    assert.equal(loaded.snapshot?.meta.lastIndex, 500);
    assert.deepEqual(loaded.entries, entries(501, 510, 4));
    assert.deepEqual(segmentFiles(dir), ['00000000000000000501.seg']);
  });

  it('a later snapshot replaces the earlier one; an older one is ignored', async () => {
    const dir = tempDir();
    const s = open(dir);
    await s.load();
    await s.append(entries(1, 20));
    await s.saveSnapshot({ meta: { lastIndex: 10, lastTerm: 1, peers: ['a'] }, data: Buffer.from('10') });
    await s.saveSnapshot({ meta: { lastIndex: 15, lastTerm: 1, peers: ['a', 'b'] }, data: Buffer.from('15') });
    await s.saveSnapshot({ meta: { lastIndex: 12, lastTerm: 1, peers: ['a'] }, data: Buffer.from('12') });
    await s.close();
    const loaded = await open(dir).load();
    assert.deepEqual(loaded.snapshot?.data.toString(), '15');
    assert.deepEqual(indexes(loaded.entries), range(16, 20));
  });
});

describe('file raft storage: damage on load', () => {
  /** Writes entries 1..n in segments of about `segmentBytes`, then "crashes" (no close, no floor). */
  async function written(n: number, segmentBytes = 1 << 20, floor = false): Promise<string> {
    const dir = tempDir();
    const s = open(dir, { segmentBytes, ...(floor ? {} : noFloor) });
    await s.load();
    await s.append(entries(1, n));
    if (floor) await s.close();
    return dir;
  }

  /** Where entry `index` (20-byte data, so 52-byte records) starts in a single-segment log. */
  const recordAt = (index: number): number => (index - 1) * 52;

  it('a flipped bit in the middle drops the entries from that one on and reports damage', async () => {
    const dir = await written(20);
    const file = segmentPath(dir, segmentFiles(dir)[0]);
    const buf = readFileSync(file);
    buf[recordAt(8) + 40] ^= 0x10;
    writeFileSync(file, buf);
    const loaded = await open(dir).load();
    assert.equal(loaded.damaged, true);
    assert.deepEqual(loaded.entries, entries(1, 7));
    assert.equal(statSync(file).size, recordAt(8), 'the file is cut where the damage starts');
  });

  it('a flipped bit in a length field, an index, a term or a checksum is damage too', async () => {
    for (const [at, what] of [[0, 'length'], [3, 'length high byte'], [5, 'data checksum'], [9, 'index'], [17, 'term'], [24, 'kind'], [30, 'header checksum']] as const) {
      const dir = await written(10);
      const file = segmentPath(dir, segmentFiles(dir)[0]);
      const buf = readFileSync(file);
      buf[recordAt(4) + at] ^= 0x01;
      writeFileSync(file, buf);
      const loaded = await open(dir).load();
      assert.equal(loaded.damaged, true, what);
      assert.deepEqual(indexes(loaded.entries), range(1, 3), what);
    }
  });

  it('a damaged length in the last record is damage, not a torn tail', async () => {
    const dir = await written(10);
    const file = segmentPath(dir, segmentFiles(dir)[0]);
    const buf = readFileSync(file);
    // The record now claims far more bytes than the file holds, as a torn one would.
    buf[recordAt(10) + 2] ^= 0x01;
    writeFileSync(file, buf);
    const loaded = await open(dir).load();
    assert.equal(loaded.damaged, true);
    assert.deepEqual(indexes(loaded.entries), range(1, 9));
  });

  it('damage in an early segment drops every later segment', async () => {
    const dir = await written(100, 1024);
    const files = segmentFiles(dir);
    assert.ok(files.length >= 4);
    const file = segmentPath(dir, files[1]);
    const buf = readFileSync(file);
    buf[buf.length - 5] ^= 0xff;
    writeFileSync(file, buf);
    const loaded = await open(dir, { segmentBytes: 1024 }).load();
    assert.equal(loaded.damaged, true);
    const firstOfSecond = Number(files[1].slice(0, 20));
    const lastKept = Number(files[2].slice(0, 20)) - 2;
    assert.deepEqual(indexes(loaded.entries), range(1, lastKept));
    assert.ok(lastKept > firstOfSecond);
    assert.deepEqual(segmentFiles(dir), files.slice(0, 2));
  });

  it('a torn tail (a partial last record after a crash) is cut quietly', async () => {
    const dir = await written(10);
    const file = segmentPath(dir, segmentFiles(dir)[0]);
    const size = statSync(file).size;
    // Part of entry 11's record, as an interrupted write leaves it: a whole header, then part of one.
    for (const part of [40, 20]) {
      const record = Buffer.alloc(recordBytes(entry(11)));
      encodeLogRecord(entry(11), record, 0);
      appendFileSync(file, record.subarray(0, part));
      const loaded = await open(dir, noFloor).load();
      assert.equal(loaded.damaged, false);
      assert.deepEqual(loaded.entries, entries(1, 10));
      assert.equal(statSync(file).size, size);
    }
  });

  it('zeros past the last record are a torn tail; garbage is damage', async () => {
    const zeros = await written(10);
    const zfile = segmentPath(zeros, segmentFiles(zeros)[0]);
    appendFileSync(zfile, Buffer.alloc(4096));
    const z = await open(zeros).load();
    assert.equal(z.damaged, false);
    assert.deepEqual(indexes(z.entries), range(1, 10));
    assert.equal(statSync(zfile).size, recordAt(11));

    const garbage = await written(10);
    const gfile = segmentPath(garbage, segmentFiles(garbage)[0]);
    appendFileSync(gfile, Buffer.alloc(100, 0xab));
    const g = await open(garbage).load();
    assert.equal(g.damaged, true);
    assert.deepEqual(indexes(g.entries), range(1, 10));
    assert.equal(statSync(gfile).size, recordAt(11));
  });

  it('a cut in the middle of a segment that is not the last is damage', async () => {
    const dir = await written(100, 1024);
    const files = segmentFiles(dir);
    const file = segmentPath(dir, files[0]);
    truncateSync(file, statSync(file).size - 10);
    const loaded = await open(dir).load();
    assert.equal(loaded.damaged, true);
    assert.deepEqual(indexes(loaded.entries), range(1, Number(files[1].slice(0, 20)) - 2));
    assert.deepEqual(segmentFiles(dir), files.slice(0, 1));
  });

  it('a missing segment is a gap: damage', async () => {
    const dir = await written(100, 1024);
    const files = segmentFiles(dir);
    rmSync(segmentPath(dir, files[2]));
    const loaded = await open(dir).load();
    assert.equal(loaded.damaged, true);
    assert.deepEqual(indexes(loaded.entries), range(1, Number(files[2].slice(0, 20)) - 1));
  });

  it('a log cut at a record boundary after its floor was recorded is damage, until it grows past the floor', async () => {
    const dir = await written(20, 1 << 20, true);
    const file = segmentPath(dir, segmentFiles(dir)[0]);
    truncateSync(file, recordAt(15));
    const s = open(dir, noFloor);
    const loaded = await s.load();
    assert.equal(loaded.damaged, true);
    assert.deepEqual(indexes(loaded.entries), range(1, 14));
    // A restart before the node was caught up still knows, and truncating past its end changes nothing.
    await s.saveHardState({ term: 2, vote: null });
    await s.truncateFrom(15);
    await s.close();
    assert.equal((await s.load()).damaged, true);
    await s.append(entries(15, 20, 2));
    await s.close();
    assert.equal((await s.load()).damaged, false);
    // A truncation by the node lowers the floor first: no false alarm.
    await s.truncateFrom(10);
    await s.close();
    const after = await s.load();
    assert.equal(after.damaged, false);
    assert.deepEqual(indexes(after.entries), range(1, 9));
  });

  it('the floor is recorded while appends go on, without a close', async () => {
    const dir = tempDir();
    const s = open(dir, { floorIntervalMs: 20 });
    await s.load();
    await s.append(entries(1, 10));
    const state = join(dir, 'state');
    const deadline = Date.now() + 10_000;
    while (!existsSync(state) || !readFileSync(state).includes('"floor":10')) {
      assert.ok(Date.now() < deadline, 'floor not recorded');
      await new Promise((r) => setTimeout(r, 10));
    }
    truncateSync(segmentPath(dir, segmentFiles(dir)[0]), recordAt(6));
    assert.equal((await open(dir).load()).damaged, true);
  });

  it('a damaged snapshot is reported, set aside and ignored; the log it covered is dropped', async () => {
    const dir = tempDir();
    const s = open(dir, { segmentBytes: 1024 });
    await s.load();
    await s.append(entries(1, 100));
    await s.saveSnapshot({ meta: { lastIndex: 60, lastTerm: 1, peers: ['a'] }, data: Buffer.from('snapshot data') });
    await s.close();
    const file = join(dir, 'snapshot');
    const buf = readFileSync(file);
    buf[buf.length - 8] ^= 0x04;
    writeFileSync(file, buf);
    const loaded = await open(dir).load();
    assert.equal(loaded.damaged, true);
    assert.equal(loaded.snapshot, null);
    // Without the snapshot the log does not start at 1: nothing in it can be used.
    assert.deepEqual(loaded.entries, []);
    assert.ok(existsSync(join(dir, 'snapshot.damaged')));
    assert.ok(!existsSync(file));
  });

  it('a damaged state file is reported; the term falls back to the log, the vote is forgotten', async () => {
    const dir = tempDir();
    const s = open(dir);
    await s.load();
    await s.append([...entries(1, 3, 1), ...entries(4, 5, 7)]);
    await s.saveHardState({ term: 9, vote: 'x' });
    await s.close();
    const file = join(dir, 'state');
    const buf = readFileSync(file);
    buf[6] ^= 0x20;
    writeFileSync(file, buf);
    const loaded = await open(dir).load();
    assert.equal(loaded.damaged, true);
    assert.deepEqual(loaded.hard, { term: 7, vote: null });
    assert.deepEqual(indexes(loaded.entries), range(1, 5));
  });

  it('leftover temporary files and foreign files do not disturb a load', async () => {
    const dir = await written(5, 1 << 20, true);
    writeFileSync(join(dir, 'state.tmp'), 'half written');
    writeFileSync(join(dir, 'snapshot.tmp'), 'half written');
    writeFileSync(join(dir, 'log', 'notes.txt'), 'not a segment');
    const loaded = await open(dir).load();
    assert.equal(loaded.damaged, false);
    assert.deepEqual(indexes(loaded.entries), range(1, 5));
    assert.ok(!existsSync(join(dir, 'state.tmp')));
  });
});

describe('file raft storage: I/O failures', () => {
  it('a failed write rejects that operation and every later one, until closed and loaded again', async () => {
    const dir = tempDir();
    // Five 52-byte records to a segment.
    const s = open(dir, { segmentBytes: 270 });
    await s.load();
    await s.append(entries(1, 4));
    // The next segment's name is taken by a directory: creating it fails (EISDIR), as a full disk would.
    mkdirSync(segmentPath(dir, '00000000000000000006.seg'));
    const failing = s.append(entries(5, 10));
    const after = s.saveHardState({ term: 2, vote: null });
    await assert.rejects(failing, (err: Error & { code?: string }) => {
      assert.match(err.message, /^raft storage .*: cannot append to the log: /);
      assert.equal(err.code, 'EISDIR');
      return true;
    });
    await assert.rejects(after, /cannot append to the log/);
    await assert.rejects(s.append([entry(11)]), /cannot append to the log/);
    await s.close();
    rmSync(segmentPath(dir, '00000000000000000006.seg'), { recursive: true });
    const loaded = await s.load();
    assert.equal(loaded.damaged, false);
    // Entry 5 was written before the roll failed, but never acknowledged: it may or may not be there.
    assert.deepEqual(indexes(loaded.entries).slice(0, 4), range(1, 4));
    await s.append([entry(loaded.entries.length + 1)]);
  });

  it('a hard state that cannot be written rejects', async () => {
    const dir = tempDir();
    const s = open(dir);
    await s.load();
    mkdirSync(join(dir, 'state.tmp'));
    await assert.rejects(s.saveHardState({ term: 1, vote: 'a' }), /cannot save the term and vote/);
    rmSync(join(dir, 'state.tmp'), { recursive: true });
  });

  it('load throws on an unreadable directory instead of reporting damage', async () => {
    const dir = tempDir();
    const file = join(dir, 'not-a-dir');
    writeFileSync(file, 'x');
    await assert.rejects(open(file).load(), /raft storage .*: cannot load: /);
  });
  it('discardLog drops the snapshot and the log, keeps the term and vote, and loads damaged until the log grows back', async () => {
    const dir = tempDir();
    const s = open(dir);
    await s.load();
    await s.saveHardState({ term: 3, vote: 'b' });
    await s.append(entries(1, 40, 3));
    await s.saveSnapshot({ meta: { lastIndex: 30, lastTerm: 3, peers: ['a', 'b', 'c'] }, data: Buffer.from('state at 30') });
    await s.discardLog();
    await s.append(entries(1, 10, 4));
    await s.close();

    const again = open(dir);
    const loaded = await again.load();
    assert.deepEqual(loaded.hard, { term: 3, vote: 'b' });
    assert.equal(loaded.snapshot, null);
    assert.deepEqual(indexes(loaded.entries), range(1, 10));
    assert.equal(loaded.damaged, true, 'shorter than the 40 entries it had reached');
    await again.append(entries(11, 41, 4));
    await again.close();
    const grown = await open(dir).load();
    assert.equal(grown.damaged, false, 'past what it had reached: whole again');
  });
});
