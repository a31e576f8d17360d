import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findServerPids, isServerCommandLine, sendSignal } from '../../src/cli/signal.js';

/** Records kills instead of sending them: these tests must never signal real processes. */
function recorder(pids: number[] = [], fail?: NodeJS.ErrnoException) {
  const sent: Array<[number, NodeJS.Signals]> = [];
  return {
    sent,
    deps: {
      findPids: (): number[] => pids,
      kill: (pid: number, sig: NodeJS.Signals): void => {
        if (fail !== undefined) throw fail;
        sent.push([pid, sig]);
      },
    },
  };
}

function errno(code: string): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`kill ${code}`);
  e.code = code;
  return e;
}

test('commands map to the signals nats-server sends', () => {
  const expected: Record<string, NodeJS.Signals> = {
    stop: 'SIGKILL', quit: 'SIGINT', reopen: 'SIGUSR1', reload: 'SIGHUP', ldm: 'SIGUSR2', term: 'SIGTERM',
  };
  for (const [cmd, sig] of Object.entries(expected)) {
    const r = recorder();
    sendSignal(`${cmd}=123`, r.deps);
    assert.deepEqual(r.sent, [[123, sig]]);
  }
});

test('a pid file is read for the pid', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'natter-sig-'));
  const pidFile = path.join(dir, 'x.pid');
  fs.writeFileSync(pidFile, '4567\n');
  const r = recorder();
  sendSignal(`reload=${pidFile}`, r.deps);
  assert.deepEqual(r.sent, [[4567, 'SIGHUP']]);
});

test('without a pid: the single running server, or an error', () => {
  const one = recorder([77]);
  sendSignal('reopen', one.deps);
  assert.deepEqual(one.sent, [[77, 'SIGUSR1']]);
  assert.throws(() => sendSignal('reload', recorder([]).deps), { message: 'no natter-server processes running' });
  assert.throws(() => sendSignal('reload', recorder([10, 11]).deps), { message: 'multiple natter-server processes running:\n10\n11' });
});

test('a pid prefix ending in * signals every match', () => {
  const r = recorder([120, 121, 130]);
  sendSignal('quit=12*', r.deps);
  assert.deepEqual(r.sent, [[120, 'SIGINT'], [121, 'SIGINT']]);
});

test('bad input and failures have nats-server wording', () => {
  assert.throws(() => sendSignal('foo=1', recorder().deps), { message: 'unknown signal "foo"' });
  assert.throws(() => sendSignal('reload=abc', recorder().deps), { message: 'invalid pid: abc' });
  assert.throws(() => sendSignal('reload=1=2', recorder().deps), { message: 'invalid signal parameters: [2]' });
  assert.throws(() => sendSignal('reload=1=2=3', recorder().deps), { message: 'invalid signal parameters: [2 3]' });
  assert.throws(() => sendSignal('quit=99', recorder([], errno('ESRCH')).deps), { message: 'no such process' });
  assert.throws(() => sendSignal('quit=1', recorder([], errno('EPERM')).deps), { message: 'operation not permitted' });
  assert.throws(() => sendSignal('quit=9*', recorder([91, 92], errno('ESRCH')).deps), {
    message: 'signal "quit" 91: no such process\nsignal "quit" 92: no such process',
  });
});

test('recognises natter-server command lines', () => {
  assert.equal(isServerCommandLine(['/usr/bin/node', 'dist/src/cli/natter-server.js', '-p', '4222']), true);
  assert.equal(isServerCommandLine(['node', '--enable-source-maps', '/x/natter-server.js']), true);
  assert.equal(isServerCommandLine(['node', '/usr/lib/node_modules/.bin/natter-server']), true);
  assert.equal(isServerCommandLine(['/usr/local/bin/natter-server', '-c', 'a.conf']), true);
  assert.equal(isServerCommandLine(['node20', 'natter-server.js']), true);
  assert.equal(isServerCommandLine(['node', 'other.js', 'natter-server.js']), false);
  assert.equal(isServerCommandLine(['nats-server']), false);
  assert.equal(isServerCommandLine(['bash', '-c', 'natter-server']), false);
  assert.equal(isServerCommandLine([]), false);
});

test('findServerPids reads <proc>/<pid>/cmdline and skips this process', () => {
  const proc = fs.mkdtempSync(path.join(os.tmpdir(), 'natter-proc-'));
  const add = (pid: number, argv: string[]): void => {
    fs.mkdirSync(path.join(proc, String(pid)));
    fs.writeFileSync(path.join(proc, String(pid), 'cmdline'), `${argv.join('\0')}\0`);
  };
  add(10, ['node', 'dist/src/cli/natter-server.js', '-p', '-1']);
  add(11, ['node', 'something-else.js']);
  add(12, ['natter-server']);
  add(process.pid, ['node', 'natter-server.js']);
  fs.mkdirSync(path.join(proc, 'self'));
  fs.mkdirSync(path.join(proc, '13')); // no cmdline: exited meanwhile
  assert.deepEqual(findServerPids(proc), [10, 12]);
  assert.throws(() => findServerPids(path.join(proc, 'missing')), { message: 'unable to resolve pid, try providing one' });
});
