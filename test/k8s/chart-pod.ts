/**
 * Pods of the chart's StatefulSet as local natter-server processes, with
 * what Kubernetes would provide stood in for, and only that: each volume is
 * a directory, the ports are free loopback ports, the route URLs' pod DNS
 * names are 127.0.0.1 ports, the environment is the container's with its
 * references resolved. The command line, nats.conf, probes and preStop hook
 * are the rendered ones.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { trackChild } from '../helpers/children.js';
import { containerEnv, natsPod, renderedConfig, type ContainerSpec, type K8sObject, type Probe } from '../helpers/helm.js';
import { freePort } from '../helpers/ports.js';
import { waitUntil } from '../helpers/wait.js';

/** The image's entrypoint and its `nats-server` command: Natter's CLI. */
const CLI = fileURLToPath(new URL('../../src/cli/natter-server.js', import.meta.url));

export interface LocalPod {
  readonly name: string;
  readonly container: ContainerSpec;
  /** containerPort name -> the loopback port standing in for it. */
  readonly ports: Map<string, number>;
  /** mountPath -> the directory standing in for the volume. */
  readonly mounts: Map<string, string>;
  proc?: ChildProcess;
  exited?: Promise<number | null>;
  log: string;
}

export type ProbeKind = 'startupProbe' | 'readinessProbe' | 'livenessProbe';

/**
 * Pods 0..replicas-1 of the rendered StatefulSet under `work`: a Secret
 * volume is a symlink to the directory `secretDir(secretName)` gives (shared
 * by every pod, as a Secret is); every other volume (ConfigMap copy,
 * emptyDir, claim) is the pod's own directory. Each pod's nats.conf is written into its config volume.
 */
export async function layoutPods(objects: readonly K8sObject[], work: string, secretDir: (secretName: string) => string): Promise<LocalPod[]> {
  const { sts, pod: podSpec, container } = natsPod(objects);
  const spec = sts.spec as { replicas: number; serviceName: string };
  const volumes = podSpec.volumes as Array<{ name: string; secret?: { secretName: string } }>;
  const pods: LocalPod[] = [];
  for (let ordinal = 0; ordinal < spec.replicas; ordinal++) {
    const name = `${sts.metadata.name}-${ordinal}`;
    const ports = new Map<string, number>();
    for (const p of container.ports ?? []) ports.set(p.name, await freePort());
    const mounts = new Map<string, string>();
    for (const m of container.volumeMounts ?? []) {
      // Under <work>/<pod>/ at the mount path, so that relative includes
      // (../nats-auth/auth.conf) resolve as in the container.
      const dir = path.join(work, name, m.mountPath);
      const secret = volumes.find((v) => v.name === m.name)?.secret;
      if (secret !== undefined) {
        mkdirSync(path.dirname(dir), { recursive: true });
        symlinkSync(secretDir(secret.secretName), dir);
      } else {
        mkdirSync(dir, { recursive: true });
      }
      mounts.set(m.mountPath, dir);
    }
    pods.push({ name, container, ports, mounts, log: '' });
  }
  const conf = renderedConfig(objects);
  const configMount = container.volumeMounts?.find((m) => m.name === 'config');
  assert.ok(configMount, 'the container mounts the config volume');
  for (const pod of pods) {
    writeFileSync(path.join(pod.mounts.get(configMount.mountPath) as string, 'nats.conf'), localConfig(conf, pod, pods, sts.metadata.name, spec.serviceName));
  }
  return pods;
}

function replaceOnce(text: string, pattern: RegExp, replacement: string): string {
  const matches = text.match(new RegExp(pattern.source, 'g')) ?? [];
  assert.equal(matches.length, 1, `the rendered nats.conf should hold ${pattern} once`);
  return text.replace(pattern, replacement);
}

/** The rendered nats.conf with its paths, ports and route URLs mapped onto this machine for `pod`. */
function localConfig(conf: string, pod: LocalPod, pods: readonly LocalPod[], stsName: string, headless: string): string {
  let text = conf;
  for (const [mountPath, dir] of pod.mounts) text = text.split(`"${mountPath}`).join(`"${dir}`);
  const containerPort = (name: string): number | undefined => pod.container.ports?.find((p) => p.name === name)?.containerPort;
  const client = containerPort('nats');
  assert.ok(client !== undefined, 'the container has a nats port');
  text = replaceOnce(text, new RegExp(`"port": ${client}\\b`), `"port": ${pod.ports.get('nats')}`);
  const monitor = containerPort('monitor');
  if (monitor !== undefined) text = replaceOnce(text, new RegExp(`"(https?_port)": ${monitor}\\b`), `"$1": ${pod.ports.get('monitor')}`);
  const cluster = containerPort('cluster');
  if (cluster !== undefined) {
    text = replaceOnce(text, new RegExp(`"port": ${cluster}\\b`), `"port": ${pod.ports.get('cluster')}`);
    const route = new RegExp(`(tls|nats)://([^"@/]+@)?${stsName}-(\\d+)\\.${headless}:${cluster}`, 'g');
    assert.equal((text.match(route) ?? []).length, pods.length, 'one route URL per pod');
    text = text.replace(route, (_m, scheme: string, creds: string | undefined, n: string) => `${scheme}://${creds ?? ''}127.0.0.1:${pods[Number(n)]?.ports.get('cluster')}`);
  }
  return text;
}

/** A path inside the container, as this pod's local path. */
export function localPath(pod: LocalPod, containerPath: string): string {
  for (const [mountPath, dir] of [...pod.mounts].sort((a, b) => b[0].length - a[0].length)) {
    if (containerPath === mountPath || containerPath.startsWith(`${mountPath}/`)) return dir + containerPath.slice(mountPath.length);
  }
  return containerPath;
}

/**
 * Starts the pod's container: the image's entrypoint (natter-server) with
 * the StatefulSet's args and env; `envStandIns` gives the values of env
 * references other than the pod name (status.hostIP, secretKeyRef, ...).
 */
export function startPod(pod: LocalPod, envStandIns: Record<string, string> = {}): void {
  const args = (pod.container.args ?? []).map((a) => localPath(pod, a));
  const proc = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...containerEnv(pod.container, pod.name, envStandIns) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  trackChild(proc);
  pod.log = '';
  proc.stderr?.on('data', (d: Buffer) => (pod.log += d.toString()));
  pod.proc = proc;
  pod.exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
}

/** Runs the pod's preStop exec hook (its `nats-server` is Natter's CLI; its file paths are this pod's). */
export function runPreStop(pod: LocalPod): SpawnSyncReturns<string> {
  const command = pod.container.lifecycle?.preStop?.exec?.command;
  assert.equal(command?.[0], 'nats-server', "the preStop hook runs the image's nats-server");
  const args = command.slice(1).map((a) => a.replace(/=(\/.*)$/, (_m: string, file: string) => `=${localPath(pod, file)}`));
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 10_000 });
}

/** One HTTP(S) probe as the kubelet makes it: no client certificate, the server's certificate not verified; 200-399 passes. */
function probeOk(pod: LocalPod, probe: Probe): Promise<boolean> {
  const port = typeof probe.httpGet.port === 'number' ? probe.httpGet.port : pod.ports.get(probe.httpGet.port);
  const https = (probe.httpGet.scheme ?? 'HTTP').toUpperCase() === 'HTTPS';
  return new Promise((resolve) => {
    const req = (https ? httpsRequest : httpRequest)(
      { host: '127.0.0.1', port, path: probe.httpGet.path, timeout: 5000, ...(https ? { rejectUnauthorized: false } : {}) },
      (res) => {
        res.resume();
        resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** Waits until the pod's probe answers 200; fails at once, with its log, if the process exits. */
export async function waitProbe(pod: LocalPod, kind: ProbeKind, timeoutMs: number): Promise<void> {
  const probe = pod.container[kind];
  assert.ok(probe, `the container defines a ${kind}`);
  await waitUntil(
    async () => {
      if (pod.proc?.exitCode !== null) throw new Error(`${pod.name} exited:\n${pod.log}`);
      return probeOk(pod, probe);
    },
    timeoutMs,
    `${pod.name}'s ${kind} (${probe.httpGet.path})`,
    250,
  ).catch((e: Error) => {
    throw new Error(`${e.message}\n${pod.name} log:\n${pod.log.slice(-3000)}`);
  });
}

/** Waits for the process to exit; 'killed' when it outlived `graceMs` (then it is killed, as the kubelet would). */
export async function waitExit(pod: LocalPod, graceMs: number): Promise<number | null | 'killed'> {
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([pod.exited, new Promise<'killed'>((resolve) => (timer = setTimeout(() => resolve('killed'), graceMs)))]);
  clearTimeout(timer);
  if (outcome === 'killed') pod.proc?.kill('SIGKILL');
  return outcome ?? null;
}

/**
 * Writes a Secret's (or ConfigMap's) files into `dir` as the kubelet does:
 * a new timestamped folder, `..data` swapped onto it by rename, and each
 * visible name a symlink through `..data`.
 */
export function updateSecretVolume(dir: string, data: Record<string, string>, version: number): void {
  const folder = `..2026_01_01_00_00_${String(version).padStart(2, '0')}.${process.pid}`;
  mkdirSync(path.join(dir, folder), { recursive: true });
  for (const [key, value] of Object.entries(data)) writeFileSync(path.join(dir, folder, key), value);
  symlinkSync(folder, path.join(dir, '..data_tmp'));
  renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  for (const key of Object.keys(data)) {
    if (!existsSync(path.join(dir, key))) symlinkSync(path.join('..data', key), path.join(dir, key));
  }
}

/** A test certificate authority in `dir` (ca.crt, ca.key) issuing EC P-256 certificates with openssl. */
export class TestPki {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.openssl(['req', '-x509', ...TestPki.EC, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=natter chart test CA', '-days', '2']);
  }

  private static readonly EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

  get caFile(): string {
    return path.join(this.dir, 'ca.crt');
  }

  /** Issues `<name>.crt` and `<name>.key` for `subject` (openssl form, /OU=x/CN=y) and returns their paths. */
  issue(name: string, subject: string, opts: { sans?: string[]; usage: 'server' | 'client' }): { cert: string; key: string } {
    const ext = [`extendedKeyUsage=${opts.usage === 'server' ? 'serverAuth,clientAuth' : 'clientAuth'}`];
    if (opts.sans?.length) ext.push(`subjectAltName=${opts.sans.join(',')}`);
    writeFileSync(path.join(this.dir, `${name}.ext`), `${ext.join('\n')}\n`);
    this.openssl(['req', ...TestPki.EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
    this.openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`]);
    return { cert: path.join(this.dir, `${name}.crt`), key: path.join(this.dir, `${name}.key`) };
  }

  private openssl(args: string[]): void {
    const r = spawnSync('openssl', args, { cwd: this.dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
  }
}
