/**
 * Route TLS: Natter clusters whose routes handshake before any protocol
 * byte and verify each other's certificates (the layout of the seeds
 * courtyard-3-node-jetstream-tls.md and secure-nats-cluster-operator-tls.md:
 * one CA, server certificates with serverAuth and clientAuth), peers that
 * must be refused (a certificate from another CA, a plain route, a name the
 * certificate does not carry), and a mixed cluster with nats-server 2.9.10
 * where TLS routes are dialled in both directions.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { NatsConnection } from '@nats-io/transport-node';
import { makeCerts, type CertFiles, type CertSet } from '../tls/certs.js';
import { pinnedCertId } from '../../src/tls/index.js';
import { sleep, waitUntil } from '../helpers/wait.js';
import {
  client, collect, rawExchange, routeTo, startNatsNode, startNode, waitForInterest, waitForMesh,
  type NatsNode, type NatterNode,
} from './helpers.js';

let certs: CertSet;

function tlsBlock(pair: CertFiles, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { cert_file: pair.cert, key_file: pair.key, ca_file: certs.ca.cert, timeout: 2, ...extra };
}

/** The same block in nats-server's configuration syntax. */
function natsTls(pair: CertFiles): string {
  return `tls { cert_file: "${pair.cert}", key_file: "${pair.key}", ca_file: "${certs.ca.cert}", timeout: 2 }`;
}

/** Publishes on `from` and waits for the message on `to` (interest must have reached `fromNode`). */
async function roundTrip(fromNode: NatterNode | NatsNode, from: NatsConnection, to: NatsConnection, subject: string): Promise<void> {
  const got = collect(to, subject);
  await to.flush();
  await waitForInterest(fromNode, subject, 1);
  from.publish(subject, 'x');
  await from.flush();
  await waitUntil(() => got.length === 1, 3000, `${subject} to arrive`);
  await sleep(50);
  assert.deepEqual(got, [`${subject}:x`]);
}

/** Nobody has a route for a while, and `log` tells why. */
async function neverRouted(nodes: readonly NatterNode[], log: NatterNode, why: RegExp): Promise<void> {
  await waitUntil(() => log.log.has(why), 4000, `a log line matching ${why} on ${log.name}`);
  await sleep(300);
  for (const n of nodes) assert.equal(n.cluster.routes().length, 0, `${n.name} has no route`);
}

describe('route TLS', () => {
  before(async () => {
    certs = await makeCerts();
  });

  after(() => certs?.cleanup());

  it('forms a 2-node cluster over TLS and carries messages both ways', async () => {
    const a = await startNode('A', { clusterBlock: { tls: tlsBlock(certs.server) } });
    const b = await startNode('B', { clusterBlock: { tls: tlsBlock(certs.server), routes: [routeTo(a.routePort)] } });
    const [ca, cb] = await Promise.all([client(a.url), client(b.url)]);
    try {
      await waitForMesh([a, b], [], 1);
      assert.equal(a.cluster.varz()?.tls_required, true);
      assert.equal(a.cluster.varz()?.tls_verify, true);
      assert.ok(a.log.has(/TLS handshake complete/), 'the accepting side did a handshake');
      assert.ok(b.log.has(/Starting TLS route client handshake/), 'the dialling side did a handshake');
      await roundTrip(a, ca, cb, 'tls.to.b');
      await roundTrip(b, cb, ca, 'tls.to.a');
      const reply = await cb.request('tls.svc', 'q', { timeout: 2000 }).catch((e: unknown) => e);
      // No responder anywhere: the 503 status crosses the TLS route as well as a reply would.
      assert.ok(reply instanceof Error);
    } finally {
      await Promise.all([ca.close(), cb.close()]);
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('forms a 3-node mesh over TLS from one seed (gossiped routes use TLS too)', async () => {
    const a = await startNode('A', { clusterBlock: { tls: tlsBlock(certs.server) } });
    const b = await startNode('B', { clusterBlock: { tls: tlsBlock(certs.server), routes: [routeTo(a.routePort)] } });
    const c = await startNode('C', { clusterBlock: { tls: tlsBlock(certs.server), routes: [routeTo(a.routePort)] } });
    const [cb, cc] = await Promise.all([client(b.url), client(c.url)]);
    try {
      await waitForMesh([a, b, c], [], 2, 8000);
      // B and C know only A: the route between them came from gossip.
      assert.deepEqual(b.cluster.routes().map((r) => r.remoteName).sort(), ['A', 'C']);
      await roundTrip(b, cb, cc, 'tls3.to.c');
      await roundTrip(c, cc, cb, 'tls3.to.b');
    } finally {
      await Promise.all([cb.close(), cc.close()]);
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  it('refuses a peer whose certificate comes from another CA', async () => {
    const a = await startNode('A', { clusterBlock: { tls: tlsBlock(certs.server) } });
    const x = await startNode('X', { clusterBlock: { tls: tlsBlock(certs.wrongCaServer), routes: [routeTo(a.routePort)] } });
    try {
      await neverRouted([a, x], a, /TLS handshake error: tls: failed to verify client certificate: x509: certificate signed by unknown authority/);
    } finally {
      await Promise.all([a.close(), x.close()]);
    }
  });

  it('refuses to dial a peer whose certificate comes from another CA', async () => {
    const x = await startNode('X', { clusterBlock: { tls: tlsBlock(certs.wrongCaServer) } });
    const a = await startNode('A', { clusterBlock: { tls: tlsBlock(certs.server), routes: [routeTo(x.routePort)] } });
    try {
      await neverRouted([a, x], a, /TLS route handshake error: .*(certificate|self.signed|issuer)/i);
    } finally {
      await Promise.all([a.close(), x.close()]);
    }
  });

  it('refuses a plain route on a TLS route port, and does not fall back to plain when dialling', async () => {
    const a = await startNode('A', { clusterBlock: { tls: tlsBlock(certs.server) } });
    const plain = await startNode('P', { clusterBlock: { routes: [routeTo(a.routePort)] } });
    const b = await startNode('B', { clusterBlock: { tls: tlsBlock(certs.server), routes: [routeTo(plain.routePort)] } });
    try {
      await neverRouted([a, plain], a, /TLS handshake error: tls: first record does not look like a TLS handshake/);
      await waitUntil(() => b.log.has(/TLS route handshake error/), 4000, 'B to give up on the plain peer');
      assert.equal(b.cluster.routes().length, 0);
    } finally {
      await Promise.all([a.close(), plain.close(), b.close()]);
    }
  });

  it('cuts a connection that does not start its handshake within the TLS timeout', async () => {
    const a = await startNode('A', { clusterBlock: { tls: tlsBlock(certs.server, { timeout: 0.3 }) } });
    try {
      const t0 = Date.now();
      const r = await rawExchange(a.routePort, [], 3000);
      assert.ok(r.closed, 'closed by the server');
      assert.equal(r.text, '', 'no INFO in clear before the handshake');
      assert.ok(Date.now() - t0 < 2000, 'the configured timeout, not the default');
      assert.ok(a.log.has(/TLS handshake timeout/));
      assert.equal(a.cluster.varz()?.tls_timeout, 0.3);
    } finally {
      await a.close();
    }
  });

  it('checks the peer certificate against the dialled host, unless insecure', async () => {
    // The certificate names example.com only; the route URL says 127.0.0.1.
    const w = await startNode('W', { clusterBlock: { tls: tlsBlock(certs.wrongSanServer) } });
    const strict = await startNode('S', { clusterBlock: { tls: tlsBlock(certs.server), routes: [routeTo(w.routePort)] } });
    try {
      await neverRouted([w, strict], strict, /TLS route handshake error: .*(altnames|IP: 127\.0\.0\.1)/);
    } finally {
      await strict.close();
    }
    const lax = await startNode('L', { clusterBlock: { tls: tlsBlock(certs.server, { insecure: true }), routes: [routeTo(w.routePort)] } });
    try {
      await waitForMesh([w, lax], [], 1);
    } finally {
      await Promise.all([w.close(), lax.close()]);
    }
  });

  it('holds the servers it dials to pinned_certs', async () => {
    const a = await startNode('A', { clusterBlock: { tls: tlsBlock(certs.server) } });
    const pin = pinnedCertId(new X509Certificate(readFileSync(certs.server.cert)));
    const other = pinnedCertId(new X509Certificate(readFileSync(certs.server2.cert)));
    const wrong = await startNode('W', { clusterBlock: { tls: tlsBlock(certs.server, { pinned_certs: [other] }), routes: [routeTo(a.routePort)] } });
    try {
      await neverRouted([a, wrong], wrong, /TLS route handshake error: certificate not pinned/);
    } finally {
      await wrong.close();
    }
    const right = await startNode('R', { clusterBlock: { tls: tlsBlock(certs.server, { pinned_certs: [pin] }), routes: [routeTo(a.routePort)] } });
    try {
      await waitForMesh([a, right], [], 1);
    } finally {
      await Promise.all([a.close(), right.close()]);
    }
  });

  it('joins nats-server 2.9.10 over TLS routes dialled both ways', async () => {
    let n1: NatsNode | undefined;
    let n2: NatsNode | undefined;
    let a: NatterNode | undefined;
    const conns: NatsConnection[] = [];
    try {
      n1 = await startNatsNode('N1', `name: c\n${natsTls(certs.server)}`);
      // Natter dials nats-server, then nats-server N2 dials Natter; N1 and N2 meet by gossip.
      a = await startNode('A', { clusterBlock: { tls: tlsBlock(certs.server), routes: [routeTo(n1.routePort)] } });
      n2 = await startNatsNode('N2', `name: c\n${natsTls(certs.server)}\nroutes: [${routeTo(a.routePort)}]`);
      await waitForMesh([a], [n1, n2], 2, 8000);
      const [c1, ca, c2] = await Promise.all([client(n1.url), client(a.url), client(n2.url)]);
      conns.push(c1, ca, c2);
      await roundTrip(n1, c1, ca, 'mixtls.n1.to.a');
      await roundTrip(a, ca, c1, 'mixtls.a.to.n1');
      await roundTrip(n2, c2, ca, 'mixtls.n2.to.a');
      await roundTrip(a, ca, c2, 'mixtls.a.to.n2');
      ca.subscribe('mixtls.svc', { callback: (_e, m) => { m.respond(`re:${m.string()}`); } });
      await ca.flush();
      await waitForInterest(n2, 'mixtls.svc', 1);
      const r = await c2.request('mixtls.svc', 'q', { timeout: 2000 });
      assert.equal(r.string(), 're:q');
    } finally {
      await Promise.all(conns.map((nc) => nc.close()));
      await a?.close();
      await Promise.all([n1?.close(), n2?.close()]);
    }
  });
});
