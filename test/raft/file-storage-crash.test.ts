/**
 * The file-backed Raft storage against real process deaths: a child process
 * appends (group-committed, fsynced) under load and is killed with SIGKILL;
 * after a reopen every entry whose append had resolved (and that no
 * truncation dropped) is there, intact, and the load reports no damage (a
 * kill only tears unacknowledged writes).
 * And a child whose file size limit runs out mid-write (EFBIG, the nearest
 * thing to a full disk a test can arrange) sees rejected promises, not a
 * crash, and leaves a log that loads clean.
 *
 * The same file is the child: run with RAFT_STORAGE_CHILD set, it appends
 * and prints `acked <index>` as appends resolve.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openFileRaftStorage } from '../../src/raft/file-storage.js';
import type { LogEntry } from '../../src/raft/types.js';
import { trackChild } from '../helpers/children.js';

const CHILD_ENV = 'RAFT_STORAGE_CHILD';

/** Entry data that names its index: sizes vary from 0 to 400 bytes. */
function payload(index: number): Buffer {
  const data = Buffer.alloc((index * 37) % 401, index % 256);
  if (data.length >= 12) data.write(`<${index}>`, 0);
  return data;
}

/**
 * Appends with up to 64 appends in flight, reporting the highest resolved
 * index, until killed or failed. In `append` mode it also snapshots now and
 * then, and truncates entries still in flight (as a follower drops a
 * conflicting suffix), appending again from there in a higher term.
 */
async function childMain(mode: string, dir: string, round: number): Promise<void> {
  const storage = openFileRaftStorage(dir, { sync: true, segmentBytes: mode === 'efbig' ? 1 << 20 : 64 * 1024, floorIntervalMs: 20 });
  const loaded = await storage.load();
  let next = loaded.entries.length > 0 ? loaded.entries[loaded.entries.length - 1].index + 1 : (loaded.snapshot?.meta.lastIndex ?? 0) + 1;
  const firstOfRound = next;
  let term = round * 1000;
  /** The term of each entry of this round, by index - firstOfRound. */
  const terms: number[] = [];
  /** Where each truncation cut, by the epoch it ended. */
  const truncations: number[] = [];
  let snapshotAt = loaded.snapshot?.meta.lastIndex ?? 0;
  let acked = 0;
  let printScheduled = false;
  const print = (): void => {
    printScheduled = false;
    process.stdout.write(`acked ${acked}\n`);
  };
  await storage.saveHardState({ term, vote: 'self' });
  let failed: Error | null = null;
  await new Promise<void>((resolve) => {
    let inFlight = 0;
    const issue = (): void => {
      if (failed !== null) return;
      const count = 1 + (next % 3);
      const batch: LogEntry[] = [];
      for (let i = 0; i < count; i++, next++) {
        batch.push({ index: next, term, kind: 'normal', data: payload(next) });
        terms[next - firstOfRound] = term;
      }
      const last = next - 1;
      const epoch = truncations.length;
      inFlight++;
      storage.append(batch).then(() => {
        inFlight--;
        // Entries a later truncation dropped were resolved, but are not kept.
        let kept = last;
        for (let e = epoch; e < truncations.length; e++) kept = Math.min(kept, truncations[e] - 1);
        acked = Math.max(acked, kept);
        if (!printScheduled) {
          printScheduled = true;
          setImmediate(print);
        }
        // Now and then a snapshot of this round's entries, compacting the log behind it.
        if (acked - snapshotAt > 3000 && acked - 500 >= firstOfRound) {
          snapshotAt = acked - 500;
          const lastTerm = terms[snapshotAt - firstOfRound];
          void storage.saveSnapshot({ meta: { lastIndex: snapshotAt, lastTerm, peers: ['self'] }, data: Buffer.from(`upto ${snapshotAt}`) }).catch(() => undefined);
        }
        if (mode === 'append' && last % 701 < 3 && next - 20 > acked) {
          const from = next - 20;
          truncations.push(from);
          term++;
          next = from;
          void storage.truncateFrom(from).catch(() => undefined);
        }
        issue();
      }, (err: Error) => {
        inFlight--;
        failed ??= err;
        if (inFlight === 0) resolve();
      });
    };
    for (let i = 0; i < 64; i++) issue();
  });
  const code = (failed as (Error & { code?: string }) | null)?.code ?? 'none';
  process.stdout.write(`acked ${acked}\nfailed ${code} ${failed!.message}\n`);
  const later = await storage.append([{ index: next, term, kind: 'normal', data: payload(next) }]).then(() => 'resolved', (err: Error) => err.message);
  process.stdout.write(`later ${later}\n`);
  await storage.close();
}

interface ChildRun {
  /** The highest index the child reported acknowledged. */
  acked: number;
  output: string;
  exit: Promise<void>;
  kill(): void;
}

function runChild(mode: string, dir: string, term: number, fileLimitBlocks?: number): ChildRun {
  const self = fileURLToPath(import.meta.url);
  const args = [self, mode, dir, String(term)];
  const env = { ...process.env, [CHILD_ENV]: '1' };
  // `ulimit -f` caps the size of any file the child writes: past it writes fail with EFBIG.
  const proc = fileLimitBlocks === undefined
    ? spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('/bin/sh', ['-c', `ulimit -f ${fileLimitBlocks} && exec "$0" "$@"`, process.execPath, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(proc);
  const run: ChildRun = {
    acked: 0,
    output: '',
    exit: new Promise((resolve) => proc.once('close', () => resolve())),
    kill: () => proc.kill('SIGKILL'),
  };
  let partial = '';
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (chunk: string) => {
    run.output += chunk;
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const m = /^acked (\d+)$/.exec(line);
      if (m !== null) run.acked = Math.max(run.acked, Number(m[1]));
    }
  });
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (chunk: string) => {
    run.output += chunk;
  });
  return run;
}

async function waitForAcks(run: ChildRun, atLeast: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (run.acked < atLeast) {
    if (Date.now() > deadline) throw new Error(`child acknowledged only ${run.acked} of ${atLeast} entries in ${timeoutMs} ms:\n${run.output}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Loads `dir` and checks that everything up to `acked` is there, intact. */
async function checkAcked(dir: string, acked: number, what: string): Promise<number> {
  const storage = openFileRaftStorage(dir, { sync: true });
  const loaded = await storage.load();
  await storage.close();
  assert.equal(loaded.damaged, false, `${what}: damaged after a kill`);
  const from = (loaded.snapshot?.meta.lastIndex ?? 0) + 1;
  const last = loaded.entries.length > 0 ? loaded.entries[loaded.entries.length - 1].index : from - 1;
  assert.ok(last >= acked, `${what}: entries up to ${acked} were acknowledged, the log ends at ${last}`);
  loaded.entries.forEach((e, i) => {
    assert.equal(e.index, from + i, `${what}: contiguous`);
    assert.ok(e.data.equals(payload(e.index)), `${what}: entry ${e.index} intact`);
  });
  return last;
}

if (process.env[CHILD_ENV] !== undefined) {
  if (process.argv[2] === 'efbig') {
    // Without a handler the signal that comes with EFBIG would end the process.
    process.on('SIGXFSZ', () => undefined);
  }
  await childMain(process.argv[2], process.argv[3], Number(process.argv[4]));
} else {
  describe('file raft storage under process death', () => {
    const dirs: string[] = [];
    after(() => {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });
    const tempDir = (): string => {
      const d = mkdtempSync(join(tmpdir(), 'natter-raft-crash-'));
      dirs.push(d);
      return d;
    };

    it('every acknowledged append survives SIGKILL, three times over on the same files', async () => {
      const dir = tempDir();
      let acked = 0;
      for (let round = 1; round <= 3; round++) {
        const run = runChild('append', dir, round);
        // Enough for segments to roll and a snapshot to compact; then a kill at a varying moment.
        await waitForAcks(run, acked + 4000 + round * 1500, 60_000);
        await new Promise((r) => setTimeout(r, round * 3));
        run.kill();
        await run.exit;
        acked = Math.max(acked, run.acked);
        const last = await checkAcked(dir, acked, `round ${round}`);
        acked = Math.max(acked, last);
      }
    });

    it('a write failing with EFBIG rejects, stops the storage, and leaves a log that loads clean', async () => {
      const dir = tempDir();
      // 512-byte blocks under POSIX sh: about 100 KB per file.
      const run = runChild('efbig', dir, 1, 200);
      await run.exit;
      const failed = /^failed (\S+) (.*)$/m.exec(run.output);
      assert.ok(failed !== null, `the child saw no failure:\n${run.output}`);
      assert.equal(failed[1], 'EFBIG', run.output);
      assert.match(failed[2], /^raft storage .*: cannot append to the log: /);
      assert.match(run.output, /^later raft storage .*: cannot append to the log: /m);
      assert.ok(run.acked > 100, `acked ${run.acked}`);
      await checkAcked(dir, run.acked, 'after EFBIG');
    });
  });
}
