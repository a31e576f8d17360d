/**
 * Crash safety: a Natter process is killed with SIGKILL in the middle of
 * publish and ack load; after a restart on the same store directory every
 * acknowledged message is there with its data, and no message whose ack the
 * server confirmed (double ack) is delivered again.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { startNatterProcess, type NatterProcess } from '../../helpers/natter-process.js';
import { freePort } from '../../helpers/ports.js';
import { sleep } from '../../helpers/wait.js';

const STREAM = 'CRASH';
const CONSUMER = 'C';

interface LoadResult {
  /** Stream sequence → payload, for every publish the server acknowledged. */
  acked: Map<number, string>;
  /** Stream sequences whose ack the server confirmed. */
  confirmed: Set<number>;
}

/** Publishes and consumes until the process is killed; returns what the server confirmed. */
async function loadUntilKilled(proc: NatterProcess, port: number, killAfterMs: number): Promise<LoadResult> {
  const nc = await connect({ servers: `127.0.0.1:${port}`, reconnect: false });
  const js = jetstream(nc);
  const acked = new Map<number, string>();
  const confirmed = new Set<number>();
  let dead = false;
  const publisher = (async () => {
    for (let i = 0; !dead; i += 32) {
      const batch = Array.from({ length: 32 }, (_, k) => {
        const body = `m-${i + k}-${'x'.repeat((i + k) % 200)}`;
        return js.publish(`crash.${(i + k) % 7}`, body, { msgID: `id-${i + k}` }).then(
          (pa) => acked.set(pa.seq, body),
          () => undefined,
        );
      });
      await Promise.all(batch);
    }
  })();
  const consumer = (async () => {
    const c = await js.consumers.get(STREAM, CONSUMER);
    while (!dead) {
      let batch: AsyncIterable<JsMsg>;
      try {
        batch = await c.fetch({ max_messages: 64, expires: 1000 });
      } catch {
        return;
      }
      try {
        for await (const m of batch) {
          // Messages already buffered in the batch outlive the kill: acking them
          // would only wait out each ackAck timeout and keep this process alive.
          if (dead) return;
          if (m.seq % 3 === 0) continue; // leave some unacked, for redelivery after the restart
          if (await m.ackAck({ timeout: 2000 }).catch(() => false)) confirmed.add(m.seq);
        }
      } catch {
        return;
      }
    }
  })();
  await sleep(killAfterMs);
  proc.proc.kill('SIGKILL');
  dead = true;
  // Closing fails the requests still in flight, so both loops end promptly
  // instead of waiting out their timeouts after the test.
  await nc.close().catch(() => undefined);
  await Promise.allSettled([publisher, consumer]);
  return { acked, confirmed };
}

async function drain(nc: NatsConnection): Promise<number[]> {
  const c = await jetstream(nc).consumers.get(STREAM, CONSUMER);
  const seen: number[] = [];
  for (;;) {
    const batch = await c.fetch({ max_messages: 500, expires: 1500 });
    let n = 0;
    for await (const m of batch) {
      seen.push(m.seq);
      m.ack();
      n++;
    }
    if (n === 0) return seen;
  }
}

describe('JetStream survives kill -9', () => {
  const dir = mkdtempSync(join(tmpdir(), 'natter-crash-'));
  const procs: NatterProcess[] = [];
  after(async () => {
    for (const p of procs) await p.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every acknowledged publish and every confirmed ack across two crashes', async () => {
    const port = await freePort();
    const start = async (): Promise<NatterProcess> => {
      const p = await startNatterProcess({ port, jetstream: { store_dir: dir } });
      procs.push(p);
      return p;
    };
    let proc = await start();
    {
      const nc = await connect({ servers: `127.0.0.1:${port}` });
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: STREAM, subjects: ['crash.>'] });
      await jsm.consumers.add(STREAM, { durable_name: CONSUMER, ack_policy: AckPolicy.Explicit, ack_wait: 2_000_000_000 });
      await nc.close();
    }
    const allAcked = new Map<number, string>();
    const allConfirmed = new Set<number>();
    for (const killAfter of [700, 1300]) {
      const r = await loadUntilKilled(proc, port, killAfter);
      assert.ok(r.acked.size > 50, `only ${r.acked.size} publishes acknowledged before the kill`);
      for (const [k, v] of r.acked) allAcked.set(k, v);
      for (const s of r.confirmed) allConfirmed.add(s);
      proc = await start();
      const nc = await connect({ servers: `127.0.0.1:${port}` });
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.info(STREAM);
      const maxAcked = Math.max(...allAcked.keys());
      assert.ok(info.state.last_seq >= maxAcked, `last_seq ${info.state.last_seq} < acked ${maxAcked}`);
      for (const [seq, body] of allAcked) {
        const m = await jsm.streams.getMessage(STREAM, { seq });
        assert.equal(m?.string(), body, `message ${seq}`);
      }
      await nc.close();
    }
    assert.ok(allConfirmed.size > 0, 'no ack was confirmed before the kills');
    const nc = await connect({ servers: `127.0.0.1:${port}` });
    const redelivered = await drain(nc);
    const again = redelivered.filter((s) => allConfirmed.has(s));
    assert.deepEqual(again, [], 'messages whose ack was confirmed came back');
    const info = await (await jetstreamManager(nc)).consumers.info(STREAM, CONSUMER);
    assert.equal(info.num_ack_pending, 0);
    await nc.close();
  });
});
