/**
 * The ports file names the websocket listener, as nats-server 2.9.10 writes
 * it: the official nats.ws test launcher reads the websocket port from
 * there and cannot connect without it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { trackChild } from '../helpers/children.js';
import { NATS_SERVER_BIN } from '../helpers/nats-server.js';
import { waitUntil } from '../helpers/wait.js';

const CLI = fileURLToPath(new URL('../../src/cli/natter-server.js', import.meta.url));

/** Runs a server with `conf` and returns its ports file with the ports taken out. */
async function portsFileShape(command: string[], dir: string): Promise<string> {
  const conf = join(dir, 'ws.conf');
  writeFileSync(conf, `port: -1\nhost: 127.0.0.1\nhttp: "127.0.0.1:-1"\nports_file_dir: "${dir}"\nwebsocket { host: 127.0.0.1, port: -1, no_tls: true }\n`);
  const child = spawn(command[0], [...command.slice(1), '-c', conf], { stdio: 'ignore' });
  trackChild(child);
  const file = join(dir, `nats-server_${child.pid ?? 0}.ports`);
  try {
    await waitUntil(() => existsSync(file), 10_000, 'the ports file');
    return readFileSync(file, 'utf8').replace(/:\d+"/g, ':<port>"');
  } finally {
    child.kill('SIGKILL');
  }
}

test('the ports file lists the websocket URL after the others, as nats-server writes it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'natter-ws-ports-'));
  try {
    const ours = await portsFileShape([process.execPath, CLI], dir);
    const theirs = await portsFileShape([NATS_SERVER_BIN], dir);
    assert.equal(ours, theirs);
    assert.equal(ours, '{"nats":["nats://127.0.0.1:<port>"],"monitoring":["http://127.0.0.1:<port>"],"websocket":["ws://127.0.0.1:<port>"]}');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
