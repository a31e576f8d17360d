/**
 * Request bodies of the system account's services decoded the way
 * nats-server's `json.Unmarshal` into an options struct does, because its
 * error texts are what a requester gets back (`{"error":{"code":400,
 * "description":"invalid character 'b' looking for beginning of object key
 * string"}}`):
 *
 * - the whole body is checked for syntax first, reporting the first bad byte
 *   with the context Go's scanner is in;
 * - then fields are matched by JSON name, case-insensitively; unknown keys
 *   are ignored, `null` leaves a field alone, and the first value of the wrong
 *   type is reported as Go's UnmarshalTypeError (decoding goes on, as in Go,
 *   but any error fails the request).
 *
 * Numbers keep their literal text, so `1.0` or `1e3` for an integer field is
 * refused with the literal, as Go does.
 */
import { goQuote } from '../text/go-format.js';

type JsonValue =
  | { kind: 'object'; entries: Array<[string, JsonValue]> }
  | { kind: 'array'; items: JsonValue[] }
  | { kind: 'string'; value: string }
  | { kind: 'number'; text: string }
  | { kind: 'bool'; value: boolean }
  | { kind: 'null' };

/** The Go field types the options structs use. */
export type GoFieldType = 'string' | 'bool' | 'int' | 'uint64' | '[]string' | 'server.SortOpt' | 'server.ConnState';

/** A Go struct: its type name (for messages) and its fields by JSON name. */
export interface GoStruct {
  readonly name: string;
  readonly fields: Readonly<Record<string, GoFieldType>>;
}

/** A decoded field value: strings for string kinds, numbers for integers, string lists for []string. */
export type GoFieldValue = string | boolean | number | string[];

export type Decoded = { ok: true; values: Map<string, GoFieldValue> } | { ok: false; error: string };

class JsonSyntaxError extends Error {}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

/** Decodes `body` into `struct`'s fields (absent keys are absent from the map). */
export function decodeGoStruct(body: Buffer, struct: GoStruct): Decoded {
  let value: JsonValue;
  try {
    value = new Parser(body).document();
  } catch (e) {
    if (e instanceof JsonSyntaxError) return { ok: false, error: e.message };
    throw e;
  }
  const values = new Map<string, GoFieldValue>();
  if (value.kind === 'null') return { ok: true, values };
  if (value.kind !== 'object') {
    return { ok: false, error: `json: cannot unmarshal ${kindName(value)} into Go value of type server.${struct.name}` };
  }
  let firstError: string | null = null;
  for (const [key, v] of value.entries) {
    const field = fieldFor(struct, key);
    if (field === null || v.kind === 'null') continue;
    const [name, type] = field;
    const r = convert(v, type);
    if (typeof r === 'object' && !Array.isArray(r)) {
      firstError ??= `json: cannot unmarshal ${r.value} into Go struct field ${struct.name}.${name} of type ${r.type}`;
      continue;
    }
    values.set(name, r);
  }
  return firstError === null ? { ok: true, values } : { ok: false, error: firstError };
}

/** Go prefers the exact name, then any name equal under case folding. */
function fieldFor(struct: GoStruct, key: string): [string, GoFieldType] | null {
  const exact = struct.fields[key];
  if (exact !== undefined) return [key, exact];
  const folded = key.toLowerCase();
  for (const [name, type] of Object.entries(struct.fields)) {
    if (name.toLowerCase() === folded) return [name, type];
  }
  return null;
}

interface TypeMismatch {
  value: string;
  type: string;
}

function convert(v: JsonValue, type: GoFieldType): GoFieldValue | TypeMismatch {
  switch (type) {
    case 'string':
    case 'server.SortOpt':
      return v.kind === 'string' ? v.value : { value: kindName(v), type };
    case 'bool':
      return v.kind === 'bool' ? v.value : { value: kindName(v), type };
    case 'int':
    case 'server.ConnState':
    case 'uint64': {
      if (v.kind !== 'number') return { value: kindName(v), type };
      const n = integerLiteral(v.text, type === 'uint64' ? 0n : INT64_MIN, type === 'uint64' ? UINT64_MAX : INT64_MAX);
      if (n === null) return { value: `number ${v.text}`, type };
      return clampToSafe(n);
    }
    case '[]string': {
      if (v.kind !== 'array') return { value: kindName(v), type };
      const out: string[] = [];
      for (const item of v.items) {
        if (item.kind === 'null') out.push('');
        else if (item.kind === 'string') out.push(item.value);
        else return { value: kindName(item), type: 'string' };
      }
      return out;
    }
  }
}

/** Go's strconv.ParseInt/ParseUint base 10 on a JSON number literal; null when it is not an integer in range. */
function integerLiteral(text: string, min: bigint, max: bigint): bigint | null {
  if (!/^-?\d+$/.test(text)) return null;
  const n = BigInt(text);
  return n < min || n > max ? null : n;
}

/** Values beyond 2^53 cannot be a real offset, limit or cid; clamp rather than lose digits. */
function clampToSafe(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
  if (v < BigInt(Number.MIN_SAFE_INTEGER)) return Number.MIN_SAFE_INTEGER;
  return Number(v);
}

/** The JSON kind as Go's UnmarshalTypeError names it. */
function kindName(v: JsonValue): string {
  switch (v.kind) {
    case 'object': return 'object';
    case 'array': return 'array';
    case 'string': return 'string';
    case 'number': return 'number';
    case 'bool': return 'bool';
    case 'null': return 'null';
  }
}

const SPACE = 0x20;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** Go's quoteChar: the byte as a one-character Go string literal in single quotes. */
function quoteChar(c: number): string {
  if (c === 0x27) return `'\\''`;
  if (c === 0x22) return `'"'`;
  return `'${goQuote(String.fromCharCode(c)).slice(1, -1)}'`;
}

const UNEXPECTED_END = 'unexpected end of JSON input';

/**
 * A recursive-descent reader that fails where Go's scanner fails and with its
 * message. At the end of input Go feeds the scanner one space: states that
 * accept a space report "unexpected end", the others (inside a number,
 * literal or escape) report the space as the invalid character.
 */
class Parser {
  private pos = 0;
  private readonly buf: Buffer;

  constructor(buf: Buffer) {
    this.buf = buf;
  }

  document(): JsonValue {
    const v = this.value();
    this.skipSpace();
    if (this.pos < this.buf.length) this.fail(this.buf[this.pos], 'after top-level value');
    return v;
  }

  private peek(): number {
    return this.pos < this.buf.length ? this.buf[this.pos] : -1;
  }

  /** The next byte, with the end of input read as the space Go's scanner is given. */
  private peekOrSpace(): number {
    return this.pos < this.buf.length ? this.buf[this.pos] : SPACE;
  }

  private fail(c: number, context: string): never {
    throw new JsonSyntaxError(`invalid character ${quoteChar(c)} ${context}`);
  }

  private failHere(context: string): never {
    if (this.pos >= this.buf.length) throw new JsonSyntaxError(UNEXPECTED_END);
    this.fail(this.buf[this.pos], context);
  }

  private skipSpace(): void {
    while (this.pos < this.buf.length && isSpace(this.buf[this.pos])) this.pos++;
  }

  private value(): JsonValue {
    this.skipSpace();
    const c = this.peek();
    switch (c) {
      case 0x7b: return this.object();
      case 0x5b: return this.array();
      case 0x22: return { kind: 'string', value: this.string() };
      case 0x74: this.literal('true'); return { kind: 'bool', value: true };
      case 0x66: this.literal('false'); return { kind: 'bool', value: false };
      case 0x6e: this.literal('null'); return { kind: 'null' };
    }
    if (c === 0x2d || isDigit(c)) return this.number();
    return this.failHere('looking for beginning of value');
  }

  private object(): JsonValue {
    this.pos++;
    const entries: Array<[string, JsonValue]> = [];
    this.skipSpace();
    if (this.peek() === 0x7d) {
      this.pos++;
      return { kind: 'object', entries };
    }
    for (;;) {
      this.skipSpace();
      if (this.peek() !== 0x22) this.failHere('looking for beginning of object key string');
      const key = this.string();
      this.skipSpace();
      if (this.peek() !== 0x3a) this.failHere('after object key');
      this.pos++;
      entries.push([key, this.value()]);
      this.skipSpace();
      const c = this.peek();
      if (c === 0x2c) {
        this.pos++;
        continue;
      }
      if (c === 0x7d) {
        this.pos++;
        return { kind: 'object', entries };
      }
      this.failHere('after object key:value pair');
    }
  }

  private array(): JsonValue {
    this.pos++;
    const items: JsonValue[] = [];
    this.skipSpace();
    if (this.peek() === 0x5d) {
      this.pos++;
      return { kind: 'array', items };
    }
    for (;;) {
      items.push(this.value());
      this.skipSpace();
      const c = this.peek();
      if (c === 0x2c) {
        this.pos++;
        continue;
      }
      if (c === 0x5d) {
        this.pos++;
        return { kind: 'array', items };
      }
      this.failHere('after array element');
    }
  }

  private string(): string {
    const start = ++this.pos;
    let escaped = false;
    for (;;) {
      const c = this.peek();
      if (c === -1) throw new JsonSyntaxError(UNEXPECTED_END);
      if (c === 0x22) break;
      if (c < 0x20) this.fail(c, 'in string literal');
      if (c === 0x5c) {
        escaped = true;
        this.pos++;
        const e = this.peekOrSpace();
        if (e === 0x75) {
          this.pos++;
          for (let i = 0; i < 4; i++) {
            const h = this.peekOrSpace();
            if (!isHex(h)) this.fail(h, 'in \\u hexadecimal character escape');
            this.pos++;
          }
          continue;
        }
        if (!'"\\/bfnrt'.includes(String.fromCharCode(e))) this.fail(e, 'in string escape code');
      }
      this.pos++;
    }
    const raw = this.buf.subarray(start, this.pos);
    this.pos++;
    if (!escaped) return raw.toString('utf8');
    // The syntax is checked; the platform decodes the escapes (surrogates included).
    return JSON.parse(`"${raw.toString('utf8')}"`) as string;
  }

  private number(): JsonValue {
    const start = this.pos;
    if (this.peek() === 0x2d) {
      this.pos++;
      if (!isDigit(this.peekOrSpace())) this.fail(this.peekOrSpace(), 'in numeric literal');
    }
    if (this.peek() === 0x30) {
      this.pos++;
    } else {
      while (isDigit(this.peek())) this.pos++;
    }
    if (this.peek() === 0x2e) {
      this.pos++;
      if (!isDigit(this.peekOrSpace())) this.fail(this.peekOrSpace(), 'after decimal point in numeric literal');
      while (isDigit(this.peek())) this.pos++;
    }
    const e = this.peek();
    if (e === 0x65 || e === 0x45) {
      this.pos++;
      const sign = this.peek();
      if (sign === 0x2b || sign === 0x2d) this.pos++;
      if (!isDigit(this.peekOrSpace())) this.fail(this.peekOrSpace(), 'in exponent of numeric literal');
      while (isDigit(this.peek())) this.pos++;
    }
    return { kind: 'number', text: this.buf.subarray(start, this.pos).toString('latin1') };
  }

  private literal(word: string): void {
    // The first letter chose this literal already.
    this.pos++;
    for (let i = 1; i < word.length; i++) {
      const c = this.peekOrSpace();
      if (c !== word.charCodeAt(i)) this.fail(c, `in literal ${word} (expecting '${word[i]}')`);
      this.pos++;
    }
  }
}
