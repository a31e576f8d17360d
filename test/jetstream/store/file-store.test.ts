import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileStore, type FileStoreOptions } from '../../../src/jetstream/store/file-store.js';
import { fileStoreMsgSize } from '../../../src/jetstream/store/msg-size.js';
import { LogCapture } from '../../helpers/log-capture.js';
import { trackChild } from '../../helpers/children.js';
import { crashPayload, crashSubject } from './fixtures/crash-payload.js';
import { defineStoreSuite, limitsWith, unlimited } from './store-suite.js';
import { StoreError, type StoreLimits, type StreamStore } from '../../../src/jetstream/store/types.js';
import { waitUntil } from '../../helpers/wait.js';

const root = mkdtempSync(join(tmpdir(), 'natter-filestore-'));
let dirs = 0;
const freshDir = (): string => join(root, `s${++dirs}`);
after(() => rmSync(root, { recursive: true, force: true }));

const dirOf = new WeakMap<StreamStore, string>();
defineStoreSuite('file', {
  open: (limits, firstSeq) => {
    const dir = freshDir();
    const st = FileStore.open(dir, limits, { sync: 25, firstSeq, blockSize: 4096 });
    dirOf.set(st, dir);
    return st;
  },
  size: fileStoreMsgSize,
  reopen: async (st, limits) => {
    await st.stop();
    const dir = dirOf.get(st) as string;
    const again = FileStore.open(dir, limits, { sync: 25, blockSize: 4096 });
    dirOf.set(again, dir);
    return again;
  },
});

const durable = (st: StreamStore): Promise<Error | null> => new Promise((resolve) => st.whenDurable(resolve));

function blockFiles(dir: string): string[] {
  return readdirSync(join(dir, 'msgs')).filter((n) => n.endsWith('.blk')).sort();
}

/** Everything a reader can observe, for comparing a store before and after reopening. */
function snapshot(st: StreamStore): unknown {
  const msgs: unknown[] = [];
  for (let m = st.loadNextMsg(null, 0); m !== null; m = st.loadNextMsg(null, m.seq + 1)) {
    msgs.push([m.seq, m.subject, m.hdr?.toString('latin1') ?? null, m.data.toString('latin1'), m.ts]);
  }
  return {
    state: st.state(), deleted: st.deletedSeqs(), subjects: [...st.subjectsState('>')].sort(),
    last: st.lastSeqsPerSubject(null, 0), msgs,
  };
}

function openAt(dir: string, opts: Partial<FileStoreOptions> = {}, limits: StoreLimits = unlimited): FileStore {
  return FileStore.open(dir, limits, { sync: 25, ...opts });
}

test('file: reopen restores messages, deletes, purges, skips, gaps and subject index across blocks', async () => {
  const dir = freshDir();
  const st = openAt(dir, { blockSize: 2048, cacheBytes: 1024 });
  const hdr = Buffer.from('NATS/1.0\r\nX: y\r\n\r\n');
  for (let i = 1; i <= 200; i++) st.storeMsg(`ev.${i % 5}`, i % 3 === 0 ? hdr : null, Buffer.from(`data-${i}`));
  st.removeMsg(7);
  st.removeMsg(1);
  st.eraseMsg(50);
  st.purge({ subject: 'ev.3', keep: 4 });
  st.skipMsg();
  st.storeMsgAt(210, 'ev.late', null, Buffer.from('late'), 1_700_000_000_000.5);
  st.compact(20);
  st.storeMsg('ev.0', Buffer.alloc(0), Buffer.from('empty header'));
  // Larger than a block: it gets one of its own.
  const big = st.storeMsg('ev.big', null, Buffer.alloc(100_000, 0x42)).seq;
  st.storeMsg('ev.after', null, Buffer.from('after big'));
  assert.ok(blockFiles(dir).length > 3, 'several blocks');
  const before = snapshot(st);
  await st.stop();
  const again = openAt(dir, { blockSize: 2048 });
  assert.deepEqual(snapshot(again), before);
  assert.deepEqual(again.loadMsg(211)?.hdr, Buffer.alloc(0));
  assert.deepEqual(again.loadMsg(big)?.data, Buffer.alloc(100_000, 0x42));
  assert.equal(again.storeMsg('ev.1', null, Buffer.from('next')).seq, 214);
  await again.stop();
});

test('file: purge and limits delete whole blocks from the front; an empty store keeps its sequence', async () => {
  const dir = freshDir();
  const st = openAt(dir, { blockSize: 1024 });
  for (let i = 0; i < 300; i++) st.storeMsg('a', null, Buffer.alloc(50, 1));
  await durable(st);
  assert.ok(blockFiles(dir).length >= 10);
  st.updateLimits(limitsWith({ maxMsgs: 10 }));
  assert.ok(blockFiles(dir).length <= 3, `blocks left: ${blockFiles(dir).length}`);
  st.purge();
  assert.equal(blockFiles(dir).length, 1);
  await st.stop();
  const again = openAt(dir);
  assert.deepEqual([again.state().msgs, again.state().firstSeq, again.state().lastSeq], [0, 301, 300]);
  assert.equal(again.storeMsg('a', null, Buffer.from('x')).seq, 301);
  await again.stop();
});

test('file: emptied blocks behind a live one are deleted too (KV updates), and nothing comes back', async () => {
  const dir = freshDir();
  const kv = limitsWith({ maxMsgsPerSubject: 1 });
  const st = openAt(dir, { blockSize: 1024 }, kv);
  st.storeMsg('kv.keep', null, Buffer.from('forever'));
  st.storeMsg('kv.mid', null, Buffer.from('v0'));
  for (let i = 1; i <= 2000; i++) {
    st.storeMsg('kv.hot', null, Buffer.from(`v${i}-${'h'.repeat(20)}`));
    // An interior delete whose tombstone lands in a block that is emptied later.
    if (i === 30) st.removeMsg(2);
  }
  await durable(st);
  assert.ok(blockFiles(dir).length <= 4, `blocks: ${blockFiles(dir).join(' ')}`);
  const before = snapshot(st);
  await st.stop();
  const again = openAt(dir, { blockSize: 1024 }, kv);
  assert.deepEqual(snapshot(again), before);
  assert.deepEqual(again.subjectsState('>'), new Map([['kv.keep', 1], ['kv.hot', 1]]));
  assert.equal(again.loadMsg(2), null);
  await again.stop();
});

test('file: a new store with first_seq keeps it across a reopen; compact past the end too', async () => {
  const dir = freshDir();
  const st = openAt(dir, { firstSeq: 100 });
  await st.stop();
  const again = openAt(dir, { firstSeq: 1 });
  assert.deepEqual([again.state().firstSeq, again.state().lastSeq], [100, 99]);
  again.compact(500);
  await again.stop();
  const third = openAt(dir);
  assert.deepEqual([third.state().firstSeq, third.state().lastSeq], [500, 499]);
  await third.stop();
});

test('file: a torn tail is cut at the last whole record and logged; the store keeps appending', async () => {
  const dir = freshDir();
  const st = openAt(dir);
  for (let i = 1; i <= 20; i++) st.storeMsg('t', null, Buffer.from(`msg-${i}-${'p'.repeat(40)}`));
  await st.stop();
  const file = join(dir, 'msgs', blockFiles(dir)[0]);
  const full = statSync(file).size;
  truncateSync(file, full - 30);
  const log = new LogCapture();
  const again = openAt(dir, { logger: log });
  assert.deepEqual([again.state().msgs, again.state().lastSeq], [19, 19]);
  assert.equal(again.loadMsg(19)?.data.toString(), `msg-19-${'p'.repeat(40)}`);
  assert.ok(log.lines.some((l) => l.startsWith('[WRN]') && l.includes('torn record')), log.lines.join('\n'));
  assert.equal(again.storeMsg('t', null, Buffer.from('after')).seq, 20);
  await again.stop();
  const third = openAt(dir, { logger: log });
  assert.equal(third.loadMsg(20)?.data.toString(), 'after');
  assert.equal(third.state().msgs, 20);
  await third.stop();
});

test('file: a corrupt byte mid-block is detected and logged; the rest of the stream is served', async () => {
  const dir = freshDir();
  const st = openAt(dir, { blockSize: 4096 });
  for (let i = 1; i <= 100; i++) st.storeMsg(`c.${i}`, null, Buffer.from(`value-${i}-${'z'.repeat(60)}`));
  const victim = 10;
  await st.stop();
  const blocks = blockFiles(dir);
  assert.ok(blocks.length >= 3);
  // Flip one payload byte of the 10th message (first block) and of a message in the middle of the last block.
  const first = join(dir, 'msgs', blocks[0]);
  const bytes = readFileSync(first);
  const at = bytes.indexOf(`value-${victim}-`);
  const fd = openSync(first, 'r+');
  writeSync(fd, Buffer.from('#'), 0, 1, at + 3);
  closeSync(fd);
  const lastFile = join(dir, 'msgs', blocks[blocks.length - 1]);
  const lastBytes = readFileSync(lastFile);
  const at2 = lastBytes.indexOf('value-', Math.floor(lastBytes.length / 2));
  const fd2 = openSync(lastFile, 'r+');
  writeSync(fd2, Buffer.from('#'), 0, 1, at2 + 2);
  closeSync(fd2);
  const brokenSeq = Number(/value-(\d+)-/.exec(lastBytes.subarray(at2).toString('latin1'))?.[1]);

  const log = new LogCapture();
  const again = openAt(dir, { blockSize: 4096, logger: log });
  assert.equal(log.lines.filter((l) => l.startsWith('[ERR]') && l.includes('corrupt record')).length, 2, log.lines.join('\n'));
  assert.equal(again.loadMsg(victim - 1)?.data.toString(), `value-${victim - 1}-${'z'.repeat(60)}`);
  assert.equal(again.loadMsg(victim), null);
  // The second block is whole.
  const secondBlockSeq = again.loadNextMsg(null, victim)?.seq ?? 0;
  assert.ok(secondBlockSeq > victim);
  assert.equal(again.loadMsg(secondBlockSeq)?.subject, `c.${secondBlockSeq}`);
  assert.equal(again.loadMsg(brokenSeq - 1)?.subject, `c.${brokenSeq - 1}`);
  assert.equal(again.loadMsg(brokenSeq), null);
  assert.equal(again.state().lastSeq, brokenSeq - 1);
  // New messages go to a fresh block, so the damaged one is never appended after its bad record.
  const next = again.storeMsg('c.new', null, Buffer.from('new')).seq;
  await again.stop();
  assert.equal(blockFiles(dir).length, blocks.length + 1);
  const third = openAt(dir, { blockSize: 4096, logger: new LogCapture() });
  assert.equal(third.loadMsg(next)?.data.toString(), 'new');
  await third.stop();
});

test('file: a record corrupted on disk while open is logged, dropped, and skipped by loadNextMsg', async () => {
  const dir = freshDir();
  const log = new LogCapture();
  const removed: number[] = [];
  const st = openAt(dir, { cacheBytes: 0, logger: log });
  st.setRemovalListener((seq) => removed.push(seq));
  for (let i = 1; i <= 5; i++) st.storeMsg('x', null, Buffer.from(`payload-${i}`));
  await durable(st);
  const file = join(dir, 'msgs', blockFiles(dir)[0]);
  const at = readFileSync(file).indexOf('payload-3');
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.from('P'), 0, 1, at);
  closeSync(fd);
  assert.equal(st.loadNextMsg(['x'], 3)?.seq, 4);
  assert.deepEqual(removed, [3]);
  assert.ok(log.lines.some((l) => l.startsWith('[ERR]') && l.includes('seq 3') && l.includes('corrupt')), log.lines.join('\n'));
  assert.equal(st.state().msgs, 4);
  assert.equal(st.loadPrevMsg(null, 3)?.seq, 2);
  await st.stop();
});

test('file: eraseMsg overwrites the payload on disk; loads beyond the cache read the block', async () => {
  const dir = freshDir();
  const st = openAt(dir, { cacheBytes: 512 });
  for (let i = 1; i <= 50; i++) st.storeMsg('e', null, Buffer.from(`secret-${i}-${'s'.repeat(30)}`));
  await durable(st);
  assert.equal(st.eraseMsg(3), true);
  await durable(st);
  assert.equal(readFileSync(join(dir, 'msgs', blockFiles(dir)[0])).indexOf('secret-3-'), -1);
  assert.equal(st.loadMsg(2)?.data.toString(), `secret-2-${'s'.repeat(30)}`);
  assert.equal(st.loadMsg(3), null);
  await st.stop();
  const again = openAt(dir);
  assert.equal(again.loadMsg(3), null);
  assert.equal(again.state().msgs, 49);
  await again.stop();
});

test('file: random-order loads across many blocks (descriptors opened on demand)', async () => {
  const dir = freshDir();
  const st = openAt(dir, { blockSize: 1024, cacheBytes: 0 });
  for (let i = 1; i <= 400; i++) st.storeMsg(`r.${i % 9}`, null, Buffer.from(`body-${i}-${'q'.repeat(i % 50)}`));
  await st.stop();
  const again = openAt(dir, { blockSize: 1024, cacheBytes: 0 });
  assert.ok(blockFiles(dir).length > 20, `blocks: ${blockFiles(dir).length}`);
  const order = Array.from({ length: 400 }, (_, i) => ((i * 211) % 400) + 1);
  for (const seq of [...order, ...order.reverse()]) {
    const m = again.loadMsg(seq);
    assert.equal(m?.data.toString(), `body-${seq}-${'q'.repeat(seq % 50)}`);
    assert.equal(m?.subject, `r.${seq % 9}`);
  }
  await again.stop();
});

test('file: messages past max_age are removed when the store reopens', async () => {
  const dir = freshDir();
  const st = openAt(dir);
  st.storeMsg('old', null, Buffer.from('1'), Date.now() - 60_000);
  st.storeMsg('new', null, Buffer.from('2'));
  await st.stop();
  const again = openAt(dir, {}, limitsWith({ maxAgeMs: 30_000 }));
  assert.deepEqual([again.state().msgs, again.state().firstSeq], [1, 2]);
  await again.stop();
});

test('file: whenDurable under sync always confirms only what is in the file', async () => {
  const dir = freshDir();
  const st = openAt(dir, { sync: 'always' });
  const acked: number[] = [];
  for (let i = 0; i < 5; i++) {
    const { seq } = st.storeMsg('d', null, Buffer.from(`x${i}`));
    st.whenDurable((err) => {
      assert.equal(err, null);
      acked.push(seq);
      assert.ok(readFileSync(join(dir, 'msgs', blockFiles(dir)[0])).includes(`x${i}`));
    });
  }
  assert.deepEqual(acked, []);
  await durable(st);
  assert.deepEqual(acked, [1, 2, 3, 4, 5]);
  await st.stop();
});

test('file: consumer config and state persist; state writes are coalesced', async () => {
  const dir = freshDir();
  const st = openAt(dir);
  const cs = st.consumerStore('worker');
  cs.saveConfig({ durable_name: 'worker' }, 42);
  for (let i = 1; i <= 100; i++) {
    cs.update({
      delivered: { consumerSeq: i, streamSeq: i + 10 }, ackFloor: { consumerSeq: i - 1, streamSeq: i + 9 },
      pending: new Map([[i + 10, { consumerSeq: i, ts: 1000 + i }]]), redelivered: new Map([[i + 10, 2]]),
    });
  }
  const stateFile = join(dir, 'obs', 'worker', 'state.json');
  assert.throws(() => readFileSync(stateFile), /ENOENT/);
  // Written off the loop after this turn, once, with the last state.
  await waitUntil(() => {
    try {
      readFileSync(stateFile);
      return true;
    } catch {
      return false;
    }
  }, 5000, 'state.json written');
  const written = JSON.parse(readFileSync(stateFile, 'utf8')) as { delivered: unknown };
  assert.deepEqual(written.delivered, { consumer_seq: 100, stream_seq: 110 });
  assert.throws(() => st.consumerStore('../x'), RangeError);
  await st.stop();
  const again = openAt(dir);
  assert.deepEqual(again.consumerNames(), ['worker']);
  const cs2 = again.consumerStore('worker');
  assert.deepEqual(cs2.loadConfig(), { config: { durable_name: 'worker' }, created: 42 });
  assert.deepEqual(cs2.load(), {
    delivered: { consumerSeq: 100, streamSeq: 110 }, ackFloor: { consumerSeq: 99, streamSeq: 109 },
    pending: new Map([[110, { consumerSeq: 100, ts: 1100 }]]), redelivered: new Map([[110, 2]]),
  });
  await cs2.delete();
  assert.deepEqual(again.consumerNames(), []);
  await again.delete();
  assert.throws(() => readdirSync(join(dir, 'msgs')), /ENOENT/);
});

test('file: a full disk fails the batch with "insufficient resources", refuses new messages, then recovers', async (t) => {
  const mnt = freshDir();
  mkdirSync(mnt);
  if (process.getuid?.() !== 0) {
    // Mounting needs root; as root (CI) the mount must work, so the test cannot pass by not running.
    t.skip('needs root to mount a small tmpfs');
    return;
  }
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt], { stdio: 'ignore' });
  const log = new LogCapture();
  const st = openAt(join(mnt, 's'), { sync: 'always', blockSize: 32 * 1024, logger: log });
  try {
    const removed: number[] = [];
    st.setRemovalListener((seq) => removed.push(seq));
    const payload = Buffer.alloc(1000, 7);
    let failure: Error | null = null;
    let confirmedUpTo = 0;
    while (failure === null) {
      let last = 0;
      try {
        for (let i = 0; i < 20; i++) last = st.storeMsg('fill', null, payload).seq;
      } catch (err) {
        failure = err as Error;
        break;
      }
      failure = await durable(st);
      if (failure === null) confirmedUpTo = last;
    }
    assert.ok(failure instanceof StoreError, String(failure));
    assert.equal(failure.kind, 'storage_full');
    assert.equal(failure.message, 'insufficient resources');
    assert.ok(confirmedUpTo > 100);
    assert.ok(log.lines.some((l) => l.startsWith('[ERR]') && l.includes('ENOSPC')));
    // The messages of the failed batch are gone and the listener heard of them; new ones are refused at once.
    assert.ok(removed.length > 0 && removed.every((seq) => seq > confirmedUpTo && st.loadMsg(seq) === null));
    assert.throws(() => st.storeMsg('fill', null, payload), (err: unknown) => err instanceof StoreError && err.kind === 'storage_full');
    assert.deepEqual(st.loadMsg(confirmedUpTo)?.data, payload);
    // Freeing space (whole blocks go) lets writes through again once the store retries.
    st.purge({ seq: confirmedUpTo - 20 });
    await waitUntil(() => {
      try {
        st.storeMsg('fill', null, Buffer.from('ok'));
        return true;
      } catch {
        return false;
      }
    }, 5000, 'writes accepted again', 50);
    assert.equal(await durable(st), null);
    await st.stop();
    const again = openAt(join(mnt, 's'), { logger: log });
    assert.deepEqual(again.loadMsg(confirmedUpTo)?.data, payload);
    assert.equal(again.loadMsg(again.state().lastSeq)?.data.toString(), 'ok');
    await again.stop();
  } finally {
    await st.stop();
    execFileSync('umount', [mnt]);
  }
});

test('file: consumer state is read when written; a burst of updates is one write; a durability waiter writes at once', async () => {
  const dir = freshDir();
  const st = openAt(dir);
  const cs = st.consumerStore('live');
  cs.saveConfig({ durable_name: 'live' }, 1);
  let seq = 0;
  let reads = 0;
  // The consumer's live view: each write reads it once.
  const view = {
    get delivered() {
      reads++;
      return { consumerSeq: seq, streamSeq: seq };
    },
    ackFloor: { consumerSeq: 0, streamSeq: 0 },
    pending: new Map<number, { consumerSeq: number; ts: number }>(),
    redelivered: new Map<number, number>(),
  };
  for (seq = 1; seq <= 100; seq++) cs.update(view);
  seq = 500;
  assert.equal(reads, 0, 'nothing is read before the write');
  const stateFile = join(dir, 'obs', 'live', 'state.json');
  await waitUntil(() => reads > 0, 5000, 'state written');
  await new Promise<Error | null>((resolve) => cs.whenDurable(resolve));
  assert.equal(reads, 1, 'one write for the burst');
  assert.deepEqual((JSON.parse(readFileSync(stateFile, 'utf8')) as { delivered: unknown }).delivered, { consumer_seq: 500, stream_seq: 500 });
  seq = 501;
  cs.update(view);
  const durable = new Promise<Error | null>((resolve) => cs.whenDurable(resolve));
  assert.equal(reads, 2, 'a durability waiter starts the write without the delay');
  assert.equal(await durable, null);
  assert.deepEqual((JSON.parse(readFileSync(stateFile, 'utf8')) as { delivered: unknown }).delivered, { consumer_seq: 501, stream_seq: 501 });
  await st.stop();
});

test('file: consumer state updated across turns while writes are in flight; stop writes the last one', async () => {
  const dir = freshDir();
  const st = openAt(dir, { sync: 'always' });
  const cs = st.consumerStore('c1');
  cs.saveConfig({ durable_name: 'c1' }, 1);
  const stateAt = (n: number) => ({
    delivered: { consumerSeq: n, streamSeq: n }, ackFloor: { consumerSeq: n, streamSeq: n },
    pending: new Map<number, { consumerSeq: number; ts: number }>(), redelivered: new Map<number, number>(),
  });
  for (let n = 1; n <= 30; n++) {
    cs.update(stateAt(n));
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal(cs.load()?.delivered.streamSeq, 30);
  await st.stop();
  const again = openAt(dir);
  assert.equal(again.consumerStore('c1').load()?.delivered.streamSeq, 30);
  await again.stop();
});

for (const sync of ['always', '50'] as const) {
  test(`file: kill -9 mid-stream loses no confirmed message (sync ${sync})`, async () => {
    const dir = freshDir();
    const script = fileURLToPath(new URL('./fixtures/crash-writer.js', import.meta.url));
    const child = spawn(process.execPath, [script, dir, sync, '65536'], { stdio: ['ignore', 'pipe', 'inherit'] });
    trackChild(child);
    const confirmed: number[] = [];
    let buf = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        buf += chunk;
        const lines = buf.split('\n');
        buf = lines.pop() ?? '';
        for (const l of lines) confirmed.push(Number(l));
        if (confirmed.length >= 3000 && child.exitCode === null && !child.killed) {
          child.kill('SIGKILL');
        }
      });
      child.once('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`writer exited ${code}`))));
    });
    const log = new LogCapture();
    const st = openAt(dir, { logger: log });
    try {
      assert.ok(confirmed.length >= 3000);
      for (const seq of confirmed) {
        const m = st.loadMsg(seq);
        assert.ok(m, `confirmed seq ${seq} is missing`);
        assert.equal(m.subject, crashSubject(seq));
        assert.deepEqual(m.data, crashPayload(seq));
      }
      assert.ok(st.state().lastSeq >= confirmed[confirmed.length - 1]);
      // Whatever the kill left unconfirmed is either whole or cut off, never served damaged.
      for (let seq = confirmed[confirmed.length - 1] + 1; seq <= st.state().lastSeq; seq++) {
        assert.deepEqual(st.loadMsg(seq)?.data, crashPayload(seq));
      }
    } finally {
      await st.stop();
    }
  });
}

