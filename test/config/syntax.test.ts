/** The NATS configuration syntax: separators, comments, values, structure, errors. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, PSEUDO_FILE } from '../../src/config/errors.js';
import { tokenize } from '../../src/config/lexer.js';
import { parseConfig, type ConfMap } from '../../src/config/parser.js';
import { SIZE_SUFFIXES } from '../../src/config/sizes.js';
import { assertAt, parseError, plain } from './helpers.js';

describe('key/value separators and terminators', () => {
  it('accepts =, : and white space between key and value', () => {
    assert.deepEqual(plain('a = 1\nb: 2\nc 3\nd=4\ne:5\nf\t6\n'), { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 });
  });

  it('accepts optional ; and , terminators, several entries on a line', () => {
    assert.deepEqual(plain('a = 1; b = 2, c = 3\nd = 4;\ne = 5,\n'), { a: 1, b: 2, c: 3, d: 4, e: 5 });
  });

  it('accepts a key whose value is on the next line when there is no separator', () => {
    assert.deepEqual(plain('a\n  1\n'), { a: 1 });
  });

  it('allows the value of a map entry on the line after its separator', () => {
    assert.deepEqual(plain('m {\n  a:\n    1\n}\n'), { m: { a: 1 } });
  });

  it('does not allow a top-level value on the line after its separator', () => {
    assertAt(parseError('a =\n1\n'), 1, 4, /new line/);
  });

  it('accepts quoted keys, double and single, taken literally', () => {
    assert.deepEqual(plain('"a b" = 1\n\'c:d\': 2\n"e\\n": 3\n'), { 'a b': 1, 'c:d': 2, 'e\\n': 3 });
  });

  it('lets a later duplicate key win', () => {
    assert.deepEqual(plain('a = 1\na = 2\n'), { a: 2 });
  });

  it('keeps __proto__ as an ordinary key', () => {
    const v = plain('__proto__ = 1\n');
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor(v, '__proto__')?.value, 1);
  });

  it('accepts CRLF line endings and a byte-order mark', () => {
    assert.deepEqual(plain('\uFEFFa = 1\r\nb {\r\n  c: "x"\r\n}\r\n'), { a: 1, b: { c: 'x' } });
  });

  it('accepts an empty document and one with only comments', () => {
    assert.deepEqual(plain(''), {});
    assert.deepEqual(plain('# nothing\n// here\n\n'), {});
  });
});

describe('comments', () => {
  it('skips # and // comments on their own lines and after values', () => {
    const text = '# hash\n// slashes\na = 1 # after\nb = 2 // after\nc {\n  # in map\n  d: 3 // after map value\n}\n';
    assert.deepEqual(plain(text), { a: 1, b: 2, c: { d: 3 } });
  });

  it('skips comments inside arrays', () => {
    assert.deepEqual(plain('a = [\n  1 # one\n  // nothing\n  2\n]\n'), { a: [1, 2] });
  });

  it('does not start a comment inside a value', () => {
    assert.deepEqual(plain('a = x#y\nb = "p # q"\nc = nats://h:4222//x\n'), {
      a: 'x#y',
      b: 'p # q',
      c: 'nats://h:4222//x',
    });
  });
});

describe('maps', () => {
  it('nests maps, with or without a separator before the brace', () => {
    assert.deepEqual(plain('a { b { c = 1 } }\nd = { e: 2 }\nf: {g: 3}\n'), {
      a: { b: { c: 1 } },
      d: { e: 2 },
      f: { g: 3 },
    });
  });

  it('separates map entries by new lines, commas or semicolons, with a trailing one allowed', () => {
    assert.deepEqual(plain('m { a: 1, b: 2; c: 3\n d: 4, }\n'), { m: { a: 1, b: 2, c: 3, d: 4 } });
  });

  it('accepts empty maps', () => {
    assert.deepEqual(plain('m {}\nn = {\n}\n'), { m: {}, n: {} });
  });

  it('reports a map that is never closed at the end of the input', () => {
    assertAt(parseError('a {\n  b: 1\n'), 3, 1, /missing '}'/);
  });

  it('reports a stray map value terminator', () => {
    assertAt(parseError('m { a: , }\n'), 1, 8, /expected a value for "a"/);
  });
});

describe('arrays', () => {
  it('separates elements by commas or new lines', () => {
    assert.deepEqual(plain('a = [1, 2, 3]\nb = [\n  x\n  y\n]\nc: [ "p", \'q\', r ]\n'), {
      a: [1, 2, 3],
      b: ['x', 'y'],
      c: ['p', 'q', 'r'],
    });
  });

  it('nests arrays and maps and allows a trailing comma', () => {
    assert.deepEqual(plain('a = [[1, 2], [3], [], {x: 1}, {y: [2]},]\n'), {
      a: [[1, 2], [3], [], { x: 1 }, { y: [2] }],
    });
  });

  it('reads numbers right before the closing bracket as numbers', () => {
    // nats-server 2.9/2.10 fail on `[1]`; we read what was meant.
    assert.deepEqual(plain('a = [1]\nb = [1k]\nc = [1.5]\n'), { a: [1], b: [1000], c: [1.5] });
  });

  it('reports a missing element and an unclosed array with positions', () => {
    assertAt(parseError('a = [1,,2]\n'), 1, 8, /element is missing/);
    assertAt(parseError('a = [1, 2\n'), 2, 1, /missing '\]'/);
    assertAt(parseError('a = [1 2]\n'), 1, 8, /after an array element/);
  });
});

describe('strings', () => {
  it('decodes the escapes of double-quoted strings', () => {
    assert.deepEqual(plain('s = "tab\\tnl\\ncr\\rq\\"bs\\\\hex\\x41"\n'), { s: 'tab\tnl\ncr\rq"bs\\hexA' });
  });

  it('decodes \\x escapes as UTF-8 bytes', () => {
    assert.deepEqual(plain('s = "\\xE2\\x82\\xAC"\n'), { s: '\u20ac' });
  });

  it('keeps single-quoted strings verbatim', () => {
    assert.deepEqual(plain("s = 'C:\\dir\\n $HOME'\n"), { s: 'C:\\dir\\n $HOME' });
  });

  it('lets quoted strings span lines', () => {
    assert.deepEqual(plain('s = "a\nb"\nt = \'c\nd\'\n'), { s: 'a\nb', t: 'c\nd' });
  });

  it('reads unquoted strings up to white space or a terminator', () => {
    assert.deepEqual(plain('a = hello\nb = /var/log/nats.log;\nc = nats://u:p@host:4222\nd = [x,y]\n'), {
      a: 'hello',
      b: '/var/log/nats.log',
      c: 'nats://u:p@host:4222',
      d: ['x', 'y'],
    });
  });

  it('does not expand variables inside quoted strings', () => {
    assert.deepEqual(plain('a = "$HOME"\nb = \'$HOME\'\n', { HOME: '/root' }), { a: '$HOME', b: '$HOME' });
  });

  it('reads ( ... ) blocks verbatim up to a ) alone on a line', () => {
    assert.deepEqual(plain('b = (\nline one\n  (nested) text)\n)\nc = 1\n'), {
      b: '\nline one\n  (nested) text)\n',
      c: 1,
    });
  });

  it('reports unterminated strings at their start', () => {
    assertAt(parseError('a = 1\nb = "abc\n'), 2, 5, /unterminated double-quoted/);
    assertAt(parseError("b = 'abc\n"), 1, 5, /unterminated single-quoted/);
  });

  it('reports invalid escapes at the backslash', () => {
    assertAt(parseError('s = "a\\qb"\n'), 1, 7, /invalid escape character 'q'/);
    assertAt(parseError('s = "\\xZZ"\n'), 1, 6, /hexadecimal/);
  });
});

describe('booleans', () => {
  const words: [string, boolean][] = [
    ['true', true],
    ['false', false],
    ['yes', true],
    ['no', false],
    ['on', true],
    ['off', false],
  ];
  for (const [word, value] of words) {
    it(`reads ${word} in any case as ${value}`, () => {
      for (const spelled of [word, word.toUpperCase(), word[0].toUpperCase() + word.slice(1)]) {
        assert.deepEqual(plain(`b = ${spelled}\n`), { b: value }, spelled);
      }
    });
  }

  it('keeps quoted boolean words as strings', () => {
    assert.deepEqual(plain('a = "true"\nb = \'off\'\nc = truely\n'), { a: 'true', b: 'off', c: 'truely' });
  });
});

describe('numbers', () => {
  it('reads integers, negative integers and floats', () => {
    assert.deepEqual(plain('a = 42\nb = -7\nc = 1.5\nd = -0.25\ne = 0\n'), { a: 42, b: -7, c: 1.5, d: -0.25, e: 0 });
  });

  it('reads dotted quads and host:port that start with digits as strings', () => {
    assert.deepEqual(plain('a = 127.0.0.1\nb = 10.0.0.1:4222\n'), { a: '127.0.0.1', b: '10.0.0.1:4222' });
  });

  it('reads words that start with digits as strings', () => {
    assert.deepEqual(plain('a = 10s\nb = 500ms\nc = 1mx\nd = 4222abc\ne = 1:2\n'), {
      a: '10s',
      b: '500ms',
      c: '1mx',
      d: '4222abc',
      e: '1:2',
    });
  });

  it('reads 2m unquoted as two million, not two minutes', () => {
    assert.deepEqual(plain('a = 2m\n'), { a: 2_000_000 });
  });

  it('reports bad numbers at the offending character', () => {
    assertAt(parseError('a = 1.x\n'), 1, 7, /digit after the '\.'/);
    assertAt(parseError('a = -x\n'), 1, 6, /digit after '-'/);
    assertAt(parseError('a = .5\n'), 1, 5, /start with a digit/);
    assertAt(parseError('a = 1.5s\n'), 1, 8, /after a top-level value/);
  });

  it('refuses integers beyond exact JavaScript range', () => {
    assertAt(parseError('a = 99999999999999999999\n'), 1, 5, /out of the range/);
    assertAt(parseError('a = 8E\n'), 1, 5, /out of the range/);
  });

  it('refuses unknown suffix combinations', () => {
    assertAt(parseError('a = 1kbb\n'), 1, 5, /unknown size suffix/);
  });
});

describe('size suffixes', () => {
  // nats-server: a single letter is decimal; kb/ki/kib (and so on) are binary.
  const table: [string, number][] = [
    ['', 1],
    ['k', 1e3],
    ['kb', 1024],
    ['ki', 1024],
    ['kib', 1024],
    ['m', 1e6],
    ['mb', 1024 ** 2],
    ['mi', 1024 ** 2],
    ['mib', 1024 ** 2],
    ['g', 1e9],
    ['gb', 1024 ** 3],
    ['gi', 1024 ** 3],
    ['gib', 1024 ** 3],
    ['t', 1e12],
    ['tb', 1024 ** 4],
    ['ti', 1024 ** 4],
    ['tib', 1024 ** 4],
    ['p', 1e15],
    ['pb', 1024 ** 5],
    ['pi', 1024 ** 5],
    ['pib', 1024 ** 5],
    ['e', 1e18],
    ['eb', 1024 ** 6],
    ['ei', 1024 ** 6],
    ['eib', 1024 ** 6],
  ];

  it('has exactly the nats-server suffixes', () => {
    assert.deepEqual(
      [...SIZE_SUFFIXES.keys()].sort(),
      table.map(([s]) => s).sort(),
    );
    for (const [suffix, mult] of table) assert.equal(Number(SIZE_SUFFIXES.get(suffix)), mult, suffix);
  });

  it('applies every suffix in lower, upper and mixed case', () => {
    for (const [suffix, mult] of table) {
      if (mult > Number.MAX_SAFE_INTEGER) continue;
      const mixed = suffix.charAt(0).toUpperCase() + suffix.slice(1);
      for (const spelled of new Set([suffix, suffix.toUpperCase(), mixed])) {
        assert.deepEqual(plain(`v = 3${spelled}\n`), { v: 3 * mult }, `3${spelled}`);
      }
    }
  });

  it('reads the common spellings', () => {
    assert.deepEqual(plain('a = 10Gi\nb = 1MB\nc = 512k\nd = 64MiB\ne = -2K\nf = 8mb;\n'), {
      a: 10 * 1024 ** 3,
      b: 1024 ** 2,
      c: 512_000,
      d: 64 * 1024 ** 2,
      e: -2000,
      f: 8 * 1024 ** 2,
    });
  });
});

describe('datetimes', () => {
  it('reads ISO8601 Zulu datetimes', () => {
    const v = plain('t = 2006-01-02T15:04:05Z\n');
    assert.ok(v.t instanceof Date);
    assert.equal(v.t.toISOString(), '2006-01-02T15:04:05.000Z');
  });

  it('refuses partial or impossible datetimes with positions', () => {
    assertAt(parseError('x: 2006-01-02\n'), 1, 14, /expected 'T'/);
    assertAt(parseError('x: 2006-1-02T15:04:05Z\n'), 1, 10, /expected a digit/);
    assertAt(parseError('x: 2023-02-30T00:00:00Z\n'), 1, 4, /Zulu/);
    assertAt(parseError('x: 12-3\n'), 1, 4, /ISO8601/);
  });
});

describe('error positions and messages', () => {
  it('formats messages as <file>:<line>:<col>: <problem> with a pseudo name for text', () => {
    const err = parseError('port: 4222 4223\n');
    assert.ok(err instanceof ConfigError);
    assert.equal(err.file, PSEUDO_FILE);
    assertAt(err, 1, 12);
    assert.equal(err.message, `${PSEUDO_FILE}:1:12: ${err.problem}`);
  });

  it('uses the given file name', () => {
    const err = parseError('a {\n\tb = [1,\n\t\t,]\n}\n', {}, 'my.conf');
    assert.equal(err.file, 'my.conf');
    assertAt(err, 3, 3, /element is missing/);
    assert.match(err.message, /^my\.conf:3:3: /);
  });

  it('reports a key separator where a key is expected', () => {
    assertAt(parseError('a = 1\n  = 1\n'), 2, 3, /key separator/);
  });

  it('reports a key without a value', () => {
    assertAt(parseError('a = 1\n  lonely\n'), 2, 3, /"lonely" has no value/);
  });
});

describe('positions of values', () => {
  it('keeps the line and column of keys and values, nested ones included', () => {
    const root = parseConfig('a = 1\nm {\n  b: "x"\n  c: [1, {d: true}]\n}\n', 'pos.conf');
    const a = root.entries.get('a');
    assert.deepEqual(a?.keyPos, { file: 'pos.conf', line: 1, col: 1 });
    assert.deepEqual(a?.value.pos, { file: 'pos.conf', line: 1, col: 5 });
    const m = root.entries.get('m')?.value as ConfMap;
    assert.equal(m.kind, 'map');
    assert.deepEqual(m.pos, { file: 'pos.conf', line: 2, col: 3 });
    const b = m.entries.get('b');
    assert.deepEqual([b?.keyPos.line, b?.keyPos.col, b?.value.pos.col], [3, 3, 6]);
    const c = m.entries.get('c')?.value;
    assert.ok(c?.kind === 'array');
    const d = c.items[1];
    assert.ok(d.kind === 'map');
    assert.deepEqual(d.entries.get('d')?.value.pos, { file: 'pos.conf', line: 4, col: 14 });
  });

  it('emits tokens with positions', () => {
    const kinds = tokenize('a: [1, x]\n').map((t) => `${t.kind}@${t.pos.line}:${t.pos.col}`);
    assert.deepEqual(kinds, ['key@1:1', 'arrayStart@1:4', 'integer@1:5', 'string@1:8', 'arrayEnd@1:9', 'eof@2:1']);
  });
});
