import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRaftMessage, encodeRaftMessage } from '../../src/raft/codec.js';
import type { RaftMessage } from '../../src/raft/types.js';

const samples: RaftMessage[] = [
  { type: 'vote', term: 7, candidate: 'n-é1', lastIndex: 2 ** 40 + 3, lastTerm: 6, preVote: true, transfer: false },
  { type: 'vote', term: 8, candidate: 'b', lastIndex: 0, lastTerm: 0, preVote: false, transfer: true },
  { type: 'vote-response', term: 9, granted: true, preVote: false },
  { type: 'vote-response', term: 9, granted: false, preVote: true },
  {
    type: 'append', term: 3, leader: 'a', prevIndex: 10, prevTerm: 2, commit: 9,
    entries: [
      { index: 11, term: 3, kind: 'noop', data: Buffer.alloc(0) },
      { index: 12, term: 3, kind: 'normal', data: Buffer.from('hello') },
      { index: 13, term: 3, kind: 'peers', data: Buffer.from('["a","b"]') },
    ],
  },
  { type: 'append', term: 3, leader: 'a', prevIndex: 0, prevTerm: 0, commit: 0, entries: [] },
  { type: 'append-response', term: 3, success: true, index: Number.MAX_SAFE_INTEGER },
  { type: 'append-response', term: 3, success: false, index: 4 },
  { type: 'snapshot', term: 4, leader: 'c', snapshot: { meta: { lastIndex: 100, lastTerm: 3, peers: ['a', 'b', 'c'] }, data: Buffer.from([1, 2, 3]) } },
  { type: 'timeout-now', term: 12 },
];

test('every message survives an encode/decode round trip', () => {
  for (const msg of samples) assert.deepEqual(decodeRaftMessage(encodeRaftMessage(msg)), msg);
});

test('garbage, truncation and trailing bytes decode to null without throwing', () => {
  assert.equal(decodeRaftMessage(Buffer.alloc(0)), null);
  assert.equal(decodeRaftMessage(Buffer.from([99])), null);
  for (const msg of samples) {
    const buf = encodeRaftMessage(msg);
    for (let cut = 0; cut < buf.length; cut++) assert.equal(decodeRaftMessage(buf.subarray(0, cut)), null);
    assert.equal(decodeRaftMessage(Buffer.concat([buf, Buffer.from([0])])), null);
  }
  // An append claiming four billion entries is refused before any allocation.
  const huge = encodeRaftMessage({ type: 'append', term: 1, leader: 'a', prevIndex: 0, prevTerm: 0, commit: 0, entries: [] });
  huge.writeUInt32LE(0xffffffff, huge.length - 4);
  assert.equal(decodeRaftMessage(huge), null);
  // An unsafe 64-bit number is refused.
  const vote = encodeRaftMessage(samples[2]!);
  vote.writeUInt32LE(0xffffffff, 6);
  assert.equal(decodeRaftMessage(vote), null);
  let seed = 1;
  for (let i = 0; i < 2000; i++) {
    const buf = Buffer.alloc(1 + (i % 60));
    for (let j = 0; j < buf.length; j++) { seed = (seed * 1103515245 + 12345) >>> 0; buf[j] = seed >>> 24; }
    buf[0] = 1 + (i % 6);
    decodeRaftMessage(buf);
  }
});
