/**
 * The dashboard's browser code. It has its own tsc project (tsconfig.json
 * here: the DOM library, no Node types) that emits it next to the server
 * code; the monitor serves the emitted file as it is, so there is no bundler
 * and nothing is fetched from outside the monitoring port.
 *
 * It polls nats-server's JSON endpoints (relative to the page, so any base
 * path works), keeps a short history of /varz counters to turn them into
 * rates, and draws those on canvases. Strings from the server (connection
 * names, account names...) only ever reach the page through textContent.
 *
 * Numbers a test or a curious reader may want are also on the elements:
 * tiles carry `data-value` (the raw number) and charts `data-points`.
 */

// ---- the JSON this page reads (the fields it uses) ---------------------------

interface Varz {
  server_id: string;
  server_name: string;
  version: string;
  uptime: string;
  max_connections: number;
  connections: number;
  total_connections: number;
  subscriptions: number;
  slow_consumers: number;
  in_msgs: number;
  out_msgs: number;
  in_bytes: number;
  out_bytes: number;
  mem: number;
  cpu: number;
  cores: number;
  /** Empty (or absent) when clustering is not configured. */
  cluster?: { name?: string };
}

interface ConnInfo {
  cid: number;
  name?: string;
  ip: string;
  port: number;
  account?: string;
  authorized_user?: string;
  lang?: string;
  version?: string;
  uptime: string;
  idle: string;
  rtt?: string;
  pending_bytes: number;
  subscriptions: number;
  in_msgs: number;
  out_msgs: number;
  in_bytes: number;
  out_bytes: number;
}

interface Connz {
  num_connections: number;
  total: number;
  connections: ConnInfo[] | null;
}

interface Subsz {
  num_subscriptions: number;
  num_cache: number;
  num_inserts: number;
  num_removes: number;
  num_matches: number;
  cache_hit_rate: number;
  max_fanout: number;
  avg_fanout: number;
}

interface Accountz {
  system_account?: string;
}

interface AccountStat {
  acc: string;
  conns: number;
  total_conns: number;
  sent: { msgs: number; bytes: number };
  received: { msgs: number; bytes: number };
  slow_consumers: number;
}

interface Accstatz {
  account_statz: AccountStat[] | null;
}

interface RouteInfo {
  rid: number;
  remote_id: string;
  name?: string;
  ip: string;
  port: number;
  rtt?: string;
  uptime?: string;
  pending_size: number;
  subscriptions: number;
  in_msgs: number;
  out_msgs: number;
  in_bytes: number;
  out_bytes: number;
}

interface Routez {
  num_routes: number;
  routes: RouteInfo[] | null;
}

interface ConsumerInfo {
  name: string;
  num_pending: number;
  num_ack_pending: number;
  num_redelivered: number;
  num_waiting: number;
  delivered: { stream_seq: number };
}

interface StreamDetail {
  name: string;
  state: { messages: number; bytes: number; first_seq: number; last_seq: number; consumer_count: number };
  consumer_detail?: ConsumerInfo[];
}

interface Jsz {
  disabled?: boolean;
  memory: number;
  storage: number;
  streams: number;
  consumers: number;
  messages: number;
  bytes: number;
  api: { total: number; errors: number };
  account_details?: Array<{ name: string; stream_detail?: StreamDetail[] }>;
}

// ---- formatting --------------------------------------------------------------

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** 12 345 stays exact; larger figures shrink to 1.2M so tiles keep their width. */
function count(n: number): string {
  if (Math.abs(n) < 100_000) return integer.format(n);
  return compact(n, 1000, ['', 'k', 'M', 'G', 'T', 'P']);
}

function plural(n: number, noun: string): string {
  return `${count(n)} ${noun}${n === 1 ? '' : 's'}`;
}

function rate(n: number): string {
  return n < 10 && n !== 0 ? n.toFixed(1) : count(Math.round(n));
}

function bytes(n: number): string {
  return compact(n, 1024, [' B', ' KiB', ' MiB', ' GiB', ' TiB', ' PiB']);
}

function compact(n: number, step: number, units: readonly string[]): string {
  let i = 0;
  let v = n;
  while (Math.abs(v) >= step && i < units.length - 1) {
    v /= step;
    i++;
  }
  const digits = i === 0 || Math.abs(v) >= 100 ? 0 : 1;
  return v.toFixed(digits) + units[i];
}

// ---- DOM helpers -------------------------------------------------------------

function byId<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`dashboard: #${id} missing from the page`);
  return e as T;
}

function setTile(id: string, value: number, text: string): void {
  const e = byId(id);
  e.textContent = text;
  e.dataset.value = String(value);
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls !== undefined) e.className = cls;
  return e;
}

/** A column: its heading, whether it is numeric (right-aligned), and how a row shows in it. */
type Column<R> = readonly [heading: string, numeric: boolean, cell: (row: R) => string];

function table<R>(columns: ReadonlyArray<Column<R>>, rows: readonly R[]): HTMLElement {
  const head = el('tr');
  for (const [h, numeric] of columns) head.append(el('th', h, numeric ? 'num' : undefined));
  const thead = el('thead');
  thead.append(head);
  const body = el('tbody');
  for (const r of rows) {
    const tr = el('tr');
    for (const [, numeric, cell] of columns) tr.append(el('td', cell(r), numeric ? 'num' : undefined));
    body.append(tr);
  }
  const t = el('table');
  t.append(thead, body);
  const wrap = el('div', undefined, 'scroll');
  wrap.append(t);
  return wrap;
}

/** Replaces a section's body. */
function show(sectionId: string, ...content: Node[]): void {
  const body = byId(sectionId).querySelector('.body');
  body?.replaceChildren(...content);
}

function message(text: string, cls: 'empty' | 'error' = 'empty'): HTMLElement {
  return el('p', text, cls);
}

function statList(items: ReadonlyArray<readonly [string, string]>): HTMLElement {
  const dl = el('dl', undefined, 'stats');
  for (const [k, v] of items) {
    const row = el('div');
    row.append(el('dt', k), el('dd', v));
    dl.append(row);
  }
  return dl;
}

// ---- history and rates -------------------------------------------------------

/** How much history the charts keep and show. */
const WINDOW_MS = 3 * 60_000;
/**
 * The shortest time axis: a page opened moments ago shows its few points
 * across a readable width instead of a sliver at the right of three minutes.
 */
const MIN_SPAN_MS = 10_000;
/** Time-axis tick spacings to choose from, so there are at most six. */
const TICK_STEPS_MS = [5_000, 10_000, 15_000, 30_000, 60_000];

interface Point {
  at: number;
  inMsgs: number;
  outMsgs: number;
  inBytes: number;
  outBytes: number;
}

const history: Point[] = [];
let previous: { at: number; varz: Varz } | null = null;

/** Turns the counters of two consecutive /varz answers into per-second rates. */
function record(varz: Varz, at: number): Point | null {
  const prev = previous;
  previous = { at, varz };
  // Another server (restart, or a proxy switching backends) starts its counters over.
  if (prev === null || prev.varz.server_id !== varz.server_id || varz.in_msgs < prev.varz.in_msgs || varz.out_msgs < prev.varz.out_msgs) {
    history.length = 0;
    return null;
  }
  const secs = (at - prev.at) / 1000;
  if (secs <= 0) return null;
  const p: Point = {
    at,
    inMsgs: (varz.in_msgs - prev.varz.in_msgs) / secs,
    outMsgs: (varz.out_msgs - prev.varz.out_msgs) / secs,
    inBytes: (varz.in_bytes - prev.varz.in_bytes) / secs,
    outBytes: (varz.out_bytes - prev.varz.out_bytes) / secs,
  };
  history.push(p);
  while (history.length > 0 && history[0].at < at - WINDOW_MS) history.shift();
  return p;
}

// ---- charts ------------------------------------------------------------------

/** The smallest 1, 2 or 5 times a power of ten at or above v. */
function niceCeil(v: number): number {
  if (v <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** The smallest power of two at or above v: round in the binary units byte labels use (256 KiB, 1.5 MiB). */
function niceCeilBytes(v: number): number {
  return v <= 1 ? 1 : Math.pow(2, Math.ceil(Math.log2(v)));
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

interface Series {
  color: string;
  value: (p: Point) => number;
}

/** How a chart's values read: a round grid step at or above a value, and a label for a value. */
interface Scale {
  ceil: (v: number) => number;
  label: (v: number) => string;
}

const COUNT_SCALE: Scale = { ceil: niceCeil, label: count };
const BYTES_SCALE: Scale = { ceil: niceCeilBytes, label: bytes };

function drawChart(canvas: HTMLCanvasElement, series: readonly Series[], scale: Scale, now: number): void {
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
    canvas.width = Math.round(w * ratio);
    canvas.height = Math.round(h * ratio);
  }
  const g = canvas.getContext('2d');
  if (g === null) return;
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, w, h);
  const left = 64;
  const right = 8;
  const top = 8;
  const bottom = 20;
  const plotW = Math.max(1, w - left - right);
  const plotH = Math.max(1, h - top - bottom);
  let max = 0;
  for (const p of history) for (const s of series) max = Math.max(max, s.value(p));
  // A round step (at least 1, so an idle chart reads 0..4) makes every grid label round.
  const steps = 4;
  const yStep = Math.max(1, scale.ceil((max * 1.1) / steps));
  const yMax = yStep * steps;
  const span = Math.min(WINDOW_MS, Math.max(MIN_SPAN_MS, history.length > 0 ? now - history[0].at : 0));
  const x = (at: number): number => left + plotW * (1 - (now - at) / span);
  const y = (v: number): number => top + plotH * (1 - v / yMax);

  g.font = '11px system-ui, sans-serif';
  g.lineWidth = 1;
  g.strokeStyle = cssVar('--grid');
  g.fillStyle = cssVar('--muted');
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  for (let i = 0; i <= steps; i++) {
    const v = yStep * i;
    const yy = Math.round(y(v)) + 0.5;
    g.beginPath();
    g.moveTo(left, yy);
    g.lineTo(left + plotW, yy);
    g.stroke();
    g.fillText(scale.label(v), left - 6, yy);
  }
  g.textAlign = 'center';
  g.textBaseline = 'top';
  const step = TICK_STEPS_MS.find((t) => span / t <= 6) ?? 60_000;
  for (let ago = 0; ago <= span; ago += step) {
    const text = ago === 0 ? 'now' : ago % 60_000 === 0 ? `-${ago / 60_000}m` : `-${ago / 1000}s`;
    g.fillText(text, Math.max(left + 12, Math.min(x(now - ago), left + plotW - 12)), top + plotH + 5);
  }

  g.save();
  g.beginPath();
  g.rect(left, top, plotW, plotH);
  g.clip();
  g.lineWidth = 1.8;
  g.lineJoin = 'round';
  for (const s of series) {
    if (history.length === 0) break;
    g.strokeStyle = s.color;
    g.beginPath();
    history.forEach((p, i) => (i === 0 ? g.moveTo(x(p.at), y(s.value(p))) : g.lineTo(x(p.at), y(s.value(p)))));
    g.stroke();
    g.globalAlpha = 0.12;
    g.fillStyle = s.color;
    g.lineTo(x(history[history.length - 1].at), y(0));
    g.lineTo(x(history[0].at), y(0));
    g.closePath();
    g.fill();
    g.globalAlpha = 1;
  }
  g.restore();
  canvas.dataset.points = String(history.length);
}

function drawCharts(): void {
  const now = previous?.at ?? Date.now();
  const inColor = cssVar('--in');
  const outColor = cssVar('--out');
  drawChart(byId<HTMLCanvasElement>('chart-msgs'), [
    { color: inColor, value: (p) => p.inMsgs },
    { color: outColor, value: (p) => p.outMsgs },
  ], COUNT_SCALE, now);
  drawChart(byId<HTMLCanvasElement>('chart-bytes'), [
    { color: inColor, value: (p) => p.inBytes },
    { color: outColor, value: (p) => p.outBytes },
  ], BYTES_SCALE, now);
}

// ---- sections ----------------------------------------------------------------

function renderVarz(v: Varz, p: Point | null): void {
  document.title = `${v.server_name} · Natter dashboard`;
  byId('server-name').textContent = v.server_name;
  const id = v.server_id === v.server_name ? '' : ` · ${v.server_id}`;
  byId('server-meta').textContent = `version ${v.version}${id} · up ${v.uptime} · ${v.cores} cores`;
  const limit = v.max_connections > 0 ? ` / ${count(v.max_connections)}` : '';
  setTile('t-connections', v.connections, count(v.connections) + limit);
  setTile('t-total-connections', v.total_connections, count(v.total_connections));
  setTile('t-subscriptions', v.subscriptions, count(v.subscriptions));
  setTile('t-slow-consumers', v.slow_consumers, count(v.slow_consumers));
  setTile('t-in-msgs', v.in_msgs, count(v.in_msgs));
  setTile('t-out-msgs', v.out_msgs, count(v.out_msgs));
  setTile('t-mem', v.mem, bytes(v.mem));
  setTile('t-cpu', v.cpu, `${v.cpu.toFixed(1)}%`);
  if (p !== null) {
    setTile('t-in-msgs-rate', p.inMsgs, rate(p.inMsgs));
    setTile('t-out-msgs-rate', p.outMsgs, rate(p.outMsgs));
    setTile('t-in-bytes-rate', p.inBytes, bytes(p.inBytes));
    setTile('t-out-bytes-rate', p.outBytes, bytes(p.outBytes));
    byId('l-msgs-in').textContent = `in ${rate(p.inMsgs)}/s`;
    byId('l-msgs-out').textContent = `out ${rate(p.outMsgs)}/s`;
    byId('l-bytes-in').textContent = `in ${bytes(p.inBytes)}/s`;
    byId('l-bytes-out').textContent = `out ${bytes(p.outBytes)}/s`;
  }
}

const CONN_COLUMNS: ReadonlyArray<Column<ConnInfo>> = [
  ['cid', true, (c) => String(c.cid)],
  ['name', false, (c) => c.name ?? ''],
  ['address', false, (c) => (c.ip.includes(':') ? `[${c.ip}]:${c.port}` : `${c.ip}:${c.port}`)],
  ['account', false, (c) => c.account ?? ''],
  ['user', false, (c) => c.authorized_user ?? ''],
  ['client', false, (c) => [c.lang, c.version].filter((s) => s !== undefined && s !== '').join(' ')],
  ['uptime', false, (c) => c.uptime],
  ['idle', false, (c) => c.idle],
  ['rtt', false, (c) => c.rtt ?? ''],
  ['subs', true, (c) => count(c.subscriptions)],
  ['pending', true, (c) => bytes(c.pending_bytes)],
  ['msgs in', true, (c) => count(c.in_msgs)],
  ['msgs out', true, (c) => count(c.out_msgs)],
  ['bytes in', true, (c) => bytes(c.in_bytes)],
  ['bytes out', true, (c) => bytes(c.out_bytes)],
];

const CONN_LIMIT = 50;

function renderConnz(c: Connz): void {
  const list = c.connections ?? [];
  byId('connections-note').textContent = c.total > list.length ? `${list.length} of ${count(c.total)}` : `${count(c.total)} open`;
  show('connections', list.length === 0 ? message('No client connections.') : table(CONN_COLUMNS, list));
}

function renderAccounts(stats: Accstatz, accountz: Accountz | null): void {
  const list = [...(stats.account_statz ?? [])].sort((a, b) => b.conns - a.conns || a.acc.localeCompare(b.acc));
  const sys = accountz?.system_account;
  byId('accounts-note').textContent = `${list.length} defined`;
  show('accounts', list.length === 0 ? message('No accounts.') : table<AccountStat>([
    ['account', false, (a) => (a.acc === sys ? `${a.acc} (system)` : a.acc)],
    ['connections', true, (a) => count(a.conns)],
    ['msgs in', true, (a) => count(a.received.msgs)],
    ['msgs out', true, (a) => count(a.sent.msgs)],
    ['bytes in', true, (a) => bytes(a.received.bytes)],
    ['bytes out', true, (a) => bytes(a.sent.bytes)],
    ['slow consumers', true, (a) => count(a.slow_consumers)],
  ], list));
}

function renderSubsz(s: Subsz): void {
  show('subscriptions', statList([
    ['subscriptions', count(s.num_subscriptions)],
    ['cached subjects', count(s.num_cache)],
    ['inserts', count(s.num_inserts)],
    ['removes', count(s.num_removes)],
    ['matches', count(s.num_matches)],
    ['cache hit rate', `${(s.cache_hit_rate * 100).toFixed(1)}%`],
    ['max fan-out', count(s.max_fanout)],
    ['avg fan-out', s.avg_fanout.toFixed(1)],
  ]));
}

function renderRoutes(v: Varz, r: Routez): void {
  if (v.cluster === undefined || Object.keys(v.cluster).length === 0) {
    byId('routes-note').textContent = '';
    show('routes', message('Clustering is not configured.'));
    return;
  }
  const list = r.routes ?? [];
  const name = v.cluster.name ?? '';
  byId('routes-note').textContent = `${name === '' ? '' : `cluster ${name} · `}${r.num_routes} connected`;
  show('routes', list.length === 0 ? message('No routes connected.') : table<RouteInfo>([
    ['rid', true, (x) => String(x.rid)],
    ['remote', false, (x) => x.name ?? x.remote_id],
    ['address', false, (x) => `${x.ip}:${x.port}`],
    ['uptime', false, (x) => x.uptime ?? ''],
    ['rtt', false, (x) => x.rtt ?? ''],
    ['subs', true, (x) => count(x.subscriptions)],
    ['pending', true, (x) => bytes(x.pending_size)],
    ['msgs in', true, (x) => count(x.in_msgs)],
    ['msgs out', true, (x) => count(x.out_msgs)],
    ['bytes in', true, (x) => bytes(x.in_bytes)],
    ['bytes out', true, (x) => bytes(x.out_bytes)],
  ], list));
}

interface StreamRow { account: string; stream: StreamDetail }
interface ConsumerRow { account: string; stream: string; consumer: ConsumerInfo }

function renderJetStream(j: Jsz): void {
  if (j.disabled === true) {
    byId('streams-note').textContent = '';
    show('streams', message('JetStream is not configured.'));
    show('consumers', message('JetStream is not configured.'));
    return;
  }
  const streams: StreamRow[] = [];
  const consumers: ConsumerRow[] = [];
  for (const a of j.account_details ?? []) {
    for (const s of a.stream_detail ?? []) {
      streams.push({ account: a.name, stream: s });
      for (const c of s.consumer_detail ?? []) consumers.push({ account: a.name, stream: s.name, consumer: c });
    }
  }
  byId('streams-note').textContent =
    `${plural(j.streams, 'stream')} · ${plural(j.consumers, 'consumer')} · ${plural(j.messages, 'message')} · ` +
    `memory ${bytes(j.memory)} · storage ${bytes(j.storage)} · API ${count(j.api.total)} calls, ${count(j.api.errors)} errors`;
  show('streams', streams.length === 0 ? message('No streams.') : table<StreamRow>([
    ['account', false, (r) => r.account],
    ['stream', false, (r) => r.stream.name],
    ['messages', true, (r) => count(r.stream.state.messages)],
    ['bytes', true, (r) => bytes(r.stream.state.bytes)],
    ['first seq', true, (r) => String(r.stream.state.first_seq)],
    ['last seq', true, (r) => String(r.stream.state.last_seq)],
    ['consumers', true, (r) => count(r.stream.state.consumer_count)],
  ], streams));
  show('consumers', consumers.length === 0 ? message('No consumers.') : table<ConsumerRow>([
    ['account', false, (r) => r.account],
    ['stream', false, (r) => r.stream],
    ['consumer', false, (r) => r.consumer.name],
    ['delivered seq', true, (r) => String(r.consumer.delivered.stream_seq)],
    ['pending', true, (r) => count(r.consumer.num_pending)],
    ['ack pending', true, (r) => count(r.consumer.num_ack_pending)],
    ['redelivered', true, (r) => count(r.consumer.num_redelivered)],
    ['waiting', true, (r) => count(r.consumer.num_waiting)],
  ], consumers));
}

// ---- polling -----------------------------------------------------------------

async function getJson<T>(path: string): Promise<T> {
  const r = await fetch(path, { cache: 'no-store' });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status} ${(await r.text()).trim()}`);
  return (await r.json()) as T;
}

function reason(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function setStatus(state: 'live' | 'error' | 'paused', text: string): void {
  const s = byId('status');
  s.dataset.state = state;
  s.textContent = text;
}

/** An endpoint's answer rendered, or why it could not be had in the sections it feeds (and only those). */
function settle<T>(r: PromiseSettledResult<T>, sectionIds: readonly string[], render: (v: T) => void): void {
  if (r.status === 'fulfilled') render(r.value);
  else for (const id of sectionIds) show(id, message(reason(r.reason), 'error'));
}

let timer: number | undefined;
let polling = false;

async function poll(): Promise<void> {
  const sort = byId<HTMLSelectElement>('conn-sort').value;
  const [varz, connz, accstatz, accountz, subsz, routez, jsz] = await Promise.allSettled([
    getJson<Varz>('varz'),
    // auth=1: nats-server names a connection's account and user only when asked.
    getJson<Connz>(`connz?limit=${CONN_LIMIT}&sort=${encodeURIComponent(sort)}&auth=1`),
    getJson<Accstatz>('accstatz?unused=1'),
    getJson<Accountz>('accountz'),
    getJson<Subsz>('subsz'),
    getJson<Routez>('routez'),
    getJson<Jsz>('jsz?accounts=true&streams=true&consumers=true'),
  ]);
  if (varz.status === 'rejected') {
    setStatus('error', `unreachable: ${reason(varz.reason)}`);
    return;
  }
  const v = varz.value;
  renderVarz(v, record(v, Date.now()));
  drawCharts();
  settle(connz, ['connections'], renderConnz);
  settle(accstatz, ['accounts'], (a) => renderAccounts(a, accountz.status === 'fulfilled' ? accountz.value : null));
  settle(subsz, ['subscriptions'], renderSubsz);
  settle(routez, ['routes'], (r) => renderRoutes(v, r));
  settle(jsz, ['streams', 'consumers'], renderJetStream);
  setStatus('live', `live · ${new Date().toLocaleTimeString()}`);
}

function interval(): number {
  return Number(byId<HTMLSelectElement>('interval').value);
}

/** Polls, then waits out the rest of the interval: a slow server is never asked twice at once. */
async function loop(): Promise<void> {
  window.clearTimeout(timer);
  if (polling) return;
  const started = Date.now();
  polling = true;
  try {
    await poll();
  } catch (e) {
    // An answer of an unexpected shape: say so, and keep polling (the next one may be fine).
    setStatus('error', reason(e));
  } finally {
    polling = false;
  }
  const every = interval();
  if (every === 0) {
    setStatus('paused', 'paused');
    return;
  }
  timer = window.setTimeout(() => void loop(), Math.max(0, every - (Date.now() - started)));
}

byId<HTMLSelectElement>('interval').addEventListener('change', () => {
  if (interval() === 0) {
    window.clearTimeout(timer);
    setStatus('paused', 'paused');
  } else {
    void loop();
  }
});
byId<HTMLSelectElement>('conn-sort').addEventListener('change', () => void loop());
window.addEventListener('resize', drawCharts);
void loop();
