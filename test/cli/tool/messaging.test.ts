/**
 * `natter pub|sub|req|reply` against a Natter started here, and how the
 * tool fails: unknown commands and flags, an unreachable server, wrong
 * credentials and permission violations each give one line on stderr and a
 * non-zero exit.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../../helpers/ports.js';
import { startNatter, type TestNatter } from '../../helpers/natter.js';
import { isOneLineError, runCli, startCli, ToolHome } from './run.js';

describe('natter pub, sub, req, reply', () => {
  const home = new ToolHome();
  let srv: TestNatter;
  let s: string[];
  before(async () => {
    srv = await startNatter({
      authorization: {
        users: [
          { user: 'app', password: 'pw' },
          { user: 'limited', password: 'pw', permissions: { publish: { deny: ['secret.>'] }, subscribe: { deny: ['secret.>'] } } },
        ],
      },
    });
    s = ['-s', srv.url, '--user', 'app', '--password', 'pw'];
  });
  after(async () => {
    await srv.close();
    home.remove();
  });

  it('pub renders templates and headers per message; sub shows them, with --count and --json', async () => {
    const sub = startCli(home, ['sub', 'demo.>', '--count', '3', '--json', ...s]);
    await sub.waitForStderr(/Subscribing on "demo.>"/);
    const pub = await runCli(home, ['pub', 'demo.x', 'n={{Count}} r={{Random 4 4}} t={{TimeStamp}}', '--count', '3', '-H', 'Seq:{{Count}}', '-H', 'Kind:test', ...s]);
    assert.equal(pub.code, 0, pub.stderr);
    assert.match(pub.stderr, /Published 3 messages/);
    const r = await sub.result;
    assert.equal(r.code, 0, r.stderr);
    const msgs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { subject: string; data: string; headers: Record<string, string[]> });
    assert.equal(msgs.length, 3);
    msgs.forEach((m, i) => {
      assert.equal(m.subject, 'demo.x');
      assert.match(m.data, new RegExp(`^n=${i + 1} r=[A-Za-z0-9]{4} t=\\d{4}-\\d\\d-\\d\\dT`));
      assert.deepEqual(m.headers, { Seq: [String(i + 1)], Kind: ['test'] });
    });
  });

  it('sub --raw prints bodies only; a queue group shares the messages; pub reads stdin without a body', async () => {
    const a = startCli(home, ['sub', 'q.work', '--queue', 'workers', '--raw', ...s]);
    const b = startCli(home, ['sub', 'q.work', '--queue', 'workers', '--raw', ...s]);
    await Promise.all([a.waitForStderr(/queue group "workers"/), b.waitForStderr(/queue group "workers"/)]);
    const pub = await runCli(home, ['pub', 'q.work', 'job {{Count}}', '--count', '20', ...s]);
    assert.equal(pub.code, 0, pub.stderr);
    const fromStdin = await runCli(home, ['pub', 'q.work', ...s], { input: 'from stdin' });
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    const lines = (): string[] => [...a.stdout().split('\n'), ...b.stdout().split('\n')].filter((l) => l !== '');
    const deadline = Date.now() + 5000;
    while (lines().length < 21 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    a.kill();
    b.kill();
    await Promise.all([a.result, b.result]);
    const got = lines().sort();
    assert.equal(got.length, 21, 'each message went to exactly one member of the group');
    assert.ok(got.includes('from stdin'));
    assert.ok(got.includes('job 20'));
  });

  it('reply echoes, answers with a template, or runs --command; req prints the answer', async () => {
    const echo = startCli(home, ['reply', 'svc.echo', '--count', '1', ...s]);
    const tmpl = startCli(home, ['reply', 'svc.tmpl', 'answer #{{Count}} to {{Request}}', '--count', '1', ...s]);
    const cmd = startCli(home, ['reply', 'svc.cmd', '--command', 'tr a-z A-Z', '--count', '1', ...s]);
    await Promise.all([echo, tmpl, cmd].map((c) => c.waitForStderr(/Listening on/)));
    const [r1, r2, r3] = await Promise.all([
      runCli(home, ['req', 'svc.echo', 'ping', '-H', 'X-Trace:1', '--json', ...s]),
      runCli(home, ['req', 'svc.tmpl', 'question', '--raw', ...s]),
      runCli(home, ['req', 'svc.cmd', 'shout this', '--raw', ...s]),
    ]);
    assert.equal(r1.code, 0, r1.stderr);
    const echoed = JSON.parse(r1.stdout) as { data: string; headers: Record<string, string[]> };
    assert.equal(echoed.data, 'ping');
    assert.deepEqual(echoed.headers, { 'X-Trace': ['1'] });
    assert.equal(r2.stdout.trim(), 'answer #1 to question');
    assert.equal(r3.stdout.trim(), 'SHOUT THIS');
    for (const c of [echo, tmpl, cmd]) assert.equal((await c.result).code, 0);
  });

  it('req with nobody listening names the subject', async () => {
    const r = await runCli(home, ['req', 'nobody.home', 'x', ...s]);
    assert.ok(isOneLineError(r), r.stderr);
    assert.match(r.stderr, /no responders on subject "nobody.home"/);
  });

  it('a permissions violation names the subject and the operation', async () => {
    const limited = ['-s', srv.url, '--user', 'limited', '--password', 'pw'];
    const [pub, sub] = await Promise.all([runCli(home, ['pub', 'secret.plans', 'x', ...limited]), runCli(home, ['sub', 'secret.>', ...limited])]);
    assert.ok(isOneLineError(pub), pub.stderr);
    assert.match(pub.stderr, /permissions violation: not allowed to publish to "secret.plans"/);
    assert.ok(isOneLineError(sub), sub.stderr);
    assert.match(sub.stderr, /permissions violation: not allowed to subscribe to "secret.>"/);
  });

  it('wrong credentials, an unreachable server, unknown commands and flags: one line, non-zero exit', async () => {
    const closed = await freePort();
    const cases = await Promise.all([
      runCli(home, ['pub', 'a', 'b', '-s', srv.url, '--user', 'app', '--password', 'wrong']),
      runCli(home, ['pub', 'a', 'b', '-s', `nats://127.0.0.1:${closed}`]),
      runCli(home, ['frobnicate']),
      runCli(home, ['stream', 'explode']),
      runCli(home, ['pub', 'a', '--no-such-flag', ...s]),
      runCli(home, ['pub', 'a', '--count', 'many', ...s]),
      runCli(home, ['pub', 'a', '{{Nope}}', ...s]),
      runCli(home, ['sub', ...s]),
    ]);
    for (const r of cases) assert.ok(isOneLineError(r), `expected one error line, got code ${r.code}:\n${r.stderr}`);
    assert.match(cases[0].stderr, /authorization violation/);
    assert.match(cases[1].stderr, new RegExp(`cannot connect to nats://127.0.0.1:${closed}`));
    assert.match(cases[2].stderr, /unknown command "frobnicate"/);
    assert.match(cases[3].stderr, /unknown command "stream explode"/);
    assert.match(cases[4].stderr, /unknown flag --no-such-flag/);
    assert.match(cases[5].stderr, /invalid value "many" for --count/);
    assert.match(cases[6].stderr, /unknown placeholder "Nope"/);
    assert.match(cases[7].stderr, /missing argument: <subject>/);
  });

  it('takes the server and credentials from NATS_URL, NATS_USER and NATS_PASSWORD', async () => {
    const env = { NATS_URL: srv.url, NATS_USER: 'app', NATS_PASSWORD: 'pw' };
    const sub = startCli(home, ['sub', 'env.test', '--count', '1', '--raw'], { env });
    await sub.waitForStderr(/Subscribing/);
    assert.equal((await runCli(home, ['pub', 'env.test', 'via env'], { env })).code, 0);
    assert.equal((await sub.result).stdout, 'via env\n');
  });

  it('sub rides out a server restart and says so on stderr', async () => {
    const port = await freePort();
    let restartable = await startNatter({ port });
    try {
      const sub = startCli(home, ['sub', 'restart.test', '--count', '1', '--raw', '-s', restartable.url]);
      await sub.waitForStderr(/Subscribing/);
      await restartable.close();
      await sub.waitForStderr(/Disconnected from .*, reconnecting/);
      restartable = await startNatter({ port });
      await sub.waitForStderr(/Reconnected to /, 15_000);
      assert.equal((await runCli(home, ['pub', 'restart.test', 'after restart', '-s', restartable.url])).code, 0);
      const r = await sub.result;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'after restart\n');
    } finally {
      await restartable.close();
    }
  });
});
