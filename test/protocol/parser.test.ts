/**
 * The client protocol parser on its own: every op, frames split at every
 * byte offset and fed one byte at a time (the ops and payloads must not
 * change), and the errors for unknown ops, bad arguments, oversize control
 * lines and payloads.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ClientParser, type ClientOpHandler, type ParserLimits } from '../../src/protocol/parser.js';
import { ERR } from '../../src/protocol/errors.js';

/** What the parser reported, in order; payloads are copied since the parser reuses its buffers. */
type Reported =
  | { op: 'MSG'; subject: string; reply: string | null; hdrLen: number; payload: string; sizeText: string | null }
  | { op: 'SUB'; subject: string; queue: string | null; sid: string }
  | { op: 'UNSUB'; sid: string; max: number }
  | { op: 'PING' | 'PONG' }
  | { op: 'CONNECT' | 'INFO' | 'ERR'; text: string }
  | { op: 'TRACE'; text: string }
  | { op: 'TRACE_PAYLOAD'; payload: string }
  | { op: 'VIOLATION'; errText: string | null; detail: string };

class Recorder implements ClientOpHandler {
  readonly ops: Reported[] = [];
  processMsg(subject: string, reply: string | null, hdrLen: number, buf: Buffer, start: number, end: number, sizeText: string | null): void {
    this.ops.push({ op: 'MSG', subject, reply, hdrLen, payload: buf.toString('latin1', start, end), sizeText });
  }
  processSub(subject: string, queue: string | null, sid: string): void {
    this.ops.push({ op: 'SUB', subject, queue, sid });
  }
  processUnsub(sid: string, max: number): void {
    this.ops.push({ op: 'UNSUB', sid, max });
  }
  processPing(): void {
    this.ops.push({ op: 'PING' });
  }
  processPong(): void {
    this.ops.push({ op: 'PONG' });
  }
  processConnect(json: string): void {
    this.ops.push({ op: 'CONNECT', text: json });
  }
  processInfo(json: string): void {
    this.ops.push({ op: 'INFO', text: json });
  }
  traceOp(text: string): void {
    this.ops.push({ op: 'TRACE', text });
  }
  tracePayload(buf: Buffer, start: number, end: number): void {
    this.ops.push({ op: 'TRACE_PAYLOAD', payload: buf.toString('latin1', start, end) });
  }
  processErr(text: string): void {
    this.ops.push({ op: 'ERR', text });
  }
  protocolViolation(errText: string | null, detail: string): void {
    this.ops.push({ op: 'VIOLATION', errText, detail });
  }
}

const LIMITS: ParserLimits = { maxControlLine: 64, maxPayload: 32 };

/** Parses `chunks` in order with a fresh parser; returns what it reported. */
function parse(chunks: readonly Buffer[], limits: ParserLimits = LIMITS, tracing = false): Reported[] {
  const rec = new Recorder();
  const p = new ClientParser(rec, limits);
  p.tracing = tracing;
  for (const c of chunks) p.parse(c);
  return rec.ops;
}

function bytes(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

/** Every way of cutting `input` in two, and byte by byte: each must report `expected`. */
function assertSplitInvariant(input: Buffer, expected: readonly Reported[], limits: ParserLimits = LIMITS): void {
  for (let cut = 0; cut <= input.length; cut++) {
    // Copies, so that no chunk shares memory with another: a socket's chunks do not either.
    const chunks = [Buffer.from(input.subarray(0, cut)), Buffer.from(input.subarray(cut))];
    assert.deepEqual(parse(chunks, limits), expected, `split at byte ${cut} of ${JSON.stringify(input.toString('latin1'))}`);
  }
  const single = Array.from(input, (b) => Buffer.from([b]));
  assert.deepEqual(parse(single, limits), expected, 'one byte at a time');
}

const HDR = 'NATS/1.0\r\nA: b\r\n\r\n';

/** One of every client op, with payloads that contain CR and LF themselves. */
const SESSION = [
  'CONNECT {"verbose":false,"headers":true}\r\n',
  'PUB foo 5\r\nhello\r\n',
  'PUB foo.bar _INBOX.1 0\r\n\r\n',
  'PUB crlf 4\r\na\r\nb\r\n',
  `HPUB hdr ${HDR.length} ${HDR.length + 5}\r\n${HDR}hello\r\n`,
  `HPUB hdr.reply r.1 ${HDR.length} ${HDR.length}\r\n${HDR}\r\n`,
  'HPUB nohdr 0 2\r\nhi\r\n',
  'PUB lead 05\r\nhello\r\n',
  'SUB foo 1\r\n',
  'SUB foo.* workers 2\r\n',
  'SUB\tbar\t3\r\n',
  'UNSUB 1\r\n',
  'UNSUB 2 10\r\n',
  'PING\r\n',
  'PONG\r\n',
  '+OK\r\n',
  'INFO {"connect_urls":[]}\r\n',
  'pub lower 1\r\nx\r\n',
  'PING\n',
  "-ERR 'Stale Connection'\r\n",
].join('');

const SESSION_OPS: readonly Reported[] = [
  { op: 'CONNECT', text: '{"verbose":false,"headers":true}' },
  { op: 'MSG', subject: 'foo', reply: null, hdrLen: -1, payload: 'hello', sizeText: null },
  { op: 'MSG', subject: 'foo.bar', reply: '_INBOX.1', hdrLen: -1, payload: '', sizeText: null },
  { op: 'MSG', subject: 'crlf', reply: null, hdrLen: -1, payload: 'a\r\nb', sizeText: null },
  { op: 'MSG', subject: 'hdr', reply: null, hdrLen: HDR.length, payload: `${HDR}hello`, sizeText: null },
  { op: 'MSG', subject: 'hdr.reply', reply: 'r.1', hdrLen: HDR.length, payload: HDR, sizeText: null },
  // A zero-length header block is a plain message.
  { op: 'MSG', subject: 'nohdr', reply: null, hdrLen: -1, payload: 'hi', sizeText: null },
  // nats-server echoes a size written with a leading zero as written.
  { op: 'MSG', subject: 'lead', reply: null, hdrLen: -1, payload: 'hello', sizeText: '05' },
  { op: 'SUB', subject: 'foo', queue: null, sid: '1' },
  { op: 'SUB', subject: 'foo.*', queue: 'workers', sid: '2' },
  { op: 'SUB', subject: 'bar', queue: null, sid: '3' },
  { op: 'UNSUB', sid: '1', max: -1 },
  { op: 'UNSUB', sid: '2', max: 10 },
  { op: 'PING' },
  { op: 'PONG' },
  { op: 'INFO', text: '{"connect_urls":[]}' },
  { op: 'MSG', subject: 'lower', reply: null, hdrLen: -1, payload: 'x', sizeText: null },
  { op: 'PING' },
  { op: 'ERR', text: "'Stale Connection'" },
];

describe('client parser: ops', () => {
  it('reports every op with its arguments and payload', () => {
    assert.deepEqual(parse([bytes(SESSION)]), SESSION_OPS);
  });

  it('reports the same ops however the input is split into two chunks, or fed byte by byte', () => {
    assertSplitInvariant(bytes(SESSION), SESSION_OPS);
  });

  it('keeps a payload of non-ASCII bytes byte for byte across chunks', () => {
    const payload = Buffer.from([0, 255, 13, 10, 128, 13, 1]);
    const input = Buffer.concat([bytes(`PUB bin ${payload.length}\r\n`), payload, bytes('\r\nPING\r\n')]);
    assertSplitInvariant(input, [
      { op: 'MSG', subject: 'bin', reply: null, hdrLen: -1, payload: payload.toString('latin1'), sizeText: null },
      { op: 'PING' },
    ]);
  });

  it('traces ops and payloads as nats-server logs them', () => {
    const ops = parse([bytes('SUB foo  1\r\nPUB foo 2\r\nhi\r\nPING\r\n')], LIMITS, true);
    assert.deepEqual(ops, [
      { op: 'TRACE', text: 'SUB foo  1' },
      { op: 'SUB', subject: 'foo', queue: null, sid: '1' },
      { op: 'TRACE', text: 'PUB foo 2' },
      { op: 'TRACE_PAYLOAD', payload: 'hi' },
      { op: 'MSG', subject: 'foo', reply: null, hdrLen: -1, payload: 'hi', sizeText: null },
      { op: 'TRACE', text: 'PING' },
      { op: 'PING' },
    ]);
  });

  it('accepts a payload of exactly max_payload and a control line of exactly max_control_line', () => {
    const limits: ParserLimits = { maxControlLine: 16, maxPayload: 8 };
    // "PUB " is not counted: nats-server measures the arguments, from their first non-blank byte.
    const subject = 'x'.repeat(16 - ' 8'.length);
    const input = bytes(`PUB   ${subject} 8\r\n12345678\r\n`);
    assertSplitInvariant(input, [{ op: 'MSG', subject, reply: null, hdrLen: -1, payload: '12345678', sizeText: null }], limits);
  });
});

describe('client parser: the quick PUB path', () => {
  /** A plain message as the parser reports it. */
  function msg(subject: string, payload: string, reply: string | null = null, sizeText: string | null = null): Reported {
    return { op: 'MSG', subject, reply, hdrLen: -1, payload, sizeText };
  }

  it('takes the PUB variants a line can have as the general path does', () => {
    const input = [
      'PUB a.b 2\r\nhi\r\n',
      'PUB a.b 2\r\nho\r\n',
      // Same length, other subject: the remembered subject must not be handed out.
      'PUB a.c 1\r\nx\r\n',
      'PUB a.b _INBOX.1 1\r\ny\r\n',
      'PUB a.b _INBOX.2 1\r\nz\r\n',
      'PUB   a.b    _INBOX.3   3  \r\nabc\r\n',
      'PUB a.b 1\nq\r\n',
      'pUb low 0\r\n\r\n',
      'PUB a.b 007\r\nabcdefg\r\n',
      'PUB\ttab 1\r\nt\r\n',
      'PUB tab\t1\r\nt\r\n',
      'PUB a.bc 1\r\nw\r\n',
      'PUB a 1\r\nv\r\n',
      'PING\r\n',
    ].join('');
    const expected: Reported[] = [
      msg('a.b', 'hi'),
      msg('a.b', 'ho'),
      msg('a.c', 'x'),
      msg('a.b', 'y', '_INBOX.1'),
      msg('a.b', 'z', '_INBOX.2'),
      msg('a.b', 'abc', '_INBOX.3'),
      msg('a.b', 'q'),
      msg('low', ''),
      msg('a.b', 'abcdefg', null, '007'),
      msg('tab', 't'),
      msg('tab', 't'),
      msg('a.bc', 'w'),
      msg('a', 'v'),
      { op: 'PING' },
    ];
    assert.deepEqual(parse([bytes(input)]), expected);
    assertSplitInvariant(bytes(input), expected);
  });

  it('leaves bad PUB lines to the general path and its errors', () => {
    assertViolation('PUB foo 1 2 3\r\n', null, "processPub Parse Error: 'foo 1 2 3'");
    assertViolation('PUB foo 1x\r\n', null, "processPub Bad or Missing Size: 'foo 1x'");
    assertViolation('PUB foo r 1x\r\n', null, "processPub Bad or Missing Size: 'foo r 1x'");
    assertViolation('PUB foo 33\r\n', ERR.maxPayload, 'maximum payload exceeded');
    assertViolation('PUB foo 3\r\nabcd\r\n', ERR.unknownOp, 'parser error');
  });
});

/**
 * Parses `chunks` until the parser reports a violation, then feeds no more:
 * the connection closes on a violation, so no later chunk reaches the parser.
 */
function parseUntilViolation(chunks: readonly Buffer[], limits: ParserLimits): Reported[] {
  const rec = new Recorder();
  const p = new ClientParser(rec, limits);
  for (const c of chunks) {
    p.parse(c);
    if (rec.ops.some((o) => o.op === 'VIOLATION')) break;
  }
  return rec.ops;
}

/** The one violation `input` must cause, split anywhere; nothing after it is reported. */
function assertViolation(input: string, errText: string | null, detail: string | RegExp, limits: ParserLimits = LIMITS): void {
  const full = bytes(input + 'PING\r\n');
  const check = (ops: Reported[], how: string): void => {
    const violations = ops.filter((o) => o.op === 'VIOLATION');
    assert.equal(violations.length, 1, `${how}: one violation in ${JSON.stringify(ops)}`);
    assert.deepEqual(ops[ops.length - 1], violations[0], `${how}: nothing is reported after the violation`);
    const v = violations[0] as Extract<Reported, { op: 'VIOLATION' }>;
    assert.equal(v.errText, errText, how);
    if (typeof detail === 'string') assert.equal(v.detail, detail, how);
    else assert.match(v.detail, detail, how);
    assert.ok(!ops.some((o) => o.op === 'PING'), `${how}: the PING after the error is not parsed`);
  };
  check(parseUntilViolation([full], limits), 'whole');
  for (let cut = 1; cut < full.length; cut++) check(parseUntilViolation([full.subarray(0, cut), full.subarray(cut)], limits), `split at ${cut}`);
  check(parseUntilViolation(Array.from(full, (b) => Buffer.from([b])), limits), 'byte by byte');
}

describe('client parser: errors', () => {
  it('refuses unknown ops, also before their line is complete', () => {
    assertViolation('FOO bar\r\n', ERR.unknownOp, 'parser error');
    assertViolation('PUBX foo 1\r\nx\r\n', ERR.unknownOp, 'parser error');
    assertViolation('UNSUB\r\n', ERR.unknownOp, 'parser error');
    // An unknown first byte is refused at once, with no line end in sight.
    const ops = parse([bytes('X')]);
    assert.deepEqual(ops, [{ op: 'VIOLATION', errText: ERR.unknownOp, detail: 'parser error' }]);
  });

  it('refuses a payload not followed by CRLF', () => {
    assertViolation('PUB foo 3\r\nabcd\r\n', ERR.unknownOp, 'parser error');
    assertViolation('HPUB foo 12 12\r\nNATS/1.0\r\n\r\nXY', ERR.unknownOp, 'parser error');
  });

  it('refuses bad arguments with nats-server\'s wording and no -ERR text', () => {
    assertViolation('PUB foo\r\n', null, "processPub Parse Error: 'foo'");
    assertViolation('PUB foo bar baz 1\r\n', null, "processPub Parse Error: 'foo bar baz 1'");
    assertViolation('PUB foo x\r\n', null, "processPub Bad or Missing Size: 'foo x'");
    assertViolation('HPUB foo 1\r\n', null, "processHeaderPub Parse Error: 'foo 1'");
    assertViolation('HPUB foo 10 5\r\n', null, "processHeaderPub Bad or Missing Total Size: 'foo 10 5'");
    assertViolation('HPUB foo x 5\r\n', null, "processHeaderPub Bad or Missing Header Size: 'foo x 5'");
    assertViolation('SUB foo\r\n', null, "processSub Parse Error: 'foo'");
    assertViolation('UNSUB 1 2 3\r\n', null, "processUnsub Parse Error: '1 2 3'");
  });

  it('refuses a payload over max_payload before reading it', () => {
    const limits: ParserLimits = { maxControlLine: 64, maxPayload: 8 };
    assertViolation('PUB foo 9\r\n', ERR.maxPayload, 'maximum payload exceeded', limits);
    assertViolation('HPUB foo 4 9\r\n', ERR.maxPayload, 'maximum payload exceeded', limits);
  });

  it('refuses a control line over max_control_line, complete or still arriving', () => {
    const limits: ParserLimits = { maxControlLine: 16, maxPayload: 8 };
    const subject = 'x'.repeat(16 - ' 8'.length + 1);
    assertViolation(`PUB ${subject} 8\r\n12345678\r\n`, ERR.maxControlLine, 'control line too long', limits);
    assertViolation(`CONNECT {"name":"${'n'.repeat(16)}"}\r\n`, ERR.maxControlLine, 'control line too long', limits);
    // A line that never ends is refused once it has grown past the limit.
    const line = bytes(`SUB ${'y'.repeat(40)}`);
    const ops = parseUntilViolation(Array.from(line, (b) => Buffer.from([b])), limits);
    assert.deepEqual(ops, [{ op: 'VIOLATION', errText: ERR.maxControlLine, detail: 'control line too long' }]);
  });

  it('a stopped parser ignores later input', () => {
    const rec = new Recorder();
    const p = new ClientParser(rec, LIMITS);
    p.parse(bytes('PUB foo 5\r\nhel'));
    // The connection closes mid-payload (auth revoked on reload, lame duck, ...).
    p.stopped = true;
    p.parse(bytes('lo\r\nSUB foo 1\r\n'));
    assert.deepEqual(rec.ops, []);
  });
});
