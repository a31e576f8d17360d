/**
 * Routes that must not form, peers that misbehave, and nodes that die:
 * route authorization (good and bad, bcrypt, both server kinds), wrong
 * cluster names, garbage and clients on the route port (compared byte for
 * byte with nats-server), a peer that stops reading, and killing and
 * restarting a node (Natter and nats-server) while traffic keeps flowing.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { NatsConnection } from '@nats-io/transport-node';
import { freePort } from '../helpers/ports.js';
import { sleep, waitUntil } from '../helpers/wait.js';
import {
  afterInfo, client, collect, rawExchange, routeTo, startNatsNode, startNode,
  waitForInterest, waitForMesh, type NatsNode, type NatterNode,
} from './helpers.js';

/** bcrypt of "rp" (cost 4): both servers accept hashed route passwords. */
const RP_HASH = '$2a$04$sFrLkhAZOOM8vJYSoBPnYe4SKIBL6sHXY4Ewoe39LtRUKTR73UVW.';

/** Sends one message from `from` until `got` has something: interest may still be on its way. */
async function flows(from: NatsConnection, subject: string, got: string[], what: string): Promise<void> {
  await waitUntil(async () => {
    from.publish(subject, 'probe');
    await from.flush();
    await sleep(30);
    return got.length > 0;
  }, 5000, what);
}

describe('route authorization', () => {
  let guarded: NatterNode;
  let natsGuarded: NatsNode;

  before(async () => {
    guarded = await startNode('guarded', { clusterBlock: { authorization: { user: 'ru', password: RP_HASH, timeout: 1 } } });
    natsGuarded = await startNatsNode('natsGuarded', `name: c\nauthorization { user: ru, password: "${RP_HASH}", timeout: 1 }`);
  });

  after(async () => {
    await guarded?.close();
    await natsGuarded?.close();
  });

  it('lets a Natter route in with the right credentials (bcrypt on the accepting side)', async () => {
    const ok = await startNode('ok', { clusterBlock: { routes: [routeTo(guarded.routePort, 'ru:rp')] } });
    try {
      await waitForMesh([guarded, ok], [], 1);
      assert.equal(guarded.cluster.routes()[0].remoteName, 'ok');
    } finally {
      await ok.close();
    }
  });

  it('refuses wrong credentials with "Authorization Violation" and keeps refusing', async () => {
    const bad = await startNode('bad', { clusterBlock: { routes: [routeTo(guarded.routePort, 'ru:wrong'), routeTo(natsGuarded.routePort, 'ru:wrong')] } });
    try {
      await waitUntil(() => new Set(bad.log.lines.filter((l) => l.includes("Route Error 'Authorization Violation'")).map((l) => l.split(' - ')[0])).size >= 2, 3000, 'both refusals');
      assert.ok(guarded.log.has(/rid:\d+ - authentication error/));
      assert.match(natsGuarded.handle.log(), /authentication error/);
      assert.equal(bad.cluster.routes().length, 0);
      assert.ok(!guarded.cluster.routes().some((r) => r.remoteName === 'bad'));
    } finally {
      await bad.close();
    }
  });

  it('interoperates with nats-server route authorization both ways', async () => {
    const natter = await startNode('natterIn', { clusterBlock: { routes: [routeTo(natsGuarded.routePort, 'ru:rp')] } });
    const natsIn = await startNatsNode('natsIn', `name: c\nroutes: [${routeTo(guarded.routePort, 'ru:rp')}]`);
    const natsBad = await startNatsNode('natsBad', `name: c\nroutes: [${routeTo(guarded.routePort, 'ru:nope')}]`);
    try {
      await waitUntil(() => natter.cluster.routes().some((r) => r.remoteName === 'natsGuarded'), 3000, 'Natter -> nats-server with credentials');
      await waitUntil(() => guarded.cluster.routes().some((r) => r.remoteName === 'natsIn'), 3000, 'nats-server -> Natter with credentials');
      await waitUntil(() => natsBad.handle.log().includes("Route Error 'Authorization Violation'"), 3000, 'nats-server told of bad credentials');
      assert.ok(!guarded.cluster.routes().some((r) => r.remoteName === 'natsBad'));
    } finally {
      await Promise.all([natter.close(), natsIn.close(), natsBad.close()]);
    }
  });
});

describe('cluster names', () => {
  it('rejects a route from another cluster with nats-server\'s error, in every combination', async () => {
    const natter = await startNode('c1', { clusterBlock: { name: 'one' } });
    const nats = await startNatsNode('c2', 'name: one');
    const intruder = await startNode('intruder', { clusterBlock: { name: 'two', routes: [routeTo(natter.routePort), routeTo(nats.routePort)] } });
    const natsIntruder = await startNatsNode('natsIntruder', `name: two\nroutes: [${routeTo(natter.routePort)}]`);
    try {
      // The accepting side says why; the dialling side sees the other name in INFO first and hangs up.
      const text = 'Rejecting connection, cluster name "two" does not match "one"';
      await waitUntil(() => natter.log.lines.filter((l) => l.includes(text)).length >= 2, 3000, 'Natter rejecting both intruders');
      await waitUntil(() => nats.handle.log().includes(text), 3000, 'nats-server rejecting the Natter intruder');
      assert.ok(natter.log.has(/Router connection closed: Cluster Name Conflict/));
      assert.ok(natter.log.has(/rid:\d+ - cluster name from remote server conflicts/));
      await waitUntil(() => intruder.log.lines.filter((l) => l.includes('Router connection closed: Cluster Name Conflict')).length >= 2, 3000, 'the Natter intruder hanging up');
      await waitUntil(() => natsIntruder.handle.log().includes('Router connection closed: Cluster Name Conflict'), 3000, 'the nats-server intruder hanging up');
      assert.equal(natter.cluster.routes().length, 0);
      assert.equal(intruder.cluster.routes().length, 0);
    } finally {
      await Promise.all([natter.close(), nats.close(), intruder.close(), natsIntruder.close()]);
    }
  });
});

describe('the route port compared with nats-server\'s', () => {
  let open: { natter: NatterNode; nats: NatsNode };
  let locked: { natter: NatterNode; nats: NatsNode };

  before(async () => {
    // Same server name on both: a CONNECT/INFO claiming it is a duplicate on either.
    open = { natter: await startNode('N'), nats: await startNatsNode('N', 'name: c') };
    const auth = { user: 'ru', password: 'rp', timeout: 0.5 };
    locked = {
      natter: await startNode('L', { clusterBlock: { authorization: auth } }),
      nats: await startNatsNode('L', 'name: c\nauthorization { user: ru, password: rp, timeout: 0.5 }'),
    };
  });

  after(async () => {
    for (const pair of [open, locked]) {
      await pair?.natter.close();
      await pair?.nats.close();
    }
  });

  const OPEN_CASES: ReadonlyArray<readonly [string, readonly string[]]> = [
    ['garbage', ['GARBAGE\r\n']],
    ['garbage without a newline', ['XYZ']],
    ['a client CONNECT', ['CONNECT {"lang":"go","name":"X","cluster":"c","verbose":false}\r\n']],
    ['a broken CONNECT', ['CONNECT {bad json\r\n']],
    ['another cluster', ['CONNECT {"name":"X","cluster":"zz"}\r\n']],
    ['PING before CONNECT', ['PING\r\n']],
    ['a bad RS+', ['CONNECT {"name":"X","cluster":"c"}\r\n', 'RS+ $G\r\n']],
    ['a duplicate server name', ['CONNECT {"name":"X","cluster":"c"}\r\n', 'INFO {"server_id":"X","server_name":"N","cluster":"c","port":1}\r\n']],
  ];

  for (const [what, lines] of OPEN_CASES) {
    it(`answers ${what} as nats-server does`, async () => {
      const [ours, theirs] = await Promise.all([rawExchange(open.natter.routePort, lines), rawExchange(open.nats.routePort, lines)]);
      assert.equal(afterInfo(ours.text), afterInfo(theirs.text));
      assert.equal(ours.closed, theirs.closed);
    });
  }

  const LOCKED_CASES: ReadonlyArray<readonly [string, readonly string[], number]> = [
    ['garbage before CONNECT', ['GARBAGE\r\n'], 300],
    ['wrong credentials', ['CONNECT {"user":"ru","pass":"bad","name":"X","cluster":"c"}\r\n'], 300],
    ['a client without credentials', ['CONNECT {"lang":"go","name":"X","cluster":"c"}\r\n'], 300],
    ['silence past the authorization timeout', [], 900],
  ];

  for (const [what, lines, wait] of LOCKED_CASES) {
    it(`with route authorization, answers ${what} as nats-server does`, async () => {
      const [ours, theirs] = await Promise.all([rawExchange(locked.natter.routePort, lines, wait), rawExchange(locked.nats.routePort, lines, wait)]);
      assert.equal(afterInfo(ours.text), afterInfo(theirs.text));
      assert.equal(ours.closed, theirs.closed);
    });
  }

  it('describes itself in /varz as nats-server does', async () => {
    const theirs = (await (await fetch(`http://127.0.0.1:${locked.nats.httpPort}/varz`)).json()) as { cluster: Record<string, unknown> };
    const ours = locked.natter.cluster.varz();
    assert.deepEqual({ ...ours, cluster_port: 0 }, { ...theirs.cluster, cluster_port: 0 });
    assert.equal(ours?.cluster_port, locked.natter.routePort);
  });

  it('greets with an INFO nats-server\'s peers understand', async () => {
    const { text } = await rawExchange(locked.natter.routePort, [], 50);
    const info = JSON.parse(text.slice(5, text.indexOf('\r\n'))) as Record<string, unknown>;
    assert.equal(info.server_id, locked.natter.srv.server.id);
    assert.equal(info.server_name, 'L');
    assert.equal(info.cluster, 'c');
    assert.equal(info.auth_required, true);
    assert.equal(info.headers, true);
    assert.equal(info.port, locked.natter.routePort);
    assert.deepEqual(info.connect_urls, [locked.natter.url.replace('nats://', '')]);
  });
});

describe('misbehaving peers do not disturb healthy routes', () => {
  let a: NatterNode;
  let b: NatterNode;
  let ncA: NatsConnection;
  let ncB: NatsConnection;

  before(async () => {
    const limits = { max_payload: 16 * 1024, max_pending: 256 * 1024 };
    a = await startNode('a', limits);
    b = await startNode('b', { ...limits, clusterBlock: { routes: [routeTo(a.routePort)] } });
    await waitForMesh([a, b], [], 1);
    [ncA, ncB] = await Promise.all([client(a.url), client(b.url)]);
  });

  after(async () => {
    await Promise.all([ncA?.close(), ncB?.close()]);
    await Promise.all([a?.close(), b?.close()]);
  });

  it('survives garbage on its route port', async () => {
    const { text, closed } = await rawExchange(a.routePort, ['\x00\x01\x02 binary junk\r\n']);
    assert.equal(afterInfo(text), "-ERR 'Unknown Protocol Operation'\r\n");
    assert.ok(closed);
    const got = collect(ncB, 'after.garbage');
    await ncB.flush();
    await flows(ncA, 'after.garbage', got, 'messages over the healthy route');
    assert.equal(a.cluster.routes().length, 1);
  });

  it('cuts a route that stops reading, as a slow consumer', async () => {
    // A fake server: handshake, interest in slow.>, then it never reads again.
    const fake = net.connect({ host: '127.0.0.1', port: a.routePort });
    await new Promise<void>((r) => fake.once('connect', () => r()));
    fake.on('error', () => undefined);
    fake.write('CONNECT {"name":"FAKE","cluster":"c","headers":true}\r\n');
    fake.write('INFO {"server_id":"FAKE","server_name":"fake","cluster":"c","host":"127.0.0.1","port":1,"headers":true}\r\n');
    fake.write('RS+ $G slow.>\r\n');
    await waitUntil(() => a.cluster.routes().some((r) => r.remoteName === 'fake' && r.subscriptions.length > 0), 2000, 'the fake route');
    fake.pause();
    const payload = new Uint8Array(8 * 1024);
    for (let i = 0; i < 4000 && a.cluster.routes().some((r) => r.remoteName === 'fake'); i++) {
      ncA.publish('slow.x', payload);
      if (i % 100 === 0) await ncA.flush();
    }
    await waitUntil(() => !a.cluster.routes().some((r) => r.remoteName === 'fake'), 5000, 'the slow route cut');
    assert.ok(a.log.has(/Slow Consumer Detected/));
    assert.ok(a.log.has(/Router connection closed: Slow Consumer/));
    fake.destroy();
    const got = collect(ncB, 'after.slow');
    await ncB.flush();
    await flows(ncA, 'after.slow', got, 'messages over the healthy route');
  });
});

describe('killing and restarting nodes', () => {
  it('a Natter node comes back: routes reconnect and messages flow again', async () => {
    // Every node lists every route, its own included (which it must skip).
    const ports = await Promise.all([freePort(), freePort(), freePort()]);
    const clientPorts = await Promise.all([freePort(), freePort(), freePort()]);
    const routes = ports.map((p) => routeTo(p));
    const node = (i: number): Promise<NatterNode> =>
      startNode(`k${i}`, { clientPort: clientPorts[i], clusterBlock: { listen: `127.0.0.1:${ports[i]}`, routes } });
    const [n0, n1] = [await node(0), await node(1)];
    let n2 = await node(2);
    const conns: NatsConnection[] = [];
    try {
      await waitForMesh([n0, n1, n2], [], 2);
      assert.ok(n0.log.has(/Detected route to self/));
      const onN0 = await client(n0.url);
      conns.push(onN0);
      const got = collect(onN0, 'k.>');
      await onN0.flush();
      await n2.close();
      await waitUntil(() => n0.cluster.routes().length === 1 && n1.cluster.routes().length === 1, 3000, 'the dead node gone');
      const onN1 = await client(n1.url);
      conns.push(onN1);
      await flows(onN1, 'k.while.down', got, 'messages between the survivors');
      n2 = await node(2);
      await waitForMesh([n0, n1, n2], [], 2);
      const onN2 = await client(n2.url);
      conns.push(onN2);
      got.length = 0;
      await flows(onN2, 'k.after.restart', got, 'messages from the restarted node');
      assert.ok(n0.log.has(/Error trying to connect to route \(attempt 1\): dial tcp 127\.0\.0\.1:\d+: connect: connection refused/));
    } finally {
      await Promise.all(conns.map((c) => c.close()));
      await Promise.all([n0.close(), n1.close(), n2.close()]);
    }
  });

  it('a nats-server node is killed and restarted: Natter reconnects, traffic resumes', async () => {
    let seed = await startNatsNode('seed', 'name: c');
    const { port, routePort, httpPort } = seed;
    const a = await startNode('ka', { clusterBlock: { routes: [routeTo(routePort)] } });
    const b = await startNode('kb', { clusterBlock: { routes: [routeTo(routePort)] } });
    const conns: NatsConnection[] = [];
    try {
      await waitForMesh([a, b], [seed], 2);
      await seed.handle.kill();
      await waitUntil(() => a.cluster.routes().length === 1 && b.cluster.routes().length === 1, 3000, 'the killed seed gone');
      const [ncA, ncB] = await Promise.all([client(a.url), client(b.url)]);
      conns.push(ncA, ncB);
      const got = collect(ncB, 'seedless');
      await ncB.flush();
      await flows(ncA, 'seedless', got, 'Natter to Natter without the seed');
      seed = await startNatsNode('seed', 'name: c', { port, routePort, httpPort });
      await waitForMesh([a, b], [seed], 2);
      const ncSeed = await client(seed.url);
      conns.push(ncSeed);
      const fromSeed = collect(ncA, 'via.seed');
      await ncA.flush();
      await waitForInterest(seed, 'via.seed', 1);
      await flows(ncSeed, 'via.seed', fromSeed, 'nats-server to Natter after the restart');
    } finally {
      await Promise.all(conns.map((c) => c.close()));
      await Promise.all([a.close(), b.close()]);
      await seed.close();
    }
  });
});
