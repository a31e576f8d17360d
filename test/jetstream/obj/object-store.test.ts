/**
 * Object store through the official @nats-io/obj client: multi-MiB objects
 * in chunks, info, list, links, delete, watch — reference and Natter alike.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { JETSTREAM_TARGETS, type JetStreamTarget } from '../../helpers/jetstream-targets.js';

const MiB = 1024 * 1024;

function streamOf(data: Uint8Array, piece = 100_000): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream<Uint8Array>({
    pull(ctl) {
      if (off >= data.length) {
        ctl.close();
        return;
      }
      ctl.enqueue(data.subarray(off, off + piece));
      off += piece;
    },
  });
}

async function readAll(rs: ReadableStream<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  const reader = rs.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  return Buffer.concat(parts);
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

for (const starter of JETSTREAM_TARGETS) {
  describe(`object store on ${starter.name}`, () => {
    let target: JetStreamTarget;
    let nc: NatsConnection;
    let os: ObjectStore;

    before(async () => {
      target = await starter.start();
      nc = await connect({ servers: target.url });
      os = await new Objm(nc).create('files', { description: 'test files' });
    });

    after(async () => {
      await nc?.close();
      await target?.stop();
    });

    it('stores and reads back a 6 MiB object in chunks, with its digest', async () => {
      const data = randomBytes(6 * MiB);
      const info = await os.put({ name: 'big.bin', description: 'six mebibytes' }, streamOf(data));
      assert.equal(info.size, data.length);
      assert.equal(info.name, 'big.bin');
      assert.equal(info.bucket, 'files');
      assert.ok(info.chunks >= 48, `chunks ${info.chunks}`);
      const res = await os.get('big.bin');
      assert.ok(res);
      const back = await readAll(res.data);
      assert.equal((await res.error) ?? null, null);
      assert.equal(back.length, data.length);
      assert.equal(sha(back), sha(data));
    });

    it('puts and gets blobs, replaces an object, and reports info', async () => {
      await os.putBlob({ name: 'a.txt' }, new TextEncoder().encode('first'));
      await os.putBlob({ name: 'a.txt' }, new TextEncoder().encode('second version'));
      const blob = await os.getBlob('a.txt');
      assert.equal(new TextDecoder().decode(blob ?? undefined), 'second version');
      const info = await os.info('a.txt');
      assert.equal(info?.size, 'second version'.length);
      assert.equal(info?.chunks, 1);
      assert.equal(await os.info('nope'), null);
      assert.equal(await os.get('nope'), null);
    });

    it('lists objects, deletes one, and links to another', async () => {
      await os.putBlob({ name: 'keep.txt' }, new TextEncoder().encode('keep'));
      await os.putBlob({ name: 'drop.txt' }, new TextEncoder().encode('drop'));
      const target = await os.info('keep.txt');
      assert.ok(target);
      await os.link('alias.txt', target);
      const viaLink = await os.getBlob('alias.txt');
      assert.equal(new TextDecoder().decode(viaLink ?? undefined), 'keep');
      await os.delete('drop.txt');
      assert.equal(await os.get('drop.txt'), null);
      const names = (await os.list()).map((i) => i.name).sort();
      assert.ok(names.includes('keep.txt'));
      assert.ok(names.includes('alias.txt'));
      assert.ok(!names.includes('drop.txt'));
    });

    it('watch reports new objects', async () => {
      const w = await os.watch({ includeHistory: false });
      const seen: string[] = [];
      const done = (async () => {
        for await (const i of w) {
          if (i === null) continue;
          seen.push(i.name);
          if (seen.includes('watched.txt')) break;
        }
      })();
      await os.putBlob({ name: 'watched.txt' }, new TextEncoder().encode('w'));
      await done;
      assert.ok(seen.includes('watched.txt'));
    });

    it('status counts the stored bytes', async () => {
      const st = await os.status();
      assert.equal(st.bucket, 'files');
      assert.equal(st.description, 'test files');
      assert.ok(st.size > 6 * MiB);
    });
  });
}
