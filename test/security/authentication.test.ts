/**
 * Authentication end to end, with both official clients, against the
 * reference nats-server and Natter (embedded from options, or the
 * natter-server command from a config file): tokens, users, bcrypt, nkeys,
 * no_auth_user, the authorization timeout, INFO, and what a bad credential
 * gets on the wire.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createUser } from '@nats-io/nkeys';
import { RawSession } from '../helpers/session.js';
import {
  assertConnectRefused, CLIENT_LIBS, closeAll, connectAs, E2E_FIXTURES, SECURITY_FIXTURES, settle, seen,
  startFromFile, startTarget, type Auth, type ClientLib, type Kind, type Running,
} from './helpers.js';
import { waitUntil } from '../helpers/wait.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const KINDS: readonly Kind[] = ['nats-server', 'natter'];
const FILE_KINDS = ['nats-server', 'natter-cli'] as const;

/** Connects, proves a message makes the round trip on this connection, closes. */
async function assertWorks(lib: ClientLib, port: number, auth: Auth, subject = 'auth.check'): Promise<void> {
  const c = await connectAs(lib, port, auth);
  try {
    const got = c.sub(subject);
    c.pub(subject, `hello from ${lib}`);
    await waitUntil(() => got.length === 1, 2000, `${lib} receives its own message`);
    assert.deepEqual(seen(got), [`${subject} hello from ${lib}`]);
    assert.deepEqual(c.errors, []);
  } finally {
    await c.close();
  }
}

/** A raw CONNECT: the server answers `-ERR 'Authorization Violation'` and closes. */
async function assertRawRefused(port: number, connect: Record<string, unknown>): Promise<void> {
  const s = await RawSession.connect(port);
  try {
    s.send(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, ...connect })}\r\nPING\r\n`);
    assert.equal(await s.waitClosed(3000), true, 'the server closes the connection');
    assert.equal(s.text(), "-ERR 'Authorization Violation'\r\n");
  } finally {
    s.close();
  }
}

async function info(port: number): Promise<Record<string, unknown>> {
  const s = await RawSession.connect(port);
  s.close();
  return s.info;
}

for (const kind of KINDS) {
  describe(`token (${kind})`, () => {
    let srv: Running;
    before(async () => {
      srv = await startTarget(kind, { authorization: { token: 's3cr3t' } });
    });
    after(() => srv.stop());

    it('INFO says auth_required and carries no nonce', async () => {
      const i = await info(srv.port);
      assert.equal(i.auth_required, true);
      assert.equal('nonce' in i, false);
    });

    for (const lib of CLIENT_LIBS) {
      it(`${lib}: the token lets in; a wrong or missing one does not`, async () => {
        await assertWorks(lib, srv.port, { token: 's3cr3t' });
        await assertConnectRefused(lib, srv.port, { token: 's3cr3t ' }, 'token with a trailing space');
        await assertConnectRefused(lib, srv.port, { token: 'S3CR3T' }, 'token in another case');
        await assertConnectRefused(lib, srv.port, {}, 'no token');
        await assertConnectRefused(lib, srv.port, { user: 's3cr3t', pass: 's3cr3t' }, 'token as user/pass');
      });
    }

    it('a raw CONNECT with a wrong token gets Authorization Violation and a close', async () => {
      await assertRawRefused(srv.port, { auth_token: 'nope' });
      await assertRawRefused(srv.port, {});
    });

    it('commands before an accepted CONNECT get Authorization Violation and a close', async () => {
      const s = await RawSession.connect(srv.port);
      try {
        s.send('SUB foo 1\r\n');
        assert.equal(await s.waitClosed(3000), true);
        assert.equal(s.text(), "-ERR 'Authorization Violation'\r\n");
      } finally {
        s.close();
      }
    });
  });

  describe(`single user and password (${kind})`, () => {
    let srv: Running;
    before(async () => {
      srv = await startTarget(kind, { authorization: { user: 'nats_client', password: 'T0pS3cr3t' } });
    });
    after(() => srv.stop());

    for (const lib of CLIENT_LIBS) {
      it(`${lib}: the user with its password only`, async () => {
        await assertWorks(lib, srv.port, { user: 'nats_client', pass: 'T0pS3cr3t' });
        await assertConnectRefused(lib, srv.port, { user: 'nats_client', pass: 't0ps3cr3t' }, 'wrong password');
        await assertConnectRefused(lib, srv.port, { user: 'NATS_CLIENT', pass: 'T0pS3cr3t' }, 'user names are case-sensitive');
        await assertConnectRefused(lib, srv.port, { user: 'nats_client' }, 'no password');
        await assertConnectRefused(lib, srv.port, { token: 'T0pS3cr3t' }, 'the password as a token');
        await assertConnectRefused(lib, srv.port, {}, 'no credentials');
      });
    }

    it('a raw CONNECT with a wrong password gets Authorization Violation and a close', async () => {
      await assertRawRefused(srv.port, { user: 'nats_client', pass: 'x' });
    });
  });

  describe(`nkey users (${kind})`, () => {
    const alice = createUser();
    const bob = createUser();
    const stranger = createUser();
    const aliceSeed = dec.decode(alice.getSeed());
    let srv: Running;
    before(async () => {
      srv = await startTarget(kind, {
        authorization: {
          users: [
            { nkey: alice.getPublicKey() },
            { nkey: bob.getPublicKey(), permissions: { publish: 'bob.>', subscribe: 'bob.>' } },
            { user: 'carol', password: 'carol-pass' },
          ],
        },
      });
    });
    after(() => srv.stop());

    it('INFO carries auth_required and a fresh nonce per connection', async () => {
      const a = await info(srv.port);
      const b = await info(srv.port);
      assert.equal(a.auth_required, true);
      assert.equal(typeof a.nonce, 'string');
      assert.match(a.nonce as string, /^[A-Za-z0-9_-]{11,}$/);
      assert.notEqual(a.nonce, b.nonce);
    });

    for (const lib of CLIENT_LIBS) {
      it(`${lib}: nkeyAuthenticator signs the nonce; an unknown key is refused`, async () => {
        await assertWorks(lib, srv.port, { seed: aliceSeed });
        await assertWorks(lib, srv.port, { seed: dec.decode(bob.getSeed()) }, 'bob.check');
        await assertWorks(lib, srv.port, { user: 'carol', pass: 'carol-pass' });
        await assertConnectRefused(lib, srv.port, { seed: dec.decode(stranger.getSeed()) }, 'unknown nkey');
        await assertConnectRefused(lib, srv.port, {}, 'no credentials');
      });
    }

    it('bob connected by nkey gets his permissions', async () => {
      const c = await connectAs('v3', srv.port, { seed: dec.decode(bob.getSeed()) });
      try {
        c.pub('alice.x');
        await waitUntil(() => c.errors.length === 1, 2000, 'a publish violation');
        assert.deepEqual(c.errors, ['Permissions Violation for Publish to "alice.x"']);
        assert.equal(c.isClosed(), false);
      } finally {
        await c.close();
      }
    });

    it('a raw CONNECT with a signature of another nonce, a wrong key, or no signature is refused', async () => {
      const s = await RawSession.connect(srv.port);
      const other = await RawSession.connect(srv.port);
      try {
        // Signed correctly, but the nonce of another connection.
        const sig = Buffer.from(alice.sign(enc.encode(other.info.nonce as string))).toString('base64url');
        s.send(`CONNECT ${JSON.stringify({ verbose: false, nkey: alice.getPublicKey(), sig })}\r\nPING\r\n`);
        assert.equal(await s.waitClosed(3000), true);
        assert.equal(s.text(), "-ERR 'Authorization Violation'\r\n");
        // The right nonce signed by another key.
        const wrong = Buffer.from(stranger.sign(enc.encode(other.info.nonce as string))).toString('base64url');
        other.send(`CONNECT ${JSON.stringify({ verbose: false, nkey: alice.getPublicKey(), sig: wrong })}\r\nPING\r\n`);
        assert.equal(await other.waitClosed(3000), true);
        assert.equal(other.text(), "-ERR 'Authorization Violation'\r\n");
      } finally {
        s.close();
        other.close();
      }
      await assertRawRefused(srv.port, { nkey: alice.getPublicKey() });
      await assertRawRefused(srv.port, { nkey: alice.getPublicKey(), sig: 'not base64 !' });
      await assertRawRefused(srv.port, { nkey: 'UNOTAKEY', sig: 'AAAA' });
    });

    it('a raw CONNECT signing its own nonce is accepted', async () => {
      const s = await RawSession.connect(srv.port);
      try {
        const sig = Buffer.from(alice.sign(enc.encode(s.info.nonce as string))).toString('base64url');
        const out = await s.request(`CONNECT ${JSON.stringify({ verbose: false, nkey: alice.getPublicKey(), sig })}\r\nPING\r\n`, 'PONG\r\n');
        assert.equal(out, 'PONG\r\n');
      } finally {
        s.close();
      }
    });
  });

  describe(`no_auth_user (${kind})`, () => {
    let srv: Running;
    before(async () => {
      srv = await startTarget(kind, {
        authorization: {
          users: [
            { user: 'guest', password: 'guest-pass', permissions: { publish: 'public.>', subscribe: ['public.>', '_INBOX.>'] } },
            { user: 'admin', password: 'admin-pass' },
          ],
        },
        no_auth_user: 'guest',
      });
    });
    after(() => srv.stop());

    for (const lib of CLIENT_LIBS) {
      it(`${lib}: no credentials means the guest, with the guest's permissions`, async () => {
        const guest = await connectAs(lib, srv.port);
        const admin = await connectAs(lib, srv.port, { user: 'admin', pass: 'admin-pass' });
        try {
          const adminGot = admin.sub('>');
          await admin.flush();
          const guestGot = guest.sub('public.news');
          await guest.flush();
          guest.pub('public.news', 'hi');
          guest.pub('private.x', 'no');
          admin.pub('public.news', 'from admin');
          await waitUntil(() => guest.errors.length === 1 && guestGot.length === 2, 2000, 'guest violation and deliveries');
          await settle([guest, admin]);
          assert.deepEqual(guest.errors, ['Permissions Violation for Publish to "private.x"']);
          assert.deepEqual(seen(guestGot), ['public.news from admin', 'public.news hi']);
          assert.deepEqual(seen(adminGot), ['public.news from admin', 'public.news hi']);
          assert.equal(guest.isClosed(), false, 'a permission violation does not close the connection');
        } finally {
          await closeAll([guest, admin]);
        }
      });

      it(`${lib}: wrong credentials are refused, not mapped to the guest`, async () => {
        await assertConnectRefused(lib, srv.port, { user: 'admin', pass: 'nope' });
        await assertConnectRefused(lib, srv.port, { user: 'guest', pass: 'nope' });
      });
    }
  });

  describe(`authorization timeout (${kind})`, () => {
    let srv: Running;
    before(async () => {
      srv = await startTarget(kind, { authorization: { user: 'u', password: 'p', timeout: 0.4 } });
    });
    after(() => srv.stop());

    it("a silent connection gets 'Authentication Timeout' and a close after `timeout` seconds", async () => {
      const t0 = Date.now();
      const s = await RawSession.connect(srv.port);
      try {
        assert.equal(await s.waitClosed(3000), true);
        const elapsed = Date.now() - t0;
        assert.equal(s.text(), "-ERR 'Authentication Timeout'\r\n");
        assert.ok(elapsed >= 350 && elapsed < 1500, `closed after ${elapsed}ms`);
      } finally {
        s.close();
      }
    });

    it('a connection that authenticated in time outlives the timeout', async () => {
      const c = await connectAs('v2', srv.port, { user: 'u', pass: 'p' });
      try {
        await new Promise((r) => setTimeout(r, 600));
        assert.equal(c.isClosed(), false);
        await c.flush();
      } finally {
        await c.close();
      }
    });
  });
}

describe('bcrypt from config files (unquoted $2a$ hashes)', () => {
  for (const kind of FILE_KINDS) {
    describe(kind, () => {
      let users: Running;
      let token: Running;
      before(async () => {
        users = await startFromFile(kind, path.join(E2E_FIXTURES, 'bcrypt-users.conf'));
        token = await startFromFile(kind, path.join(E2E_FIXTURES, 'bcrypt-token.conf'));
      });
      after(() => closeAll([users, token].map((s) => ({ close: () => s?.stop() }))));

      for (const lib of CLIENT_LIBS) {
        it(`${lib}: users list with a bcrypt and a plain password`, async () => {
          await assertWorks(lib, users.port, { user: 'alice', pass: 'alice-bcrypt' });
          await assertWorks(lib, users.port, { user: 'bob', pass: 'bob-plain' });
          await assertConnectRefused(lib, users.port, { user: 'alice', pass: 'alice-bcryp' }, 'wrong password');
          await assertConnectRefused(lib, users.port, {
            user: 'alice', pass: '$2a$04$Xb3YuUN.RrHMhKCMa2My8ObZ4pafKR/zBppajjakVJ82NDjlVYjOe',
          }, 'the hash itself');
          await assertConnectRefused(lib, users.port, { user: 'bob', pass: 'alice-bcrypt' }, "alice's password for bob");
        });

        it(`${lib}: bcrypt token`, async () => {
          await assertWorks(lib, token.port, { token: 'token-bcrypt' });
          await assertConnectRefused(lib, token.port, { token: '$2a$04$WN6QJE8VXyEiiW0fNjXVVek4lkzwahgum5JUhJVTLmAO1iRcdXicW' }, 'the hash itself');
          await assertConnectRefused(lib, token.port, { token: 'token-bcryp' }, 'wrong token');
        });
      }
    });
  }
});

describe('seed fixtures from config files', () => {
  for (const kind of FILE_KINDS) {
    it(`${kind}: helm-single-user.conf (nats.auth.user/password)`, async () => {
      const srv = await startFromFile(kind, path.join(SECURITY_FIXTURES, 'helm-single-user.conf'));
      try {
        assert.equal((await info(srv.port)).auth_required, true);
        await assertWorks('v3', srv.port, { user: 'nats_client', pass: 'T0pS3cr3t' });
        await assertConnectRefused('v2', srv.port, { user: 'nats_client', pass: 'wrong' });
      } finally {
        await srv.stop();
      }
    });

    it(`${kind}: --user/--pass and --auth on the command line`, async () => {
      const up = await startFromFile(kind, null, ['--user', 'cli-user', '--pass', 'cli-pass']);
      const tok = await startFromFile(kind, null, ['--auth', 'cli-token']);
      try {
        await assertWorks('v2', up.port, { user: 'cli-user', pass: 'cli-pass' });
        await assertConnectRefused('v3', up.port, { user: 'cli-user', pass: 'x' });
        await assertWorks('v3', tok.port, { token: 'cli-token' });
        await assertConnectRefused('v2', tok.port, { token: 'x' });
      } finally {
        await up.stop();
        await tok.stop();
      }
    });
  }
});

describe('bad input', () => {
  for (const kind of KINDS) {
    it(`${kind}: a token guessed in a loop is refused every time and the server keeps serving`, async () => {
      const srv = await startTarget(kind, { authorization: { token: 'right-token' } });
      try {
        const guesses = Array.from({ length: 60 }, (_, i) => `guess-${i}`);
        for (let i = 0; i < guesses.length; i += 15) {
          await Promise.all(guesses.slice(i, i + 15).map((g) => assertRawRefused(srv.port, { auth_token: g })));
        }
        await assertWorks('v3', srv.port, { token: 'right-token' });
      } finally {
        await srv.stop();
      }
    });

    it(`${kind}: no_auth_user inside an account puts anonymous clients in that account`, async () => {
      const srv = await startTarget(kind, {
        accounts: {
          A: { users: [{ user: 'guest', password: 'guest-pass' }, { user: 'a', password: 'a' }] },
          B: { users: [{ user: 'b', password: 'b' }] },
        },
        no_auth_user: 'guest',
      });
      const anon = await connectAs('v2', srv.port);
      const a = await connectAs('v3', srv.port, { user: 'a', pass: 'a' });
      const b = await connectAs('v3', srv.port, { user: 'b', pass: 'b' });
      try {
        const gotA = a.sub('room');
        const gotB = b.sub('room');
        await settle([a, b], 0);
        anon.pub('room', 'anonymous');
        await waitUntil(() => gotA.length === 1, 2000, 'A gets the anonymous message');
        await settle([anon, a, b]);
        assert.deepEqual(seen(gotA), ['room anonymous']);
        assert.deepEqual(gotB, [], 'B does not');
      } finally {
        await closeAll([anon, a, b]);
        await srv.stop();
      }
    });
  }
});
