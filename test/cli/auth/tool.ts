/**
 * Runs the compiled `natter auth` tool as a child process against a
 * temporary store, and connects official clients with the creds it wrote.
 * No side effects at import.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as v2 from 'nats';
import * as v3 from '@nats-io/transport-node';
import { decodeJwt } from '../../../src/jwt/jwt.js';
import { connectAs, REPO_ROOT, type ClientLib, type Conn } from '../../security/helpers.js';

export const NATTER_BIN = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'natter.js');

export type Claims = Readonly<Record<string, unknown>> & { readonly nats: Readonly<Record<string, unknown>> };

export interface ToolResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A temporary store and the tool bound to it. */
export class ToolStore {
  readonly dir: string;

  constructor() {
    this.dir = mkdtempSync(path.join(tmpdir(), 'natter-auth-'));
  }

  /** `natter auth --dir <store> ...args`, synchronously. */
  run(...args: string[]): ToolResult {
    const r = spawnSync(process.execPath, [NATTER_BIN, 'auth', '--dir', this.dir, ...args], { encoding: 'utf8', timeout: 30000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** Like run, without blocking the event loop (for commands that talk to a server this process runs clients for). */
  runAsync(...args: string[]): Promise<ToolResult> {
    return new Promise((resolve, reject) => {
      const p = spawn(process.execPath, [NATTER_BIN, 'auth', '--dir', this.dir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
      p.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      p.once('error', reject);
      p.once('close', (status) => resolve({ status, stdout, stderr }));
    });
  }

  /** Runs and asserts success; returns stdout. */
  ok(...args: string[]): string {
    const r = this.run(...args);
    assert.equal(r.status, 0, `natter auth ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  }

  /** Runs and asserts failure with a message matching `re` on stderr. */
  fails(re: RegExp, ...args: string[]): ToolResult {
    const r = this.run(...args);
    assert.equal(r.status, 1, `natter auth ${args.join(' ')} should fail: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, re);
    return r;
  }

  /** The decoded claims of an entity (`describe ... --json`). */
  claims(...describe: string[]): Claims {
    return JSON.parse(this.ok('describe', ...describe, '--json')) as Claims;
  }

  /**
   * The claims of a stored JWT read straight from the store (signature
   * checked): operator, account or user by name. Quicker than a
   * `describe` child process, which the describe tests cover.
   */
  stored(operator: string, account?: string, user?: string): Claims {
    let file = path.join(this.dir, 'operators', operator);
    if (account === undefined) file = path.join(file, `${operator}.jwt`);
    else if (user === undefined) file = path.join(file, 'accounts', account, `${account}.jwt`);
    else file = path.join(file, 'accounts', account, 'users', `${user}.jwt`);
    return decodeJwt(readFileSync(file, 'utf8').trim()).payload as Claims;
  }

  pubOf(operator: string, account?: string, user?: string): string {
    return String(this.stored(operator, account, user).sub);
  }

  credsPath(operator: string, account: string, user: string): string {
    return path.join(this.dir, 'creds', operator, account, `${user}.creds`);
  }

  creds(operator: string, account: string, user: string): string {
    return readFileSync(this.credsPath(operator, account, user), 'utf8');
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Connects with a creds file's text through the given official client. */
export function connectCreds(lib: ClientLib, port: number, creds: string): Promise<Conn> {
  const bytes = new TextEncoder().encode(creds);
  const authenticator = lib === 'v2' ? v2.credsAuthenticator(bytes) : v3.credsAuthenticator(bytes);
  return connectAs(lib, port, {}, { authenticator });
}

/** Connects with a user JWT and no key: only bearer-token users get in. */
export function connectJwtOnly(lib: ClientLib, port: number, jwt: string): Promise<Conn> {
  const authenticator = lib === 'v2' ? v2.jwtAuthenticator(jwt) : v3.jwtAuthenticator(jwt);
  return connectAs(lib, port, {}, { authenticator });
}

/** 'ok' (and the connection closed again), or the refusal normalized to what both servers say. */
export async function connectOutcome(connect: () => Promise<Conn>): Promise<string> {
  try {
    const c = await connect();
    await c.close();
    return 'ok';
  } catch (e) {
    const text = e instanceof Error ? e.message : String(e);
    const code = (e as { code?: unknown }).code;
    if (/authorization violation/i.test(text) || code === 'AUTHORIZATION_VIOLATION') return 'authorization violation';
    if (/authentication expired/i.test(text)) return 'authentication expired';
    return `error: ${text}`;
  }
}

/** The user JWT in a creds file. */
export function jwtOfCreds(creds: string): string {
  const m = /-----BEGIN NATS USER JWT-----\s*\n([^\n]+)\n/.exec(creds);
  assert.ok(m !== null, 'creds have a user JWT block');
  return m[1].trim();
}
