/** What the JetStream, KV and object store commands share. */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { Invocation } from './command.js';
import type { ToolConnection } from './connection.js';
import { ToolError } from './errors.js';

export async function connectJsm(inv: Invocation): Promise<{ conn: ToolConnection; jsm: JetStreamManager }> {
  const conn = await inv.connect();
  const jsm = await jetstreamManager(conn.nc, { timeout: conn.settings.timeoutMs });
  return { conn, jsm };
}

/** A JSON object from `--config file.json`, or a ToolError naming the file and what is wrong. */
export function readJsonConfig(file: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ToolError(`cannot read ${what} file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ToolError(`${what} file ${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ToolError(`${what} file ${file} must hold a JSON object`);
  return parsed as Record<string, unknown>;
}

/**
 * Asks before destroying something when a person is at the terminal
 * (`--force` skips it); scripts without a terminal are not asked, as they
 * could not answer.
 */
export async function confirm(inv: Invocation, question: string): Promise<void> {
  if (inv.flags.bool('force') || !process.stdin.isTTY) return;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new ToolError('cancelled');
  } finally {
    rl.close();
  }
}

export const FORCE_FLAG = { force: { kind: 'boolean', short: 'f', help: 'do not ask for confirmation' } } as const;

/** A choice flag's value checked against its allowed values. */
export function choice<T extends string>(value: string | undefined, flag: string, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new ToolError(`invalid value ${JSON.stringify(value)} for --${flag}: one of ${allowed.join(', ')}`);
  return value as T;
}

/** Milliseconds to the nanoseconds JetStream configs use. */
export function msToNanos(ms: number): number {
  return Math.round(ms * 1e6);
}
