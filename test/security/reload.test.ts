/**
 * Reload (SIGHUP) of users, passwords, permissions and accounts, on the
 * natter-server command and on nats-server 2.9.10 with the same files:
 * the password-rotation procedure of the messaging chart ("How to rotate"),
 * permissions that change under existing connections, accounts that change,
 * a refused reload that changes nothing, and logs that never show a secret.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sleep, waitUntil } from '../helpers/wait.js';
import { countOf, RawSession } from '../helpers/session.js';
import {
  assertConnectRefused, CLIENT_LIBS, closeAll, confFile, connectAs, SECURITY_FIXTURES, settle, seen,
  startFromFile, tempConf, type Conn, type ProcServer,
} from './helpers.js';

const PROCS = ['nats-server', 'natter-cli'] as const;
const rotation = (n: number): string => readFileSync(path.join(SECURITY_FIXTURES, `helm-rotation-${n}.conf`), 'utf8');

/** A raw connection logged in with user/pass; `cmds` after CONNECT (then PING). */
async function raw(port: number, user: string, pass: string, cmds = ''): Promise<RawSession> {
  const s = await RawSession.connect(port);
  const out = await s.request(`CONNECT ${JSON.stringify({ verbose: false, user, pass })}\r\n${cmds}PING\r\n`, 'PONG\r\n');
  assert.equal(out, 'PONG\r\n', `${user} logs in`);
  s.take();
  return s;
}

for (const kind of PROCS) {
  describe(`password rotation of the messaging chart (${kind})`, () => {
    let srv: ProcServer;
    before(async () => {
      srv = await startFromFile(kind, tempConf(rotation(1)));
    });
    after(() => srv.stop());

    it('user1 stays connected while user2 is added, then is cut off when removed', async () => {
      const user1: Conn[] = [];
      for (const lib of CLIENT_LIBS) user1.push(await connectAs(lib, srv.port, { user: 'user1', pass: 'password1' }));
      const rawUser1 = await raw(srv.port, 'user1', 'password1', 'SUB rotation 1\r\n');
      const user2: Conn[] = [];
      try {
        for (const lib of CLIENT_LIBS) await assertConnectRefused(lib, srv.port, { user: 'user2', pass: 'password2' }, 'user2 before step 1');

        // Step 1: the new user next to the old one.
        await srv.reload(rotation(2));
        for (const c of user1) {
          assert.equal(c.isClosed(), false, `${c.lib} user1 survives step 1`);
          await c.flush();
        }
        for (const lib of CLIENT_LIBS) user2.push(await connectAs(lib, srv.port, { user: 'user2', pass: 'password2' }));
        user2[0].pub('rotation', 'from user2');
        await rawUser1.until('MSG rotation 1 10\r\nfrom user2\r\n');
        for (const lib of CLIENT_LIBS) {
          const again = await connectAs(lib, srv.port, { user: 'user1', pass: 'password1' });
          await again.close();
        }

        // Step 3: the old user removed; its connections are closed.
        await srv.reload(rotation(3));
        assert.equal(await rawUser1.waitClosed(3000), true, 'the raw user1 connection is closed');
        const lastWords = rawUser1.take();
        for (const c of user1) {
          const why = await Promise.race([c.closed(), sleep(3000).then(() => 'still open')]);
          assert.notEqual(why, 'still open', `${c.lib} user1 connection is closed`);
        }
        for (const lib of CLIENT_LIBS) await assertConnectRefused(lib, srv.port, { user: 'user1', pass: 'password1' }, 'user1 after step 3');
        for (const c of user2) {
          assert.equal(c.isClosed(), false, `${c.lib} user2 survives step 3`);
          await c.flush();
        }
        // nats-server closes a connection whose user no longer exists as 'Client Closed', without an -ERR.
        assert.equal(lastWords, '', 'closed without a word, as nats-server does for a removed user');
      } finally {
        rawUser1.close();
        await closeAll([...user1, ...user2]);
      }
    });

    it('the log never shows a password', () => {
      for (const secret of ['password1', 'password2']) {
        assert.equal(srv.log().includes(secret), false, `${secret} appears in the log:\n${srv.log()}`);
      }
    });
  });

  describe(`permissions changed by reload (${kind})`, () => {
    const before1 = {
      authorization: {
        default_permissions: { publish: ['dflt.>'], subscribe: ['dflt.>'] },
        users: [
          { user: 'a', password: 'a', permissions: { publish: '>', subscribe: ['foo.>', 'bar', 'jobs.* workers'] } },
          { user: 'd', password: 'd' },
          { user: 'admin', password: 'admin', permissions: { publish: '>', subscribe: '>' } },
        ],
      },
    };
    const after1 = {
      authorization: {
        default_permissions: { publish: ['dflt2.>'], subscribe: ['dflt.>'] },
        users: [
          { user: 'a', password: 'a', permissions: { publish: 'foo.>', subscribe: ['bar'] } },
          { user: 'd', password: 'd' },
          { user: 'admin', password: 'admin', permissions: { publish: '>', subscribe: '>' } },
        ],
      },
    };
    let srv: ProcServer;
    before(async () => {
      srv = await startFromFile(kind, tempConf(confFile(before1)));
    });
    after(() => srv.stop());

    it('existing connections get the new publish rules; subscriptions no longer allowed are removed with an -ERR', async () => {
      const a = await raw(srv.port, 'a', 'a', 'SUB foo.> 1\r\nSUB bar 2\r\nSUB jobs.x workers 3\r\n');
      const d = await raw(srv.port, 'd', 'd', 'SUB dflt.x 1\r\n');
      const admin = await raw(srv.port, 'admin', 'admin');
      try {
        a.send('PUB baz 1\r\n1\r\n');
        assert.equal(await a.sync(), 'PONG\r\n', 'baz may be published before the reload');
        await srv.reload(confFile(after1));
        // Both servers re-check clients after the reload is reported; wait for the two notices.
        await a.wait(() => countOf(a.fresh(), '-ERR') >= 2, 3000);
        const lost = a.take();
        assert.equal(a.closed, false);
        a.send('PUB baz 1\r\n2\r\n');
        assert.equal(await a.sync(), `-ERR 'Permissions Violation for Publish to "baz"'\r\nPONG\r\n`, 'the new publish rules apply');
        d.send('PUB dflt.y 0\r\n\r\nPUB dflt2.y 0\r\n\r\n');
        assert.equal(await d.sync(), `-ERR 'Permissions Violation for Publish to "dflt.y"'\r\nPONG\r\n`,
          'changed default_permissions apply to existing connections');
        admin.send('PUB foo.x 1\r\nf\r\nPUB bar 1\r\nb\r\nPUB jobs.x 1\r\nj\r\nPUB dflt.x 1\r\nx\r\n');
        assert.equal(await admin.sync(), 'PONG\r\n');
        await sleep(30);
        assert.equal(await d.sync(), 'MSG dflt.x 1 1\r\nx\r\nPONG\r\n', 'the still allowed subscription works');
        assert.equal(await a.sync(), 'MSG bar 2 1\r\nb\r\nPONG\r\n', 'subscriptions no longer allowed get nothing');
        // nats-server walks its subscription map in no fixed order.
        assert.deepEqual(lost.split('\r\n').filter((l) => l !== '').sort(), [
          `-ERR 'Permissions Violation for Subscription to "foo.>" (sid "1")'`,
          `-ERR 'Permissions Violation for Subscription to "jobs.x" (sid "3")'`,
        ], 'nats-server tells the client which subscriptions it lost');
      } finally {
        a.close();
        d.close();
        admin.close();
      }
    });

    for (const lib of CLIENT_LIBS) {
      it(`${lib}: a client keeps its connection and sees the new rules`, async () => {
        await srv.reload(confFile(before1));
        const a = await connectAs(lib, srv.port, { user: 'a', pass: 'a' });
        const admin = await connectAs(lib, srv.port, { user: 'admin', pass: 'admin' });
        try {
          const gotFoo = a.sub('foo.>');
          const gotBar = a.sub('bar');
          await a.flush();
          await srv.reload(confFile(after1));
          await waitUntil(() => a.errors.length >= 1, 1000, 'the lost subscription is reported');
          admin.pub('foo.z', 'z');
          admin.pub('bar', 'b');
          a.pub('baz', 'nope');
          await waitUntil(() => a.errors.length >= 2, 1000, 'the publish violation is reported');
          await settle([a, admin]);
          assert.deepEqual(gotFoo, [], 'the removed subscription gets nothing');
          assert.deepEqual(seen(gotBar), ['bar b']);
          assert.equal(a.errors[a.errors.length - 1], 'Permissions Violation for Publish to "baz"');
          assert.equal(a.isClosed(), false);
        } finally {
          await closeAll([a, admin]);
        }
      });
    }
  });

  describe(`accounts changed by reload (${kind})`, () => {
    const v1 = {
      accounts: {
        A: { users: [{ user: 'u', password: 'p' }, { user: 'v', password: 'p' }], exports: [{ stream: 'a.>' }] },
        B: { users: [{ user: 'w', password: 'p' }] },
      },
    };
    const v2 = {
      accounts: {
        A: { users: [{ user: 'v', password: 'p' }], exports: [{ stream: 'a.>' }] },
        B: { users: [{ user: 'u', password: 'p' }, { user: 'w', password: 'p' }], imports: [{ stream: { account: 'A', subject: 'a.>' } }] },
      },
    };
    let srv: ProcServer;
    before(async () => {
      srv = await startFromFile(kind, tempConf(confFile(v1)));
    });
    after(() => srv.stop());

    it('a new import reaches existing subscribers; a user moved to another account is disconnected', async () => {
      const u = await raw(srv.port, 'u', 'p', 'SUB x 1\r\n');
      const v = await raw(srv.port, 'v', 'p');
      const w = await raw(srv.port, 'w', 'p', 'SUB a.> 1\r\n');
      try {
        v.send('PUB a.before 1\r\n1\r\n');
        await v.sync();
        await srv.reload(confFile(v2));
        assert.equal(await u.waitClosed(3000), true, 'u changed account: disconnected');
        const lastWords = u.take();
        v.send('PUB a.after 1\r\n2\r\n');
        await v.sync();
        await sleep(30);
        assert.equal(await w.sync(), 'MSG a.after 1 1\r\n2\r\nPONG\r\n');
        const again = await raw(srv.port, 'u', 'p', 'SUB a.> 1\r\n');
        v.send('PUB a.again 1\r\n3\r\n');
        await v.sync();
        await sleep(30);
        assert.equal(await again.sync(), 'MSG a.again 1 1\r\n3\r\nPONG\r\n', 'u logs in to B now');
        again.close();
        assert.equal(lastWords, '', 'nats-server closes a client that changed account without an -ERR');
      } finally {
        u.close();
        v.close();
        w.close();
      }
    });
  });

  describe(`a refused reload changes nothing (${kind})`, () => {
    let srv: ProcServer;
    before(async () => {
      srv = await startFromFile(kind, tempConf(rotation(1)));
    });
    after(() => srv.stop());

    it('a config with an error keeps the old users and connections', async () => {
      const c = await raw(srv.port, 'user1', 'password1');
      try {
        await assert.rejects(srv.reload('authorization { users: [ { user: user1, password: x }, { user: user1, password: y } ] }\n'), /refused the reload/);
        await sleep(100);
        assert.equal(c.closed, false);
        assert.equal(await c.sync(), 'PONG\r\n');
        const again = await raw(srv.port, 'user1', 'password1');
        again.close();
      } finally {
        c.close();
      }
    });
  });
}

describe('reload with bcrypt passwords', () => {
  for (const kind of PROCS) {
    it(`${kind}: a bcrypt user keeps its connection across a reload and is cut when its hash changes`, async () => {
      const hash = '$2a$04$Xb3YuUN.RrHMhKCMa2My8ObZ4pafKR/zBppajjakVJ82NDjlVYjOe';
      const conf = (h: string, extra = ''): string =>
        `authorization { users: [ { user: alice, password: ${h} }, { user: bob, password: bob${extra} } ] }\n`;
      const srv = await startFromFile(kind, tempConf(conf(hash)));
      const alice = await raw(srv.port, 'alice', 'alice-bcrypt');
      try {
        await srv.reload(conf(hash, '2'));
        await sleep(100);
        assert.equal(await alice.sync(), 'PONG\r\n', 'another user changed: alice stays');
        await srv.reload(conf('$2a$04$WN6QJE8VXyEiiW0fNjXVVek4lkzwahgum5JUhJVTLmAO1iRcdXicW'));
        assert.equal(await alice.waitClosed(3000), true);
        assert.equal(alice.take(), "-ERR 'Authorization Violation'\r\n", 'alice still exists, her password is wrong now');
      } finally {
        alice.close();
        await srv.stop();
      }
    });
  }
});
