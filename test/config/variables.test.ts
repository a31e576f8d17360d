/** $variables: block scoping, the environment, cycles, bcrypt hashes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/parser.js';
import { assertAt, parseError, plain } from './helpers.js';

describe('variables defined in the file', () => {
  it('resolves a key defined earlier at the top level', () => {
    assert.deepEqual(plain('PORT = 4222\nport = $PORT\nname = $PORT\n'), { PORT: 4222, port: 4222, name: 4222 });
  });

  it('keeps the type of the referenced value, maps and arrays included', () => {
    assert.deepEqual(plain('L = [1, 2]\nM { x: "y" }\na = $L\nb = $M\nc = [$L, $M]\n'), {
      L: [1, 2],
      M: { x: 'y' },
      a: [1, 2],
      b: { x: 'y' },
      c: [[1, 2], { x: 'y' }],
    });
  });

  it('scopes variables to their block: inner definitions shadow outer ones', () => {
    const text = 'v = outer\nm {\n  v = inner\n  a = $v\n}\nb = $v\n';
    assert.deepEqual(plain(text), { v: 'outer', m: { v: 'inner', a: 'inner' }, b: 'outer' });
  });

  it('sees outer definitions from nested blocks and arrays', () => {
    const text = 'pw = secret\nauthorization {\n  users = [\n    {user: a, password: $pw}\n  ]\n}\n';
    assert.deepEqual(plain(text), { pw: 'secret', authorization: { users: [{ user: 'a', password: 'secret' }] } });
  });

  it('does not see a block variable outside its block', () => {
    assertAt(parseError('m {\n  inner = 1\n}\nb = $inner\n'), 4, 5, /'inner' can not be found/);
  });

  it('only sees keys defined before the reference', () => {
    assertAt(parseError('a = $b\nb = 1\n'), 1, 5, /'b' can not be found/);
  });

  it('makes a self-reference an error, not a loop', () => {
    assertAt(parseError('a = $a\n'), 1, 5, /'a' can not be found/);
  });

  it('reads a variable as the value after an earlier redefinition', () => {
    assert.deepEqual(plain('a = 1\na = $a\n'), { a: 1 });
  });

  it('gives the resolved value the position of the reference', () => {
    const root = parseConfig('P = "x"\n\nname = $P\n', 'v.conf');
    const node = root.entries.get('name')?.value;
    assert.deepEqual(node?.pos, { file: 'v.conf', line: 3, col: 8 });
    assert.equal(node?.variable, 'P');
  });

  it('marks entries used as variables', () => {
    const root = parseConfig('A = 1\nB = 2\nc = $A\n');
    assert.equal(root.entries.get('A')?.usedAsVariable, true);
    assert.equal(root.entries.get('B')?.usedAsVariable, false);
  });
});

describe('environment variables', () => {
  it('falls back to the environment', () => {
    assert.deepEqual(plain('name = $SERVER_NAME\n', { SERVER_NAME: 'nats-0' }), { name: 'nats-0' });
  });

  it('prefers a definition in the file over the environment', () => {
    assert.deepEqual(plain('X = file\na = $X\n', { X: 'env' }), { X: 'file', a: 'file' });
  });

  it('parses environment values as configuration values', () => {
    const env = { P: '4222', S: '10Gi', B: 'true', Q: '"quoted # not a comment"', F: '1.5', L: '[1, 2]', M: '{a: 1}' };
    assert.deepEqual(plain('p=$P\ns=$S\nb=$B\nq=$Q\nf=$F\nl=$L\nm=$M\n', env), {
      p: 4222,
      s: 10 * 1024 ** 3,
      b: true,
      q: 'quoted # not a comment',
      f: 1.5,
      l: [1, 2],
      m: { a: 1 },
    });
  });

  it('reads an empty environment variable as an empty string', () => {
    assert.deepEqual(plain('a = $E\n', { E: '' }), { a: '' });
  });

  it('follows an environment variable that refers to another', () => {
    assert.deepEqual(plain('a = $A\n', { A: '$B', B: '7' }), { a: 7 });
  });

  it('reports a variable referring to itself through the environment', () => {
    const err = parseError('a = $A\n', { A: '$A' });
    assertAt(err, 1, 5, /cycle/);
    assert.match(err.message, /\$A -> \$A/);
  });

  it('reports longer environment cycles', () => {
    const err = parseError('x = 1\na = $A\n', { A: '$B', B: '[1, $C]', C: '$A' });
    assertAt(err, 2, 5);
    assert.match(err.message, /variable reference cycle for 'A' \(\$A -> \$B -> \$C -> \$A\)/);
  });

  it('reports an environment value that does not parse', () => {
    const err = parseError('a = $BAD\n', { BAD: '"unterminated' });
    assertAt(err, 1, 5, /'BAD' could not be parsed/);
    assert.match(err.message, /env:BAD:1:1: unterminated double-quoted string/);
  });

  it('reports an undefined variable at the reference', () => {
    assertAt(parseError('a = 1\nb {\n  c = $NATTER_SURELY_UNDEFINED\n}\n'), 3, 7, /can not be found/);
  });

  it('uses process.env by default', () => {
    const name = 'NATTER_CONFIG_TEST_VAR';
    process.env[name] = '99';
    try {
      const root = parseConfig(`a = $${name}\n`);
      const a = root.entries.get('a')?.value;
      assert.equal(a?.kind === 'integer' ? a.value : undefined, 99);
    } finally {
      delete process.env[name];
    }
  });
});

describe('bcrypt hashes', () => {
  const hash = '$2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.xtiHyG';

  it('reads unquoted $2a$ hashes as strings', () => {
    assert.deepEqual(plain(`password = ${hash}\n`), { password: hash });
  });

  it('reads unquoted $2b$ and $2y$ hashes as strings too', () => {
    assert.deepEqual(plain('a = $2b$10$abc\nb = $2y$10$def\n'), { a: '$2b$10$abc', b: '$2y$10$def' });
  });

  it('reads them inside user lists', () => {
    const text = `authorization {\n  users = [\n    {user: alice, password: ${hash}}\n  ]\n}\n`;
    assert.deepEqual(plain(text), { authorization: { users: [{ user: 'alice', password: hash }] } });
  });

  it('keeps the hash when it is defined as a variable and referenced', () => {
    assert.deepEqual(plain(`PASS: ${hash}\nauthorization { password: $PASS }\n`), {
      PASS: hash,
      authorization: { password: hash },
    });
  });
});
