/**
 * Lame duck mode and leaf connections, as nats-server 2.9.10 has it: the
 * hub stops taking clients, but its leafnode port stays open and its leaf
 * connections stay up (only clients are let go); they end with the
 * shutdown. Checked on a nats-server hub and on a Natter hub side by side.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { closeAllNatter } from '../helpers/natter.js';
import { freePort } from '../helpers/ports.js';
import { sleep, waitUntil } from '../helpers/wait.js';
import { dial, leafPort, refLeafs, startLeafNatter, startRef, waitLeafs } from './helpers.js';

after(() => closeAllNatter());

/** nats-server's shortest lame duck duration; a client is kept connected so the hub stays in the mode rather than shutting down at once. */
const LDM_MS = 30_000;
const GRACE_MS = 10_000;

describe('lame duck mode on a hub', () => {
  test('nats-server: leaf connections stay, new ones are still taken', async () => {
    const port = await freePort();
    const { ref, http } = await startRef(
      `lame_duck_duration: "${LDM_MS / 1000}s"\nlame_duck_grace_period: "${GRACE_MS / 1000}s"\nleafnodes { listen: "127.0.0.1:${port}" }\n`,
    );
    const url = `nats-leaf://127.0.0.1:${port}`;
    const first = await startLeafNatter({ remotes: [{ url }] });
    const client = await dial(ref.url);
    try {
      await waitLeafs(first.natter, 1);
      ref.proc.kill('SIGUSR2');
      await waitUntil(() => ref.log().includes('Entering lame duck mode'), 3000, 'nats-server enters lame duck mode');
      const second = await startLeafNatter({ remotes: [{ url }] });
      try {
        await waitLeafs(second.natter, 1);
        await sleep(200);
        assert.equal((await refLeafs(http)).length, 2);
        assert.equal(first.natter.server.leafnodes?.leafs().length, 1);
      } finally {
        await second.natter.close();
      }
    } finally {
      await client.close().catch(() => undefined);
      await first.natter.close();
      await ref.stop();
    }
  });

  test('Natter: the same', async () => {
    // A shorter grace period (Natter has no floor for it): lameDuck() still sleeps through it after the shutdown.
    const hub = await startLeafNatter({ port: -1 }, { lame_duck_duration: LDM_MS, lame_duck_grace_period: 3000 });
    const url = `nats-leaf://127.0.0.1:${leafPort(hub.natter)}`;
    const first = await startLeafNatter({ remotes: [{ url }] });
    const client = await dial(hub.natter.url);
    try {
      await waitLeafs(hub.natter, 1);
      const down = hub.natter.server.lameDuck();
      await hub.log.waitFor(/Entering lame duck mode/);
      const second = await startLeafNatter({ remotes: [{ url }] });
      try {
        await waitLeafs(hub.natter, 2);
        await sleep(200);
        assert.equal(hub.natter.server.leafnodes?.leafs().length, 2);
        assert.equal(first.natter.server.leafnodes?.leafs().length, 1);
      } finally {
        await second.natter.close();
      }
      await hub.natter.close();
      await down;
    } finally {
      await client.close().catch(() => undefined);
      await first.natter.close();
      await hub.natter.close();
    }
  });
});
