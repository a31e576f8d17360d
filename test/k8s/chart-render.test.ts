/**
 * The chart rendered with every example values file and with a values file
 * written for the official nats chart, checked object by object: the
 * StatefulSet (replicas, container arguments, environment, probes, preStop,
 * volume mounts and the volumes behind them, claims), the Services and their
 * ports, and the ConfigMap's nats.conf read by Natter's own configuration
 * loader, with the files it includes laid out as the pod would see them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { loadConfigFile } from '../../src/config/index.js';
import type { ServerOptions } from '../../src/server/options.js';
import {
  CHART_DIR,
  CHART_EXAMPLES_DIR,
  containerEnv,
  findObject,
  helmTemplate,
  natsPod,
  runHelm,
  type ContainerSpec,
  type K8sObject,
} from '../helpers/helm.js';

const NATTER_TOOL = fileURLToPath(new URL('../../src/cli/natter.js', import.meta.url));
const OFFICIAL_VALUES = path.join(CHART_DIR, 'ci', 'official-chart-values.yaml');
const example = (name: string): string => path.join(CHART_EXAMPLES_DIR, name);

const work = mkdtempSync(path.join(tmpdir(), 'natter-chart-render-'));
after(() => rmSync(work, { recursive: true, force: true }));

interface ServicePort {
  name: string;
  port: number;
  targetPort: string;
  appProtocol: string;
  nodePort?: number;
}

/** Views of the configuration blocks the tests read (the loader keeps blocks raw, for their subsystems). */
interface TlsView {
  cert_file?: string;
  ca_file?: string;
  verify?: boolean;
  verify_and_map?: boolean;
}
interface ClusterView {
  name?: string;
  port?: number;
  routes?: string[];
  tls?: TlsView;
  authorization?: { user: string; password: string };
}
interface AuthView {
  token?: string;
  users?: Array<{ user: string; password?: string }>;
}
const clusterOf = (o: Partial<ServerOptions>): ClusterView | undefined => o.cluster as ClusterView | undefined;
const tlsOf = (o: Partial<ServerOptions>): TlsView | undefined => o.tls as TlsView | undefined;
const authOf = (o: Partial<ServerOptions>): AuthView | undefined => o.authorization as AuthView | undefined;
const resolverOf = (o: Partial<ServerOptions>): { type?: string; dir?: string } | undefined => o.resolver as { type?: string; dir?: string } | undefined;

function servicePorts(objects: readonly K8sObject[], name: string): Record<string, number> {
  const svc = findObject(objects, 'Service', name);
  const ports = (svc.spec as { ports: ServicePort[] }).ports;
  return Object.fromEntries(ports.map((p) => [p.name, p.port]));
}

/**
 * nats.conf as pod `podName` reads it: the container's file system is laid
 * out under a temporary root (ConfigMap and chart-made Secret volumes from
 * the render, other volumes from `files`, keyed by mount path), then
 * Natter's loader reads it with the container's environment.
 */
function loadPodConfig(
  objects: readonly K8sObject[],
  podName: string,
  files: Record<string, Record<string, string>> = {},
  envStandIns: Record<string, string> = {},
): { options: Partial<ServerOptions>; warnings: string[]; text: string; inPod: (local: string | undefined) => string | undefined } {
  const root = mkdtempSync(path.join(work, 'pod-'));
  const { pod, container } = natsPod(objects);
  const volumes = pod.volumes as Array<{ name: string; configMap?: { name: string }; secret?: { secretName: string } }>;
  for (const mount of container.volumeMounts ?? []) {
    const dir = path.join(root, mount.mountPath);
    mkdirSync(dir, { recursive: true });
    const volume = volumes.find((v) => v.name === mount.name);
    const rendered =
      volume?.configMap !== undefined
        ? objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === volume.configMap?.name)?.data
        : volume?.secret !== undefined
          ? objects.find((o) => o.kind === 'Secret' && o.metadata.name === volume.secret?.secretName)?.stringData
          : undefined;
    for (const [file, content] of Object.entries({ ...(rendered as Record<string, string> | undefined), ...files[mount.mountPath] })) {
      writeFileSync(path.join(dir, file), content);
    }
  }
  const configArg = container.args?.[(container.args?.indexOf('--config') ?? -2) + 1];
  assert.ok(configArg, 'the container is given --config <file>');
  const confPath = path.join(root, configArg);
  const text = readFileSync(confPath, 'utf8');
  // Absolute paths into the pod's volumes (certificates, store, pid file) point under the root.
  let rooted = text;
  for (const m of container.volumeMounts ?? []) rooted = rooted.split(`"${m.mountPath}`).join(`"${root}${m.mountPath}`);
  rooted = rooted.split('"/var/run/nats/').join(`"${root}/var/run/nats/`);
  writeFileSync(confPath, rooted);
  const loaded = loadConfigFile(confPath, { env: containerEnv(container, podName, envStandIns) });
  const inPod = (local: string | undefined): string | undefined => (local?.startsWith(root) ? local.slice(root.length) : local);
  return { ...loaded, text, inPod };
}

/** A self-signed certificate and key (PEM), made once. */
let selfSigned: { cert: string; key: string } | undefined;
function selfSignedPair(): { cert: string; key: string } {
  if (selfSigned === undefined) {
    const dir = mkdtempSync(path.join(work, 'cert-'));
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-subj', '/CN=sfo.nats.chat', '-days', '2'], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    selfSigned = { cert: readFileSync(path.join(dir, 'cert.pem'), 'utf8'), key: readFileSync(path.join(dir, 'key.pem'), 'utf8') };
  }
  return selfSigned;
}

/** Every volume mount of the pod has a volume or a claim template behind it, and every volume is mounted. */
function assertMountsResolve(objects: readonly K8sObject[]): void {
  const { sts, pod, container } = natsPod(objects);
  const volumes = new Set((pod.volumes as Array<{ name: string }>).map((v) => v.name));
  const claims = new Set(((sts.spec as { volumeClaimTemplates?: Array<{ metadata: { name: string } }> }).volumeClaimTemplates ?? []).map((c) => c.metadata.name));
  for (const m of container.volumeMounts ?? []) assert.ok(volumes.has(m.name) || claims.has(m.name), `mount ${m.name} (${m.mountPath}) has a volume`);
  const mounted = new Set((container.volumeMounts ?? []).map((m) => m.name));
  for (const v of volumes) assert.ok(mounted.has(v), `volume ${v} is mounted`);
}

/** The official chart's probes, preStop and arguments. */
function assertOfficialContainer(container: ContainerSpec, scheme = 'HTTP'): void {
  assert.deepEqual(container.args, ['--config', '/etc/nats-config/nats.conf']);
  assert.deepEqual(container.lifecycle?.preStop?.exec?.command, ['nats-server', '-sl=ldm=/var/run/nats/nats.pid']);
  assert.deepEqual(container.startupProbe?.httpGet, { path: '/healthz', port: 'monitor', scheme });
  assert.deepEqual(container.readinessProbe?.httpGet, { path: '/healthz?js-server-only=true', port: 'monitor', scheme });
  assert.deepEqual(container.livenessProbe?.httpGet, { path: '/healthz?js-enabled-only=true', port: 'monitor', scheme });
  assert.equal(container.startupProbe?.failureThreshold, 90);
  const monitor = container.ports?.find((p) => p.name === 'monitor');
  assert.equal(monitor?.containerPort, 8222, 'the probes name the monitor port');
  const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e]));
  assert.deepEqual(env.POD_NAME?.valueFrom, { fieldRef: { fieldPath: 'metadata.name' } });
  assert.ok(env.SERVER_NAME?.value?.endsWith('$(POD_NAME)'));
}

describe('chart: helm lint', () => {
  it('passes with the defaults, every example and the official-chart values file', () => {
    const files = [undefined, ...readdirSync(CHART_EXAMPLES_DIR).filter((f) => f.endsWith('.yaml')).map(example), OFFICIAL_VALUES];
    for (const f of files) {
      const r = runHelm(['lint', '--strict', CHART_DIR, ...(f ? ['-f', f] : [])]);
      assert.equal(r.status, 0, `helm lint ${f ?? '(defaults)'}:\n${r.stdout}${r.stderr}`);
    }
  });
});

describe('chart: default values', () => {
  const objects = helmTemplate();

  it('renders one Natter pod with monitoring, its Services, ConfigMap and PodDisruptionBudget', () => {
    assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
      'ConfigMap/nats-config',
      'PodDisruptionBudget/nats',
      'Service/nats',
      'Service/nats-headless',
      'StatefulSet/nats',
    ]);
    const { sts, pod, container } = natsPod(objects);
    assert.equal((sts.spec as { replicas: number }).replicas, 1);
    assert.equal(pod.terminationGracePeriodSeconds, 60);
    assert.equal(container.image, 'natter:0.1.0');
    assertOfficialContainer(container);
    assertMountsResolve(objects);
    assert.deepEqual(servicePorts(objects, 'nats'), { nats: 4222 });
    assert.deepEqual(servicePorts(objects, 'nats-headless'), { nats: 4222, monitor: 8222 });
  });

  it('writes a nats.conf Natter loads: the pod name as server_name, lame duck, pid file, config_watch', () => {
    const { options, warnings, inPod } = loadPodConfig(objects, 'nats-0');
    assert.deepEqual(warnings, []);
    assert.equal(options.server_name, 'nats-0');
    assert.equal(options.port, 4222);
    assert.equal(options.http_port, 8222);
    assert.equal(inPod(options.pid_file), '/var/run/nats/nats.pid');
    assert.equal(options.lame_duck_duration, 30_000);
    assert.equal(options.lame_duck_grace_period, 10_000);
    assert.equal(options.config_watch, true);
  });
});

describe('chart: examples/courtyard-jetstream-tls.yaml', () => {
  const objects = helmTemplate({ valuesFiles: [example('courtyard-jetstream-tls.yaml')] });

  it('renders a 3-pod StatefulSet with a JetStream volume claim and the route certificates mounted', () => {
    const { sts, pod, container } = natsPod(objects);
    const spec = sts.spec as { replicas: number; serviceName: string; podManagementPolicy: string; volumeClaimTemplates: Array<{ metadata: { name: string }; spec: { resources: { requests: { storage: string } } } }> };
    assert.equal(spec.replicas, 3);
    assert.equal(spec.serviceName, 'nats-headless');
    assert.equal(spec.podManagementPolicy, 'Parallel');
    assert.deepEqual(spec.volumeClaimTemplates.map((c) => [c.metadata.name, c.spec.resources.requests.storage]), [['nats-js', '10Gi']]);
    assertOfficialContainer(container);
    assertMountsResolve(objects);
    const mounts = Object.fromEntries((container.volumeMounts ?? []).map((m) => [m.name, m.mountPath]));
    assert.equal(mounts['nats-js'], '/data');
    assert.equal(mounts['cluster-tls'], '/etc/nats-certs/cluster');
    assert.deepEqual((pod.volumes as Array<{ name: string; secret?: { secretName: string } }>).find((v) => v.name === 'cluster-tls')?.secret, { secretName: 'nats-cluster-tls' });
    assert.equal((pod.topologySpreadConstraints as Array<{ topologyKey: string }>)[0]?.topologyKey, 'kubernetes.io/hostname');
    assert.deepEqual(servicePorts(objects, 'nats-headless'), { nats: 4222, cluster: 6222, monitor: 8222 });
  });

  it('writes the cluster, route TLS and JetStream storage into nats.conf', () => {
    const { options, inPod } = loadPodConfig(objects, 'nats-1');
    assert.equal(options.server_name, 'nats-1');
    assert.deepEqual(clusterOf(options)?.routes, [0, 1, 2].map((i) => `tls://nats-${i}.nats-headless:6222`));
    assert.equal(clusterOf(options)?.port, 6222);
    assert.equal(clusterOf(options)?.name, 'nats');
    assert.equal(inPod(clusterOf(options)?.tls?.cert_file), '/etc/nats-certs/cluster/tls.crt');
    assert.equal(inPod(clusterOf(options)?.tls?.ca_file), '/etc/nats-certs/cluster/ca.crt');
    const js = options.jetstream as { store_dir: string; max_file_store: number; max_memory_store: number };
    assert.equal(inPod(js.store_dir), '/data');
    assert.equal(js.max_file_store, 10 * 1024 ** 3);
    assert.equal(js.max_memory_store, 1024 ** 3);
  });
});

describe('chart: examples/messaging-rotation.yaml', () => {
  const objects = helmTemplate({ release: 'messaging', valuesFiles: [example('messaging-rotation.yaml')] });

  it('keeps users and route credentials in a Secret that nats.conf includes', () => {
    const secret = findObject(objects, 'Secret', 'messaging-nats-auth');
    const { options } = loadPodConfig(objects, 'messaging-nats-0');
    assert.deepEqual(authOf(options)?.users?.map((u) => [u.user, u.password]), [['user2', 'password2'], ['user1', 'password1']]);
    assert.deepEqual(clusterOf(options)?.authorization, { user: 'nats_cluster', password: 'change-me-cluster-password' });
    assert.equal(clusterOf(options)?.routes?.[0], 'nats://nats_cluster:change-me-cluster-password@messaging-nats-0.messaging-nats-headless:6222');
    const cm = findObject(objects, 'ConfigMap');
    assert.doesNotMatch(JSON.stringify(cm), /password/, 'no password in the ConfigMap');
    const { container, pod } = natsPod(objects);
    assert.ok(container.volumeMounts?.some((m) => m.name === 'auth' && m.mountPath === '/etc/nats-auth'));
    assert.deepEqual((pod.volumes as Array<{ name: string; secret?: { secretName: string } }>).find((v) => v.name === 'auth')?.secret, { secretName: secret.metadata.name });
  });

  it('spreads the pods (soft anti-affinity), exposes 4222, 6222 and 8222, and renders the network policy', () => {
    const { pod } = natsPod(objects);
    const anti = (pod.affinity as { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: Array<{ weight: number; podAffinityTerm: { topologyKey: string } }> } }).podAntiAffinity;
    assert.equal(anti.preferredDuringSchedulingIgnoredDuringExecution[0]?.podAffinityTerm.topologyKey, 'kubernetes.io/hostname');
    assert.deepEqual(servicePorts(objects, 'messaging-nats'), { nats: 4222, cluster: 6222, monitor: 8222 });
    const np = findObject(objects, 'NetworkPolicy');
    const ingress = (np.spec as { ingress: Array<{ from: Array<{ podSelector?: { matchLabels: Record<string, string> } }>; ports?: Array<{ port: number }> }> }).ingress;
    assert.ok(ingress.some((r) => r.from.some((f) => f.podSelector?.matchLabels['messaging-nats-client'] === 'true') && r.ports?.some((p) => p.port === 4222)));
  });
});

describe('chart: examples/operator-tls-verify-and-map.yaml', () => {
  const objects = helmTemplate({ valuesFiles: [example('operator-tls-verify-and-map.yaml')] });

  it('maps client certificates to the users of the mounted users.json, advertises the node IP, and serves HTTPS probes', () => {
    const { options, inPod } = loadPodConfig(objects, 'nats-2', { '/etc/nats-users': { 'users.json': readFileSync(example('users.json'), 'utf8') } }, { HOST_IP: '203.0.113.7' });
    assert.equal(tlsOf(options)?.verify_and_map, true);
    assert.equal(inPod(tlsOf(options)?.cert_file), '/etc/nats-certs/nats/server.pem');
    assert.equal(inPod(clusterOf(options)?.tls?.cert_file), '/etc/nats-certs/cluster/route.pem');
    assert.deepEqual(authOf(options)?.users?.map((u) => u.user), ['CN=nats.io,OU=ACME', 'CN=nats.io,OU=CNCF']);
    assert.equal(options.client_advertise, '203.0.113.7:4222');
    assert.equal(options.https_port, 8222);
    const { container, pod } = natsPod(objects);
    assertOfficialContainer(container, 'HTTPS');
    assertMountsResolve(objects);
    assert.equal(container.ports?.find((p) => p.name === 'nats')?.hostPort, 4222);
    assert.equal(pod.serviceAccountName, 'nats');
  });
});

describe('chart: examples/kubecon-resolver-edge.yaml', () => {
  const objects = helmTemplate({ valuesFiles: [example('kubecon-resolver-edge.yaml')] });

  it('renders the resolver, leafnode, gateway and websocket blocks and their ports', () => {
    // The accounts ConfigMap's resolver.conf, as `natter auth generate config` (nsc's) writes it.
    const store = path.join(work, 'auth-store');
    const tool = (args: string[]): string => {
      const r = spawnSync(process.execPath, [NATTER_TOOL, 'auth', '--store', store, ...args], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout;
    };
    tool(['init', '--operator', 'KO']);
    const resolverConf = tool(['generate', 'config', '--full-resolver', '--dir', './jwt']);
    const { cert, key } = selfSignedPair();
    const letsEncrypt = { 'fullchain.pem': cert, 'privkey.pem': key };
    const { options, text, inPod } = loadPodConfig(objects, 'nats-0', {
      '/etc/nats-accounts': { 'resolver.conf': resolverConf },
      '/etc/nats-certs/nats': letsEncrypt,
      '/etc/nats-certs/leafnodes': letsEncrypt,
      '/etc/nats-certs/websocket': letsEncrypt,
    });
    assert.match(text, /^\s*include \.\.\/nats-accounts\/resolver\.conf;/m);
    assert.equal(resolverOf(options)?.type, 'full');
    assert.equal(inPod(resolverOf(options)?.dir), '/data/resolver', "the chart's resolver block comes after the included one");
    assert.ok(options.operator, 'the operator JWT comes from the included file');
    assert.equal((options.leafnodes as { port: number }).port, 7422);
    assert.equal((options.gateway as { name: string; port: number }).name, 'sfo');
    assert.equal((options.websocket as { port: number }).port, 443);
    const { container } = natsPod(objects);
    assert.deepEqual(container.ports?.map((p) => [p.name, p.containerPort]), [['nats', 4222], ['leafnodes', 7422], ['websocket', 443], ['cluster', 6222], ['gateway', 7522], ['monitor', 8222]]);
    assert.deepEqual(servicePorts(objects, 'nats'), { nats: 4222, leafnodes: 7422, websocket: 443 });
    assertMountsResolve(objects);
    const svc = findObject(objects, 'Service', 'nats');
    assert.equal(svc.metadata.annotations?.['external-dns.alpha.kubernetes.io/hostname'], 'sfo.nats.chat');
    findObject(objects, 'Deployment', 'nats-box');
  });
});

describe('chart: a values file written for the official nats chart', () => {
  const objects = helmTemplate({ valuesFiles: [OFFICIAL_VALUES] });

  it('renders the objects that chart renders, under the same names, with an exporter-free PodMonitor', () => {
    assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
      'ConfigMap/events-config',
      'Deployment/events-box',
      'PodDisruptionBudget/events',
      'PodMonitor/events',
      'Secret/events-box-contents',
      'Secret/events-box-contexts',
      'Service/events',
      'Service/events-headless',
      'ServiceAccount/events',
      'StatefulSet/events',
    ]);
    const pm = findObject(objects, 'PodMonitor');
    assert.deepEqual((pm.spec as { podMetricsEndpoints: unknown[] }).podMetricsEndpoints, [{ port: 'monitor', path: '/metrics' }]);
    for (const o of objects) assert.equal(o.metadata.labels?.team, 'messaging', `${o.kind} carries the global labels`);
  });

  it('applies container, pod, StatefulSet and Service merges and patches', () => {
    const { sts, pod, container } = natsPod(objects);
    assert.equal((sts.spec as { replicas: number }).replicas, 5);
    assert.equal(sts.metadata.annotations?.owner, 'messaging');
    assert.deepEqual(container.securityContext, { readOnlyRootFilesystem: true });
    assert.equal(container.imagePullPolicy, 'IfNotPresent');
    assert.deepEqual(pod.imagePullSecrets, [{ name: 'registry-credentials' }]);
    assert.equal(pod.serviceAccountName, 'events');
    assert.equal(container.env?.find((e) => e.name === 'SERVER_NAME')?.value, 'east-$(POD_NAME)');
    assertOfficialContainer(container);
    assertMountsResolve(objects);
    const annotations = (sts.spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata.annotations;
    assert.match(annotations['checksum/config'] ?? '', /^[0-9a-f]{64}$/);
    assert.equal(annotations['prometheus.io/scrape'], 'true');
    assert.equal(annotations['prometheus.io/port'], '8222');
    assert.equal(annotations['prometheus.io/path'], '/metrics');
    const svc = findObject(objects, 'Service', 'events');
    assert.equal((svc.spec as { type: string }).type, 'LoadBalancer');
    assert.deepEqual(servicePorts(objects, 'events'), { nats: 4222, monitor: 8222 });
    const claims = (sts.spec as { volumeClaimTemplates: Array<{ spec: { storageClassName: string } }> }).volumeClaimTemplates;
    assert.equal(claims[0]?.spec.storageClassName, 'fast-ssd');
  });

  it('writes a nats.conf Natter loads, with config merges, patches, unquoted values and includes', () => {
    const { options, inPod } = loadPodConfig(objects, 'events-3', { '/etc/nats-extra': { 'extra.conf': 'max_connections: 1000\n' } }, { NATS_TOKEN: 's3cret-token' });
    assert.equal(options.server_name, 'east-events-3');
    assert.equal(options.max_payload, 8 * 1024 * 1024);
    assert.equal(authOf(options)?.token, 's3cret-token');
    assert.equal(options.max_connections, 1000);
    assert.equal(options.lame_duck_duration, 60_000, 'config.patch replaced it');
    assert.equal(options.write_deadline, 5_000, 'config.patch added it');
    assert.equal(tlsOf(options)?.verify, true);
    assert.equal(inPod(tlsOf(options)?.ca_file), '/etc/nats-ca-cert/ca.crt', 'tlsCA reaches every tls block');
    assert.equal(clusterOf(options)?.routes?.length, 5);
    assert.equal(clusterOf(options)?.routes?.[4], 'tls://route-user:route%2Fpass%20word@events-4.events-headless.default.svc.cluster.local:6222');
    assert.deepEqual(clusterOf(options)?.authorization, { user: 'route-user', password: 'route/pass word' });
    assert.equal(new URL(clusterOf(options)?.routes?.[0] ?? '').password, 'route%2Fpass%20word');
    assert.equal((options.jetstream as { domain: string }).domain, 'hub');
    assert.equal((options.cluster as { compression?: string }).compression, 's2_auto', 'cluster { pool_size, compression } load');
  });

  it('gives nats-box a context for this release with the creds and certificates it names', () => {
    const contexts = findObject(objects, 'Secret', 'events-box-contexts');
    const ctx = JSON.parse((contexts.stringData as Record<string, string>)['default.json'] as string) as Record<string, string>;
    assert.deepEqual(ctx, {
      url: 'tls://events',
      creds: '/etc/nats-contents/default.creds',
      cert: '/etc/nats-certs/default/tls.crt',
      key: '/etc/nats-certs/default/tls.key',
      ca: '/etc/nats-ca-cert/ca.crt',
    });
    const box = findObject(objects, 'Deployment', 'events-box');
    const spec = (box.spec as { template: { spec: { containers: ContainerSpec[]; volumes: Array<{ name: string }> } } }).template.spec;
    const mounts = (spec.containers[0]?.volumeMounts ?? []).map((m) => m.mountPath).sort();
    assert.deepEqual(mounts, ['/etc/nats-ca-cert', '/etc/nats-certs/default', '/etc/nats-contents', '/etc/nats-contexts']);
    assert.equal(spec.volumes.length, mounts.length);
  });
});
