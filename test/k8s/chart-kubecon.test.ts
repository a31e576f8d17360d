/**
 * The KubeCon resolver example (examples/kubecon-resolver-edge.yaml) as a
 * local natter-server pod (chart-pod.ts; one pod, so no routes to stand in
 * for): the accounts ConfigMap from `natter auth generate config`, the Let's
 * Encrypt Secret from a test CA. Rendered as written, the server either runs
 * every block or refuses at start naming the one it does not run (a values
 * file never deploys less than it says); without that block, the pod passes
 * its probes with the full resolver, client TLS, leaf node and websocket
 * listeners up, and the operator's system user logs in with its creds.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import { CHART_EXAMPLES_DIR, helmTemplate, type K8sObject } from '../helpers/helm.js';
import { freePort, waitForListen } from '../helpers/ports.js';
import { layoutPods, startPod, TestPki, updateSecretVolume, waitExit, waitProbe, type LocalPod } from './chart-pod.js';

const EXAMPLE = path.join(CHART_EXAMPLES_DIR, 'kubecon-resolver-edge.yaml');
const NATTER_TOOL = fileURLToPath(new URL('../../src/cli/natter.js', import.meta.url));

describe('chart: the KubeCon resolver example as a local pod', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'natter-chart-kubecon-'));
  const started: LocalPod[] = [];
  after(async () => {
    for (const pod of started) pod.proc?.kill('SIGKILL');
    await Promise.all(started.map((p) => p.exited));
    rmSync(work, { recursive: true, force: true });
  });

  // The operator, its system account and the accounts ConfigMap's resolver.conf, as `nsc generate config --nats-resolver` makes them.
  const store = path.join(work, 'auth-store');
  const tool = (args: string[]): string => {
    const r = spawnSync(process.execPath, [NATTER_TOOL, 'auth', '--store', store, ...args], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  let pki: TestPki;
  let letsEncrypt: { cert: string; key: string };
  before(() => {
    tool(['init', '--operator', 'KO']);
    pki = new TestPki(path.join(work, 'pki'));
    letsEncrypt = pki.issue('sfo', '/CN=sfo.nats.chat', { usage: 'server', sans: ['DNS:sfo.nats.chat', 'DNS:localhost', 'IP:127.0.0.1'] });
  });

  /**
   * One pod of the example (cluster off), its leaf node, websocket and
   * gateway listeners on free ports given as values (chart-pod maps the
   * client and monitor ports); `run` names its work folder.
   */
  async function podOf(run: string, values: Record<string, unknown>): Promise<{ pod: LocalPod; leaf: number; ws: number }> {
    const [leaf, ws, gw] = [await freePort(), await freePort(), await freePort()];
    const objects: K8sObject[] = helmTemplate({
      valuesFiles: [EXAMPLE],
      values: [{ config: { cluster: { enabled: false }, leafnodes: { port: leaf }, websocket: { port: ws }, gateway: { port: gw } } }, values],
    });
    const dir = path.join(work, run);
    const tlsSecret = path.join(dir, 'secret-nats-tls');
    mkdirSync(tlsSecret, { recursive: true });
    updateSecretVolume(tlsSecret, { 'fullchain.pem': readFileSync(letsEncrypt.cert, 'utf8'), 'privkey.pem': readFileSync(letsEncrypt.key, 'utf8') }, 1);
    const [pod] = await layoutPods(objects, dir, (secretName) => {
      assert.equal(secretName, 'nats-tls');
      return tlsSecret;
    });
    assert.ok(pod);
    writeFileSync(path.join(pod.mounts.get('/etc/nats-accounts') as string, 'resolver.conf'), tool(['generate', 'config', '--full-resolver', '--dir', './jwt']));
    started.push(pod);
    return { pod, leaf, ws };
  }

  it('runs every block it renders, or refuses at start naming the one it does not run', { timeout: 60_000 }, async () => {
    const { pod } = await podOf('as-written', {});
    startPod(pod);
    const outcome = await Promise.race([pod.exited, waitProbe(pod, 'startupProbe', 30_000).then(() => 'ready' as const)]).catch((e: Error) => e.message);
    if (outcome !== 'ready') {
      await waitExit(pod, 5_000);
      assert.notEqual(pod.proc?.exitCode, 0, 'a refused block is a failed start');
      assert.match(pod.log, /gateway.*not supported|leafnode.*not supported|websocket.*not supported/i, `the refusal names the block:\n${pod.log}`);
    }
  });

  it('without the gateway: passes its probes with the resolver, TLS, leaf node and websocket listeners up', { timeout: 60_000 }, async () => {
    const { pod, leaf, ws } = await podOf('no-gateway', { config: { gateway: { enabled: false } } });
    startPod(pod);
    await waitProbe(pod, 'startupProbe', 30_000);
    await waitProbe(pod, 'readinessProbe', 10_000);
    await waitProbe(pod, 'livenessProbe', 10_000);
    for (const port of [leaf, ws]) await waitForListen(port, 5_000);
    const creds = readFileSync(path.join(store, 'creds', 'KO', 'SYS', 'sys.creds'));
    const nc = await connect({
      servers: `tls://127.0.0.1:${pod.ports.get('nats')}`,
      tls: { caFile: pki.caFile },
      authenticator: credsAuthenticator(creds),
      reconnect: false,
      timeout: 5000,
    });
    const reply = await nc.request('$SYS.REQ.SERVER.PING.VARZ', '', { timeout: 5000 });
    const varz = reply.json<{ data: { server_name: string } }>();
    assert.equal(varz.data.server_name, 'nats-0', 'the system account answers its services');
    assert.equal(nc.info?.tls_required, true);
    await nc.close();
  });
});
