/**
 * `trusted_keys` (nats-server's top-level trusted operator keys, without an
 * operator JWT): accounts signed by a trusted key are served, others are
 * refused; the keys are checked at load time with their position.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import { formatCreds } from '../../src/jwt/creds.js';
import { ConfigError } from '../../src/config/errors.js';
import { optionsFromConfigText } from '../../src/config/options-from-config.js';
import { accountJwt, newAccount, newOperator, newUser, userJwt } from '../jwt/encoder.js';
import { startNatter } from '../helpers/natter.js';

describe('trusted_keys', () => {
  it('serves accounts signed by a trusted operator key and no others', async () => {
    const op = newOperator();
    const stranger = newOperator();
    const sys = newAccount();
    const app = newAccount();
    const other = newAccount();
    const { options } = optionsFromConfigText(`trusted_keys: ["${op.pub}"]\nsystem_account: ${sys.pub}\nresolver: MEMORY\n`, 't.conf');
    assert.deepEqual(options.trusted_keys, [op.pub]);
    const srv = await startNatter({
      ...options,
      resolver_preload: { [sys.pub]: accountJwt(sys.pub, op.kp), [app.pub]: accountJwt(app.pub, op.kp), [other.pub]: accountJwt(other.pub, stranger.kp) },
    });
    try {
      const user = newUser();
      const creds = (jwt: string, seed: string): Uint8Array => new TextEncoder().encode(formatCreds(jwt, seed));
      const nc = await connect({ servers: srv.url, authenticator: credsAuthenticator(creds(userJwt(user.pub, app.kp), user.seed)), reconnect: false });
      const sub = nc.subscribe('hello', { max: 1 });
      nc.publish('hello', 'world');
      for await (const m of sub) assert.equal(m.string(), 'world');
      await nc.close();
      const outsider = newUser();
      await assert.rejects(connect({ servers: srv.url, authenticator: credsAuthenticator(creds(userJwt(outsider.pub, other.kp), outsider.seed)), reconnect: false, timeout: 3000 }));
    } finally {
      await srv.close();
    }
  });

  it('refuses a key that is not an operator public key, at its position', () => {
    const account = newAccount();
    assert.throws(() => optionsFromConfigText(`trusted_keys: [\n  "${account.pub}"\n]\nresolver: MEMORY\n`, 't.conf'), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.message, `t.conf:2:3: trusted Keys "${account.pub}" are not valid public operator Keys`);
      return true;
    });
  });
});
