/**
 * `natter stream ...` and `natter consumer ...` against a JetStream Natter:
 * created from flags and from `--config` JSON, read back with `--json`, and
 * the bad-input cases (bad JSON, a missing stream).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startJsNatter, type JsServer } from '../../helpers/jetstream.js';
import { isOneLineError, runCli, ToolHome, type CliResult } from './run.js';

function json<T>(r: CliResult): T {
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

interface StreamInfoJson {
  config: { name: string; subjects: string[]; storage: string; max_msgs: number; max_age: number; description?: string; retention: string };
  state: { messages: number; first_seq: number; last_seq: number };
}

describe('natter stream and consumer', () => {
  const home = new ToolHome();
  const files = mkdtempSync(join(tmpdir(), 'natter-tool-js-'));
  let js: JsServer;
  let s: string[];
  before(async () => {
    js = await startJsNatter();
    s = ['-s', js.srv.url];
  });
  after(async () => {
    await js.stop();
    home.remove();
    rmSync(files, { recursive: true, force: true });
  });

  it('stream add from flags, edit, info and ls with --json', async () => {
    const added = json<StreamInfoJson>(await runCli(home, ['stream', 'add', 'ORDERS', '--subjects', 'orders.>', '--storage', 'memory', '--max-msgs', '100', '--max-age', '1h', '--json', ...s]));
    assert.deepEqual(added.config.subjects, ['orders.>']);
    assert.equal(added.config.storage, 'memory');
    assert.equal(added.config.max_msgs, 100);
    assert.equal(added.config.max_age, 3600e9);
    const edited = json<StreamInfoJson>(await runCli(home, ['stream', 'edit', 'ORDERS', '--max-msgs', '500', '--description', 'all orders', '--json', ...s]));
    assert.equal(edited.config.max_msgs, 500);
    assert.equal(edited.config.description, 'all orders');
    assert.equal(edited.config.max_age, 3600e9, 'fields not given keep their values');
    const text = await runCli(home, ['stream', 'info', 'ORDERS', ...s]);
    assert.match(text.stdout, /Information for Stream ORDERS/);
    assert.match(text.stdout, /Maximum Messages: 500/);
    assert.doesNotMatch(text.stdout, /\x1b\[/, 'no colour codes when stdout is not a terminal');
    const names = json<string[]>(await runCli(home, ['stream', 'ls', '--names', '--json', ...s]));
    assert.ok(names.includes('ORDERS'));
  });

  it('stream add from --config JSON; bad JSON and a missing file are one-line errors', async () => {
    const cfg = join(files, 'events.json');
    writeFileSync(cfg, JSON.stringify({ name: 'EVENTS', subjects: ['events.*'], retention: 'limits', storage: 'file', max_msgs: 10 }));
    const info = json<StreamInfoJson>(await runCli(home, ['stream', 'add', '--config', cfg, '--json', ...s]));
    assert.equal(info.config.name, 'EVENTS');
    assert.deepEqual(info.config.subjects, ['events.*']);
    const bad = join(files, 'bad.json');
    writeFileSync(bad, '{"name": "X", subjects: }');
    const [badJson, missing, notFound, badChoice] = await Promise.all([
      runCli(home, ['stream', 'add', 'X', '--config', bad, ...s]),
      runCli(home, ['stream', 'add', 'X', '--config', join(files, 'nope.json'), ...s]),
      runCli(home, ['stream', 'info', 'NOPE', ...s]),
      runCli(home, ['stream', 'add', 'Y', '--storage', 'tape', ...s]),
    ]);
    for (const r of [badJson, missing, notFound, badChoice]) assert.ok(isOneLineError(r), r.stderr);
    assert.match(badJson.stderr, /bad\.json is not valid JSON/);
    assert.match(missing.stderr, /cannot read stream config file .*nope\.json: ENOENT/);
    assert.match(notFound.stderr, /stream not found/);
    assert.match(badChoice.stderr, /invalid value "tape" for --storage: one of file, memory/);
  });

  it('stream get, purge, backup and restore; stream rm', async () => {
    for (const [subj, body] of [['orders.a', 'one'], ['orders.b', 'two'], ['orders.a', 'three']]) {
      assert.equal((await runCli(home, ['pub', subj, body, '-H', 'K:v', ...s])).code, 0);
    }
    const bySeq = json<{ subject: string; seq: number; data: string; headers: Record<string, string[]> }>(await runCli(home, ['stream', 'get', 'ORDERS', '2', '--json', ...s]));
    assert.deepEqual([bySeq.subject, bySeq.seq, bySeq.data, bySeq.headers], ['orders.b', 2, 'two', { K: ['v'] }]);
    const last = json<{ seq: number; data: string }>(await runCli(home, ['stream', 'get', 'ORDERS', '--last-for', 'orders.a', '--json', ...s]));
    assert.deepEqual([last.seq, last.data], [3, 'three']);
    const backupFile = join(files, 'orders-backup.json');
    const backup = await runCli(home, ['stream', 'backup', 'ORDERS', backupFile, ...s]);
    assert.equal(backup.code, 0, backup.stderr);
    assert.match(backup.stderr, /3 messages/);
    const purged = json<{ purged: number }>(await runCli(home, ['stream', 'purge', 'ORDERS', '--subject', 'orders.a', '--json', ...s]));
    assert.equal(purged.purged, 2);
    assert.equal((await runCli(home, ['stream', 'rm', 'ORDERS', ...s])).code, 0);
    const restored = await runCli(home, ['stream', 'restore', backupFile, ...s]);
    assert.equal(restored.code, 0, restored.stderr);
    const info = json<StreamInfoJson>(await runCli(home, ['stream', 'info', 'ORDERS', '--json', ...s]));
    assert.equal(info.state.messages, 3);
    assert.equal(info.config.description, 'all orders');
  });

  it('consumer add, edit, info, ls, next and rm', async () => {
    const added = json<{ name: string; config: { filter_subject: string; ack_policy: string; max_deliver: number } }>(
      await runCli(home, ['consumer', 'add', 'ORDERS', 'PROC', '--filter', 'orders.a', '--ack', 'explicit', '--max-deliver', '5', '--json', ...s]),
    );
    assert.equal(added.name, 'PROC');
    assert.equal(added.config.filter_subject, 'orders.a');
    assert.equal(added.config.max_deliver, 5);
    const edited = json<{ config: { max_deliver: number; description: string } }>(await runCli(home, ['consumer', 'edit', 'ORDERS', 'PROC', '--description', 'processor', '--json', ...s]));
    assert.equal(edited.config.description, 'processor');
    assert.equal(edited.config.max_deliver, 5);
    assert.deepEqual(json<string[]>(await runCli(home, ['consumer', 'ls', 'ORDERS', '--names', '--json', ...s])), ['PROC']);
    const next = await runCli(home, ['consumer', 'next', 'ORDERS', 'PROC', '--count', '2', '--raw', ...s]);
    assert.equal(next.code, 0, next.stderr);
    assert.equal(next.stdout, 'one\nthree\n');
    const info = json<{ num_pending: number; num_ack_pending: number; delivered: { stream_seq: number } }>(await runCli(home, ['consumer', 'info', 'ORDERS', 'PROC', '--json', ...s]));
    assert.deepEqual([info.num_pending, info.num_ack_pending, info.delivered.stream_seq], [0, 0, 3]);
    assert.equal((await runCli(home, ['consumer', 'rm', 'ORDERS', 'PROC', ...s])).code, 0);
    const gone = await runCli(home, ['consumer', 'info', 'ORDERS', 'PROC', ...s]);
    assert.ok(isOneLineError(gone), gone.stderr);
    assert.match(gone.stderr, /consumer not found/);
  });
});

describe('natter stream with a refused JetStream API subject', () => {
  const home = new ToolHome();
  let js: JsServer;
  before(async () => {
    js = await startJsNatter({
      authorization: { users: [{ user: 'reader', password: 'pw', permissions: { publish: { deny: ['$JS.API.STREAM.CREATE.>'] } } }] },
    });
  });
  after(async () => {
    await js.stop();
    home.remove();
  });

  it('names the refused subject at once instead of waiting for a timeout', async () => {
    const started = Date.now();
    const r = await runCli(home, ['stream', 'add', 'DENIED', '-s', js.srv.url, '--user', 'reader', '--password', 'pw', '--timeout', '20s']);
    assert.ok(isOneLineError(r), r.stderr);
    assert.match(r.stderr, /permissions violation: not allowed to publish to "\$JS\.API\.STREAM\.CREATE\.DENIED"/);
    assert.ok(Date.now() - started < 15_000, 'did not wait for the request timeout');
  });
});
