/**
 * Monitoring answers over many connections or subscriptions, computed and
 * serialized a slice per event-loop turn.
 *
 * `/connz?limit=100000&subs=detail` over 10k connections is megabytes of
 * JSON, `/subsz?subs=1` walks every subscription of every account: done in
 * one go, either holds every client of the server for a tenth of a second
 * or more. So such answers are written as generators that `yield` wherever
 * they may pause (between connections, between subscriptions), and their
 * big lists as LazyLists whose items are made and serialized one by one
 * while the reply is rendered. The driver runs a generator for SLICE_MS,
 * then goes on in a later turn.
 *
 * One answer is worked on at a time, the others wait in line: a burst of
 * scrapes costs the time they take, not the memory of all of them at once.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { marshalCompact, marshalIndent } from '../text/go-format.js';

/** How long an answer may be worked on per turn before other work gets the event loop. */
const SLICE_MS = 4;

/** Work that may pause at each `yield` and finally returns its result. */
export type Sliced<T> = Generator<void, T, void>;

/** Whether `x` is sliced work (a generator) rather than a ready value. */
export function isSliced(x: unknown): x is Sliced<unknown> {
  return Object.prototype.toString.call(x) === '[object Generator]';
}

/**
 * A list in an answer whose items are made only while the answer is
 * rendered (see marshalInSlices). Stringified in any other way it renders
 * whole, as an array would.
 */
export class LazyList<T> {
  readonly items: readonly T[];
  readonly make: (item: T) => unknown;

  constructor(items: readonly T[], make: (item: T) => unknown) {
    this.items = items;
    this.make = make;
  }

  get length(): number {
    return this.items.length;
  }

  toJSON(): unknown {
    const lists = collecting;
    if (lists === null) return this.items.map(this.make);
    lists.push(this as LazyList<unknown>);
    return marker(lists.length - 1);
  }
}

/**
 * Marks where a LazyList goes in the text around it. Client-chosen strings
 * (names, subjects) are in that text too, so the mark carries a random
 * per-process part no client can know; its NUL is escaped by JSON, and the
 * HTML-safe escaping leaves it alone.
 */
const NONCE = randomBytes(8).toString('hex');

function marker(k: number): string {
  return `\u0000${NONCE}:${k}`;
}

/** How marker(k) reads in JSON text. */
function markerText(k: number): string {
  return `"\\u0000${NONCE}:${k}"`;
}

/** The LazyLists met while a render stringifies (JSON.stringify is synchronous, so one at a time). */
let collecting: Array<LazyList<unknown>> | null = null;

function stringify(value: unknown, indent: boolean): { text: string; lists: Array<LazyList<unknown>> } {
  const lists: Array<LazyList<unknown>> = [];
  const outer = collecting;
  collecting = lists;
  try {
    return { text: indent ? marshalIndent(value) : marshalCompact(value), lists };
  } finally {
    collecting = outer;
  }
}

/** Text is gathered into pieces of about this size, each kept as UTF-8 bytes. */
const PIECE_CHARS = 64 * 1024;

/**
 * Where a render writes: megabytes of answer kept as a list of byte pieces,
 * so that finishing it is one copy rather than the flattening of a string
 * built from tens of thousands of parts, all in one turn.
 */
class Sink {
  private text = '';
  private readonly pieces: Buffer[] = [];

  write(s: string): void {
    this.text += s;
    if (this.text.length >= PIECE_CHARS) this.cut();
  }

  finish(): Buffer {
    this.cut();
    return this.pieces.length === 1 ? this.pieces[0] : Buffer.concat(this.pieces);
  }

  private cut(): void {
    if (this.text === '') return;
    this.pieces.push(Buffer.from(this.text, 'utf8'));
    this.text = '';
  }
}

/**
 * Writes `value` as marshalIndent (or marshalCompact) would, for a value
 * that starts on a line indented by `pad`; pauses between the items of its
 * lazy lists.
 */
function* render(value: unknown, indent: boolean, pad: string, out: Sink): Sliced<void> {
  const { text, lists } = stringify(value, indent);
  const write = (s: string): void => out.write(pad === '' ? s : s.replaceAll('\n', '\n' + pad));
  let pos = 0;
  for (let k = 0; k < lists.length; k++) {
    const mark = markerText(k);
    const at = text.indexOf(mark, pos);
    // The list's closing bracket lines up with the line its key is on.
    const lineStart = text.lastIndexOf('\n', at) + 1;
    let keyStart = lineStart;
    while (text.charCodeAt(keyStart) === 32) keyStart++;
    write(text.slice(pos, at));
    yield* renderList(lists[k], indent, pad + text.slice(lineStart, keyStart), out);
    pos = at + mark.length;
  }
  write(pos === 0 ? text : text.slice(pos));
}

function* renderList(list: LazyList<unknown>, indent: boolean, pad: string, out: Sink): Sliced<void> {
  if (list.length === 0) {
    out.write('[]');
    return;
  }
  const inner = indent ? pad + '  ' : '';
  const separator = indent ? `,\n${inner}` : ',';
  out.write(indent ? `[\n${inner}` : '[');
  let first = true;
  for (const item of list.items) {
    if (!first) out.write(separator);
    first = false;
    yield* render(list.make(item), indent, inner, out);
    yield;
  }
  out.write(indent ? `\n${pad}]` : ']');
}

interface Job {
  readonly work: Sliced<Buffer>;
  readonly done: (json: Buffer) => void;
  readonly failed: (e: unknown) => void;
}

const waiting: Job[] = [];
let running = false;

/**
 * Computes `value` when it is sliced work (else takes it as it is) and
 * renders the result as Go's JSON in UTF-8 (indented like MarshalIndent, or
 * compact like Marshal), a slice per turn. `done` runs synchronously when
 * nothing else was in line and one slice was enough; errors thrown by the
 * work (a BadRequest) go to `failed`.
 */
export function marshalInSlices(value: unknown, indent: boolean, done: (json: Buffer) => void, failed: (e: unknown) => void): void {
  const job: Job = { work: computeAndRender(value, indent), done, failed };
  if (running) waiting.push(job);
  else runSlice(job);
}

/** marshalInSlices as a promise. */
export function marshalSliced(value: unknown, indent: boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => marshalInSlices(value, indent, resolve, reject));
}

function* computeAndRender(value: unknown, indent: boolean): Sliced<Buffer> {
  const result = isSliced(value) ? yield* value : value;
  const out = new Sink();
  yield* render(result, indent, '', out);
  return out.finish();
}

function runSlice(job: Job): void {
  running = true;
  const started = performance.now();
  let outcome: { json: Buffer } | { error: unknown };
  try {
    for (;;) {
      const step = job.work.next();
      if (step.done === true) {
        outcome = { json: step.value };
        break;
      }
      if (performance.now() - started >= SLICE_MS) {
        setImmediate(runSlice, job);
        return;
      }
    }
  } catch (e) {
    outcome = { error: e };
  }
  // The next in line keeps the driver busy until it runs.
  const next = waiting.shift();
  if (next !== undefined) setImmediate(runSlice, next);
  else running = false;
  if ('json' in outcome) job.done(outcome.json);
  else job.failed(outcome.error);
}
