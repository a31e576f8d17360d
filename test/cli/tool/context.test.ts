/**
 * `natter context ...` (saved settings in natscli's JSON under
 * $XDG_CONFIG_HOME/natter/context), used by the other commands;
 * `natter completion`, `--version` and help.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startNatter, type TestNatter } from '../../helpers/natter.js';
import { NATTER_VERSION } from '../../../src/server/version.js';
import { isOneLineError, runCli, ToolHome, type CliResult } from './run.js';

function json<T>(r: CliResult): T {
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

describe('natter context', () => {
  const home = new ToolHome();
  let srv: TestNatter;
  before(async () => {
    srv = await startNatter({ authorization: { users: [{ user: 'ctx', password: 'secret' }] } });
  });
  after(async () => {
    await srv.close();
    home.remove();
  });

  it('add writes natscli-style JSON; select makes it the default; show masks the password', async () => {
    const add = await runCli(home, ['context', 'add', 'dev', '-s', srv.url, '--user', 'ctx', '--password', 'secret', '--description', 'local dev']);
    assert.equal(add.code, 0, add.stderr);
    const file = JSON.parse(readFileSync(join(home.dir, 'natter', 'context', 'dev.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual([file.url, file.user, file.password, file.description, file.creds, file.tls_first], [srv.url, 'ctx', 'secret', 'local dev', '', false]);
    // Without a selected context there is no server at the default address to talk to.
    assert.equal((await runCli(home, ['context', 'select', 'dev'])).code, 0);
    const kvLess = await runCli(home, ['req', 'nobody', 'x']);
    assert.match(kvLess.stderr, /no responders on subject "nobody"/, 'the selected context connected and authenticated');
    const shown = json<{ name: string; selected: boolean; url: string; password: string }>(await runCli(home, ['context', 'show', '--json']));
    assert.deepEqual([shown.name, shown.selected, shown.url, shown.password], ['dev', true, srv.url, '*********']);
    const listed = await runCli(home, ['context', 'ls']);
    assert.match(listed.stdout, /^dev\* +local dev +nats:\/\//m);
  });

  it('flags beat the environment, which beats the context; --context picks another one', async () => {
    assert.equal((await runCli(home, ['context', 'add', 'wrong', '-s', srv.url, '--user', 'ctx', '--password', 'bad'])).code, 0);
    const viaFlag = await runCli(home, ['req', 'nobody', 'x', '--context', 'wrong']);
    assert.match(viaFlag.stderr, /authorization violation/);
    const viaEnv = await runCli(home, ['req', 'nobody', 'x'], { env: { NATS_CONTEXT: 'wrong' } });
    assert.match(viaEnv.stderr, /authorization violation/);
    const passwordFlag = await runCli(home, ['req', 'nobody', 'x', '--context', 'wrong', '--password', 'secret']);
    assert.match(passwordFlag.stderr, /no responders/);
    const passwordEnv = await runCli(home, ['req', 'nobody', 'x', '--context', 'wrong'], { env: { NATS_PASSWORD: 'secret' } });
    assert.match(passwordEnv.stderr, /no responders/);
  });

  it('edit, rm, and errors for unknown or badly named contexts', async () => {
    assert.equal((await runCli(home, ['context', 'edit', 'wrong', '--password', 'secret'])).code, 0);
    assert.match((await runCli(home, ['req', 'nobody', 'x', '--context', 'wrong'])).stderr, /no responders/);
    assert.equal((await runCli(home, ['context', 'rm', 'wrong'])).code, 0);
    assert.deepEqual(json<Array<{ name: string }>>(await runCli(home, ['context', 'ls', '--json'])).map((c) => c.name), ['dev']);
    const [unknown, badName, dup] = await Promise.all([
      runCli(home, ['pub', 'a', 'b', '--context', 'ghost']),
      runCli(home, ['context', 'add', '../escape']),
      runCli(home, ['context', 'add', 'dev']),
    ]);
    for (const r of [unknown, badName, dup]) assert.ok(isOneLineError(r), r.stderr);
    assert.match(unknown.stderr, /unknown context "ghost"/);
    assert.match(badName.stderr, /invalid context name/);
    assert.match(dup.stderr, /context "dev" exists/);
  });
});

describe('natter completion, --version and help', () => {
  const home = new ToolHome();
  after(() => home.remove());

  it('completion bash is a valid script that knows the commands and flags; zsh wraps it', async () => {
    const [bash, zsh, bad] = await Promise.all([runCli(home, ['completion', 'bash']), runCli(home, ['completion', 'zsh']), runCli(home, ['completion', 'fish'])]);
    assert.equal(bash.code, 0);
    assert.equal(spawnSync('bash', ['-n'], { input: bash.stdout }).status, 0, 'bash -n accepts it');
    assert.match(bash.stdout, /stream\) COMPREPLY=\(\$\(compgen -W "add edit info ls rm purge get backup restore"/);
    assert.match(bash.stdout, /"stream add"\) COMPREPLY=.*--subjects.*--server/);
    assert.match(bash.stdout, /complete -F _natter natter/);
    assert.match(zsh.stdout, /^#compdef natter/);
    assert.match(zsh.stdout, /bashcompinit/);
    assert.ok(isOneLineError(bad), bad.stderr);
  });

  it('--version, help, and `natter auth` still dispatch to the auth tool', async () => {
    const [version, help, cmdHelp, family, auth] = await Promise.all([
      runCli(home, ['--version']),
      runCli(home, ['--help']),
      runCli(home, ['pub', '--help']),
      runCli(home, ['kv', '--help']),
      runCli(home, ['auth', 'help']),
    ]);
    assert.equal(version.stdout.trim(), NATTER_VERSION);
    assert.match(help.stdout, /^ +stream +JetStream streams$/m);
    assert.match(cmdHelp.stdout, /Usage: natter pub <subject> \[body\]/);
    assert.match(cmdHelp.stdout, /-H, --header=VALUE/);
    assert.match(family.stdout, /natter kv watch <bucket> \[key\]/);
    assert.equal(auth.code, 0);
    assert.match(auth.stdout, /Usage: natter auth/);
  });
});
