/** Mapping a parsed configuration onto the options model. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ConfigError } from '../../src/config/errors.js';
import {
  KNOWN_TOP_LEVEL_KEYS,
  loadConfigFile,
  optionsFromConfigText,
  type ConfigLoadResult,
} from '../../src/config/options-from-config.js';
import { DEFAULT_OPTIONS, resolveOptions } from '../../src/server/options.js';
import { assertAt, configError, TempDir } from './helpers.js';

const tmp = new TempDir();
after(() => tmp.cleanup());

function load(text: string, env: Record<string, string> = {}): ConfigLoadResult {
  return optionsFromConfigText(text, 'test.conf', { env });
}

function opts(text: string, env: Record<string, string> = {}): ConfigLoadResult['options'] {
  return load(text, env).options;
}

function failure(text: string, env: Record<string, string> = {}): ConfigError {
  return configError(() => load(text, env));
}

describe('client listener options', () => {
  it('maps host, net and port', () => {
    assert.deepEqual(opts('host: 127.0.0.1\nport: 4333\n'), { host: '127.0.0.1', port: 4333 });
    assert.deepEqual(opts('net: "::1"\n'), { host: '::1' });
  });

  it('maps listen as host:port, [ipv6]:port, :port or a bare port', () => {
    assert.deepEqual(opts('listen: 127.0.0.1:4333\n'), { host: '127.0.0.1', port: 4333 });
    assert.deepEqual(opts('listen: "[::1]:4334"\n'), { host: '::1', port: 4334 });
    assert.deepEqual(opts('listen: ":4335"\n'), { port: 4335 });
    assert.deepEqual(opts('listen: 4336\n'), { port: 4336 });
    assert.deepEqual(opts('listen: localhost:4337\n'), { host: 'localhost', port: 4337 });
  });

  it('reads port -1 as random (0) and 0 as the default port, as nats-server', () => {
    assert.equal(opts('port: -1\n').port, 0);
    assert.equal(opts('port: 0\n').port, DEFAULT_OPTIONS.port);
    assert.equal(opts('listen: "0.0.0.0:-1"\n').port, 0);
  });

  it('refuses bad listen values with positions', () => {
    assertAt(failure('listen: localhost\n'), 1, 9, /could not parse address string "localhost"/);
    assertAt(failure('listen: "h:p"\n'), 1, 9, /could not parse port "p"/);
    assertAt(failure('listen: "::1:4222"\n'), 1, 9, /too many colons/);
    assertAt(failure('listen: true\n'), 1, 9, /port or host:port/);
    assertAt(failure('port: 70000\n'), 1, 7, /out of range/);
  });

  it('maps server_name and client_advertise', () => {
    assert.deepEqual(opts('server_name: n1\nclient_advertise: "nats.example.com:4222"\n'), {
      server_name: 'n1',
      client_advertise: 'nats.example.com:4222',
    });
  });
});

describe('limits', () => {
  it('maps sizes with suffixes and counts, with nats-server aliases', () => {
    const text = 'max_payload: 2MB\nmax_control_line: 8k\nmax_pending: 128MB\nmax_conn: 100\nmax_subs: 50\nping_max: 4\n';
    assert.deepEqual(opts(text), {
      max_payload: 2 * 1024 ** 2,
      max_control_line: 8000,
      max_pending: 128 * 1024 ** 2,
      max_connections: 100,
      max_subscriptions: 50,
      ping_max: 4,
    });
    assert.deepEqual(opts('max_connections: 7\nmax_subscriptions: 8\n'), { max_connections: 7, max_subscriptions: 8 });
  });

  it('reads 0 as the default where nats-server does', () => {
    assert.deepEqual(opts('max_payload: 0\nmax_control_line: 0\nmax_pending: 0\nmax_connections: 0\nping_max: 0\n'), {
      max_payload: DEFAULT_OPTIONS.max_payload,
      max_control_line: DEFAULT_OPTIONS.max_control_line,
      max_pending: DEFAULT_OPTIONS.max_pending,
      max_connections: DEFAULT_OPTIONS.max_connections,
      ping_max: DEFAULT_OPTIONS.ping_max,
    });
    assert.equal(opts('max_subscriptions: 0\n').max_subscriptions, 0);
  });

  it('refuses negative sizes and counts at the value', () => {
    assertAt(failure('max_payload: -1\n'), 1, 14, /max_payload can not be negative/);
    assertAt(failure('\n  max_pending = -1MB\n'), 2, 17, /can not be negative/);
    assertAt(failure('max_conn: -5\n'), 1, 11, /max_conn can not be negative/);
  });

  it('refuses int32 limits beyond 2^31-1 as nats-server does', () => {
    assertAt(failure('max_payload: 3GB\n'), 1, 14, /max_payload value is too big/);
    assert.equal(opts('max_payload: 2147483647\n').max_payload, 2 ** 31 - 1);
  });

  it('refuses values of the wrong type at the value', () => {
    assertAt(failure('max_payload: "1MB"\n'), 1, 14, /must be an integer, got string "1MB"/);
    assertAt(failure('max_payload: 1.5\n'), 1, 14, /got float 1\.5/);
  });
});

describe('durations', () => {
  it('reads ping_interval and write_deadline as duration strings', () => {
    assert.deepEqual(load('ping_interval: "30s"\nwrite_deadline: "1.5s"\n'), {
      options: { ping_interval: 30_000, write_deadline: 1500 },
      warnings: [],
    });
  });

  it('reads bare integers as seconds with nats-server\'s deprecation warning', () => {
    const r = load('ping_interval: 60\nwrite_deadline: 10\n');
    assert.deepEqual(r.options, { ping_interval: 60_000, write_deadline: 10_000 });
    assert.deepEqual(r.warnings, [
      'test.conf:1:1: invalid use of field "ping_interval": ping_interval should be converted to a duration',
      'test.conf:2:1: invalid use of field "write_deadline": write_deadline should be converted to a duration',
    ]);
  });

  it('reads unquoted 2m as two million seconds, which is why durations are quoted', () => {
    assert.equal(opts('ping_interval: 2m\n').ping_interval, 2_000_000_000);
  });

  it('reads 0 as the default', () => {
    assert.deepEqual(opts('ping_interval: "0s"\nwrite_deadline: "0"\n'), {
      ping_interval: DEFAULT_OPTIONS.ping_interval,
      write_deadline: DEFAULT_OPTIONS.write_deadline,
    });
  });

  it('reports duration errors with Go\'s message at the value', () => {
    assertAt(failure('ping_interval: "abc"\n'), 1, 16, /error parsing ping_interval: time: invalid duration "abc"/);
    assertAt(failure('write_deadline: "10"\n'), 1, 17, /missing unit/);
    assertAt(failure('ping_interval: "-1s"\n'), 1, 16, /can not be negative/);
    assertAt(failure('ping_interval: true\n'), 1, 16, /duration/);
  });

  it('reads lame duck settings as duration strings with nats-server\'s bounds', () => {
    assert.deepEqual(opts('lame_duck_duration: "45s"\nlame_duck_grace_period: "5s"\n'), {
      lame_duck_duration: 45_000,
      lame_duck_grace_period: 5000,
    });
    assertAt(failure('lame_duck_duration: "10s"\n'), 1, 21, /invalid lame_duck_duration of 10s, minimum is 30 seconds/);
    assertAt(failure('lame_duck_grace_period: "-1s"\n'), 1, 25, /needs to be positive/);
    // nats-server 2.9/2.10 do not read a bare integer here either.
    assertAt(failure('lame_duck_duration: 60\n'), 1, 21, /duration string/);
  });
});

describe('logging and process options', () => {
  it('maps the logging switches and files, with aliases', () => {
    const text = 'debug: true\ntrace: on\nlogtime: no\nlogtime_utc: yes\nlogfile: "/tmp/n.log"\nlogfile_size_limit: 10MB\nsyslog: true\npidfile: /tmp/n.pid\nports_file_dir: /tmp\n';
    assert.deepEqual(opts(text), {
      debug: true,
      trace: true,
      logtime: false,
      logtime_utc: true,
      log_file: '/tmp/n.log',
      log_size_limit: 10 * 1024 ** 2,
      syslog: true,
      pid_file: '/tmp/n.pid',
      ports_file_dir: '/tmp',
    });
    assert.deepEqual(opts('log_file: a\nlog_size_limit: 1k\npid_file: b\n'), {
      log_file: 'a',
      log_size_limit: 1000,
      pid_file: 'b',
    });
  });

  it('turns tracing on with trace_verbose', () => {
    assert.deepEqual(opts('trace_verbose: true\n'), { trace_verbose: true, trace: true });
  });

  it('refuses non-booleans for switches', () => {
    assertAt(failure('debug: 1\n'), 1, 8, /debug must be a boolean, got integer 1/);
    assertAt(failure('trace: "yes"\n'), 1, 8, /got string "yes"/);
  });

  it('maps header support and error report intervals', () => {
    assert.deepEqual(opts('no_header_support: true\nconnect_error_reports: 10\nreconnect_error_reports: 5\n'), {
      no_header_support: true,
      connect_error_reports: 10,
      reconnect_error_reports: 5,
    });
  });
});

describe('monitoring options', () => {
  it('maps http_port, monitor_port, https_port and http_base_path', () => {
    assert.deepEqual(opts('http_port: 8222\nhttps_port: 8443\nhttp_base_path: /mon\n'), {
      http_port: 8222,
      https_port: 8443,
      http_base_path: '/mon',
    });
    assert.deepEqual(opts('monitor_port: -1\n'), { http_port: -1 });
  });

  it('maps http and https as host:port or a port', () => {
    assert.deepEqual(opts('http: "127.0.0.1:8222"\n'), { http_host: '127.0.0.1', http_port: 8222 });
    assert.deepEqual(opts('http: 8223\n'), { http_port: 8223 });
    assert.deepEqual(opts('https: "0.0.0.0:8443"\n'), { http_host: '0.0.0.0', https_port: 8443 });
  });
});

describe('subsystem blocks', () => {
  it('keeps blocks as plain objects and warns once per block', () => {
    const text = [
      'cluster { name: c, port: 6222, routes: [nats://a:6222] }',
      'gateway { name: g, port: 7222 }',
      'leafnodes { port: 7422 }',
      'websocket { port: 8080, no_tls: true }',
      'mqtt { port: 1883 }',
      'tls { cert_file: c.pem, key_file: k.pem, timeout: 2 }',
      'accounts { A { users: [ {user: u, password: p} ] }, SYS {} }',
      'authorization { timeout: 1.5 }',
      'jetstream { store_dir: /data, max_file_store: 10Gi }',
      'operator: op.jwt',
      'resolver: MEMORY',
      'system_account: SYS',
      'no_auth_user: u',
      '',
    ].join('\n');
    const { options, warnings } = load(text);
    assert.deepEqual(options, {
      cluster: { name: 'c', port: 6222, routes: ['nats://a:6222'] },
      gateway: { name: 'g', port: 7222 },
      leafnodes: { port: 7422 },
      websocket: { port: 8080, no_tls: true },
      mqtt: { port: 1883 },
      tls: { cert_file: 'c.pem', key_file: 'k.pem', timeout: 2 },
      accounts: { A: { users: [{ user: 'u', password: 'p' }] }, SYS: {} },
      authorization: { timeout: 1.5 },
      auth_timeout: 1500,
      jetstream: { store_dir: '/data', max_file_store: 10 * 1024 ** 3 },
      operator: 'op.jwt',
      resolver: 'MEMORY',
      system_account: 'SYS',
      no_auth_user: 'u',
    });
    assert.deepEqual(
      warnings,
      ['gateway', 'mqtt'].map(
        (b) => `${b} block is parsed but not active yet in this Natter version`,
      ),
    );
  });

  it('accepts the aliases leaf, ws, system, operators and account_resolver', () => {
    const { options, warnings } = load('leaf { port: 1 }\nws { port: 2 }\naccounts { S {} }\nsystem: S\noperators: [a.jwt, b.jwt]\naccount_resolver { type: full, dir: /r }\n');
    assert.deepEqual(options, {
      leafnodes: { port: 1 },
      websocket: { port: 2 },
      accounts: { S: {} },
      system_account: 'S',
      operator: ['a.jwt', 'b.jwt'],
      resolver: { type: 'full', dir: '/r' },
    });
    assert.deepEqual(warnings, [], 'leaf, ws, operator and resolver are all active');
  });

  it('reads jetstream as a boolean or enabled/disabled', () => {
    assert.deepEqual(load('jetstream: false\n'), { options: { jetstream: false }, warnings: [] });
    assert.deepEqual(load('jetstream: disabled\n'), { options: { jetstream: false }, warnings: [] });
    const on = load('jetstream: Enabled\n');
    assert.equal(on.options.jetstream, true);
    assert.equal(on.warnings.length, 0);
    assertAt(failure('jetstream: maybe\n'), 1, 12, /jetstream must be/);
  });

  it('reads the old list form of accounts', () => {
    assert.deepEqual(opts('accounts: [A, B]\n').accounts, { A: {}, B: {} });
  });

  it('refuses a block that is not a map, at the value', () => {
    assertAt(failure('cluster: "c"\n'), 1, 10, /cluster must be a map, got string "c"/);
    assertAt(failure('authorization: 1\n'), 1, 16, /authorization must be a map/);
    assertAt(failure('websocket = [1]\n'), 1, 13, /websocket must be a map, got an array/);
  });

  it('reads the authorization timeout as seconds, integer or float', () => {
    assert.equal(opts('authorization { timeout: 3 }\n').auth_timeout, 3000);
    assert.equal(opts('authorization { TIMEOUT: 0.25 }\n').auth_timeout, 250);
    assert.equal(opts('authorization { timeout: 0 }\n').auth_timeout, undefined);
    assertAt(failure('authorization {\n  timeout: "2s"\n}\n'), 2, 12, /timeout must be a number of seconds/);
    assertAt(failure('authorization { timeout: -1 }\n'), 1, 26, /can not be negative/);
  });

  it('strips positions and resolves variables in kept blocks', () => {
    const hash = '$2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.xtiHyG';
    const { options } = load(`authorization {\n  PASS: ${hash}\n  users = [ {user: a, password: $PASS} ]\n}\n`);
    assert.deepEqual(options.authorization, { PASS: hash, users: [{ user: 'a', password: hash }] });
  });
});

describe('unknown and unsupported keys', () => {
  it('reports an unknown top-level key at the key, like nats-server', () => {
    const err = failure('port: 4222\n  xyz: 1\n');
    assertAt(err, 2, 3);
    assert.equal(err.problem, 'unknown field "xyz"');
    assert.equal(err.message, 'test.conf:2:3: unknown field "xyz"');
  });

  it('accepts unknown keys that are used as variables', () => {
    assert.deepEqual(load('MY_PORT = 4444\nport: $MY_PORT\n'), { options: { port: 4444 }, warnings: [] });
  });

  it('still reports unused variable-like keys', () => {
    assertAt(failure('UNUSED = 1\n'), 1, 1, /unknown field "UNUSED"/);
  });

  it('can report unknown keys as warnings for embedders', () => {
    const r = optionsFromConfigText('port: 1\nxyz: 2\n', 'test.conf', { allowUnknownFields: true });
    assert.deepEqual(r, { options: { port: 1 }, warnings: ['test.conf:2:1: unknown field "xyz" ignored'] });
  });

  it('matches top-level keys case-insensitively', () => {
    assert.deepEqual(opts('PORT: 4222\nMax_Payload: 1KB\n'), { port: 4222, max_payload: 1024 });
  });

  it('refuses known nats-server keys that Natter does not support, unless they ask for nothing', () => {
    const err = failure('max_closed_clients: 10\nprof_port: 6060\n');
    assert.deepEqual(err.message.split('\n'), [
      'test.conf:1:1: "max_closed_clients" (a closed connections limit other than 10000) is not supported by this Natter version; remove it or set it to 10000',
      'test.conf:2:1: "prof_port" (the Go profiling port) is not supported by this Natter version; remove it or set it to 0',
    ]);
    assert.deepEqual(load('max_closed_clients: 10000\nprof_port: 0\nno_fast_producer_stall: false\nmappings {}\n'), { options: {}, warnings: [] });
  });

  it('reads server_tags as nats-server does: one string or a list, trimmed and lower-cased', () => {
    assert.deepEqual(opts('server_tags: [" Az:1 ", b, b]\n'), { server_tags: ['az:1', 'b'] });
    assert.deepEqual(opts('server_tags: "x"\n'), { server_tags: ['x'] });
  });

  it('knows every key nats-server 2.10 handles at the top level', () => {
    const v210 = [
      'listen', 'client_advertise', 'port', 'server_name', 'host', 'net', 'debug', 'trace', 'trace_verbose',
      'logtime', 'logtime_utc', 'mappings', 'maps', 'disable_sublist_cache', 'no_sublist_cache', 'accounts',
      'authorization', 'http', 'https', 'http_port', 'monitor_port', 'https_port', 'http_base_path', 'cluster',
      'gateway', 'leaf', 'leafnodes', 'store_dir', 'storedir', 'jetstream', 'logfile', 'log_file',
      'logfile_size_limit', 'log_size_limit', 'logfile_max_num', 'log_max_num', 'syslog', 'remote_syslog',
      'pidfile', 'pid_file', 'ports_file_dir', 'prof_port', 'prof_block_rate', 'max_control_line', 'max_payload',
      'max_pending', 'max_connections', 'max_conn', 'max_traced_msg_len', 'max_subscriptions', 'max_subs',
      'max_sub_tokens', 'max_subscription_tokens', 'ping_interval', 'ping_max', 'tls', 'ocsp', 'allow_non_tls',
      'write_deadline', 'lame_duck_duration', 'lame_duck_grace_period', 'operator', 'operators', 'roots', 'root',
      'root_operators', 'root_operator', 'resolver', 'account_resolver', 'accounts_resolver', 'resolver_tls',
      'resolver_preload', 'resolver_pinned_accounts', 'no_auth_user', 'system_account', 'system',
      'no_system_account', 'no_system', 'no_sys_acc', 'no_header_support', 'trusted', 'trusted_keys',
      'connect_error_reports', 'reconnect_error_reports', 'websocket', 'ws', 'mqtt', 'server_tags',
      'default_js_domain', 'ocsp_cache', 'no_fast_producer_stall', 'max_closed_clients',
    ];
    for (const k of v210) assert.ok(KNOWN_TOP_LEVEL_KEYS.has(k), k);
  });
});

describe('error collection', () => {
  it('reports every problem, in source order, first one as the thrown position', () => {
    const err = failure('port: "abc"\nxyz: 1\n  debug = 1\nmax_payload: -1\n');
    assertAt(err, 1, 7, /port must be an integer/);
    assert.deepEqual(
      err.errors.map((e) => `${e.line}:${e.col}`),
      ['1:7', '2:1', '3:11', '4:14'],
    );
    assert.equal(err.message.split('\n').length, 4);
    assert.match(err.message, /^test\.conf:1:7: port must be an integer, got string "abc"\ntest\.conf:2:1: unknown field "xyz"\n/);
  });

  it('points type errors of values reached through variables at the reference', () => {
    assertAt(failure('N = "x"\n\nport: $N\n'), 3, 7, /port must be an integer/);
  });

  it('reports type errors of environment values at the reference', () => {
    assertAt(failure('port: $P\n', { P: 'abc' }), 1, 7, /got string "abc"/);
  });
});

describe('loadConfigFile', () => {
  it('loads a file and its includes, and overlays onto defaults', () => {
    tmp.write('inc/limits.conf', 'max_payload: 4MB\n');
    const file = tmp.write('main.conf', 'port: 4999\ninclude "inc/limits.conf"\ndebug: true\n');
    const { options, warnings } = loadConfigFile(file);
    assert.deepEqual(options, { port: 4999, max_payload: 4 * 1024 ** 2, debug: true });
    assert.deepEqual(warnings, []);
    const resolved = resolveOptions(options);
    assert.equal(resolved.port, 4999);
    assert.equal(resolved.max_control_line, DEFAULT_OPTIONS.max_control_line);
  });

  it('names the file in errors', () => {
    const file = tmp.write('bad.conf', '\n\nport = yes\n');
    const err = configError(() => loadConfigFile(file));
    assert.equal(err.file, file);
    assertAt(err, 3, 8, /port must be an integer, got boolean true/);
    assert.ok(err.message.startsWith(`${file}:3:8: `));
  });

  it('reports a missing file as a ConfigError', () => {
    const err = configError(() => loadConfigFile(`${tmp.dir}/missing.conf`));
    assert.match(err.problem, /error opening config file/);
  });
});
