/**
 * The account JWT directory (nats-server's DirJWTStore layout and rules):
 * file names and modes, newer-wins preloads, the full resolver's hard limit,
 * the cache's least-recently-used eviction and ttl, deletes by renaming or
 * removing; and the resolver option's parsing.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { waitUntil } from '../helpers/wait.js';
import { DirJwtStore, type DirStoreOptions } from '../../src/jwt/dir-store.js';
import { parseResolver } from '../../src/jwt/resolver-config.js';
import { accountJwt, newAccount, newOperator, nowSec } from './encoder.js';

const root = mkdtempSync(join(tmpdir(), 'natter-dirstore-'));
const op = newOperator();
const stores: DirJwtStore[] = [];
let n = 0;

function store(o: Partial<DirStoreOptions> = {}): DirJwtStore {
  const s = new DirJwtStore({ dir: join(root, `s${n++}`), deleteMode: 'none', limit: Infinity, evictOnLimit: false, ttlMs: 0, ...o });
  stores.push(s);
  return s;
}

after(() => {
  for (const s of stores) s.close();
  rmSync(root, { recursive: true, force: true });
});

describe('DirJwtStore', () => {
  it('keeps each account as <key>.jwt holding the JWT alone, mode 0644, and reads them back after reopening', () => {
    const s = store();
    const a = newAccount();
    const jwt = accountJwt(a.pub, op.kp);
    assert.equal(s.save(a.pub, jwt), true);
    assert.equal(s.save(a.pub, jwt), false, 'the same JWT again changes nothing');
    assert.deepEqual(readdirSync(s.dir), [`${a.pub}.jwt`]);
    assert.equal(readFileSync(join(s.dir, `${a.pub}.jwt`), 'utf8'), jwt);
    assert.equal(statSync(join(s.dir, `${a.pub}.jwt`)).mode & 0o777, 0o644);
    const again = new DirJwtStore({ dir: s.dir, deleteMode: 'none', limit: Infinity, evictOnLimit: false, ttlMs: 0 });
    stores.push(again);
    assert.equal(again.load(a.pub), jwt);
    assert.deepEqual(again.list(), [a.pub]);
    assert.throws(() => s.save('../../etc/passwd', jwt), /invalid public key/);
  });

  it('preloads never replace a newer JWT', () => {
    const s = store();
    const a = newAccount();
    const newer = accountJwt(a.pub, op.kp, {}, { iat: nowSec() });
    s.save(a.pub, newer);
    assert.equal(s.saveIfNewer(a.pub, accountJwt(a.pub, op.kp, {}, { iat: nowSec() - 100 })), false);
    assert.equal(s.load(a.pub), newer);
    const newest = accountJwt(a.pub, op.kp, { tags: ['x'] }, { iat: nowSec() + 5 });
    assert.equal(s.saveIfNewer(a.pub, newest), true);
    assert.equal(s.load(a.pub), newest);
  });

  it('full: refuses new accounts past the limit', () => {
    const s = store({ limit: 1 });
    const [a, b] = [newAccount(), newAccount()];
    s.save(a.pub, accountJwt(a.pub, op.kp));
    assert.throws(() => s.save(b.pub, accountJwt(b.pub, op.kp)), /jwt store is full/);
    s.save(a.pub, accountJwt(a.pub, op.kp, { tags: ['updated'] }));
  });

  it('cache: evicts the least recently used account past the limit', () => {
    const s = store({ limit: 2, evictOnLimit: true });
    const [a, b, c] = [newAccount(), newAccount(), newAccount()];
    s.save(a.pub, accountJwt(a.pub, op.kp));
    s.save(b.pub, accountJwt(b.pub, op.kp));
    s.load(a.pub);
    s.save(c.pub, accountJwt(c.pub, op.kp));
    assert.deepEqual(s.list(), [a.pub, c.pub].sort());
  });

  it('cache: drops a JWT unused for its ttl', async () => {
    const s = store({ ttlMs: 60, evictOnLimit: true, limit: 10 });
    const a = newAccount();
    s.save(a.pub, accountJwt(a.pub, op.kp));
    await waitUntil(() => !existsSync(join(s.dir, `${a.pub}.jwt`)), 2000, 'the ttl to expire');
    assert.equal(s.load(a.pub), null);
  });

  it('deletes by renaming, removing, or not at all', () => {
    const a = newAccount();
    const rename = store({ deleteMode: 'rename' });
    rename.save(a.pub, accountJwt(a.pub, op.kp));
    rename.delete(a.pub);
    assert.deepEqual(readdirSync(rename.dir), [`${a.pub}.jwt.deleted`]);
    assert.deepEqual(rename.list(), []);
    const hard = store({ deleteMode: 'hard' });
    hard.save(a.pub, accountJwt(a.pub, op.kp));
    hard.delete(a.pub);
    assert.deepEqual(readdirSync(hard.dir), []);
    const none = store();
    assert.throws(() => none.delete(a.pub), /not set up to for delete/);
  });
});

describe('resolver option', () => {
  it('reads MEMORY and full/cache maps with nats-server defaults', () => {
    assert.deepEqual(parseResolver('mem').config, { kind: 'memory' });
    assert.deepEqual(parseResolver({ type: 'full', dir: '/j', allow_delete: true, interval: '2m', timeout: '1s' }).config,
      { kind: 'full', dir: '/j', allowDelete: true, limit: Infinity, ttlMs: 0 });
    assert.deepEqual(parseResolver({ type: 'CACHE', dir: '/j', ttl: '2h' }).config,
      { kind: 'cache', dir: '/j', allowDelete: false, limit: 1000, ttlMs: 7_200_000 });
    assert.deepEqual(parseResolver({ type: 'full', dir: '/j', limit: 'x', timeout: '0s' }).problems, [
      { key: 'limit', message: 'resolver limit must be an integer' },
      { key: 'timeout', message: 'Fetch timeout 0s is too small' },
    ]);
  });
});
