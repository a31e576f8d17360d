/**
 * Peer discovery on a stand-in core and clock: announcements make peers
 * known, 30 s of silence or a goodbye make them offline, a returning peer is
 * seen again; a nats-server whose STATSZ shows JetStream becomes a health
 * problem once it stays unannounced for a moment.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Account } from '../../../src/accounts/account.js';
import type { ServerCore } from '../../../src/server/core.js';
import type { InternalHandler, Subscription } from '../../../src/server/subscription.js';
import { PEER_HELLO_SUBJECT, PeerDirectory, peerIdOf } from '../../../src/jetstream/cluster/peers.js';
import type { JsPeer } from '../../../src/jetstream/cluster/types.js';

function fakeCore(name: string, tags: string[]): { core: ServerCore; published: Array<[string, string]>; deliver(subject: string, body: unknown): void } {
  const subs: Array<[string, InternalHandler]> = [];
  const published: Array<[string, string]> = [];
  const core = {
    name,
    id: `ID-${name}`,
    options: { server_tags: tags },
    logger: { info() {}, warn() {}, error() {}, debug() {} },
    subscribeInternal: (_a: Account, subject: string, _q: string | null, handler: InternalHandler) => {
      subs.push([subject, handler]);
      return { subject } as Subscription;
    },
    unsubscribeInternal: () => undefined,
    publishInternal: (_a: Account, subject: string, _r: string | null, payload: Buffer | string) => {
      published.push([subject, payload.toString()]);
      return 1;
    },
  } as unknown as ServerCore;
  const deliver = (subject: string, body: unknown): void => {
    const buf = Buffer.from(JSON.stringify(body));
    for (const [pattern, handler] of subs) {
      const p = pattern.split('.');
      const s = subject.split('.');
      if (p.length === s.length && p.every((t, i) => t === '*' || t === s[i])) handler(subject, null, -1, buf, null);
    }
  };
  return { core, published, deliver };
}

function hello(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, id: peerIdOf(name), server_id: `ID-${name}`, cluster: 'c', tags: ['az:2'], available: { memory: 10, file: 20 }, ha_assets: 3, version: '0.1.0', ...extra };
}

describe('peer directory', () => {
  it('knows announced peers, marks them offline after 30 s of silence or a goodbye, and sees them return', () => {
    let now = 1000;
    const { core, published, deliver } = fakeCore('me', ['az:1']);
    const dir = new PeerDirectory(core, {} as Account, 'c', { available: () => ({ memory: 1, file: 2 }), haAssets: () => 4 }, () => now);
    const seen: string[] = [];
    dir.onPeerSeen((p) => seen.push(p.name));
    dir.start();
    try {
      const mine = JSON.parse(published.find(([s]) => s === PEER_HELLO_SUBJECT)![1]) as Record<string, unknown>;
      assert.deepEqual(mine, { name: 'me', id: peerIdOf('me'), server_id: 'ID-me', cluster: 'c', tags: ['az:1'], available: { memory: 1, file: 2 }, ha_assets: 4, version: mine.version });

      deliver(PEER_HELLO_SUBJECT, hello('other'));
      assert.deepEqual(seen, ['other']);
      const other = dir.peer(peerIdOf('other'))!;
      assert.deepEqual(other, { id: peerIdOf('other'), name: 'other', cluster: 'c', tags: ['az:2'], offline: false, lastSeenMs: 0, available: { memory: 10, file: 20 }, haAssets: 3 } satisfies JsPeer);
      assert.equal(dir.nameOf(peerIdOf('other')), 'other');
      assert.equal(dir.resolve('other'), peerIdOf('other'));
      assert.deepEqual(dir.peers().map((p) => p.name), ['me', 'other']);

      now += 29_000;
      assert.equal(dir.peer(peerIdOf('other'))!.offline, false);
      now += 2000;
      assert.equal(dir.peer(peerIdOf('other'))!.offline, true, 'silent for 31 s');
      deliver(PEER_HELLO_SUBJECT, hello('other'));
      assert.equal(dir.peer(peerIdOf('other'))!.offline, false);
      assert.deepEqual(seen, ['other', 'other'], 'seen again after being offline');

      deliver(PEER_HELLO_SUBJECT, hello('other', { goodbye: true }));
      assert.equal(dir.peer(peerIdOf('other'))!.offline, true, 'said goodbye');
      // Its own announcement is ignored.
      deliver(PEER_HELLO_SUBJECT, hello('me'));
      assert.deepEqual(dir.peers().map((p) => p.name), ['me', 'other']);

      // After a goodbye this server announces nothing more.
      dir.goodbye();
      const count = published.length;
      deliver(PEER_HELLO_SUBJECT, hello('third'));
      assert.equal(published.length, count);
    } finally {
      dir.close();
    }
  });

  it('reports a nats-server with JetStream that stays unannounced', () => {
    let now = 0;
    const { core, deliver } = fakeCore('me', []);
    const dir = new PeerDirectory(core, {} as Account, 'c', { available: () => ({ memory: 0, file: 0 }), haAssets: () => 0 }, () => now);
    dir.start();
    try {
      deliver('$SYS.SERVER.NXYZ.STATSZ', { server: { name: 'plain', id: 'NXYZ', jetstream: false } });
      deliver('$SYS.SERVER.NABC.STATSZ', { server: { name: 'js1', id: 'NABC', jetstream: true } });
      deliver('$SYS.SERVER.NDEF.STATSZ', { server: { name: 'natter2', id: 'NDEF', jetstream: true } });
      assert.equal(dir.healthProblem(), null, 'not before the grace period');
      deliver(PEER_HELLO_SUBJECT, hello('natter2'));
      now += 3000;
      assert.deepEqual(dir.foreignJetStreamServers(), ['js1']);
      assert.equal(dir.healthProblem(), "mixed JetStream cluster of nats-server and Natter is not supported: JetStream is enabled on nats-server 'js1'");
      now += 120_000;
      assert.equal(dir.healthProblem(), null, 'forgotten once its STATSZ stopped');
    } finally {
      dir.close();
    }
  });
});
