/**
 * The KubeCon walkthrough (examples/kubecon/walkthrough.mjs) run end to end
 * as a user runs it: against natter-server with the full resolver, and the
 * same script against nats-server 2.9.10, which must pass the same checks.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../security/helpers.js';
import { NATS_SERVER_BIN } from '../helpers/nats-server.js';
import { trackChild } from '../helpers/children.js';

const SCRIPT = path.join(REPO_ROOT, 'examples', 'kubecon', 'walkthrough.mjs');

function runWalkthrough(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    // The script keeps its files only when KUBECON_DIR is set: here it must clean up.
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
    delete childEnv.KUBECON_DIR;
    const p = spawn(process.execPath, [SCRIPT], { cwd: REPO_ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    trackChild(p);
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    p.stderr.setEncoding('utf8').on('data', (s: string) => (out += s));
    p.once('error', reject);
    p.once('close', (code) => resolve({ code, out }));
  });
}

/** The checks the script reported, in order. */
const checks = (out: string): string[] => out.split('\n').filter((l) => l.startsWith('    ok: ')).map((l) => l.replace(/ \(.*\)$/, ''));

const EXPECTED = [
  '    ok: CHAT lists its signing key',
  '    ok: alice got a creds file',
  '    ok: the bootstrap user may not publish to chat.KUBECON.room',
  '    ok: alice and bob see the conversation in order',
  '    ok: the provisioner (ADMIN) sees alice and bob on chat.KUBECON.online',
  '    ok: a CHAT user reaches the ADMIN service through the service import',
  "    ok: alice's connection was closed",
  '    ok: alice cannot connect again',
  '    ok: bob is still connected',
];

describe('examples/kubecon walkthrough', () => {
  it('runs end to end on natter-server (full resolver, accounts pushed, revocation pushed)', async () => {
    const r = await runWalkthrough({});
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^\$ natter-server -c .*resolver\.conf/m);
    assert.match(r.out, /^CHAT A[A-Z2-7]{55}: jwt updated$/m);
    assert.deepEqual(checks(r.out), EXPECTED);
    assert.match(r.out, /alice's connection was closed \(User Authentication Revoked\)/);
    assert.match(r.out, /KubeCon walkthrough: every step passed\n$/);
  });

  it('passes the same checks on nats-server 2.9.10', async () => {
    const r = await runWalkthrough({ SERVER_BIN: NATS_SERVER_BIN });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^\$ \/.*nats-server -c /m);
    assert.deepEqual(checks(r.out), EXPECTED);
  });
});
