/**
 * Leaf nodes between two Natter servers: messages, requests and headers
 * both ways, queue groups across the hop, account binding on both sides,
 * deny lists, TLS, a leaf that reconnects after its hub restarts, a loop
 * refused, bad credentials and garbage on the leafnode port, monitoring
 * (/leafz, /varz, /metrics), and the configuration block's errors.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { headers } from '@nats-io/transport-node';
import { optionsFromConfigText } from '../../src/config/options-from-config.js';
import { ConfigError } from '../../src/config/errors.js';
import { closeAllNatter, startNatter } from '../helpers/natter.js';
import { freePort } from '../helpers/ports.js';
import { sleep, waitUntil } from '../helpers/wait.js';
import { makeCerts, type CertSet } from '../tls/certs.js';
import { routeTo, startNode, waitForMesh } from '../cluster/helpers.js';
import { collect, dial, leafPort, startLeafNatter, waitLeafInterest, waitLeafs } from './helpers.js';

after(() => closeAllNatter());

describe('a Natter hub and a Natter leaf', () => {
  test('messages, requests and headers cross the hop both ways; monitoring shows the connection', async () => {
    const hub = await startLeafNatter({ port: -1 }, { http_port: -1 });
    const leaf = await startLeafNatter({ remotes: [{ url: `nats-leaf://127.0.0.1:${leafPort(hub.natter)}` }] }, { http_port: -1 });
    await waitLeafs(hub.natter, 1);
    await waitLeafs(leaf.natter, 1);
    const a = await dial(hub.natter.url);
    const b = await dial(leaf.natter.url);
    try {
      const atLeaf = collect(b, 'to.leaf');
      const atHub = collect(a, 'to.hub');
      b.subscribe('svc.leaf', { callback: (_e, m) => { m.respond(`leaf answers ${m.string()}`); } });
      a.subscribe('svc.hub', { callback: (_e, m) => { m.respond(`hub answers ${m.string()} ${m.headers?.get('X-Test') ?? ''}`); } });
      await a.flush();
      await b.flush();
      await waitLeafInterest(hub.natter, 'svc.leaf');
      await waitLeafInterest(leaf.natter, 'svc.hub');
      a.publish('to.leaf', 'one');
      b.publish('to.hub', 'two');
      const h = headers();
      h.set('X-Test', 'yes');
      assert.equal((await a.request('svc.leaf', 'q1', { timeout: 2000 })).string(), 'leaf answers q1');
      assert.equal((await b.request('svc.hub', 'q2', { timeout: 2000, headers: h })).string(), 'hub answers q2 yes');
      await waitUntil(() => atLeaf.length === 1 && atHub.length === 1, 3000, 'both messages');
      assert.deepEqual(atLeaf, ['one']);
      assert.deepEqual(atHub, ['two']);

      // /leafz on the hub, as nats-server 2.9 answers it (subs=1 lists what the leaf asked for).
      const hubHttp = hub.natter.server.ports().monitoring?.[0] ?? '';
      const leafz = await (await fetch(`${hubHttp}/leafz?subs=1`)).json() as Record<string, unknown>;
      assert.equal(leafz.leafnodes, 1);
      const l = (leafz.leafs as Array<Record<string, unknown>>)[0];
      assert.deepEqual(Object.keys(l), ['account', 'ip', 'port', 'rtt', 'in_msgs', 'out_msgs', 'in_bytes', 'out_bytes', 'subscriptions', 'subscriptions_list']);
      assert.equal(l.account, '$G');
      assert.ok((l.subscriptions_list as string[]).includes('svc.leaf'));
      assert.ok((l.subscriptions_list as string[]).some((s) => s.startsWith('$LDS.')), 'the leaf announces its loop-detection subject');
      assert.ok((l.in_msgs as number) >= 2 && (l.out_msgs as number) >= 2);
      const plain = await (await fetch(`${hubHttp}/leafz`)).json() as Record<string, unknown>;
      assert.equal((plain.leafs as Array<Record<string, unknown>>)[0].subscriptions_list, undefined);
      const other = await (await fetch(`${hubHttp}/leafz?acc=NOPE`)).json() as Record<string, unknown>;
      assert.equal(other.leafs, null);
      // /varz: the hub's listener, the leaf's remotes; /connz counts clients only.
      const hubVarz = await (await fetch(`${hubHttp}/varz`)).json() as Record<string, unknown>;
      assert.deepEqual(hubVarz.leaf, { host: '0.0.0.0', port: leafPort(hub.natter), auth_timeout: 2, tls_timeout: 2 });
      assert.equal(hubVarz.leafnodes, 1);
      const leafHttp = leaf.natter.server.ports().monitoring?.[0] ?? '';
      const leafVarz = await (await fetch(`${leafHttp}/varz`)).json() as Record<string, unknown>;
      assert.deepEqual(leafVarz.leaf, { remotes: [{ urls: [`127.0.0.1:${leafPort(hub.natter)}`] }] });
      const connz = await (await fetch(`${hubHttp}/connz`)).json() as Record<string, unknown>;
      assert.equal(connz.num_connections, 1);
      const metrics = await (await fetch(`${hubHttp}/metrics`)).text();
      assert.match(metrics, /^natter_leafnodes 1$/m);
      assert.match(metrics, /^natter_leafnode_in_messages_total\{remote_id="N[A-Z0-9]+",remote_name="[^"]+",account="\$G"\} \d+$/m);
      assert.ok(hub.log.has(/lid:\d+ - Leafnode connection created $/));
      assert.ok(leaf.log.has(/lid:\d+ - Leafnode connection created for account: \$G $/));
    } finally {
      await a.close();
      await b.close();
      await leaf.natter.close();
      await hub.natter.close();
    }
    assert.ok(hub.log.has(/Leafnode connection closed: (Client Closed|Server Shutdown) account: \$G/));
  });

  test('a queue group spread over hub and leaf takes each message once; members on the publishing side first', async () => {
    const hub = await startLeafNatter({ port: -1 });
    const leaf = await startLeafNatter({ remotes: [{ url: `nats://127.0.0.1:${leafPort(hub.natter)}` }] });
    await waitLeafs(hub.natter, 1);
    const a = await dial(hub.natter.url);
    const b = await dial(leaf.natter.url);
    try {
      const atHub = collect(a, 'work', 'q');
      const atLeaf = collect(b, 'work', 'q');
      const atLeaf2 = collect(b, 'work', 'q');
      await a.flush();
      await b.flush();
      await waitLeafInterest(hub.natter, 'work');
      await waitLeafInterest(leaf.natter, 'work');
      for (let i = 0; i < 50; i++) a.publish('work', `h${i}`);
      for (let i = 0; i < 50; i++) b.publish('work', `l${i}`);
      await a.flush();
      await b.flush();
      await waitUntil(() => atHub.length + atLeaf.length + atLeaf2.length >= 100, 3000, '100 deliveries');
      await sleep(100);
      assert.equal(atHub.length + atLeaf.length + atLeaf2.length, 100);
      assert.deepEqual(atHub.sort(), Array.from({ length: 50 }, (_, i) => `h${i}`).sort());
      assert.equal(atLeaf.length + atLeaf2.length, 50);
      // The hub member leaves: the leaf's members take the hub's publishes.
      await a.close();
      const c = await dial(hub.natter.url);
      for (let i = 0; i < 20; i++) c.publish('work', `x${i}`);
      await c.flush();
      await waitUntil(() => atLeaf.length + atLeaf2.length === 70, 3000, 'the leaf serves the group');
      await c.close();
    } finally {
      await a.close();
      await b.close();
      await leaf.natter.close();
      await hub.natter.close();
    }
  });

  test('accounts: the hub binds leafs by user; the leaf by its remote account; other accounts hear nothing', async () => {
    const accounts = {
      A: { users: [{ user: 'a', password: 'a' }] },
      B: { users: [{ user: 'b', password: 'b' }] },
    };
    const hub = await startLeafNatter({
      port: -1,
      authorization: { users: [{ user: 'leafA', password: 'pa', account: 'A' }, { user: 'leafB', password: 'pb', account: 'B' }] },
    }, { accounts });
    const port = leafPort(hub.natter);
    const leaf = await startLeafNatter({
      remotes: [
        { url: `nats-leaf://leafA:pa@127.0.0.1:${port}`, account: 'A' },
        { url: `nats-leaf://leafB:pb@127.0.0.1:${port}`, account: 'B' },
      ],
    }, { accounts });
    await waitLeafs(hub.natter, 2);
    const hubA = await dial(hub.natter.url, { user: 'a', pass: 'a' });
    const hubB = await dial(hub.natter.url, { user: 'b', pass: 'b' });
    const leafA = await dial(leaf.natter.url, { user: 'a', pass: 'a' });
    const leafB = await dial(leaf.natter.url, { user: 'b', pass: 'b' });
    try {
      const gotA = collect(leafA, 'news');
      const gotB = collect(leafB, 'news');
      await leafA.flush();
      await leafB.flush();
      await waitLeafInterest(hub.natter, 'news', 'A');
      await waitLeafInterest(hub.natter, 'news', 'B');
      hubA.publish('news', 'for A');
      hubB.publish('news', 'for B');
      await waitUntil(() => gotA.length === 1 && gotB.length === 1, 3000, 'one message per account');
      await sleep(50);
      assert.deepEqual(gotA, ['for A']);
      assert.deepEqual(gotB, ['for B']);
      assert.deepEqual(hub.natter.server.leafnodes?.leafs().map((l) => l.account).sort(), ['A', 'B']);
    } finally {
      for (const nc of [hubA, hubB, leafA, leafB]) await nc.close();
      await leaf.natter.close();
      await hub.natter.close();
    }
  });

  test('deny_exports keeps messages here; deny_imports keeps the hub\'s away', async () => {
    const hub = await startLeafNatter({ port: -1 });
    const leaf = await startLeafNatter({
      remotes: [{ url: `nats-leaf://127.0.0.1:${leafPort(hub.natter)}`, deny_exports: ['secret.>'], deny_imports: ['private.*'] }],
    });
    await waitLeafs(hub.natter, 1);
    const a = await dial(hub.natter.url);
    const b = await dial(leaf.natter.url);
    try {
      const hubGot = collect(a, '>');
      const leafGot = collect(b, '>');
      await a.flush();
      await b.flush();
      await waitLeafInterest(hub.natter, '>');
      await waitLeafInterest(leaf.natter, '>');
      b.publish('secret.plan', 'no');
      b.publish('public.news', 'yes');
      a.publish('private.x', 'no');
      a.publish('open.x', 'yes');
      await waitUntil(() => hubGot.includes('yes') && leafGot.filter((s) => s === 'yes').length === 2, 3000, 'allowed messages');
      await sleep(100);
      // Each side also hears its own publishes through its own `>`.
      assert.deepEqual(hubGot.sort(), ['no', 'yes', 'yes']);
      assert.deepEqual(leafGot.sort(), ['no', 'yes', 'yes']);
    } finally {
      await a.close();
      await b.close();
      await leaf.natter.close();
      await hub.natter.close();
    }
  });

  test('the leaf reconnects after its hub restarts, and interest is exchanged again', async () => {
    const port = await freePort();
    let hub = await startLeafNatter({ port });
    const leaf = await startLeafNatter({ remotes: [{ url: `nats-leaf://127.0.0.1:${port}` }], reconnect: 1 });
    await waitLeafs(hub.natter, 1);
    const b = await dial(leaf.natter.url);
    try {
      const got = collect(b, 'after.restart');
      await b.flush();
      await waitLeafInterest(hub.natter, 'after.restart');
      await hub.natter.close();
      await waitLeafs(leaf.natter, 0);
      await leaf.log.waitFor(/Error trying to connect as leafnode to remote server "127\.0\.0\.1:\d+" \(attempt 1\): dial tcp 127\.0\.0\.1:\d+: connect: connection refused/, 4000);
      hub = await startLeafNatter({ port });
      await waitLeafs(hub.natter, 1, 8000);
      await waitLeafInterest(hub.natter, 'after.restart');
      const a = await dial(hub.natter.url);
      a.publish('after.restart', 'back');
      await a.flush();
      await waitUntil(() => got.length === 1, 3000, 'a message after the restart');
      await a.close();
    } finally {
      await b.close();
      await leaf.natter.close();
      await hub.natter.close();
    }
  });

  test('a loop (two servers each the other\'s leaf) is detected and refused', async () => {
    const portA = await freePort();
    const portB = await freePort();
    const a = await startLeafNatter({ port: portA, remotes: [{ url: `nats-leaf://127.0.0.1:${portB}` }] });
    const b = await startLeafNatter({ port: portB, remotes: [{ url: `nats-leaf://127.0.0.1:${portA}` }] });
    try {
      const re = /Loop detected for leafnode account="\$G"\. Delaying attempt to reconnect for 30s/;
      await waitUntil(() => a.log.has(re) || b.log.has(re), 5000, 'a loop detected');
      // The refusing side tells the other, which waits before dialling again.
      await waitUntil(() => a.log.has(re) && b.log.has(re), 3000, 'both sides report the loop');
      const c = await dial(a.natter.url);
      await c.flush();
      await c.close();
    } finally {
      await a.natter.close();
      await b.natter.close();
    }
  });

  test('bad credentials are refused and logged; the leaf keeps trying; clients are served meanwhile', async () => {
    const hub = await startLeafNatter({ port: -1, authorization: { user: 'leaf', password: 'right' } });
    const leaf = await startLeafNatter({ remotes: [{ url: `nats-leaf://leaf:wrong@127.0.0.1:${leafPort(hub.natter)}` }], reconnect: 1 });
    try {
      await hub.log.waitFor(/lid:\d+ - authentication error/);
      await leaf.log.waitFor(/Leafnode Error 'Authorization Violation'/);
      assert.equal(hub.natter.server.leafnodes?.leafs().length, 0);
      const c = await dial(hub.natter.url);
      const got = collect(c, 'still');
      await c.flush();
      c.publish('still', 'served');
      await waitUntil(() => got.length === 1, 2000, 'a client is served');
      await c.close();
    } finally {
      await leaf.natter.close();
      await hub.natter.close();
    }
  });

  test('a remote that points at a client port is told apart and left', async () => {
    const other = await startNatter({});
    const leaf = await startLeafNatter({ remotes: [{ url: `nats-leaf://127.0.0.1:${other.port}` }], reconnect: 1 });
    try {
      await leaf.log.waitFor(/lid:\d+ - attempted to connect to wrong port/);
      await leaf.log.waitFor(/Leafnode connection closed: Incorrect Port account: \$G/);
    } finally {
      await leaf.natter.close();
      await other.close();
    }
  });

  test('garbage and a missing CONNECT on the leafnode port close that connection only', async () => {
    const hub = await startLeafNatter({ port: -1 });
    const port = leafPort(hub.natter);
    const raw = async (bytes: string): Promise<string> => {
      const s = net.connect(port, '127.0.0.1');
      let text = '';
      s.on('data', (d: Buffer) => { text += d.toString('latin1'); });
      await new Promise<void>((r) => s.once('connect', () => r()));
      await waitUntil(() => text.includes('\r\n'), 2000, 'INFO');
      s.write(bytes);
      await new Promise<void>((r) => s.once('close', () => r()));
      return text;
    };
    try {
      const info = await raw('HELLO\r\n');
      const first = JSON.parse(info.slice(5, info.indexOf('\r\n'))) as Record<string, unknown>;
      assert.equal(first.auth_required, true);
      assert.equal(typeof first.nonce, 'string');
      assert.equal(typeof first.client_id, 'number');
      assert.match(info, /-ERR 'Authorization Violation'\r\n/);
      const afterConnect = await raw('CONNECT {"name":"x"}\r\nBOGUS stuff\r\n');
      assert.match(afterConnect, /"connect_info":true/);
      assert.match(afterConnect, /-ERR 'Unknown Protocol Operation'\r\n/);
      assert.ok(hub.log.has(/Leafnode parser ERROR/));
      const bad = await raw('CONNECT {"name":"x"}\r\nLMSG foo bar\r\n');
      assert.doesNotMatch(bad, /-ERR 'Unknown/);
      assert.ok(hub.log.has(/processLeafMsgArgs Bad or Missing Size: '\[foo bar\]'/));
      await raw('CONNECT {"name":1}\r\n');
      assert.ok(hub.log.has(/json: cannot unmarshal number into Go struct field ClientOpts\.name of type string/));
      assert.ok(hub.log.has(/Leafnode connection closed: Protocol Violation account: $/));
      assert.ok(hub.log.has(/Leafnode connection closed: Authentication Failure account: $/));
      const c = await dial(hub.natter.url);
      await c.flush();
      await c.close();
    } finally {
      await hub.natter.close();
    }
  });

  describe('with TLS', () => {
    let certs: CertSet;
    before(async () => {
      certs = await makeCerts();
    });
    after(() => certs?.cleanup());

    test('the leaf upgrades after the hub\'s INFO and both verify certificates', async () => {
      const tls = { cert_file: certs.server.cert, key_file: certs.server.key, ca_file: certs.ca.cert, verify: true, timeout: 2 };
      const hub = await startLeafNatter({ port: -1, tls });
      const leaf = await startLeafNatter({ remotes: [{ url: `tls://localhost:${leafPort(hub.natter)}`, tls }] });
      await waitLeafs(hub.natter, 1);
      const a = await dial(hub.natter.url);
      const b = await dial(leaf.natter.url);
      try {
        const got = collect(b, 'secure');
        await b.flush();
        await waitLeafInterest(hub.natter, 'secure');
        a.publish('secure', 'over tls');
        await waitUntil(() => got.length === 1, 3000, 'a message over TLS');
        const varz = hub.natter.server.leafnodes?.varz();
        assert.equal(varz?.tls_required, true);
        assert.equal(varz?.tls_verify, true);
      } finally {
        await a.close();
        await b.close();
        await leaf.natter.close();
        await hub.natter.close();
      }
    });

    test('a leaf without a certificate the hub trusts is refused', async () => {
      const tls = { cert_file: certs.server.cert, key_file: certs.server.key, ca_file: certs.ca.cert, verify: true, timeout: 2 };
      const hub = await startLeafNatter({ port: -1, tls });
      const leaf = await startLeafNatter({
        remotes: [{ url: `tls://localhost:${leafPort(hub.natter)}`, tls: { cert_file: certs.wrongCaServer.cert, key_file: certs.wrongCaServer.key, ca_file: certs.ca.cert } }],
      });
      try {
        await hub.log.waitFor(/TLS handshake error/);
        assert.equal(hub.natter.server.leafnodes?.leafs().length, 0);
      } finally {
        await leaf.natter.close();
        await hub.natter.close();
      }
    });
  });
});

describe('a leaf on one node of a Natter cluster', () => {
  test('interest and messages reach the other node across the route, queue groups included', async () => {
    const n1 = await startNode('n1', { leafnodes: { port: -1 } });
    const n2 = await startNode('n2', { clusterBlock: { routes: [routeTo(n1.routePort)] } });
    await waitForMesh([n1, n2], [], 1);
    const leaf = await startLeafNatter({ remotes: [{ url: `nats-leaf://127.0.0.1:${leafPort(n1.srv)}` }] });
    await waitLeafs(n1.srv, 1);
    const far = await dial(n2.url);
    const edge = await dial(leaf.natter.url);
    try {
      // A subscriber on n2 only: the leaf learns it through n1's routed interest.
      const atFar = collect(far, 'from.edge');
      const qFar = collect(far, 'jobs', 'workers');
      await far.flush();
      await waitLeafInterest(leaf.natter, 'from.edge');
      await waitLeafInterest(leaf.natter, 'jobs');
      const atEdge = collect(edge, 'from.far');
      const qEdge = collect(edge, 'jobs', 'workers');
      await edge.flush();
      await waitUntil(() => n2.cluster.routes()[0]?.subscriptions.some((x) => x.subject === 'from.far') === true, 3000, 'n2 hears of the leaf\'s interest');
      edge.publish('from.edge', 'e');
      far.publish('from.far', 'f');
      for (let i = 0; i < 30; i++) far.publish('jobs', `far${i}`);
      for (let i = 0; i < 30; i++) edge.publish('jobs', `edge${i}`);
      await waitUntil(() => atFar.length === 1 && atEdge.length === 1 && qFar.length + qEdge.length >= 60, 3000, 'messages across route and leaf');
      await sleep(100);
      assert.deepEqual(atFar, ['e']);
      assert.deepEqual(atEdge, ['f']);
      assert.equal(qFar.length + qEdge.length, 60);
      // The subscriber on n2 leaves: the leaf is told the interest is gone.
      await far.close();
      await waitUntil(() => !(leaf.natter.server.leafnodes?.leafs()[0]?.subscriptions.includes('from.edge') ?? true), 3000, 'the interest withdrawn');
    } finally {
      await far.close();
      await edge.close();
      await leaf.natter.close();
      await n2.close();
      await n1.close();
    }
  });
});

describe('the leafnodes configuration block', () => {
  const problem = (text: string): string => {
    try {
      optionsFromConfigText(text, 'leaf.conf');
    } catch (e) {
      if (e instanceof ConfigError) return e.message;
      throw e;
    }
    return '';
  };

  test('bad values are reported at file:line:col in nats-server\'s words', () => {
    assert.match(problem('leafnodes {\n  foo: 1\n}\n'), /leaf\.conf:2:3: unknown field "foo"/);
    assert.match(problem('leafnodes { port: "x" }\n'), /leaf\.conf:1:13: interface conversion: interface \{\} is string, not int64/);
    assert.match(problem('leafnodes { remotes: "x" }\n'), /leaf\.conf:1:13: Expected remotes field to be an array, got string/);
    assert.match(problem('leafnodes {\n  remotes: [\n    { url: "nats://h:1", deny_imports: 5 }\n  ]\n}\n'), /leaf\.conf:3:26: Expected subject permissions to be a subject, or array of subjects, got int64/);
    assert.match(problem('leafnodes { remotes: [ { urlx: "nats://a:1" } ] }\n'), /leaf\.conf:1:26: unknown field "urlx"/);
    assert.match(problem('leafnodes { reconnect: "3s" }\n'), /interface conversion: interface \{\} is string, not int64/);
    assert.match(problem('leafnodes { listen: "a:b:c" }\n'), /could not parse address string "a:b:c"/);
    assert.match(problem('leafnodes { authorization { token: x } }\n'), /unknown field "token"/);
  });

  test('a good block loads, and the server no longer calls it inactive', () => {
    const r = optionsFromConfigText('leafnodes {\n  listen: "127.0.0.1:-1"\n  reconnect: 2\n  remotes: [ { urls: ["nats://h:7422", "nats-leaf://u:p@g"], account: "$G" } ]\n}\n', 'leaf.conf');
    assert.ok(r.options.leafnodes !== undefined);
    assert.ok(!r.warnings.some((w) => w.includes('leafnodes')), r.warnings.join('\n'));
  });

  test('an account that does not exist stops the start, as in nats-server', async () => {
    await assert.rejects(
      startNatter({ leafnodes: { remotes: [{ url: 'nats://127.0.0.1:1', account: 'NOPE' }] } }),
      /cannot find local account "NOPE" specified in leafnode remote/,
    );
    await assert.rejects(
      startNatter({ leafnodes: { port: -1, authorization: { users: [{ user: 'a', password: 'b', account: 'NOPE' }] } } }),
      /cannot find local account "NOPE" specified in leafnode authorization/,
    );
  });
});
