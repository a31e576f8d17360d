/**
 * The leafnode protocol parser on its own: every op with its arguments,
 * the same events whether the input comes whole or split at every byte,
 * and nats-server's errors for bad arguments.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LeafParser, type LeafOpHandler } from '../../src/leafnode/leaf-parser.js';

class Recorder implements LeafOpHandler {
  readonly events: string[] = [];
  processInfo(json: string): void { this.events.push(`INFO ${json}`); }
  processConnect(json: string): void { this.events.push(`CONNECT ${json}`); }
  processPing(): void { this.events.push('PING'); }
  processPong(): void { this.events.push('PONG'); }
  processErr(text: string): void { this.events.push(`ERR ${text}`); }
  processSub(subject: string, queue: string | null, weight: number): void { this.events.push(`SUB ${subject} ${queue ?? '-'} ${weight}`); }
  processUnsub(subject: string, queue: string | null): void { this.events.push(`UNSUB ${subject} ${queue ?? '-'}`); }
  processMsg(subject: string, reply: string | null, queues: readonly string[] | null, hdrLen: number, buf: Buffer, start: number, end: number): void {
    this.events.push(`MSG ${subject} ${reply ?? '-'} ${queues === null ? '-' : `[${queues.join(',')}]`} ${hdrLen} ${buf.toString('latin1', start, end)}`);
  }
  authViolation(): void { this.events.push('AUTH'); }
  traceOp(): void {}
  tracePayload(): void {}
  protocolError(errText: string | null, detail: string): void { this.events.push(`PROTO ${errText ?? '-'} ${detail}`); }
}

const STREAM = [
  'INFO {"server_id":"S"}\r\n',
  'CONNECT {"name":"n"}\r\n',
  'PING\r\n',
  'PONG\r\n',
  'LS+ foo.*\r\n',
  'LS+ bar q 3\r\n',
  'LS- bar q\r\n',
  'LS- foo.*\r\n',
  'LMSG foo 5\r\nhello\r\n',
  'LMSG foo _INBOX.1 2\r\nhi\r\n',
  'LMSG foo + _INBOX.2 q1 q2 3\r\nabc\r\n',
  'LMSG foo | q1 0\r\n\r\n',
  'HMSG foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n',
  'HMSG foo | q 12 12\r\nNATS/1.0\r\n\r\n\r\n',
  '-ERR \'oops\'\r\n',
].join('');

const EXPECTED = [
  'INFO {"server_id":"S"}',
  'CONNECT {"name":"n"}',
  'PING',
  'PONG',
  'SUB foo.* - 0',
  'SUB bar q 3',
  'UNSUB bar q',
  'UNSUB foo.* -',
  'MSG foo - - -1 hello',
  'MSG foo _INBOX.1 - -1 hi',
  'MSG foo _INBOX.2 [q1,q2] -1 abc',
  'MSG foo - [q1] -1 ',
  'MSG foo - - 12 NATS/1.0\r\n\r\nhi',
  'MSG foo - [q] 12 NATS/1.0\r\n\r\n',
  "ERR 'oops'",
];

test('every op, whole or split at every byte, gives the same events', () => {
  const whole = new Recorder();
  new LeafParser(whole).parse(Buffer.from(STREAM, 'latin1'));
  assert.deepEqual(whole.events, EXPECTED);
  const split = new Recorder();
  const p = new LeafParser(split);
  const bytes = Buffer.from(STREAM, 'latin1');
  for (let i = 0; i < bytes.length; i++) p.parse(bytes.subarray(i, i + 1));
  assert.deepEqual(split.events, EXPECTED);
});

test('an accepted connection must begin with CONNECT', () => {
  const r = new Recorder();
  const p = new LeafParser(r);
  p.requireConnect = true;
  p.parse(Buffer.from('LS+ foo\r\n'));
  assert.deepEqual(r.events, ['AUTH']);
});

test('bad arguments and unknown ops, in nats-server\'s words', () => {
  const cases: Array<[string, string]> = [
    ['LMSG foo bar\r\n', "PROTO - processLeafMsgArgs Bad or Missing Size: '[foo bar]'"],
    ['HMSG foo 5 2\r\n', "PROTO - processLeafHeaderMsgArgs Header Size larger then TotalSize: '[foo 5 2]'"],
    ['LMSG foo x a b 3\r\n', "PROTO - processLeafMsgArgs Bad or Missing Reply Indicator: 'x'"],
    ['LS+ a b\r\n', "PROTO - processLeafSub Parse Error: 'a b'"],
    ['LS- a b c\r\n', "PROTO - processLeafUnsub Parse Error: 'a b c'"],
    ['RMSG $G foo 1\r\n', 'PROTO Unknown Protocol Operation Leafnode parser ERROR'],
    ['PUB foo 1\r\n', 'PROTO Unknown Protocol Operation Leafnode parser ERROR'],
  ];
  for (const [input, expected] of cases) {
    const r = new Recorder();
    new LeafParser(r).parse(Buffer.from(input));
    assert.deepEqual(r.events, [expected], input);
  }
});
