/**
 * The tool is a plain NATS client: the same commands, read-only ones
 * especially, give the same answers against nats-server 2.9.10 as against
 * Natter (each with JetStream and a system account).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeDir, startJsNatter, tempStoreDir } from '../../helpers/jetstream.js';
import { startNatsServer } from '../../helpers/nats-server.js';
import { runCli, startCli, ToolHome, type CliResult } from './run.js';

interface Running {
  readonly url: string;
  stop(): Promise<void>;
}

const ACCOUNTS = {
  APP: { jetstream: 'enabled', users: [{ user: 'app', password: 'pw' }] },
  SYS: { users: [{ user: 'sys', password: 'pw' }] },
};

const TARGETS: ReadonlyArray<{ name: string; start(): Promise<Running> }> = [
  {
    name: 'nats-server',
    async start() {
      const dir = tempStoreDir();
      const conf = `server_name: ref\nsystem_account: SYS\njetstream { store_dir: ${JSON.stringify(dir)} }\naccounts ${JSON.stringify(ACCOUNTS)}\n`;
      const s = await startNatsServer({ config: conf });
      return { url: s.url, stop: async () => (await s.stop(), removeDir(dir)) };
    },
  },
  {
    name: 'natter',
    async start() {
      const s = await startJsNatter({ server_name: 'ref', system_account: 'SYS', accounts: ACCOUNTS });
      return { url: s.srv.url, stop: () => s.stop() };
    },
  },
];

function ok(r: CliResult): string {
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

for (const target of TARGETS) {
  describe(`natter tool against ${target.name}`, () => {
    const home = new ToolHome();
    const files = mkdtempSync(join(tmpdir(), 'natter-tool-ref-'));
    let srv: Running;
    let app: string[];
    before(async () => {
      srv = await target.start();
      app = ['-s', srv.url, '--user', 'app', '--password', 'pw'];
      // Fill it with the tool's write commands.
      writeFileSync(join(files, 'doc.txt'), 'object body');
      const phases = [
        [['stream', 'add', 'REF', '--subjects', 'ref.>', '--storage', 'file'], ['kv', 'add', 'BK', '--history', '3'], ['obj', 'add', 'OB']],
        [['pub', 'ref.a', 'first'], ['kv', 'put', 'BK', 'k', 'one'], ['obj', 'put', 'OB', join(files, 'doc.txt')], ['consumer', 'add', 'REF', 'C', '--filter', 'ref.a']],
        [['pub', 'ref.b', 'second', '-H', 'K:v'], ['kv', 'put', 'BK', 'k', 'two']],
      ];
      for (const phase of phases) for (const r of await Promise.all(phase.map((cmd) => runCli(home, [...cmd, ...app])))) ok(r);
    });
    after(async () => {
      await srv.stop();
      home.remove();
      rmSync(files, { recursive: true, force: true });
    });

    it('sub and req', async () => {
      const sub = startCli(home, ['sub', 'core.ref', '--count', '1', '--raw', ...app]);
      const rep = startCli(home, ['reply', 'svc.ref', '--count', '1', ...app]);
      await Promise.all([sub.waitForStderr(/Subscribing/), rep.waitForStderr(/Listening/)]);
      ok(await runCli(home, ['pub', 'core.ref', 'hello', ...app]));
      assert.equal(ok(await runCli(home, ['req', 'svc.ref', 'echo me', '--raw', ...app])), 'echo me\n');
      assert.equal(ok(await sub.result), 'hello\n');
      ok(await rep.result);
    });

    it('stream, consumer, kv and obj reads', async () => {
      const [streams, info, msg, consumers, cinfo, kvGet, kvHist, kvKeys, kvStatus, objLs, objInfo, objGet] = await Promise.all([
        runCli(home, ['stream', 'ls', '--names', '--json', ...app]),
        runCli(home, ['stream', 'info', 'REF', '--json', ...app]),
        runCli(home, ['stream', 'get', 'REF', '2', '--json', ...app]),
        runCli(home, ['consumer', 'ls', 'REF', '--names', '--json', ...app]),
        runCli(home, ['consumer', 'info', 'REF', 'C', '--json', ...app]),
        runCli(home, ['kv', 'get', 'BK', 'k', '--raw', ...app]),
        runCli(home, ['kv', 'history', 'BK', 'k', '--json', ...app]),
        runCli(home, ['kv', 'ls', 'BK', '--json', ...app]),
        runCli(home, ['kv', 'status', 'BK', '--json', ...app]),
        runCli(home, ['obj', 'ls', 'OB', '--json', ...app]),
        runCli(home, ['obj', 'info', 'OB', 'doc.txt', '--json', ...app]),
        runCli(home, ['obj', 'get', 'OB', 'doc.txt', '-O', '-', ...app]),
      ]);
      assert.deepEqual(JSON.parse(ok(streams)), ['KV_BK', 'OBJ_OB', 'REF']);
      const si = JSON.parse(ok(info)) as { config: { subjects: string[] }; state: { messages: number } };
      assert.deepEqual([si.config.subjects, si.state.messages], [['ref.>'], 2]);
      const m = JSON.parse(ok(msg)) as { subject: string; data: string; headers: Record<string, string[]> };
      assert.deepEqual([m.subject, m.data, m.headers], ['ref.b', 'second', { K: ['v'] }]);
      assert.deepEqual(JSON.parse(ok(consumers)), ['C']);
      assert.equal((JSON.parse(ok(cinfo)) as { num_pending: number }).num_pending, 1);
      assert.equal(ok(kvGet), 'two');
      assert.deepEqual((JSON.parse(ok(kvHist)) as Array<{ value: string }>).map((e) => e.value), ['one', 'two']);
      assert.deepEqual(JSON.parse(ok(kvKeys)), ['k']);
      assert.equal((JSON.parse(ok(kvStatus)) as { history: number }).history, 3);
      assert.deepEqual((JSON.parse(ok(objLs)) as Array<{ name: string }>).map((o) => o.name), ['doc.txt']);
      assert.equal((JSON.parse(ok(objInfo)) as { size: number }).size, 'object body'.length);
      assert.equal(ok(objGet), 'object body');
    });

    it('server info, list and checks', async () => {
      const sys = ['-s', srv.url, '--user', 'sys', '--password', 'pw'];
      const [info, list, conn, jsCheck, streamCheck] = await Promise.all([
        runCli(home, ['server', 'info', '--json', ...sys]),
        runCli(home, ['server', 'list', '--json', '--expect', '1', ...sys]),
        runCli(home, ['server', 'check', 'connection', ...app]),
        runCli(home, ['server', 'check', 'jetstream', ...app]),
        runCli(home, ['server', 'check', 'stream', '--stream', 'REF', '--msgs-critical', '1', ...app]),
      ]);
      assert.equal((JSON.parse(ok(info)) as { server_name: string }).server_name, 'ref');
      const servers = JSON.parse(ok(list)) as Array<{ server: { name: string }; statsz: { connections: number } }>;
      assert.deepEqual(servers.map((x) => x.server.name), ['ref']);
      assert.match(ok(conn), /^OK Connection /);
      assert.match(ok(jsCheck), /^OK JetStream .*OK:3 streams, \d+ consumers/);
      assert.match(ok(streamCheck), /^OK Stream REF OK:2 messages/);
    });
  });
}
