/**
 * Account usage across the cluster: `$JS.API.INFO` (answered by the meta
 * leader) counts what every server holds for the account, replicas
 * included, and the account's max_file applies to that total.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { jetstreamManager, jetstream } from '@nats-io/jetstream';
import { JsCluster, metaOf } from './api-helpers.js';
import { waitUntil } from '../../helpers/wait.js';

const MAX_FILE = 10_000;
const ACCOUNTS = {
  accounts: {
    APP: { jetstream: { max_file: MAX_FILE, max_mem: -1 }, users: [{ user: 'app', password: 'p' }] },
    SYS: { users: [{ user: 'sys', password: 'p' }] },
  },
  system_account: 'SYS',
};

describe('account usage in a cluster', () => {
  const cluster = new JsCluster(['U1', 'U2', 'U3'], ACCOUNTS);
  before(async () => {
    await cluster.start();
  });
  after(async () => {
    await cluster.stop();
  });

  it('counts every replica on every server, and the account limit applies to the total', async () => {
    const leader = await cluster.waitForMetaLeader();
    // A client on a server that is not the meta leader: INFO is answered elsewhere.
    const nc = await cluster.connect(cluster.nodes.find((n) => n !== leader)!, { user: 'app', pass: 'p' });
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    await jsm.streams.add({ name: 'U', subjects: ['u.>'], num_replicas: 3 });
    await waitUntil(() => cluster.nodes.every((n) => metaOf(n).streamReplica('APP', 'U') !== null), 10_000, 'the replica on every node');
    const js = jetstream(nc, { timeout: 5000 });
    const body = new Uint8Array(1000);
    for (let i = 0; i < 3; i++) {
      await waitUntil(async () => {
        try {
          await js.publish('u.x', body);
          return true;
        } catch {
          return false;
        }
      }, 15_000, `publish ${i + 1}`, 200);
    }
    const bytes = (await jsm.streams.info('U')).state.bytes;
    assert.ok(bytes > 3000, `the stream holds ${bytes} bytes`);
    // Every server reports its copy; each adds up what it heard, and the meta leader answers INFO with that.
    await waitUntil(() => cluster.nodes.every((n) => n.srv.server.jetstream?.accounts.get('APP')?.used('file') === 3 * bytes), 10_000, 'every server counting all three replicas', 50);
    assert.equal((await jsm.getAccountInfo()).storage, 3 * bytes);
    // One server holds ~3.1 kB of the account's 10 kB; the cluster ~9.4 kB: one more message would cross the limit.
    assert.ok(bytes + 1100 < MAX_FILE && 3 * bytes + 1000 > MAX_FILE);
    await assert.rejects(js.publish('u.x', body), /resource limits exceeded for account/);
  });
});
