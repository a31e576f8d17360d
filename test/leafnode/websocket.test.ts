/**
 * Leaf connections over websocket: a `ws://` remote dials the hub's
 * websocket port on the `/leafnode` path and the hub's websocket listener
 * hands it to its leaf node layer. Natter to Natter (with compression and
 * unmasked frames asked for), Natter leaf to a nats-server 2.9.10 hub, and
 * a nats-server leaf to a Natter hub, with messages, requests and queue
 * groups both ways; `wss://` with a test CA (and refused without it); a
 * hub without a leafnode port refuses as nats-server does, and a remote may
 * not mix websocket and plain URLs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { closeAllNatter } from '../helpers/natter.js';
import { freePort } from '../helpers/ports.js';
import { waitUntil } from '../helpers/wait.js';
import { makeCerts, type CertSet } from '../tls/certs.js';
import { dial, exchange, refLeafs, startLeafNatter, startRef, waitLeafInterest, waitLeafs, waitRefInterest, type Side } from './helpers.js';

let certs: CertSet;
before(async () => {
  certs = await makeCerts();
});
after(async () => {
  await closeAllNatter();
  certs.cleanup();
});

/** A Natter hub taking leaf connections on its websocket port (and a leafnode port, which nats-server requires). */
async function startWsHub(): Promise<{ hub: Side; wsPort: number }> {
  const wsPort = await freePort();
  const hub = await startLeafNatter({ port: -1 }, { websocket: { host: '127.0.0.1', port: wsPort, no_tls: true, compression: true } });
  return { hub, wsPort };
}

describe('leaf connections over websocket', () => {
  test('a Natter leaf on a Natter hub, compressed and unmasked', async () => {
    const { hub, wsPort } = await startWsHub();
    const leaf = await startLeafNatter({
      remotes: [{ url: `ws://127.0.0.1:${wsPort}`, ws_compression: true, ws_no_masking: true }],
    });
    try {
      await waitLeafs(hub.natter, 1);
      await waitLeafs(leaf.natter, 1);
      assert.ok(leaf.log.has(/lid:\d+ - Leafnode compression=true masking=false/), 'both asked for and granted');
      // The hub's end is an accepted leaf connection, not a client of the websocket listener.
      assert.equal(hub.natter.server.clients.size, 0);
      const hubConn = await dial(hub.natter.url);
      const leafConn = await dial(leaf.natter.url);
      try {
        await exchange(hubConn, leafConn, (s) => waitLeafInterest(hub.natter, s), (s) => waitLeafInterest(leaf.natter, s));
        // A payload well past the compression threshold crosses intact.
        const big = 'z'.repeat(200_000);
        const sub = leafConn.subscribe('big', { max: 1 });
        await leafConn.flush();
        await waitLeafInterest(hub.natter, 'big');
        hubConn.publish('big', big);
        for await (const m of sub) assert.equal(m.string(), big);
      } finally {
        await hubConn.close();
        await leafConn.close();
      }
    } finally {
      await leaf.natter.close();
      await hub.natter.close();
    }
  });

  test('a Natter leaf on a nats-server hub, compressed and unmasked', async () => {
    const wsPort = await freePort();
    const leafPort = await freePort();
    const { ref, http } = await startRef(
      `websocket { listen: "127.0.0.1:${wsPort}", no_tls: true, compression: true }\nleafnodes { listen: "127.0.0.1:${leafPort}" }\n`,
    );
    const leaf = await startLeafNatter({ remotes: [{ url: `ws://127.0.0.1:${wsPort}`, ws_compression: true, ws_no_masking: true }] });
    try {
      await waitLeafs(leaf.natter, 1);
      assert.ok(leaf.log.has(/lid:\d+ - Leafnode compression=true masking=false/), 'nats-server grants both');
      const hubConn = await dial(ref.url);
      const leafConn = await dial(leaf.natter.url);
      try {
        await exchange(hubConn, leafConn, (s) => waitRefInterest(http, s), (s) => waitLeafInterest(leaf.natter, s));
      } finally {
        await hubConn.close();
        await leafConn.close();
      }
      assert.equal((await refLeafs(http)).length, 1);
    } finally {
      await leaf.natter.close();
      await ref.stop();
    }
  });

  test('a nats-server leaf on a Natter hub', async () => {
    const { hub, wsPort } = await startWsHub();
    const { ref, http } = await startRef(
      `debug: true\nleafnodes { remotes: [ { url: "ws://127.0.0.1:${wsPort}", ws_compression: true, ws_no_masking: true } ] }\n`,
    );
    try {
      await waitLeafs(hub.natter, 1);
      await waitUntil(() => ref.log().includes('Leafnode compression=true masking=false'), 3000, 'nats-server: compression granted, no masking');
      const hubConn = await dial(hub.natter.url);
      const leafConn = await dial(ref.url);
      try {
        await exchange(hubConn, leafConn, (s) => waitLeafInterest(hub.natter, s), (s) => waitRefInterest(http, s));
      } finally {
        await hubConn.close();
        await leafConn.close();
      }
    } finally {
      await ref.stop();
      await hub.natter.close();
    }
  });

  test('wss://: a Natter leaf on a Natter hub and on a nats-server hub, with the test CA', async () => {
    const wsPort = await freePort();
    const tls = { cert_file: certs.server.cert, key_file: certs.server.key };
    const hub = await startLeafNatter({ port: -1 }, { websocket: { host: '127.0.0.1', port: wsPort, tls } });
    const refWs = await freePort();
    const { ref, http } = await startRef(
      `websocket { listen: "127.0.0.1:${refWs}", tls { cert_file: "${certs.server.cert}", key_file: "${certs.server.key}" } }\nleafnodes { listen: "127.0.0.1:${await freePort()}" }\n`,
    );
    const leaf = await startLeafNatter({
      remotes: [
        { url: `wss://localhost:${wsPort}`, tls: { ca_file: certs.ca.cert } },
        { url: `wss://localhost:${refWs}`, tls: { ca_file: certs.ca.cert } },
      ],
    });
    try {
      await waitLeafs(leaf.natter, 2);
      await waitLeafs(hub.natter, 1);
      // The leaf counts its side at CONNECT; nats-server once it processed it.
      await waitUntil(async () => (await refLeafs(http)).length === 1, 5000, 'nats-server registers the leaf');
      const hubConn = await dial(hub.natter.url);
      const leafConn = await dial(leaf.natter.url);
      try {
        await exchange(hubConn, leafConn, (s) => waitLeafInterest(hub.natter, s), (s) => waitLeafInterest(leaf.natter, s));
      } finally {
        await hubConn.close();
        await leafConn.close();
      }
    } finally {
      await leaf.natter.close();
      await hub.natter.close();
      await ref.stop();
    }
  });

  test('wss://: a leaf that does not trust the hub certificate does not connect', async () => {
    const wsPort = await freePort();
    const hub = await startLeafNatter({ port: -1 }, { websocket: { host: '127.0.0.1', port: wsPort, tls: { cert_file: certs.server.cert, key_file: certs.server.key } } });
    const leaf = await startLeafNatter({ remotes: [{ url: `wss://localhost:${wsPort}` }] });
    try {
      await leaf.log.waitFor(/Error trying to connect as leafnode to remote server "localhost:\d+" \(attempt 1\): .*certificate/);
      assert.equal(hub.natter.server.leafnodes?.leafs().length, 0);
    } finally {
      await leaf.natter.close();
      await hub.natter.close();
    }
  });

  test('a hub without a leafnode port closes the upgraded connection, as nats-server does', async () => {
    const wsPort = await freePort();
    const hub = await startLeafNatter({ remotes: [{ url: 'nats-leaf://127.0.0.1:1' }] }, { websocket: { host: '127.0.0.1', port: wsPort, no_tls: true } });
    const leaf = await startLeafNatter({ remotes: [{ url: `ws://127.0.0.1:${wsPort}` }] });
    try {
      await hub.log.waitFor(/Not configured to accept leaf node connections/);
      await waitUntil(() => leaf.log.has(/Error trying to connect as leafnode to remote server "127\.0\.0\.1:\d+"|Leafnode connection closed/), 3000, 'the leaf sees the refusal');
      assert.equal(hub.natter.server.leafnodes?.leafs().length, 0);
      assert.equal(hub.natter.server.clients.size, 0);
    } finally {
      await leaf.natter.close();
      await hub.natter.close();
    }
  });

  test('a remote may not mix websocket and plain URLs', async () => {
    await assert.rejects(
      startLeafNatter({ remotes: [{ urls: ['wss://example.com:443', 'nats://u:secret@example.com:7422'] }] }),
      /remote leaf node configuration cannot have a mix of websocket and non-websocket urls: \["wss:\/\/example\.com:443" "nats:\/\/u:xxxxx@example\.com:7422"\]/,
    );
  });
});
