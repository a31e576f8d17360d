/**
 * Storage faults on one replica: a follower is shut down, one of its
 * stream's message block files (`*.blk` under `.../E2E/msgs/`, the layout
 * both servers use) is damaged, and it is started again while the load
 * goes on. Two kinds of damage: one bit flipped in the middle of the
 * largest block, and the largest block truncated to half its length.
 * The damaged replica must notice (checksums), must not lead with the
 * damaged or shorter log, and must end up repaired from its peers: the
 * history check reads every replica, this one included, at the end.
 * While it repairs, the test records whether it was ever the stream leader
 * with fewer messages than the others (reported as a failure).
 */
import { describe, it } from 'node:test';
import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { faultRun, STREAM, type FaultRun } from './scenario.js';
import { e2eServerKind } from './cluster-harness.js';
import { localState, streamLeader } from './replicas.js';
import { sleep } from '../helpers/wait.js';

/** The stream's message block files under a node's store directory, largest first. */
function blockFiles(storeDir: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.blk') && p.includes(`/${STREAM}/msgs/`)) out.push(p);
    }
  };
  walk(storeDir);
  return out.sort((a, b) => statSync(b).size - statSync(a).size);
}

type Damage = 'bit flip' | 'truncation';

function damage(file: string, kind: Damage): string {
  const size = statSync(file).size;
  if (kind === 'truncation') {
    truncateSync(file, Math.floor(size / 2));
    return `truncated ${file} from ${size} to ${Math.floor(size / 2)} bytes`;
  }
  const buf = readFileSync(file);
  const at = Math.floor(size / 2);
  buf[at] ^= 0x10;
  writeFileSync(file, buf);
  return `flipped bit 4 of byte ${at} of ${file} (${size} bytes)`;
}

async function damagedReplicaRun(run: FaultRun, kind: Damage): Promise<void> {
  const leader = await run.leader();
  const victim = (leader + 1) % run.c.size;
  const name = run.c.nodes[victim].name;
  await run.c.shutdown(victim);
  const files = blockFiles(run.c.nodes[victim].storeDir);
  if (files.length === 0) throw new Error(`no message block of ${STREAM} under ${run.c.nodes[victim].storeDir}`);
  run.note(`${name}: ${damage(files[0], kind)}`);
  await run.c.restart(victim);
  // Watch who leads while the damaged replica repairs; make it likely to be asked to lead by stepping the leader down.
  const until = performance.now() + 8000;
  let ledShort = '';
  let stepdowns = 0;
  while (performance.now() < until) {
    const now = await streamLeader(run.jsm, STREAM, 10_000).catch(() => '');
    if (now === name) {
      const views = await Promise.all(run.c.nodes.map((_, i) => localState(run.c, i, STREAM)));
      const mine = views[victim];
      const best = Math.max(...views.map((v) => v?.lastSeq ?? 0));
      if (mine !== null && mine.lastSeq + 1000 < best && ledShort === '') ledShort = `${name} led with last_seq ${mine.lastSeq} while a peer had ${best}`;
    } else if (stepdowns < 3) {
      stepdowns++;
      await run.nc.request(`$JS.API.STREAM.LEADER.STEPDOWN.${STREAM}`, undefined, { timeout: 5000 }).catch(() => undefined);
    }
    await sleep(250);
  }
  run.note(`${stepdowns} stepdowns while ${name} repaired; ${ledShort === '' ? 'it never led while clearly behind' : ledShort}`);
  await run.progress(500, 30_000);
  if (ledShort !== '') throw new Error(ledShort);
}

describe(`e2e (${e2eServerKind()}): a damaged replica`, () => {
  for (const kind of ['bit flip', 'truncation'] as const) {
    it(`detects a ${kind} in a stopped replica's block and repairs from its peers`, { timeout: 90_000 }, async (t) => {
      await faultRun(t, { warmupAcks: 6000 }, (run) => damagedReplicaRun(run, kind));
    });
  }
});
