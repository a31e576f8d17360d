/**
 * `natter bench ...` with tiny counts against a JetStream Natter: every
 * benchmark runs to the end and its `--json` report adds up; `--csv` and the
 * table are well formed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startJsNatter, type JsServer } from '../../helpers/jetstream.js';
import { isOneLineError, runCli, startCli, ToolHome, type CliResult } from './run.js';
import type { BenchReport } from '../../../src/cli/tool/bench-report.js';

function report(r: CliResult): BenchReport {
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as BenchReport;
}

function group(rep: BenchReport, role: string): BenchReport['groups'][number] {
  const g = rep.groups.find((x) => x.role === role);
  assert.ok(g, `no ${role} group in ${JSON.stringify(rep)}`);
  return g;
}

describe('natter bench', () => {
  const home = new ToolHome();
  let js: JsServer;
  let s: string[];
  before(async () => {
    js = await startJsNatter();
    s = ['-s', js.srv.url];
  });
  after(async () => {
    await js.stop();
    home.remove();
  });

  it('pub, pubsub and request report counts, rates and latencies', async () => {
    const [pub, pubsub, request] = await Promise.all([
      runCli(home, ['bench', 'pub', 'b.pub', '--msgs', '2000', '--size', '64', '--clients', '2', '--json', ...s]),
      runCli(home, ['bench', 'pubsub', 'b.pubsub', '--msgs', '1000', '--subs', '2', '--json', ...s]),
      runCli(home, ['bench', 'request', 'b.req', '--msgs', '200', '--clients', '2', '--json', ...s]),
    ]);
    const p = group(report(pub), 'pub');
    assert.deepEqual([p.clients, p.msgs, p.bytes], [2, 2000, 2000 * 64]);
    assert.deepEqual(p.per_client.map((c) => c.msgs), [1000, 1000]);
    assert.ok(p.msgs_per_sec > 0 && p.duration_ms > 0);
    const ps = report(pubsub);
    assert.equal(group(ps, 'pub').msgs, 1000);
    const subs = group(ps, 'sub');
    assert.deepEqual([subs.clients, subs.msgs], [2, 2000], 'every subscriber got every message');
    const rq = group(report(request), 'request');
    assert.equal(rq.msgs, 200);
    assert.ok(rq.latency_us && rq.latency_us.min <= rq.latency_us.p50 && rq.latency_us.p50 <= rq.latency_us.max);
  });

  it('sub and reply measure what another process sends', async () => {
    const sub = startCli(home, ['bench', 'sub', 'b.ext', '--msgs', '500', '--json', ...s]);
    const reply = startCli(home, ['bench', 'reply', 'b.svc', '--msgs', '50', '--json', ...s]);
    await Promise.all([sub.waitForStderr(/Waiting for 500 messages/), reply.waitForStderr(/Answering 50 requests/)]);
    const [pub, req] = await Promise.all([
      runCli(home, ['bench', 'pub', 'b.ext', '--msgs', '500', '--json', ...s]),
      runCli(home, ['bench', 'request', 'b.svc', '--msgs', '50', '--serve', '0', '--json', ...s]),
    ]);
    assert.equal(report(pub).groups[0].msgs, 500);
    assert.equal(report(req).groups[0].msgs, 50);
    assert.equal(group(report(await sub.result), 'sub').msgs, 500);
    assert.equal(group(report(await reply.result), 'reply').msgs, 50);
  });

  it('js-pub then js-consume, kv-put then kv-get', async () => {
    const jsPub = report(await runCli(home, ['bench', 'js-pub', 'bench.js', '--msgs', '300', '--clients', '2', '--storage', 'memory', '--json', ...s]));
    assert.equal(group(jsPub, 'js-pub').msgs, 300);
    const stream = JSON.parse((await runCli(home, ['stream', 'info', 'natter-bench', '--json', ...s])).stdout) as { state: { messages: number } };
    assert.equal(stream.state.messages, 300);
    const consume = report(await runCli(home, ['bench', 'js-consume', '--msgs', '300', '--clients', '2', '--json', ...s]));
    assert.equal(group(consume, 'js-consume').msgs, 300);
    const put = report(await runCli(home, ['bench', 'kv-put', '--msgs', '100', '--keys', '10', '--json', ...s]));
    assert.equal(group(put, 'kv-put').msgs, 100);
    const get = report(await runCli(home, ['bench', 'kv-get', '--msgs', '100', '--keys', '10', '--json', ...s]));
    const g = group(get, 'kv-get');
    assert.equal(g.msgs, 100);
    assert.equal(g.bytes, 100 * 128, 'every get found the value kv-put wrote');
  });

  it('--csv and the table; bad numbers are one-line errors', async () => {
    const [csv, table, bad, empty] = await Promise.all([
      runCli(home, ['bench', 'pub', 'b.csv', '--msgs', '100', '--clients', '2', '--csv', ...s]),
      runCli(home, ['bench', 'pub', 'b.tbl', '--msgs', '100', ...s]),
      runCli(home, ['bench', 'pub', 'b.bad', '--msgs', '0', ...s]),
      runCli(home, ['bench', 'js-consume', '--stream', 'EMPTY_NONE', ...s]),
    ]);
    assert.equal(csv.code, 0, csv.stderr);
    const rows = csv.stdout.trim().split('\n').map((l) => l.split(','));
    assert.deepEqual(rows[0], ['benchmark', 'role', 'client', 'msgs', 'bytes', 'duration_ms', 'msgs_per_sec', 'bytes_per_sec']);
    assert.deepEqual(rows.slice(1).map((r) => [r[1], r[2], r[3]]), [['pub', '1', '50'], ['pub', '2', '50'], ['pub', 'all', '100']]);
    assert.match(table.stdout, /^Role +Client +Msgs +Time +Msgs\/sec +Throughput$/m);
    assert.match(table.stdout, /^pub +all +100 /m);
    assert.ok(isOneLineError(bad), bad.stderr);
    assert.ok(isOneLineError(empty), empty.stderr);
    assert.match(empty.stderr, /stream not found/);
  });
});
