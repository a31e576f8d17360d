/** `natter kv ...` and `natter obj ...` against a JetStream Natter. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startJsNatter, type JsServer } from '../../helpers/jetstream.js';
import { isOneLineError, runCli, startCli, ToolHome, type CliResult } from './run.js';

function json<T>(r: CliResult): T {
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

describe('natter kv and obj', () => {
  const home = new ToolHome();
  const files = mkdtempSync(join(tmpdir(), 'natter-tool-obj-'));
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

  it('kv add, put, get, history, ls, status, del', async () => {
    const status = json<{ bucket: string; history: number }>(await runCli(home, ['kv', 'add', 'CONFIG', '--history', '5', '--json', ...s]));
    assert.deepEqual([status.bucket, status.history], ['CONFIG', 5]);
    for (const v of ['v1', 'v2']) assert.equal((await runCli(home, ['kv', 'put', 'CONFIG', 'db.url', v, ...s])).code, 0);
    assert.equal((await runCli(home, ['kv', 'put', 'CONFIG', 'other', 'x', ...s])).code, 0);
    const got = json<{ key: string; value: string; revision: number }>(await runCli(home, ['kv', 'get', 'CONFIG', 'db.url', '--json', ...s]));
    assert.deepEqual([got.key, got.value, got.revision], ['db.url', 'v2', 2]);
    assert.equal((await runCli(home, ['kv', 'get', 'CONFIG', 'db.url', '--raw', ...s])).stdout, 'v2');
    const history = json<Array<{ value: string; operation: string }>>(await runCli(home, ['kv', 'history', 'CONFIG', 'db.url', '--json', ...s]));
    assert.deepEqual(history.map((h) => h.value), ['v1', 'v2']);
    assert.deepEqual(json<string[]>(await runCli(home, ['kv', 'ls', 'CONFIG', '--json', ...s])), ['db.url', 'other']);
    assert.deepEqual(json<string[]>(await runCli(home, ['kv', 'ls', '--names', '--json', ...s])), ['CONFIG']);
    const st = json<{ values: number }>(await runCli(home, ['kv', 'status', 'CONFIG', '--json', ...s]));
    assert.equal(st.values, 3);
    assert.equal((await runCli(home, ['kv', 'del', 'CONFIG', 'other', ...s])).code, 0);
    const gone = await runCli(home, ['kv', 'get', 'CONFIG', 'other', ...s]);
    assert.ok(isOneLineError(gone), gone.stderr);
    assert.match(gone.stderr, /no value for CONFIG > other/);
    const missing = await runCli(home, ['kv', 'put', 'NOBUCKET', 'k', 'v', ...s]);
    assert.ok(isOneLineError(missing), missing.stderr);
    assert.match(missing.stderr, /no key\/value bucket "NOBUCKET"/);
  });

  it('kv watch prints the current value, then each change', async () => {
    const watch = startCli(home, ['kv', 'watch', 'CONFIG', 'db.*', '--count', '3', '--json', ...s]);
    await watch.waitForStderr(/Watching CONFIG/);
    assert.equal((await runCli(home, ['kv', 'put', 'CONFIG', 'db.url', 'v3', ...s])).code, 0);
    assert.equal((await runCli(home, ['kv', 'del', 'CONFIG', 'db.url', ...s])).code, 0);
    const r = await watch.result;
    assert.equal(r.code, 0, r.stderr);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { operation: string; value: string });
    assert.deepEqual(events.map((e) => [e.operation, e.value]), [['PUT', 'v2'], ['PUT', 'v3'], ['DEL', '']]);
  });

  it('obj add, put, ls, info, get (to a file and stdout), rm', async () => {
    assert.equal((await runCli(home, ['obj', 'add', 'FILES', '--description', 'uploads', ...s])).code, 0);
    const src = join(files, 'blob.bin');
    const data = randomBytes(300 * 1024);
    writeFileSync(src, data);
    const put = json<{ name: string; size: number; chunks: number }>(await runCli(home, ['obj', 'put', 'FILES', src, '--json', ...s]));
    assert.deepEqual([put.name, put.size], ['blob.bin', data.length]);
    assert.ok(put.chunks > 1);
    const small = join(files, 'note.txt');
    writeFileSync(small, 'hello object store');
    assert.equal((await runCli(home, ['obj', 'put', 'FILES', small, '--name', 'docs/note', ...s])).code, 0);
    const listed = json<Array<{ name: string }>>(await runCli(home, ['obj', 'ls', 'FILES', '--json', ...s]));
    assert.deepEqual(listed.map((o) => o.name), ['blob.bin', 'docs/note']);
    const buckets = json<Array<{ bucket: string; description: string }>>(await runCli(home, ['obj', 'ls', '--json', ...s]));
    assert.deepEqual(buckets.map((b) => [b.bucket, b.description]), [['FILES', 'uploads']]);
    const info = json<{ size: number; digest: string }>(await runCli(home, ['obj', 'info', 'FILES', 'blob.bin', '--json', ...s]));
    assert.equal(info.size, data.length);
    assert.match(info.digest, /^SHA-256=/);
    const out = join(files, 'copy.bin');
    assert.equal((await runCli(home, ['obj', 'get', 'FILES', 'blob.bin', '-O', out, ...s])).code, 0);
    assert.ok(readFileSync(out).equals(data));
    assert.equal((await runCli(home, ['obj', 'get', 'FILES', 'docs/note', '-O', '-', ...s])).stdout, 'hello object store');
    assert.equal((await runCli(home, ['obj', 'rm', 'FILES', 'blob.bin', ...s])).code, 0);
    const [gone, noFile] = await Promise.all([runCli(home, ['obj', 'info', 'FILES', 'blob.bin', ...s]), runCli(home, ['obj', 'put', 'FILES', join(files, 'absent'), ...s])]);
    assert.ok(isOneLineError(gone), gone.stderr);
    assert.match(gone.stderr, /no object "blob.bin" in bucket FILES/);
    assert.ok(isOneLineError(noFile), noFile.stderr);
    assert.match(noFile.stderr, /cannot read .*absent: ENOENT/);
  });
});
