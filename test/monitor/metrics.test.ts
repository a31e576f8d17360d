/**
 * /metrics under real client load. Every answer is read twice: by a strict
 * parser written here from the text exposition format's specification
 * (version 0.0.4), which rejects anything the format does not allow, and by
 * the npm package parse-prometheus-text-format, a port of Prometheus' own
 * Python client parser. Both readings must agree.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { get, getJson, rawClient, rawRoundTrip, startMonitored, type Monitored } from './helpers.js';
import { waitUntil } from '../helpers/wait.js';

// ---- the specification's grammar ------------------------------------------------

type Kind = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

interface Family {
  name: string;
  type: Kind;
  help: string | null;
  samples: Array<{ labels: Record<string, string>; value: number }>;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** What Go's strconv.ParseFloat accepts in decimal, plus the special values the format names. */
const FLOAT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const KINDS: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseFloatStrict(s: string, where: string): number {
  if (s === 'NaN') return NaN;
  if (s === '+Inf' || s === 'Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  assert.match(s, FLOAT, `${where}: not a float: ${JSON.stringify(s)}`);
  return Number(s);
}

/** HELP docstrings know two escapes: \\ and \n. */
function unescapeHelp(s: string, where: string): string {
  return s.replace(/\\(.?)/g, (_, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    assert.fail(`${where}: bad escape \\${c} in HELP`);
  });
}

/** Reads `{name="value",...}` from `line` at `i` (just after the brace); returns labels and the index after `}`. */
function parseLabels(line: string, i: number, where: string): { labels: Record<string, string>; next: number } {
  const labels: Record<string, string> = {};
  for (;;) {
    if (line[i] === '}') return { labels, next: i + 1 };
    const eq = line.indexOf('=', i);
    assert.ok(eq > i, `${where}: label without '='`);
    const name = line.slice(i, eq);
    assert.match(name, LABEL_NAME, `${where}: bad label name ${JSON.stringify(name)}`);
    assert.ok(!name.startsWith('__'), `${where}: reserved label name ${name}`);
    assert.ok(!(name in labels), `${where}: label ${name} repeated`);
    assert.equal(line[eq + 1], '"', `${where}: label value must be quoted`);
    let value = '';
    let j = eq + 2;
    for (;; j++) {
      assert.ok(j < line.length, `${where}: unterminated label value`);
      const c = line[j];
      if (c === '"') break;
      if (c === '\\') {
        const e = line[++j];
        if (e === '\\') value += '\\';
        else if (e === '"') value += '"';
        else if (e === 'n') value += '\n';
        else assert.fail(`${where}: bad escape \\${e} in a label value`);
      } else {
        value += c;
      }
    }
    labels[name] = value;
    i = j + 1;
    if (line[i] === ',') i++;
    else assert.equal(line[i], '}', `${where}: expected ',' or '}' after a label`);
  }
}

/**
 * The text format, strictly: every line is a HELP, a TYPE, another comment,
 * blank, or a sample; a family's HELP and TYPE come at most once and before
 * its samples; a family's lines form one group; a name and label set occur once;
 * the text ends with a line feed.
 */
function parseStrict(text: string): Map<string, Family> {
  assert.ok(text.endsWith('\n'), 'the last line must end with a line feed');
  const families = new Map<string, Family>();
  const finished = new Set<string>();
  const seen = new Set<string>();
  let current: string | null = null;
  const enter = (name: string, where: string): Family => {
    if (current !== name) {
      assert.ok(!finished.has(name), `${where}: lines of ${name} are not one group`);
      if (current !== null) finished.add(current);
      current = name;
    }
    let f = families.get(name);
    if (f === undefined) {
      f = { name, type: 'untyped', help: null, samples: [] };
      families.set(name, f);
    }
    return f;
  };
  const typed = new Set<string>();
  text.slice(0, -1).split('\n').forEach((line, n) => {
    const where = `line ${n + 1}`;
    if (line.trim() === '') return;
    if (line.trimStart().startsWith('#')) {
      const m = /^\s*#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (m === null) return; // an ordinary comment
      const [, keyword, name, rest = ''] = m;
      assert.match(name, METRIC_NAME, `${where}: bad metric name`);
      const f = enter(name, where);
      if (keyword === 'HELP') {
        assert.equal(f.help, null, `${where}: second HELP for ${name}`);
        f.help = unescapeHelp(rest, where);
      } else {
        assert.ok(!typed.has(name), `${where}: second TYPE for ${name}`);
        assert.equal(f.samples.length, 0, `${where}: TYPE after samples of ${name}`);
        assert.ok(KINDS.has(rest.trim()), `${where}: unknown type ${rest}`);
        f.type = rest.trim() as Kind;
        typed.add(name);
      }
      return;
    }
    const nm = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    assert.ok(nm !== null, `${where}: a sample must start with a metric name: ${JSON.stringify(line)}`);
    const name = nm[0];
    let i = name.length;
    let labels: Record<string, string> = {};
    if (line[i] === '{') ({ labels, next: i } = parseLabels(line, i + 1, where));
    const fields = line.slice(i).trim().split(/[ \t]+/);
    assert.ok(/^[ \t]/.test(line.slice(i)), `${where}: no blank before the value`);
    assert.ok(fields.length === 1 || fields.length === 2, `${where}: expected a value and an optional timestamp`);
    const value = parseFloatStrict(fields[0], where);
    if (fields.length === 2) assert.match(fields[1], /^-?\d+$/, `${where}: bad timestamp`);
    const f = enter(name, where);
    const key = name + JSON.stringify(Object.entries(labels).sort());
    assert.ok(!seen.has(key), `${where}: ${name} with these labels repeated`);
    seen.add(key);
    f.samples.push({ labels, value });
  });
  return families;
}

// ---- the npm package's reading ----------------------------------------------------

interface PackageFamily {
  name: string;
  help: string;
  type: string;
  metrics: Array<{ value: string; labels?: Record<string, string> }>;
}

const parsePrometheusTextFormat = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => PackageFamily[];

/** Scrapes /metrics, checks the content type, parses it both ways and checks they agree. */
async function scrape(base: string, path = '/metrics'): Promise<Map<string, Family>> {
  const r = await get(base, path);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.contentType, 'text/plain; version=0.0.4; charset=utf-8');
  const strict = parseStrict(r.text);
  const theirs = parsePrometheusTextFormat(r.text);
  assert.deepEqual(theirs.map((f) => f.name), [...strict.keys()], 'both parsers see the same families in order');
  for (const f of theirs) {
    const mine = strict.get(f.name);
    assert.ok(mine !== undefined);
    assert.equal(f.type, mine.type.toUpperCase(), f.name);
    assert.equal(f.help, mine.help, f.name);
    assert.deepEqual(
      f.metrics.map((m) => ({ labels: m.labels ?? {}, value: Number(m.value) })),
      mine.samples,
      f.name,
    );
  }
  return strict;
}

function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const f = families.get(name);
  assert.ok(f !== undefined, `no family ${name}`);
  const s = f.samples.find((x) => JSON.stringify(x.labels) === JSON.stringify(labels));
  assert.ok(s !== undefined, `no ${name}${JSON.stringify(labels)}`);
  return s.value;
}

// ---- the tests --------------------------------------------------------------------

/** Every family, its type and its labels: the stable surface the README documents. */
const EXPECTED: ReadonlyArray<readonly [string, Kind, readonly string[]]> = [
  ['natter_info', 'gauge', ['server_id', 'server_name', 'version', 'natter_version']],
  ['natter_start_time_seconds', 'gauge', []],
  ['natter_uptime_seconds', 'gauge', []],
  ['natter_connections', 'gauge', []],
  ['natter_connections_total', 'counter', []],
  ['natter_websocket_connections', 'gauge', []],
  ['natter_max_connections', 'gauge', []],
  ['natter_subscriptions', 'gauge', []],
  ['natter_pending_bytes', 'gauge', []],
  ['natter_slow_consumers_total', 'counter', []],
  ['natter_in_messages_total', 'counter', []],
  ['natter_out_messages_total', 'counter', []],
  ['natter_in_bytes_total', 'counter', []],
  ['natter_out_bytes_total', 'counter', []],
  ['natter_accounts', 'gauge', []],
  ['natter_account_connections', 'gauge', ['account']],
  ['natter_account_subscriptions', 'gauge', ['account']],
  ['natter_account_slow_consumers_total', 'counter', ['account']],
  ['natter_account_in_messages_total', 'counter', ['account']],
  ['natter_account_out_messages_total', 'counter', ['account']],
  ['natter_account_in_bytes_total', 'counter', ['account']],
  ['natter_account_out_bytes_total', 'counter', ['account']],
  ['natter_routes', 'gauge', []],
  ['natter_route_pending_bytes', 'gauge', ['remote_id', 'remote_name']],
  ['natter_route_in_messages_total', 'counter', ['remote_id', 'remote_name']],
  ['natter_route_out_messages_total', 'counter', ['remote_id', 'remote_name']],
  ['natter_route_in_bytes_total', 'counter', ['remote_id', 'remote_name']],
  ['natter_route_out_bytes_total', 'counter', ['remote_id', 'remote_name']],
  ['natter_route_subscriptions', 'gauge', ['remote_id', 'remote_name']],
  ['natter_leafnodes', 'gauge', []],
  ['natter_leafnode_in_messages_total', 'counter', ['remote_id', 'remote_name', 'account']],
  ['natter_leafnode_out_messages_total', 'counter', ['remote_id', 'remote_name', 'account']],
  ['natter_leafnode_in_bytes_total', 'counter', ['remote_id', 'remote_name', 'account']],
  ['natter_leafnode_out_bytes_total', 'counter', ['remote_id', 'remote_name', 'account']],
  ['natter_leafnode_subscriptions', 'gauge', ['remote_id', 'remote_name', 'account']],
  ['natter_process_resident_memory_bytes', 'gauge', []],
  ['natter_process_heap_used_bytes', 'gauge', []],
  ['natter_process_cpu_seconds_total', 'counter', []],
];

const PW = 'pw';
const ACCOUNTS = {
  accounts: {
    ORDERS: { users: [{ user: 'orders', password: PW }, { user: 'orders2', password: PW }] },
    BILLING: { users: [{ user: 'billing', password: PW }] },
  },
};

let m: Monitored;
before(async () => {
  m = await startMonitored(ACCOUNTS);
});
after(async () => {
  await m.close();
});

test('the strict parser refuses what the format forbids', () => {
  const ok = '# HELP a_total Help with \\\\ and \\n.\n# TYPE a_total counter\na_total{x="q\\"\\\\\\n",} 1.5e3 1700000000000\n# a comment\n\nb -Inf\n';
  const f = parseStrict(ok);
  assert.deepEqual(f.get('a_total'), { name: 'a_total', type: 'counter', help: 'Help with \\ and \n.', samples: [{ labels: { x: 'q"\\\n' }, value: 1500 }] });
  assert.equal(value(f, 'b'), -Infinity);
  for (const bad of [
    'a 1',
    'bad line here\n',
    'a{x="1"} 1\na{x="1"} 2\n',
    'a 1\nb 1\na 2\n',
    '# TYPE a counter\n# TYPE a counter\na 1\n',
    'a 1\n# TYPE a gauge\n',
    '# TYPE a meter\na 1\n',
    'a{x="\\t"} 1\n',
    'a{x=1} 1\n',
    'a{__x="1"} 1\n',
    'a{x="1" 1\n',
    'a 0x10\n',
    'a{x="1"}1\n',
    '1a 1\n',
  ]) {
    assert.throws(() => parseStrict(bad), JSON.stringify(bad));
  }
});

test('every documented family is there with its type, help and labels, and nothing else', async () => {
  const t0 = Date.now();
  const f = await scrape(m.base);
  assert.deepEqual([...f.keys()], EXPECTED.map(([n]) => n));
  for (const [name, type, labels] of EXPECTED) {
    const fam = f.get(name);
    assert.ok(fam !== undefined);
    assert.equal(fam.type, type, name);
    assert.ok(fam.help !== null && fam.help.length > 10, `${name} has a HELP line`);
    // Per-route and per-leaf families have samples only with routes or leafs (test/cluster/monitoring.test.ts
    // and test/leafnode/natter-pair.test.ts cover them).
    if (!name.startsWith('natter_route_') && !name.startsWith('natter_leafnode_')) assert.ok(fam.samples.length > 0, `${name} has samples`);
    for (const s of fam.samples) {
      assert.deepEqual(Object.keys(s.labels), labels, name);
      assert.ok(Number.isFinite(s.value), `${name} is finite`);
      if (type === 'counter') assert.ok(s.value >= 0, `${name} is not negative`);
    }
  }
  const srv = m.srv.server;
  assert.deepEqual(f.get('natter_info')?.samples, [{
    labels: { server_id: srv.id, server_name: srv.name, version: '2.10.0', natter_version: '0.1.0' },
    value: 1,
  }]);
  assert.equal(value(f, 'natter_start_time_seconds'), srv.started.getTime() / 1000);
  const uptime = value(f, 'natter_uptime_seconds');
  assert.ok(uptime > 0 && uptime <= (Date.now() - srv.started.getTime()) / 1000, `uptime ${uptime}`);
  assert.ok(t0 - srv.started.getTime() <= uptime * 1000 + 1, 'uptime counts from the start');
  assert.equal(value(f, 'natter_max_connections'), srv.options.max_connections);
  assert.ok(value(f, 'natter_process_resident_memory_bytes') > 10 * 1024 * 1024);
  assert.ok(value(f, 'natter_process_heap_used_bytes') > 1024 * 1024);
  assert.ok(value(f, 'natter_process_cpu_seconds_total') > 0);
  assert.equal(value(f, 'natter_accounts'), 4);
  assert.deepEqual(f.get('natter_account_connections')?.samples.map((s) => s.labels.account), ['$G', '$SYS', 'BILLING', 'ORDERS']);
});

test('counters and gauges follow real client traffic, per account too', async () => {
  const before = await scrape(m.base);
  const totalBefore = value(before, 'natter_connections_total');
  // The server's own `$SYS` services subscribe in every account, as nats-server's do.
  const subsBefore = value(before, 'natter_subscriptions');
  const accSubsBefore = (account: string): number => value(before, 'natter_account_subscriptions', { account });
  const sub = await m.connect({ user: 'orders', pass: PW, name: 'sub' });
  const pub = await m.connect({ user: 'orders2', pass: PW, name: 'pub' });
  const other = await m.connect({ user: 'billing', pass: PW, name: 'other' });
  let got = 0;
  sub.subscribe('o.*', { callback: () => { got++; } });
  sub.subscribe('o.created');
  other.subscribe('b.>');
  await Promise.all([sub.flush(), other.flush()]);
  const payload = new Uint8Array(100);
  for (let i = 0; i < 40; i++) pub.publish('o.created', payload);
  // Nobody in BILLING listens on this: counted in, not out.
  for (let i = 0; i < 3; i++) other.publish('nobody', new Uint8Array(10));
  await Promise.all([pub.flush(), other.flush()]);
  await waitUntil(() => got === 40, 5000, 'deliveries');
  await sub.flush();

  const f = await scrape(m.base);
  assert.equal(value(f, 'natter_connections'), 3);
  assert.equal(value(f, 'natter_connections_total'), totalBefore + 3);
  assert.equal(value(f, 'natter_subscriptions'), subsBefore + 3);
  assert.equal(value(f, 'natter_in_messages_total'), 43);
  assert.equal(value(f, 'natter_in_bytes_total'), 40 * 100 + 3 * 10);
  assert.equal(value(f, 'natter_out_messages_total'), 80, 'two subscriptions match each message');
  assert.equal(value(f, 'natter_out_bytes_total'), 80 * 100);
  const orders = { account: 'ORDERS' };
  const billing = { account: 'BILLING' };
  assert.equal(value(f, 'natter_account_connections', orders), 2);
  assert.equal(value(f, 'natter_account_connections', billing), 1);
  assert.equal(value(f, 'natter_account_connections', { account: '$G' }), 0);
  assert.equal(value(f, 'natter_account_subscriptions', orders), accSubsBefore('ORDERS') + 2);
  assert.equal(value(f, 'natter_account_subscriptions', billing), accSubsBefore('BILLING') + 1);
  assert.equal(value(f, 'natter_account_in_messages_total', orders), 40);
  assert.equal(value(f, 'natter_account_out_messages_total', orders), 80);
  assert.equal(value(f, 'natter_account_in_bytes_total', orders), 4000);
  assert.equal(value(f, 'natter_account_out_bytes_total', orders), 8000);
  assert.equal(value(f, 'natter_account_in_messages_total', billing), 3);
  assert.equal(value(f, 'natter_account_in_bytes_total', billing), 30);
  assert.equal(value(f, 'natter_account_out_messages_total', billing), 0);

  // The same figures /varz reports.
  const v = await getJson(m.base, '/varz');
  for (const [metric, field] of [['natter_in_messages_total', 'in_msgs'], ['natter_out_messages_total', 'out_msgs'],
    ['natter_in_bytes_total', 'in_bytes'], ['natter_out_bytes_total', 'out_bytes'], ['natter_connections', 'connections'],
    ['natter_connections_total', 'total_connections'], ['natter_subscriptions', 'subscriptions']] as const) {
    assert.equal(value(f, metric), v[field], metric);
  }

  // Closing connections lowers the gauges; the counters keep what they counted.
  await pub.close();
  await sub.close();
  await waitUntil(() => m.srv.server.clients.size === 1, 5000, 'clients gone');
  const g = await scrape(m.base);
  assert.equal(value(g, 'natter_connections'), 1);
  assert.equal(value(g, 'natter_connections_total'), totalBefore + 3);
  assert.equal(value(g, 'natter_subscriptions'), subsBefore + 1);
  assert.equal(value(g, 'natter_in_messages_total'), 43);
  assert.equal(value(g, 'natter_out_messages_total'), 80);
  assert.equal(value(g, 'natter_account_connections', orders), 0);
  assert.equal(value(g, 'natter_account_subscriptions', orders), accSubsBefore('ORDERS'));
  assert.equal(value(g, 'natter_account_in_messages_total', orders), 40);
  assert.equal(value(g, 'natter_account_out_bytes_total', orders), 8000);
  await other.close();
});

test('process CPU seconds grow with work', async () => {
  const a = value(await scrape(m.base), 'natter_process_cpu_seconds_total');
  const until = Date.now() + 60;
  let x = 0;
  while (Date.now() < until) x += Math.sqrt(x + 1);
  assert.ok(x > 0);
  const b = value(await scrape(m.base), 'natter_process_cpu_seconds_total');
  assert.ok(b - a >= 0.04, `cpu seconds ${a} -> ${b}`);
});

test('a subscriber that stops reading shows as a slow consumer, in its account too', async () => {
  const local = await startMonitored({ max_pending: 256 * 1024, max_payload: 64 * 1024, write_deadline: 500 });
  let slow: Socket | null = null;
  try {
    slow = await rawClient(local.srv.port);
    await rawRoundTrip(slow, 'SUB big 1\r\n');
    slow.pause();
    const pub = await local.connect();
    const payload = new Uint8Array(32 * 1024);
    // At most 64 MiB, far beyond max_pending and the kernel's buffers.
    for (let batch = 0; batch < 64 && local.srv.server.stats.slowConsumers === 0; batch++) {
      for (let i = 0; i < 32; i++) pub.publish('big', payload);
      await pub.flush();
    }
    await waitUntil(() => local.srv.server.stats.slowConsumers > 0, 5000, 'a slow consumer');
    const f = await scrape(local.base);
    assert.ok(value(f, 'natter_slow_consumers_total') >= 1);
    assert.equal(value(f, 'natter_account_slow_consumers_total', { account: '$G' }), value(f, 'natter_slow_consumers_total'));
    assert.equal(value(f, 'natter_account_slow_consumers_total', { account: '$SYS' }), 0);
  } finally {
    slow?.destroy();
    await local.close();
  }
});

test('label values with quotes, backslashes and line feeds are escaped', async () => {
  const name = 'we"ird\\acc\nname';
  const local = await startMonitored({ accounts: { [name]: { users: [{ user: 'u', password: PW }] } } });
  try {
    const r = await get(local.base, '/metrics');
    assert.ok(r.text.includes('natter_account_connections{account="we\\"ird\\\\acc\\nname"} 0\n'), 'escaped on the wire');
    const f = await scrape(local.base);
    assert.equal(value(f, 'natter_account_connections', { account: name }), 0);
  } finally {
    await local.close();
  }
});

test('/metrics follows http_base_path like every endpoint', async () => {
  const local = await startMonitored({ http_base_path: '/mon' });
  try {
    const f = await scrape(local.base, '/mon/metrics');
    assert.equal(value(f, 'natter_connections'), 0);
    assert.equal((await get(local.base, '/metrics')).status, 404);
    assert.equal((await get(local.base, '/mon/metrics/')).status, 404);
  } finally {
    await local.close();
  }
});
