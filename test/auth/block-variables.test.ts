/**
 * Variables defined inside the authorization block (`PERM = {...}` then
 * `permissions: $PERM`), as nats.js's own auth tests write them: the server
 * starts with them, as nats-server does, and the permissions they name hold.
 * They used to pass `-t` but stop the server at start with
 * `authorization.PERM: unknown field "PERM"`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { trackChild } from '../helpers/children.js';
import { freePort, waitForListen } from '../helpers/ports.js';
import { waitUntil } from '../helpers/wait.js';

const CLI = fileURLToPath(new URL('../../src/cli/natter-server.js', import.meta.url));

describe('variables defined in the authorization block', () => {
  const dir = mkdtempSync(join(tmpdir(), 'natter-authvar-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('start the server, and the permissions they name apply', async () => {
    const port = await freePort();
    const file = join(dir, 'auth.conf');
    writeFileSync(file, [
      `port: ${port}`,
      'authorization {',
      '  PERM = { publish: "foo.>", subscribe: "foo.>" }',
      '  users: [ { user: a, password: b, permissions: $PERM } ]',
      '}',
      '',
    ].join('\n'));
    const proc = spawn(process.execPath, [CLI, '-c', file, '-a', '127.0.0.1'], { stdio: ['ignore', 'ignore', 'pipe'] });
    trackChild(proc);
    let output = '';
    proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    try {
      await waitForListen(port, 10_000, '127.0.0.1', () => (proc.exitCode !== null ? `exited: ${output}` : null));
      const nc = await connect({ port, user: 'a', pass: 'b' });
      const sub = nc.subscribe('foo.x', { max: 1 });
      nc.publish('foo.x', 'allowed');
      nc.publish('bar', 'refused');
      await nc.flush();
      for await (const m of sub) assert.equal(m.string(), 'allowed');
      await waitUntil(() => /Publish Violation - User "a", Subject "bar"/.test(output), 5000, 'the violation logged');
      await nc.close();
    } finally {
      proc.kill('SIGKILL');
    }
  });
});
