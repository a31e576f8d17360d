/**
 * The S2 stream framing of snapshots: round trips whatever the piece
 * boundaries, stores incompressible blocks as they are, accepts Snappy's
 * framing identifier, skips padding and skippable chunks, and refuses
 * damage (checksums, reserved chunk types, a missing identifier).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { S2Reader, S2Writer } from '../../../src/jetstream/snapshot/s2-stream.js';

function encode(data: Buffer, piece: number): Buffer {
  const w = new S2Writer();
  const out: Buffer[] = [];
  for (let off = 0; off < data.length; off += piece) out.push(...w.write(data.subarray(off, off + piece)));
  out.push(...w.end());
  return Buffer.concat(out);
}

function decode(data: Buffer, piece: number): Buffer {
  const r = new S2Reader();
  const out: Buffer[] = [];
  for (let off = 0; off < data.length; off += piece) out.push(...r.push(data.subarray(off, off + piece)));
  r.end();
  return Buffer.concat(out);
}

describe('S2 stream framing', () => {
  it('round trips compressible and random data in any piece sizes', () => {
    const text = Buffer.from('the quick brown fox jumps over the lazy dog; '.repeat(5000));
    const random = randomBytes(200_000);
    const data = Buffer.concat([text, random, text]);
    const enc = encode(data, 7777);
    // The stream identifier of S2, not Snappy's.
    assert.deepEqual(enc.subarray(0, 10), Buffer.from([0xff, 6, 0, 0, ...Buffer.from('S2sTwO')]));
    assert.ok(enc.length < data.length);
    for (const piece of [1, 13, 4096, enc.length]) assert.ok(decode(enc, piece).equals(data), `piece ${piece}`);
    // Random blocks are stored uncompressed (chunk type 1) rather than grown.
    assert.ok(encode(random, 65536).length < random.length + 100);
  });

  it('reads Snappy framed streams and skips padding and skippable chunks', () => {
    const enc = encode(Buffer.from('hello, world'), 100);
    const snappy = Buffer.from(enc);
    snappy.write('sNaPpY', 4, 'latin1');
    const extra = Buffer.from([0xfe, 2, 0, 0, 0, 0, 0x99, 1, 0, 0, 7]);
    const withExtras = Buffer.concat([snappy.subarray(0, 10), extra, snappy.subarray(10)]);
    assert.equal(decode(withExtras, 3).toString(), 'hello, world');
  });

  it('refuses damaged streams', () => {
    const enc = encode(Buffer.from('some data '.repeat(100)), 1000);
    const bad = Buffer.from(enc);
    bad[bad.length - 1] ^= 0xff;
    assert.throws(() => decode(bad, bad.length), /s2: /);
    assert.throws(() => new S2Reader().push(Buffer.from('garbage')), /stream identifier/);
    const reserved = Buffer.concat([enc.subarray(0, 10), Buffer.from([0x05, 1, 0, 0, 0])]);
    assert.throws(() => decode(reserved, reserved.length), /unsupported chunk type 0x5/);
    assert.throws(() => decode(enc.subarray(0, enc.length - 1), 50), /inside a chunk/);
  });
});
