/**
 * The route parser on its own: every operation and argument form nats-server
 * sends or accepts on a route, frames cut at every byte boundary, and the
 * error texts nats-server logs for malformed arguments.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RouteParser, type RouteOpHandler } from '../../src/cluster/route-parser.js';
import { redactSecrets } from '../../src/protocol/trace.js';

/** Records every call as a line of text. */
class Recorder implements RouteOpHandler {
  readonly calls: string[] = [];
  parser: RouteParser | null = null;

  processInfo(json: string): void { this.calls.push(`INFO ${json}`); }
  processConnect(json: string): void { this.calls.push(`CONNECT ${json}`); }
  processPing(): void { this.calls.push('PING'); }
  processPong(): void { this.calls.push('PONG'); }
  processErr(text: string): void { this.calls.push(`ERR ${text}`); }
  processSub(account: string, subject: string, queue: string | null, weight: number): void {
    this.calls.push(`SUB ${account} ${subject} ${queue ?? '-'} ${weight}`);
  }
  processUnsub(account: string, subject: string, queue: string | null): void {
    this.calls.push(`UNSUB ${account} ${subject} ${queue ?? '-'}`);
  }
  processMsg(account: string, subject: string, reply: string | null, queues: readonly string[], hdrLen: number, buf: Buffer, start: number, end: number): void {
    this.calls.push(`MSG ${account} ${subject} ${reply ?? '-'} [${queues.join(',')}] ${hdrLen} ${buf.toString('latin1', start, end)}`);
  }
  authViolation(): void {
    this.calls.push('AUTH');
  }
  traceOp(text: string): void { this.calls.push(`TRACE ${text}`); }
  tracePayload(): void {}
  protocolError(errText: string | null, detail: string): void {
    this.calls.push(`FAIL ${errText ?? '-'} ${detail}`);
  }
}

function parse(...chunks: string[]): string[] {
  const r = new Recorder();
  const p = new RouteParser(r);
  for (const c of chunks) p.parse(Buffer.from(c, 'latin1'));
  return r.calls;
}

describe('route parser', () => {
  it('reads interest operations with and without queue weights', () => {
    assert.deepEqual(parse('RS+ $G foo\r\nRS+ $G foo.* q 3\r\nrs- $G foo\r\nRS- $G foo.* q\r\n'), [
      'SUB $G foo - 0',
      'SUB $G foo.* q 3',
      'UNSUB $G foo -',
      'UNSUB $G foo.* q',
    ]);
    // Leaf-origin interest carries the origin cluster first; LS- does not.
    assert.deepEqual(parse('LS+ hub $G bar\r\nLS+ hub $G bar q 2\r\nLS-  $G bar\r\n'), [
      'SUB $G bar - 0',
      'SUB $G bar q 2',
      'UNSUB $G bar -',
    ]);
  });

  it('reads RMSG with a reply, a queue section, or both', () => {
    assert.deepEqual(parse(
      'RMSG $G foo 5\r\nhello\r\n',
      'RMSG $G foo _INBOX.1 2\r\nhi\r\n',
      'RMSG $G foo | q1 q2 3\r\nabc\r\n',
      'RMSG $G foo + _INBOX.2 q1 1\r\nx\r\n',
      'RMSG $G foo 0\r\n\r\n',
    ), [
      'MSG $G foo - [] -1 hello',
      'MSG $G foo _INBOX.1 [] -1 hi',
      'MSG $G foo - [q1,q2] -1 abc',
      'MSG $G foo _INBOX.2 [q1] -1 x',
      'MSG $G foo - [] -1 ',
    ]);
  });

  it('reads HMSG and LMSG with header sizes', () => {
    assert.deepEqual(parse(
      'HMSG $G foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n',
      'HMSG $G foo + r q 12 12\r\nNATS/1.0\r\n\r\n\r\n',
      'LMSG hub $G foo | q 0 2\r\nhi\r\n',
    ), [
      'MSG $G foo - [] 12 NATS/1.0\r\n\r\nhi',
      'MSG $G foo r [q] 12 NATS/1.0\r\n\r\n',
      'MSG $G foo - [q] -1 hi',
    ]);
  });

  it('gives the same result however the bytes are cut', () => {
    const stream = 'INFO {"server_id":"X"}\r\nRS+ $G a.> grp 7\r\nRMSG $G a.b + reply g1 g2 4\r\nabcd\r\n' +
      'HMSG $G a.c 12 15\r\nNATS/1.0\r\n\r\nxyz\r\nPING\r\nPONG\r\n+OK\r\nA+ $G\r\n-ERR \'boom\'\r\n';
    const whole = parse(stream);
    assert.equal(whole.length, 7);
    for (let i = 1; i < stream.length; i++) {
      assert.deepEqual(parse(stream.slice(0, i), stream.slice(i)), whole, `cut at ${i}`);
    }
    const bytes = [...stream];
    assert.deepEqual(parse(...bytes), whole, 'one byte at a time');
  });

  it('reports malformed arguments with nats-server\'s texts', () => {
    assert.deepEqual(parse('RMSG $G foo x y 2\r\n'), ["FAIL - processRoutedMsgArgs Bad or Missing Reply Indicator: 'x'"]);
    assert.deepEqual(parse('RMSG $G foo | q1 q2\r\n'), ["FAIL - processRoutedMsgArgs Bad or Missing Size: '$G foo | q1 q2'"]);
    assert.deepEqual(parse('RMSG $G\r\n'), ["FAIL - processRoutedMsgArgs Parse Error: '$G'"]);
    assert.deepEqual(parse('HMSG $G foo 10 5\r\n'), ["FAIL - processRoutedHeaderMsgArgs Header Size larger then TotalSize: '$G foo 10 5'"]);
    assert.deepEqual(parse('RS+ $G\r\n'), ["FAIL - processRemoteSub Parse Error: '$G'"]);
    assert.deepEqual(parse('RS- $G a b c\r\n'), ["FAIL - processRemoteUnsub parse error: '$G a b c'"]);
  });

  it('refuses unknown operations as soon as they cannot become one', () => {
    assert.deepEqual(parse('PUB foo 1\r\n'), ['FAIL Unknown Protocol Operation Router parser ERROR']);
    assert.deepEqual(parse('RSX'), ['FAIL Unknown Protocol Operation Router parser ERROR']);
    assert.deepEqual(parse('RS'), []);
    // A payload must end in CRLF right after its size.
    assert.deepEqual(parse('RMSG $G foo 2\r\nhixx\r\n'), ['FAIL Unknown Protocol Operation Router parser ERROR']);
  });

  it('with authorization on, treats anything before CONNECT as a violation', () => {
    const r = new Recorder();
    const p = new RouteParser(r);
    p.requireConnect = true;
    p.parse(Buffer.from('PING\r\n'));
    assert.deepEqual(r.calls, ['AUTH']);
    const r2 = new Recorder();
    const p2 = new RouteParser(r2);
    p2.requireConnect = true;
    p2.parse(Buffer.from('CONNECT {}\r\n'));
    assert.deepEqual(r2.calls, ['CONNECT {}']);
  });

  it('holds input while suspended and replays it on resume', () => {
    const r = new Recorder();
    const p = new RouteParser(r);
    p.parse(Buffer.from('CONNECT {}\r\n'));
    p.suspend();
    p.parse(Buffer.from('PING\r\nRS+ $G x\r\n'));
    assert.deepEqual(r.calls, ['CONNECT {}']);
    p.resume();
    assert.deepEqual(r.calls, ['CONNECT {}', 'PING', 'SUB $G x - 0']);
  });

  it('traces operations as nats-server does; the shared trace redacts route passwords', () => {
    const r = new Recorder();
    const p = new RouteParser(r);
    p.tracing = true;
    p.parse(Buffer.from('CONNECT {"user":"u","pass":"secret","name":"X"}\r\nRMSG $G foo 1\r\nx\r\n'));
    assert.deepEqual(r.calls.filter((c) => c.startsWith('TRACE')), [
      'TRACE CONNECT {"user":"u","pass":"secret","name":"X"}',
      'TRACE RMSG $G foo 1',
    ]);
    assert.equal(redactSecrets(r.calls[0].slice('TRACE '.length)), 'CONNECT {"user":"u","pass":"[REDACTED]","name":"X"}');
  });
});
