/**
 * The messaging chart's password rotation, through the chart: the rendered
 * pod runs as a local natter-server whose auth Secret volume is laid out as
 * the kubelet lays it out (files behind a `..data` symlink that each update
 * swaps). Each `helm upgrade` step of the procedure changes only the Secret;
 * with the chart's default reloader value the server's config_watch picks
 * the change up with no restart: both users get in during the rotation, and
 * the old user's connection is closed once it is removed.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { CHART_EXAMPLES_DIR, findObject, helmTemplate, renderedConfig, type K8sObject } from '../helpers/helm.js';
import { waitUntil } from '../helpers/wait.js';
import { layoutPods, startPod, updateSecretVolume, waitProbe, type LocalPod } from './chart-pod.js';

const EXAMPLE = path.join(CHART_EXAMPLES_DIR, 'messaging-rotation.yaml');

type User = { user: string; password: string };

/** The example with one pod (no routes to stand in for) and the given users. */
function render(users: User[]): K8sObject[] {
  return helmTemplate({ release: 'messaging', valuesFiles: [EXAMPLE], values: [{ config: { cluster: { enabled: false } }, auth: { users } }] });
}

describe('chart: password rotation (messaging example) with the Secret updated in place', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'natter-chart-rotation-'));
  const authDir = path.join(work, 'secret-auth');
  let pod: LocalPod | undefined;
  const conns: NatsConnection[] = [];

  after(async () => {
    for (const nc of conns) await nc.close().catch(() => undefined);
    pod?.proc?.kill('SIGKILL');
    await pod?.exited;
    rmSync(work, { recursive: true, force: true });
  });

  it('lets both users in during the rotation and shuts the old one out at the end, with no restart', { timeout: 60_000 }, async () => {
    const step1 = render([{ user: 'user1', password: 'password1' }]);
    const step2 = render([{ user: 'user2', password: 'password2' }, { user: 'user1', password: 'password1' }]);
    const step3 = render([{ user: 'user2', password: 'password2' }]);
    assert.equal(renderedConfig(step2), renderedConfig(step1), 'a rotation step changes the Secret only');
    assert.equal(renderedConfig(step3), renderedConfig(step1), 'a rotation step changes the Secret only');
    assert.match(renderedConfig(step1), /"config_watch": true/);
    const secretOf = (objects: K8sObject[]): K8sObject => findObject(objects, 'Secret', 'messaging-nats-auth');

    mkdirSync(authDir);
    updateSecretVolume(authDir, secretOf(step1).stringData as Record<string, string>, 1);
    const pods = await layoutPods(step1, work, (secretName) => {
      assert.equal(secretName, 'messaging-nats-auth');
      return authDir;
    });
    assert.equal(pods.length, 1);
    pod = pods[0] as LocalPod;
    startPod(pod);
    await waitProbe(pod, 'startupProbe', 30_000);
    const url = `nats://127.0.0.1:${pod.ports.get('nats')}`;
    const canLogIn = async (u: User): Promise<boolean> => {
      try {
        const nc = await connect({ servers: url, user: u.user, pass: u.password, reconnect: false, timeout: 2000 });
        await nc.close();
        return true;
      } catch {
        return false;
      }
    };
    const user1 = { user: 'user1', password: 'password1' };
    const user2 = { user: 'user2', password: 'password2' };
    assert.equal(await canLogIn(user1), true);
    assert.equal(await canLogIn(user2), false);
    const user1Conn = await connect({ servers: url, user: user1.user, pass: user1.password, reconnect: false });
    conns.push(user1Conn);
    const pid = pod.proc?.pid;

    updateSecretVolume(authDir, secretOf(step2).stringData as Record<string, string>, 2);
    await waitUntil(() => canLogIn(user2), 15_000, 'user2 to be accepted after the Secret update', 200);
    assert.equal(await canLogIn(user1), true, 'the old user still gets in during the rotation');
    assert.equal(user1Conn.isClosed(), false);

    updateSecretVolume(authDir, secretOf(step3).stringData as Record<string, string>, 3);
    await waitUntil(async () => !(await canLogIn(user1)), 15_000, 'user1 to be refused after its removal', 200);
    assert.equal(await canLogIn(user2), true);
    await waitUntil(() => user1Conn.isClosed(), 10_000, "the removed user's connection to be closed", 50);
    assert.equal(pod.proc?.pid, pid);
    assert.equal(pod.proc?.exitCode, null, 'no restart');
  });
});
