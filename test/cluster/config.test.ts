/** The cluster block as nats-server's parseCluster reads it. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { clusterConfigFrom, parseRouteURL } from '../../src/cluster/config.js';
import { optionsFromConfigText } from '../../src/config/index.js';

describe('cluster block', () => {
  it('is off without a block or with port 0', () => {
    assert.equal(clusterConfigFrom(undefined), null);
    assert.equal(clusterConfigFrom({ port: 0, routes: ['nats://a:1'] }), null);
  });

  it('reads listen, host/port, and the defaults', () => {
    const c = clusterConfigFrom({ name: 'c', listen: '127.0.0.1:7000' });
    assert.equal(c?.host, '127.0.0.1');
    assert.equal(c?.port, 7000);
    assert.equal(c?.authTimeoutMs, 2000);
    assert.equal(c?.connectRetries, 0);
    assert.equal(c?.noAdvertise, false);
    assert.equal(clusterConfigFrom({ listen: '127.0.0.1:-1' })?.port, 0, '-1 asks for a random port');
    assert.equal(clusterConfigFrom({ listen: 7001 })?.host, '0.0.0.0');
    assert.equal(clusterConfigFrom({ host: '10.0.0.1', port: 7002 })?.host, '10.0.0.1');
    assert.equal(clusterConfigFrom({ name: 'c' })?.port, 6222);
    assert.equal(clusterConfigFrom({ listen: ':7003' })?.host, '0.0.0.0');
    assert.equal(clusterConfigFrom({ port: 1 })?.name, null, 'no name: the cluster generates one');
  });

  it('reads routes with their credentials and skips repeats', () => {
    const c = clusterConfigFrom({ port: 1, routes: ['nats-route://u:p%40ss@host-a:6222', 'nats://[::1]:6223/', 'nats://host-b:6224', 'nats://host-b:6224'] });
    assert.deepEqual(c?.routes.map((r) => [r.host, r.port, r.user, r.password, r.key]), [
      ['host-a', 6222, 'u', 'p@ss', 'host-a:6222'],
      ['::1', 6223, null, null, '[::1]:6223'],
      ['host-b', 6224, null, null, 'host-b:6224'],
    ]);
    assert.equal(c?.routes[0].redacted, 'nats-route://u:xxxxx@host-a:6222');
    assert.throws(() => parseRouteURL('not a url'), /error parsing route url/);
  });

  it('reads authorization and permissions', () => {
    const c = clusterConfigFrom({
      port: 1,
      authorization: { user: 'ru', password: 'rp', timeout: 0.5 },
      permissions: { import: ['a.>'], export: { allow: ['b.>'], deny: ['b.x'] } },
    });
    assert.equal(c?.user, 'ru');
    assert.equal(c?.password, 'rp');
    assert.equal(c?.authTimeoutMs, 500);
    assert.deepEqual(c?.permissions, { import: { allow: ['a.>'], deny: null }, export: { allow: ['b.>'], deny: ['b.x'] } });
  });

  it('refuses what nats-server refuses, and route TLS', () => {
    assert.throws(() => clusterConfigFrom({ port: 1, bogus: true }), /unknown field "bogus"/);
    assert.throws(() => clusterConfigFrom({ port: 1, authorization: { users: [] } }), /does not allow multiple users/);
    assert.throws(() => clusterConfigFrom({ port: 1, authorization: { token: 't' } }), /does not support tokens/);
    assert.throws(() => clusterConfigFrom({ port: 1, permissions: { import: 'a', allow_responses: true } }), /do not support dynamic responses/);
    // Both ends of a route present a certificate, so a block without one is refused.
    assert.throws(() => clusterConfigFrom({ port: 1, tls: {} }), /missing 'cert_file' in TLS configuration/);
    assert.throws(() => clusterConfigFrom({ port: 1, tls: { cert_file: '/nonexistent/c.pem', key_file: '/nonexistent/k.pem' } }), /nonexistent/);
    assert.throws(() => clusterConfigFrom({ listen: 'nonsense' }), /could not parse cluster listen/);
  });

  it('takes the block of a configuration file without a warning', () => {
    const { options, warnings } = optionsFromConfigText('cluster { name: c, listen: "127.0.0.1:-1", routes: [nats-route://x:1] }\n');
    assert.deepEqual(warnings, []);
    assert.equal(clusterConfigFrom(options.cluster)?.routes[0].host, 'x');
  });
});
