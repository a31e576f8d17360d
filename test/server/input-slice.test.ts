/**
 * Fair shares of the event loop (src/server/input-slice.ts): the turn
 * counter, a connection's input slice, work spread over turns, and a client
 * whose input would hold the server for a long time yielding to others.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { INPUT_SLICE_MS, InputSlice, eventLoopTurn, inNextTurn, inSlices } from '../../src/server/input-slice.js';
import { startNatter } from '../helpers/natter.js';
import { RawSession } from '../helpers/session.js';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // holding the thread on purpose
  }
}

describe('input slices', () => {
  it('counts turns of the event loop, not calls', async () => {
    const t = eventLoopTurn();
    assert.equal(eventLoopTurn(), t, 'the same turn');
    await nextTurn();
    await nextTurn();
    assert.ok(eventLoopTurn() > t, 'a later turn');
  });

  it('a slice is used up after INPUT_SLICE_MS of ops, cheap or expensive', async () => {
    await nextTurn();
    const slice = new InputSlice();
    slice.begin();
    let spent = false;
    for (let i = 0; i < 1000 && !spent; i++) spent = slice.spend();
    assert.equal(spent, false, 'a thousand cheap ops fit in a fresh slice');
    spin(INPUT_SLICE_MS + 1);
    let ops = 0;
    while (!slice.spend()) ops++;
    assert.ok(ops <= 256, `noticed after ${ops} more cheap ops`);

    // Expensive ops (0.2 ms each): the clock is read more often, so the slice ends on time.
    await nextTurn();
    await nextTurn();
    slice.begin();
    const started = performance.now();
    do spin(0.2);
    while (!slice.spend());
    const took = performance.now() - started;
    assert.ok(took >= INPUT_SLICE_MS, `not before the slice is over (${took.toFixed(2)} ms)`);
    assert.ok(took < INPUT_SLICE_MS + 2, `noticed ${(took - INPUT_SLICE_MS).toFixed(2)} ms after the slice was over`);
  });

  it('a new turn brings a new slice, the same turn does not', async () => {
    await nextTurn();
    const slice = new InputSlice();
    slice.begin();
    do spin(0.2);
    while (!slice.spend());
    slice.begin();
    spin(0.3);
    assert.equal(slice.spend(), true, 'still used up in this turn');
    await nextTurn();
    await nextTurn();
    slice.begin();
    assert.equal(slice.spend(), false, 'a new slice');
  });

  it('inNextTurn runs after what the current turn set up', async () => {
    // From an I/O callback (the poll phase), where a setImmediate still runs in this turn.
    const order = await readFile(import.meta.filename ?? new URL(import.meta.url).pathname).then(() => new Promise<Array<[string, number]>>((resolve) => {
      const seen: Array<[string, number]> = [['read', eventLoopTurn()]];
      setImmediate(() => seen.push(['immediate', eventLoopTurn()]));
      inNextTurn(() => {
        seen.push(['next turn', eventLoopTurn()]);
        resolve(seen);
      });
    }));
    assert.deepEqual(order.map(([what]) => what), ['read', 'immediate', 'next turn']);
    assert.ok(order[2][1] > order[1][1], `turns ${order.map(([, t]) => t).join(', ')}`);
  });

  it('inSlices goes through every item, over several turns when they take long', async () => {
    const items = Array.from({ length: 2000 }, (_, i) => i);
    const done: number[] = [];
    const turns = new Set<number>();
    await new Promise<void>((resolve) => {
      inSlices(items.values(), (i) => {
        done.push(i);
        turns.add(eventLoopTurn());
        spin(0.02);
        if (done.length === items.length) resolve();
      });
    });
    assert.deepEqual(done, items);
    // 2000 items of 20 µs are 40 ms: about ten slices.
    assert.ok(turns.size >= 4, `${turns.size} turns`);
  });
});

describe('a client whose input would hold the server', () => {
  it('yields to other clients between slices', async () => {
    const srv = await startNatter();
    const flooder = await RawSession.connect(srv.port);
    const other = await RawSession.connect(srv.port);
    try {
      flooder.send('CONNECT {"verbose":false}\r\n');
      other.send('CONNECT {"verbose":false}\r\n');
      await flooder.sync();
      await other.sync();
      const subs: string[] = [];
      for (let i = 0; i < 200_000; i++) subs.push(`SUB flood.${i}.* ${i}\r\n`);
      const flood = Buffer.from(subs.join(''));
      // The other client PINGs back to back while the flood is being taken in.
      const started = performance.now();
      flooder.send(flood);
      const flooded = flooder.sync(30_000).then(() => performance.now() - started);
      let finished = false;
      void flooded.then(() => (finished = true));
      let worst = 0;
      let pings = 0;
      while (!finished) {
        const t = performance.now();
        await other.sync(30_000);
        worst = Math.max(worst, performance.now() - t);
        pings++;
      }
      const floodMs = await flooded;
      assert.equal(srv.server.globalAccount.sublist.size >= 200_000, true, 'every SUB was taken');
      // Here the server, the flooder and the other client share one thread: the
      // other's PING waits for the flooder's slice, a garbage collection and this
      // thread's own work. Measured: 6-7 ms on average and 28-32 ms at worst; without
      // slices, when it waited for whole reads of the flood, 40 ms on average and 70 ms
      // at worst.
      const mean = floodMs / pings;
      assert.ok(mean < 20, `the other client's PINGs took ${mean.toFixed(1)} ms on average (${pings} during the ${floodMs.toFixed(0)} ms flood)`);
      assert.ok(worst < 100, `the other client's worst PING took ${worst.toFixed(1)} ms`);
    } finally {
      flooder.close();
      other.close();
      await srv.close();
    }
  });
});
