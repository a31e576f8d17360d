/**
 * `natter auth push` against a running server with the full resolver
 * (config from `generate config --full-resolver --sys-only`): an account
 * the server does not know is pushed and its users get in; a revocation is
 * pushed and cuts the user off; an account JWT not signed by the operator
 * never lets its users in. Run against nats-server 2.9.10 and
 * natter-server with the same config; both must agree.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { closeAll, startFromFile, type Conn, type Kind } from '../../security/helpers.js';
import { connectCreds, connectOutcome, ToolStore } from './tool.js';

type ProcKind = Exclude<Kind, 'natter'>;

describe('natter auth push (full resolver)', () => {
  const t = new ToolStore();
  const stranger = new ToolStore();
  const work = mkdtempSync(path.join(tmpdir(), 'natter-auth-push-'));

  before(() => {
    t.ok('init', '--operator', 'KO');
    stranger.ok('init', '--operator', 'EVIL');
    stranger.ok('add', 'account', 'APP');
    stranger.ok('add', 'user', '-a', 'APP', 'intruder');
  });

  after(() => {
    t.remove();
    stranger.remove();
    rmSync(work, { recursive: true, force: true });
  });

  /** One server's story; each run uses its own account and user so that both servers start from the same state. */
  async function story(kind: ProcKind): Promise<Record<string, unknown>> {
    const account = `APP_${kind.replace('-', '_')}`;
    t.ok('add', 'account', account);
    t.ok('add', 'user', '-a', account, 'u');
    t.ok('add', 'user', '-a', account, 'v');
    const dir = path.join(work, kind, 'jwt');
    mkdirSync(dir, { recursive: true });
    const conf = path.join(work, kind, 'server.conf');
    // --dir is the resolver directory here; the store comes from the global --dir ToolStore passes first.
    writeFileSync(conf, t.ok('generate', 'config', '--full-resolver', '--sys-only', '--dir', dir));
    const srv = await startFromFile(kind, conf);
    const conns: Conn[] = [];
    const push = async (...args: string[]): Promise<{ status: number | null; out: string }> => {
      const r = await t.runAsync('push', '--server', srv.url, ...args);
      return { status: r.status, out: r.stdout.replace(/A[A-Z2-7]{55}/g, '<account>') };
    };
    try {
      const creds = (u: string): string => t.creds('KO', account, u);
      const obs: Record<string, unknown> = {};
      obs.beforePush = await connectOutcome(() => connectCreds('v3', srv.port, creds('u')));
      obs.push = await push('-a', account);
      const pub = t.pubOf('KO', account);
      obs.storedByResolver = readFileSync(path.join(dir, `${pub}.jwt`), 'utf8') === readFileSync(path.join(t.dir, 'operators', 'KO', 'accounts', account, `${account}.jwt`), 'utf8');
      const u = await connectCreds('v3', srv.port, creds('u'));
      conns.push(u);
      const v = await connectCreds('v3', srv.port, creds('v'));
      conns.push(v);
      const got = v.sub('hello');
      await v.flush();
      u.pub('hello', 'world');
      await u.flush();
      await v.flush();
      obs.afterPush = got.map((m) => m.data);

      t.ok('revoke', 'user', '-a', account, 'u');
      obs.revokePush = await push('-a', account);
      const why = await Promise.race([u.closed(), new Promise<string>((r) => setTimeout(() => r('still open after 5s'), 5000).unref())]);
      obs.revokedConnection = why !== null && /revoked/i.test(why) ? 'closed: revoked' : why;
      obs.revokedReconnect = await connectOutcome(() => connectCreds('v3', srv.port, creds('u')));
      obs.otherUserStillIn = !v.isClosed();

      // Another operator's account, sent with this operator's system user.
      // nats-server 2.9.10's full resolver replies "jwt updated" and even
      // stores it, but never trusts it: its users stay out. The reply is
      // not compared (a server may well refuse the update instead).
      const evil = await stranger.runAsync('push', '--server', srv.url, '-a', 'APP', '--creds', t.credsPath('KO', 'SYS', 'sys'));
      assert.ok(evil.status === 0 || /not updated/.test(evil.stderr), evil.stderr);
      obs.foreignUser = await connectOutcome(() => connectCreds('v3', srv.port, stranger.creds('EVIL', 'APP', 'intruder')));

      obs.pushAll = (await push('--all')).status;
      return obs;
    } finally {
      await closeAll(conns);
      await srv.stop();
    }
  }

  it('pushes accounts and revocations; nats-server and natter-server agree', async () => {
    const ref = await story('nats-server');
    assert.deepEqual(ref, {
      beforePush: 'authorization violation',
      push: { status: 0, out: 'APP_nats_server <account>: jwt updated\n' },
      storedByResolver: true,
      afterPush: ['world'],
      revokePush: { status: 0, out: 'APP_nats_server <account>: jwt updated\n' },
      revokedConnection: 'closed: revoked',
      revokedReconnect: 'authorization violation',
      otherUserStillIn: true,
      foreignUser: 'authorization violation',
      pushAll: 0,
    });
    const natter = await story('natter-cli');
    const strip = (o: Record<string, unknown>): string => JSON.stringify(o).replace(/APP_nats_server|APP_natter_cli/g, 'APP');
    assert.deepEqual(JSON.parse(strip(natter)), JSON.parse(strip(ref)));
  });
});
