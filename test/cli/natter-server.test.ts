/**
 * The compiled `natter-server` command, run as a child process the way test
 * harnesses and service managers run nats-server.
 *
 * These tests only ever signal processes they spawned, by pid: other
 * natter-servers may be running on the same machine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NATTER_VERSION, SERVER_VERSION } from '../../src/server/version.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.resolve(here, '../../src/cli/natter-server.js');

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'natter-cli-'));
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 10000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A spawned server with its stderr collected. */
class Running {
  readonly child: ChildProcess;
  stderr = '';
  stdout = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stderr?.setEncoding('utf8').on('data', (s: string) => { this.stderr += s; });
    this.child.stdout?.setEncoding('utf8').on('data', (s: string) => { this.stdout += s; });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.child.pid as number;
  }

  async waitForLog(re: RegExp, timeoutMs = 10000): Promise<string> {
    return waitFor(`log ${re}`, () => re.exec(this.stderr)?.[0], timeoutMs);
  }

  /** Last resort so a failed assertion does not leave a server behind. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

const LINE = (pid: number, level: string, msg: string): RegExp =>
  new RegExp(`^\\[${pid}\\] \\d{4}/\\d{2}/\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{6} \\[${level}\\] ${msg}$`, 'm');

function readInfo(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      if (buf.includes('\r\n')) {
        s.destroy();
        resolve(buf.slice(0, buf.indexOf('\r\n')));
      }
    });
    s.on('error', reject);
  });
}

test('--version prints the nats-server feature level, then Natter\'s version', () => {
  for (const flag of ['-v', '--version', 'version']) {
    const r = run([flag]);
    assert.equal(r.status, 0);
    assert.equal(r.stdout, `nats-server: v${SERVER_VERSION}\nnatter-server: v${NATTER_VERSION}\n`);
    assert.equal(r.stderr, '');
  }
});

test('-h prints the usage on stdout', () => {
  const r = run(['-h']);
  assert.equal(r.status, 0);
  assert.ok(r.stdout.startsWith('\nUsage: natter-server [options]\n\nServer Options:\n'));
  assert.ok(r.stdout.endsWith('TLS help\n\n'));
  assert.equal(r.stderr, '');
});

test('an unknown flag prints Go\'s message and the usage, exit 1', () => {
  const r = run(['--bogus']);
  assert.equal(r.status, 1);
  assert.ok(r.stderr.startsWith('flag provided but not defined: -bogus\n\nUsage: natter-server [options]\n'), r.stderr);
  assert.equal(r.stdout, '');
  const bad = run(['-p', 'abc']);
  assert.equal(bad.status, 1);
  assert.ok(bad.stderr.startsWith('invalid value "abc" for flag -p: parse error\n'));
});

test('other command line errors: "nats-server: <problem>", exit 1', () => {
  const cases: Array<[string[], string]> = [
    [['foo'], 'nats-server: unrecognized command: "foo"\n'],
    [['-t'], 'nats-server: must specify [-c, --config] option to check configuration file syntax\n'],
    [['--routes', 'nats://127.0.0.1:1'], 'nats-server: solicited routes require cluster capabilities, e.g. --cluster\n'],
    [['--tls'], 'nats-server: TLS Server certificate must be present and valid\n'],
    [['--signal', 'foo=1'], 'nats-server: unknown signal "foo"\n'],
    [['--signal', 'reload=abc'], 'nats-server: invalid pid: abc\n'],
  ];
  for (const [args, stderr] of cases) {
    const r = run(args);
    assert.equal(r.status, 1, args.join(' '));
    assert.equal(r.stderr, stderr, args.join(' '));
  }
});

test('--signal to a pid file of a process that is gone', () => {
  const dir = tmpdir();
  const pidFile = path.join(dir, 'gone.pid');
  // A child that has exited: its pid is not in use right after.
  const dead = spawnSync(process.execPath, ['-e', '0']);
  fs.writeFileSync(pidFile, String(dead.pid));
  const r = run(['--signal', `quit=${pidFile}`]);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, 'nats-server: no such process\n');
});

test('-t checks a config file', () => {
  const dir = tmpdir();
  const good = path.join(dir, 'good.conf');
  fs.writeFileSync(good, 'port: 4222\ndebug: true\n');
  const ok = run(['-t', '-c', good]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stderr, `nats-server: configuration file ${good} is valid\n`);
  assert.equal(ok.stdout, '');

  const bad = path.join(dir, 'bad.conf');
  fs.writeFileSync(bad, 'port: 4222\nbogus_key: 1\n');
  const r = run(['-t', '-c', bad]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`^nats-server: ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2:\\d+: `));
});

test('ports file names the cluster listener too, written only once every listener is bound', async () => {
  // The official nats.js test launcher reads the route port from here ("no cluster port on server" otherwise).
  const dir = tmpdir();
  const srv = new Running(['-a', '127.0.0.1', '-p', '-1', '-m', '-1', '--cluster', 'nats://127.0.0.1:-1', '--ports_file_dir', dir]);
  try {
    const portsFile = path.join(dir, `nats-server_${srv.pid}.ports`);
    const ports = await waitFor('ports file', () => (fs.existsSync(portsFile) ? fs.readFileSync(portsFile, 'utf8') : undefined));
    // nats-server 2.9.10 writes {"nats":[...],"monitoring":[...],"cluster":["nats://127.0.0.1:<port>"]}.
    assert.match(ports, /^\{"nats":\["nats:\/\/127\.0\.0\.1:\d+"\],"monitoring":\["http:\/\/127\.0\.0\.1:\d+"\],"cluster":\["nats:\/\/127\.0\.0\.1:\d+"\]\}$/);
    const routePort = Number(new URL((JSON.parse(ports) as { cluster: string[] }).cluster[0] as string).port);
    // The route listener is already accepting when the file appears: it greets with INFO.
    assert.match(await readInfo(routePort), /^INFO \{.*"server_id"/);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.partial')), []);
  } finally {
    srv.kill();
  }
});

test('runs: ports file, pid file, reload, reopen, SIGTERM exit 0 and clean-up', async () => {
  const dir = tmpdir();
  const pidFile = path.join(dir, 'pid');
  const conf = path.join(dir, 'n.conf');
  fs.writeFileSync(conf, 'debug: false\n');
  const srv = new Running(['-c', conf, '-a', '127.0.0.1', '-p', '-1', '-m', '-1', '--ports_file_dir', dir, '-P', pidFile]);
  try {
    const portsFile = path.join(dir, `nats-server_${srv.pid}.ports`);
    const ports = await waitFor('ports file', () => (fs.existsSync(portsFile) ? fs.readFileSync(portsFile, 'utf8') : undefined));
    // nats-server's JSON: compact, "nats" then "monitoring".
    assert.match(ports, /^\{"nats":\["nats:\/\/127\.0\.0\.1:\d+"(,"[^"]+")*\],"monitoring":\["http:\/\/127\.0\.0\.1:\d+"(,"[^"]+")*\]\}$/);
    const parsed = JSON.parse(ports) as { nats: string[]; monitoring: string[] };
    const natsPort = Number(new URL(parsed.nats[0] as string).port);
    assert.notEqual(natsPort, 4222);
    assert.match(await readInfo(natsPort), /^INFO \{.*"port":\d+/);

    assert.equal(fs.readFileSync(pidFile, 'utf8'), String(srv.pid));
    await srv.waitForLog(LINE(srv.pid, 'INF', 'Server is ready'));

    // SIGHUP re-reads the file: debug on.
    fs.writeFileSync(conf, 'debug: true\n');
    srv.child.kill('SIGHUP');
    await srv.waitForLog(/\[INF\] Reloaded server configuration$/m);
    srv.child.kill('SIGUSR1');
    await srv.waitForLog(LINE(srv.pid, 'DBG', 'Trapped "user defined signal 1" signal'));
    await srv.waitForLog(LINE(srv.pid, 'INF', 'File log re-open ignored, not a file logger'));

    // A change that needs a restart is refused and the server keeps running.
    fs.writeFileSync(conf, 'debug: true\nserver_name: other\n');
    srv.child.kill('SIGHUP');
    await srv.waitForLog(LINE(srv.pid, 'ERR', 'Failed to reload server configuration: .+'));
    assert.match(await readInfo(natsPort), /^INFO /);

    srv.child.kill('SIGTERM');
    const exit = await srv.exited;
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.match(srv.stderr, LINE(srv.pid, 'DBG', 'Trapped "terminated" signal'));
    assert.match(srv.stderr, LINE(srv.pid, 'INF', 'Server Exiting\\.\\.'));
    assert.equal(fs.existsSync(portsFile), false);
    assert.equal(fs.existsSync(pidFile), false);
    assert.equal(srv.stdout, '');
  } finally {
    srv.kill();
  }
});

test('SIGHUP without a config file is an error that keeps the server running', async () => {
  const srv = new Running(['-a', '127.0.0.1', '-p', '-1', '--logtime=false']);
  try {
    await srv.waitForLog(/^\[\d+\] \[INF\] Server is ready$/m);
    srv.child.kill('SIGHUP');
    await srv.waitForLog(new RegExp(`^\\[${srv.pid}\\] \\[ERR\\] Failed to reload server configuration: can only reload config when a file is provided using -c or --config$`, 'm'));
    srv.child.kill('SIGINT');
    assert.deepEqual(await srv.exited, { code: 0, signal: null });
    // --logtime=false: no timestamps anywhere.
    for (const line of srv.stderr.split('\n').filter((l) => l !== '')) assert.match(line, /^\[\d+\] \[(INF|WRN|ERR|DBG)\] /, line);
  } finally {
    srv.kill();
  }
});

test('--signal stop=<pidfile> kills the server (SIGKILL, as nats-server)', async () => {
  const dir = tmpdir();
  const pidFile = path.join(dir, 'pid');
  const srv = new Running(['-a', '127.0.0.1', '-p', '-1', '-P', pidFile]);
  try {
    await srv.waitForLog(/\[INF\] Server is ready$/m);
    await waitFor('pid file', () => (fs.existsSync(pidFile) ? true : undefined));
    const r = run(['--signal', `stop=${pidFile}`]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.deepEqual(await srv.exited, { code: null, signal: 'SIGKILL' });
  } finally {
    srv.kill();
  }
});

test('--signal quit/reopen/ldm with a pid', async () => {
  const dir = tmpdir();
  const log = path.join(dir, 'n.log');
  const conf = path.join(dir, 'ldm.conf');
  fs.writeFileSync(conf, 'lame_duck_duration: "30s"\nlame_duck_grace_period: "100ms"\n');
  const srv = new Running(['-c', conf, '-a', '127.0.0.1', '-p', '-1', '-l', log, '-D']);
  try {
    const ready = (): true | undefined => (fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('Server is ready') ? true : undefined);
    await waitFor('ready in log file', ready);
    assert.equal(srv.stderr, '', 'with -l nothing goes to stderr');
    fs.renameSync(log, `${log}.old`);
    assert.equal(run(['-sl', `reopen=${srv.pid}`]).status, 0);
    await waitFor('reopened', () => (fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('[INF] File log re-opened') ? true : undefined));
    assert.match(fs.readFileSync(`${log}.old`, 'utf8'), LINE(srv.pid, 'INF', 'Server is ready'));

    assert.equal(run(['--signal', `ldm=${srv.pid}`]).status, 0);
    assert.deepEqual(await srv.exited, { code: 0, signal: null });
    const text = fs.readFileSync(log, 'utf8');
    assert.match(text, LINE(srv.pid, 'DBG', 'Trapped "user defined signal 2" signal'));
    assert.match(text, LINE(srv.pid, 'INF', 'Entering lame duck mode, stop accepting new clients'));
    assert.match(text, LINE(srv.pid, 'INF', 'Server Exiting\\.\\.'));
  } finally {
    srv.kill();
  }

  const quit = new Running(['-a', '127.0.0.1', '-p', '-1']);
  try {
    await quit.waitForLog(/\[INF\] Server is ready$/m);
    assert.equal(run(['-sl', `quit=${quit.pid}`]).status, 0);
    assert.deepEqual(await quit.exited, { code: 0, signal: null });
  } finally {
    quit.kill();
  }
});

test('a port that cannot be bound: FTL line in nats-server wording, exit 1, pid file removed', async () => {
  const dir = tmpdir();
  const pidFile = path.join(dir, 'pid');
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const srv = new Running(['-a', '127.0.0.1', '-p', String(port), '-P', pidFile]);
    const exit = await srv.exited;
    assert.deepEqual(exit, { code: 1, signal: null });
    assert.match(
      srv.stderr,
      LINE(srv.pid, 'FTL', `Error listening on port: 127\\.0\\.0\\.1:${port}, "listen tcp 127\\.0\\.0\\.1:${port}: bind: address already in use"`),
    );
    assert.equal(fs.existsSync(pidFile), false);
  } finally {
    blocker.close();
  }
});

test('an unopenable log file stops start-up like Go\'s log.Fatalf', () => {
  const r = run(['-p', '-1', '-l', '/nonexistent-dir/x.log']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2} error opening file: open \/nonexistent-dir\/x\.log: no such file or directory\n$/);
});
