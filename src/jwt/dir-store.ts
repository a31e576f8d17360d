/**
 * Account JWTs in a directory, one file per account, laid out as
 * nats-server's DirJWTStore (unsharded) lays them out so either server can
 * read what the other wrote:
 *
 *   <dir>/<account public key>.jwt            the JWT text, nothing else (mode 0644)
 *   <dir>/<account public key>.jwt.deleted    a deleted account (full resolver with allow_delete)
 *
 * Every file is tracked with an expiry and in least-recently-used order:
 * - with a ttl (cache resolver) a JWT not read or written for that long is
 *   removed; without one a JWT is removed once its own `exp` has passed;
 * - past `limit` files a new account either evicts the least recently used
 *   one (cache) or is refused with "jwt store is full" (full).
 * I/O is synchronous: files are small and writes rare (claim updates).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isPublicKeyOf, NKEY_PREFIX_ACCOUNT } from './jwt.js';

export const JWT_FILE_EXTENSION = '.jwt';
const DELETED_SUFFIX = '.deleted';
/** nats-server checks expirations at most every minute, and twice per ttl. */
const MAX_EXPIRY_CHECK_MS = 60_000;

export type DeleteMode = 'none' | 'rename' | 'hard';

export interface DirStoreOptions {
  readonly dir: string;
  /** 'none' refuses deletes; 'rename' keeps the file as `.jwt.deleted`; 'hard' removes it. */
  readonly deleteMode: DeleteMode;
  /** Most files kept; Infinity for no limit. */
  readonly limit: number;
  /** At the limit, evict the least recently used JWT (true) or refuse the new one (false). */
  readonly evictOnLimit: boolean;
  /** ms a JWT lives after its last use; 0 to use the JWT's `exp` instead. */
  readonly ttlMs: number;
}

interface Tracked {
  /** Date.now() after which the file goes; Infinity for never. */
  expiresAt: number;
  hash: string;
}

/** The `iat`, `sub` and `exp` of any JWT, without checking it (the store keeps what it is given). */
function peekClaims(jwt: string): { iat: number; sub: string; exp: number; jti: string } | null {
  const chunks = jwt.split('.');
  if (chunks.length !== 3) return null;
  try {
    const c = JSON.parse(Buffer.from(chunks[1], 'base64url').toString('utf8')) as Record<string, unknown>;
    const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
    return { iat: num(c.iat), sub: typeof c.sub === 'string' ? c.sub : '', exp: num(c.exp), jti: typeof c.jti === 'string' ? c.jti : '' };
  } catch {
    return null;
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export class DirJwtStore {
  readonly dir: string;
  private readonly o: DirStoreOptions;
  /** Insertion order is use order: the first entry is the least recently used. */
  private readonly tracked = new Map<string, Tracked>();
  private timer: NodeJS.Timeout | null = null;

  /** Creates the directory if needed and tracks the JWTs already in it. Throws when it is not a usable directory. */
  constructor(o: DirStoreOptions) {
    this.o = o;
    this.dir = o.dir;
    let isDir = true;
    try {
      isDir = statSync(o.dir).isDirectory();
    } catch {
      mkdirSync(o.dir, { recursive: true, mode: 0o755 });
    }
    if (!isDir) throw new Error(`dir needs to point to an accessible directory: ${o.dir}`);
    for (const key of this.list()) {
      const jwt = this.read(key);
      if (jwt !== null) this.track(key, jwt);
    }
    const every = o.ttlMs > 0 ? Math.min(MAX_EXPIRY_CHECK_MS, Math.max(10, o.ttlMs / 2)) : MAX_EXPIRY_CHECK_MS;
    this.timer = setInterval(() => this.expire(), every);
    this.timer.unref();
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** The file of an account; null when the key is not an account public key (nothing outside the directory is touched). */
  pathFor(account: string): string | null {
    return isPublicKeyOf(account, NKEY_PREFIX_ACCOUNT) ? join(this.dir, account + JWT_FILE_EXTENSION) : null;
  }

  /** The stored JWT, or null; a read counts as a use. */
  load(account: string): string | null {
    const jwt = this.read(account);
    if (jwt !== null) this.touch(account);
    return jwt;
  }

  /** Account public keys with a JWT on disk, sorted. */
  list(): string[] {
    return readdirSync(this.dir)
      .filter((f) => f.endsWith(JWT_FILE_EXTENSION))
      .map((f) => f.slice(0, -JWT_FILE_EXTENSION.length))
      .filter((k) => this.pathFor(k) !== null)
      .sort();
  }

  /** Writes the JWT; false when the same JWT was already there. Throws "jwt store is full" and I/O errors. */
  save(account: string, jwt: string): boolean {
    const path = this.pathFor(account);
    if (path === null) throw new Error('invalid public key');
    const hash = sha256(jwt);
    const known = this.tracked.get(account);
    if (known !== undefined) {
      this.touch(account);
      if (known.hash === hash) return false;
    } else if (this.tracked.size >= this.o.limit) {
      if (!this.o.evictOnLimit) throw new Error('jwt store is full');
      const oldest = this.tracked.keys().next().value as string;
      rmSync(this.pathFor(oldest) as string, { force: true });
      this.tracked.delete(oldest);
    }
    writeFileSync(path, jwt, { mode: 0o644 });
    this.track(account, jwt);
    return true;
  }

  /**
   * nats-server's saveIfNewer (preloads and look-ups): an existing JWT with
   * the same id or a later issue time stays. False when nothing was written.
   */
  saveIfNewer(account: string, jwt: string): boolean {
    const existing = this.read(account);
    if (existing !== null) {
      const now = peekClaims(jwt);
      const before = peekClaims(existing);
      if (now === null) throw new Error('not a JWT');
      if (before !== null) {
        if (before.jti === now.jti || before.iat > now.iat) return false;
        if (now.sub !== account) throw new Error('jwt subject nkey and provided nkey do not match');
      }
    }
    return this.save(account, jwt);
  }

  /** Removes an account's JWT as the delete mode says; a missing file is no error. */
  delete(account: string): void {
    if (this.o.deleteMode === 'none') throw new Error('store is not set up to for delete');
    const path = this.pathFor(account);
    if (path === null) throw new Error('invalid public key');
    try {
      if (this.o.deleteMode === 'rename') renameSync(path, path + DELETED_SUFFIX);
      else rmSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    this.tracked.delete(account);
  }

  private read(account: string): string | null {
    const path = this.pathFor(account);
    if (path === null) return null;
    try {
      return readFileSync(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  private track(account: string, jwt: string): void {
    let expiresAt = Infinity;
    if (this.o.ttlMs > 0) {
      expiresAt = Date.now() + this.o.ttlMs;
    } else {
      const exp = peekClaims(jwt)?.exp ?? 0;
      if (exp > 0) expiresAt = exp * 1000;
    }
    this.tracked.delete(account);
    this.tracked.set(account, { expiresAt, hash: sha256(jwt) });
  }

  /** A use: the entry moves to the back of the eviction order, and a ttl starts again. */
  private touch(account: string): void {
    const t = this.tracked.get(account);
    if (t === undefined) return;
    if (this.o.ttlMs > 0) t.expiresAt = Date.now() + this.o.ttlMs;
    this.tracked.delete(account);
    this.tracked.set(account, t);
  }

  private expire(): void {
    const now = Date.now();
    for (const [account, t] of [...this.tracked]) {
      if (t.expiresAt > now) continue;
      try {
        rmSync(this.pathFor(account) as string, { force: true });
        this.tracked.delete(account);
      } catch {
        // Left tracked: the next check tries again, as nats-server does.
      }
    }
  }
}
