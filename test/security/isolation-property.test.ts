/**
 * Property test of account isolation (seeded, bounded): a random set of
 * accounts with random stream and service exports/imports (public and
 * private), random subscribers in every account and in $G, random
 * publishes with and without reply subjects. The deliveries every
 * subscription must see are computed from the configuration alone and
 * compared exactly with what the server delivered: no message may cross an
 * account except through a configured import.
 *
 * The model, checked against nats-server 2.9.10 with the same seeds:
 * - a message is delivered to every matching subscription of its account;
 * - a stream import delivers it once more in the importing account (subject
 *   prefixed or renamed), and that copy goes no further;
 * - a service import delivers it in the exporting account (subject mapped
 *   back), and from there through that account's own service imports; the
 *   reply subject seen beyond an account boundary is a private `_R_.` one;
 * - the publisher's account still gets it locally as well.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../helpers/random.js';
import { sleep } from '../helpers/wait.js';
import { RawSession } from '../helpers/session.js';
import { startTarget, type Kind } from './helpers.js';

const GLOBAL = '$G';
const TOKENS = ['a', 'b'];

interface StreamImport {
  importer: string;
  exporter: string;
  /** Subject pattern in the exporter's space. */
  subject: string;
  prefix?: string;
  /** Only with a literal subject. */
  to?: string;
}

interface ServiceImport {
  importer: string;
  exporter: string;
  /** Pattern in the exporter's space. */
  subject: string;
  /** Pattern in the importer's space (same wildcard shape). */
  local: string;
}

interface World {
  accounts: string[];
  streams: StreamImport[];
  services: ServiceImport[];
  config: Record<string, unknown>;
}

function matches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

/** Maps `subject` matching `from` onto `to`: literal prefixes swapped, the rest kept. */
function mapSubject(from: string, to: string, subject: string): string {
  if (!from.endsWith('>')) return to;
  const keep = subject.split('.').slice(from.split('.').length - 1);
  return [...to.split('.').slice(0, -1), ...keep].join('.');
}

/** A random configuration: imports only from earlier to later accounts, so nothing forms a cycle. */
function makeWorld(rng: Rng): World {
  for (;;) {
    const w = makeWorldOnce(rng);
    if (w.streams.length > 0 && w.services.length > 0) return w;
  }
}

function makeWorldOnce(rng: Rng): World {
  const n = rng.range(3, 5);
  const accounts = Array.from({ length: n }, (_, i) => String.fromCharCode(65 + i));
  const streams: StreamImport[] = [];
  const services: ServiceImport[] = [];
  const cfg: Record<string, { users: unknown[]; exports: unknown[]; imports: unknown[] }> = {};
  for (const a of accounts) cfg[a] = { users: [{ user: `u${a}`, password: 'p' }], exports: [], imports: [] };
  // Who may import what: some exports are private to a few later accounts.
  for (let x = 0; x < n; x++) {
    const X = accounts[x];
    const later = accounts.slice(x + 1);
    const streamTo = later.filter(() => rng.chance(0.6));
    const serviceTo = later.filter(() => rng.chance(0.6));
    const streamPrivate = rng.chance(0.4) && streamTo.length > 0;
    const servicePrivate = rng.chance(0.4) && serviceTo.length > 0;
    cfg[X].exports.push(streamPrivate ? { stream: `s.${X}.>`, accounts: streamTo } : { stream: `s.${X}.>` });
    cfg[X].exports.push(servicePrivate ? { service: `q.${X}.>`, accounts: serviceTo } : { service: `q.${X}.>` });
    for (const Y of streamTo) {
      const shape = rng.int(4);
      const subject = shape === 0 ? `s.${X}.>` : shape === 1 ? `s.${X}.${rng.pick(TOKENS)}.*` : `s.${X}.${rng.pick(TOKENS)}`;
      const imp: StreamImport = { importer: Y, exporter: X, subject };
      const entry: Record<string, unknown> = { stream: { account: X, subject } };
      if (shape === 3) {
        imp.to = `renamed.${X}.${rng.pick(TOKENS)}`;
        entry.to = imp.to;
      } else if (rng.chance(0.7)) {
        imp.prefix = `from${X}`;
        entry.prefix = imp.prefix;
      }
      streams.push(imp);
      cfg[Y].imports.push(entry);
    }
    for (const Y of serviceTo) {
      const literal = rng.chance(0.3);
      const t = rng.pick(TOKENS);
      const subject = literal ? `q.${X}.${t}` : `q.${X}.>`;
      const local = literal ? `svc.${X}.${t}` : `svc.${X}.>`;
      services.push({ importer: Y, exporter: X, subject, local });
      cfg[Y].imports.push({ service: { account: X, subject }, to: local });
    }
  }
  // Re-exported services: a later account may use an earlier account's import of a third one.
  for (const si of [...services]) {
    if (!si.local.endsWith('>') || !rng.chance(0.5)) continue;
    const y = accounts.indexOf(si.importer);
    const Zs = accounts.slice(y + 1);
    if (Zs.length === 0) continue;
    const Z = rng.pick(Zs);
    const local = `via.${si.importer}.${si.exporter}.>`;
    if (!cfg[si.importer].exports.some((e) => (e as { service?: string }).service === si.local)) {
      cfg[si.importer].exports.push({ service: si.local });
    }
    services.push({ importer: Z, exporter: si.importer, subject: si.local, local });
    cfg[Z].imports.push({ service: { account: si.importer, subject: si.local }, to: local });
  }
  // Re-exported streams: an importer offers what it imports to a later account. nats-server
  // does not pass a message that entered an account through a stream import on to a
  // further account, so these imports must deliver nothing from the first exporter.
  for (const si of [...streams]) {
    if (si.prefix === undefined || !si.subject.endsWith('>') || !rng.chance(0.6)) continue;
    const y = accounts.indexOf(si.importer);
    const Zs = accounts.slice(y + 1);
    if (Zs.length === 0) continue;
    const Z = rng.pick(Zs);
    const reexport = `${si.prefix}.${si.subject}`;
    if (!cfg[si.importer].exports.some((e) => (e as { stream?: string }).stream === reexport)) {
      cfg[si.importer].exports.push({ stream: reexport });
    }
    const prefix = `via${si.importer}`;
    streams.push({ importer: Z, exporter: si.importer, subject: reexport, prefix });
    cfg[Z].imports.push({ stream: { account: si.importer, subject: reexport }, prefix });
  }
  const accountsCfg: Record<string, unknown> = {};
  for (const a of accounts) {
    const c: Record<string, unknown> = { users: cfg[a].users };
    if (cfg[a].exports.length > 0) c.exports = cfg[a].exports;
    if (cfg[a].imports.length > 0) c.imports = cfg[a].imports;
    accountsCfg[a] = c;
  }
  return {
    accounts: [GLOBAL, ...accounts],
    streams,
    services,
    config: { authorization: { users: [{ user: 'uG', password: 'p' }] }, accounts: accountsCfg },
  };
}

/**
 * A subject from the space the configuration talks about, each form about
 * equally likely; `own` (the publisher's account) is favoured as the
 * exporter so that exports are exercised often.
 */
function pickSubject(world: World, rng: Rng, own: string | null): string {
  const names = world.accounts.filter((a) => a !== GLOBAL);
  const X = own !== null && own !== GLOBAL && rng.chance(0.5) ? own : rng.pick(names);
  const Y = rng.pick(names);
  const t = rng.pick(TOKENS);
  switch (rng.int(9)) {
    case 0: return `s.${X}.${t}`;
    case 1: return `s.${X}.${t}.${rng.pick(TOKENS)}`;
    case 2: return `q.${X}.${t}`;
    case 3: return `svc.${X}.${t}`;
    case 4: return `renamed.${X}.${t}`;
    case 5: return `via.${Y}.${X}.${t}`;
    case 6: return `from${X}.s.${X}.${t}`;
    case 7: return `via${Y}.from${X}.s.${X}.${t}`;
    default: return rng.pick(['misc.a', 'misc.b.c']);
  }
}

interface Delivery {
  account: string;
  subject: string;
  /** The reply as the subscriber must see it: the original, '_R_' for a mapped one, or ''. */
  reply: string;
}

/** Where one publish must be delivered, per the model in the header comment. */
function expectedDeliveries(world: World, account: string, subject: string, reply: string): Delivery[] {
  const out: Delivery[] = [{ account, subject, reply }];
  for (const si of world.streams) {
    if (si.exporter !== account || !matches(si.subject, subject)) continue;
    const mapped = si.to ?? (si.prefix !== undefined ? `${si.prefix}.${subject}` : subject);
    out.push({ account: si.importer, subject: mapped, reply });
  }
  const viaServices = (acc: string, subj: string, rep: string, depth: number): void => {
    if (depth > 8) return;
    for (const si of world.services) {
      if (si.importer !== acc || !matches(si.local, subj)) continue;
      const mapped = mapSubject(si.local, si.subject, subj);
      const mappedReply = rep === '' ? '' : '_R_';
      out.push({ account: si.exporter, subject: mapped, reply: mappedReply });
      viaServices(si.exporter, mapped, mappedReply, depth + 1);
    }
  };
  viaServices(account, subject, reply, 0);
  return out;
}

interface Sub {
  conn: number;
  sid: number;
  account: string;
  pattern: string;
}

async function runSeed(kind: Kind, seed: number): Promise<void> {
  const rng = new Rng(seed);
  const world = makeWorld(rng);
  const srv = await startTarget(kind, world.config);
  const conns: RawSession[] = [];
  const connAccount: string[] = [];
  try {
    const subs: Sub[] = [];
    for (const account of world.accounts) {
      for (let k = 0; k < 2; k++) {
        const s = await RawSession.connect(srv.port);
        const user = `u${account === GLOBAL ? 'G' : account}`;
        const n = conns.length;
        conns.push(s);
        connAccount.push(account);
        let cmds = `CONNECT {"verbose":false,"pedantic":false,"user":"${user}","pass":"p"}\r\n`;
        const count = rng.range(2, 5);
        for (let i = 1; i <= count; i++) {
          const r = rng.int(10);
          const base = pickSubject(world, rng, null);
          const toks = base.split('.');
          // Every account has one catch-all subscription: whatever enters it is seen.
          const pattern = (k === 0 && i === 1) || r === 0 ? '>'
            : r <= 2 ? [toks[0], '>'].join('.')
            : r <= 4 ? [...toks.slice(0, 2), '>'].join('.')
            : r === 5 ? [toks[0], '*', ...toks.slice(2)].join('.')
            : base;
          subs.push({ conn: n, sid: i, account, pattern });
          cmds += `SUB ${pattern} ${i}\r\n`;
        }
        const out = await s.request(`${cmds}PING\r\n`, 'PONG\r\n');
        assert.equal(out, 'PONG\r\n', `${user} connects and subscribes`);
        s.take();
      }
    }
    // Publishes: each a unique payload, from a random connection.
    const expected = new Map<string, string[]>();
    const key = (conn: number, sid: number): string => `${conn}/${sid}`;
    for (const s of subs) expected.set(key(s.conn, s.sid), []);
    const batches: string[][] = conns.map(() => []);
    const PUBS = 200;
    let crossed = 0;
    for (let id = 0; id < PUBS; id++) {
      const from = rng.int(conns.length);
      const subject = pickSubject(world, rng, connAccount[from]);
      const reply = rng.chance(0.5) ? `r.${id}` : '';
      const payload = `m${id}`;
      batches[from].push(`PUB ${subject} ${reply === '' ? '' : reply + ' '}${payload.length}\r\n${payload}\r\n`);
      for (const d of expectedDeliveries(world, connAccount[from], subject, reply)) {
        for (const s of subs) {
          if (s.account === d.account && matches(s.pattern, d.subject)) {
            expected.get(key(s.conn, s.sid))?.push(`${d.subject} ${d.reply} ${payload}`);
            if (d.account !== connAccount[from]) crossed++;
          }
        }
      }
    }
    for (let i = 0; i < conns.length; i++) conns[i].send(batches[i].join(''));
    for (const s of conns) await s.sync(3000);
    await sleep(60);
    const actual = new Map<string, string[]>();
    for (const s of subs) actual.set(key(s.conn, s.sid), []);
    for (let i = 0; i < conns.length; i++) {
      await conns[i].sync(3000);
      const text = conns[i].text();
      const re = /MSG (\S+) (\d+) (?:(\S+) )?(\d+)\r\n/g;
      for (let m = re.exec(text); m !== null; m = re.exec(text)) {
        const size = Number(m[4]);
        const body = text.slice(m.index + m[0].length, m.index + m[0].length + size);
        const reply = m[3] === undefined ? '' : m[3].startsWith('_R_.') ? '_R_' : m[3];
        const list = actual.get(key(i, Number(m[2])));
        assert.ok(list !== undefined, `a delivery for an unknown subscription ${i}/${m[2]}: ${m[0]}`);
        list.push(`${m[1]} ${reply} ${body}`);
      }
      assert.doesNotMatch(text, /-ERR/, `no errors on connection ${i}`);
    }
    const describeSub = (k: string): string => {
      const [c, sid] = k.split('/').map(Number);
      const s = subs.find((x) => x.conn === c && x.sid === sid);
      return `account ${s?.account} conn ${c} sid ${sid} "${s?.pattern}"`;
    };
    let total = 0;
    for (const [k, want] of expected) {
      total += want.length;
      assert.deepEqual([...(actual.get(k) ?? [])].sort(), [...want].sort(),
        `seed ${seed}, ${describeSub(k)}\nconfig: ${JSON.stringify(world.config)}`);
    }
    assert.ok(total > 0, 'the seed produced deliveries');
    assert.ok(crossed > 0, 'the seed produced deliveries across accounts');
    if (process.env.NATTER_PROPERTY_STATS) console.log(`seed ${seed}: ${total} deliveries, ${crossed} across accounts`);
  } finally {
    for (const s of conns) s.close();
    await srv.stop();
  }
}

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];

describe('no message crosses an account except through a configured import', () => {
  for (const kind of ['nats-server', 'natter'] as const) {
    for (const seed of SEEDS) {
      it(`${kind}: seed ${seed}`, () => runSeed(kind, seed));
    }
  }
});
