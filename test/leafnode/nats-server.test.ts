/**
 * Leaf nodes between Natter and nats-server 2.9.10, both ways: a Natter
 * leaf on a nats-server hub and a nats-server leaf on a Natter hub, with
 * messages, requests, queue groups, account binding, creds in operator
 * mode (the hub checks the user JWT signed over its nonce), a leaf bound
 * to the system account, refused credentials, and a loop between the two
 * kinds of server.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { formatCreds } from '../../src/jwt/creds.js';
import { closeAllNatter } from '../helpers/natter.js';
import { freePort } from '../helpers/ports.js';
import { waitUntil } from '../helpers/wait.js';
import { accountJwt, newAccount, newOperator, newUser, operatorJwt, userJwt } from '../jwt/encoder.js';
import { dial, exchange, leafPort, refLeafs, startLeafNatter, startRef, waitLeafInterest, waitLeafs, waitRefInterest } from './helpers.js';

after(() => closeAllNatter());

describe('Natter and nats-server 2.9.10 as hub and leaf', () => {
  test('a Natter leaf on a nats-server hub', async () => {
    const port = await freePort();
    const { ref, http } = await startRef(`leafnodes { listen: "127.0.0.1:${port}" }\n`);
    const leaf = await startLeafNatter({ remotes: [{ url: `nats-leaf://127.0.0.1:${port}` }] });
    try {
      await waitLeafs(leaf.natter, 1);
      const hubConn = await dial(ref.url);
      const leafConn = await dial(leaf.natter.url);
      try {
        await exchange(hubConn, leafConn, (s) => waitRefInterest(http, s), (s) => waitLeafInterest(leaf.natter, s));
      } finally {
        await hubConn.close();
        await leafConn.close();
      }
      const refSide = await refLeafs(http);
      assert.equal(refSide.length, 1);
      assert.equal(refSide[0].account, '$G');
    } finally {
      await leaf.natter.close();
      await ref.stop();
    }
  });

  test('a nats-server leaf on a Natter hub, bound to an account by its user', async () => {
    const accounts = { A: { users: [{ user: 'a', password: 'a' }] } };
    const hub = await startLeafNatter({ port: -1, authorization: { users: [{ user: 'edge', password: 'pw', account: 'A' }] } }, { accounts });
    const { ref, http } = await startRef(
      `accounts { A { users: [ { user: a, password: a } ] } }\nleafnodes { remotes: [ { url: "nats-leaf://edge:pw@127.0.0.1:${leafPort(hub.natter)}", account: "A" } ] }\n`,
    );
    try {
      await waitLeafs(hub.natter, 1);
      assert.equal(hub.natter.server.leafnodes?.leafs()[0].account, 'A');
      const hubConn = await dial(hub.natter.url, { user: 'a', pass: 'a' });
      const leafConn = await dial(ref.url, { user: 'a', pass: 'a' });
      try {
        await exchange(hubConn, leafConn, (s) => waitLeafInterest(hub.natter, s, 'A'), (s) => waitRefInterest(http, s));
      } finally {
        await hubConn.close();
        await leafConn.close();
      }
    } finally {
      await ref.stop();
      await hub.natter.close();
    }
  });

  test('a nats-server leaf with a wrong password is refused, as nats-server refuses it', async () => {
    const hub = await startLeafNatter({ port: -1, authorization: { user: 'edge', password: 'pw' } });
    const { ref } = await startRef(`leafnodes { remotes: [ { url: "nats-leaf://edge:nope@127.0.0.1:${leafPort(hub.natter)}" } ] }\n`);
    try {
      await hub.log.waitFor(/lid:\d+ - authentication error/);
      await waitUntil(() => ref.log().includes('Authorization Violation'), 3000, 'nats-server hears the refusal');
      assert.equal(hub.natter.server.leafnodes?.leafs().length, 0);
    } finally {
      await ref.stop();
      await hub.natter.close();
    }
  });

  test('a loop through a Natter and a nats-server is detected', async () => {
    const natterPort = await freePort();
    const refPort = await freePort();
    const natter = await startLeafNatter({ port: natterPort, remotes: [{ url: `nats-leaf://127.0.0.1:${refPort}` }] });
    const { ref } = await startRef(`leafnodes { listen: "127.0.0.1:${refPort}", remotes: [ { url: "nats-leaf://127.0.0.1:${natterPort}" } ] }\n`);
    try {
      await waitUntil(() => natter.log.has(/Loop detected/) || ref.log().includes('Loop detected'), 6000, 'a loop detected');
      await waitUntil(() => natter.log.has(/Loop detected/) && ref.log().includes('Loop detected'), 3000, 'both report the loop');
    } finally {
      await ref.stop();
      await natter.natter.close();
    }
  });

  describe('operator mode: leafs log in with creds', () => {
    const op = newOperator();
    const sys = newAccount();
    const app = newAccount();
    const edgeUser = newUser();
    const appUser = newUser();
    const dir = mkdtempSync(join(tmpdir(), 'natter-leaf-op-'));
    const opFile = join(dir, 'op.jwt');
    writeFileSync(opFile, operatorJwt(op, { system_account: sys.pub }));
    const edgeCreds = join(dir, 'edge.creds');
    writeFileSync(edgeCreds, formatCreds(userJwt(edgeUser.pub, app.kp), edgeUser.seed), { mode: 0o600 });
    const badCreds = join(dir, 'bad.creds');
    // Signed by an account key the operator never issued: the hub must refuse it.
    const stranger = newAccount();
    writeFileSync(badCreds, formatCreds(userJwt(edgeUser.pub, stranger.kp), edgeUser.seed), { mode: 0o600 });
    const preload = { [sys.pub]: accountJwt(sys.pub, op.kp), [app.pub]: accountJwt(app.pub, op.kp) };
    const appCreds = (): { authenticator: ReturnType<typeof credsAuthenticator> } => ({
      authenticator: credsAuthenticator(new TextEncoder().encode(formatCreds(userJwt(appUser.pub, app.kp), appUser.seed))),
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    test('a nats-server leaf with creds on a Natter hub in operator mode', async () => {
      const hub = await startLeafNatter({ port: -1 }, { operator: opFile, system_account: sys.pub, resolver: 'MEMORY', resolver_preload: preload });
      const { ref, http } = await startRef(`leafnodes { remotes: [ { url: "nats-leaf://127.0.0.1:${leafPort(hub.natter)}", credentials: "${edgeCreds}" } ] }\n`);
      try {
        await waitLeafs(hub.natter, 1);
        assert.equal(hub.natter.server.leafnodes?.leafs()[0].account, app.pub);
        const hubConn = await dial(hub.natter.url, appCreds());
        const leafConn = await dial(ref.url);
        try {
          await exchange(hubConn, leafConn, (s) => waitLeafInterest(hub.natter, s, app.pub), (s) => waitRefInterest(http, s));
        } finally {
          await hubConn.close();
          await leafConn.close();
        }
      } finally {
        await ref.stop();
        await hub.natter.close();
      }
    });

    test('a Natter leaf with creds on a nats-server hub in operator mode', async () => {
      const port = await freePort();
      const conf = `operator: "${opFile}"\nsystem_account: ${sys.pub}\nresolver: MEMORY\nresolver_preload: {\n${Object.entries(preload).map(([k, v]) => `  ${k}: "${v}"`).join('\n')}\n}\nleafnodes { listen: "127.0.0.1:${port}" }\n`;
      const { ref, http } = await startRef(conf);
      const leaf = await startLeafNatter({ remotes: [{ url: `nats-leaf://127.0.0.1:${port}`, credentials: edgeCreds }] });
      try {
        await waitLeafs(leaf.natter, 1);
        await waitUntil(async () => (await refLeafs(http)).length === 1, 3000, 'nats-server accepts the leaf');
        assert.equal((await refLeafs(http))[0].account, app.pub);
        const hubConn = await dial(ref.url, appCreds());
        const leafConn = await dial(leaf.natter.url);
        try {
          await exchange(hubConn, leafConn, (s) => waitRefInterest(http, s), (s) => waitLeafInterest(leaf.natter, s));
        } finally {
          await hubConn.close();
          await leafConn.close();
        }
      } finally {
        await leaf.natter.close();
        await ref.stop();
      }
    });

    test('a Natter leaf bound to the system account: system requests on the hub reach both servers', async () => {
      const sysUser = newUser();
      const sysCreds = join(dir, 'sys.creds');
      const sysCredsText = formatCreds(userJwt(sysUser.pub, sys.kp), sysUser.seed);
      writeFileSync(sysCreds, sysCredsText, { mode: 0o600 });
      const hub = await startLeafNatter({ port: -1 }, { server_name: 'hub', operator: opFile, system_account: sys.pub, resolver: 'MEMORY', resolver_preload: preload });
      const leaf = await startLeafNatter({ remotes: [{ url: `nats-leaf://127.0.0.1:${leafPort(hub.natter)}`, credentials: sysCreds, account: '$SYS' }] }, { server_name: 'edge' });
      try {
        await waitLeafs(hub.natter, 1);
        assert.equal(hub.natter.server.leafnodes?.leafs()[0].account, sys.pub);
        await waitLeafInterest(hub.natter, '$SYS.REQ.SERVER.PING.VARZ', sys.pub);
        const nc = await dial(hub.natter.url, { authenticator: credsAuthenticator(new TextEncoder().encode(sysCredsText)) });
        try {
          const names: string[] = [];
          nc.subscribe('ping.answers', { callback: (_e, m) => { names.push((JSON.parse(m.string()) as { server: { name: string } }).server.name); } });
          nc.publish('$SYS.REQ.SERVER.PING.VARZ', '', { reply: 'ping.answers' });
          await waitUntil(() => names.length === 2, 3000, 'answers from both servers');
          assert.deepEqual(names.sort(), ['edge', 'hub']);
        } finally {
          await nc.close();
        }
      } finally {
        await leaf.natter.close();
        await hub.natter.close();
      }
    });

    test('creds the operator does not vouch for are refused by a Natter hub', async () => {
      const hub = await startLeafNatter({ port: -1 }, { operator: opFile, system_account: sys.pub, resolver: 'MEMORY', resolver_preload: preload });
      const leaf = await startLeafNatter({ remotes: [{ url: `nats-leaf://127.0.0.1:${leafPort(hub.natter)}`, credentials: badCreds }] });
      try {
        await hub.log.waitFor(/lid:\d+ - authentication error/);
        await leaf.log.waitFor(/Leafnode Error 'Authorization Violation'/);
        assert.equal(hub.natter.server.leafnodes?.leafs().length, 0);
      } finally {
        await leaf.natter.close();
        await hub.natter.close();
      }
    });
  });
});
