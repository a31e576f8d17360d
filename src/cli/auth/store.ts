/**
 * The `natter auth` store: JWTs, keys and creds files in one directory tree
 * (nsc's layout, flattened under one root):
 *
 *   <root>/natter-auth.json                          the current operator
 *   <root>/operators/<O>/<O>.jwt                     operator JWT
 *   <root>/operators/<O>/accounts/<A>/<A>.jwt        account JWTs
 *   <root>/operators/<O>/accounts/<A>/users/<U>.jwt  user JWTs
 *   <root>/keys/<O|A|U>/<2nd-3rd char>/<PUBKEY>.nk   nkey seeds (0600)
 *   <root>/creds/<O>/<A>/<U>.creds                   user creds (0600)
 *
 * The root is --dir / --store, else $NATTER_AUTH_DIR, else ~/.natter/auth.
 * Directories are created 0700 and every file holding a seed 0600, so the
 * store can sit in a shared home without leaking keys.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fromSeed, type KeyPair } from '@nats-io/nkeys';
import { decodeJwt, JwtError } from '../../jwt/jwt.js';
import { parseDecoratedJwt } from '../../jwt/creds.js';
import { identityOf, type Identity } from '../../jwt/encode.js';
import { AuthCliError } from './errors.js';

export const STORE_ENV = 'NATTER_AUTH_DIR';

export function defaultStoreRoot(): string {
  const env = process.env[STORE_ENV];
  return env !== undefined && env !== '' ? env : join(homedir(), '.natter', 'auth');
}

/** Names become directory and file names: no separators, no dot files. */
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.@-]*$/;

export function checkName(name: string, what: string): string {
  if (!NAME.test(name)) throw new AuthCliError(`invalid ${what} name ${JSON.stringify(name)}: use letters, digits, '_', '-', '.', '@'`);
  return name;
}

/** A JWT read from the store or a file, signature checked, claims kept as JSON. */
export interface StoredJwt {
  readonly path: string;
  readonly token: string;
  readonly claims: Readonly<Record<string, unknown>>;
  /** The claims' `nats` section without `type` and `version`, ready to edit and re-encode. */
  readonly nats: Record<string, unknown>;
  readonly name: string;
  readonly sub: string;
  readonly iss: string;
}

export function parseStoredJwt(token: string, path: string): StoredJwt {
  let claims: Readonly<Record<string, unknown>>;
  try {
    claims = decodeJwt(token).payload;
  } catch (e) {
    if (e instanceof JwtError) throw new AuthCliError(`${path}: not a valid JWT: ${e.message}`);
    throw e;
  }
  const raw = claims.nats;
  const nats: Record<string, unknown> = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? { ...(raw as Record<string, unknown>) } : {};
  delete nats.type;
  delete nats.version;
  const str = (k: string): string => (typeof claims[k] === 'string' ? (claims[k] as string) : '');
  return { path, token, claims, nats, name: str('name'), sub: str('sub'), iss: str('iss') };
}

/** The standard fields to carry over when a JWT is re-issued (iat, iss and jti are made anew). */
export function keptStandardFields(j: StoredJwt): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ['aud', 'exp', 'name', 'nbf']) if (j.claims[k] !== undefined) out[k] = j.claims[k];
  return out;
}

const KEY_KINDS: Readonly<Record<string, string>> = { O: 'operator', A: 'account', U: 'user' };

export class Store {
  constructor(readonly root: string) {}

  private get contextFile(): string {
    return join(this.root, 'natter-auth.json');
  }

  operatorDir(o: string): string {
    return join(this.root, 'operators', o);
  }
  operatorJwtPath(o: string): string {
    return join(this.operatorDir(o), `${o}.jwt`);
  }
  accountDir(o: string, a: string): string {
    return join(this.operatorDir(o), 'accounts', a);
  }
  accountJwtPath(o: string, a: string): string {
    return join(this.accountDir(o, a), `${a}.jwt`);
  }
  userJwtPath(o: string, a: string, u: string): string {
    return join(this.accountDir(o, a), 'users', `${u}.jwt`);
  }
  credsPath(o: string, a: string, u: string): string {
    return join(this.root, 'creds', o, a, `${u}.creds`);
  }
  keyPath(pub: string): string {
    return join(this.root, 'keys', pub[0], pub.slice(1, 3), `${pub}.nk`);
  }

  /**
   * mkdir -p with 0700 for every directory made. The root is set to 0700
   * too, even when it existed before: it holds seeds.
   */
  private ensureDir(dir: string): void {
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (existsSync(this.root)) chmodSync(this.root, 0o700);
  }

  /** Writes a file that anyone with the store may read (JWTs, configs). */
  writePublic(path: string, text: string): void {
    this.ensureDir(dirname(path));
    writeFileSync(path, text, { mode: 0o644 });
  }

  /** Writes a file holding a secret: 0600 even when it already existed with wider modes. */
  writePrivate(path: string, text: string): void {
    this.ensureDir(dirname(path));
    writeFileSync(path, text, { mode: 0o600 });
    chmodSync(path, 0o600);
  }

  storeKey(id: Identity): string {
    const path = this.keyPath(id.pub);
    this.writePrivate(path, id.seed);
    return path;
  }

  /** The key pair of a public key whose seed is in the store, else null. */
  keyPairOf(pub: string): KeyPair | null {
    const path = this.keyPath(pub);
    if (!existsSync(path)) return null;
    return fromSeed(new TextEncoder().encode(readFileSync(path, 'utf8').trim()));
  }

  requireKeyPair(pub: string, what: string): KeyPair {
    const kp = this.keyPairOf(pub);
    if (kp === null) throw new AuthCliError(`the seed of ${what} ${pub} is not in the store (${this.keyPath(pub)})`);
    return kp;
  }

  /** Every stored key: kind, public key, and where its seed is. */
  listKeys(): { kind: string; pub: string; path: string }[] {
    const out: { kind: string; pub: string; path: string }[] = [];
    for (const letter of Object.keys(KEY_KINDS)) {
      const top = join(this.root, 'keys', letter);
      for (const sub of this.dirs(top)) {
        for (const f of readdirSync(join(top, sub)).filter((n) => n.endsWith('.nk')).sort()) {
          out.push({ kind: KEY_KINDS[letter], pub: f.slice(0, -3), path: join(top, sub, f) });
        }
      }
    }
    return out;
  }

  private dirs(dir: string): string[] {
    if (!existsSync(dir)) return [];
    return readdirSync(dir).filter((n) => statSync(join(dir, n)).isDirectory()).sort();
  }

  operators(): string[] {
    return this.dirs(join(this.root, 'operators')).filter((o) => existsSync(this.operatorJwtPath(o)));
  }
  accounts(o: string): string[] {
    return this.dirs(join(this.operatorDir(o), 'accounts')).filter((a) => existsSync(this.accountJwtPath(o, a)));
  }
  users(o: string, a: string): string[] {
    const dir = join(this.accountDir(o, a), 'users');
    if (!existsSync(dir)) return [];
    return readdirSync(dir).filter((f) => f.endsWith('.jwt')).map((f) => f.slice(0, -4)).sort();
  }

  readJwt(path: string): StoredJwt {
    if (!existsSync(path)) throw new AuthCliError(`${path} does not exist`);
    return parseStoredJwt(parseDecoratedJwt(readFileSync(path, 'utf8')), path);
  }

  /** The operator to work on: the flag, else the current one, else the only one. */
  currentOperator(flag: string | undefined): string {
    if (flag !== undefined && flag !== '') {
      if (!existsSync(this.operatorJwtPath(flag))) throw new AuthCliError(`operator ${JSON.stringify(flag)} does not exist in ${this.root}`);
      return flag;
    }
    if (existsSync(this.contextFile)) {
      const ctx = JSON.parse(readFileSync(this.contextFile, 'utf8')) as { operator?: unknown };
      if (typeof ctx.operator === 'string' && existsSync(this.operatorJwtPath(ctx.operator))) return ctx.operator;
    }
    const all = this.operators();
    if (all.length === 1) return all[0];
    if (all.length === 0) throw new AuthCliError(`no operator in ${this.root}: run \`natter auth init --operator NAME\` first`);
    throw new AuthCliError(`several operators in ${this.root}: choose one with --operator (${all.join(', ')})`);
  }

  setCurrentOperator(o: string): void {
    this.writePublic(this.contextFile, `${JSON.stringify({ operator: o }, null, 2)}\n`);
  }

  /** An account of operator `o` by name or public key. */
  findAccount(o: string, nameOrKey: string): { name: string; jwt: StoredJwt } {
    if (/^A[A-Z2-7]{55}$/.test(nameOrKey)) {
      for (const a of this.accounts(o)) {
        const jwt = this.readJwt(this.accountJwtPath(o, a));
        if (jwt.sub === nameOrKey) return { name: a, jwt };
      }
      throw new AuthCliError(`no account with public key ${nameOrKey} under operator ${o}`);
    }
    const path = this.accountJwtPath(o, checkName(nameOrKey, 'account'));
    if (!existsSync(path)) {
      const known = this.accounts(o);
      throw new AuthCliError(`account ${JSON.stringify(nameOrKey)} does not exist under operator ${o}${known.length > 0 ? ` (known: ${known.join(', ')})` : ''}`);
    }
    return { name: nameOrKey, jwt: this.readJwt(path) };
  }

  findUser(o: string, a: string, u: string): StoredJwt {
    const path = this.userJwtPath(o, a, checkName(u, 'user'));
    if (!existsSync(path)) {
      const known = this.users(o, a);
      throw new AuthCliError(`user ${JSON.stringify(u)} does not exist in account ${a}${known.length > 0 ? ` (known: ${known.join(', ')})` : ''}`);
    }
    return this.readJwt(path);
  }
}

/**
 * A signing key given on the command line: a seed, a file holding one
 * (nsc's .nk files, or a creds file), or a public key whose seed is stored.
 */
export function resolveSigningKey(store: Store, ref: string): Identity {
  let text = ref.trim();
  if (!/^[SOAU][A-Z2-7]+$/.test(text) && existsSync(text)) text = readFileSync(text, 'utf8');
  const seed = /\bS[OAU][A-Z2-7]{56}\b/.exec(text);
  if (seed !== null) return identityOf(fromSeed(new TextEncoder().encode(seed[0])));
  if (/^[OA][A-Z2-7]{55}$/.test(text)) return identityOf(store.requireKeyPair(text, 'signing key'));
  throw new AuthCliError(`signing key ${JSON.stringify(ref)} is not a seed, a key file, or a stored public key`);
}

/**
 * A command's result: to the --output file when given (0600 when it holds
 * a secret, 0644 otherwise), else to stdout.
 */
export function writeOutput(io: { out(text: string): void; note(text: string): void; store: Store }, file: string | undefined, text: string, secret: boolean): void {
  if (file === undefined || file === '' || file === '-') {
    io.out(text);
    return;
  }
  if (secret) io.store.writePrivate(file, text);
  else io.store.writePublic(file, text);
  io.note(`[ OK ] wrote ${file}`);
}
