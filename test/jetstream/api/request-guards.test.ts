/**
 * The guards in front of the JetStream API handlers: the request queue
 * handles requests in slices and bounds what it holds (request-queue.ts),
 * and a body's shape is judged before JSON.parse sees it (request-shape.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiRequestQueue, MAX_PENDING_BYTES, MAX_PENDING_REQUESTS, type QueuedItem } from '../../../src/jetstream/api/request-queue.js';
import { jsonShapeProblem, MAX_JSON_CONTAINERS, MAX_JSON_DEPTH } from '../../../src/jetstream/api/request-shape.js';
import { SLICE_MS } from '../../../src/jetstream/slices.js';
import { waitUntil } from '../../helpers/wait.js';

interface Item extends QueuedItem {
  readonly n: number;
}

function busyFor(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // the cost of a handler, on purpose
  }
}

describe('API request queue', () => {
  it('handles requests in order, a slice per event-loop turn, with the loop free in between', async () => {
    const handled: number[] = [];
    let turnsBetween = 0;
    const queue = new ApiRequestQueue<Item>({
      handle: (item) => {
        handled.push(item.n);
        busyFor(1);
        return null;
      },
      dropped: () => assert.fail('nothing may be dropped'),
    });
    const ticker = setInterval(() => turnsBetween++, 0);
    try {
      for (let n = 0; n < 40; n++) queue.push({ n, size: 10 });
      await waitUntil(() => handled.length === 40, 5000, 'every request handled');
    } finally {
      clearInterval(ticker);
    }
    assert.deepEqual(handled, Array.from({ length: 40 }, (_, n) => n));
    // 40 ms of handlers in slices of SLICE_MS make about 10 turns, with the 1 ms timer due
    // between them; handled in one go the timer could not have run at all.
    assert.ok(turnsBetween >= 40 / SLICE_MS / 2, `timers ran ${turnsBetween} times while 40 ms of requests were handled`);
  });

  it('drops what waits once requests pending (answered or not) reach nats-server\'s limit', async () => {
    const drops: number[] = [];
    const never = new Promise<void>(() => undefined);
    let handled = 0;
    const queue = new ApiRequestQueue<Item>({
      handle: () => {
        handled++;
        // Every request stays pending: a handler waiting for the disk, say.
        return never;
      },
      dropped: (count) => drops.push(count),
    });
    for (let n = 0; n < 100; n++) queue.push({ n, size: 1 });
    await waitUntil(() => handled === 100, 5000, 'the first hundred handled');
    for (let n = 100; n < MAX_PENDING_REQUESTS; n++) queue.push({ n, size: 1 });
    // 100 in flight and 9,900 queued make 10,000: the queued ones go, as nats-server drains its queue.
    assert.deepEqual(drops, [MAX_PENDING_REQUESTS - 100]);
    queue.close();
  });

  it('drops what waits once the pending requests hold too many bytes', () => {
    const drops: number[] = [];
    const queue = new ApiRequestQueue<Item>({ handle: () => null, dropped: (count) => drops.push(count) });
    const big = Math.floor(MAX_PENDING_BYTES / 4);
    for (let n = 0; n < 4; n++) queue.push({ n, size: big + 1 });
    assert.deepEqual(drops, [4]);
    queue.close();
  });
});

describe('API request shape', () => {
  const nest = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

  it('lets ordinary requests through', () => {
    assert.equal(jsonShapeProblem(Buffer.from('')), null);
    assert.equal(jsonShapeProblem(Buffer.from(JSON.stringify({ name: 'S', subjects: Array.from({ length: 1000 }, (_, i) => `s.${i}`) }))), null);
    assert.equal(jsonShapeProblem(Buffer.from(nest(MAX_JSON_DEPTH))), null);
  });

  it('refuses nesting past the limit', () => {
    assert.equal(jsonShapeProblem(Buffer.from(nest(MAX_JSON_DEPTH + 1)))?.message, `invalid JSON: exceeded max depth of ${MAX_JSON_DEPTH}`);
    assert.equal(jsonShapeProblem(Buffer.from(`{"a":${'{"b":'.repeat(100)}1${'}'.repeat(100)}}`))?.errCode, 10025);
  });

  it('refuses too many arrays and objects, however shallow', () => {
    const wide = (n: number): string => `[${Array(n).fill('{}').join(',')}]`;
    assert.equal(jsonShapeProblem(Buffer.from(wide(MAX_JSON_CONTAINERS - 1))), null);
    assert.equal(jsonShapeProblem(Buffer.from(wide(MAX_JSON_CONTAINERS)))?.message, `invalid JSON: more than ${MAX_JSON_CONTAINERS} arrays and objects`);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const inString = JSON.stringify({ description: `${nest(200)} \\" ${'['.repeat(200)}` });
    assert.equal(jsonShapeProblem(Buffer.from(inString)), null);
  });
});
