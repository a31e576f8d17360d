/**
 * The system account with official clients: connect/disconnect and auth
 * error events, STATSZ (periodic and on PING), the monitoring requests by
 * PING and by server id (with the same data as HTTP), USER.INFO from any
 * account, the account-scoped services, RELOAD, IDZ and SHUTDOWN.
 *
 * Until the server installs the events itself, each test installs them
 * right after starting; installSystemEvents refuses a second install, so the
 * day Server.start() does it these calls fail loudly and must go.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { StartOptions } from '../../src/index.js';
import { installSystemEvents, type SystemEventsHandle, type SystemEventsOptions } from '../../src/accounts/system-events.js';
import { startNatter, type TestNatter } from '../helpers/natter.js';
import { sleep, waitUntil } from '../helpers/wait.js';

const ACCOUNTS = {
  SYS: { users: [{ user: 'sys', password: 'p' }] },
  APP: {
    users: [
      {
        user: 'a',
        password: 'p',
        permissions: {
          publish: { allow: ['app.>', '$SYS.REQ.USER.INFO'], deny: ['app.secret'] },
          subscribe: { allow: ['_INBOX.>', 'app.* workers'] },
          allow_responses: true,
        },
      },
      { user: 'b', password: 'p' },
    ],
  },
};

const BASE: StartOptions = {
  accounts: ACCOUNTS,
  authorization: { users: [{ user: 'g', password: 'p' }] },
  system_account: 'SYS',
};

interface Seen {
  subject: string;
  data: Record<string, unknown>;
}

/** Every JSON object one subscription received (requests seen on `$SYS.>` are not all JSON). */
class Recorder {
  readonly seen: Seen[] = [];
  private readonly nc: NatsConnection;
  private readonly sub: Subscription;

  constructor(nc: NatsConnection, subject: string) {
    this.nc = nc;
    this.sub = nc.subscribe(subject, {
      callback: (_err, m: Msg) => {
        let data: unknown;
        try {
          data = JSON.parse(m.string());
        } catch {
          return;
        }
        if (data !== null && typeof data === 'object' && !Array.isArray(data)) this.seen.push({ subject: m.subject, data: data as Record<string, unknown> });
      },
    });
  }

  /** Ends the subscription, whose interest would otherwise count as a responder for `$SYS` requests. */
  async stop(): Promise<void> {
    this.sub.unsubscribe();
    await this.nc.flush();
  }

  async next(pred: (s: Seen) => boolean, what: string, timeoutMs = 3000): Promise<Seen> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.seen.find(pred);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; saw ${this.seen.map((s) => s.subject).join(', ')}`);
      await sleep(10);
    }
  }
}

interface Harness {
  srv: TestNatter;
  events: SystemEventsHandle;
  id: string;
  sys: NatsConnection;
  recorder: Recorder;
  connect(user: string, name?: string): Promise<NatsConnection>;
  close(): Promise<void>;
}

async function start(opts: StartOptions = {}, events: SystemEventsOptions = {}): Promise<Harness> {
  const srv = await startNatter({ ...BASE, ...opts });
  // The server installs its system events at start; the reload callback is the CLI's job, set here instead.
  const reload = events.reload;
  if (reload !== undefined) srv.server.reloadConfig = async () => { await reload(); };
  const handle = srv.server.systemEvents;
  assert.ok(handle !== null, 'the server runs its system events');
  const clients: NatsConnection[] = [];
  const open = async (user: string, name?: string): Promise<NatsConnection> => {
    const nc = await connect({ servers: srv.url, user, pass: 'p', name, reconnect: false });
    clients.push(nc);
    return nc;
  };
  const sys = await open('sys', 'watcher');
  const recorder = new Recorder(sys, '$SYS.>');
  await sys.flush();
  return {
    srv,
    events: handle,
    id: srv.server.id,
    sys,
    recorder,
    connect: open,
    async close() {
      await Promise.allSettled(clients.map((c) => c.close()));
      handle.close();
      await srv.close();
    },
  };
}

async function request(nc: NatsConnection, subject: string, body = ''): Promise<Record<string, unknown>> {
  const m = await nc.request(subject, body, { timeout: 2000 });
  return m.json<Record<string, unknown>>();
}

/** Resolves to 'no responders', 'timeout' or the reply. */
async function tryRequest(nc: NatsConnection, subject: string, body = '', timeoutMs = 300): Promise<Record<string, unknown> | 'no responders' | 'timeout'> {
  try {
    return (await nc.request(subject, body, { timeout: timeoutMs })).json<Record<string, unknown>>();
  } catch (e) {
    const text = String(e instanceof Error ? e.message : e).toLowerCase();
    if (text.includes('no responders') || text.includes('503')) return 'no responders';
    if (text.includes('timeout')) return 'timeout';
    throw e;
  }
}

function obj(v: unknown): Record<string, unknown> {
  assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v), `expected an object, got ${JSON.stringify(v)}`);
  return v as Record<string, unknown>;
}

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;

/** The `server` block every event and reply carries. */
function assertServerInfo(h: Harness, v: unknown): number {
  const s = obj(v);
  assert.deepEqual(Object.keys(s), ['name', 'host', 'id', 'ver', 'seq', 'jetstream', 'time']);
  assert.equal(s.id, h.id);
  assert.equal(s.name, h.srv.server.name);
  assert.equal(s.host, '127.0.0.1');
  assert.equal(s.jetstream, false);
  assert.match(String(s.time), RFC3339);
  assert.equal(typeof s.seq, 'number');
  return s.seq as number;
}

test('the server installs its system events; a second install is refused', async () => {
  const srv = await startNatter(BASE);
  try {
    assert.throws(() => installSystemEvents(srv.server), /already installed/);
  } finally {
    await srv.close();
  }
});

test('connect and disconnect events carry the account, user, cid and traffic', async () => {
  const h = await start();
  try {
    const app = await h.connect('a', 'orders');
    const cid = app.info?.client_id;
    const got: string[] = [];
    app.subscribe('app.in', { queue: 'workers', callback: (_e, m) => void got.push(m.string()) });
    app.publish('app.x', 'hello');
    app.publish('app.y', 'hi');
    await app.flush();
    const other = await h.connect('b');
    other.publish('app.in', 'abc');
    await other.flush();
    await waitUntil(() => got.length > 0, 3000, 'delivery to the app client');

    const conn = await h.recorder.next((s) => s.subject === '$SYS.ACCOUNT.APP.CONNECT' && obj(s.data.client).id === cid, 'CONNECT');
    const ev = conn.data;
    assert.deepEqual(Object.keys(ev), ['type', 'id', 'timestamp', 'server', 'client']);
    assert.equal(ev.type, 'io.nats.server.advisory.v1.client_connect');
    assert.match(String(ev.id), /^[0-9A-Za-z]{22}$/);
    assert.match(String(ev.timestamp), RFC3339);
    assertServerInfo(h, ev.server);
    const client = obj(ev.client);
    assert.deepEqual(Object.keys(client), ['start', 'host', 'id', 'acc', 'user', 'name', 'lang', 'ver', 'kind', 'client_type']);
    assert.equal(client.acc, 'APP');
    assert.equal(client.user, 'a');
    assert.equal(client.name, 'orders');
    assert.equal(client.lang, 'nats.js');
    assert.equal(client.host, '127.0.0.1');
    assert.equal(client.kind, 'Client');
    assert.equal(client.client_type, 'nats');

    // The account's connection count, to both of nats-server's subjects, one event id, two sequence numbers.
    const countNew = await h.recorder.next((s) => s.subject === '$SYS.ACCOUNT.APP.SERVER.CONNS' && s.data.conns === 2, 'CONNS (new subject)');
    const countOld = await h.recorder.next((s) => s.subject === '$SYS.SERVER.ACCOUNT.APP.CONNS' && s.data.id === countNew.data.id, 'CONNS (old subject)');
    assert.deepEqual(Object.keys(countNew.data), [
      'type', 'id', 'timestamp', 'server', 'acc', 'conns', 'leafnodes', 'total_conns', 'sent', 'received', 'slow_consumers',
    ]);
    assert.equal(countNew.data.type, 'io.nats.server.advisory.v1.account_connections');
    assert.equal(countNew.data.acc, 'APP');
    assert.equal(countNew.data.total_conns, 2);
    assert.notEqual(obj(countNew.data.server).seq, obj(countOld.data.server).seq);

    await app.close();
    const disc = await h.recorder.next((s) => s.subject === '$SYS.ACCOUNT.APP.DISCONNECT' && obj(s.data.client).id === cid, 'DISCONNECT');
    const d = disc.data;
    assert.deepEqual(Object.keys(d), ['type', 'id', 'timestamp', 'server', 'client', 'sent', 'received', 'reason']);
    assert.equal(d.type, 'io.nats.server.advisory.v1.client_disconnect');
    assert.notEqual(d.id, ev.id, 'event ids are unique');
    assert.equal(d.reason, 'Client Closed');
    // As nats-server counts them: `sent` is what the client sent, `received` what it was given.
    assert.equal(obj(d.sent).msgs, 2);
    assert.equal(obj(d.sent).bytes, 7);
    assert.equal(obj(d.received).msgs, 1);
    assert.equal(obj(d.received).bytes, 3);
    const dc = obj(d.client);
    assert.equal(dc.acc, 'APP');
    assert.equal(dc.user, 'a');
    assert.match(String(dc.stop), RFC3339);
    assert.equal(d.timestamp, dc.stop, 'the event is stamped with the stop time');
    assert.ok(assertServerInfo(h, d.server) > assertServerInfo(h, ev.server), 'seq increases per message');
    const after = h.recorder.seen.filter((s) => s.subject === '$SYS.ACCOUNT.APP.SERVER.CONNS').at(-1);
    assert.equal(after?.data.conns, 1, 'one APP connection left');
  } finally {
    await h.close();
  }
});

test('system account clients are announced, global account clients are only counted', async () => {
  const h = await start();
  try {
    const sys2 = await h.connect('sys', 'second');
    const g = await h.connect('g', 'global');
    await g.close();
    await sys2.close();
    await h.recorder.next((s) => s.subject === '$SYS.ACCOUNT.SYS.DISCONNECT' && obj(s.data.client).name === 'second', 'SYS DISCONNECT');
    assert.ok(h.recorder.seen.some((s) => s.subject === '$SYS.ACCOUNT.SYS.CONNECT' && obj(s.data.client).name === 'second'));
    const global = h.recorder.seen.filter((s) => s.subject.startsWith('$SYS.ACCOUNT.$G.'));
    // As nats-server: the global account's count is sent when a client joins it, never when one leaves.
    assert.deepEqual(global.map((s) => [s.subject, s.data.conns]), [['$SYS.ACCOUNT.$G.SERVER.CONNS', 1]]);
  } finally {
    await h.close();
  }
});

test('STATSZ: on PING (reply or broadcast) and periodically from start', async () => {
  const h = await start();
  try {
    // The first heartbeat goes out 250ms after install, the next 500ms later.
    const beat = await h.recorder.next((s) => s.subject === `$SYS.SERVER.${h.id}.STATSZ`, 'periodic STATSZ', 2000);
    assertServerInfo(h, beat.data.server);

    await h.connect('b');
    for (const subject of ['$SYS.REQ.SERVER.PING', '$SYS.REQ.SERVER.PING.STATSZ', `$SYS.REQ.SERVER.${h.id}.STATSZ`]) {
      const r = await request(h.sys, subject);
      assert.deepEqual(Object.keys(r), ['server', 'statsz'], subject);
      assertServerInfo(h, r.server);
      const st = obj(r.statsz);
      assert.deepEqual(Object.keys(st), [
        'start', 'mem', 'cores', 'cpu', 'connections', 'total_connections', 'active_accounts', 'subscriptions',
        'sent', 'received', 'slow_consumers', 'active_servers',
      ]);
      assert.equal(st.connections, 2);
      assert.equal(st.active_accounts, 2, 'SYS and APP have clients');
      assert.equal(st.active_servers, 1);
      assert.ok((st.subscriptions as number) > 0);
    }

    const before = h.recorder.seen.length;
    h.sys.publish('$SYS.REQ.SERVER.PING', '');
    const broadcast = await h.recorder.next(
      (s) => h.recorder.seen.indexOf(s) >= before && s.subject === `$SYS.SERVER.${h.id}.STATSZ` && obj(s.data.statsz).connections === 2,
      'broadcast STATSZ',
    );
    assert.ok(broadcast);
  } finally {
    await h.close();
  }
});

test('VARZ, CONNZ, SUBSZ, HEALTHZ by PING and by server id, with the HTTP endpoints\' data', async () => {
  const h = await start({ http_port: -1 });
  try {
    const base = h.srv.server.monitorURLs[0];
    await fetch(`${base}/varz`).then((r) => r.text());
    const app = await h.connect('b', 'worker');
    app.subscribe('jobs.*', { queue: 'q' });
    await app.flush();

    for (const prefix of ['$SYS.REQ.SERVER.PING', `$SYS.REQ.SERVER.${h.id}`]) {
      const varz = await request(h.sys, `${prefix}.VARZ`);
      assert.deepEqual(Object.keys(varz), ['server', 'data'], prefix);
      assertServerInfo(h, varz.server);
      const http = (await fetch(`${base}/varz`).then((r) => r.json())) as Record<string, unknown>;
      const data = obj(varz.data);
      assert.deepEqual(Object.keys(data), Object.keys(http), 'same keys as /varz');
      assert.equal(data.server_id, h.id);
      assert.equal(data.connections, 2);
      assert.equal(data.system_account, 'SYS');
      assert.ok(Number(obj(data.http_req_stats)['/varz']) >= 1, 'HTTP request counts are shared');

      const connz = obj((await request(h.sys, `${prefix}.CONNZ`, JSON.stringify({ auth: true, subscriptions: true, acc: 'APP' }))).data);
      assert.equal(connz.num_connections, 1);
      const conn = obj((connz.connections as unknown[])[0]);
      assert.equal(conn.name, 'worker');
      assert.equal(conn.account, 'APP');
      assert.equal(conn.authorized_user, 'b');
      assert.deepEqual(conn.subscriptions_list, ['jobs.*']);

      const subsz = obj((await request(h.sys, `${prefix}.SUBSZ`, JSON.stringify({ subscriptions: true, test: 'jobs.x' }))).data);
      const list = subsz.subscriptions_list as Array<Record<string, unknown>>;
      assert.deepEqual(list.map((s) => [s.account, s.subject, s.qgroup]), [['APP', 'jobs.*', 'q']]);
      const bare = obj((await request(h.sys, `${prefix}.SUBSZ`)).data);
      assert.deepEqual(Object.keys(bare).slice(0, 2), ['server_id', 'now'], 'over $SYS subsz is always the full object');
      assert.equal(bare.subscriptions_list, undefined);

      const health = await request(h.sys, `${prefix}.HEALTHZ`);
      assert.deepEqual(health.data, { status: 'ok' });
    }
  } finally {
    await h.close();
  }
});

test('request bodies: options, filters, 400 for bad JSON, 500 for refused options', async () => {
  const h = await start();
  try {
    const nomatch = await tryRequest(h.sys, '$SYS.REQ.SERVER.PING.VARZ', JSON.stringify({ server_name: 'not-this-one' }));
    assert.equal(nomatch, 'timeout', 'a filter that excludes the server gets no reply');
    for (const filter of [{ cluster: 'c1' }, { tags: ['x'] }, { domain: 'hub' }]) {
      assert.equal(await tryRequest(h.sys, '$SYS.REQ.SERVER.PING.VARZ', JSON.stringify(filter)), 'timeout', JSON.stringify(filter));
    }
    const match = await request(h.sys, '$SYS.REQ.SERVER.PING.VARZ', JSON.stringify({ server_name: h.srv.server.name.slice(2, 9), host: '127.0' }));
    assert.equal(obj(match.data).server_id, h.id);

    const bad = await request(h.sys, '$SYS.REQ.SERVER.PING.CONNZ', '{bad');
    assert.deepEqual(Object.keys(bad), ['server', 'error']);
    assert.deepEqual(bad.error, { code: 400, description: "invalid character 'b' looking for beginning of object key string" });
    const typed = await request(h.sys, '$SYS.REQ.SERVER.PING.CONNZ', '{"limit":"ten"}');
    assert.deepEqual(typed.error, { code: 400, description: 'json: cannot unmarshal string into Go struct field ConnzEventOptions.limit of type int' });
    const statszBad = await request(h.sys, '$SYS.REQ.SERVER.PING', '[1]');
    assert.deepEqual(statszBad.error, { code: 400, description: 'json: cannot unmarshal array into Go value of type server.StatszEventOptions' });

    const refused = await request(h.sys, '$SYS.REQ.SERVER.PING.CONNZ', '{"sort":"stop"}');
    assert.deepEqual(Object.keys(refused), ['server', 'data', 'error']);
    assert.equal(refused.data, null);
    assert.deepEqual(refused.error, { code: 500, description: 'sort by stop only valid on closed connections' });
    const noAccount = await request(h.sys, '$SYS.REQ.SERVER.PING.ACCOUNTZ', '{"account":"NOPE"}');
    assert.deepEqual(noAccount.error, { code: 500, description: 'Account NOPE does not exist' });

    // ConnState is a number over $SYS: 1 is closed.
    const sysConn = await h.connect('b');
    await sysConn.close();
    await h.recorder.next((s) => s.subject === '$SYS.ACCOUNT.APP.DISCONNECT', 'DISCONNECT');
    const closed = obj((await request(h.sys, '$SYS.REQ.SERVER.PING.CONNZ', '{"state":1}')).data);
    assert.equal(closed.num_connections, 1);
    assert.equal(obj((closed.connections as unknown[])[0]).reason, 'Client Closed');
    assert.equal(await tryRequest(h.sys, '$SYS.REQ.SERVER.PING.JSZ', '{"leader_only":true}'), 'timeout', 'not the leader: silent');
  } finally {
    await h.close();
  }
});

test('USER.INFO answers in every account with the requester\'s user and permissions', async () => {
  const h = await start();
  try {
    const a = await h.connect('a');
    const info = await request(a, '$SYS.REQ.USER.INFO');
    assertServerInfo(h, info.server);
    assert.deepEqual(info.data, {
      user: 'a',
      account: 'APP',
      permissions: {
        publish: { allow: ['app.>', '$SYS.REQ.USER.INFO'], deny: ['app.secret'] },
        // A queue permission shows its subject alone, as nats-server shows it.
        subscribe: { allow: ['_INBOX.>', 'app.*'] },
        responses: { max: 1, ttl: 120_000_000_000 },
      },
    });
    const b = await h.connect('b');
    assert.deepEqual((await request(b, '$SYS.REQ.USER.INFO')).data, { user: 'b', account: 'APP' });
    const g = await h.connect('g');
    assert.deepEqual((await request(g, '$SYS.REQ.USER.INFO')).data, { user: 'g', account: '$G' });
    assert.deepEqual((await request(h.sys, '$SYS.REQ.USER.INFO')).data, { user: 'sys', account: 'SYS' });
  } finally {
    await h.close();
  }
});

test('other accounts reach their own CONNZ and STATZ, nothing else', async () => {
  const h = await start();
  try {
    const b = await h.connect('b', 'mine');
    for (const subject of ['$SYS.REQ.SERVER.PING.CONNZ', '$SYS.REQ.ACCOUNT.PING.CONNZ']) {
      const z = obj((await request(b, subject, '{"acc":"SYS","auth":true}')).data);
      const conns = z.connections as Array<Record<string, unknown>>;
      assert.deepEqual(conns.map((c) => [c.name, c.account]), [['mine', 'APP']], `${subject} is scoped to the requester's account`);
    }
    const statz = obj((await request(b, '$SYS.REQ.ACCOUNT.PING.STATZ')).data);
    assert.deepEqual((statz.account_statz as Array<Record<string, unknown>>).map((s) => s.acc), ['APP']);
    for (const subject of ['$SYS.REQ.SERVER.PING', '$SYS.REQ.SERVER.PING.VARZ', `$SYS.REQ.SERVER.${h.id}.CONNZ`, '$SYS.REQ.ACCOUNT.APP.CONNZ']) {
      assert.equal(await tryRequest(b, subject), 'no responders', subject);
    }

    // The system account's own per-account services.
    const info = obj((await request(h.sys, '$SYS.REQ.ACCOUNT.APP.INFO')).data);
    assert.equal(info.account_name, 'APP');
    assert.equal(info.client_connections, 1);
    const subs = obj((await request(h.sys, '$SYS.REQ.ACCOUNT.APP.SUBSZ')).data);
    assert.ok((subs.subscriptions_list as Array<Record<string, unknown>>).every((s) => s.account === 'APP'));
    const jsz = await request(h.sys, '$SYS.REQ.ACCOUNT.APP.JSZ');
    assert.deepEqual(jsz.error, { code: 500, description: 'jetstream not enabled' });
    assert.equal(await tryRequest(h.sys, '$SYS.REQ.ACCOUNT.$G.STATZ'), 'timeout', 'no connections: nobody answers');
    const unused = obj((await request(h.sys, '$SYS.REQ.ACCOUNT.$G.STATZ', '{"include_unused":true}')).data);
    assert.deepEqual((unused.account_statz as Array<Record<string, unknown>>).map((s) => s.acc), ['$G']);
    const all = obj((await request(h.sys, '$SYS.REQ.ACCOUNT.PING.STATZ')).data);
    assert.deepEqual((all.account_statz as Array<Record<string, unknown>>).map((s) => s.acc), ['SYS', 'APP']);
  } finally {
    await h.close();
  }
});

test('a bad password is reported on CLIENT.AUTH.ERR, and (2.10) to the client\'s account', async () => {
  const h = await start();
  try {
    const g = await h.connect('g');
    const inGlobal = new Recorder(g, '$SYS.ACCOUNT.CLIENT.AUTH.ERR');
    await g.flush();
    await assert.rejects(connect({ servers: h.srv.url, user: 'a', pass: 'wrong', name: 'intruder', reconnect: false }), /Authorization Violation/);
    const ev = (await h.recorder.next((s) => s.subject === `$SYS.SERVER.${h.id}.CLIENT.AUTH.ERR`, 'AUTH.ERR')).data;
    assert.deepEqual(Object.keys(ev), ['type', 'id', 'timestamp', 'server', 'client', 'sent', 'received', 'reason']);
    assert.equal(ev.type, 'io.nats.server.advisory.v1.client_disconnect');
    assert.equal(ev.reason, 'Authentication Failure');
    const client = obj(ev.client);
    assert.equal(client.acc, '$G');
    assert.equal(client.name, 'intruder');
    assert.equal(client.lang, 'nats.js');
    assert.match(String(client.stop), RFC3339);
    const acc = (await inGlobal.next(() => true, 'account AUTH.ERR')).data;
    assert.equal(acc.reason, 'Authentication Failure');
    assert.equal(obj(acc.client).name, 'intruder');
    assert.notEqual(acc.id, ev.id);
  } finally {
    await h.close();
  }
});

test('RELOAD without a reload callback answers as nats-server without a config file', async () => {
  const h = await start();
  try {
    const r = await request(h.sys, `$SYS.REQ.SERVER.${h.id}.RELOAD`);
    assert.deepEqual(Object.keys(r), ['server', 'error']);
    assert.deepEqual(r.error, { code: 500, description: 'can only reload config when a file is provided using -c or --config' });
    await h.recorder.stop();
    assert.equal(await tryRequest(h.sys, '$SYS.REQ.SERVER.PING.RELOAD'), 'no responders', 'only by server id');
  } finally {
    await h.close();
  }
});

test('RELOAD runs the callback; accounts it creates get their services', async () => {
  let failWith: string | null = null;
  let h: Harness | null = null;
  const reload = (): void => {
    if (failWith !== null) throw new Error(failWith);
    const server = (h as Harness).srv.server;
    server.reload({ ...server.options, accounts: { ...ACCOUNTS, NEW: { users: [{ user: 'n', password: 'p' }] } } });
  };
  h = await start({}, { reload });
  try {
    failWith = 'config file has errors';
    const refused = await request(h.sys, `$SYS.REQ.SERVER.${h.id}.RELOAD`);
    assert.deepEqual(refused.error, { code: 500, description: 'config file has errors' });
    failWith = null;
    const ok = await request(h.sys, `$SYS.REQ.SERVER.${h.id}.RELOAD`);
    assert.deepEqual(Object.keys(ok), ['server'], 'success is the bare envelope');
    const n = await h.connect('n');
    assert.deepEqual((await request(n, '$SYS.REQ.USER.INFO')).data, { user: 'n', account: 'NEW' });
    const z = obj((await request(n, '$SYS.REQ.SERVER.PING.CONNZ')).data);
    assert.equal(z.num_connections, 1);
  } finally {
    await h.close();
  }
});

test('a reload that names another system account moves the services there', async () => {
  let h: Harness | null = null;
  const reload = (): void => {
    const server = (h as Harness).srv.server;
    server.reload({ ...server.options, accounts: { ...ACCOUNTS, OPS: { users: [{ user: 'ops', password: 'p' }] } }, system_account: 'OPS' });
  };
  h = await start({}, { reload });
  try {
    assert.deepEqual(Object.keys(await request(h.sys, `$SYS.REQ.SERVER.${h.id}.RELOAD`)), ['server']);
    const ops = await h.connect('ops');
    const varz = obj((await request(ops, '$SYS.REQ.SERVER.PING.VARZ')).data);
    assert.equal(varz.system_account, 'OPS');
    await h.recorder.stop();
    assert.equal(await tryRequest(h.sys, '$SYS.REQ.SERVER.PING.VARZ'), 'no responders', 'SYS is an ordinary account now');
    const own = obj((await request(h.sys, '$SYS.REQ.SERVER.PING.CONNZ')).data);
    assert.deepEqual((own.connections as Array<Record<string, unknown>>).map((c) => c.name), ['watcher'], 'scoped to SYS');
  } finally {
    await h.close();
  }
});

test('IDZ answers with the bare identity', async () => {
  const h = await start();
  try {
    for (const subject of ['$SYS.REQ.SERVER.PING.IDZ', `$SYS.REQ.SERVER.${h.id}.IDZ`]) {
      assert.deepEqual(await request(h.sys, subject), { name: h.srv.server.name, host: '127.0.0.1', id: h.id });
    }
  } finally {
    await h.close();
  }
});

test('close announces SHUTDOWN and removes every service', async () => {
  const h = await start();
  try {
    const before = h.srv.server.accounts.get('APP')?.sublist.size ?? 0;
    h.events.close();
    const ev = await h.recorder.next((s) => s.subject === `$SYS.SERVER.${h.id}.SHUTDOWN`, 'SHUTDOWN');
    assertServerInfo(h, ev.data);
    await h.recorder.stop();
    assert.equal(await tryRequest(h.sys, '$SYS.REQ.SERVER.PING'), 'no responders');
    assert.ok((h.srv.server.accounts.get('APP')?.sublist.size ?? 0) < before);
    // Closing unregisters the connection observer (the server's list is private, hence the index access).
    assert.equal(h.srv.server['observers'].length, 0);
  } finally {
    await h.close();
  }
});
