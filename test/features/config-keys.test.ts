/**
 * Issue #14, "no config key silently ignored": keys nats-server knows and
 * Natter lacks are refused at load time (so by `-t`) with file:line:col,
 * unless they ask for nothing; the cluster keys current Helm charts write
 * (pool_size, compression) are accepted with a notice; gateway and mqtt
 * blocks pass `-t` but stop the start; top-level store_dir works.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../src/config/errors.js';
import { optionsFromConfigText } from '../../src/config/options-from-config.js';
import { startNatter } from '../helpers/natter.js';
import { connectJetStream } from '../helpers/jetstream.js';
import { freePort } from '../helpers/ports.js';

const CLI = fileURLToPath(new URL('../../src/cli/natter-server.js', import.meta.url));

function problems(text: string): string[] {
  try {
    optionsFromConfigText(text, 'f.conf');
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.message.split('\n');
  }
  throw new Error('the configuration was accepted');
}

/** Runs `natter-server -t -c <file>`: its exit code and stderr. */
function checkConfig(file: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, '-t', '-c', file], { timeout: 30_000 }, (err, _stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stderr });
    });
  });
}

describe('configuration keys Natter lacks are refused, never ignored', () => {
  const dir = mkdtempSync(join(tmpdir(), 'natter-features-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses top-level keys that turn on a missing feature, at the key', () => {
    assert.deepEqual(problems('port: 4222\nmappings { a: b }\n  no_fast_producer_stall: true\n'), [
      'f.conf:2:1: "mappings" (server-level subject mappings) is not supported by this Natter version; remove it or set it to empty',
      'f.conf:3:3: "no_fast_producer_stall" (turning fast-producer stalling off) is not supported by this Natter version; remove it or set it to false',
    ]);
  });

  it('accepts them at the values that turn nothing on', () => {
    const r = optionsFromConfigText('ocsp: false\nmax_sub_tokens: 0\ntrusted_keys: []\nserver_metadata {}\n', 'f.conf');
    assert.deepEqual(r, { options: {}, warnings: [] });
  });

  it('refuses JetStream encryption and other jetstream keys it lacks, without echoing the key', () => {
    assert.deepEqual(problems('jetstream {\n  store_dir: /tmp/x\n  key: "s3cr3t"\n  limits { max_ha_assets: 2 }\n}\n'), [
      'f.conf:3:8: key: encryption at rest is not supported by this Natter version',
      'f.conf:4:10: limits: server-wide JetStream API limits is not supported by this Natter version',
    ]);
  });

  it('accepts cluster pool_size and compression with a notice, refuses what it lacks', () => {
    const r = optionsFromConfigText('cluster {\n  port: 6222\n  pool_size: 3\n  compression: s2_auto\n}\n', 'f.conf');
    assert.deepEqual(r.warnings, [
      'f.conf:3:3: cluster pool_size 3 is accepted: Natter keeps one route connection per peer',
      'f.conf:4:3: cluster compression is accepted: Natter announces none, so routes run uncompressed (negotiated "off", as with a nats-server 2.9 peer)',
    ]);
    assert.deepEqual(problems('cluster {\n  port: 6222\n  accounts: [A]\n  compression: zstd\n  bogus: 1\n}\n'), [
      'f.conf:3:3: cluster accounts (pinned route accounts) is not supported by this Natter version',
      'f.conf:4:3: cluster compression mode "zstd" is not one of off, disabled, accept, on, enabled, s2_auto, s2_uncompressed, s2_fast, s2_better, s2_best',
      'f.conf:5:3: unknown field "bogus" in cluster block',
    ]);
  });

  it('starts a cluster node with the Helm chart\'s pool_size and compression', async () => {
    const srv = await startNatter({ cluster: { port: await freePort(), pool_size: 3, compression: { mode: 's2_auto', rtt_thresholds: ['10ms'] } } });
    await srv.close();
  });

  it('-t passes a gateway block (with its notice) and the start refuses it', async () => {
    const file = join(dir, 'gw.conf');
    writeFileSync(file, 'port: -1\ngateway { name: g, port: 7522 }\n');
    const checked = await checkConfig(file);
    assert.equal(checked.code, 0, checked.stderr);
    assert.match(checked.stderr, /gateway block is parsed but not active yet/);
    await assert.rejects(startNatter({ gateway: { name: 'g', port: 7522 } }), /gateway: gateways \(superclusters\) are not supported by this Natter version/);
    await assert.rejects(startNatter({ mqtt: { port: 1883 } }), /mqtt: MQTT is not supported by this Natter version/);
  });

  it('-t fails on an unsupported key, with its position', async () => {
    const file = join(dir, 'bad.conf');
    writeFileSync(file, 'port: -1\njetstream {\n  cipher: chachapoly\n}\n');
    const checked = await checkConfig(file);
    assert.notEqual(checked.code, 0);
    assert.match(checked.stderr, /bad\.conf:3:11: cipher: encryption at rest is not supported by this Natter version/);
  });

  it('uses the top-level store_dir as the JetStream directory', async () => {
    const storeDir = join(dir, 'top-level-store');
    const { options } = optionsFromConfigText(`store_dir: "${storeDir}"\njetstream: enabled\n`, 'f.conf');
    assert.deepEqual(options.jetstream, { store_dir: storeDir });
    const srv = await startNatter(options);
    const c = await connectJetStream(srv.url);
    try {
      await c.jsm.streams.add({ name: 'TOP', subjects: ['top'] });
      assert.ok(existsSync(join(storeDir, 'jetstream')), 'the stream lives under the top-level store_dir');
    } finally {
      await c.nc.close();
      await srv.close();
    }
    // Without JetStream on, it names the directory and turns nothing on.
    assert.deepEqual(optionsFromConfigText('store_dir: /d\n', 'f.conf').options.jetstream, { enabled: false, store_dir: '/d' });
  });
});
