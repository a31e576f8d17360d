/**
 * The operator TLS seed through the chart (examples/operator-tls-verify-and-map.yaml),
 * run as three local natter-server processes (chart-pod.ts): routes over
 * TLS from their own Secret, clients over TLS presenting a certificate whose
 * subject picks their user (verify_and_map) from users.json in a Secret
 * volume, HTTPS probes as the kubelet makes them (no client certificate),
 * and "reloading supported by only updating the secret": a new users.json
 * swapped into the volume applies with no restart.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { CHART_EXAMPLES_DIR, helmTemplate, natsPod } from '../helpers/helm.js';
import { waitUntil } from '../helpers/wait.js';
import { layoutPods, startPod, TestPki, updateSecretVolume, waitProbe, type LocalPod } from './chart-pod.js';

const EXAMPLE = path.join(CHART_EXAMPLES_DIR, 'operator-tls-verify-and-map.yaml');

describe('chart: the operator TLS example (verify_and_map users from a Secret) on three loopback processes', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'natter-chart-optls-'));
  let pods: LocalPod[] = [];
  const conns: NatsConnection[] = [];

  after(async () => {
    for (const nc of conns) await nc.close().catch(() => undefined);
    for (const pod of pods) pod.proc?.kill('SIGKILL');
    await Promise.all(pods.map((p) => p.exited));
    rmSync(work, { recursive: true, force: true });
  });

  it('maps client certificates to users across the cluster, answers HTTPS probes, and reloads a new users file', { timeout: 90_000 }, async () => {
    const objects = helmTemplate({ valuesFiles: [EXAMPLE] });
    const headless = (natsPod(objects).sts.spec as { serviceName: string }).serviceName;
    const pki = new TestPki(path.join(work, 'pki'));
    const hosts = [`DNS:*.${headless}`, 'DNS:localhost', 'IP:127.0.0.1'];
    const server = pki.issue('server', '/OU=Operator/CN=nats.io', { usage: 'server', sans: hosts });
    const route = pki.issue('route', '/OU=Operator/CN=nats.io', { usage: 'server', sans: hosts });
    const cncf = pki.issue('client-cncf', '/OU=CNCF/CN=nats.io', { usage: 'client' });
    const acme = pki.issue('client-acme', '/OU=ACME/CN=nats.io', { usage: 'client' });
    const read = (f: string): string => readFileSync(f, 'utf8');
    const usersJson = read(path.join(CHART_EXAMPLES_DIR, 'users.json'));

    // The seed's three Secrets, as the kubelet mounts them.
    const secrets: Record<string, Record<string, string>> = {
      'nats-tls-example': { 'ca.pem': read(pki.caFile), 'server.pem': read(server.cert), 'server-key.pem': read(server.key) },
      'nats-tls-routes-example': { 'ca.pem': read(pki.caFile), 'route.pem': read(route.cert), 'route-key.pem': read(route.key) },
      'nats-tls-users': { 'users.json': usersJson },
    };
    const secretDir = (name: string): string => path.join(work, 'secrets', name);
    for (const [name, data] of Object.entries(secrets)) {
      mkdirSync(secretDir(name), { recursive: true });
      updateSecretVolume(secretDir(name), data, 1);
    }
    pods = await layoutPods(objects, work, (name) => {
      assert.ok(secrets[name], `the example mounts the seed's Secret ${name}`);
      return secretDir(name);
    });
    for (const pod of pods) startPod(pod, { HOST_IP: '127.0.0.1' });
    await Promise.all(pods.map((p) => waitProbe(p, 'startupProbe', 45_000)));
    await Promise.all(pods.map((p) => waitProbe(p, 'readinessProbe', 20_000)));
    await Promise.all(pods.map((p) => waitProbe(p, 'livenessProbe', 20_000)));

    const connectAs = (pod: LocalPod, client: { cert: string; key: string }): Promise<NatsConnection> =>
      connect({
        servers: `tls://127.0.0.1:${pod.ports.get('nats')}`,
        tls: { certFile: client.cert, keyFile: client.key, caFile: pki.caFile },
        reconnect: false,
        ignoreClusterUpdates: true,
        timeout: 3000,
      });
    const [pod0, pod1, pod2] = pods as [LocalPod, LocalPod, LocalPod];

    // CNCF may subscribe to hello.world and publish hello.*: across pods, over the TLS routes.
    const subscriber = await connectAs(pod0, cncf);
    conns.push(subscriber);
    const sub = subscriber.subscribe('hello.world', { max: 1 });
    await subscriber.flush();
    const publisher = await connectAs(pod2, cncf);
    conns.push(publisher);
    const received = (async () => {
      for await (const m of sub) return m.string();
      return undefined;
    })();
    await waitUntil(
      async () => {
        publisher.publish('hello.world', 'from pod 2');
        await publisher.flush();
        return Promise.race([received.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 200))]);
      },
      15_000,
      'a message over the TLS routes from pod 2 to pod 0',
      0,
    );
    assert.equal(await received, 'from pod 2');

    // ACME has the default permissions: SANDBOX.* out, PUBLIC.> in; hello.* is refused.
    const acmeConn = await connectAs(pod1, acme);
    conns.push(acmeConn);
    const violation = (async () => {
      for await (const s of acmeConn.status()) if (s.type === 'error') return String(s.error);
      return '';
    })();
    acmeConn.publish('hello.world', 'not allowed');
    assert.match(await violation, /permissions violation/i);

    // A client with no certificate is refused (verify).
    await assert.rejects(connect({ servers: `tls://127.0.0.1:${pod0.ports.get('nats')}`, tls: { caFile: pki.caFile }, reconnect: false, timeout: 3000 }));

    // The Secret updated to drop ACME: every pod reloads it with no restart.
    const pids = pods.map((p) => p.proc?.pid);
    const withoutAcme = JSON.parse(usersJson) as { users: Array<{ user: string }> };
    withoutAcme.users = withoutAcme.users.filter((u) => u.user !== 'CN=nats.io,OU=ACME');
    updateSecretVolume(secretDir('nats-tls-users'), { 'users.json': JSON.stringify(withoutAcme) }, 2);
    for (const pod of pods) {
      await waitUntil(
        async () => {
          try {
            (await connectAs(pod, acme)).close();
            return false;
          } catch {
            return true;
          }
        },
        15_000,
        `${pod.name} to refuse ACME after the users Secret changed`,
        200,
      );
    }
    const stillCncf = await connectAs(pod1, cncf);
    await stillCncf.close();
    assert.deepEqual(pods.map((p) => p.proc?.pid), pids, 'no pod restarted');
    assert.ok(pods.every((p) => p.proc?.exitCode === null));
  });
});
