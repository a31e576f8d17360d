/**
 * Differential check of permissions against the real nats-server: the same
 * configuration is loaded by Natter's parsers and run by nats-server, then
 * every SUB and PUB below goes to nats-server over a raw connection. Where
 * Natter's Permissions refuse, nats-server must answer with exactly the
 * violation text Natter builds; where they allow, it must stay silent.
 * Skipped when nats-server is not installed.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { publishViolation, replyViolation, subscriptionViolation, SYSTEM_QUEUE_GROUP, isReservedReply } from '../../src/auth/permissions.js';
import { toWire } from '../../src/auth/wire-text.js';
import type { SecurityConfig } from '../../src/auth/security-config.js';
import { security } from './helpers.js';
import { NATS_SERVER_BIN, startNatsServer, type NatsServerHandle } from '../helpers/nats-server.js';
import { RawClient } from './raw-nats.js';

const CONF = `
authorization {
  users = [
    { user: a, password: a, permissions: {
        publish: { allow: ["foo.*", "bar.>", "größe.*"], deny: ["foo.secret"] }
        subscribe: { allow: ["foo.*", "q.* workers", "both", "both v1", "wq.> v.*", "größe.>"], deny: ["foo.secret", "both v2"] }
    } }
    { user: r, password: r, permissions: { subscribe: "req", allow_responses: { max: 2 } } }
    { user: p, password: p, permissions: { publish: [], subscribe: { deny: "x.>" } } }
    { user: q, password: q }
  ]
}
`;

const SUBS: [string, string | null][] = [
  ['foo.>', null], ['foo.*', null], ['foo.bar', null], ['foo.secret', null], ['q.x', null], ['q.x', 'workers'],
  ['q.x', 'other'], ['both', null], ['both', 'v1'], ['both', 'v2'], ['both', 'v3'], ['wq.a.b', 'v.x'],
  ['wq.a.b', 'v'], ['q.*', 'workers'], ['q.>', 'workers'], ['*', null], ['>', null], ['a"b', null],
  [toWire('größe.x'), null], [toWire('grösse.x'), null], ['x.y', 'q'],
];

const PUBS: string[] = [
  'foo.x', 'foo.secret', 'foo.x.y', 'bar', 'bar.a.b', 'foo.*', 'foo.>', 'baz', 'a"b', toWire('größe.1'), toWire('größer.1'),
];

describe('permissions against nats-server 2.9', { skip: existsSync(NATS_SERVER_BIN) ? false : 'nats-server not installed' }, () => {
  let server: NatsServerHandle;
  let config: SecurityConfig;
  const clients: RawClient[] = [];

  before(async () => {
    config = security(CONF);
    server = await startNatsServer({ config: CONF });
  });

  after(async () => {
    for (const c of clients) c.close();
    await server?.stop();
  });

  async function client(user: string): Promise<RawClient> {
    const c = await RawClient.connect(server.port, { user, pass: user });
    clients.push(c);
    return c;
  }

  async function natter(user: string) {
    const who = await config.userTable.authenticate({ user, pass: user }, null);
    assert.ok(who !== null && who.permissions !== null);
    return who.permissions.forClient();
  }

  it('answers every subscription as Natter decides, with the same text', async () => {
    const c = await client('a');
    const perms = await natter('a');
    let sid = 0;
    for (const [subject, queue] of SUBS) {
      const lines = await c.run(`SUB ${subject}${queue === null ? '' : ` ${queue}`} ${++sid}`);
      const expected = perms.canSubscribe(subject, queue) && queue !== SYSTEM_QUEUE_GROUP
        ? [] : [subscriptionViolation(subject, queue)];
      assert.deepEqual(RawClient.errors(lines).map(fromLatin1), expected, `SUB ${subject} ${queue ?? ''}`);
    }
  });

  it('answers every publish as Natter decides, with the same text', async () => {
    const c = await client('a');
    const perms = await natter('a');
    for (const subject of PUBS) {
      const lines = await c.run(`PUB ${subject} 0\r\n`);
      const expected = perms.canPublish(subject) ? [] : [publishViolation(subject)];
      assert.deepEqual(RawClient.errors(lines).map(fromLatin1), expected, `PUB ${subject}`);
    }
  });

  it('refuses reserved reply subjects and the system queue group to anyone', async () => {
    const c = await client('q');
    for (const reply of ['_R_.abc', '$JS.ACK.x', '_GR_.x', '_INBOX.x']) {
      const lines = await c.run(`PUB foo ${reply} 0\r\n`);
      assert.deepEqual(RawClient.errors(lines), isReservedReply(reply) ? [replyViolation(reply)] : [], reply);
    }
    const lines = await c.run(`SUB x ${SYSTEM_QUEUE_GROUP} 1`);
    assert.deepEqual(RawClient.errors(lines), [subscriptionViolation('x', SYSTEM_QUEUE_GROUP)]);
  });

  it('filters deliveries to a wildcard subscription past a subscribe deny', async () => {
    const sub = await client('p');
    const pub = await client('q');
    const perms = await natter('p');
    assert.deepEqual(await sub.run('SUB > 1'), []);
    assert.equal(perms.canSubscribe('>', null), true);
    for (const subject of ['x.y', 'y', 'x.y.z', 'x']) await pub.run(`PUB ${subject} 0\r\n`);
    const received = (await sub.run('')).filter((l) => l.startsWith('MSG ')).map((l) => l.split(' ')[1]);
    assert.deepEqual(received, ['y', 'x']);
    assert.deepEqual(['x.y', 'y', 'x.y.z', 'x'].filter((s) => !perms.deniesDelivery(s)), received);
  });

  it('opens reply subjects for max responses, as Natter counts them', async () => {
    const responder = await client('r');
    const requester = await client('q');
    const perms = await natter('r');
    await responder.run('SUB req 1');
    await requester.run('PUB req reply.1 0\r\n');
    const delivered = await responder.run('');
    assert.ok(delivered.some((l) => l.startsWith('MSG req 1 reply.1')), delivered.join(' | '));
    perms.allowReply('reply.1');
    for (let i = 0; i < 3; i++) {
      const lines = await responder.run('PUB reply.1 0\r\n');
      const expected = perms.canPublish('reply.1') ? [] : [publishViolation('reply.1')];
      assert.deepEqual(RawClient.errors(lines), expected, `response ${i + 1}`);
    }
    assert.equal(perms.canPublish('reply.1'), false);
  });
});

/** -ERR lines were read as latin1; the server sends its text as UTF-8. */
function fromLatin1(s: string): string {
  return Buffer.from(s, 'latin1').toString('utf8');
}
