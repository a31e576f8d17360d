/** The accounts block: parsing, cross-account validation, system account, and import routes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_RESPONSE_THRESHOLD_MS } from '../../src/accounts/account-config.js';
import { DEFAULT_SYSTEM_ACCOUNT } from '../../src/auth/security-config.js';
import { assertProblem, problems, security } from '../auth/helpers.js';
import { ACCOUNT_KEY, CHAT_USER } from '../auth/keys.js';

describe('accounts: names', () => {
  it('reads the map form and the old list form', () => {
    assert.deepEqual(security('accounts { A: {}, B: {} }').accounts.map((a) => a.name), ['A', 'B']);
    assert.deepEqual(security('accounts: [A, B]').accounts.map((a) => a.name), ['A', 'B']);
  });

  it('refuses $G, duplicates in the list form, and non-map accounts', () => {
    assertProblem('accounts { "$G": {} }', '"$G" is a Reserved Account');
    assertProblem('accounts: [A, "$G"]', '"$G" is a Reserved Account');
    assertProblem('accounts: [A, B, A]', 'Duplicate Account Entry: A');
    assertProblem('accounts { A: 1 }', 'Expected map entries for accounts');
    assertProblem('accounts: 5', 'accounts must be a map of accounts, got integer 5');
    assertProblem('accounts { A: { colour: red } }', 'unknown field "colour"');
  });

  it('keeps an account nkey, refusing keys that are not account keys', () => {
    assert.equal(security(`accounts { A: { nkey: ${ACCOUNT_KEY} } }`).accounts[0].nkey, ACCOUNT_KEY);
    assertProblem(`accounts { A: { nkey: ${CHAT_USER.publicKey} } }`, `Not a valid public nkey for an account: "${CHAT_USER.publicKey}"`);
  });

  it('reads per-account JetStream settings for the JetStream subsystem', () => {
    assert.deepEqual(security('accounts { A: { jetstream: enabled } }').accounts[0].jetstream, { enabled: true, limits: null });
    assert.deepEqual(security('accounts { A: { jetstream: false } }').accounts[0].jetstream, { enabled: false, limits: null });
    assert.deepEqual(security('accounts { A: { jetstream: { max_mem: 1G, max_streams: 10 } } }').accounts[0].jetstream,
      { enabled: true, limits: { max_mem: 1000 ** 3, max_streams: 10 } });
    assertProblem('accounts { A: { jetstream: maybe } }', "Expected 'enabled' or 'disabled' for string value, got 'maybe'");
  });

  it('refuses account features this version cannot enforce', () => {
    assertProblem('accounts { A: { mappings: { a: b } } }', 'account mappings are not supported by this Natter version');
    assertProblem('accounts { A: { limits: { max_connections: 1 } } }', 'account limits are not supported by this Natter version');
    assertProblem('accounts { A: { exports: [ { service: "s", latency: "lat.s" } ] } }',
      'service latency tracking is not supported by this Natter version');
  });
});

describe('accounts: the system account', () => {
  it('defaults to an implicit $SYS', () => {
    const s = security('accounts { A: {} }');
    assert.equal(s.systemAccount, DEFAULT_SYSTEM_ACCOUNT);
    assert.equal(s.systemAccountImplicit, true);
  });

  it('uses a configured $SYS, or the named account, which must exist', () => {
    const defined = security('accounts { $SYS: { users: [ {user: s, password: s} ] }, A: {} }');
    assert.equal(defined.systemAccount, '$SYS');
    assert.equal(defined.systemAccountImplicit, false);
    const named = security('system: SYS\naccounts { SYS: {}, A: {} }');
    assert.equal(named.systemAccount, 'SYS');
    assert.equal(named.systemAccountImplicit, false);
    assertProblem('system_account: SYS\naccounts { A: {} }', 'error resolving system account: account missing');
    assertProblem('system_account: "$SYS"\naccounts { A: {} }', 'error resolving system account: account missing');
    assertProblem('system_account: 5', 'system account name must be a string');
    assertProblem('system_account: "$G"', '"$G" can not be the system account');
  });
});

describe('accounts: exports', () => {
  it('reads streams and services, response types and thresholds', () => {
    const [a] = security(`accounts { A: { exports: [
      { stream: "s.>" }
      { stream: "p.>", accounts: [B] }
      { service: "one" }
      { service: "many", response: stream, threshold: "5s" }
      { service: "parts", response_type: chunked, accounts: [] }
      { service: "single", response_type: single }
    ] }, B: {} }`).accounts;
    assert.deepEqual(a.streamExports.map((e) => [e.subject, e.accounts]), [['s.>', null], ['p.>', ['B']]]);
    assert.deepEqual(a.serviceExports.map((e) => [e.subject, e.responseType, e.responseThresholdMs, e.accounts]), [
      ['one', 'singleton', DEFAULT_RESPONSE_THRESHOLD_MS, null],
      ['many', 'stream', 5000, null],
      ['parts', 'chunked', DEFAULT_RESPONSE_THRESHOLD_MS, null],
      ['single', 'singleton', DEFAULT_RESPONSE_THRESHOLD_MS, null],
    ]);
  });

  it('refuses malformed exports with nats-server wording', () => {
    assertProblem('accounts { A: { exports: { stream: a } } }', 'Exports should be an array, got a map');
    assertProblem('accounts { A: { exports: [ "a" ] } }', 'Export Items should be a map with type entry, got string "a"');
    assertProblem('accounts { A: { exports: [ {service: "a", response_type: weird} ] } }', 'Unknown response type: "weird"');
    assertProblem('accounts { A: { exports: [ {stream: "a", response_type: stream} ] } }', 'Detected response directive on non-service');
    assertProblem('accounts { A: { exports: [ {stream: "a", service: "b"} ] } }', 'Detected service "b" but already saw a stream');
    assertProblem('accounts { A: { exports: [ {service: "a", threshold: "5q"} ] } }',
      'Expected response threshold to be a parseable time duration, got "5q"');
    assertProblem('accounts { A: { exports: [ {stream: 5} ] } }', 'Expected stream name to be string, got integer 5');
    assertProblem('accounts { A: { exports: [ {stream: "a.>", accounts: [Z]} ] } }', '"Z" account not defined for stream export');
    assertProblem('accounts { A: { exports: [ {service: "a.>", accounts: [Z]} ] } }', '"Z" account not defined for service export');
    assertProblem('accounts { A: { exports: [ {stream: "a.b", account_token_position: 2} ] } }',
      'Error adding stream export "a.b": sublist: invalid subject');
    assertProblem('accounts { A: { exports: [ {stream: "a..b"} ] } }', 'Error adding stream export "a..b": sublist: invalid subject');
    assertProblem('accounts { A: { exports: [ {accounts: [A]} ] } }', 'Export Items need a stream or a service subject');
  });
});

describe('accounts: imports', () => {
  it('refuses malformed imports with nats-server wording', () => {
    assertProblem('accounts { A: { imports: {} } }', 'Imports should be an array, got a map');
    assertProblem('accounts { A: { imports: [ 1 ] } }', 'Import Items should be a map with type entry, got integer 1');
    assertProblem('accounts { A: { imports: [ {stream: {account: B}} ] }, B: {} }', 'Expect an account name and a subject');
    assertProblem('accounts { A: { imports: [ {stream: "B"} ] } }', 'Stream entry should be an account map, got string "B"');
    assertProblem('accounts { A: { imports: [ {service: {account: B, subject: s, colour: red}} ] }, B: {} }', 'unknown field "colour"');
    assertProblem(`accounts { A: { exports: [ {stream: "a.>"} ] }, B: { imports: [
      {stream: {account: A, subject: "a.>"}, prefix: "x", to: "y.>"} ] } }`,
    "Stream import can not have a 'prefix' and a 'to' property");
    assertProblem(`accounts { A: { exports: [ {service: ">"} ] }, B: { imports: [
      {service: {account: A, subject: "a"}}, {service: {account: A, subject: "b"}, to: "a"} ] } }`,
    'Duplicate service import subject "a", previously used in import for account "A", subject "a"');
  });

  it('requires the exporting account to exist', () => {
    assertProblem('accounts { A: { imports: [ {stream: {account: Z, subject: "a"}} ] } }', '"Z" account not defined for stream import');
    assertProblem('accounts { A: { imports: [ {service: {account: Z, subject: "a"}} ] } }', '"Z" account not defined for service import');
  });

  it('allows public exports to everyone and private ones to the listed accounts only', () => {
    const base = `A: { exports: [ {stream: "pub.>"}, {stream: "priv.>", accounts: [B]}, {service: "svc", accounts: [B]}, {stream: "open.>", accounts: []} ] }`;
    assert.doesNotThrow(() => security(`accounts { ${base}, B: { imports: [
      {stream: {account: A, subject: "pub.x"}}, {stream: {account: A, subject: "priv.>"}},
      {service: {account: A, subject: "svc"}} ] } }`));
    assert.doesNotThrow(() => security(`accounts { ${base}, B: {}, C: { imports: [ {stream: {account: A, subject: "open.>"}} ] } }`));
    assertProblem(`accounts { ${base}, B: {}, C: { imports: [ {stream: {account: A, subject: "priv.>"}} ] } }`,
      'Error adding stream import "priv.>": stream import not authorized');
    assertProblem(`accounts { ${base}, B: {}, C: { imports: [ {service: {account: A, subject: "svc"}} ] } }`,
      'Error adding service import "svc": service import not authorized');
  });

  it('checks import subjects against exports with the wildcard subset rules', () => {
    const ok = (exp: string, imp: string): boolean =>
      loads(`accounts { A: { exports: [ {stream: "${exp}"} ] }, B: { imports: [ {stream: {account: A, subject: "${imp}"}} ] } }`);
    assert.equal(ok('a.>', 'a.b.*'), true);
    assert.equal(ok('a.>', 'a.>'), true);
    assert.equal(ok('a.*', 'a.b'), true);
    assert.equal(ok('a.*', 'a.>'), false);
    assert.equal(ok('a.b', 'a.*'), false);
    assert.equal(ok('a.b', 'a.>'), false);
    assert.equal(ok('>', 'a..b'), false, 'not a subject');
  });

  it('lets a private export be imported when another export covering it is public', () => {
    assert.doesNotThrow(() => security(`accounts { A: { exports: [ {stream: "a.b", accounts: [C]}, {stream: "a.*"} ] }, C: {},
      B: { imports: [ {stream: {account: A, subject: "a.c"}} ] } }`));
    // An export of exactly the imported subject decides alone, as in nats-server.
    assertProblem(`accounts { A: { exports: [ {stream: "a.b", accounts: [C]}, {stream: "a.*"} ] }, C: {},
      B: { imports: [ {stream: {account: A, subject: "a.b"}} ] } }`, 'Error adding stream import "a.b": stream import not authorized');
  });

  it('authorizes by account_token_position', () => {
    assert.doesNotThrow(() => security(`accounts { A: { exports: [ {stream: "acc.*.events", account_token_position: 2} ] },
      B: { imports: [ {stream: {account: A, subject: "acc.B.events"}} ] } }`));
    assertProblem(`accounts { A: { exports: [ {stream: "acc.*.events", account_token_position: 2} ] },
      B: { imports: [ {stream: {account: A, subject: "acc.C.events"}} ] }, C: {} }`,
    'Error adding stream import "acc.C.events": stream import not authorized');
  });

  it('refuses wildcard prefixes, duplicate stream imports and bad mappings', () => {
    const a = 'A: { exports: [ {stream: "r.>"}, {service: "s.>"} ] }';
    assertProblem(`accounts { ${a}, B: { imports: [ {stream: {account: A, subject: "r.>"}, prefix: "x.*"} ] } }`,
      'Error adding stream import "r.>": stream import prefix can not contain wildcard tokens');
    assertProblem(`accounts { ${a}, B: { imports: [ {stream: {account: A, subject: "r.a"}}, {stream: {account: A, subject: "r.a"}, prefix: p} ] } }`,
      'Error adding stream import "r.a": stream import already exists');
    assertProblem(`accounts { ${a}, B: { imports: [ {stream: {account: A, subject: "r.*.>"}, to: "q.x"} ] } }`,
      'Error adding stream import "r.*.>": failed to create mapping transform for stream import subject "r.*.>" to "q.x": invalid subject');
    assertProblem(`accounts { ${a}, B: { imports: [ {stream: {account: A, subject: "r.*"}, to: "q.$2"} ] } }`,
      'Error adding stream import "r.*": failed to create mapping transform for stream import subject "r.*" to "q.$2": invalid mapping destination: wildcard index out of range in $2: [2]');
    assertProblem(`accounts { ${a}, B: { imports: [ {service: {account: A, subject: "s.*"}, to: "q.x"} ] } }`,
      'Error adding service import "s.*": failed to create mapping transform for service import subject "q.x" to "s.*": invalid mapping destination: not using all of the token wildcard(s) in q.x');
    assertProblem(`accounts { ${a}, B: { imports: [ {service: {account: A, subject: "s.a"}, to: "b..c"} ] } }`,
      'Error adding service import "s.a": sublist: invalid subject');
  });

  it('refuses service import cycles of any length, and accepts chains', () => {
    const svc = (name: string, from: string): string =>
      `${name}: { exports: [ {service: q} ], imports: [ {service: {account: ${from}, subject: q}} ] }`;
    assertProblem(`accounts { ${svc('A', 'B')}, ${svc('B', 'A')} }`, 'Error adding service import "q": import forms a cycle');
    assertProblem(`accounts { ${svc('A', 'B')}, ${svc('B', 'C')}, ${svc('C', 'A')} }`, 'Error adding service import "q": import forms a cycle');
    assert.doesNotThrow(() => security(`accounts { ${svc('A', 'B')}, ${svc('B', 'C')}, C: { exports: [ {service: q} ] } }`));
    // Different subjects do not loop.
    assert.doesNotThrow(() => security(`accounts {
      A: { exports: [ {service: a} ], imports: [ {service: {account: B, subject: b}} ] }
      B: { exports: [ {service: b} ], imports: [ {service: {account: A, subject: a}} ] } }`));
    // nats-server accepts importing one's own export.
    assert.doesNotThrow(() => security('accounts { A: { exports: [ {service: q} ], imports: [ {service: {account: A, subject: q}, to: r} ] } }'));
  });

  it('refuses stream import cycles', () => {
    const str = (name: string, from: string): string =>
      `${name}: { exports: [ {stream: q} ], imports: [ {stream: {account: ${from}, subject: q}} ] }`;
    assertProblem(`accounts { ${str('A', 'B')}, ${str('B', 'A')} }`, 'Error adding stream import "q": import forms a cycle');
    assertProblem(`accounts { ${str('A', 'B')}, ${str('B', 'C')}, ${str('C', 'A')} }`, 'Error adding stream import "q": import forms a cycle');
    assert.doesNotThrow(() => security(`accounts { ${str('A', 'B')}, ${str('B', 'C')}, C: { exports: [ {stream: q} ] } }`));
  });
});

describe('accounts: routes for the router', () => {
  const s = security(`accounts {
    A: { exports: [ {stream: "r.>"}, {service: "svc.*.*", response_type: stream, threshold: "10s"}, {service: "help"} ] }
    B: { imports: [
      {stream: {account: A, subject: "r.>"}, prefix: "from_a"}
      {stream: {account: A, subject: "r.*.x"}, to: "mapped.$1"}
      {stream: {account: A, subject: "r.lit"}, to: "other.lit"}
      {service: {account: A, subject: "svc.*.*"}, to: "ask.$2.$1"}
      {service: {account: A, subject: "help"}, to: "please.help"}
    ] }
    C: { imports: [ {stream: {account: A, subject: "r.>"}}, {service: {account: A, subject: "svc.*.*"}}, {service: {account: A, subject: "help"}} ] }
  }`);
  const routes = s.routes;

  it('maps a stream export subject to each importer\'s subject', () => {
    assert.deepEqual(routes.streamDeliveries('A', 'r.k.x').map((d) => [d.route.importer, d.subject]), [
      ['B', 'from_a.r.k.x'],
      ['B', 'mapped.k'],
      ['C', 'r.k.x'],
    ]);
    assert.deepEqual(routes.streamDeliveries('A', 'r.lit').map((d) => [d.route.importer, d.subject]), [
      ['B', 'from_a.r.lit'],
      ['B', 'other.lit'],
      ['C', 'r.lit'],
    ]);
    assert.deepEqual(routes.streamDeliveries('A', 'elsewhere'), []);
    assert.deepEqual(routes.streamDeliveries('B', 'r.k.x'), [], 'B exports nothing');
    assert.equal(routes.streamImportsFrom('A').length, 4);
  });

  it('maps a service import subject to the exporter\'s subject, with the export\'s response settings', () => {
    const [ask] = routes.serviceImportsFor('B', 'ask.1.2');
    assert.equal(ask.exporter, 'A');
    assert.equal(ask.local, 'ask.*.*');
    assert.equal(ask.toExporter('ask.1.2'), 'svc.2.1');
    assert.equal(ask.toExporter('nope'), null);
    assert.equal(ask.responseType, 'stream');
    assert.equal(ask.responseThresholdMs, 10_000);
    const [help] = routes.serviceImportsFor('B', 'please.help');
    assert.equal(help.toExporter('please.help'), 'help');
    assert.equal(help.responseType, 'singleton');
    assert.equal(help.responseThresholdMs, DEFAULT_RESPONSE_THRESHOLD_MS);
    const [same] = routes.serviceImportsFor('C', 'svc.a.b');
    assert.equal(same.toExporter('svc.a.b'), 'svc.a.b');
    assert.deepEqual(routes.serviceImportsFor('C', 'ask.1.2'), []);
    assert.equal(routes.serviceImportsOf('C').length, 2);
    assert.equal(routes.serviceImportsOf('A').length, 0);
  });

  it('returns every overlapping service import, as each is a subscription', () => {
    const o = security(`accounts { A: { exports: [ {service: ">"} ] }, B: { imports: [
      {service: {account: A, subject: "x.*"}}, {service: {account: A, subject: "x.y"}} ] } }`);
    assert.deepEqual(o.routes.serviceImportsFor('B', 'x.y').map((r) => r.local), ['x.*', 'x.y']);
  });

  it('works on wire (latin1) subjects for non-ASCII configuration', () => {
    const u = security('accounts { A: { exports: [ {stream: "größe.>"} ] }, B: { imports: [ {stream: {account: A, subject: "größe.>"}, prefix: "ü"} ] } }');
    const wire = (t: string): string => Buffer.from(t, 'utf8').toString('latin1');
    assert.deepEqual(u.routes.streamDeliveries('A', wire('größe.x')).map((d) => d.subject), [wire('ü.größe.x')]);
  });
});

/** True when the configuration loads, false when it is refused. */
function loads(text: string): boolean {
  try {
    security(text);
    return true;
  } catch (err) {
    assert.ok(problems(text).length > 0, String(err));
    return false;
  }
}
