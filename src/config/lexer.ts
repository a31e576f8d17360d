/**
 * Tokenizer for the NATS configuration format (the format nats-server 2.9 and
 * 2.10 read with `-c`).
 *
 * The format is context sensitive: what ends an unquoted word depends on
 * whether we are reading a key, a top-level value, a map value or an array
 * element, and `include` is only a keyword in key position. So instead of a
 * context-free scanner this is a small recursive-descent reader that knows
 * where it is structurally and emits a flat token list (keys, scalars,
 * variable references, include directives and the brackets of maps and
 * arrays). The parser then builds values, resolves variables and includes.
 *
 * Where nats-server's lexer has outright bugs we do the sensible thing
 * instead, and say so next to the code; everything nats-server accepts on
 * purpose is accepted here with the same meaning.
 */
import { ConfigError, PSEUDO_FILE, type SourcePos } from './errors.js';

export type TokenKind =
  | 'key'
  | 'string'
  | 'bool'
  | 'integer'
  | 'float'
  | 'datetime'
  | 'variable'
  | 'include'
  | 'arrayStart'
  | 'arrayEnd'
  | 'mapStart'
  | 'mapEnd'
  | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /**
   * key: the key; string: the decoded text; bool/integer/float/datetime: the
   * source text; variable: the name without `$`; include: the file name.
   */
  readonly text: string;
  readonly pos: SourcePos;
}

/** Tokens of a whole configuration document. */
export function tokenize(src: string, file: string = PSEUDO_FILE): Token[] {
  const lx = new Lexer(src, file);
  lx.document();
  return lx.tokens;
}

/**
 * Tokens of a single value, as found in an environment variable that a
 * `$NAME` reference expands to. Trailing blanks, comments and one terminator
 * are allowed; anything else after the value is an error.
 */
export function tokenizeValue(src: string, file: string): Token[] {
  const lx = new Lexer(src, file);
  lx.singleValue();
  return lx.tokens;
}

/** Unquoted words that are booleans (compared case-insensitively). */
export const BOOL_WORDS: ReadonlyMap<string, boolean> = new Map([
  ['true', true],
  ['yes', true],
  ['on', true],
  ['false', false],
  ['no', false],
  ['off', false],
]);

type Body = 'top' | 'map';

const isSpace = (c: string): boolean => c !== '' && c !== '\uFEFF' && /\s/.test(c);
const isBlank = (c: string): boolean => c === ' ' || c === '\t';
const isNL = (c: string): boolean => c === '\n' || c === '\r';
const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isHex = (c: string): boolean => /^[0-9a-fA-F]$/.test(c);
/** First letter of a size suffix: k, m, g, t, p, e (either case). */
const isSuffixStart = (c: string): boolean => c !== '' && 'kKmMgGtTpPeE'.includes(c);
/** Letters that may follow the first suffix letter: the b of kb and the i/b of ki/kib. */
const isSuffixTail = (c: string): boolean => c !== '' && 'bBiI'.includes(c);

/** Characters that end an unquoted value (the quote is handled separately). */
const endsUnquoted = (c: string): boolean =>
  c === '' || isNL(c) || isBlank(c) || c === ';' || c === ',' || c === ']' || c === '}';

/** Characters after which a number stands as a number rather than starting a word. */
const endsNumber = (c: string): boolean =>
  // nats-server does not list ']' here, so `[1]` and `[1, 2]` fail to parse
  // there ("expected an array value terminator"); ending the number at ']' is
  // what anyone writing an array of numbers means.
  c === '' || isNL(c) || isBlank(c) || c === ';' || c === ',' || c === '}' || c === ']';

function show(c: string): string {
  if (c === '') return 'end of input';
  if (c === '\n') return "'\\n'";
  if (c === '\r') return "'\\r'";
  if (c === '\t') return "'\\t'";
  return `'${c}'`;
}

const DATETIME_SHAPE = '0000-00-00T00:00:00Z';

class Lexer {
  readonly tokens: Token[] = [];
  private i = 0;
  private line = 1;
  private lineStart = 0;

  constructor(
    private readonly src: string,
    private readonly file: string,
  ) {
    // Editors on some platforms write a byte-order mark; it is not content.
    if (src.charCodeAt(0) === 0xfeff) {
      this.i = 1;
      this.lineStart = 1;
    }
  }

  // ---- entry points -------------------------------------------------------

  document(): void {
    this.body('top');
    this.emit('eof', '', this.here());
  }

  singleValue(): void {
    this.value();
    this.valueEnd('top');
    for (;;) {
      this.skipSpace();
      const c = this.peek();
      if (c === '') break;
      if (this.atComment()) {
        this.skipComment();
        continue;
      }
      throw this.fail(`unexpected ${show(c)} after the value`);
    }
    this.emit('eof', '', this.here());
  }

  // ---- character access ---------------------------------------------------

  private peek(ahead = 0): string {
    return this.src.charAt(this.i + ahead);
  }

  private advance(): string {
    const c = this.src.charAt(this.i);
    if (c === '') return c;
    this.i++;
    if (c === '\n') {
      this.line++;
      this.lineStart = this.i;
    }
    return c;
  }

  private advanceTo(end: number): void {
    while (this.i < end) this.advance();
  }

  private here(): SourcePos {
    return { file: this.file, line: this.line, col: this.i - this.lineStart + 1 };
  }

  /** Position of a character ahead on the current line. */
  private ahead(n: number): SourcePos {
    return { file: this.file, line: this.line, col: this.i + n - this.lineStart + 1 };
  }

  private fail(problem: string, pos: SourcePos = this.here()): ConfigError {
    return new ConfigError(pos, problem);
  }

  private emit(kind: TokenKind, text: string, pos: SourcePos): void {
    this.tokens.push({ kind, text, pos });
  }

  private skipSpace(): void {
    while (isSpace(this.peek())) this.advance();
  }

  private skipBlanks(): void {
    while (isBlank(this.peek())) this.advance();
  }

  private atComment(): boolean {
    const c = this.peek();
    return c === '#' || (c === '/' && this.peek(1) === '/');
  }

  /** Skips a comment up to, not including, the end of its line. */
  private skipComment(): void {
    for (let c = this.peek(); c !== '' && !isNL(c); c = this.peek()) this.advance();
  }

  // ---- structure ----------------------------------------------------------

  /**
   * A sequence of key/value entries: the whole document, or the inside of a
   * map up to and including its '}'.
   *
   * At the top level, braces around entries are transparent: that is what
   * lets a JSON document (the Helm chart's form) be a configuration. Like
   * nats-server we do not insist that they balance.
   */
  private body(kind: Body): void {
    for (;;) {
      this.skipSpace();
      const c = this.peek();
      if (c === '') {
        if (kind === 'map') throw this.fail("unexpected end of input inside a map (missing '}')");
        return;
      }
      if (this.atComment()) {
        this.skipComment();
        continue;
      }
      if (c === '}') {
        const pos = this.here();
        this.advance();
        if (kind === 'map') {
          this.emit('mapEnd', '}', pos);
          return;
        }
        continue;
      }
      if (c === '{') {
        if (kind === 'top') {
          this.advance();
          continue;
        }
        throw this.fail("unexpected '{' where a key was expected");
      }
      if (c === '=' || c === ':') throw this.fail(`unexpected key separator '${c}' where a key was expected`);
      if (c === '[' || c === ']' || c === ',' || c === ';') {
        throw this.fail(`unexpected '${c}' where a key was expected`);
      }
      if (this.entry(kind)) return;
    }
  }

  /**
   * One `key [=|:] value` entry or an `include` directive, plus what ends it.
   * Returns true when the entry's terminator was the '}' closing a map.
   */
  private entry(kind: Body): boolean {
    const keyPos = this.here();
    let key: string;
    let quoted = false;
    const q = this.peek();
    if (q === '"' || q === "'") {
      // Quoted keys are taken literally: no escapes, as in nats-server.
      quoted = true;
      this.advance();
      const start = this.i;
      while (this.peek() !== q) {
        if (this.peek() === '') throw this.fail('unexpected end of input in a quoted key', keyPos);
        this.advance();
      }
      key = this.src.slice(start, this.i);
      this.advance();
    } else {
      const start = this.i;
      for (let c = this.peek(); c !== '' && !isSpace(c) && c !== '=' && c !== ':'; c = this.peek()) {
        this.advance();
      }
      key = this.src.slice(start, this.i);
    }

    // `include` is a keyword only unquoted and followed by white space;
    // `include: x` is an ordinary (unknown) key.
    if (!quoted && key.toLowerCase() === 'include' && isSpace(this.peek())) {
      this.include();
      return this.valueEnd(kind);
    }

    this.emit('key', key, keyPos);

    // Between a key and its separator (or value) any white space, new lines
    // included, is allowed.
    this.skipSpace();
    const c = this.peek();
    if (c === '') throw this.fail(`key "${key}" has no value`, keyPos);
    if (c === '=' || c === ':') {
      this.advance();
      // After a separator a top-level value must start on the same line; in
      // a map it may start on a later one (both as nats-server).
      if (kind === 'map') this.skipSpace();
    }
    this.value(key);
    return this.valueEnd(kind);
  }

  /** The file name after an `include` keyword. */
  private include(): void {
    this.skipBlanks();
    const pos = this.here();
    const c = this.peek();
    if (c === '"' || c === "'") {
      this.advance();
      const start = this.i;
      while (this.peek() !== c) {
        if (this.peek() === '') throw this.fail('unexpected end of input in a quoted include file name', pos);
        this.advance();
      }
      const name = this.src.slice(start, this.i);
      this.advance();
      this.emit('include', name, pos);
      return;
    }
    if (c === '' || isNL(c) || c === '[' || c === '{' || c === '(' || c === '\\' || c === '-' || isDigit(c)) {
      throw this.fail(`expected an include file name, found ${show(c)}`);
    }
    const start = this.i;
    for (let d = this.peek(); !(d === '' || isNL(d) || isBlank(d) || d === ';' || d === '}' || d === "'"); d = this.peek()) {
      this.advance();
    }
    const name = this.src.slice(start, this.i);
    // nats-server ends an unquoted include name at a single quote and drops it.
    if (this.peek() === "'") this.advance();
    this.emit('include', name, pos);
  }

  /**
   * What may follow a value or include at the top level or in a map: blanks,
   * a comment, then a new line, ';' or ','; or the end of the input (top
   * level) or the map's '}'. Returns true when a map was closed.
   */
  private valueEnd(kind: Body): boolean {
    for (;;) {
      this.skipBlanks();
      const c = this.peek();
      if (this.atComment()) {
        this.skipComment();
        continue;
      }
      if (isNL(c) || c === ';' || c === ',') {
        this.advance();
        return false;
      }
      if (c === '}') {
        const pos = this.here();
        this.advance();
        if (kind === 'map') {
          this.emit('mapEnd', '}', pos);
          return true;
        }
        // A '}' after a top-level value closes a transparent brace group.
        return false;
      }
      if (c === '') {
        if (kind === 'map') throw this.fail("unexpected end of input inside a map (missing '}')");
        return false;
      }
      throw this.fail(
        kind === 'map'
          ? `expected ',', ';', a new line or '}' after a map value, found ${show(c)}`
          : `expected a new line, ';', ',' or a comment after a top-level value, found ${show(c)}`,
      );
    }
  }

  private array(): void {
    for (;;) {
      this.skipSpace();
      const c = this.peek();
      if (c === '') throw this.fail("unexpected end of input inside an array (missing ']')");
      if (this.atComment()) {
        this.skipComment();
        continue;
      }
      if (c === ',') throw this.fail("unexpected ',' in an array: an element is missing");
      if (c === ']') {
        this.emit('arrayEnd', ']', this.here());
        this.advance();
        return;
      }
      this.value();
      if (this.elementEnd()) return;
    }
  }

  /** After an array element: ',' or a new line, or ']'. Returns true at ']'. */
  private elementEnd(): boolean {
    for (;;) {
      this.skipBlanks();
      const c = this.peek();
      if (this.atComment()) {
        this.skipComment();
        continue;
      }
      if (c === ',' || isNL(c)) {
        this.advance();
        return false;
      }
      if (c === ']') {
        this.emit('arrayEnd', ']', this.here());
        this.advance();
        return true;
      }
      if (c === '') throw this.fail("unexpected end of input inside an array (missing ']')");
      throw this.fail(`expected ',', a new line or ']' after an array element, found ${show(c)}`);
    }
  }

  // ---- values -------------------------------------------------------------

  private value(key?: string): void {
    this.skipBlanks();
    const pos = this.here();
    const c = this.peek();
    const what = key === undefined ? 'a value' : `a value for "${key}"`;
    if (c === '') throw this.fail(`expected ${what}, found end of input`);
    if (isNL(c)) throw this.fail(`expected ${what}, found a new line`);
    if (c === ',' || c === ';' || c === ']' || c === '}') throw this.fail(`expected ${what}, found '${c}'`);
    switch (c) {
      case '[':
        this.advance();
        this.emit('arrayStart', '[', pos);
        this.array();
        return;
      case '{':
        this.advance();
        this.emit('mapStart', '{', pos);
        this.body('map');
        return;
      case "'":
        this.singleQuoted(pos);
        return;
      case '"':
        this.doubleQuoted(pos);
        return;
      case '(':
        this.parenBlock(pos);
        return;
      case '-':
        this.negativeNumber(pos);
        return;
      case '.':
        throw this.fail('floats must start with a digit');
    }
    if (isDigit(c)) {
      this.number(pos);
      return;
    }
    this.unquoted(pos);
  }

  /** 'text': taken literally, may span lines. */
  private singleQuoted(pos: SourcePos): void {
    this.advance();
    const start = this.i;
    while (this.peek() !== "'") {
      if (this.peek() === '') throw this.fail('unterminated single-quoted string', pos);
      this.advance();
    }
    const text = this.src.slice(start, this.i);
    this.advance();
    this.emit('string', text, pos);
  }

  /** "text" with \t \n \r \" \\ and \xHH escapes; may span lines. */
  private doubleQuoted(pos: SourcePos): void {
    this.advance();
    const out = new TextBuilder();
    for (;;) {
      const c = this.peek();
      if (c === '') throw this.fail('unterminated double-quoted string', pos);
      if (c === '"') {
        this.advance();
        break;
      }
      if (c === '\\') {
        this.escape(out);
        continue;
      }
      const start = this.i;
      while (this.peek() !== '' && this.peek() !== '"' && this.peek() !== '\\') this.advance();
      out.text(this.src.slice(start, this.i));
    }
    this.emit('string', out.finish(), pos);
  }

  /** An escape sequence; the cursor is on the backslash. */
  private escape(out: TextBuilder): void {
    const at = this.here();
    this.advance();
    const e = this.advance();
    switch (e) {
      case 't':
        out.text('\t');
        return;
      case 'n':
        out.text('\n');
        return;
      case 'r':
        out.text('\r');
        return;
      case '"':
        out.text('"');
        return;
      case '\\':
        out.text('\\');
        return;
      case 'x': {
        const h1 = this.peek();
        const h2 = this.peek(1);
        if (h1 === '' || h2 === '' || isNL(h1) || isNL(h2)) {
          throw this.fail("expected two hexadecimal digits after '\\x', but hit the end of the line", at);
        }
        if (!isHex(h1) || !isHex(h2)) {
          throw this.fail(`expected two hexadecimal digits after '\\x', but got '${h1}${h2}'`, at);
        }
        this.advance();
        this.advance();
        // Bytes, not characters: "\xE2\x82\xAC" is one UTF-8 encoded character.
        out.byte(parseInt(h1 + h2, 16));
        return;
      }
    }
    throw this.fail(
      `invalid escape character ${show(e)}; only \\xXX, \\t, \\n, \\r, \\" and \\\\ are allowed`,
      at,
    );
  }

  /**
   * `( ... )` block: everything up to a ')' that stands alone on its line,
   * kept verbatim (the new line before the ')' included, as nats-server).
   */
  private parenBlock(pos: SourcePos): void {
    this.advance();
    const start = this.i;
    let close = -1;
    for (let k = this.src.indexOf(')', start); k >= 0; k = this.src.indexOf(')', k + 1)) {
      const before = this.src.charAt(k - 1);
      const after = this.src.charAt(k + 1);
      if (k > start && before === '\n' && (after === '' || isNL(after))) {
        close = k;
        break;
      }
    }
    if (close < 0) throw this.fail("unterminated block: expected ')' alone on a line", pos);
    const text = this.src.slice(start, close);
    this.advanceTo(close + 1);
    this.emit('string', text, pos);
  }

  /**
   * A value starting with a digit: an integer (maybe with a size suffix), a
   * float, a datetime, an IP-like address, or failing those a plain word
   * such as `10s` or `4222abc`.
   */
  private number(pos: SourcePos): void {
    const s = this.i;
    let j = s;
    while (isDigit(this.src.charAt(j))) j++;
    const c = this.src.charAt(j);
    if (c === '-') {
      this.datetime(pos, j - s);
      return;
    }
    if (c === '.') {
      this.fraction(pos, s, j);
      return;
    }
    const suffix = this.suffixed(pos, s, j);
    if (suffix === 'number') return;
    if (suffix === 'none' && endsNumber(c)) {
      this.advanceTo(j);
      this.emit('integer', this.src.slice(s, j), pos);
      return;
    }
    this.unquoted(pos);
  }

  private negativeNumber(pos: SourcePos): void {
    const s = this.i;
    const d = this.src.charAt(s + 1);
    if (!isDigit(d)) {
      if (d === '.') throw this.fail('floats must start with a digit, not \'.\'', this.ahead(1));
      throw this.fail(`expected a digit after '-', found ${show(d)}`, this.ahead(1));
    }
    let j = s + 1;
    while (isDigit(this.src.charAt(j))) j++;
    if (this.src.charAt(j) === '.') {
      this.fraction(pos, s, j);
      return;
    }
    const suffix = this.suffixed(pos, s, j);
    if (suffix === 'number') return;
    if (suffix === 'word') {
      this.unquoted(pos);
      return;
    }
    // Whatever follows a negative integer is checked by the caller's
    // terminator rules, as in nats-server ("-5x" is an error, not a word).
    this.advanceTo(j);
    this.emit('integer', this.src.slice(s, j), pos);
  }

  /**
   * Digits from s to j followed by a size suffix (k, kb, ki, kib, m, ...).
   * Emits an integer and returns 'number' when the suffix ends the number;
   * returns 'word' (consuming nothing) when the letters go on into a word,
   * e.g. `1mx` or `500ms`, and 'none' when there is no suffix letter.
   */
  private suffixed(pos: SourcePos, s: number, j: number): 'number' | 'word' | 'none' {
    if (!isSuffixStart(this.src.charAt(j))) return 'none';
    let k = j + 1;
    while (isSuffixTail(this.src.charAt(k))) k++;
    const after = this.src.charAt(k);
    // A digit right after the suffix ends the number too (then fails as
    // trailing junk), matching nats-server.
    if (endsNumber(after) || isDigit(after)) {
      this.advanceTo(k);
      this.emit('integer', this.src.slice(s, k), pos);
      return 'number';
    }
    return 'word';
  }

  /** Digits from s to j, then '.': a float, or an IP address if another '.' follows. */
  private fraction(pos: SourcePos, s: number, j: number): void {
    let k = j + 1;
    if (!isDigit(this.src.charAt(k))) {
      this.advanceTo(k);
      throw this.fail(`floats must have a digit after the '.', found ${show(this.src.charAt(k))}`);
    }
    while (isDigit(this.src.charAt(k))) k++;
    if (this.src.charAt(k) === '.') {
      // 127.0.0.1 or 10.0.0.1:4222: a string, as nats-server lexes it.
      k++;
      for (let c = this.src.charAt(k); isDigit(c) || c === '.' || c === ':' || c === '-'; c = this.src.charAt(k)) k++;
      this.advanceTo(k);
      this.emit('string', this.src.slice(s, k), pos);
      return;
    }
    this.advanceTo(k);
    this.emit('float', this.src.slice(s, k), pos);
  }

  /** `YYYY-MM-DDTHH:MM:SSZ`; the cursor is on the first digit. */
  private datetime(pos: SourcePos, yearDigits: number): void {
    if (yearDigits !== 4) {
      throw this.fail('dates must be full ISO8601 Zulu datetimes (YYYY-MM-DDTHH:MM:SSZ); quote other values', pos);
    }
    for (let n = 4; n < DATETIME_SHAPE.length; n++) {
      const want = DATETIME_SHAPE.charAt(n);
      const got = this.src.charAt(this.i + n);
      if (want === '0' ? !isDigit(got) : got !== want) {
        const expected = want === '0' ? 'a digit' : `'${want}'`;
        throw this.fail(`expected ${expected} in ISO8601 datetime, found ${show(got)}`, this.ahead(n));
      }
    }
    const text = this.src.slice(this.i, this.i + DATETIME_SHAPE.length);
    this.advanceTo(this.i + DATETIME_SHAPE.length);
    this.emit('datetime', text, pos);
  }

  /** An unquoted word: a string, a boolean, or a `$variable` reference. */
  private unquoted(pos: SourcePos): void {
    const out = new TextBuilder();
    let escaped = false;
    for (;;) {
      const c = this.peek();
      if (endsUnquoted(c)) break;
      if (c === "'") {
        // nats-server ends an unquoted word at a single quote and drops the
        // quote; anything right after it is then an error.
        this.advance();
        break;
      }
      if (c === '\\') {
        escaped = true;
        this.escape(out);
        continue;
      }
      const start = this.i;
      for (let d = this.peek(); !endsUnquoted(d) && d !== "'" && d !== '\\'; d = this.peek()) this.advance();
      out.text(this.src.slice(start, this.i));
    }
    const text = out.finish();
    if (escaped) {
      this.emit('string', text, pos);
    } else if (BOOL_WORDS.has(text.toLowerCase())) {
      this.emit('bool', text, pos);
    } else if (text.startsWith('$')) {
      this.emit('variable', text.slice(1), pos);
    } else {
      this.emit('string', text, pos);
    }
  }
}

/** Accumulates decoded text where escapes may contribute raw bytes. */
class TextBuilder {
  private readonly parts: (string | number)[] = [];
  private hasBytes = false;

  text(s: string): void {
    if (s !== '') this.parts.push(s);
  }

  byte(b: number): void {
    this.hasBytes = true;
    this.parts.push(b);
  }

  finish(): string {
    if (!this.hasBytes) return this.parts.join('');
    const chunks = this.parts.map((p) => (typeof p === 'number' ? Buffer.from([p]) : Buffer.from(p, 'utf8')));
    return Buffer.concat(chunks).toString('utf8');
  }
}
