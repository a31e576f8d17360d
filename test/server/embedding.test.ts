/**
 * The public embedding API (src/index.ts), used only as an embedder can:
 * startServer() and the handle it returns (url, port, id, name, ports(),
 * reload(), lameDuck(), close()). Every test closes its servers through
 * the test helpers' timeout, so a close() that hangs fails the test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import * as api from '../../src/index.js';
import { startServer, type RunningServer, type StartOptions } from '../../src/index.js';
import { CLOSE_TIMEOUT_MS, withTimeout } from '../helpers/natter.js';
import { waitUntil } from '../helpers/wait.js';

/** Runs `fn` with servers started from `configs`, and closes every one that started. */
async function withServers(configs: StartOptions[], fn: (...servers: RunningServer[]) => Promise<void>): Promise<void> {
  const servers: RunningServer[] = [];
  try {
    for (const c of configs) servers.push(await startServer(c));
    await fn(...servers);
  } finally {
    await Promise.all(servers.map((s) => withTimeout(s.close(), CLOSE_TIMEOUT_MS, `close() of ${s.url} did not finish`)));
  }
}

/** One request-reply round trip through the server at `url`, as user/pass when given. */
async function roundTrip(url: string, auth: { user?: string; pass?: string } = {}): Promise<string> {
  const nc = await connect({ servers: url, reconnect: false, ...auth });
  try {
    nc.subscribe('echo', { callback: (_e, m) => { m.respond(`echo:${m.string()}`); } });
    return (await nc.request('echo', 'hi', { timeout: 2000 })).string();
  } finally {
    await nc.close();
  }
}

function portIsClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

test('the module exports startServer, startCluster and types only, not the server class', () => {
  assert.deepEqual(Object.keys(api), ['startCluster', 'startServer']);
});

test('startServer() defaults to a silent server on 127.0.0.1 and a random port', async () => {
  await withServers([{}], async (srv) => {
    assert.ok(srv.port > 0);
    assert.equal(srv.url, `nats://127.0.0.1:${srv.port}`);
    assert.match(srv.id, /^N[A-Z0-9]{55}$/, 'a server id looks like a server nkey');
    assert.equal(srv.name, srv.id, 'without server_name the name is the id');
    assert.deepEqual(srv.ports(), { nats: [srv.url] });
    assert.equal(await roundTrip(srv.url), 'echo:hi');
    assert.equal('server' in srv, false, 'the handle does not hand out the server object');
  });
});

test('ports() lists monitoring and cluster URLs that work', async () => {
  await withServers([{ server_name: 'a', http_port: -1, cluster: { name: 'emb', listen: '127.0.0.1:-1' } }], async (a) => {
    const ports = a.ports();
    assert.equal(a.name, 'a');
    assert.deepEqual(ports.nats, [a.url]);
    assert.equal(ports.monitoring?.length, 1);
    assert.match(ports.monitoring?.[0] ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(ports.cluster?.length, 1);
    assert.match(ports.cluster?.[0] ?? '', /^nats:\/\/127\.0\.0\.1:\d+$/);
    const varz = (await (await fetch(`${ports.monitoring?.[0]}/varz`)).json()) as { server_id: string; server_name: string };
    assert.deepEqual([varz.server_id, varz.server_name], [a.id, 'a']);
    // Another server routes to the advertised cluster URL; a message crosses the route.
    await withServers([{ server_name: 'b', cluster: { name: 'emb', listen: '127.0.0.1:-1', routes: ports.cluster } }], async (b) => {
      const sub = await connect({ servers: a.url });
      const pub = await connect({ servers: b.url });
      try {
        const got: string[] = [];
        sub.subscribe('across', { callback: (_e, m) => { got.push(m.string()); } });
        await sub.flush();
        // The route and the interest on it come up on their own time: publish until a copy arrives.
        await waitUntil(() => {
          pub.publish('across', 'hello');
          return got.length > 0;
        }, 5000, 'a message across the route', 20);
        assert.equal(got[0], 'hello');
      } finally {
        await Promise.all([sub.close(), pub.close()]);
      }
    });
  });
});

test('reload() applies a new configuration to running connections, and refuses restart-only changes', async () => {
  const start: StartOptions = { authorization: { user: 'old', password: 'pw' } };
  await withServers([start], async (srv) => {
    assert.equal(await roundTrip(srv.url, { user: 'old', pass: 'pw' }), 'echo:hi');
    const stale: NatsConnection = await connect({ servers: srv.url, user: 'old', pass: 'pw', reconnect: false });
    const changes = srv.reload({ ...start, authorization: { user: 'new', password: 'pw' } });
    assert.deepEqual(changes, ['authorization user']);
    // The connection of a user that no longer exists is closed; the new user gets in, the old one does not.
    await withTimeout(stale.closed(), 3000, 'the old user was not disconnected');
    assert.equal(await roundTrip(srv.url, { user: 'new', pass: 'pw' }), 'echo:hi');
    await assert.rejects(roundTrip(srv.url, { user: 'old', pass: 'pw' }));
    // A change that needs a restart is refused, and the server keeps its configuration.
    assert.throws(() => srv.reload({ authorization: { user: 'new', password: 'pw' }, server_name: 'renamed' }), /config reload not supported for server_name/);
    assert.equal(srv.name, srv.id);
    assert.equal(await roundTrip(srv.url, { user: 'new', pass: 'pw' }), 'echo:hi');
    // The same configuration again changes nothing.
    assert.deepEqual(srv.reload({ authorization: { user: 'new', password: 'pw' } }), []);
  });
});

test('lameDuck() refuses new clients, closes the connected ones, then shuts down', async () => {
  await withServers([{ lame_duck_duration: 400, lame_duck_grace_period: 100 }], async (srv) => {
    const nc = await connect({ servers: srv.url, reconnect: false });
    const down = srv.lameDuck();
    await withTimeout(nc.closed(), 3000, 'the client was not closed in lame duck mode');
    await withTimeout(down, 3000, 'lameDuck() did not resolve');
    assert.equal(await portIsClosed(srv.port), true, 'the client port is closed');
  });
});

test('close() frees the port and may be called again', async () => {
  const srv = await startServer();
  await withTimeout(srv.close(), CLOSE_TIMEOUT_MS, 'close() did not finish');
  assert.equal(await portIsClosed(srv.port), true);
  await withTimeout(srv.close(), CLOSE_TIMEOUT_MS, 'a second close() did not finish');
});
