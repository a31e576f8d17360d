/**
 * Accounts end to end with both official clients: isolation between
 * accounts and the global account, stream imports (prefix, to), service
 * imports (to, request/reply across accounts, response_type stream vs
 * singleton, queue responders), private exports and import cycles refused
 * at load, and the KubeCon CHAT/ADMIN walkthrough as static accounts.
 * Every runtime case runs against nats-server 2.9.10 first.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NATS_SERVER_BIN } from '../helpers/nats-server.js';
import { freePort } from '../helpers/ports.js';
import { sleep, waitUntil } from '../helpers/wait.js';
import { RawSession } from '../helpers/session.js';
import {
  CLIENT_LIBS, closeAll, confFile, connectAs, NATTER_CLI, SECURITY_FIXTURES, settle, seen, startFromFile,
  startTarget, tempConf, type Conn, type Kind, type Running,
} from './helpers.js';
import { startNatter } from '../helpers/natter.js';
import { CHAT_ACCESS, CHAT_USER } from '../auth/keys.js';

const KINDS: readonly Kind[] = ['nats-server', 'natter'];
const P = 'pw';

const CONFIG = {
  authorization: { users: [{ user: 'g', password: P }] },
  accounts: {
    A: {
      users: [{ user: 'a', password: P }, { user: 'a2', password: P }],
      exports: [
        { stream: 'a.>' },
        { service: 'svc.single' },
        { service: 'svc.stream', response_type: 'stream' },
        { service: 'svc.wild.*' },
        { stream: 'private.>', accounts: ['B'] },
        { service: 'svc.private', accounts: ['B'] },
      ],
    },
    B: {
      users: [{ user: 'b', password: P }],
      imports: [
        { stream: { account: 'A', subject: 'a.>' }, prefix: 'fromA' },
        { stream: { account: 'A', subject: 'a.special' }, to: 'special.local' },
        { stream: { account: 'A', subject: 'private.>' } },
        { service: { account: 'A', subject: 'svc.single' }, to: 'single' },
        { service: { account: 'A', subject: 'svc.stream' }, to: 'stream' },
        { service: { account: 'A', subject: 'svc.wild.*' } },
        { service: { account: 'A', subject: 'svc.private' }, to: 'private.svc' },
      ],
    },
    C: { users: [{ user: 'c', password: P }] },
  },
};

async function login(lib: (typeof CLIENT_LIBS)[number], port: number, user: string): Promise<Conn> {
  return connectAs(lib, port, { user, pass: P });
}

for (const kind of KINDS) {
  describe(`accounts (${kind})`, () => {
    let srv: Running;
    before(async () => {
      srv = await startTarget(kind, CONFIG);
    });
    after(() => srv.stop());

    for (const lib of CLIENT_LIBS) {
      it(`${lib}: accounts and $G are isolated subject spaces`, async () => {
        const users = ['g', 'a', 'b', 'c'];
        const conns = await Promise.all(users.map((u) => login(lib, srv.port, u)));
        try {
          const got = conns.map((c) => c.sub('iso.>'));
          await settle(conns, 0);
          conns.forEach((c, i) => c.pub(`iso.${users[i]}`, users[i]));
          await waitUntil(() => got.every((g) => g.length >= 1), 2000, 'each account sees its own message');
          await settle(conns);
          assert.deepEqual(got.map(seen), users.map((u) => [`iso.${u} ${u}`]));
        } finally {
          await closeAll(conns);
        }
      });

      it(`${lib}: stream import with prefix and with to`, async () => {
        const [a, b, c, g] = await Promise.all(['a', 'b', 'c', 'g'].map((u) => login(lib, srv.port, u)));
        try {
          const gotB = b.sub('>');
          const gotC = c.sub('>');
          const gotG = g.sub('>');
          const gotA = a.sub('a.>');
          await settle([b, c, g, a], 0);
          a.pub('a.x', '1');
          a.pub('a.y.z', '2');
          a.pub('a.special', '3');
          a.pub('private.p', '4');
          a.pub('notexported', '5');
          await waitUntil(() => gotB.length === 5 && gotA.length === 3, 2000, 'imports delivered');
          await settle([a, b, c, g]);
          assert.deepEqual(seen(gotB), [
            'fromA.a.special 3', 'fromA.a.x 1', 'fromA.a.y.z 2', 'private.p 4', 'special.local 3',
          ]);
          assert.deepEqual(seen(gotA), ['a.special 3', 'a.x 1', 'a.y.z 2']);
          assert.deepEqual(gotC, [], 'C imports nothing');
          assert.deepEqual(gotG, [], '$G imports nothing');
          // Publishing the imported subject in B does not flow back to A.
          b.pub('fromA.a.x', 'back');
          b.pub('a.x', 'back');
          await settle([a, b]);
          assert.deepEqual(seen(gotA), ['a.special 3', 'a.x 1', 'a.y.z 2']);
        } finally {
          await closeAll([a, b, c, g]);
        }
      });

      it(`${lib}: service import with to; requests cross accounts and replies come back`, async () => {
        const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((u) => login(lib, srv.port, u)));
        try {
          const seenByA = a.sub('svc.>');
          a.serve('svc.single', (d, s) => [`single:${s}:${d}`]);
          a.serve('svc.wild.*', (d, s) => [`wild:${s}:${d}`]);
          a.serve('svc.private', (d) => [`private:${d}`]);
          await a.flush();
          assert.equal(await b.request('single', 'q1'), 'single:svc.single:q1');
          assert.equal(await b.request('svc.wild.7', 'q2'), 'wild:svc.wild.7:q2');
          assert.equal(await b.request('private.svc', 'q3'), 'private:q3');
          // The responder saw the exporter's subjects and a private reply subject, not B's inbox.
          await waitUntil(() => seenByA.length === 3, 2000, 'A saw three requests');
          for (const m of seenByA) assert.match(m.reply, /^_R_\.[^.]+/, `reply of ${m.subject} is mapped: ${m.reply}`);
          assert.deepEqual(seenByA.map((m) => m.subject).sort(), ['svc.private', 'svc.single', 'svc.wild.7']);
          // C has no import, $G neither: nobody answers there.
          await assert.rejects(c.request('single', 'x', 300));
          await assert.rejects(c.request('svc.single', 'x', 300));
        } finally {
          await closeAll([a, b, c]);
        }
      });

      it(`${lib}: response_type stream delivers every response, singleton only the first`, async () => {
        const [a, b] = await Promise.all(['a', 'b'].map((u) => login(lib, srv.port, u)));
        try {
          const three = (d: string): string[] => [`${d}-1`, `${d}-2`, `${d}-3`];
          a.serve('svc.stream', three);
          a.serve('svc.single', three);
          await a.flush();
          assert.deepEqual(await b.requestMany('stream', 's', 150), ['s-1', 's-2', 's-3']);
          assert.deepEqual(await b.requestMany('single', 'x', 150), ['x-1']);
        } finally {
          await closeAll([a, b]);
        }
      });

      it(`${lib}: queue responders in the exporting account answer once per request`, async () => {
        const [a1, a2, b] = await Promise.all(['a', 'a2', 'b'].map((u) => login(lib, srv.port, u)));
        try {
          let n1 = 0;
          let n2 = 0;
          a1.serve('svc.stream', (d) => {
            n1++;
            return [`r1:${d}`];
          }, 'workers');
          a2.serve('svc.stream', (d) => {
            n2++;
            return [`r2:${d}`];
          }, 'workers');
          await settle([a1, a2], 0);
          const answers: string[] = [];
          for (let i = 0; i < 10; i++) answers.push(await b.request('stream', String(i)));
          assert.deepEqual(answers.map((x) => x.slice(3)), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
          await sleep(50);
          assert.equal(n1 + n2, 10);
        } finally {
          await closeAll([a1, a2, b]);
        }
      });
    }

    it('raw: B publishing with a reply gets its answer on its own reply subject, bytes as sent', async () => {
      const a = await RawSession.connect(srv.port);
      const b = await RawSession.connect(srv.port);
      try {
        await a.request(`CONNECT {"verbose":false,"user":"a","pass":"${P}"}\r\nSUB svc.single 1\r\nPING\r\n`, 'PONG\r\n');
        await b.request(`CONNECT {"verbose":false,"user":"b","pass":"${P}"}\r\nSUB my.reply 7\r\nPUB single my.reply 3\r\nreq\r\nPING\r\n`, 'PONG\r\n');
        const req = await a.until((t) => /MSG svc\.single 1 _R_\.\S+ 3\r\nreq\r\n/.test(t));
        const reply = /MSG svc\.single 1 (\S+) 3/.exec(req)?.[1] as string;
        a.send(`PUB ${reply} 4\r\nresp\r\nPUB ${reply} 5\r\nresp2\r\nPING\r\n`);
        await a.until('PONG\r\n');
        await sleep(30);
        assert.equal(await b.sync(), 'MSG my.reply 7 4\r\nresp\r\nPONG\r\n', 'singleton: the second response is dropped');
      } finally {
        a.close();
        b.close();
      }
    });

    it('raw: a request with headers crossing a service import carries Nats-Request-Info naming the requesting account', async () => {
      const a = await RawSession.connect(srv.port);
      const b = await RawSession.connect(srv.port);
      try {
        await a.request(`CONNECT {"verbose":false,"headers":true,"user":"a","pass":"${P}"}\r\nSUB svc.single 1\r\nPING\r\n`, 'PONG\r\n');
        const hdr = 'NATS/1.0\r\nX-Trace: 1\r\n\r\n';
        await b.request(`CONNECT {"verbose":false,"headers":true,"user":"b","pass":"${P}"}\r\n`
          + `HPUB single rep ${hdr.length} ${hdr.length + 3}\r\n${hdr}req\r\nPING\r\n`, 'PONG\r\n');
        const got = await a.until((t) => /\r\nreq\r\n/.test(t));
        const m = /^HMSG svc\.single 1 _R_\.\S+ (\d+) (\d+)\r\n/.exec(got);
        assert.ok(m !== null, `an HMSG with a mapped reply: ${JSON.stringify(got)}`);
        const headers = got.slice(got.indexOf('\r\n') + 2, got.indexOf('\r\n') + 2 + Number(m[1]));
        assert.match(headers, /^NATS\/1\.0\r\nX-Trace: 1\r\n/, 'the requester headers are kept');
        const info = /\r\nNats-Request-Info: (\{[^\r]*\})\r\n/.exec(headers);
        assert.ok(info !== null, `nats-server adds Nats-Request-Info to a request crossing accounts: ${JSON.stringify(headers)}`);
        const parsed = JSON.parse(info[1]) as { acc?: unknown; rtt?: unknown };
        assert.equal(parsed.acc, 'B');
        assert.equal(typeof parsed.rtt, 'number');
      } finally {
        a.close();
        b.close();
      }
    });

    it('raw: a request to an imported service nobody serves gets no 503 (the import counts as an interest)', async () => {
      const b = await RawSession.connect(srv.port);
      try {
        await b.request(`CONNECT {"verbose":false,"headers":true,"no_responders":true,"user":"b","pass":"${P}"}\r\n`
          + 'SUB my.reply 1\r\nPUB single my.reply 1\r\nx\r\nPUB nobody.here my.reply 1\r\ny\r\nPING\r\n', 'PONG\r\n');
        await sleep(100);
        // Only the request to a subject with no interest at all gets the no-responders status.
        assert.equal(b.text(), 'HMSG my.reply 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\nPONG\r\n');
      } finally {
        b.close();
      }
    });
  });
}

describe('allow_responses across a service import', () => {
  const CONF = {
    accounts: {
      A: {
        users: [{ user: 'resp', password: P, permissions: { subscribe: 'svc.>', allow_responses: { max: 2 } } }],
        exports: [{ service: 'svc.stream', response_type: 'stream' }, { service: 'svc.single' }],
      },
      B: {
        users: [{ user: 'b', password: P }],
        imports: [{ service: { account: 'A', subject: 'svc.stream' } }, { service: { account: 'A', subject: 'svc.single' } }],
      },
    },
  };
  for (const kind of KINDS) {
    it(`${kind}: a responder without publish rights answers the mapped reply up to max`, async () => {
      const srv = await startTarget(kind, CONF);
      const r = await login('v3', srv.port, 'resp');
      const b = await login('v2', srv.port, 'b');
      try {
        r.serve('svc.>', (d) => [`${d}1`, `${d}2`, `${d}3`]);
        await r.flush();
        assert.deepEqual(await b.requestMany('svc.stream', 's', 150), ['s1', 's2']);
        assert.deepEqual(await b.requestMany('svc.single', 'x', 150), ['x1']);
        await waitUntil(() => r.errors.length === 2, 1000, 'the third answers are refused');
        for (const e of r.errors) assert.match(e, /^Permissions Violation for Publish to "_R_\.[^"]+"$/);
      } finally {
        await closeAll([r, b]);
        await srv.stop();
      }
    });
  }
});

describe('chained stream imports', () => {
  const CHAIN = {
    accounts: {
      A: { users: [{ user: 'a', password: P }], exports: [{ stream: 'a.>' }] },
      B: {
        users: [{ user: 'b', password: P }],
        exports: [{ stream: 'pb.>' }],
        imports: [{ stream: { account: 'A', subject: 'a.>' }, prefix: 'pb' }],
      },
      C: { users: [{ user: 'c', password: P }], imports: [{ stream: { account: 'B', subject: 'pb.>' }, prefix: 'pc' }] },
    },
  };
  for (const kind of KINDS) {
    it(`${kind}: a message that entered B through a stream import does not go on to C; B's own does`, async () => {
      const srv = await startTarget(kind, CHAIN);
      const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((u) => login('v3', srv.port, u)));
      try {
        const gotB = b.sub('>');
        const gotC = c.sub('>');
        await settle([b, c], 0);
        a.pub('a.x', 'from A');
        b.pub('pb.own', 'from B');
        await waitUntil(() => gotB.length === 2 && gotC.length >= 1, 2000, 'deliveries');
        await settle([a, b, c], 50);
        assert.deepEqual(seen(gotB), ['pb.a.x from A', 'pb.own from B']);
        assert.deepEqual(seen(gotC), ['pc.pb.own from B'], 'nats-server 2.9.10 does not re-export an imported stream');
      } finally {
        await closeAll([a, b, c]);
        await srv.stop();
      }
    });
  }
});

describe('Natter cleans up singleton response mappings', () => {
  it('after many answered requests no _R_ mapping remains', async () => {
    const srv = await startNatter(CONFIG);
    const [a, b] = await Promise.all(['a', 'b'].map((u) => login('v3', srv.port, u)));
    try {
      a.serve('svc.single', (d) => [d]);
      await a.flush();
      for (let i = 0; i < 50; i++) assert.equal(await b.request('single', String(i)), String(i));
      await sleep(20);
      const acc = srv.server.accounts.get('A');
      assert.ok(acc !== undefined);
      assert.equal(acc.responses.size, 0);
    } finally {
      await closeAll([a, b]);
      await srv.close();
    }
  });
});

/** Runs a server command on a file until it exits by itself; its status and output. */
function refusal(kind: 'nats-server' | 'natter-cli', file: string, port: number): { status: number | null; out: string } {
  const args = ['-c', file, '-a', '127.0.0.1', '-p', String(port)];
  const r = kind === 'nats-server'
    ? spawnSync(NATS_SERVER_BIN, args, { encoding: 'utf8', timeout: 5000 })
    : spawnSync(process.execPath, [NATTER_CLI, ...args], { encoding: 'utf8', timeout: 5000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

/** `nats-server: file:line:col: message` without the position. */
function withoutPosition(out: string): string {
  return out.replace(/^(nats-server: )?\S+?:\d+:\d+: /, '');
}

describe('imports refused at load', () => {
  const cases: Array<[string, string]> = [
    ['private-stream-import.conf', 'Error adding stream import "admin.online": stream import not authorized'],
    ['private-service-import.conf', 'Error adding service import "chat.req.access": service import not authorized'],
    ['service-cycle.conf', 'Error adding service import "q": import forms a cycle'],
    ['stream-cycle.conf', 'Error adding stream import "q": import forms a cycle'],
  ];
  for (const [name, message] of cases) {
    it(`${name}: both servers refuse to start with nats-server's message`, async () => {
      const file = path.join(SECURITY_FIXTURES, 'invalid', name);
      const port = await freePort();
      const ref = refusal('nats-server', file, port);
      const nat = refusal('natter-cli', file, port);
      assert.equal(ref.status, 1, ref.out);
      assert.equal(withoutPosition(ref.out), message, 'the reference says so');
      assert.equal(nat.status, 1, nat.out);
      assert.match(nat.out, /^nats-server: \S+\.conf:\d+:\d+: /, 'file:line:col first');
      assert.equal(withoutPosition(nat.out), message);
    });
  }

  it('embedded: a private export imported by an account it does not list is refused', async () => {
    await assert.rejects(startNatter({
      accounts: {
        A: { exports: [{ stream: 'x.>', accounts: ['B'] }, { service: 'q', accounts: ['B'] }] },
        B: { imports: [{ stream: { account: 'A', subject: 'x.>' } }] },
        C: { imports: [{ service: { account: 'A', subject: 'q' } }] },
      },
    }), /Error adding service import "q": service import not authorized/);
  });

  it('embedded: a cycle through three accounts is refused', async () => {
    await assert.rejects(startNatter({
      accounts: {
        A: { exports: [{ service: 'q' }], imports: [{ service: { account: 'C', subject: 'q' } }] },
        B: { exports: [{ service: 'q' }], imports: [{ service: { account: 'A', subject: 'q' } }] },
        C: { exports: [{ service: 'q' }], imports: [{ service: { account: 'B', subject: 'q' } }] },
      },
    }), /import forms a cycle/);
  });

  it('a three-account service cycle is refused by nats-server too', async () => {
    const file = tempConf(confFile({
      accounts: {
        A: { exports: [{ service: 'q' }], imports: [{ service: { account: 'C', subject: 'q' } }] },
        B: { exports: [{ service: 'q' }], imports: [{ service: { account: 'A', subject: 'q' } }] },
        C: { exports: [{ service: 'q' }], imports: [{ service: { account: 'B', subject: 'q' } }] },
      },
    }));
    const port = await freePort();
    const ref = refusal('nats-server', file, port);
    const nat = refusal('natter-cli', file, port);
    assert.equal(ref.status, 1, ref.out);
    assert.equal(nat.status, 1, nat.out);
    assert.equal(withoutPosition(nat.out), withoutPosition(ref.out));
  });
});

describe('KubeCon CHAT/ADMIN walkthrough as static accounts', () => {
  for (const kind of ['nats-server', 'natter-cli'] as const) {
    describe(kind, () => {
      let srv: Running;
      before(async () => {
        srv = await startFromFile(kind, path.join(SECURITY_FIXTURES, 'kubecon-chat-admin.conf'));
      });
      after(() => srv.stop());

      for (const lib of CLIENT_LIBS) {
        it(`${lib}: chat-access provisions credentials for chat-creds-request (ADMIN) and CHAT users`, async () => {
          const access = await connectAs(lib, srv.port, { seed: CHAT_ACCESS.seed });
          const bootstrap = await connectAs(lib, srv.port, { user: 'chat-creds-request', pass: 'bootstrap' });
          const chatter = await connectAs(lib, srv.port, { user: 'chatter', pass: 'chat' });
          try {
            access.serve('chat.req.access', (who) => [`creds-for-${who}`]);
            await access.flush();
            assert.equal(await bootstrap.request('chat.req.access', 'wallyqs'), 'creds-for-wallyqs');
            assert.equal(await chatter.request('chat.req.access', 'chatter'), 'creds-for-chatter');
            assert.deepEqual(access.errors, [], 'answers to _INBOX and _R_ replies are allowed');
            assert.deepEqual(bootstrap.errors, []);
          } finally {
            await closeAll([access, bootstrap, chatter]);
          }
        });

        it(`${lib}: CHAT's online stream reaches ADMIN; nothing else crosses`, async () => {
          const access = await connectAs(lib, srv.port, { seed: CHAT_ACCESS.seed });
          const user = await connectAs(lib, srv.port, { seed: CHAT_USER.seed });
          const chatter = await connectAs(lib, srv.port, { user: 'chatter', pass: 'chat' });
          try {
            const online = access.sub('chat.KUBECON.online');
            const provisioned = access.sub('chat.req.provisioned');
            const chatSeesAll = chatter.sub('>');
            await settle([access, chatter], 0);
            user.pub('chat.KUBECON.online', 'wallyqs is online');
            user.pub('chat.req.provisioned', 'forged');
            access.pub('chat.req.provisioned', 'real');
            await waitUntil(() => online.length === 1 && provisioned.length === 1, 2000, 'deliveries in ADMIN');
            await settle([access, user, chatter]);
            assert.deepEqual(seen(online), ['chat.KUBECON.online wallyqs is online']);
            assert.deepEqual(seen(provisioned), ['chat.req.provisioned real'], 'CHAT cannot publish into ADMIN');
            assert.deepEqual(seen(chatSeesAll), ['chat.KUBECON.online wallyqs is online', 'chat.req.provisioned forged'],
              "ADMIN's messages stay in ADMIN");
          } finally {
            await closeAll([access, user, chatter]);
          }
        });
      }

      it('the bootstrap user may not listen to the access service or publish provisioning', async () => {
        const s = await RawSession.connect(srv.port);
        try {
          await s.request('CONNECT {"verbose":false,"user":"chat-creds-request","pass":"bootstrap"}\r\nPING\r\n', 'PONG\r\n');
          s.send('SUB chat.req.access 1\r\nPUB chat.req.provisioned 0\r\n\r\n');
          assert.equal(await s.sync(),
            `-ERR 'Permissions Violation for Subscription to "chat.req.access"'\r\n`
            + `-ERR 'Permissions Violation for Publish to "chat.req.provisioned"'\r\nPONG\r\n`);
        } finally {
          s.close();
        }
      });
    });
  }
});
