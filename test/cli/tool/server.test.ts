/**
 * `natter server info|ping|list|check`: the `$SYS` views with a system
 * account user, and the check's Nagios exit codes (0 OK, 1 WARNING,
 * 2 CRITICAL, 3 UNKNOWN) with one status line each.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../../helpers/ports.js';
import { startJsNatter, type JsServer } from '../../helpers/jetstream.js';
import { runCli, ToolHome, type CliResult } from './run.js';

function json<T>(r: CliResult): T {
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

/** The check printed exactly one status line starting with `status` and exited with `code`. */
function assertCheck(r: CliResult, status: string, code: number): void {
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stdout);
  assert.ok(lines[0].startsWith(`${status} `), `${status} expected: ${r.stdout}${r.stderr}`);
  assert.equal(r.code, code, r.stdout + r.stderr);
}

describe('natter server', () => {
  const home = new ToolHome();
  let js: JsServer;
  let app: string[];
  let sys: string[];
  before(async () => {
    js = await startJsNatter({
      server_name: 'tool-test',
      system_account: 'SYS',
      accounts: {
        APP: { jetstream: 'enabled', users: [{ user: 'app', password: 'pw' }] },
        SYS: { users: [{ user: 'sys', password: 'pw' }] },
      },
    });
    app = ['-s', js.srv.url, '--user', 'app', '--password', 'pw'];
    sys = ['-s', js.srv.url, '--user', 'sys', '--password', 'pw'];
  });
  after(async () => {
    await js.stop();
    home.remove();
  });

  it('server info: VARZ for a system user, the INFO for anyone else', async () => {
    const [asSys, asApp, text] = await Promise.all([
      runCli(home, ['server', 'info', '--json', ...sys]),
      runCli(home, ['server', 'info', '--json', ...app]),
      runCli(home, ['server', 'info', ...app]),
    ]);
    const varz = json<{ server_name: string; connections: number; jetstream: unknown }>(asSys);
    assert.equal(varz.server_name, 'tool-test');
    assert.equal(typeof varz.connections, 'number');
    const info = json<{ server_name: string; client_id: number; headers: boolean }>(asApp);
    assert.equal(info.server_name, 'tool-test');
    assert.equal(typeof info.client_id, 'number');
    assert.match(text.stdout, /Server information for tool-test/);
  });

  it('server ping and list ask $SYS.REQ.SERVER.PING; without a system user they say why', async () => {
    const [ping, list, table, denied] = await Promise.all([
      runCli(home, ['server', 'ping', '--json', ...sys]),
      runCli(home, ['server', 'list', '--json', '--expect', '1', ...sys]),
      runCli(home, ['server', 'list', '--expect', '1', ...sys]),
      runCli(home, ['server', 'list', ...app]),
    ]);
    const pings = json<Array<{ name: string; rtt_ms: number }>>(ping);
    assert.deepEqual(pings.map((p) => p.name), ['tool-test']);
    const servers = json<Array<{ server: { name: string; jetstream: boolean }; statsz: { connections: number } }>>(list);
    assert.equal(servers[0].server.name, 'tool-test');
    assert.ok(servers[0].statsz.connections >= 1);
    assert.match(table.stdout, /^Name +Cluster +Host/m);
    assert.match(table.stdout, /^tool-test /m);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /needs a user of the system account/);
  });

  it('server check connection: OK 0, WARNING 1, CRITICAL 2, UNKNOWN 3', async () => {
    const closed = await freePort();
    const [ok, warn, crit, unknownKind, badFlag, authFail] = await Promise.all([
      runCli(home, ['server', 'check', 'connection', ...app]),
      runCli(home, ['server', 'check', 'connection', '--rtt-warn', '0ms', ...app]),
      runCli(home, ['server', 'check', '-s', `nats://127.0.0.1:${closed}`]),
      runCli(home, ['server', 'check', 'teapot', ...app]),
      runCli(home, ['server', 'check', '--no-such', ...app]),
      runCli(home, ['server', 'check', '-s', js.srv.url, '--user', 'app', '--password', 'nope']),
    ]);
    assertCheck(ok, 'OK', 0);
    assert.match(ok.stdout, /OK Connection OK:connected to .* \| connect_time=[\d.]+s;0\.5000;1\.0000 rtt=[\d.]+s;0\.5000;1\.0000 request_time=/);
    assertCheck(warn, 'WARNING', 1);
    assert.match(warn.stdout, /Warn:rtt time/);
    assertCheck(crit, 'CRITICAL', 2);
    assert.match(crit.stdout, /Crit:connection failed: cannot connect/);
    assertCheck(unknownKind, 'UNKNOWN', 3);
    assert.equal(badFlag.code, 3);
    assert.match(badFlag.stderr, /unknown flag --no-such/);
    assertCheck(authFail, 'CRITICAL', 2);
    assert.match(authFail.stdout, /authorization violation/);
  });

  it('server check jetstream and stream', async () => {
    assert.equal((await runCli(home, ['stream', 'add', 'CHK', '--subjects', 'chk', ...app])).code, 0);
    assert.equal((await runCli(home, ['pub', 'chk', 'x', '--count', '3', ...app])).code, 0);
    const [jsOk, streamOk, streamWarn, streamCrit, missing] = await Promise.all([
      runCli(home, ['server', 'check', 'jetstream', ...app]),
      runCli(home, ['server', 'check', 'stream', '--stream', 'CHK', '--msgs-warn', '2', ...app]),
      runCli(home, ['server', 'check', 'stream', '--stream', 'CHK', '--msgs-warn', '5', ...app]),
      runCli(home, ['server', 'check', 'stream', '--stream', 'CHK', '--msgs-critical', '10', ...app]),
      runCli(home, ['server', 'check', 'stream', '--stream', 'NOPE', ...app]),
    ]);
    assertCheck(jsOk, 'OK', 0);
    assert.match(jsOk.stdout, /OK:1 streams, 0 consumers/);
    assertCheck(streamOk, 'OK', 0);
    assert.match(streamOk.stdout, /messages=3;2;/);
    assertCheck(streamWarn, 'WARNING', 1);
    assertCheck(streamCrit, 'CRITICAL', 2);
    assertCheck(missing, 'CRITICAL', 2);
    assert.match(missing.stdout, /stream not found/);
  });
});
