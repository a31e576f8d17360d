/**
 * JetStream in operator mode: the account JWT's limits (mem_storage,
 * disk_storage, streams, consumer) decide which accounts have JetStream and
 * how much, and a claims update over `$SYS` changes that live.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { startNatter, type TestNatter } from '../helpers/natter.js';
import { accountJwt, newAccount, newUser, userJwt } from '../jwt/encoder.js';
import { dial, OperatorWorld, sysUserJwt, type Dialled } from '../jwt/operator-world.js';

const NO_LIMITS = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };
const withJetStream = (streams: number): Record<string, unknown> => ({ ...NO_LIMITS, mem_storage: -1, disk_storage: 10 * 1024 * 1024, streams, consumer: -1 });

describe('JetStream accounts from JWTs', () => {
  const w = new OperatorWorld('natter-js-jwt-');
  const storeDir = mkdtempSync(join(tmpdir(), 'natter-js-jwt-store-'));
  const js = newAccount();
  const plain = newAccount();
  const jsUser = newUser();
  const plainUser = newUser();
  let srv: TestNatter;
  let sys: Dialled;

  before(async () => {
    srv = await startNatter({
      operator: w.operatorFile,
      system_account: w.sys.pub,
      resolver: { type: 'full', dir: join(w.dir, 'jwt') },
      resolver_preload: {
        [w.sys.pub]: w.sysJwt(),
        [js.pub]: accountJwt(js.pub, w.op.kp, { limits: withJetStream(1) }),
        [plain.pub]: accountJwt(plain.pub, w.op.kp),
      },
      jetstream: { store_dir: storeDir },
    });
    sys = await dial(srv.url, sysUserJwt(w), w.sysUser.seed, 'sys');
  });

  after(async () => {
    await sys?.nc.close();
    await srv?.close();
    w.cleanup();
    rmSync(storeDir, { recursive: true, force: true });
  });

  it('gives JetStream to an account whose JWT has storage limits, and enforces its stream limit', async () => {
    const d = await dial(srv.url, userJwt(jsUser.pub, js.kp), jsUser.seed);
    try {
      const jsm = await jetstreamManager(d.nc);
      const info = await jsm.getAccountInfo();
      assert.equal(info.limits.max_streams, 1);
      assert.equal(info.limits.max_storage, 10 * 1024 * 1024);
      await jsm.streams.add({ name: 'ONE', subjects: ['one.>'] });
      await assert.rejects(jsm.streams.add({ name: 'TWO', subjects: ['two.>'] }), /maximum number of streams reached/);
    } finally {
      await d.nc.close();
    }
  });

  it('refuses JetStream to an account whose JWT has none, until a claims update grants it', async () => {
    const d = await dial(srv.url, userJwt(plainUser.pub, plain.kp), plainUser.seed);
    try {
      await assert.rejects(jetstreamManager(d.nc), /not enabled/i);
      const reply = await sys.nc.request(`$SYS.REQ.ACCOUNT.${plain.pub}.CLAIMS.UPDATE`, accountJwt(plain.pub, w.op.kp, { limits: withJetStream(-1) }, { iat: Math.floor(Date.now() / 1000) + 1 }));
      assert.match(reply.string(), /jwt updated/);
      const deadline = Date.now() + 3000;
      let jsm = null;
      while (jsm === null && Date.now() < deadline) {
        jsm = await jetstreamManager(d.nc).catch(() => null);
      }
      assert.ok(jsm, 'JetStream stayed off after the update');
      await jsm.streams.add({ name: 'LATE', subjects: ['late.>'] });
      assert.equal((await jsm.streams.info('LATE')).config.name, 'LATE');
    } finally {
      await d.nc.close();
    }
  });

  it('never gives the system account JetStream', async () => {
    await assert.rejects(jetstreamManager(sys.nc), /not enabled/i);
  });
});
