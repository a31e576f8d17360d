import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyFlags, parseClusterUrl, parseFlags, parseGoInt, usageText } from '../../src/cli/flags.js';
import { DEFAULT_OPTIONS } from '../../src/server/options.js';

test('flag table: values, aliases and forms map onto the options', () => {
  const cases: Array<[string[], Record<string, unknown>]> = [
    [['-p', '4333'], { port: 4333 }],
    [['-p=4333'], { port: 4333 }],
    [['--port', '4333'], { port: 4333 }],
    [['--port=4333'], { port: 4333 }],
    [['-port', '4333'], { port: 4333 }],
    [['-p', '-1'], { port: 0 }],
    [['-p=-1'], { port: 0 }],
    [['-p', '0'], { port: DEFAULT_OPTIONS.port }],
    [['-p', '1', '--port', '2'], { port: 2 }],
    [['-a', '127.0.0.1'], { host: '127.0.0.1' }],
    [['--addr=::1'], { host: '::1' }],
    [['--net', '10.0.0.1'], { host: '10.0.0.1' }],
    [['-n', 'alpha'], { server_name: 'alpha' }],
    [['--name', 'alpha'], { server_name: 'alpha' }],
    [['--server_name', 'alpha'], { server_name: 'alpha' }],
    [['--client_advertise', 'example.com:4222'], { client_advertise: 'example.com:4222' }],
    [['-m', '-1'], { http_port: -1 }],
    [['--http_port', '8222'], { http_port: 8222 }],
    [['-ms', '8443'], { https_port: 8443 }],
    [['--https_port=-1'], { https_port: -1 }],
    [['--http_base_path', '/mon'], { http_base_path: '/mon' }],
    [['-P', '/tmp/x.pid'], { pid_file: '/tmp/x.pid' }],
    [['--pid', '/tmp/x.pid'], { pid_file: '/tmp/x.pid' }],
    [['-l', '/tmp/x.log'], { log_file: '/tmp/x.log' }],
    [['--log=/tmp/x.log'], { log_file: '/tmp/x.log' }],
    [['--log_size_limit', '1048576'], { log_size_limit: 1048576 }],
    [['--ports_file_dir', '/tmp'], { ports_file_dir: '/tmp' }],
    [['-D'], { debug: true }],
    [['--debug'], { debug: true }],
    [['-D=false'], { debug: false }],
    [['-V'], { trace: true }],
    [['--trace=true'], { trace: true }],
    [['-DV'], { debug: true, trace: true }],
    [['-VV'], { trace: true, trace_verbose: true }],
    [['-DVV'], { debug: true, trace: true, trace_verbose: true }],
    [['-D', '-DV=false'], { debug: false, trace: false }],
    [['-DV=false', '-D'], { debug: false, trace: false }],
    [['-T'], { logtime: true }],
    [['-T=false'], { logtime: false }],
    [['--logtime=false'], { logtime: false }],
    [['--logtime=0'], { logtime: false }],
    [['--logtime_utc'], { logtime_utc: true }],
    [['-s'], { syslog: true }],
    [['--syslog=F'], { syslog: false }],
    [['--max_pending', '1000000'], { max_pending: 1000000 }],
    [['-p', '0x10'], { port: 16 }],
    [['-p', '010'], { port: 8 }],
    [['-p', '4_222'], { port: 4222 }],
  ];
  for (const [argv, expected] of cases) {
    const r = parseFlags(argv);
    assert.equal(r.action, 'run', argv.join(' '));
    assert.deepEqual(r.options, expected, argv.join(' '));
  }
});

test('nothing given sets nothing, so the config file keeps its values', () => {
  const r = parseFlags([]);
  assert.equal(r.action, 'run');
  assert.deepEqual(r.options, {});
  assert.deepEqual(r.blocks, {});
  assert.equal(r.checkConfig, false);
});

test('config, test, signal and information flags', () => {
  assert.equal(parseFlags(['-c', 'a.conf']).configFile, 'a.conf');
  assert.equal(parseFlags(['--config=a.conf']).configFile, 'a.conf');
  const t = parseFlags(['-t', '-c', 'a.conf']);
  assert.equal(t.checkConfig, true);
  assert.equal(t.action, 'run');
  const s = parseFlags(['-sl', 'reload=123']);
  assert.equal(s.action, 'signal');
  assert.equal(s.signal, 'reload=123');
  assert.equal(parseFlags(['--signal=stop=/tmp/p.pid']).signal, 'stop=/tmp/p.pid');
  assert.equal(parseFlags(['--signal', '']).action, 'run');
  assert.equal(parseFlags(['-v']).action, 'version');
  assert.equal(parseFlags(['--version']).action, 'version');
  assert.equal(parseFlags(['-h']).action, 'help');
  assert.equal(parseFlags(['--help']).action, 'help');
  assert.equal(parseFlags(['--help_tls']).action, 'help_tls');
  // Version wins over help, as in nats-server.
  assert.equal(parseFlags(['-h', '-v']).action, 'version');
  // The positional commands.
  assert.equal(parseFlags(['version']).action, 'version');
  assert.equal(parseFlags(['-p', '1', 'HELP']).action, 'help');
  assert.equal(parseFlags(['-p', '1', '--', 'version']).action, 'version');
});

test('syntax errors carry Go flag-package messages and ask for the usage', () => {
  const cases: Array<[string[], string]> = [
    [['--bogus'], 'flag provided but not defined: -bogus'],
    [['-bogus=1'], 'flag provided but not defined: -bogus'],
    [['-p', 'abc'], 'invalid value "abc" for flag -p: parse error'],
    [['--port=99999999999999999999'], 'invalid value "99999999999999999999" for flag -port: value out of range'],
    [['-p'], 'flag needs an argument: -p'],
    [['--signal'], 'flag needs an argument: -signal'],
    [['-D=xyz'], 'invalid boolean value "xyz" for -D: parse error'],
    [['---p'], 'bad flag syntax: ---p'],
    [['-=1'], 'bad flag syntax: -=1'],
  ];
  for (const [argv, message] of cases) {
    const r = parseFlags(argv);
    assert.equal(r.action, 'error', argv.join(' '));
    assert.equal(r.usageError, true, argv.join(' '));
    assert.equal(r.error, message);
  }
});

test('positional arguments other than version/help are refused', () => {
  const r = parseFlags(['-D', 'false']);
  assert.equal(r.action, 'error');
  assert.equal(r.usageError, false);
  assert.equal(r.error, 'unrecognized command: "false"');
  assert.equal(parseFlags(['foo']).error, 'unrecognized command: "foo"');
});

test('Go integer syntax', () => {
  assert.deepEqual(parseGoInt('42'), { value: 42 });
  assert.deepEqual(parseGoInt('-1'), { value: -1 });
  assert.deepEqual(parseGoInt('+7'), { value: 7 });
  assert.deepEqual(parseGoInt('0x1f'), { value: 31 });
  assert.deepEqual(parseGoInt('0o17'), { value: 15 });
  assert.deepEqual(parseGoInt('017'), { value: 15 });
  assert.deepEqual(parseGoInt('0b101'), { value: 5 });
  assert.deepEqual(parseGoInt('1_000_000'), { value: 1000000 });
  assert.deepEqual(parseGoInt('0'), { value: 0 });
  assert.deepEqual(parseGoInt(''), { error: 'parse error' });
  assert.deepEqual(parseGoInt('1__0'), { error: 'parse error' });
  assert.deepEqual(parseGoInt('08'), { error: 'parse error' });
  assert.deepEqual(parseGoInt('1e3'), { error: 'parse error' });
  assert.deepEqual(parseGoInt('9223372036854775808'), { error: 'value out of range' });
});

test('flags override the config file; absent flags leave it alone', () => {
  const base = { port: 5000, host: '10.0.0.1', logtime: false, debug: true, http_port: 8222 };
  assert.deepEqual(applyFlags(base, parseFlags([])), base);
  assert.deepEqual(applyFlags(base, parseFlags(['-p', '-1', '-D=false'])), { ...base, port: 0, debug: false });
  assert.deepEqual(applyFlags(base, parseFlags(['-T'])), { ...base, logtime: true });
  // The base is not modified.
  assert.equal(base.port, 5000);
});

test('--user/--pass/--auth merge into the authorization block', () => {
  const r = parseFlags(['--user', 'u', '--pass', 'p']);
  assert.deepEqual(applyFlags({}, r).authorization, { user: 'u', password: 'p' });
  const withFile = applyFlags({ authorization: { user: 'old', password: 'x', timeout: 2 } }, parseFlags(['--user', 'new']));
  assert.deepEqual(withFile.authorization, { user: 'new', password: 'x', timeout: 2 });
  assert.deepEqual(applyFlags({}, parseFlags(['--auth', 's3cret'])).authorization, { token: 's3cret' });
});

test('-js and -sd produce a jetstream setting', () => {
  assert.equal(applyFlags({}, parseFlags(['-js'])).jetstream, true);
  assert.deepEqual(applyFlags({}, parseFlags(['--jetstream', '-sd', '/data'])).jetstream, { store_dir: '/data' });
  // -sd alone names the directory but does not switch JetStream on.
  assert.deepEqual(applyFlags({}, parseFlags(['--store_dir=/data'])).jetstream, { enabled: false, store_dir: '/data' });
  assert.deepEqual(
    applyFlags({ jetstream: { max_mem: 1024, store_dir: '/old' } }, parseFlags(['-sd', '/new'])).jetstream,
    { max_mem: 1024, store_dir: '/new' },
  );
  assert.deepEqual(
    applyFlags({ jetstream: { enabled: false } }, parseFlags(['-js'])).jetstream,
    { enabled: true },
  );
  assert.equal(applyFlags({ jetstream: { store_dir: '/x' } }, parseFlags(['-js=false'])).jetstream, false);
});

test('cluster flags: listen URL, random port, credentials, routes', () => {
  assert.deepEqual(parseClusterUrl('nats://127.0.0.1:-1'), { host: '127.0.0.1', port: -1 });
  assert.deepEqual(parseClusterUrl('nats://u:p%40ss@0.0.0.0:6222'), { host: '0.0.0.0', port: 6222, user: 'u', password: 'p@ss' });
  assert.deepEqual(parseClusterUrl('nats://[::1]:6222'), { host: '::1', port: 6222 });
  assert.deepEqual(parseClusterUrl('nats://u@h:1'), { error: 'expected cluster password to be set' });
  assert.deepEqual(parseClusterUrl('foo'), { error: 'missing port in address' });
  assert.deepEqual(parseClusterUrl('nats://foo'), { error: 'address foo: missing port in address' });

  const r = parseFlags(['--cluster', 'nats://127.0.0.1:-1', '--cluster_name', 'c1', '--routes', 'nats://a:1, nats://b:2', '--no_advertise']);
  assert.equal(r.action, 'run');
  const o = applyFlags({}, r);
  assert.deepEqual(o.cluster, {
    listen: '127.0.0.1:-1',
    name: 'c1',
    no_advertise: true,
    routes: ['nats://a:1', 'nats://b:2'],
  });
  // --cluster_listen is the same flag; URL credentials replace the file's.
  const fromFile = { cluster: { host: '1.2.3.4', port: 7000, authorization: { user: 'a', password: 'b', timeout: 1 } } };
  const merged = applyFlags(fromFile, parseFlags(['--cluster_listen', 'nats://x:y@10.0.0.1:6222']));
  assert.deepEqual(merged.cluster, { listen: '10.0.0.1:6222', authorization: { timeout: 1, user: 'x', password: 'y' } });

  const bad = parseFlags(['--cluster', 'nats://u@h:1']);
  assert.equal(bad.action, 'error');
  assert.equal(bad.usageError, false);
  assert.equal(bad.error, 'expected cluster password to be set');
});

test('routes need somewhere for routes to come in', () => {
  assert.throws(() => applyFlags({}, parseFlags(['--routes', 'nats://a:1'])), {
    message: 'solicited routes require cluster capabilities, e.g. --cluster',
  });
  const ok = applyFlags({ cluster: { listen: '0.0.0.0:6222' } }, parseFlags(['--routes', 'nats://a:1']));
  assert.deepEqual(ok.cluster, { listen: '0.0.0.0:6222', routes: ['nats://a:1'] });
  const cleared = applyFlags({ cluster: { port: 6222, routes: ['nats://z:1'] } }, parseFlags(['--routes=']));
  assert.deepEqual(cleared.cluster, { port: 6222 });
});

test('tls flags replace the tls block and need a certificate and key', () => {
  assert.equal(parseFlags(['--tls']).error, 'TLS Server certificate must be present and valid');
  assert.equal(parseFlags(['--tlscert', 'c.pem']).error, 'TLS Server private key must be present and valid');
  const r = parseFlags(['--tlscert', 'c.pem', '--tlskey', 'k.pem', '--tlsverify', '--tlscacert', 'ca.pem']);
  assert.equal(r.action, 'run');
  assert.deepEqual(applyFlags({ tls: { cert_file: 'old.pem', timeout: 3 } }, r).tls, {
    cert_file: 'c.pem', key_file: 'k.pem', ca_file: 'ca.pem', verify: true,
  });
  // --tls=false switches TLS off whatever else is given.
  const off = applyFlags({ tls: { cert_file: 'a' } }, parseFlags(['--tlscert', 'c', '--tls=false']));
  assert.equal(off.tls, undefined);
  assert.equal('tls' in off, false);
});

test('flags without an options key yet are kept as extras', () => {
  const r = parseFlags(['-r', 'udp://localhost:514', '--profile', '6060', '--max_traced_msg_len', '100', '--connect_retries', '3']);
  assert.deepEqual(r.extras, { remote_syslog: 'udp://localhost:514', profile_port: 6060, max_traced_msg_len: 100 });
  assert.deepEqual(r.blocks.cluster, { connect_retries: 3 });
});

test('usage text has the nats-server layout and lists the supported flags', () => {
  const u = usageText();
  assert.ok(u.startsWith('\nUsage: natter-server [options]\n\nServer Options:\n'));
  for (const section of ['Logging Options:', 'JetStream Options:', 'Authorization Options:', 'TLS Options:', 'Cluster Options:', 'Common Options:']) {
    assert.ok(u.includes(`\n${section}\n`), section);
  }
  for (const flag of ['-a, --addr, --net <host>', '-p, --port <port>', '-sl,--signal <signal>[=<pid>]', '-DVV', '--ports_file_dir <dir>', '-h, --help', '-v, --version']) {
    assert.ok(u.includes(flag), flag);
  }
  // Descriptions start in the same column as nats-server's (the 38th).
  for (const line of u.split('\n').filter((l) => l.startsWith('    -') || l.startsWith('        --'))) {
    if (line.trimEnd() === '    -n, --name') continue;
    assert.equal(line[36], ' ', line);
    assert.match(line.slice(37), /^\S/, line);
  }
});
