/**
 * natscli's message templates for `pub` (and `reply` bodies): Go-template
 * placeholders such as `{{Count}}`, `{{.Count}}`, `{{TimeStamp}}`,
 * `{{Unix}}`, `{{UnixNano}}`, `{{Time}}`, `{{ID}}` and `{{Random 5 10}}`
 * (random letters, 5 to 10 of them). The text is split once into literal
 * and placeholder parts, so rendering per message is a join, and an unknown
 * placeholder is an error before anything is sent.
 */
import { randomInt } from 'node:crypto';
import { nuid } from '@nats-io/transport-node';
import { ToolError } from './errors.js';

export interface TemplateValues {
  /** 1-based message number. */
  readonly count: number;
  /** The request body, for `reply`. */
  readonly request?: string;
}

type Part = string | ((v: TemplateValues) => string);

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function randomString(min: number, max: number): string {
  const n = min >= max ? min : randomInt(min, max + 1);
  let s = '';
  for (let i = 0; i < n; i++) s += LETTERS[randomInt(LETTERS.length)];
  return s;
}

function placeholder(name: string, args: readonly number[], source: string): (v: TemplateValues) => string {
  const arity = (n: number): void => {
    if (args.length !== n) throw new ToolError(`template ${source}: ${name} takes ${n} argument${n === 1 ? '' : 's'}`);
  };
  switch (name) {
    case 'Count':
      arity(0);
      return (v) => String(v.count);
    case 'TimeStamp':
      arity(0);
      return () => new Date().toISOString();
    case 'Time':
      arity(0);
      return () => new Date().toTimeString().slice(0, 8);
    case 'Unix':
      arity(0);
      return () => String(Math.floor(Date.now() / 1000));
    case 'UnixNano':
      arity(0);
      return () => `${Date.now()}000000`;
    case 'ID':
      arity(0);
      return () => nuid.next();
    case 'Request':
      arity(0);
      return (v) => v.request ?? '';
    case 'Random':
      arity(2);
      return () => randomString(args[0], args[1]);
    default:
      throw new ToolError(`template ${source}: unknown placeholder ${JSON.stringify(name)} (known: Count, TimeStamp, Time, Unix, UnixNano, ID, Request, Random MIN MAX)`);
  }
}

export class Template {
  private readonly parts: readonly Part[];
  readonly isConstant: boolean;

  constructor(text: string) {
    const parts: Part[] = [];
    let last = 0;
    for (const m of text.matchAll(/\{\{\s*\.?([A-Za-z]+)((?:\s+-?\d+)*)\s*\}\}/g)) {
      if (m.index > last) parts.push(text.slice(last, m.index));
      const args = m[2].trim() === '' ? [] : m[2].trim().split(/\s+/).map(Number);
      parts.push(placeholder(m[1], args, m[0]));
      last = m.index + m[0].length;
    }
    if (last < text.length) parts.push(text.slice(last));
    this.parts = parts;
    this.isConstant = parts.every((p) => typeof p === 'string');
  }

  render(values: TemplateValues): string {
    let s = '';
    for (const p of this.parts) s += typeof p === 'string' ? p : p(values);
    return s;
  }
}
