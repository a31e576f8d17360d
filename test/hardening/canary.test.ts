/**
 * The canary harness measures what it claims to: a stall of the server's
 * event loop shows up as the canary's worst latency, whether the stall ended
 * before stop() or is still going on at stop().
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '@nats-io/transport-node';
import { startCanaryWorld } from './canary.js';
import { sleep } from '../helpers/wait.js';

/** Keeps this thread (the embedded server's) busy for `ms`. */
function blockFor(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // spinning on purpose: this is the stall the canary must see
  }
}

test('a stall of the embedded server is the canary\'s worst latency', async () => {
  const world = await startCanaryWorld({ where: 'embedded' });
  try {
    const canary = world.canary();
    await canary.start();
    await sleep(200);
    blockFor(300);
    await sleep(200);
    const seen = await canary.stop();
    assert.ok(seen.count > 10, `the canary answered ${seen.count} requests`);
    assert.equal(seen.failures, 0);
    // The request the canary sends when the stall begins waits nearly all of it: the
    // loop's gap between requests is about a millisecond (50 ms of margin for a loaded CI).
    assert.ok(seen.max >= 250, `worst latency ${seen.max} ms`);
    assert.ok(seen.p50 < seen.max);
  } finally {
    await world.close();
  }
});

test('a server in a child process: the attacker is in another account, RSS is the child\'s', async () => {
  const world = await startCanaryWorld({ monitor: true });
  try {
    assert.notEqual(world.pid, process.pid);
    const canary = world.canary();
    await canary.start();
    const attacker = await connect(world.attackerOptions());
    // Accounts apart: the attacker cannot reach the canary's responder.
    await assert.rejects(attacker.request('canary.echo.0', 'x', { timeout: 500 }));
    const varz = (await (await fetch(`${world.monitorUrl}/varz`)).json()) as { connections: number };
    assert.equal(varz.connections, 3, 'the canary\'s responder and requester, and the attacker');
    const sampler = world.sampleRss(20);
    await sleep(300);
    const peak = sampler.stop();
    await attacker.close();
    const seen = await canary.stop();
    assert.ok(seen.count > 10, `the canary answered ${seen.count} requests`);
    assert.equal(seen.failures, 0);
    const settled = await world.settledRss();
    // Both are the child's RSS: tens of MB for a Node.js process, never this test process's.
    for (const rss of [peak, settled]) assert.ok(rss > 20e6 && rss < 1e9, `rss ${rss}`);
  } finally {
    await world.close();
  }
});
