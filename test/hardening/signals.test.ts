/**
 * Signals while busy (issue #17): SIGTERM, SIGINT and SIGUSR2 (lame duck) act
 * within a second even while an attacker keeps the server computing.
 *
 * Node.js runs signal handlers on the event loop, so these hold only if no
 * computation a client can trigger holds the loop for long: every such
 * computation must run in slices, and the signal is handled between two.
 * The attack is the issue's: one `$JS.API.STREAM.CREATE` with 85,000 subjects
 * (760 KB here, 900 KB in the issue; it once held the loop for over 5
 * minutes, deaf to SIGTERM), kept company by a flood of 12,000-subject
 * creates so the server is busy whatever becomes of the big one (refused by
 * a cap, or computed in slices).
 * The test checks the server really was busy when signalled (its CPU time),
 * so a fast pass cannot come from an idle server.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startCanaryWorld, type CanaryWorld } from './canary.js';
import { sleep, waitUntil } from '../helpers/wait.js';

/**
 * From the signal to its effect. Idle, natter-server exits 10-20 ms after
 * SIGTERM on this machine; the issue asks for "within a second", and a loaded
 * 2-core CI box with other test processes still leaves the server well over
 * half of that second.
 */
const ACT_WITHIN_MS = 1000;
/**
 * The attack must have kept the server at least this busy (CPU seconds per
 * second) just before the signal; idle it uses about 0.01, under this attack
 * 0.5-1.2 on this machine, less on a CI box shared with other processes.
 */
const MIN_BUSY = 0.2;
/** How long the attack runs before the signal, so the big request is being worked on. */
const ATTACK_LEAD_MS = 500;

const BIG_SUBJECTS = 85_000;
const FLOOD_SUBJECTS = 12_000;
/** Flood requests kept in flight at once. */
const FLOOD_DEPTH = 8;

/** User plus system CPU time of a process, in seconds (Linux /proc; clock ticks of 10 ms). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A stream create request; subjects are short (`<prefix>.<base-36 number>`) so 85,000 of them fit in max_payload. */
function streamCreate(name: string, subjects: number, prefix: string): Uint8Array {
  const config = { name, storage: 'memory', subjects: Array.from({ length: subjects }, (_, i) => `${prefix}.${i.toString(36)}`) };
  const body = new TextEncoder().encode(JSON.stringify(config));
  // The client refuses to send more than max_payload (1 MB by default): a request it never sent proves nothing.
  assert.ok(body.length < 1024 * 1024, `a ${body.length}-byte request`);
  return body;
}

/** The attacker's load; stop() ends the flood. Answers (or their absence) do not matter here. */
function attack(nc: NatsConnection): { stop(): void } {
  let flooding = true;
  const flood = streamCreate('FLOOD', FLOOD_SUBJECTS, 'f');
  const again = (): void => {
    if (!flooding || nc.isClosed()) return;
    nc.request('$JS.API.STREAM.CREATE.FLOOD', flood, { timeout: 60_000 }).then(again, again);
  };
  nc.request('$JS.API.STREAM.CREATE.BIG', streamCreate('BIG', BIG_SUBJECTS, 'b'), { timeout: 60_000 }).catch(() => undefined);
  for (let i = 0; i < FLOOD_DEPTH; i++) again();
  return { stop: () => (flooding = false) };
}

/** Starts the attack, lets it run, and returns how busy the server was just before the caller signals it. */
async function attackThenMeasure(world: CanaryWorld, nc: NatsConnection): Promise<{ busy: number; stop(): void }> {
  const load = attack(nc);
  await sleep(ATTACK_LEAD_MS / 2);
  const cpu0 = cpuSeconds(world.pid);
  const t0 = performance.now();
  await sleep(ATTACK_LEAD_MS / 2);
  const busy = (cpuSeconds(world.pid) - cpu0) / ((performance.now() - t0) / 1000);
  return { busy, stop: load.stop };
}

/** Resolves with how long after `since` the server exited, or ACT_WITHIN_MS * 10 if it did not by then. */
async function exitDelay(world: CanaryWorld, since: number): Promise<number> {
  const cli = world.cli as NonNullable<CanaryWorld['cli']>;
  const give = sleep(ACT_WITHIN_MS * 10).then(() => ACT_WITHIN_MS * 10);
  return Promise.race([cli.exited.then(() => performance.now() - since), give]);
}

function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

describe('signals while an attacker keeps the server busy', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} ends the server within ${ACT_WITHIN_MS} ms`, async (t) => {
      const world = await startCanaryWorld({ where: 'cli' });
      const nc = await connect(world.attackerOptions());
      try {
        const load = await attackThenMeasure(world, nc);
        assert.ok(load.busy >= MIN_BUSY, `the attack kept the server only ${load.busy.toFixed(2)} CPU busy: nothing to prove`);
        const sent = performance.now();
        world.cli?.proc.kill(signal);
        const took = await exitDelay(world, sent);
        load.stop();
        t.diagnostic(`${signal}: server ${load.busy.toFixed(2)} CPU busy, exited ${took.toFixed(0)} ms after the signal`);
        assert.ok(took < ACT_WITHIN_MS, `${signal} while busy (${load.busy.toFixed(2)} CPU): exit after ${took.toFixed(0)} ms`);
        assert.deepEqual(await world.cli?.exited, { code: 0, signal: null }, 'a graceful exit, as on an idle server');
      } finally {
        await nc.close().catch(() => undefined);
        await world.close();
      }
    });
  }

  it(`SIGUSR2 enters lame duck mode within ${ACT_WITHIN_MS} ms`, async (t) => {
    const world = await startCanaryWorld({ where: 'cli' });
    const nc = await connect(world.attackerOptions());
    try {
      const load = await attackThenMeasure(world, nc);
      assert.ok(load.busy >= MIN_BUSY, `the attack kept the server only ${load.busy.toFixed(2)} CPU busy: nothing to prove`);
      const sent = performance.now();
      world.cli?.proc.kill('SIGUSR2');
      // Lame duck mode starts by closing the client listener (and saying so).
      await waitUntil(async () => await refusesConnections(world.port), ACT_WITHIN_MS * 10, 'the listener to close', 10);
      const took = performance.now() - sent;
      load.stop();
      t.diagnostic(`SIGUSR2: server ${load.busy.toFixed(2)} CPU busy, listener closed ${took.toFixed(0)} ms after the signal`);
      assert.ok(took < ACT_WITHIN_MS, `SIGUSR2 while busy (${load.busy.toFixed(2)} CPU): listener closed after ${took.toFixed(0)} ms`);
      // The log line is written at the end of the event-loop turn that closed the listener.
      await world.cli?.waitForOutput(/Entering lame duck mode, stop accepting new clients/, ACT_WITHIN_MS);
      // SIGINT still ends a server in lame duck mode at once.
      const quit = performance.now();
      world.cli?.proc.kill('SIGINT');
      const exited = await exitDelay(world, quit);
      assert.ok(exited < ACT_WITHIN_MS, `SIGINT in lame duck mode: exit after ${exited.toFixed(0)} ms`);
    } finally {
      await nc.close().catch(() => undefined);
      await world.close();
    }
  });
});
