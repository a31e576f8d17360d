/**
 * Leaf connections and the accounts they are bound to: the per-account
 * counts in /accountz and /accstatz (next to nats-server 2.9.10's for the
 * same setup), an account JWT's `limits.leaf` on the hub, and a reload
 * that removes the user a leaf logged in with.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { nscAccountLimits } from '../../src/jwt/encode.js';
import { formatCreds } from '../../src/jwt/creds.js';
import { resolveOptions } from '../../src/server/options.js';
import { closeAllNatter } from '../helpers/natter.js';
import { freePort } from '../helpers/ports.js';
import { waitUntil } from '../helpers/wait.js';
import { accountJwt, newAccount, newOperator, newUser, operatorJwt, userJwt } from '../jwt/encoder.js';
import { leafPort, startLeafNatter, startRef, waitLeafs } from './helpers.js';

after(() => closeAllNatter());

interface AccountCounts {
  readonly leafnode_connections: number;
  readonly client_connections: number;
}

interface AccountStat {
  readonly acc: string;
  readonly conns: number;
  readonly leafnodes: number;
  readonly total_conns: number;
}

/** What /accountz and /accstatz say of account A. */
async function countsOf(http: string): Promise<{ detail: AccountCounts; stat: AccountStat | undefined }> {
  const z = await (await fetch(`${http}/accountz?acc=A`)).json() as { account_detail: AccountCounts };
  const s = await (await fetch(`${http}/accstatz?unused=1`)).json() as { account_statz: AccountStat[] };
  return { detail: z.account_detail, stat: s.account_statz.find((a) => a.acc === 'A') };
}

describe('leaf connections and their accounts', () => {
  test('/accountz and /accstatz count the leaf connections bound to an account, as nats-server does', async () => {
    const accounts = { A: { users: [{ user: 'a', password: 'a' }] } };
    const refLeafPort = await freePort();
    const { ref, http: refHttp } = await startRef(
      `accounts { A { users: [ { user: a, password: a } ] } }\nleafnodes { listen: "127.0.0.1:${refLeafPort}", authorization: { users: [ { user: edge, password: pw, account: A } ] } }\n`,
    );
    const httpPort = await freePort();
    const hub = await startLeafNatter({ port: -1, authorization: { users: [{ user: 'edge', password: 'pw', account: 'A' }] } }, { accounts, http_port: httpPort });
    const leafs = await Promise.all([
      startLeafNatter({ remotes: [{ url: `nats-leaf://edge:pw@127.0.0.1:${leafPort(hub.natter)}` }] }),
      startLeafNatter({ remotes: [{ url: `nats-leaf://edge:pw@127.0.0.1:${refLeafPort}` }] }),
    ]);
    try {
      await waitLeafs(hub.natter, 1);
      await waitUntil(async () => (await countsOf(refHttp)).detail.leafnode_connections === 1, 5000, 'nats-server counts its leaf');
      const ours = await countsOf(`http://127.0.0.1:${httpPort}`);
      const theirs = await countsOf(refHttp);
      assert.deepEqual(
        { leafs: ours.detail.leafnode_connections, clients: ours.detail.client_connections, stat: ours.stat },
        { leafs: theirs.detail.leafnode_connections, clients: theirs.detail.client_connections, stat: theirs.stat },
      );
      assert.deepEqual([ours.stat?.conns, ours.stat?.leafnodes, ours.stat?.total_conns], [0, 1, 1]);
      // The count goes with the connection.
      await leafs[0].natter.close();
      await waitUntil(async () => (await countsOf(`http://127.0.0.1:${httpPort}`)).detail.leafnode_connections === 0, 5000, 'the count drops');
    } finally {
      await Promise.all(leafs.map((l) => l.natter.close()));
      await hub.natter.close();
      await ref.stop();
    }
  });

  describe('operator mode', () => {
    const op = newOperator();
    const sys = newAccount();
    const app = newAccount();
    const dir = mkdtempSync(join(tmpdir(), 'natter-leaf-acc-'));
    const opFile = join(dir, 'op.jwt');
    writeFileSync(opFile, operatorJwt(op, { system_account: sys.pub }));
    const creds = (name: string): string => {
      const u = newUser();
      const file = join(dir, `${name}.creds`);
      writeFileSync(file, formatCreds(userJwt(u.pub, app.kp), u.seed), { mode: 0o600 });
      return file;
    };
    after(() => rmSync(dir, { recursive: true, force: true }));

    test("an account JWT's limits.leaf refuses one leaf connection too many", async () => {
      const preload = {
        [sys.pub]: accountJwt(sys.pub, op.kp),
        [app.pub]: accountJwt(app.pub, op.kp, { limits: { ...nscAccountLimits(), leaf: 1 } }),
      };
      const hub = await startLeafNatter({ port: -1 }, { operator: opFile, system_account: sys.pub, resolver: 'MEMORY', resolver_preload: preload });
      const url = `nats-leaf://127.0.0.1:${leafPort(hub.natter)}`;
      const first = await startLeafNatter({ remotes: [{ url, credentials: creds('first') }] });
      try {
        await waitLeafs(hub.natter, 1);
        const second = await startLeafNatter({ remotes: [{ url, credentials: creds('second') }] });
        try {
          await hub.log.waitFor(/lid:\d+ - maximum account active connections exceeded/);
          await second.log.waitFor(/Leafnode Error 'maximum account active connections exceeded'/);
          await hub.log.waitFor(/Leafnode connection closed: Maximum Account Connections Exceeded/);
          assert.equal(hub.natter.server.leafnodes?.leafs().length, 1);
          assert.equal(hub.natter.server.accounts.get(app.pub)?.leafConnections, 1);
        } finally {
          await second.natter.close();
        }
      } finally {
        await first.natter.close();
        await hub.natter.close();
      }
    });
  });

  test('a reload that removes the user a leaf logged in with cuts that leaf, and only it', async () => {
    const users = [{ user: 'keep', password: 'k' }, { user: 'gone', password: 'g' }];
    const hub = await startLeafNatter({ port: -1 }, { authorization: { users } });
    const url = (u: string, p: string): string => `nats-leaf://${u}:${p}@127.0.0.1:${leafPort(hub.natter)}`;
    const keep = await startLeafNatter({ remotes: [{ url: url('keep', 'k') }] });
    const gone = await startLeafNatter({ remotes: [{ url: url('gone', 'g') }], reconnect: 30 });
    try {
      await waitLeafs(hub.natter, 2);
      const o = hub.natter.server.options;
      hub.natter.server.reload(resolveOptions({ ...o, authorization: { users: [users[0]] } }));
      await hub.log.waitFor(/lid:\d+ - closing connection: user no longer authorized after reload/);
      await gone.log.waitFor(/Leafnode Error 'Authorization Violation'/);
      await waitLeafs(hub.natter, 1);
      assert.equal(hub.natter.server.leafnodes?.leafs()[0].remoteName, keep.natter.server.name);
    } finally {
      await Promise.all([keep.natter.close(), gone.natter.close()]);
      await hub.natter.close();
    }
  });
});
