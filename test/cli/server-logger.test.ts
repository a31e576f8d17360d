import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createLogger, rotatedName } from '../../src/log/server-logger.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const loggerModule = pathToFileURL(path.resolve(here, '../../src/log/server-logger.js')).href;

/** `[pid] 2006/01/02 15:04:05.000000 [LVL] message`, nats-server's file/stderr format. */
const TIMED = /^\[(\d+)\] (\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2})\.(\d{6}) \[(INF|WRN|ERR|FTL|DBG|TRC)\] (.*)$/;
const UNTIMED = /^\[(\d+)\] \[(INF|WRN|ERR|FTL|DBG|TRC)\] (.*)$/;

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'natter-log-'));
}

function lines(file: string): string[] {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
}

test('file output: timed format, all labels, append', () => {
  const dir = tmpdir();
  const file = path.join(dir, 'n.log');
  fs.writeFileSync(file, 'previous line\n');
  const log = createLogger({ debug: true, trace: true, logtime: true, logtime_utc: false, log_file: file, pid: 4242 });
  assert.equal(log.debugEnabled, true);
  assert.equal(log.traceEnabled, true);
  log.info('info line');
  log.warn('warn line');
  log.error('error line');
  log.debug('debug line');
  log.trace('trace line');
  log.fatal('fatal line');
  log.close();
  const got = lines(file);
  assert.equal(got[0], 'previous line');
  const labels = got.slice(1).map((l) => {
    const m = TIMED.exec(l);
    assert.ok(m, l);
    assert.equal(m[1], '4242');
    return `${m[9]} ${m[10]}`;
  });
  assert.deepEqual(labels, ['INF info line', 'WRN warn line', 'ERR error line', 'DBG debug line', 'TRC trace line', 'FTL fatal line']);
});

test('timestamps are local time by default and UTC with logtime_utc', () => {
  const dir = tmpdir();
  for (const utc of [false, true]) {
    const file = path.join(dir, `t-${utc}.log`);
    const log = createLogger({ debug: false, trace: false, logtime: true, logtime_utc: utc, log_file: file });
    const before = Date.now();
    log.info('x');
    log.close();
    const m = TIMED.exec(lines(file)[0] as string);
    assert.ok(m);
    const [y, mo, d, h, mi, s, us] = m.slice(2, 9).map(Number) as [number, number, number, number, number, number, number];
    const when = utc ? Date.UTC(y, mo - 1, d, h, mi, s, us / 1000) : new Date(y, mo - 1, d, h, mi, s, us / 1000).getTime();
    assert.ok(Math.abs(when - before) < 5000, `${utc}: ${m[0]}`);
  }
});

test('without logtime: [pid] [LVL] message', () => {
  const dir = tmpdir();
  const file = path.join(dir, 'n.log');
  const log = createLogger({ debug: false, trace: false, logtime: false, logtime_utc: false, log_file: file });
  log.info('hello');
  log.debug('hidden');
  log.trace('hidden');
  log.close();
  assert.deepEqual(lines(file), [`[${process.pid}] [INF] hello`]);
  assert.match(lines(file)[0] as string, UNTIMED);
});

test('setLevels and reconfigure switch debug/trace and the destination', () => {
  const dir = tmpdir();
  const a = path.join(dir, 'a.log');
  const b = path.join(dir, 'b.log');
  const log = createLogger({ debug: false, trace: false, logtime: false, logtime_utc: false, log_file: a, pid: 1 });
  log.debug('no');
  log.setLevels(true, false);
  assert.equal(log.debugEnabled, true);
  assert.equal(log.traceEnabled, false);
  log.debug('yes');
  log.trace('no');
  log.reconfigure({ debug: false, trace: true, logtime: false, logtime_utc: false, log_file: b, pid: 1 });
  log.trace('to b');
  log.debug('no');
  log.close();
  log.info('after close is dropped');
  assert.deepEqual(lines(a), ['[1] [DBG] yes']);
  assert.deepEqual(lines(b), ['[1] [TRC] to b']);
});

test('reopen starts a new file after the old one was moved away', () => {
  const dir = tmpdir();
  const file = path.join(dir, 'n.log');
  const log = createLogger({ debug: false, trace: false, logtime: false, logtime_utc: false, log_file: file, pid: 7 });
  log.info('first');
  log.flush();
  fs.renameSync(file, `${file}.1`);
  log.info('still old');
  log.reopen();
  log.info('second');
  log.close();
  assert.deepEqual(lines(`${file}.1`), ['[7] [INF] first', '[7] [INF] still old']);
  assert.deepEqual(lines(file), ['[7] [INF] File log re-opened', '[7] [INF] second']);
});

test('reopen without a log file says so, as nats-server does', () => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
    const { createLogger } = await import(${JSON.stringify(loggerModule)});
    const l = createLogger({ debug: false, trace: false, logtime: false, logtime_utc: false });
    l.reopen();
    l.close();
  `], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, `[${r.pid}] [INF] File log re-open ignored, not a file logger\n`);
});

test('size limit rotates to <file>.YYYY.MM.DD.hh.mm.ss.nnnnnnnnn', () => {
  const dir = tmpdir();
  const file = path.join(dir, 'r.log');
  const log = createLogger({ debug: false, trace: false, logtime: false, logtime_utc: false, log_file: file, log_size_limit: 100, pid: 9 });
  for (let i = 0; i < 5; i++) log.info(`line number ${i} with some padding`);
  log.close();
  const backups = fs.readdirSync(dir).filter((f) => f !== 'r.log').sort();
  assert.ok(backups.length >= 1, String(backups));
  for (const b of backups) assert.match(b, /^r\.log\.\d{4}\.\d{2}\.\d{2}\.\d{2}\.\d{2}\.\d{2}\.\d{9}$/);
  const current = fs.readFileSync(file, 'utf8');
  assert.match(current, /^\[9\] \[INF\] Rotated log, backup saved as "[^"]+r\.log\.\d{4}(\.\d{2}){5}\.\d{9}"\r\n/);
  // Every line of the run is somewhere, in order.
  const all = [...backups.map((b) => path.join(dir, b)), file]
    .flatMap((f) => lines(f))
    .filter((l) => l.includes('line number'))
    .map((l) => l.replace(/^\[9\] \[INF\] /, ''));
  assert.deepEqual(all, [0, 1, 2, 3, 4].map((i) => `line number ${i} with some padding`));
  assert.match(rotatedName('/x/y.log', new Date(2024, 0, 2, 3, 4, 5), 6), /^\/x\/y\.log\.2024\.01\.02\.03\.04\.05\.000000006$/);
});

test('an existing file already over the limit is rotated at start', () => {
  const dir = tmpdir();
  const file = path.join(dir, 'big.log');
  fs.writeFileSync(file, 'x'.repeat(500));
  const log = createLogger({ debug: false, trace: false, logtime: false, logtime_utc: false, log_file: file, log_size_limit: 100, pid: 3 });
  log.close();
  const backups = fs.readdirSync(dir).filter((f) => f !== 'big.log');
  assert.equal(backups.length, 1);
  assert.match(fs.readFileSync(path.join(dir, backups[0] as string), 'utf8'), /\[3\] \[INF\] Rotating logfile\.\.\.\n$/);
});

test('an unopenable log file is an error with Go wording', () => {
  assert.throws(
    () => createLogger({ debug: false, trace: false, logtime: true, logtime_utc: false, log_file: '/nonexistent-dir/x.log' }),
    { message: 'error opening file: open /nonexistent-dir/x.log: no such file or directory' },
  );
});

test('stderr by default (nothing on stdout); fatal and exit flush synchronously', () => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
    const { createLogger } = await import(${JSON.stringify(loggerModule)});
    const l = createLogger({ debug: true, trace: false, logtime: true, logtime_utc: false });
    l.info('one');
    l.debug('two');
    l.trace('hidden');
    l.fatal('three');
    l.warn('four');
    process.exit(3);
  `], { encoding: 'utf8' });
  assert.equal(r.status, 3);
  assert.equal(r.stdout, '');
  const got = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(got.length, 4, r.stderr);
  const parsed = got.map((l) => {
    const m = TIMED.exec(l);
    assert.ok(m, l);
    assert.equal(Number(m[1]), r.pid);
    return `${m[9]} ${m[10]}`;
  });
  assert.deepEqual(parsed, ['INF one', 'DBG two', 'FTL three', 'WRN four']);
});

test('many lines in one turn are all written, in order', () => {
  const dir = tmpdir();
  const file = path.join(dir, 'burst.log');
  const log = createLogger({ debug: false, trace: true, logtime: false, logtime_utc: false, log_file: file, pid: 5 });
  for (let i = 0; i < 20000; i++) log.trace(`t${i}`);
  log.close();
  const got = lines(file);
  assert.equal(got.length, 20000);
  assert.equal(got[0], '[5] [TRC] t0');
  assert.equal(got[19999], '[5] [TRC] t19999');
});
