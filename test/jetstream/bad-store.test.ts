/**
 * Bad storage conditions at the server level: a store directory damaged
 * while the server was down, the server-wide max_file_store reached, and a
 * disk that fills up. Each time the failing part answers with nats-server's
 * error, the log says what happened, and everything else keeps serving.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { LogCapture } from '../helpers/log-capture.js';
import { trackChild } from '../helpers/children.js';
import { freePort } from '../helpers/ports.js';
import { sleep } from '../helpers/wait.js';
import { startJsNatter, tempStoreDir } from '../helpers/jetstream.js';

async function fill(nc: NatsConnection, subject: string, count: number, size = 1000): Promise<{ acked: number; error: string }> {
  const js = jetstream(nc);
  let acked = 0;
  try {
    for (; acked < count; acked++) await js.publish(subject, new Uint8Array(size));
  } catch (e) {
    return { acked, error: (e as Error).message };
  }
  return { acked, error: '' };
}

/** The core protocol still works: a message goes round trip. */
async function coreStillServes(nc: NatsConnection): Promise<void> {
  const sub = nc.subscribe('core.check', { max: 1 });
  nc.publish('core.check', 'alive');
  for await (const m of sub) assert.equal(m.string(), 'alive');
}

describe('JetStream with damaged or full storage', () => {
  it('skips a stream whose directory was damaged, truncates a torn tail, and serves the rest', async () => {
    const dir = tempStoreDir();
    let s = await startJsNatter({}, dir);
    let nc = await connect({ servers: s.srv.url });
    let jsm = await jetstreamManager(nc);
    for (const name of ['BROKEN', 'TORN', 'FINE']) {
      await jsm.streams.add({ name, subjects: [`${name.toLowerCase()}.>`] });
      for (let i = 0; i < 20; i++) await jetstream(nc).publish(`${name.toLowerCase()}.x`, `m${i}`);
    }
    await nc.close();
    await s.stop(true);

    const streams = join(dir, 'jetstream', '$G', 'streams');
    writeFileSync(join(streams, 'BROKEN', 'meta.json'), '{ not json');
    const msgs = join(streams, 'TORN', 'msgs');
    const block = readdirSync(msgs).map((f) => join(msgs, f)).find((f) => statSync(f).size > 0) as string;
    truncateSync(block, statSync(block).size - 3);

    const log = new LogCapture();
    s = await startJsNatter({ logger: log }, dir);
    nc = await connect({ servers: s.srv.url });
    jsm = await jetstreamManager(nc);
    const names = (await jsm.streams.names().next()).sort();
    assert.deepEqual(names, ['FINE', 'TORN']);
    assert.ok(log.lines.some((l) => l.includes('BROKEN')), `the damaged stream is in the log:\n${log.lines.join('\n')}`);
    assert.equal((await jsm.streams.info('FINE')).state.messages, 20);
    const torn = await jsm.streams.info('TORN');
    assert.equal(torn.state.messages, 19, 'the torn last record is dropped, the 19 before it kept');
    assert.equal((await jsm.streams.getMessage('TORN', { seq: 19 }))?.string(), 'm18');
    // New writes go on after the truncated tail.
    const pa = await jetstream(nc).publish('torn.x', 'after');
    assert.equal(pa.seq, 20);
    await coreStillServes(nc);
    await nc.close();
    await s.stop();
  });

  it('answers insufficient resources at the server-wide max_file_store and keeps serving', async () => {
    const s = await startJsNatter({}, tempStoreDir(), { max_file_store: '64KB' });
    const nc = await connect({ servers: s.srv.url });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'FULL', subjects: ['full.>'] });
      const r = await fill(nc, 'full.x', 1000);
      assert.ok(r.acked > 50 && r.acked < 70, `acked ${r.acked}`);
      assert.match(r.error, /insufficient resources/);
      await jsm.streams.add({ name: 'MEM', subjects: ['mem.>'], storage: 'memory' as never });
      assert.equal((await jetstream(nc).publish('mem.x', 'fine')).seq, 1);
      // Room comes back once the stream is purged.
      await jsm.streams.purge('FULL');
      assert.ok((await jetstream(nc).publish('full.x', 'again')).seq > r.acked);
      await coreStillServes(nc);
    } finally {
      await nc.close();
      await s.stop();
    }
  });

  it('refuses publishes when the disk is full, keeps serving, and recovers once space is freed', async (t) => {
    if (process.getuid?.() !== 0) {
      // A private mount namespace needs root; as root (CI) it must work, so the test cannot pass by not running.
      t.skip('needs root to mount a tmpfs in a private mount namespace');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'natter-fulldisk-'));
    const confDir = mkdtempSync(join(tmpdir(), 'natter-fulldisk-conf-'));
    const conf = join(confDir, 'js.conf');
    // max_file_store above the disk's size, so the disk itself runs out first.
    writeFileSync(conf, `jetstream { store_dir: "${dir}", max_file_store: 10MB }\n`);
    const port = await freePort();
    const bin = fileURLToPath(new URL('../../src/cli/natter-server.js', import.meta.url));
    // A 512 KiB disk of the server's own, in a mount namespace that vanishes with the process.
    const proc = spawn('unshare', ['-m', 'sh', '-c', `mount -t tmpfs -o size=512k tmpfs "${dir}" && exec "${process.execPath}" "${bin}" -a 127.0.0.1 -p ${port} -c "${conf}"`], { stdio: ['ignore', 'pipe', 'pipe'] });
    trackChild(proc);
    let output = '';
    proc.stdout.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
    try {
      const deadline = Date.now() + 10_000;
      while (!output.includes('Server is ready') && Date.now() < deadline) await sleep(20);
      assert.ok(output.includes('Server is ready'), output);
      const nc = await connect({ servers: `127.0.0.1:${port}` });
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'DISK', subjects: ['disk.>'] });
      const r = await fill(nc, 'disk.x', 2000, 4000);
      assert.ok(r.acked > 10 && r.acked < 2000, `acked ${r.acked}`);
      assert.match(r.error, /insufficient resources|no space/i);
      await coreStillServes(nc);
      const info = await jsm.streams.info('DISK');
      // Every acknowledged message is still readable.
      assert.ok(info.state.messages >= r.acked, `stream holds ${info.state.messages}, acked ${r.acked}`);
      assert.equal((await jsm.streams.getMessage('DISK', { seq: r.acked }))?.data.length, 4000);
      assert.match(output, /no space|insufficient|ENOSPC/i);
      // Space comes back with the stream gone: a new one takes writes again.
      await jsm.streams.delete('DISK');
      await jsm.streams.add({ name: 'AGAIN', subjects: ['again.>'] });
      let ok = false;
      for (let i = 0; i < 40 && !ok; i++) {
        ok = await jetstream(nc).publish('again.x', 'room again').then(() => true, () => false);
        if (!ok) await sleep(100);
      }
      assert.ok(ok, 'publishes work again once space is freed');
      await nc.close();
    } finally {
      proc.kill('SIGKILL');
      await new Promise((r) => proc.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
      rmSync(confDir, { recursive: true, force: true });
    }
  });
});
