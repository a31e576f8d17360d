/**
 * The chart's 3-replica JetStream TLS example, run for real without
 * Kubernetes: its rendered nats.conf and its StatefulSet's container
 * (arguments, environment, volume mounts, probes, preStop) drive three
 * natter-server processes on loopback (chart-pod.ts); the route Secret's
 * certificates are made with openssl. The pods must pass the probes the
 * chart defines, then survive a rolling restart done as the StatefulSet
 * controller does it (highest ordinal first; preStop, wait for exit, start,
 * wait for the startup and readiness probes) under a publisher to an R3
 * stream, losing no acknowledged message.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { CHART_EXAMPLES_DIR, findObject, helmTemplate, natsPod, renderedConfig } from '../helpers/helm.js';
import { sleep, waitUntil } from '../helpers/wait.js';
import { layoutPods, runPreStop, startPod, TestPki, updateSecretVolume, waitExit, waitProbe, type LocalPod } from './chart-pod.js';

const EXAMPLE = path.join(CHART_EXAMPLES_DIR, 'courtyard-jetstream-tls.yaml');

describe('chart: the 3-replica JetStream TLS example on three loopback processes', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'natter-chart-'));
  let pods: LocalPod[] = [];
  const clients: NatsConnection[] = [];

  after(async () => {
    for (const nc of clients) await nc.close().catch(() => undefined);
    for (const pod of pods) pod.proc?.kill('SIGKILL');
    await Promise.all(pods.map((p) => p.exited));
    rmSync(work, { recursive: true, force: true });
  });

  it('forms the cluster, passes its probes, and survives a rolling restart under an R3 publisher', { timeout: 150_000 }, async () => {
    // The example as written, plus one config.merge: a shorter lame duck
    // grace period keeps three restarts within the test's time.
    const objects = helmTemplate({ valuesFiles: [EXAMPLE], set: ['config.merge.lame_duck_grace_period=2s'] });
    assert.match(renderedConfig(objects), /"lame_duck_grace_period": "2s"/, 'config.merge reaches nats.conf');
    const { sts, pod: podSpec } = natsPod(objects);
    const spec = sts.spec as { replicas: number; serviceName: string };
    assert.equal(spec.replicas, 3);
    findObject(objects, 'Service', spec.serviceName);

    // The route Secret (tls.crt, tls.key, ca.crt), valid for the pods' DNS names and 127.0.0.1.
    const pki = new TestPki(path.join(work, 'pki'));
    const route = pki.issue('route', '/CN=nats', { usage: 'server', sans: [`DNS:*.${spec.serviceName}`, 'DNS:localhost', 'IP:127.0.0.1'] });
    const certs = path.join(work, 'secret-nats-cluster-tls');
    mkdirSync(certs);
    updateSecretVolume(certs, { 'tls.crt': readFileSync(route.cert, 'utf8'), 'tls.key': readFileSync(route.key, 'utf8'), 'ca.crt': readFileSync(pki.caFile, 'utf8') }, 1);
    pods = await layoutPods(objects, work, (secretName) => {
      assert.equal(secretName, 'nats-cluster-tls');
      return certs;
    });
    // podManagementPolicy: Parallel: all pods start at once, and each must pass every probe.
    for (const pod of pods) startPod(pod);
    await Promise.all(pods.map((p) => waitProbe(p, 'startupProbe', 45_000)));
    await Promise.all(pods.map((p) => waitProbe(p, 'readinessProbe', 20_000)));
    await Promise.all(pods.map((p) => waitProbe(p, 'livenessProbe', 20_000)));

    const servers = pods.map((p) => `nats://127.0.0.1:${p.ports.get('nats')}`);
    const nc = await connect({ servers, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    clients.push(nc);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'ORDERS', subjects: ['orders.>'], num_replicas: 3, storage: StorageType.File });
    const js = jetstream(nc, { timeout: 3000 });

    // The publisher: each message is retried (same Nats-Msg-Id) until acknowledged.
    const acked: Array<{ seq: number; n: number }> = [];
    let publishing = true;
    let failures = 0;
    const publisher = (async () => {
      for (let n = 0; publishing; ) {
        try {
          const ack = await js.publish(`orders.${n}`, new TextEncoder().encode(`order ${n}`), { msgID: `order-${n}` });
          if (!ack.duplicate) acked.push({ seq: ack.seq, n });
          n++;
          await sleep(5);
        } catch {
          failures++;
          await sleep(100);
        }
      }
    })();
    await waitUntil(() => acked.length >= 50, 20_000, 'the publisher to get going', 50);

    // The StatefulSet controller's rolling update: highest ordinal first, the next pod only once this one is Ready.
    const graceMs = ((podSpec.terminationGracePeriodSeconds as number | undefined) ?? 30) * 1000;
    for (const pod of [...pods].reverse()) {
      const ackedBefore = acked.length;
      const hook = runPreStop(pod);
      assert.equal(hook.status, 0, `preStop of ${pod.name}: ${hook.stderr}`);
      const outcome = await waitExit(pod, graceMs);
      assert.notEqual(outcome, 'killed', `${pod.name} did not exit within terminationGracePeriodSeconds after lame duck:\n${pod.log}`);
      startPod(pod);
      await waitProbe(pod, 'startupProbe', 45_000);
      await waitProbe(pod, 'readinessProbe', 20_000);
      await waitUntil(() => acked.length > ackedBefore + 20, 20_000, `acknowledged publishes while ${pod.name} restarted`, 50);
    }
    await Promise.all(pods.map((p) => waitProbe(p, 'livenessProbe', 20_000)));
    publishing = false;
    await publisher;

    // Every acknowledged message is in the stream at its sequence, on a stream whose replicas are all current.
    await waitUntil(
      async () => {
        const info = await jsm.streams.info('ORDERS');
        return (info.cluster?.replicas ?? []).length === 2 && (info.cluster?.replicas ?? []).every((r) => r.current);
      },
      20_000,
      'the R3 stream to have two current followers',
      250,
    );
    const info = await jsm.streams.info('ORDERS');
    assert.ok(info.state.messages >= acked.length, `${info.state.messages} messages stored, ${acked.length} acknowledged`);
    for (const { seq, n } of acked) {
      const m = await jsm.streams.getMessage('ORDERS', { seq });
      assert.equal(m?.subject, `orders.${n}`, `acknowledged message ${n} at sequence ${seq}`);
    }
    assert.ok(acked.length > 100, `only ${acked.length} messages acknowledged (${failures} failed attempts)`);
  });
});
