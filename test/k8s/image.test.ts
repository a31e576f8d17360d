/**
 * The container image, run for real with podman: `--version` works and
 * `nats-server` in it is Natter; it starts the way the Helm chart's
 * StatefulSet starts it (`--config /etc/nats-config/nats.conf` from a
 * ConfigMap mount, `$SERVER_NAME` from the environment, the pid file in an
 * emptyDir at /var/run/nats, JetStream on a volume at /data), answers the
 * probes, reloads on SIGHUP and when the mounted config changes
 * (`config_watch`, as the chart sets it), and the preStop command
 * (`nats-server -sl=ldm=/var/run/nats/nats.pid`) ends it in lame duck mode.
 * The server is PID 1 and handles SIGTERM itself: `podman stop` needs no
 * SIGKILL.
 *
 * The image comes from image-build.test.ts, which runs before this file in
 * the suite; here the build finds every layer cached (seconds). Run alone on
 * a cold machine, this file makes the base image and the whole build first,
 * which takes several minutes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { freePort } from '../helpers/ports.js';
import { waitUntil } from '../helpers/wait.js';
import { IMAGE_TAG, RUN_FLAGS, buildImage, cannotRun, ensureBaseImage, podman } from './image-podman.js';

const skip = cannotRun();

describe('the container image', { skip: skip ?? false }, () => {
  const containers: string[] = [];
  let work: string;

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'natter-image-'));
    await ensureBaseImage();
    await buildImage();
  }, { timeout: 900_000 });

  after(async () => {
    for (const c of containers) await podman(['rm', '--force', '--time', '0', c]);
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  /** A detached container with a name this run removes afterwards. */
  async function runDetached(name: string, args: readonly string[]): Promise<string> {
    const full = `natter-image-test-${process.pid}-${name}`;
    containers.push(full);
    const r = await podman(['run', '--detach', '--name', full, ...RUN_FLAGS, ...args]);
    assert.equal(r.code, 0, r.stderr);
    return full;
  }

  async function logsOf(container: string): Promise<string> {
    const r = await podman(['logs', container]);
    return r.stdout + r.stderr;
  }

  async function exitOf(container: string, timeoutMs: number): Promise<number> {
    const r = await podman(['wait', container], timeoutMs);
    assert.equal(r.code, 0, `podman wait: ${r.stderr}`);
    return Number(r.stdout.trim());
  }

  it('runs --version, as nats-server does', async () => {
    const r = await podman(['run', '--rm', ...RUN_FLAGS, IMAGE_TAG, '--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^nats-server: v2\.\d+\.\d+\nnatter-server: v\d+\.\d+\.\d+/);
    const viaName = await podman(['run', '--rm', ...RUN_FLAGS, '--entrypoint', 'nats-server', IMAGE_TAG, '--version']);
    assert.equal(viaName.code, 0, viaName.stderr);
    assert.equal(viaName.stdout, r.stdout, '`nats-server` in the image is Natter');
  });

  it('starts as the chart\'s StatefulSet starts it, answers the probes, reloads on SIGHUP and on a config change, and the preStop command ends it', async () => {
    const clientPort = await freePort();
    const httpPort = await freePort();
    const configDir = path.join(work, 'config');
    const pidDir = path.join(work, 'pid');
    const dataDir = path.join(work, 'data');
    for (const d of [configDir, pidDir, dataDir]) mkdirSync(d, { recursive: true });
    // An emptyDir, and a volume made writable for the pod's fsGroup: here, for anyone.
    chmodSync(pidDir, 0o777);
    chmodSync(dataDir, 0o777);
    // The official chart's nats.conf shape (JSON, sizes unquoted, $SERVER_NAME from the env).
    const conf = (extra: string): string => `{
  "config_watch": true,${extra}
  "http_port": ${httpPort},
  "jetstream": { "max_file_store": 1Gi, "max_memory_store": 0, "store_dir": "/data" },
  "lame_duck_duration": "30s",
  "lame_duck_grace_period": "10s",
  "pid_file": "/var/run/nats/nats.pid",
  "port": ${clientPort},
  "server_name": $SERVER_NAME
}
`;
    writeFileSync(path.join(configDir, 'nats.conf'), conf(''));
    // Host networking: the ports above are free on this machine, and no CNI setup is needed.
    const c = await runDetached('sts', [
      '--network', 'host',
      '--env', 'SERVER_NAME=nats-0', '--env', 'POD_NAME=nats-0',
      '--volume', `${configDir}:/etc/nats-config:ro`,
      '--volume', `${pidDir}:/var/run/nats`,
      '--volume', `${dataDir}:/data`,
      IMAGE_TAG, '--config', '/etc/nats-config/nats.conf',
    ]);
    const base = `http://127.0.0.1:${httpPort}`;
    await waitUntil(async () => {
      try {
        return (await fetch(`${base}/healthz`)).status === 200;
      } catch {
        return false;
      }
    }, 60_000, `the startup probe (logs: ${await logsOf(c)})`, 200);
    for (const q of ['', '?js-server-only=true', '?js-enabled-only=true']) {
      const r = await fetch(`${base}/healthz${q}`);
      assert.equal(r.status, 200, `/healthz${q}`);
      assert.equal(await r.text(), '{"status":"ok"}');
    }
    const varz = await (await fetch(`${base}/varz`)).json() as { server_name: string };
    assert.equal(varz.server_name, 'nats-0');

    // JetStream keeps its files on the /data volume.
    const nc = await connect({ servers: `127.0.0.1:${clientPort}` });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'IMG', subjects: ['img'] });
    await nc.close();
    assert.ok(readdirSync(path.join(dataDir, 'jetstream', '$G', 'streams')).includes('IMG'));

    // The server itself is PID 1.
    const cmdline = await podman(['exec', c, 'cat', '/proc/1/cmdline']);
    assert.match(cmdline.stdout.replaceAll('\0', ' '), /^node \/app\/dist\/src\/cli\/natter-server\.js --config \/etc\/nats-config\/nats\.conf/);

    assert.equal((await podman(['kill', '--signal', 'HUP', c])).code, 0);
    await waitUntil(async () => /Reloaded server configuration/.test(await logsOf(c)), 15_000, 'the SIGHUP reload', 200);
    // The chart turns config_watch on: a change to the mounted file reloads with no signal.
    writeFileSync(path.join(configDir, 'nats.conf'), conf('\n  "max_payload": 2097152,'));
    await waitUntil(async () => /Reloaded: max_payload = 2097152/.test(await logsOf(c)), 15_000, 'the watched reload', 200);

    // The chart's preStop hook.
    const preStop = await podman(['exec', c, 'nats-server', '-sl=ldm=/var/run/nats/nats.pid']);
    assert.equal(preStop.code, 0, preStop.stderr);
    assert.equal(await exitOf(c, 60_000), 0);
    const logs = await logsOf(c);
    assert.match(logs, /Entering lame duck mode/);
    assert.match(logs, /Server Exiting/);
  });

  it('stops on SIGTERM by itself (podman stop needs no SIGKILL), with the default configuration', async () => {
    // Its own network namespace: the image's default ports (4222, 8222) may be taken on this machine.
    const c = await runDetached('default', ['--network', 'none', IMAGE_TAG]);
    await waitUntil(async () => /Server is ready/.test(await logsOf(c)), 30_000, 'the default configuration to start', 200);
    const started = Date.now();
    const stop = await podman(['stop', '--time', '20', c], 60_000);
    assert.equal(stop.code, 0, stop.stderr);
    assert.ok(Date.now() - started < 15_000, 'stopped well before podman\'s SIGKILL');
    assert.equal(await exitOf(c, 30_000), 0);
    assert.match(await logsOf(c), /Server Exiting/);
  });
});
