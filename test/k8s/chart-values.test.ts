/**
 * Values that must be refused (by values.schema.json or by the templates'
 * checks) with a message naming the value and the reason; merge and JSON
 * patch semantics; the messaging chart's values (rotation, anti-affinity,
 * network policy); the reloader value turning Natter's config watch on.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { findObject, helmTemplate, helmTemplateError, natsPod, renderedConfig, type TemplateOptions } from '../helpers/helm.js';

const withJetStreamCluster = { config: { cluster: { enabled: true, replicas: 3 }, jetstream: { enabled: true } } };

describe('chart: values that make no sense are refused with a clear message', () => {
  const refused: Array<[string, TemplateOptions, RegExp]> = [
    ['MQTT', { set: ['config.mqtt.enabled=true'] }, /config\.mqtt\.enabled: Natter does not implement MQTT/],
    ['the Go profiler', { set: ['config.profiling.enabled=true'] }, /config\.profiling\.enabled: Natter has no Go profiling port/],
    ['JetStream with no storage', { set: ['config.jetstream.enabled=true', 'config.jetstream.fileStore.enabled=false'] }, /JetStream is enabled with no storage/],
    ['2 JetStream replicas', { values: [withJetStreamCluster], set: ['config.cluster.replicas=2'] }, /config\.cluster\.replicas: 2 replicas with JetStream .*R3/],
    ['client TLS with no secret', { set: ['config.nats.tls.enabled=true'] }, /config\.nats\.tls: TLS is enabled but config\.nats\.tls\.secretName is not set/],
    ['route TLS with no secret', { set: ['config.cluster.enabled=true', 'config.cluster.tls.enabled=true'] }, /config\.cluster\.tls: TLS is enabled but config\.cluster\.tls\.secretName/],
    ['HTTPS monitoring without client TLS', { set: ['config.monitor.tls.enabled=true'] }, /config\.monitor\.tls\.enabled: HTTPS monitoring uses the client TLS settings/],
    ['service-to-service JWT users', { values: [{ auth: { jwtUsers: [{ user: 'my-service' }] } }] }, /auth\.jwtUsers: service-to-service JWT login is not supported/],
    ['client auth with no users', { set: ['auth.enabled=true'] }, /auth\.enabled: client authentication needs auth\.user and auth\.password, or auth\.users/],
    ['route auth with no password', { set: ['config.cluster.enabled=true', 'auth.clusterAuth.enabled=true'] }, /auth\.clusterAuth: route authentication needs/],
    ['a websocket Ingress without the Service', { set: ['config.websocket.enabled=true', 'config.websocket.ingress.enabled=true', 'config.websocket.ingress.hosts[0]=ws.example.com', 'service.enabled=false'] }, /config\.websocket\.ingress\.enabled: the Ingress points at the Service/],
    ['an official-chart $tplYaml extra resource', { values: [{ extraResources: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: { $tplYaml: '{{ "x" }}' } } }] }] }, /extraResources\[0\]: \$tplYaml keys of the official chart are not supported/],
    // values.schema.json
    ['a misspelt key', { set: ['config.clustr.enabled=true'] }, /config: Additional property clustr is not allowed/],
    ['a replica count that is not a number', { set: ['config.cluster.replicas=three'] }, /config\.cluster\.replicas: Invalid type\. Expected: integer, given: string/],
    ['an unknown anti-affinity', { set: ['antiAffinity=always'] }, /antiAffinity: antiAffinity must be one of the following/],
    ['a volume size that is not a quantity', { set: ['config.jetstream.fileStore.pvc.size=ten gigs'] }, /config\.jetstream\.fileStore\.pvc\.size: Does not match pattern/],
    ['a port out of range', { set: ['config.nats.port=70000'] }, /config\.nats\.port: Must be less than or equal to 65535/],
    ['an unknown patch operation', { values: [{ config: { patch: [{ op: 'append', path: '/port', value: 1 }] } }] }, /config\.patch\.0\.op: config\.patch\.0\.op must be one of the following/],
    ['a users entry without a password', { values: [{ auth: { enabled: true, users: [{ user: 'alice' }] } }] }, /auth\.users\.0: password is required/],
    // JSON patch at render time
    ['a patch path that is not there', { values: [{ config: { patch: [{ op: 'replace', path: '/cluster/port', value: 1 }] } }] }, /config\.patch\[0\]: no key "cluster"/],
    ['a failed patch test', { values: [{ config: { patch: [{ op: 'test', path: '/port', value: 4333 }] } }] }, /config\.patch\[0\]: test failed at \/port: found 4222, expected 4333/],
    ['a patch index past the end', { values: [{ container: { patch: [{ op: 'add', path: '/args/5', value: '-DV' }] } }] }, /container\.patch\[0\]: index 5 is past the end of an array of 2/],
  ];
  for (const [what, opts, message] of refused) {
    it(`refuses ${what}`, () => {
      assert.match(helmTemplateError(opts), message);
    });
  }
});

describe('chart: merge and JSON patch', () => {
  it('applies add, remove, replace, move, copy and test in order, with ~1 escapes and array positions', () => {
    const objects = helmTemplate({
      values: [
        {
          config: {
            merge: { accounts: { A: { users: [{ user: 'a', password: 'pa' }] } }, 'a/b': 1 },
            patch: [
              { op: 'test', path: '/port', value: 4222 },
              { op: 'replace', path: '/port', value: 4333 },
              { op: 'add', path: '/accounts/A/users/0', value: { user: 'z', password: 'pz' } },
              { op: 'add', path: '/accounts/A/users/-', value: { user: 'y', password: 'py' } },
              { op: 'remove', path: '/accounts/A/users/1' },
              { op: 'copy', from: '/accounts/A', path: '/accounts/B' },
              { op: 'move', from: '/a~1b', path: '/max_connections' },
              { op: 'remove', path: '/lame_duck_grace_period' },
            ],
          },
        },
      ],
    });
    const conf = parse(renderedConfig(objects).replace(/\$SERVER_NAME/, '"$SERVER_NAME"')) as Record<string, unknown>;
    assert.equal(conf.port, 4333);
    assert.deepEqual(conf.accounts, {
      A: { users: [{ user: 'z', password: 'pz' }, { user: 'y', password: 'py' }] },
      B: { users: [{ user: 'z', password: 'pz' }, { user: 'y', password: 'py' }] },
    });
    assert.equal(conf.max_connections, 1);
    assert.equal('a/b' in conf, false);
    assert.equal('lame_duck_grace_period' in conf, false);
    const cm = natsPod(objects).container;
    assert.equal(cm.ports?.find((p) => p.name === 'nats')?.containerPort, 4222, 'the container port follows config.nats.port, not the patched config');
  });

  it('patches the listener blocks and their tls blocks through their own merge and patch', () => {
    const objects = helmTemplate({
      values: [
        {
          config: {
            cluster: { enabled: true, replicas: 3, merge: { pool_size: 3 }, patch: [{ op: 'remove', path: '/no_advertise' }], tls: { enabled: true, secretName: 's', patch: [{ op: 'add', path: '/verify', value: true }] } },
          },
        },
      ],
    });
    const conf = parse(renderedConfig(objects).replace(/\$SERVER_NAME/, '"$SERVER_NAME"')) as { cluster: Record<string, unknown> };
    assert.equal(conf.cluster.pool_size, 3);
    assert.equal('no_advertise' in conf.cluster, false);
    assert.deepEqual(conf.cluster.tls, { cert_file: '/etc/nats-certs/cluster/tls.crt', key_file: '/etc/nats-certs/cluster/tls.key', verify: true });
  });
});

describe('chart: the messaging chart values', () => {
  it('renders every rotation step: both users while the old one is phased out, then the new one alone', () => {
    const usersOf = (users: Array<{ user: string; password: string }>): string[] => {
      const objects = helmTemplate({ values: [{ auth: { enabled: true, users } }] });
      const secret = findObject(objects, 'Secret', 'nats-auth');
      const authConf = (secret.stringData as Record<string, string>)['auth.conf'] as string;
      const parsed = parse(`{${authConf}}`) as { authorization: { users: Array<{ user: string }> } };
      assert.match(renderedConfig(objects), /^\s*include \.\.\/nats-auth\/auth\.conf;/m);
      return parsed.authorization.users.map((u) => u.user);
    };
    assert.deepEqual(usersOf([{ user: 'user1', password: 'password1' }]), ['user1']);
    assert.deepEqual(usersOf([{ user: 'user2', password: 'password2' }, { user: 'user1', password: 'password1' }]), ['user2', 'user1']);
    assert.deepEqual(usersOf([{ user: 'user2', password: 'password2' }]), ['user2']);
  });

  it('reloads new users in place with the reloader on, and rolls the pods on a user change with it off', () => {
    const annotations = (reloader: boolean, password: string): Record<string, string> | undefined => {
      const objects = helmTemplate({ values: [{ reloader: { enabled: reloader }, auth: { enabled: true, users: [{ user: 'u', password }] } }] });
      assert.equal(/"config_watch": true/.test(renderedConfig(objects)), reloader, 'config_watch follows reloader.enabled');
      return (natsPod(objects).sts.spec as { template: { metadata: { annotations?: Record<string, string> } } }).template.metadata.annotations;
    };
    assert.equal(annotations(true, 'p1')?.['checksum/auth'], undefined);
    const before = annotations(false, 'p1')?.['checksum/auth'];
    const after = annotations(false, 'p2')?.['checksum/auth'];
    assert.match(before ?? '', /^[0-9a-f]{64}$/);
    assert.notEqual(before, after);
  });

  it('turns antiAffinity hard into a required pod anti-affinity on the node', () => {
    const { pod } = natsPod(helmTemplate({ set: ['antiAffinity=hard'] }));
    const anti = (pod.affinity as { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: Array<{ topologyKey: string; labelSelector: { matchLabels: Record<string, string> } }> } }).podAntiAffinity;
    const term = anti.requiredDuringSchedulingIgnoredDuringExecution[0];
    assert.equal(term?.topologyKey, 'kubernetes.io/hostname');
    assert.equal(term?.labelSelector.matchLabels['app.kubernetes.io/instance'], 'nats');
    assert.equal(natsPod(helmTemplate()).pod.affinity, undefined);
  });
});

describe('chart: namespaces and optional objects', () => {
  it('puts every object in namespaceOverride and routes the websocket Ingress to the Service', () => {
    const objects = helmTemplate({
      values: [
        {
          namespaceOverride: 'messaging',
          config: { websocket: { enabled: true, ingress: { enabled: true, hosts: ['ws.example.com'], className: 'nginx', tlsSecretName: 'ws-tls' } } },
          auth: { enabled: true, user: 'u', password: 'p' },
          networkPolicy: { enabled: true },
          serviceAccount: { enabled: true },
          promExporter: { podMonitor: { enabled: true } },
          natsBox: { enabled: true, serviceAccount: { enabled: true } },
        },
      ],
    });
    for (const o of objects) assert.equal((o.metadata as { namespace?: string }).namespace, 'messaging', `${o.kind}/${o.metadata.name}`);
    const ingress = findObject(objects, 'Ingress', 'nats-ws');
    assert.deepEqual(ingress.spec, {
      ingressClassName: 'nginx',
      rules: [{ host: 'ws.example.com', http: { paths: [{ path: '/', pathType: 'Exact', backend: { service: { name: 'nats', port: { name: 'websocket' } } } }] } }],
      tls: [{ hosts: ['ws.example.com'], secretName: 'ws-tls' }],
    });
    const ws = parse(renderedConfig(objects).replace(/\$SERVER_NAME/, '"$SERVER_NAME"').replace(/^\s*include .*$/m, '')) as { websocket: Record<string, unknown> };
    assert.deepEqual(ws.websocket, { port: 8080, no_tls: true });
  });
});

