/**
 * Permissions end to end: per-user lists and allow/deny with wildcards,
 * default_permissions, queue-group subscribe permissions, allow_responses,
 * and delivery filtering under a wildcard subscription. Exact `-ERR` bytes
 * come from raw sessions; the official clients show the connection stays
 * usable and what they report. Every case runs against nats-server 2.9.10
 * first, so the expectations are the reference's.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RawSession } from '../helpers/session.js';
import { sleep, waitUntil } from '../helpers/wait.js';
import {
  CLIENT_LIBS, closeAll, connectAs, SECURITY_FIXTURES, settle, seen, startFromFile, startTarget,
  type Kind, type Running,
} from './helpers.js';

const KINDS: readonly Kind[] = ['nats-server', 'natter'];

const P = 'pw';
const CONFIG = {
  authorization: {
    default_permissions: { publish: ['SANDBOX.*'], subscribe: ['PUBLIC.>', '_INBOX.>'] },
    users: [
      { user: 'dflt', password: P },
      {
        user: 'lister', password: P,
        permissions: { publish: ['events.mysubject.>', 'system-events.mysubject'], subscribe: ['events.somesubject'] },
      },
      {
        user: 'ad', password: P,
        permissions: {
          publish: { allow: ['foo.*', 'bar.>'], deny: ['foo.secret', 'bar.private.>'] },
          subscribe: { allow: ['foo.>', 'bar.*', '_INBOX.>'], deny: ['foo.secret', 'foo.hidden.*'] },
        },
      },
      {
        user: 'denyonly', password: P,
        permissions: { pub: { deny: ['admin.>'] }, sub: { deny: ['admin.>', '*.secret'] } },
      },
      {
        user: 'worker', password: P,
        permissions: { publish: ['_INBOX.>'], subscribe: { allow: ['jobs.* workers', 'tasks', 'tasks v1', 'any.> *'], deny: ['tasks v2'] } },
      },
      { user: 'resp', password: P, permissions: { subscribe: 'svc.>', allow_responses: true } },
      { user: 'resp2', password: P, permissions: { subscribe: 'svc2.>', allow_responses: { max: 2, expires: '400ms' } } },
      { user: 'admin', password: P, permissions: { publish: '>', subscribe: '>' } },
      {
        user: 'many', password: P,
        permissions: { publish: { allow: 'ok.>', deny: 'ok.secret.*' }, subscribe: { allow: '>', deny: ['ok.secret.*', 'ok.*.hidden'] } },
      },
    ],
  },
};

/** A raw connection logged in as `user`. */
async function raw(port: number, user: string): Promise<RawSession> {
  const s = await RawSession.connect(port);
  const out = await s.request(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, user, pass: P })}\r\nPING\r\n`, 'PONG\r\n');
  assert.equal(out, 'PONG\r\n', `${user} logs in`);
  return s;
}

/** Sends `cmds` then PING; returns everything up to and including the PONG. */
async function exchange(s: RawSession, cmds: string): Promise<string> {
  s.send(cmds);
  return s.sync(3000);
}

const pubErr = (subject: string): string => `-ERR 'Permissions Violation for Publish to "${subject}"'\r\n`;
const subErr = (subject: string, queue?: string): string =>
  `-ERR 'Permissions Violation for Subscription to "${subject}"${queue !== undefined ? ` using queue "${queue}"` : ''}'\r\n`;

for (const kind of KINDS) {
  describe(`permissions (${kind})`, () => {
    let srv: Running;
    before(async () => {
      srv = await startTarget(kind, CONFIG);
    });
    after(() => srv.stop());

    it('default_permissions apply to a user without permissions', async () => {
      const s = await raw(srv.port, 'dflt');
      try {
        const out = await exchange(s, [
          'PUB SANDBOX.a 0\r\n\r\n', 'PUB SANDBOX.a.b 0\r\n\r\n', 'PUB other 0\r\n\r\n',
          'SUB PUBLIC.> 1\r\n', 'SUB PUBLIC.x.y 2\r\n', 'SUB SANDBOX.a 3\r\n', 'SUB > 4\r\n',
        ].join(''));
        assert.equal(out, pubErr('SANDBOX.a.b') + pubErr('other') + subErr('SANDBOX.a') + subErr('>') + 'PONG\r\n');
        assert.equal(s.closed, false);
      } finally {
        s.close();
      }
    });

    it('publish and subscribe lists with * and > (the chart jwtUsers rules)', async () => {
      const s = await raw(srv.port, 'lister');
      try {
        const out = await exchange(s, [
          'PUB events.mysubject.a 0\r\n\r\n', 'PUB events.mysubject.a.b 0\r\n\r\n', 'PUB events.mysubject 0\r\n\r\n',
          'PUB system-events.mysubject 0\r\n\r\n', 'PUB system-events.mysubject.x 0\r\n\r\n', 'PUB events.other 0\r\n\r\n',
          'SUB events.somesubject 1\r\n', 'SUB events.* 2\r\n', 'SUB events.> 3\r\n', 'SUB events.somesubject.x 4\r\n',
        ].join(''));
        assert.equal(out, pubErr('events.mysubject') + pubErr('system-events.mysubject.x') + pubErr('events.other')
          + subErr('events.*') + subErr('events.>') + subErr('events.somesubject.x') + 'PONG\r\n');
        assert.equal(s.closed, false);
      } finally {
        s.close();
      }
    });

    it('allow and deny with wildcards; the connection stays open after every violation', async () => {
      const s = await raw(srv.port, 'ad');
      try {
        const out = await exchange(s, [
          'PUB foo.x 0\r\n\r\n', 'PUB foo.secret 0\r\n\r\n', 'PUB foo.x.y 0\r\n\r\n', 'PUB bar.a.b 0\r\n\r\n',
          'PUB bar.private.x 0\r\n\r\n', 'PUB bar.private 0\r\n\r\n',
          'SUB foo.x 1\r\n', 'SUB foo.secret 2\r\n', 'SUB foo.hidden.a 3\r\n', 'SUB foo.> 4\r\n', 'SUB foo.hidden.a.b 5\r\n',
          'SUB bar.x 6\r\n', 'SUB bar.x.y 7\r\n',
        ].join(''));
        assert.equal(out, pubErr('foo.secret') + pubErr('foo.x.y') + pubErr('bar.private.x')
          + subErr('foo.secret') + subErr('foo.hidden.a') + subErr('bar.x.y') + 'PONG\r\n');
        assert.equal(s.closed, false);
        // Still a working connection.
        assert.equal(await exchange(s, 'PUB foo.y 2\r\nok\r\n'), 'MSG foo.y 4 2\r\nok\r\nPONG\r\n');
      } finally {
        s.close();
      }
    });

    it('deny-only lists leave everything else open', async () => {
      const s = await raw(srv.port, 'denyonly');
      try {
        const out = await exchange(s, [
          'PUB anything.at.all 0\r\n\r\n', 'PUB admin.x 0\r\n\r\n', 'PUB admin 0\r\n\r\n',
          'SUB x.secret 1\r\n', 'SUB x.public 2\r\n', 'SUB admin.> 3\r\n',
        ].join(''));
        assert.equal(out, pubErr('admin.x') + subErr('x.secret') + subErr('admin.>') + 'PONG\r\n');
      } finally {
        s.close();
      }
    });

    it('a wildcard subscription does not receive the subjects its user may not subscribe to', async () => {
      const s = await raw(srv.port, 'ad');
      const admin = await raw(srv.port, 'admin');
      const d = await raw(srv.port, 'denyonly');
      try {
        assert.equal(await exchange(s, 'SUB foo.> 1\r\nSUB foo.* 2\r\n'), 'PONG\r\n');
        assert.equal(await exchange(d, 'SUB > 9\r\n'), 'PONG\r\n');
        assert.equal(await exchange(admin, [
          'PUB foo.a 1\r\na\r\n', 'PUB foo.secret 1\r\ns\r\n', 'PUB foo.hidden.z 1\r\nh\r\n', 'PUB foo.b.c 1\r\nb\r\n',
          'PUB x.secret 1\r\nx\r\n', 'PUB admin.cmd 1\r\nc\r\n', 'PUB ok 1\r\nk\r\n',
        ].join('')), 'PONG\r\n');
        await sleep(50);
        assert.equal(await exchange(s, ''),
          'MSG foo.a 1 1\r\na\r\nMSG foo.a 2 1\r\na\r\nMSG foo.b.c 1 1\r\nb\r\nPONG\r\n');
        assert.equal(await exchange(d, ''),
          'MSG foo.a 9 1\r\na\r\nMSG foo.hidden.z 9 1\r\nh\r\nMSG foo.b.c 9 1\r\nb\r\nMSG ok 9 1\r\nk\r\nPONG\r\n',
          'denyonly may not subscribe to *.secret or admin.>, so its > subscription gets neither');
      } finally {
        s.close();
        admin.close();
        d.close();
      }
    });

    it('queue-group subscribe permissions ("subject queue")', async () => {
      const s = await raw(srv.port, 'worker');
      try {
        const out = await exchange(s, [
          'SUB jobs.a workers 1\r\n', 'SUB jobs.a 2\r\n', 'SUB jobs.a other 3\r\n', 'SUB jobs.* workers 4\r\n',
          'SUB tasks 5\r\n', 'SUB tasks v1 6\r\n', 'SUB tasks v2 7\r\n', 'SUB tasks v3 8\r\n',
          'SUB any.thing q1 9\r\n', 'SUB any.thing 10\r\n',
        ].join(''));
        assert.equal(out, subErr('jobs.a') + subErr('jobs.a', 'other') + subErr('tasks', 'v2') + subErr('tasks', 'v3')
          + subErr('any.thing') + 'PONG\r\n');
        assert.equal(s.closed, false);
      } finally {
        s.close();
      }
    });

    for (const lib of CLIENT_LIBS) {
      it(`${lib}: queue workers share jobs; refused subscriptions are reported, the connection stays`, async () => {
        const w1 = await connectAs(lib, srv.port, { user: 'worker', pass: P });
        const w2 = await connectAs(lib, srv.port, { user: 'worker', pass: P });
        const admin = await connectAs(lib, srv.port, { user: 'admin', pass: P });
        try {
          const g1 = w1.sub('jobs.build', 'workers');
          const g2 = w2.sub('jobs.build', 'workers');
          w1.sub('jobs.build');
          w2.sub('jobs.build', 'thieves');
          await waitUntil(() => w1.errors.length === 1 && w2.errors.length === 1, 2000, 'both refusals reported');
          assert.deepEqual(w1.errors, ['Permissions Violation for Subscription to "jobs.build"']);
          assert.deepEqual(w2.errors, ['Permissions Violation for Subscription to "jobs.build" using queue "thieves"']);
          for (let i = 0; i < 20; i++) admin.pub('jobs.build', String(i));
          await waitUntil(() => g1.length + g2.length === 20, 2000, 'every job delivered once');
          await settle([w1, w2, admin]);
          assert.equal(g1.length + g2.length, 20);
          assert.deepEqual([...g1, ...g2].map((m) => Number(m.data)).sort((a, b) => a - b), [...Array(20).keys()]);
          assert.equal(w1.isClosed() || w2.isClosed(), false);
        } finally {
          await closeAll([w1, w2, admin]);
        }
      });

      it(`${lib}: allow_responses: true lets a responder answer once per request, nothing else`, async () => {
        const resp = await connectAs(lib, srv.port, { user: 'resp', pass: P });
        const admin = await connectAs(lib, srv.port, { user: 'admin', pass: P });
        try {
          resp.serve('svc.>', (data) => [`one:${data}`, `two:${data}`]);
          await resp.flush();
          const got = await admin.requestMany('svc.echo', 'x', 150);
          assert.deepEqual(got, ['one:x']);
          assert.equal(resp.errors.length, 1);
          assert.match(resp.errors[0], /^Permissions Violation for Publish to "_INBOX\.[^"]+"$/);
          assert.equal(await admin.request('svc.again', 'y'), 'one:y', 'the next request gets its answer');
          resp.pub('elsewhere', 'z');
          await waitUntil(() => resp.errors.length === 3, 2000, 'second answer and stray publish refused');
          assert.equal(resp.errors[2], 'Permissions Violation for Publish to "elsewhere"');
          assert.equal(resp.isClosed(), false);
        } finally {
          await closeAll([resp, admin]);
        }
      });
    }

    it('allow_responses: exact bytes for a second answer and for an unknown reply subject', async () => {
      const resp = await raw(srv.port, 'resp');
      const admin = await raw(srv.port, 'admin');
      try {
        assert.equal(await exchange(resp, 'SUB svc.> 1\r\n'), 'PONG\r\n');
        assert.equal(await exchange(admin, 'SUB reply.> 1\r\nPUB svc.a reply.1 1\r\nq\r\n'), 'PONG\r\n');
        await resp.until('MSG svc.a 1 reply.1 1\r\nq\r\n');
        assert.equal(await exchange(resp, 'PUB reply.1 2\r\na1\r\nPUB reply.1 2\r\na2\r\nPUB reply.2 2\r\na3\r\n'),
          pubErr('reply.1') + pubErr('reply.2') + 'PONG\r\n');
        await sleep(30);
        assert.equal(await exchange(admin, ''), 'MSG reply.1 1 2\r\na1\r\nPONG\r\n');
        assert.equal(resp.closed, false);
      } finally {
        resp.close();
        admin.close();
      }
    });

    it('allow_responses { max: 2, expires }: two answers, then none; expired replies refused', async () => {
      const resp = await raw(srv.port, 'resp2');
      const admin = await raw(srv.port, 'admin');
      try {
        assert.equal(await exchange(resp, 'SUB svc2.> 1\r\n'), 'PONG\r\n');
        assert.equal(await exchange(admin, 'SUB r.> 1\r\nPUB svc2.a r.1 1\r\nq\r\nPUB svc2.b r.2 1\r\nq\r\n'), 'PONG\r\n');
        await resp.until('MSG svc2.b 1 r.2 1\r\nq\r\n');
        assert.equal(await exchange(resp, 'PUB r.1 1\r\n1\r\nPUB r.1 1\r\n2\r\nPUB r.1 1\r\n3\r\n'), pubErr('r.1') + 'PONG\r\n');
        await sleep(550);
        assert.equal(await exchange(resp, 'PUB r.2 1\r\nx\r\n'), pubErr('r.2') + 'PONG\r\n', 'expired');
        assert.equal(await exchange(admin, ''), 'MSG r.1 1 1\r\n1\r\nMSG r.1 1 1\r\n2\r\nPONG\r\n');
      } finally {
        resp.close();
        admin.close();
      }
    });

    it('decisions stay right after thousands of distinct subjects (the permission caches)', async () => {
      const s = await raw(srv.port, 'many');
      const admin = await raw(srv.port, 'admin');
      try {
        assert.equal(await exchange(s, 'SUB ok.> 1\r\n'), 'PONG\r\n');
        let cmds = '';
        for (let i = 0; i < 2500; i++) cmds += `PUB ok.${i} 0\r\n\r\n`;
        const first = await exchange(s, cmds + 'PUB ok.secret.x 0\r\n\r\n');
        assert.equal((first.match(/^MSG /gm) ?? []).length, 2500);
        assert.ok(first.endsWith(pubErr('ok.secret.x') + 'PONG\r\n'), 'denied after the caches filled');
        let flood = '';
        for (let i = 0; i < 2500; i++) flood += `PUB ok.x${i}.hidden 0\r\n\r\n`;
        assert.equal(await exchange(admin, flood + 'PUB ok.secret.z 0\r\n\r\nPUB ok.visible 0\r\n\r\n'), 'PONG\r\n');
        await sleep(50);
        assert.equal(await exchange(s, ''), 'MSG ok.visible 1 0\r\n\r\nPONG\r\n', 'denied deliveries filtered after the caches filled');
      } finally {
        s.close();
        admin.close();
      }
    });

    for (const lib of CLIENT_LIBS) {
      it(`${lib}: publish violations are reported and the connection keeps working`, async () => {
        const c = await connectAs(lib, srv.port, { user: 'ad', pass: P });
        try {
          const got = c.sub('foo.>');
          c.pub('foo.secret', 's');
          c.pub('bar.private.key', 'k');
          c.pub('foo.open', 'o');
          await waitUntil(() => c.errors.length === 2 && got.length === 1, 2000, 'two violations, one delivery');
          assert.deepEqual(c.errors, [
            'Permissions Violation for Publish to "foo.secret"',
            'Permissions Violation for Publish to "bar.private.key"',
          ]);
          assert.deepEqual(seen(got), ['foo.open o']);
          await c.flush();
          assert.equal(c.isClosed(), false);
        } finally {
          await c.close();
        }
      });
    }
  });
}

describe('seed permissions from config files', () => {
  for (const kind of ['nats-server', 'natter-cli'] as const) {
    it(`${kind}: operator-tls-users.conf default_permissions and per-user rules`, async () => {
      const srv = await startFromFile(kind, path.join(SECURITY_FIXTURES, 'operator-tls-users.conf'));
      const acme = await RawSession.connect(srv.port);
      const cncf = await RawSession.connect(srv.port);
      try {
        const login = (s: RawSession, user: string, pass: string): Promise<string> =>
          s.request(`CONNECT ${JSON.stringify({ verbose: false, user, pass })}\r\nPING\r\n`, 'PONG\r\n');
        assert.equal(await login(acme, 'CN=nats.io,OU=ACME', 'acme-pass'), 'PONG\r\n');
        assert.equal(await login(cncf, 'CN=nats.io,OU=CNCF', 'cncf-pass'), 'PONG\r\n');
        assert.equal(await exchange(acme, 'SUB PUBLIC.> 1\r\nSUB hello.world 2\r\nPUB SANDBOX.x 0\r\n\r\nPUB hello.x 0\r\n\r\n'),
          subErr('hello.world') + pubErr('hello.x') + 'PONG\r\n');
        assert.equal(await exchange(cncf, 'SUB hello.world 1\r\nSUB PUBLIC.> 2\r\nPUB hello.world 2\r\nhi\r\nPUB SANDBOX.x 0\r\n\r\n'),
          subErr('PUBLIC.>') + 'MSG hello.world 1 2\r\nhi\r\n' + pubErr('SANDBOX.x') + 'PONG\r\n');
      } finally {
        acme.close();
        cncf.close();
        await srv.stop();
      }
    });

    it(`${kind}: helm-permissions.conf (stan/nats permissions of my-service)`, async () => {
      const srv = await startFromFile(kind, path.join(SECURITY_FIXTURES, 'helm-permissions.conf'));
      const c = await connectAs('v3', srv.port, { user: 'my-service', pass: 'my-service-pass' });
      const n = await connectAs('v2', srv.port, { user: 'my-service-nats', pass: 'my-service-nats-pass' });
      try {
        const got = c.sub('events.somesubject');
        c.sub('events.>');
        n.pub('events.mysubject1', 'ok');
        n.pub('events.somesubject', 'no');
        c.pub('events.mysubject.a.b', 'ok');
        c.pub('system-events.mysubject', 'ok');
        c.pub('events.somesubject', 'no');
        await waitUntil(() => c.errors.length === 2 && n.errors.length === 1, 2000, 'violations reported');
        await settle([c, n]);
        assert.deepEqual(c.errors, [
          'Permissions Violation for Subscription to "events.>"',
          'Permissions Violation for Publish to "events.somesubject"',
        ]);
        assert.deepEqual(n.errors, ['Permissions Violation for Publish to "events.somesubject"']);
        assert.deepEqual(got, []);
      } finally {
        await closeAll([c, n]);
        await srv.stop();
      }
    });
  }
});
