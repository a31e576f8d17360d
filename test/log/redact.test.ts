/** Hiding credentials in what the server writes (src/log/redact.ts) and in reload descriptions (src/server/reload.ts). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { redactConfigValue, redactConnectJson, redactProtocolLine, redactText } from '../../src/log/redact.js';
import { diffOptions } from '../../src/server/reload.js';
import { resolveOptions } from '../../src/server/options.js';
import { newUser } from '../jwt/encoder.js';

describe('CONNECT lines', () => {
  it('hide pass, auth_token, sig and jwt, and keep the rest', () => {
    const line = 'CONNECT {"verbose":false,"user":"u","pass":"p1","auth_token":"t1","nkey":"UABC","sig":"s1","jwt":"e.y.j","name":"n"}';
    assert.equal(redactProtocolLine(line),
      'CONNECT {"verbose":false,"user":"u","pass":"[REDACTED]","auth_token":"[REDACTED]","nkey":"UABC","sig":"[REDACTED]","jwt":"[REDACTED]","name":"n"}');
  });

  it('hide values however the CONNECT is written', () => {
    const cases: Array<[string, string]> = [
      // An escaped field name is the same field to JSON.parse.
      ['{"p\\u0061ss":"x"}', '{"p\\u0061ss":"[REDACTED]"}'],
      ['{ "pass" :  "x" }', '{ "pass" :  "[REDACTED]" }'],
      ['{"pass":"with \\"quotes\\" and \\\\"}', '{"pass":"[REDACTED]"}'],
      // Not a string: still the client's secret.
      ['{"pass":12345}', '{"pass":"[REDACTED]"}'],
      ['{"auth_token":true,"user":"u"}', '{"auth_token":"[REDACTED]","user":"u"}'],
      // Cut short, as a malformed CONNECT is quoted in an error.
      ['{"user":"u","pass":"secr', '{"user":"u","pass":"[REDACTED]"'],
      ['{"user":"u","pass":"secr\\', '{"user":"u","pass":"[REDACTED]"'],
      // Inside a nested object too (the server reads none there, but it is no place for one either).
      ['{"opts":{"pass":"x"}}', '{"opts":{"pass":"[REDACTED]"}}'],
      // V8's JSON.parse message quotes the text it choked on.
      ['Unexpected token \'s\', "{"pass": s3cr3t}" is not valid JSON', 'Unexpected token \'s\', "{"pass": "[REDACTED]"}" is not valid JSON'],
    ];
    for (const [input, want] of cases) assert.equal(redactConnectJson(input), want, input);
  });

  it('leave a field name inside a value alone, and other ops untouched', () => {
    const json = '{"name":"a \\"pass\\": b","user":"u"}';
    assert.equal(redactConnectJson(json), json);
    const pub = 'PUB x 5';
    assert.equal(redactProtocolLine(pub), pub);
    const msg = 'MSG "pass":"x" 1 5';
    assert.equal(redactProtocolLine(msg), msg, 'only CONNECT carries credentials');
  });
});

describe('seeds and URL passwords in text', () => {
  it('are hidden wherever they are', () => {
    const seed = newUser().seed;
    assert.equal(redactText(`creds seed ${seed} here`), 'creds seed [REDACTED] here');
    assert.equal(redactText('error parsing route url ["nats://r:s3cr3t@[::1"]'), 'error parsing route url ["nats://r:xxxxx@[::1"]');
    assert.equal(redactText('nats-route://ruser:pw@127.0.0.1:6222, tls://a:b@h'), 'nats-route://ruser:xxxxx@127.0.0.1:6222, tls://a:xxxxx@h');
    const plain = 'nats://user@host:4222 and nats://host:4222 and U' + 'A'.repeat(55);
    assert.equal(redactText(plain), plain);
  });
});

describe('config values', () => {
  it('have credential keys hidden at any depth, in any case, without changing the original', () => {
    const seed = newUser().seed;
    const cluster = {
      port: 6222,
      authorization: { user: 'r', Password: 'pw', timeout: 2 },
      routes: ['nats-route://r:pw@h:6222'],
      users: [{ user: 'a', pass: 'x', nkey: 'UABC' }, { token: 't' }],
    };
    const copy = structuredClone(cluster);
    assert.deepEqual(redactConfigValue(cluster), {
      port: 6222,
      authorization: { user: 'r', Password: '[REDACTED]', timeout: 2 },
      routes: ['nats-route://r:xxxxx@h:6222'],
      users: [{ user: 'a', pass: '[REDACTED]', nkey: 'UABC' }, { token: '[REDACTED]' }],
    });
    assert.deepEqual(cluster, copy);
    assert.deepEqual(redactConfigValue({ store_dir: '/d', key: 'k', prev_encryption_key: 'p', note: seed }), {
      store_dir: '/d', key: '[REDACTED]', prev_encryption_key: '[REDACTED]', note: '[REDACTED]',
    });
  });
});

describe('reload descriptions', () => {
  it('a refused block is printed without its passwords or keys', () => {
    const prev = resolveOptions({ cluster: { port: 6222, authorization: { user: 'r', password: 'old-pw' }, routes: ['nats://r:old-pw@h:1'] } });
    const next = resolveOptions({ cluster: { port: 6222, authorization: { user: 'r', password: 'new-pw' }, routes: ['nats://r:new-pw@h:1'] } });
    assert.throws(() => diffOptions(prev, next), {
      message: 'config reload not supported for cluster: '
        + 'old={"port":6222,"authorization":{"user":"r","password":"[REDACTED]"},"routes":["nats://r:xxxxx@h:1"]}, '
        + 'new={"port":6222,"authorization":{"user":"r","password":"[REDACTED]"},"routes":["nats://r:xxxxx@h:1"]}',
    });
    const js = (key: string): ReturnType<typeof resolveOptions> => resolveOptions({ jetstream: { store_dir: '/d', key } });
    assert.throws(() => diffOptions(js('k1'), js('k2')), { message: 'config reload not supported for jetstream: old={"store_dir":"/d","key":"[REDACTED]"}, new={"store_dir":"/d","key":"[REDACTED]"}' });
  });

  it('accepted changes name what changed in credentials, and show other values', () => {
    const prev = resolveOptions({ authorization: { token: 't1' }, accounts: { A: { users: [{ user: 'a', password: 'p1' }] } }, debug: false });
    const next = resolveOptions({ authorization: { token: 't2' }, accounts: { A: { users: [{ user: 'a', password: 'p2' }] } }, debug: true });
    assert.deepEqual(diffOptions(prev, next).sort(), ['accounts', 'authorization token', 'debug = true']);
  });
});
