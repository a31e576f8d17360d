/**
 * Differential protocol tests: each raw session below is replayed against
 * Natter and against nats-server 2.9.10 started with the same limits; the
 * normalised byte streams (INFO fields that legitimately differ are masked)
 * and whether the server closed the connection must be identical.
 *
 * Every case also states what the reference answers on its first
 * connection, so a case that does not test what its name says fails loudly
 * on the reference side instead of passing silently.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { StartOptions } from '../../src/index.js';
import { replay, type Step, type ReplayOptions, type ReplayResult } from '../helpers/replay.js';
import { natterTarget, natsServerTarget, type RunningTarget } from '../helpers/targets.js';
import { visible } from '../helpers/normalize.js';

interface Case {
  name: string;
  steps: Step[];
  /** The reference's bytes on connection 0 after its INFO line. */
  expect: string;
  /** Whether the reference closes connection 0. */
  closed: boolean;
  opts?: ReplayOptions;
}

interface Profile {
  name: string;
  opts: StartOptions;
  cases: Case[];
}

/** CONNECT with verbose off (and optional extra fields). */
function connect(extra: Record<string, unknown> = {}): string {
  return `CONNECT ${JSON.stringify({ verbose: false, ...extra })}\r\n`;
}
const Q = connect();
const QH = connect({ headers: true });
const PING = 'PING\r\n';
const PONG = 'PONG\r\n';
const UNKNOWN = "-ERR 'Unknown Protocol Operation'\r\n";
const on = (conn: number, send: string): Step => ({ conn, send });

const base: Case[] = [
  // ---- greeting, CONNECT ---------------------------------------------------
  { name: 'PING before CONNECT is answered', steps: [PING], expect: PONG, closed: false },
  { name: 'CONNECT verbose:true acknowledges with +OK', steps: ['CONNECT {"verbose":true}\r\nPING\r\n'], expect: '+OK\r\nPONG\r\n', closed: false },
  { name: 'CONNECT verbose:false is silent', steps: [Q + PING], expect: PONG, closed: false },
  { name: 'CONNECT {} keeps the verbose default', steps: ['CONNECT {}\r\nPING\r\n'], expect: '+OK\r\nPONG\r\n', closed: false },
  { name: 'CONNECT with bad JSON closes without -ERR', steps: ['CONNECT {bad json}\r\nPING\r\n'], expect: '', closed: true },
  { name: 'CONNECT without arguments closes without -ERR', steps: ['CONNECT\r\n'], expect: '', closed: true },
  { name: 'CONNECT with a JSON array closes', steps: ['CONNECT []\r\nPING\r\n'], expect: '', closed: true },
  { name: 'CONNECT with trailing garbage after the JSON closes', steps: ['CONNECT {"verbose":false} trailing\r\nPING\r\n'], expect: '', closed: true },
  { name: 'CONNECT with a wrongly typed field (verbose:1) closes', steps: ['CONNECT {"verbose":1}\r\nPING\r\n'], expect: '', closed: true },
  { name: 'CONNECT with a number for name closes', steps: ['CONNECT {"verbose":false,"name":123}\r\nPING\r\n'], expect: '', closed: true },
  { name: 'CONNECT with a string for echo closes', steps: ['CONNECT {"verbose":false,"echo":"no"}\r\nPING\r\n'], expect: '', closed: true },
  { name: 'CONNECT with a number for headers closes', steps: ['CONNECT {"verbose":false,"headers":1}\r\nPING\r\n'], expect: '', closed: true },
  { name: 'CONNECT with a string protocol closes', steps: ['CONNECT {"protocol":"1"}\r\nPING\r\n'], expect: '', closed: true },
  { name: 'CONNECT with a fractional protocol closes', steps: ['CONNECT {"protocol":1.5}\r\nPING\r\n'], expect: '', closed: true },
  { name: 'CONNECT with null verbose keeps the default', steps: ['CONNECT {"verbose":null}\r\nPING\r\n'], expect: '+OK\r\nPONG\r\n', closed: false },
  { name: 'CONNECT with a duplicate key: the last wins', steps: ['CONNECT {"verbose":false,"verbose":true}\r\nPING\r\n'], expect: '+OK\r\nPONG\r\n', closed: false },
  { name: 'CONNECT with two JSON objects closes', steps: ['CONNECT {"verbose":false}{}\r\nPING\r\n'], expect: '', closed: true },
  { name: 'CONNECTX is not CONNECT', steps: [Q + 'CONNECTX {}\r\nPING\r\n'], expect: '', closed: true },
  {
    name: 'CONNECT ignores unknown fields',
    steps: ['CONNECT {"verbose":false,"lang":"x","version":"1","name":"n","protocol":1,"echo":true,"extra":[1,2]}\r\nPING\r\n'],
    expect: PONG,
    closed: false,
  },
  { name: 'CONNECT separated by a tab and extra spaces', steps: ['CONNECT\t {"verbose":false}\r\nPING\r\n'], expect: PONG, closed: false },
  { name: 'CONNECT protocol:2 is refused', steps: ['CONNECT {"protocol":2}\r\nPING\r\n'], expect: "-ERR 'invalid client protocol'\r\n", closed: true },
  {
    name: 'CONNECT no_responders without headers is refused',
    steps: ['CONNECT {"no_responders":true}\r\nPING\r\n'],
    expect: "-ERR 'no responders requires headers support'\r\n",
    closed: true,
  },
  { name: 'CONNECT no_responders with headers is accepted', steps: ['CONNECT {"no_responders":true,"headers":true}\r\nPING\r\n'], expect: '+OK\r\nPONG\r\n', closed: false },
  { name: 'a second CONNECT changes options', steps: [Q + 'CONNECT {"verbose":true}\r\nPING\r\n'], expect: '+OK\r\nPONG\r\n', closed: false },

  // ---- PUB / SUB / MSG framing -------------------------------------------
  {
    name: 'SUB and PUB before CONNECT are verbose (+OK before the MSG)',
    steps: ['SUB foo 1\r\nPUB foo 2\r\nhi\r\nPING\r\n'],
    expect: '+OK\r\n+OK\r\nMSG foo 1 2\r\nhi\r\nPONG\r\n',
    closed: false,
  },
  { name: 'self-delivery MSG framing', steps: [Q + 'SUB foo 1\r\nPUB foo 5\r\nhello\r\nPING\r\n'], expect: 'MSG foo 1 5\r\nhello\r\nPONG\r\n', closed: false },
  { name: 'MSG framing with a reply subject', steps: [Q + 'SUB foo 9\r\nPUB foo bar.baz 2\r\nhi\r\nPING\r\n'], expect: 'MSG foo 9 bar.baz 2\r\nhi\r\nPONG\r\n', closed: false },
  { name: 'zero-length payload', steps: [Q + 'SUB foo 1\r\nPUB foo 0\r\n\r\nPING\r\n'], expect: 'MSG foo 1 0\r\n\r\nPONG\r\n', closed: false },
  { name: 'payload containing CRLF', steps: [Q + 'SUB foo 1\r\nPUB foo 4\r\na\r\nb\r\nPING\r\n'], expect: 'MSG foo 1 4\r\na\r\nb\r\nPONG\r\n', closed: false },
  { name: 'size with a leading zero is echoed as sent', steps: [Q + 'SUB foo 1\r\nPUB foo 01\r\na\r\nPING\r\n'], expect: 'MSG foo 1 01\r\na\r\nPONG\r\n', closed: false },
  { name: 'verbose PUB with a reply: +OK then MSG', steps: ['SUB foo 1\r\nPUB foo r 1\r\na\r\nPING\r\n'], expect: '+OK\r\n+OK\r\nMSG foo 1 r 1\r\na\r\nPONG\r\n', closed: false },
  { name: 'payload shorter than its size', steps: [Q + 'PUB foo 3\r\nhi\r\nPING\r\n'], expect: UNKNOWN, closed: true },
  { name: 'payload longer than its size', steps: [Q + 'PUB foo 2\r\nhix\r\n'], expect: UNKNOWN, closed: true },
  {
    name: 'payload short by one byte is rejected as soon as the LF arrives',
    steps: [Q + 'PUB foo 3\r\nhi\r\n'],
    expect: UNKNOWN,
    closed: true,
    opts: { pongs: 0, timeoutMs: 600 },
  },
  { name: 'payload terminated by LF only', steps: [Q + 'PUB foo 2\r\nhi\n\r\nPING\r\n'], expect: UNKNOWN, closed: true },
  { name: 'payload terminated by CR then a new op', steps: [Q + 'PUB foo 2\r\nhi\rPING\r\n'], expect: UNKNOWN, closed: true },
  { name: 'control line terminated by LF only', steps: [Q + 'SUB foo 1\nPUB foo 2\nhi\r\nPING\n'], expect: 'MSG foo 1 2\r\nhi\r\nPONG\r\n', closed: false },
  { name: 'PUB without a size closes silently', steps: [Q + 'PUB foo\r\n'], expect: '', closed: true },
  { name: 'PUB with a non-numeric size closes silently', steps: [Q + 'PUB foo x\r\n'], expect: '', closed: true },
  { name: 'PUB with a negative size closes silently', steps: [Q + 'PUB foo -1\r\n'], expect: '', closed: true },
  { name: 'PUB with a signed size closes silently', steps: [Q + 'PUB foo +1\r\na\r\n'], expect: '', closed: true },
  { name: 'PUB with a 20-digit size closes silently', steps: [Q + 'PUB foo 99999999999999999999\r\n'], expect: '', closed: true },
  { name: 'PUB with too many arguments closes silently', steps: [Q + 'PUB foo r x 1\r\na\r\n'], expect: '', closed: true },
  { name: 'PUB with no arguments', steps: [Q + 'PUB\r\n'], expect: UNKNOWN, closed: true },
  { name: 'PUB with only a space', steps: [Q + 'PUB \r\n'], expect: '', closed: true },
  { name: 'SUB with no arguments', steps: [Q + 'SUB\r\n'], expect: UNKNOWN, closed: true },
  { name: 'SUB without a sid closes silently', steps: [Q + 'SUB foo\r\n'], expect: '', closed: true },
  { name: 'SUB with too many arguments closes silently', steps: [Q + 'SUB a b c d\r\n'], expect: '', closed: true },
  { name: 'SUB subject queue sid', steps: [Q + 'SUB foo qa 1\r\nPUB foo 1\r\na\r\nPING\r\n'], expect: 'MSG foo 1 1\r\na\r\nPONG\r\n', closed: false },

  // ---- limits ---------------------------------------------------------------
  { name: 'PUB over max_payload', steps: [Q + 'PUB foo 1025\r\n'], expect: "-ERR 'Maximum Payload Violation'\r\n", closed: true },
  { name: 'PUB of exactly max_payload', steps: [Q + 'SUB foo 1\r\nPUB foo 1024\r\n' + 'p'.repeat(1024) + '\r\nPING\r\n'], expect: 'MSG foo 1 1024\r\n' + 'p'.repeat(1024) + '\r\nPONG\r\n', closed: false },
  { name: 'HPUB over max_payload', steps: [QH + 'HPUB foo 12 1025\r\n'], expect: "-ERR 'Maximum Payload Violation'\r\n", closed: true },
  { name: 'control line over max_control_line', steps: [Q + 'SUB ' + 'a'.repeat(300) + ' 1\r\n'], expect: "-ERR 'maximum control line exceeded'\r\n", closed: true },
  { name: 'control line over max_control_line, no newline yet', steps: [Q + 'SUB ' + 'a'.repeat(300)], expect: "-ERR 'maximum control line exceeded'\r\n", closed: true },
  { name: 'CONNECT over max_control_line', steps: ['CONNECT {"verbose":false,"name":"' + 'n'.repeat(300) + '"}\r\nPING\r\n'], expect: "-ERR 'maximum control line exceeded'\r\n", closed: true },
  { name: 'arguments of exactly max_control_line bytes are accepted', steps: [Q + 'SUB ' + 'a'.repeat(254) + ' 1\r\nPING\r\n'], expect: PONG, closed: false },
  {
    name: 'arguments of exactly max_control_line bytes, line split before its CRLF',
    steps: [Q + 'SUB ' + 'a'.repeat(254) + ' 1', { pause: 30 }, '\r\nPING\r\n'],
    expect: PONG,
    closed: false,
  },
  {
    name: 'arguments under max_control_line, line split before its CRLF',
    steps: [Q + 'SUB ' + 'a'.repeat(252) + ' 1', { pause: 30 }, '\r\nPING\r\n'],
    expect: PONG,
    closed: false,
  },
  { name: 'arguments one byte over max_control_line', steps: [Q + 'SUB ' + 'a'.repeat(255) + ' 1\r\nPING\r\n'], expect: "-ERR 'maximum control line exceeded'\r\n", closed: true },
  { name: 'a long PING line is fine', steps: [Q + 'PING' + ' '.repeat(300) + '\r\nPING\r\n'], expect: PONG + PONG, closed: false },
  { name: 'a long -ERR line is over the limit', steps: [Q + '-ERR ' + 'x'.repeat(300) + '\r\n'], expect: "-ERR 'maximum control line exceeded'\r\n", closed: true },
  { name: 'a long INFO line is over the limit', steps: [Q + 'INFO ' + 'x'.repeat(300) + '\r\nPING\r\n'], expect: "-ERR 'maximum control line exceeded'\r\n", closed: true },
  {
    name: 'maximum subscriptions exceeded keeps the connection',
    steps: ['SUB a 1\r\nSUB b 2\r\nSUB c 3\r\nSUB d 4\r\nPING\r\n'],
    expect: "+OK\r\n+OK\r\n+OK\r\n-ERR 'maximum subscriptions exceeded'\r\nPONG\r\n",
    closed: false,
  },

  // ---- unknown and odd operations -----------------------------------------
  { name: 'unknown operation', steps: ['FOO\r\n'], expect: UNKNOWN, closed: true },
  { name: 'unknown operation without a newline', steps: ['x'], expect: UNKNOWN, closed: true },
  { name: 'MSG sent by a client', steps: [Q + 'MSG foo 1 0\r\n\r\n'], expect: UNKNOWN, closed: true },
  { name: 'an empty line', steps: [Q + '\r\nPING\r\n'], expect: UNKNOWN, closed: true },
  { name: 'leading spaces before an op', steps: [Q + '  PING\r\n'], expect: UNKNOWN, closed: true },
  { name: 'truncated keyword PIN', steps: ['PIN\r\n'], expect: UNKNOWN, closed: true },
  { name: 'PINGX counts as PING', steps: ['PINGX\r\nPING\r\n'], expect: PONG + PONG, closed: false },
  { name: 'a CR inside PING is ignored', steps: [Q + 'PING\rPING\r\n'], expect: PONG, closed: false, opts: { pongs: 1 } },
  {
    name: 'operations are case-insensitive',
    steps: ['connect {"verbose":false}\r\nsub foo 1\r\nsUb bar 2\r\nUnSuB 1\r\npub foo 1\r\na\r\nPuB bar 1\r\nb\r\nPiNg\r\n'],
    expect: 'MSG bar 2 1\r\nb\r\nPONG\r\n',
    closed: false,
  },
  { name: 'tabs and repeated spaces between arguments', steps: [Q + 'SUB\tfoo \t qb\t\t1\r\nPUB  foo   2 \r\nhi\r\nPING\r\n'], expect: 'MSG foo 1 2\r\nhi\r\nPONG\r\n', closed: false },
  { name: '-err without text is not an op', steps: [Q + '-err\r\nPING\r\n'], expect: UNKNOWN, closed: true },
  { name: 'INFO without arguments closes', steps: [Q + 'INFO\r\nPING\r\n'], expect: '', closed: true },
  { name: 'INFOX closes', steps: [Q + 'INFOX\r\nPING\r\n'], expect: '', closed: true },
  { name: 'PUBX is unknown', steps: [Q + 'PUBX foo 0\r\n\r\nPING\r\n'], expect: UNKNOWN, closed: true },
  { name: 'UNSUBX is unknown', steps: [Q + 'UNSUBX 1\r\nPING\r\n'], expect: UNKNOWN, closed: true },
  { name: 'PONGPONG counts as PONG', steps: [Q + 'PONGPONG\r\nPING\r\n'], expect: PONG, closed: false },
  { name: '+ok from a client is ignored', steps: [Q + '+ok\r\nPING\r\n'], expect: PONG, closed: false },
  { name: 'a tab before an op', steps: [Q + '\tPING\r\n'], expect: UNKNOWN, closed: true },
  { name: '-ERR from a client closes the connection', steps: ["-ERR 'oops'\r\nPING\r\n"], expect: '', closed: true },
  { name: '+OK from a client is ignored', steps: ['+OK\r\nPING\r\n'], expect: PONG, closed: false },
  { name: 'INFO from a client is ignored', steps: ['INFO {}\r\nPING\r\n'], expect: PONG, closed: false },
  { name: 'an unsolicited PONG is ignored', steps: ['CONNECT {"verbose":true}\r\nPONG\r\nPING\r\n'], expect: '+OK\r\nPONG\r\n', closed: false },

  // ---- subjects -------------------------------------------------------------
  { name: 'Invalid Subject keeps the connection', steps: [Q + 'SUB foo..bar 1\r\nPING\r\n'], expect: "-ERR 'Invalid Subject'\r\nPONG\r\n", closed: false },
  {
    name: 'more invalid subjects',
    steps: [Q + 'SUB .foo 1\r\nSUB foo. 2\r\nSUB >.foo 3\r\nSUB foo.>.bar 4\r\nSUB f*o 5\r\nPING\r\n'],
    expect: "-ERR 'Invalid Subject'\r\n".repeat(4) + PONG,
    closed: false,
  },
  {
    name: 'pedantic: wildcard publish subject is reported and still delivered',
    steps: [connect({ pedantic: true }) + 'SUB > 1\r\nPUB foo.* 1\r\na\r\nPING\r\n'],
    expect: "-ERR 'Invalid Publish Subject'\r\nMSG foo.* 1 1\r\na\r\nPONG\r\n",
    closed: false,
  },
  {
    name: 'pedantic + verbose: -ERR, +OK, then MSG',
    steps: ['CONNECT {"verbose":true,"pedantic":true}\r\nSUB > 1\r\nPUB foo.* 1\r\na\r\nPING\r\n'],
    expect: "+OK\r\n+OK\r\n-ERR 'Invalid Publish Subject'\r\n+OK\r\nMSG foo.* 1 1\r\na\r\nPONG\r\n",
    closed: false,
  },
  {
    name: 'pedantic off: a wildcard publish subject is delivered silently',
    steps: [connect({ pedantic: false }) + 'SUB > 1\r\nPUB foo.* 1\r\na\r\nPING\r\n'],
    expect: 'MSG foo.* 1 1\r\na\r\nPONG\r\n',
    closed: false,
  },
  {
    name: 'a publish subject with an empty token matches nothing',
    steps: [connect({ pedantic: false }) + 'SUB > 1\r\nPUB foo..x 1\r\nb\r\nPUB .x 1\r\nc\r\nPING\r\n'],
    expect: PONG,
    closed: false,
  },
  { name: 'subjects are case-sensitive', steps: [Q + 'SUB foo.bar 1\r\nPUB FOO.BAR 1\r\na\r\nPUB foo.bar 1\r\nb\r\nPING\r\n'], expect: 'MSG foo.bar 1 1\r\nb\r\nPONG\r\n', closed: false },
  { name: 'UTF-8 subjects pass through', steps: [Buffer.from(Q + 'SUB föö 1\r\nPUB föö 1\r\na\r\nPING\r\n', 'utf8')], expect: Buffer.from('MSG föö 1 1\r\na\r\nPONG\r\n', 'utf8').toString('latin1'), closed: false },
  {
    name: '* and > wildcards (one subscriber per connection)',
    steps: [
      on(0, Q + 'SUB foo.* 1\r\nPING\r\n'),
      on(1, Q + 'SUB foo.> 1\r\nPING\r\n'),
      on(2, Q + 'PUB foo 1\r\na\r\nPUB foo.bar 1\r\nb\r\nPUB foo.bar.baz 1\r\nc\r\nPING\r\n'),
      on(0, PING),
      on(1, PING),
    ],
    expect: PONG + 'MSG foo.bar 1 1\r\nb\r\n' + PONG,
    closed: false,
  },

  // ---- UNSUB ------------------------------------------------------------------
  { name: 'the sid is echoed as sent', steps: [Q + 'SUB foo 01\r\nSUB bar -1 \r\nPUB foo 1\r\na\r\nPUB bar 1\r\nb\r\nPING\r\n'], expect: 'MSG foo 01 1\r\na\r\nMSG bar -1 1\r\nb\r\nPONG\r\n', closed: false },
  { name: 'a second UNSUB of the same sid is acknowledged', steps: ['SUB foo 1\r\nUNSUB 1\r\nUNSUB 1\r\nPING\r\n'], expect: '+OK\r\n+OK\r\n+OK\r\nPONG\r\n', closed: false },
  { name: 'UNSUB of an unknown sid is acknowledged', steps: ['UNSUB 99\r\nPING\r\n'], expect: '+OK\r\nPONG\r\n', closed: false },
  { name: 'UNSUB stops delivery', steps: [Q + 'SUB foo 1\r\nSUB foo 2\r\nUNSUB 1\r\nPUB foo 1\r\na\r\nPING\r\n'], expect: 'MSG foo 2 1\r\na\r\nPONG\r\n', closed: false },
  {
    name: 'UNSUB with max delivers max messages then removes',
    steps: [Q + 'SUB foo 1\r\nUNSUB 1 2\r\nPUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nPUB foo 1\r\nc\r\nPING\r\n'],
    expect: 'MSG foo 1 1\r\na\r\nMSG foo 1 1\r\nb\r\nPONG\r\n',
    closed: false,
  },
  {
    name: 'UNSUB with max counts earlier deliveries',
    steps: [Q + 'SUB foo 1\r\nPUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nUNSUB 1 2\r\nPUB foo 1\r\nc\r\nSUB foo 1\r\nPUB foo 1\r\nd\r\nPING\r\n'],
    expect: 'MSG foo 1 1\r\na\r\nMSG foo 1 1\r\nb\r\nMSG foo 1 1\r\nd\r\nPONG\r\n',
    closed: false,
  },
  {
    name: 'a later UNSUB max replaces the earlier one',
    steps: [Q + 'SUB foo 1\r\nUNSUB 1 1\r\nUNSUB 1 3\r\nPUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nPUB foo 1\r\nc\r\nPUB foo 1\r\nd\r\nPING\r\n'],
    expect: 'MSG foo 1 1\r\na\r\nMSG foo 1 1\r\nb\r\nMSG foo 1 1\r\nc\r\nPONG\r\n',
    closed: false,
  },
  { name: 'UNSUB max 0 unsubscribes', steps: [Q + 'SUB foo 1\r\nUNSUB 1 0\r\nPUB foo 1\r\na\r\nPING\r\n'], expect: PONG, closed: false },
  { name: 'UNSUB with a non-numeric max unsubscribes', steps: [Q + 'SUB foo 1\r\nUNSUB 1 x\r\nPUB foo 1\r\na\r\nPING\r\n'], expect: PONG, closed: false },
  { name: 'UNSUB with no arguments', steps: ['UNSUB\r\n'], expect: UNKNOWN, closed: true },
  { name: 'UNSUB with too many arguments closes silently', steps: ['UNSUB 1 2 3\r\n'], expect: '', closed: true },
  {
    name: 'a reused sid keeps the first subscription',
    steps: [Q + 'SUB foo 1\r\nSUB bar 1\r\nPUB bar 1\r\nx\r\nPUB foo 1\r\ny\r\nPING\r\n'],
    expect: 'MSG foo 1 1\r\ny\r\nPONG\r\n',
    closed: false,
  },
  { name: 'a sid can be reused after UNSUB max ran out', steps: [Q + 'SUB foo 1\r\nUNSUB 1 1\r\nSUB foo 1\r\nPUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nPING\r\n'], expect: 'MSG foo 1 1\r\na\r\nPONG\r\n', closed: false },

  // ---- headers ------------------------------------------------------------------
  { name: 'HPUB without headers negotiated closes', steps: [Q + 'SUB foo 1\r\nHPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n'], expect: '', closed: true },
  { name: 'HPUB round trip', steps: [QH + 'SUB foo 1\r\nHPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n'], expect: 'HMSG foo 1 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPONG\r\n', closed: false },
  {
    name: 'HPUB with a reply and a header',
    steps: [QH + 'SUB foo 1\r\nHPUB foo r 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\nPING\r\n'],
    expect: 'HMSG foo 1 r 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\nPONG\r\n',
    closed: false,
  },
  { name: 'HPUB header size larger than total', steps: [QH + 'SUB foo 1\r\nHPUB foo 3 2\r\nhi\r\nPING\r\n'], expect: '', closed: true },
  { name: 'HPUB with only one size', steps: [QH + 'SUB foo 1\r\nHPUB foo 12\r\n'], expect: '', closed: true },
  { name: 'HPUB with a non-numeric header size', steps: [QH + 'HPUB foo x 14\r\n'], expect: '', closed: true },
  { name: 'HPUB with header size 0 is delivered as a plain MSG', steps: [QH + 'SUB foo 1\r\nHPUB foo 0 2\r\nhi\r\nPING\r\n'], expect: 'MSG foo 1 2\r\nhi\r\nPONG\r\n', closed: false },
  {
    name: 'HPUB to a subscriber without headers: MSG with the payload only',
    steps: [
      on(0, connect({ headers: false }) + 'SUB foo 1\r\nPING\r\n'),
      on(1, QH + 'HPUB foo 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\nHPUB foo r 12 12\r\nNATS/1.0\r\n\r\n\r\nPING\r\n'),
      on(0, PING),
    ],
    expect: PONG + 'MSG foo 1 2\r\nhi\r\nMSG foo 1 r 0\r\n\r\n' + PONG,
    closed: false,
  },
  {
    name: 'no responders: 503 status to the requester',
    steps: [connect({ headers: true, no_responders: true }) + 'SUB _INBOX.x 1\r\nPUB nobody _INBOX.x 0\r\n\r\nPING\r\n'],
    expect: 'HMSG _INBOX.x 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\nPONG\r\n',
    closed: false,
  },
  {
    name: 'no responders: nothing when someone listens',
    steps: [
      on(0, Q + 'SUB svc qc 1\r\nPING\r\n'),
      on(1, connect({ headers: true, no_responders: true }) + 'SUB inbox 1\r\nPUB svc inbox 0\r\n\r\nPING\r\n'),
      on(0, PING),
    ],
    expect: PONG + 'MSG svc 1 inbox 0\r\n\r\n' + PONG,
    closed: false,
  },
  {
    name: 'echo:false suppresses self-delivery only',
    steps: [
      on(0, connect({ echo: false }) + 'SUB foo 1\r\nPING\r\n'),
      on(1, Q + 'SUB foo 7\r\nPING\r\n'),
      on(0, 'PUB foo 1\r\na\r\nPING\r\n'),
      on(1, PING),
    ],
    expect: PONG + PONG,
    closed: false,
  },
  {
    name: 'delivery to another connection',
    steps: [on(0, Q + 'SUB foo 3\r\nPING\r\n'), on(1, Q + 'PUB foo reply 3\r\nabc\r\nPING\r\n'), on(0, PING)],
    expect: PONG + 'MSG foo 3 reply 3\r\nabc\r\n' + PONG,
    closed: false,
  },
];

const auth: Case[] = [
  { name: 'auth: INFO says auth_required; PING before CONNECT is a violation', steps: [PING], expect: "-ERR 'Authorization Violation'\r\n", closed: true },
  { name: 'auth: SUB before CONNECT', steps: ['SUB foo 1\r\n'], expect: "-ERR 'Authorization Violation'\r\n", closed: true },
  { name: 'auth: PUB before CONNECT', steps: ['PUB foo 0\r\n\r\n'], expect: "-ERR 'Authorization Violation'\r\n", closed: true },
  { name: 'auth: good user and password', steps: ['CONNECT {"user":"alice","pass":"s3cret"}\r\nPING\r\n'], expect: '+OK\r\nPONG\r\n', closed: false },
  { name: 'auth: bad password', steps: ['CONNECT {"user":"alice","pass":"nope"}\r\nPING\r\n'], expect: "-ERR 'Authorization Violation'\r\n", closed: true },
  { name: 'auth: unknown user', steps: ['CONNECT {"user":"bob","pass":"s3cret"}\r\nPING\r\n'], expect: "-ERR 'Authorization Violation'\r\n", closed: true },
  { name: 'auth: no credentials', steps: ['CONNECT {}\r\nPING\r\n'], expect: "-ERR 'Authorization Violation'\r\n", closed: true },
  { name: 'auth: a token instead of a password', steps: ['CONNECT {"auth_token":"s3cret"}\r\nPING\r\n'], expect: "-ERR 'Authorization Violation'\r\n", closed: true },
  {
    name: 'auth: a second CONNECT with bad credentials is a violation',
    steps: ['CONNECT {"user":"alice","pass":"s3cret"}\r\nCONNECT {"user":"alice","pass":"x"}\r\nPING\r\n'],
    expect: "+OK\r\n-ERR 'Authorization Violation'\r\n",
    closed: true,
  },
  { name: 'auth: bad JSON closes silently', steps: ['CONNECT {bad\r\n'], expect: '', closed: true },
  { name: 'auth: no CONNECT in time', steps: [], expect: "-ERR 'Authentication Timeout'\r\n", closed: true, opts: { pongs: 0, timeoutMs: 2000 } },
];

const token: Case[] = [
  { name: 'token: good token', steps: ['CONNECT {"verbose":false,"auth_token":"t0k"}\r\nPING\r\n'], expect: PONG, closed: false },
  { name: 'token: bad token', steps: ['CONNECT {"auth_token":"nope"}\r\nPING\r\n'], expect: "-ERR 'Authorization Violation'\r\n", closed: true },
  { name: 'token: token sent as a user name', steps: ['CONNECT {"user":"t0k"}\r\nPING\r\n'], expect: "-ERR 'Authorization Violation'\r\n", closed: true },
];

const maxconn: Case[] = [
  { name: 'maximum connections exceeded: INFO then -ERR, closed', steps: [PING], expect: "-ERR 'maximum connections exceeded'\r\n", closed: true, opts: { hold: 2 } },
  { name: 'below maximum connections', steps: [PING], expect: PONG, closed: false, opts: { hold: 1 } },
];

const noheaders: Case[] = [
  { name: 'no_header_support: INFO headers:false and HPUB closes', steps: [QH + 'SUB foo 1\r\nHPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n'], expect: '', closed: true },
  {
    name: 'no_header_support: no_responders is refused',
    steps: [connect({ headers: true, no_responders: true }) + PING],
    expect: "-ERR 'no responders requires headers support'\r\n",
    closed: true,
  },
];

const stale: Case[] = [
  { name: 'stale: two unanswered PINGs then Stale Connection', steps: [Q], expect: "PING\r\nPING\r\n-ERR 'Stale Connection'\r\n", closed: true, opts: { pongs: 0, timeoutMs: 2000 } },
];

const PROFILES: Profile[] = [
  { name: 'limits', opts: { max_payload: 1024, max_control_line: 256, max_subscriptions: 3 }, cases: base },
  { name: 'user/password', opts: { authorization: { user: 'alice', password: 's3cret' }, auth_timeout: 300 }, cases: auth },
  { name: 'token', opts: { authorization: { token: 't0k' } }, cases: token },
  { name: 'max_connections', opts: { max_connections: 2 }, cases: maxconn },
  { name: 'no_header_support', opts: { no_header_support: true }, cases: noheaders },
  { name: 'ping', opts: { ping_interval: 100, ping_max: 2 }, cases: stale },
];

function afterInfo(out: string): string {
  const nl = out.indexOf('\n');
  return nl >= 0 && out.startsWith('INFO ') ? out.slice(nl + 1) : out;
}

function describeResult(r: ReplayResult): string {
  return r.conns.map((c, i) => `  conn ${i} (${c.closed ? 'closed' : 'open'}):\n    ${visible(c.out).split('\n').join('\n    ')}`).join('\n');
}

for (const profile of PROFILES) {
  describe(`differential: ${profile.name}`, () => {
    let ref: RunningTarget;
    let nat: RunningTarget;
    before(async () => {
      [ref, nat] = await Promise.all([natsServerTarget.start(profile.opts), natterTarget.start(profile.opts)]);
    });
    after(async () => {
      await Promise.allSettled([ref?.stop(), nat?.stop()]);
    });
    for (const c of profile.cases) {
      it(c.name, async () => {
        const want = await replay(ref.port, c.steps, c.opts);
        // The case itself must say what the reference does.
        assert.equal(afterInfo(want.out), c.expect, `reference nats-server answered differently than the case expects (the case is wrong):\n${describeResult(want)}`);
        assert.equal(want.closed, c.closed, `reference nats-server ${want.closed ? 'closed' : 'kept'} the connection`);
        const got = await replay(nat.port, c.steps, c.opts);
        assert.deepEqual(
          got.conns,
          want.conns,
          `Natter differs from nats-server 2.9.10\n nats-server:\n${describeResult(want)}\n natter:\n${describeResult(got)}`,
        );
      });
    }
  });
}
