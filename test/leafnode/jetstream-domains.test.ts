/**
 * JetStream domains over leaf connections: a client on either side reaches
 * the other side's JetStream through `$JS.<domain>.API` (stream create,
 * account info, publish with its PubAck), while the plain `$JS.API` stays
 * with its own server; a hub stream sources and mirrors an edge stream of
 * another domain. Between two Natter servers, and with nats-server 2.9.10
 * as the hub or as the leaf.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { StartOptions } from '../../src/index.js';
import type { RawBlock } from '../../src/server/options.js';
import { removeDir, tempStoreDir } from '../helpers/jetstream.js';
import { closeAllNatter } from '../helpers/natter.js';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';
import { freePort } from '../helpers/ports.js';
import { waitUntil } from '../helpers/wait.js';
import { dial, startLeafNatter, waitLeafInterest, waitLeafs, type Side } from './helpers.js';

const dirs: string[] = [];
after(async () => {
  await closeAllNatter();
  for (const d of dirs) removeDir(d);
});

function jsOptions(domain: string): StartOptions {
  const dir = tempStoreDir();
  dirs.push(dir);
  return { jetstream: { store_dir: dir, domain } };
}

async function natterWithDomain(leafnodes: RawBlock, domain: string): Promise<Side> {
  return startLeafNatter(leafnodes, jsOptions(domain));
}

async function refWithDomain(leafnodes: string, domain: string): Promise<NatsServerHandle> {
  const dir = tempStoreDir();
  dirs.push(dir);
  return startNatsServer({ config: `jetstream { store_dir: "${dir}", domain: ${domain} }\nleafnodes ${leafnodes}\n` });
}

/** From a client of `url`: the other domain's JetStream by name, its own without one. */
async function crossDomain(url: string, own: string, other: string, stream: string): Promise<void> {
  const nc = await dial(url);
  try {
    const there = await jetstreamManager(nc, { domain: other });
    const here = await jetstreamManager(nc);
    assert.equal((await there.getAccountInfo()).domain, other);
    assert.equal((await here.getAccountInfo()).domain, own);
    await there.streams.add({ name: stream, subjects: [`${stream}.>`] });
    const ack = await jetstream(nc, { domain: other }).publish(`${stream}.one`, 'payload');
    assert.equal(ack.domain, other);
    assert.equal(ack.seq, 1);
    assert.equal((await there.streams.info(stream)).state.messages, 1);
    // The stream lives on the other side only.
    await assert.rejects(here.streams.info(stream), /stream not found/);
  } finally {
    await nc.close();
  }
}

/** Waits until `stream` (managed by `jsm`) holds `n` messages. */
async function waitMessages(jsm: Awaited<ReturnType<typeof jetstreamManager>>, stream: string, n: number): Promise<void> {
  let last = -1;
  await waitUntil(async () => {
    last = (await jsm.streams.info(stream)).state.messages;
    return last === n;
  }, 5000, `${n} messages in ${stream} (has ${last})`, 50);
}

/**
 * An edge stream sourced and mirrored into hub streams across domains: the
 * hub reads the edge stream through `$JS.edge.API` over the leaf connection,
 * catching up and then following new messages.
 */
async function sourceFromEdge(hubUrl: string, edgeUrl: string): Promise<void> {
  const hc = await dial(hubUrl);
  const ec = await dial(edgeUrl);
  try {
    const edge = await jetstreamManager(ec);
    await edge.streams.add({ name: 'SENSORS', subjects: ['sensor.>'] });
    const ejs = jetstream(ec);
    for (let i = 0; i < 5; i++) await ejs.publish(`sensor.${i}`, `reading ${i}`);
    const hub = await jetstreamManager(hc);
    await hub.streams.add({ name: 'ALL', sources: [{ name: 'SENSORS', domain: 'edge' }] });
    await hub.streams.add({ name: 'COPY', mirror: { name: 'SENSORS', domain: 'edge' } });
    await waitMessages(hub, 'ALL', 5);
    await waitMessages(hub, 'COPY', 5);
    for (let i = 5; i < 8; i++) await ejs.publish(`sensor.${i}`, `reading ${i}`);
    await waitMessages(hub, 'ALL', 8);
    await waitMessages(hub, 'COPY', 8);
    const first = await hub.streams.getMessage('ALL', { seq: 1 });
    assert.equal(first?.subject, 'sensor.0');
    assert.equal(first?.string(), 'reading 0');
    assert.equal((await hub.streams.getMessage('COPY', { seq: 8 }))?.string(), 'reading 7');
  } finally {
    await hc.close();
    await ec.close();
  }
}

describe('JetStream domains across leaf connections', () => {
  test('a Natter hub sources and mirrors edge streams of a Natter leaf and of a nats-server leaf', async () => {
    const hub = await natterWithDomain({ port: -1 }, 'hub');
    const port = hub.natter.server.leafnodes?.varz().port as number;
    const leaf = await natterWithDomain({ remotes: [{ url: `nats-leaf://127.0.0.1:${port}` }] }, 'edge');
    try {
      await waitLeafs(hub.natter, 1);
      await waitLeafInterest(hub.natter, '$JS.edge.API.>');
      await sourceFromEdge(hub.natter.url, leaf.natter.url);
    } finally {
      await leaf.natter.close();
      await hub.natter.close();
    }
    const hub2 = await natterWithDomain({ port: -1 }, 'hub');
    const port2 = hub2.natter.server.leafnodes?.varz().port as number;
    const refLeaf = await refWithDomain(`{ remotes: [ { url: "nats-leaf://127.0.0.1:${port2}" } ] }`, 'edge');
    try {
      await waitLeafs(hub2.natter, 1);
      await waitLeafInterest(hub2.natter, '$JS.edge.API.INFO');
      await sourceFromEdge(hub2.natter.url, refLeaf.url);
    } finally {
      await refLeaf.stop();
      await hub2.natter.close();
    }
  });

  test('between two Natter servers, both ways', async () => {
    const hub = await natterWithDomain({ port: -1 }, 'hub');
    const port = hub.natter.server.leafnodes?.varz().port as number;
    const leaf = await natterWithDomain({ remotes: [{ url: `nats-leaf://127.0.0.1:${port}` }] }, 'edge');
    try {
      await waitLeafs(hub.natter, 1);
      await waitLeafInterest(leaf.natter, '$JS.hub.API.>');
      await waitLeafInterest(hub.natter, '$JS.edge.API.>');
      await crossDomain(leaf.natter.url, 'edge', 'hub', 'FROMEDGE');
      await crossDomain(hub.natter.url, 'hub', 'edge', 'FROMHUB');
      assert.ok(hub.log.has(/Adding deny "\$JS\.hub\.API\.>" for outgoing messages to account "\$G"/));
    } finally {
      await leaf.natter.close();
      await hub.natter.close();
    }
  });

  test('a Natter leaf on a nats-server hub, and a nats-server leaf on a Natter hub', async () => {
    const refPort = await freePort();
    const ref = await refWithDomain(`{ listen: "127.0.0.1:${refPort}" }`, 'hub');
    const leaf = await natterWithDomain({ remotes: [{ url: `nats-leaf://127.0.0.1:${refPort}` }] }, 'edge');
    try {
      await waitLeafs(leaf.natter, 1);
      // nats-server announces its domain's API subjects one by one (its domain mappings).
      await waitLeafInterest(leaf.natter, '$JS.hub.API.INFO');
      await crossDomain(leaf.natter.url, 'edge', 'hub', 'NATTERLEAF');
      await crossDomain(ref.url, 'hub', 'edge', 'REFHUB');
    } finally {
      await leaf.natter.close();
      await ref.stop();
    }
    const hub = await natterWithDomain({ port: -1 }, 'hub');
    const port = hub.natter.server.leafnodes?.varz().port as number;
    const refLeaf = await refWithDomain(`{ remotes: [ { url: "nats-leaf://127.0.0.1:${port}" } ] }`, 'edge');
    try {
      await waitLeafs(hub.natter, 1);
      await waitLeafInterest(hub.natter, '$JS.edge.API.INFO');
      await crossDomain(refLeaf.url, 'edge', 'hub', 'REFLEAF');
      await crossDomain(hub.natter.url, 'hub', 'edge', 'NATTERHUB');
    } finally {
      await refLeaf.stop();
      await hub.natter.close();
    }
  });
});
