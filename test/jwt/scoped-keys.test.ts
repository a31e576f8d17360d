/**
 * Scoped signing keys: users issued by a key with a `user_scope` get the
 * scope's template instead of their own permissions, with `{{name()}}`,
 * `{{subject()}}`, `{{account-name()}}`, `{{account-subject()}}`,
 * `{{tag(k)}}` and `{{account-tag(k)}}` expanded per user; the template's
 * limits apply too. Unit checks of the expansion, then through the server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startNatter, type TestNatter } from '../helpers/natter.js';
import { waitUntil } from '../helpers/wait.js';
import { expandTemplate, hasTemplates, TemplateError, type TemplateContext } from '../../src/jwt/scope-template.js';
import type { UserPermissionLimits } from '../../src/jwt/claims.js';
import { accountJwt, newAccount, newUser, userJwt } from './encoder.js';
import { connectError, dial, OperatorWorld } from './operator-world.js';

const CTX: TemplateContext = {
  userName: 'alice',
  userKey: 'UALICE',
  userTags: ['dept:sales', 'dept:ops', 'region:eu'],
  accountName: 'acme',
  accountKey: 'AACME',
  accountTags: ['tier:gold'],
};

function limits(pubAllow: string[] | null, subAllow: string[] | null = null, deny: string[] | null = null): UserPermissionLimits {
  return {
    pub: { allow: pubAllow, deny }, sub: { allow: subAllow, deny: null }, resp: null, src: [], times: [], times_location: '',
    subs: -1, data: -1, payload: -1, bearer_token: false, allowed_connection_types: [],
  };
}

describe('template expansion', () => {
  it('expands user and account functions, one subject per tag value', () => {
    const l = expandTemplate(limits(['u.{{name()}}.>', 'k.{{subject()}}', 'a.{{account-name()}}.{{account-subject()}}', 'd.{{tag(dept)}}.{{tag(region)}}', 't.{{account-tag(tier)}}', 'plain']), CTX);
    assert.deepEqual(l.pub.allow, ['u.alice.>', 'k.UALICE', 'a.acme.AACME', 'd.sales.eu', 'd.ops.eu', 't.gold', 'plain']);
    assert.equal(hasTemplates(limits(['plain'])), false);
  });

  it('drops allow subjects that expand to nothing, then denies everything on that side', () => {
    const l = expandTemplate(limits(['x.{{tag(missing)}}'], ['{{unknown()}}']), CTX);
    assert.deepEqual(l.pub.allow, []);
    assert.deepEqual(l.pub.deny, ['>']);
    assert.deepEqual(l.sub.allow, []);
    assert.deepEqual(l.sub.deny, ['>']);
  });

  it('refuses the user when a deny subject expands to an invalid one', () => {
    assert.throws(() => expandTemplate(limits(['ok'], null, ['x.{{tag(missing)}}']), CTX), TemplateError);
  });
});

describe('scoped signing keys through the server', () => {
  const w = new OperatorWorld();
  const acc = newAccount();
  const scoped = newAccount();
  const template = { pub: { allow: ['orders.{{name()}}.>', '_INBOX.>'] }, sub: { allow: ['orders.{{name()}}.>', '_INBOX.>'] }, subs: 2, data: -1, payload: -1 };
  let srv: TestNatter;

  before(async () => {
    srv = await startNatter({
      operator: w.operatorFile,
      resolver: 'MEMORY',
      resolver_preload: {
        [w.sys.pub]: w.sysJwt(),
        [acc.pub]: accountJwt(acc.pub, w.op.kp, { signing_keys: [{ kind: 'user_scope', key: scoped.pub, role: 'orders', template }] }),
      },
    });
  });

  after(async () => {
    await srv.close();
    w.cleanup();
  });

  it('gives a scoped user the expanded template permissions and limits', async () => {
    const u = newUser();
    const c = await dial(srv.url, userJwt(u.pub, scoped.kp, { issuer_account: acc.pub, subs: 0, data: 0, payload: 0 }, { name: 'bob' }), u.seed);
    try {
      c.nc.subscribe('orders.bob.new');
      c.nc.subscribe('orders.alice.new');
      c.nc.publish('orders.carol.x', 'no');
      c.nc.subscribe('orders.bob.more');
      // The template allows two subscriptions.
      c.nc.subscribe('orders.bob.most');
      await c.nc.flush();
      await waitUntil(() => c.errors.length >= 3, 2000, 'three refusals');
      assert.deepEqual(c.errors, [
        'Permissions Violation for Subscription to "orders.alice.new"',
        'Permissions Violation for Publish to "orders.carol.x"',
        'maximum subscriptions exceeded',
      ]);
    } finally {
      await c.nc.close();
    }
  });

  it('refuses a user of a scoped key that carries permissions of its own, as nats-server 2.9.10', async () => {
    const u = newUser();
    assert.match(await connectError(srv.url, userJwt(u.pub, scoped.kp, { issuer_account: acc.pub, pub: { allow: ['>'] } }), u.seed), /Authorization Violation/);
  });
});
