/**
 * The connection flags beyond user/password: `--token`, `--nkey` (a seed
 * file), TLS client certificates (`--tlscert/--tlskey/--tlsca`, also from a
 * context) and `--creds` with creds `natter auth` made, on nats-server.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUser } from '@nats-io/nkeys';
import { startNatter, type TestNatter } from '../../helpers/natter.js';
import { startNatsServer } from '../../helpers/nats-server.js';
import { makeCerts, type CertSet } from '../../tls/certs.js';
import { isOneLineError, runCli, startCli, ToolHome } from './run.js';

describe('natter connection options', () => {
  const home = new ToolHome();
  const files = mkdtempSync(join(tmpdir(), 'natter-tool-auth-'));
  const user = createUser();
  const seedFile = join(files, 'user.nk');
  let certs: CertSet;
  let nkeySrv: TestNatter;
  let tokenSrv: TestNatter;
  let tlsSrv: TestNatter;
  before(async () => {
    writeFileSync(seedFile, `${new TextDecoder().decode(user.getSeed())}\n`);
    certs = await makeCerts();
    [nkeySrv, tokenSrv, tlsSrv] = await Promise.all([
      startNatter({ authorization: { users: [{ nkey: user.getPublicKey() }] } }),
      startNatter({ authorization: { token: 's3cret' } }),
      startNatter({ tls: { cert_file: certs.server.cert, key_file: certs.server.key, ca_file: certs.ca.cert, verify: true, timeout: 2 } }),
    ]);
  });
  after(async () => {
    await Promise.all([nkeySrv.close(), tokenSrv.close(), tlsSrv.close()]);
    certs.cleanup();
    home.remove();
    rmSync(files, { recursive: true, force: true });
  });

  it('--nkey signs with the seed file; without it the server refuses', async () => {
    const [signed, anonymous] = await Promise.all([
      runCli(home, ['server', 'check', '-s', nkeySrv.url, '--nkey', seedFile]),
      runCli(home, ['pub', 'x', 'y', '-s', nkeySrv.url]),
    ]);
    assert.equal(signed.code, 0, signed.stdout + signed.stderr);
    assert.ok(isOneLineError(anonymous), anonymous.stderr);
    assert.match(anonymous.stderr, /authorization violation/);
  });

  it('--token', async () => {
    const [good, bad] = await Promise.all([runCli(home, ['pub', 'x', 'y', '-s', tokenSrv.url, '--token', 's3cret']), runCli(home, ['pub', 'x', 'y', '-s', tokenSrv.url, '--token', 'nope'])]);
    assert.equal(good.code, 0, good.stderr);
    assert.match(bad.stderr, /authorization violation/);
  });

  it('TLS client certificates from flags and from a context', async () => {
    const url = `tls://127.0.0.1:${tlsSrv.port}`;
    const tlsFlags = ['--tlsca', certs.ca.cert, '--tlscert', certs.acme.cert, '--tlskey', certs.acme.key];
    const viaFlags = await runCli(home, ['server', 'check', '-s', url, ...tlsFlags]);
    assert.equal(viaFlags.code, 0, viaFlags.stdout + viaFlags.stderr);
    assert.equal((await runCli(home, ['context', 'add', 'tls', '-s', url, ...tlsFlags])).code, 0);
    const viaContext = await runCli(home, ['pub', 'x', 'y', '--context', 'tls']);
    assert.equal(viaContext.code, 0, viaContext.stderr);
    const [noCert, plainServer] = await Promise.all([
      runCli(home, ['pub', 'x', 'y', '-s', url, '--tlsca', certs.ca.cert]),
      runCli(home, ['pub', 'x', 'y', '-s', `tls://127.0.0.1:${tokenSrv.port}`, '--token', 's3cret']),
    ]);
    assert.ok(isOneLineError(noCert), noCert.stderr);
    assert.ok(isOneLineError(plainServer), plainServer.stderr);
    assert.match(plainServer.stderr, /server does not support 'tls'/, 'a tls:// URL demands TLS');
  });

  it('a missing creds or nkey file is named', async () => {
    const [creds, nkey] = await Promise.all([
      runCli(home, ['pub', 'x', 'y', '-s', nkeySrv.url, '--creds', join(files, 'none.creds')]),
      runCli(home, ['pub', 'x', 'y', '-s', nkeySrv.url, '--nkey', join(files, 'none.nk')]),
    ]);
    assert.ok(isOneLineError(creds), creds.stderr);
    assert.match(creds.stderr, /cannot read creds file .*none\.creds: ENOENT/);
    assert.match(nkey.stderr, /cannot read nkey file .*none\.nk: ENOENT/);
  });
});

describe('natter --creds with creds made by natter auth', () => {
  const home = new ToolHome();
  const store = mkdtempSync(join(tmpdir(), 'natter-tool-creds-'));
  let server: Awaited<ReturnType<typeof startNatsServer>>;
  before(async () => {
    for (const cmd of [
      ['init', '--operator', 'OP'],
      ['add', 'account', 'APP'],
      ['add', 'user', '-a', 'APP', 'alice', '--allow-pub', 'app.>,_INBOX.>', '--allow-sub', 'app.>,_INBOX.>'],
    ]) {
      const r = await runCli(home, ['auth', '--dir', store, ...cmd]);
      assert.equal(r.code, 0, r.stderr);
    }
    const conf = await runCli(home, ['auth', '--dir', store, 'generate', 'config', '--mem-resolver']);
    assert.equal(conf.code, 0, conf.stderr);
    // The reference server: the creds are plain NATS creds, not something only Natter reads.
    server = await startNatsServer({ config: conf.stdout });
  });
  after(async () => {
    await server.stop();
    home.remove();
    rmSync(store, { recursive: true, force: true });
  });

  it('connects with the user JWT and seed, and reports the JWT permissions by subject', async () => {
    const creds = join(store, 'creds', 'OP', 'APP', 'alice.creds');
    const sub = startCli(home, ['sub', 'app.news', '--count', '1', '--raw', '-s', server.url, '--creds', creds]);
    await sub.waitForStderr(/Subscribing/);
    const [pub, denied, anonymous] = await Promise.all([
      runCli(home, ['pub', 'app.news', 'signed', '-s', server.url, '--creds', creds]),
      runCli(home, ['pub', 'other.news', 'x', '-s', server.url, '--creds', creds]),
      runCli(home, ['pub', 'app.news', 'x', '-s', server.url]),
    ]);
    assert.equal(pub.code, 0, pub.stderr);
    assert.equal((await sub.result).stdout, 'signed\n');
    assert.ok(isOneLineError(denied), denied.stderr);
    assert.match(denied.stderr, /not allowed to publish to "other.news"/);
    assert.ok(isOneLineError(anonymous), anonymous.stderr);
  });
});
