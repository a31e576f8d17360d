import type { ServerOptions } from '../server/options.js';
import type { Client } from '../server/client.js';

interface UserEntry {
  user: string;
  password: string;
}

/**
 * Client authentication from the `authorization` block (or --user/--pass/--auth):
 * a token, one user/password, or a list of users with plain passwords.
 * Anything this version cannot enforce (bcrypt hashes, nkeys, permissions,
 * accounts) is refused at startup: a server must never look secured while
 * letting everyone in.
 */
export class Authenticator {
  readonly required: boolean;
  private readonly token: string | null = null;
  private readonly users = new Map<string, UserEntry>();

  constructor(opts: ServerOptions) {
    if (opts.accounts !== undefined) {
      throw new Error('accounts are not supported yet by this Natter version; refusing to run without the isolation they promise');
    }
    const a = opts.authorization;
    if (a === undefined) {
      this.required = false;
      return;
    }
    for (const key of Object.keys(a)) {
      if (!['token', 'user', 'username', 'password', 'pass', 'users', 'timeout'].includes(key)) {
        throw new Error(`authorization "${key}" is not supported yet by this Natter version`);
      }
    }
    if (typeof a.token === 'string') {
      this.token = plainSecret(a.token, 'token');
    }
    const single = a.user ?? a.username;
    if (typeof single === 'string') {
      const pw = a.password ?? a.pass;
      this.users.set(single, { user: single, password: plainSecret(String(pw ?? ''), 'password') });
    }
    if (Array.isArray(a.users)) {
      for (const u of a.users as unknown[]) {
        if (u === null || typeof u !== 'object') throw new Error('authorization users entries must be maps');
        const entry = u as Record<string, unknown>;
        for (const key of Object.keys(entry)) {
          if (!['user', 'username', 'password', 'pass'].includes(key)) {
            throw new Error(`authorization users "${key}" is not supported yet by this Natter version`);
          }
        }
        const name = String(entry.user ?? entry.username ?? '');
        this.users.set(name, { user: name, password: plainSecret(String(entry.password ?? entry.pass ?? ''), 'password') });
      }
    }
    this.required = this.token !== null || this.users.size > 0;
  }

  /** Checks CONNECT credentials; on success records the user on the client. */
  check(c: Client, connect: Record<string, unknown>): boolean {
    if (!this.required) return true;
    if (this.token !== null) {
      return typeof connect.auth_token === 'string' && constantTimeEqual(connect.auth_token, this.token);
    }
    const user = typeof connect.user === 'string' ? connect.user : '';
    const pass = typeof connect.pass === 'string' ? connect.pass : '';
    const entry = this.users.get(user);
    if (entry === undefined || !constantTimeEqual(pass, entry.password)) return false;
    c.authUser = user;
    return true;
  }

  /** After a reload: does the connected client's identity still exist? */
  stillValid(c: Client): boolean {
    if (!this.required) return true;
    if (this.token !== null) return c.authUser === '';
    return this.users.has(c.authUser) && c.authUser !== '';
  }

  /** The nonce for INFO; only nkey/JWT auth needs one. */
  nonceFor(_c: Client): string | null {
    return null;
  }
}

function plainSecret(s: string, what: string): string {
  if (s.startsWith('$2')) {
    throw new Error(`bcrypt ${what}s are not supported yet by this Natter version`);
  }
  return s;
}

function constantTimeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length && i < b.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
