// Percentiles, medians, number formatting and the A-vs-B markdown table.

/** p in [0,1] of an ascending-sorted array (nearest rank). */
export function percentile(sorted, p) {
  if (!sorted.length) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[i];
}

/**
 * The latency fields of a result line from samples in µs, sorted ascending
 * (a Float64Array or an array): lat_n, p50/p90/p99/p99.9/max/mean in µs.
 */
export function latencyFields(sorted) {
  const r1 = (x) => (x === null ? null : Math.round(x * 10) / 10);
  let sum = 0;
  for (let i = 0; i < sorted.length; i++) sum += sorted[i];
  return {
    lat_n: sorted.length,
    p50_us: r1(percentile(sorted, 0.5)),
    p90_us: r1(percentile(sorted, 0.9)),
    p99_us: r1(percentile(sorted, 0.99)),
    p999_us: r1(percentile(sorted, 0.999)),
    max_us: r1(sorted.length ? sorted[sorted.length - 1] : null),
    mean_us: r1(sorted.length ? sum / sorted.length : null),
  };
}

export function median(values) {
  const v = values.filter((x) => x !== null && x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

function finite(values) {
  return values.filter((x) => x !== null && x !== undefined && Number.isFinite(x));
}

const rate = (v) => {
  if (v === null) return '–';
  if (Math.abs(v) >= 1e6) return `${(v / 1e6).toFixed(2)} M`;
  if (Math.abs(v) >= 1e4) return `${(v / 1e3).toFixed(0)} k`;
  if (Math.abs(v) >= 1e3) return `${(v / 1e3).toFixed(1)} k`;
  return v.toFixed(0);
};
const sig3 = (v) => {
  if (v === null) return '–';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toFixed(3);
};
const fixed = (d) => (v) => (v === null ? '–' : v.toFixed(d));

const kbToMiB = (r, key) => (r[key] === null || r[key] === undefined ? null : r[key] / 1024);

/** What "server CPU µs per op" divides by in a scenario. */
export function cpuUnit(sc) {
  if (sc.kind === 'reqrep') return 'request';
  if (sc.kind === 'conns') return 'connection';
  if (sc.kind === 'r3-fault') return null;
  if (sc.kind === 'js') return sc.id.startsWith('kv') ? 'op' : 'msg';
  if (sc.subs === 0) return 'msg published';
  return sc.subs > 1 && !sc.queue && !sc.pairs ? 'delivery' : 'msg received';
}

/** The kind of latency a scenario records, or null: round trips, or one-way samples of a saturated flow. */
export function latencyKind(sc) {
  if (sc.kind === 'reqrep' || (sc.kind === 'js' && sc.latency)) return 'round trip';
  if (sc.kind === 'flow' && sc.subs > 0) return 'one-way, saturated';
  return null;
}

/** Headline rows (table 1) for one scenario. get(r) extracts the value from a result line. */
export function metricsFor(sc) {
  if (sc.kind === 'flow') {
    if (sc.subs === 0) {
      return [
        { name: 'msgs/s published', get: (r) => r.msgs_per_s, fmt: rate, better: 'higher' },
        { name: 'MB/s', get: (r) => r.mb_per_s, fmt: sig3, better: 'higher' },
      ];
    }
    const fanout = sc.subs > 1 && !sc.queue && !sc.pairs;
    return [
      { name: fanout ? 'deliveries/s' : 'msgs/s received', get: (r) => r.msgs_per_s, fmt: rate, better: 'higher' },
      { name: 'MB/s received', get: (r) => r.mb_per_s, fmt: sig3, better: 'higher' },
    ];
  }
  if (sc.kind === 'js') return [{ name: sc.id.startsWith('kv') ? 'ops/s' : 'msgs/s', get: (r) => r.msgs_per_s, fmt: rate, better: 'higher' }];
  if (sc.kind === 'r3-fault') {
    if (sc.fault === 'failover') {
      return [
        { name: 'failover ms (kill -9 → next PubAck)', get: (r) => r.failover_ms, fmt: fixed(0), better: 'lower' },
        { name: 'publishes failed meanwhile', get: (r) => r.failed_publishes, fmt: fixed(0), better: 'lower' },
      ];
    }
    return [
      { name: 'catch-up ms (restart → last seq)', get: (r) => r.catchup_ms, fmt: fixed(0), better: 'lower' },
      { name: 'msgs/s published, one node down', get: (r) => r.publish_msgs_per_s_one_down, fmt: rate, better: 'higher' },
    ];
  }
  if (sc.kind === 'reqrep') return [{ name: 'requests/s', get: (r) => r.msgs_per_s, fmt: rate, better: 'higher' }];
  return [
    { name: 'RSS KiB per connection', get: (r) => r.kb_per_conn, fmt: fixed(1), better: 'lower' },
    { name: 'RSS MiB idle → with conns', get: (r) => kbToMiB(r, 'server_rss_conns_kb'), fmt: fixed(1), better: 'lower', idle: (r) => kbToMiB(r, 'server_rss_idle_kb') },
    { name: 'time to connect all, s', get: (r) => r.connect_s, fmt: fixed(2), better: 'lower' },
    { name: 'PING RTT with all open µs', get: (r) => r.probe_rtt_us, fmt: sig3, better: 'lower' },
  ];
}

const LATENCY = [
  { name: 'p50', get: (r) => r.p50_us, fmt: sig3, better: 'lower' },
  { name: 'p99', get: (r) => r.p99_us, fmt: sig3, better: 'lower' },
  { name: 'p99.9', get: (r) => r.p999_us, fmt: sig3, better: 'lower' },
];
const CPU = { get: (r) => r.server_cpu_us_per_msg, fmt: sig3, better: 'lower' };
const RSS = { get: (r) => kbToMiB(r, 'server_rss_peak_kb'), fmt: fixed(1), better: 'lower' };
// GC pauses inside the timed part (gc-probe.mjs; only servers run with node have them)
const GC = [
  { get: (r) => r.gc_pauses, fmt: fixed(0) },
  { get: (r) => r.gc_pause_ms, fmt: sig3 },
  { get: (r) => r.gc_pause_max_ms, fmt: sig3 },
];

function cell(runs, m, range = true) {
  const v = finite(runs.map(m.get));
  if (!v.length) return '–';
  const med = median(v);
  let s = m.fmt(med);
  if (m.idle) {
    const idle = median(finite(runs.map(m.idle)));
    if (idle !== null) s = `${m.fmt(idle)} → ${s}`;
  }
  if (range && v.length > 1) s += ` [${m.fmt(Math.min(...v))}–${m.fmt(Math.max(...v))}]`;
  return s;
}

function ratio(a, b, m) {
  const ma = median(finite(a.map(m.get)));
  const mb = median(finite(b.map(m.get)));
  if (ma === null || mb === null || ma === 0) return '–';
  const r = mb / ma;
  const txt = r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2);
  // mark clear wins/losses for B beyond the usual noise band (±25 %)
  const good = m.better === 'higher' ? r >= 1.25 : r <= 0.8;
  const bad = m.better === 'higher' ? r <= 0.8 : r >= 1.25;
  return good ? `${txt} (B better)` : bad ? `${txt} (B worse)` : txt;
}

/** "pauses · total ms · max ms" medians of a side's runs, or – without GC data. */
function gcCell(runs) {
  const [n, ms, max] = GC.map((m) => cell(runs, m, false));
  return n === '–' ? '–' : `${n} · ${ms} · ${max}`;
}

/**
 * The three markdown tables of medians: headline figures, latency, server
 * resources. results: array of result lines; labels: {A, B}; hasB: whether
 * server B was run. Returns { headline, latency, resources } (latency is ''
 * when no scenario records latencies).
 */
export function summaryTables(scenarios, results, labels, hasB) {
  const groups = [];
  for (const sc of scenarios) {
    const a = results.filter((r) => r.scenario === sc.id && r.side === 'A');
    const b = results.filter((r) => r.scenario === sc.id && r.side === 'B');
    if (a.length || b.length) groups.push({ sc, a, b });
  }

  const head = [];
  if (hasB) {
    head.push(`| scenario | metric | better | A: ${labels.A} median [min–max] | B: ${labels.B} median [min–max] | B/A | ok runs A · B |`);
    head.push('|---|---|---|---:|---:|---:|:---:|');
  } else {
    head.push(`| scenario | metric | better | A: ${labels.A} median [min–max] | ok runs |`);
    head.push('|---|---|---|---:|:---:|');
  }
  for (const { sc, a, b } of groups) {
    const okA = `${a.filter((r) => r.ok).length}/${a.length}`;
    const okB = `${b.filter((r) => r.ok).length}/${b.length}`;
    metricsFor(sc).forEach((m, i) => {
      const better = m.better === 'higher' ? '↑ higher' : '↓ lower';
      const first = i === 0;
      if (hasB) head.push(`| ${first ? sc.id : ''} | ${m.name} | ${better} | ${cell(a, m)} | ${cell(b, m)} | ${ratio(a, b, m)} | ${first ? `${okA} · ${okB}` : ''} |`);
      else head.push(`| ${first ? sc.id : ''} | ${m.name} | ${better} | ${cell(a, m)} | ${first ? okA : ''} |`);
    });
  }

  const lat = [];
  const latGroups = groups.filter((g) => latencyKind(g.sc) !== null);
  if (latGroups.length) {
    if (hasB) {
      lat.push('| scenario | latency | samples/run | p50 A | p50 B | B/A | p99 A | p99 B | B/A | p99.9 A | p99.9 B | B/A |');
      lat.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    } else {
      lat.push('| scenario | latency | samples/run | p50 | p99 | p99.9 |');
      lat.push('|---|---|---:|---:|---:|---:|');
    }
    for (const { sc, a, b } of latGroups) {
      const n = cell([...a, ...b], { get: (r) => r.lat_n, fmt: fixed(0) }, false);
      const cols = LATENCY.flatMap((m) => (hasB ? [cell(a, m, false), cell(b, m, false), ratio(a, b, m)] : [cell(a, m, false)]));
      lat.push(`| ${sc.id} | ${latencyKind(sc)} | ${n} | ${cols.join(' | ')} |`);
    }
  }

  const res = [];
  const gcA = results.some((r) => r.side === 'A' && typeof r.gc_pauses === 'number');
  const gcB = hasB && results.some((r) => r.side === 'B' && typeof r.gc_pauses === 'number');
  const gcHead = `${gcA ? ' GC A |' : ''}${gcB ? ' GC B |' : ''}`;
  const gcRule = `${gcA ? '---:|' : ''}${gcB ? '---:|' : ''}`;
  if (hasB) {
    res.push(`| scenario | server CPU µs per | CPU A | CPU B | B/A | peak RSS MiB A | peak RSS MiB B | B/A |${gcHead}`);
    res.push(`|---|---|---:|---:|---:|---:|---:|---:|${gcRule}`);
  } else {
    res.push(`| scenario | server CPU µs per | CPU | peak RSS MiB |${gcHead}`);
    res.push(`|---|---|---:|---:|${gcRule}`);
  }
  for (const { sc, a, b } of groups) {
    const unit = cpuUnit(sc);
    const cpu = unit === null ? ['–', '–', '–'] : [cell(a, CPU, false), cell(b, CPU, false), ratio(a, b, CPU)];
    const rss = [cell(a, RSS, false), cell(b, RSS, false), ratio(a, b, RSS)];
    const cols = hasB ? [...cpu, ...rss] : [cpu[0], rss[0]];
    if (gcA) cols.push(gcCell(a));
    if (gcB) cols.push(gcCell(b));
    res.push(`| ${sc.id} | ${unit ?? '–'} | ${cols.join(' | ')} |`);
  }
  return { headline: head.join('\n'), latency: lat.join('\n'), resources: res.join('\n') };
}

/** Notes: runs that were not ok, and runs with foreign CPU load. */
export function notes(results, dirtyCores) {
  const out = [];
  for (const r of results) {
    if (!r.ok) {
      const extra = [];
      if (r.lost) extra.push(`lost ${r.lost}`);
      if (r.truncated) extra.push('truncated');
      if (r.duplicates) extra.push(`duplicates ${r.duplicates}`);
      if (r.missing) extra.push(`missing ${r.missing}`);
      const errs = (r.errors ?? []).slice(0, 3).join('; ');
      out.push(`- NOT OK: ${r.scenario} ${r.side} (${r.label}) run ${r.run}${extra.length ? ` [${extra.join(', ')}]` : ''}: ${errs || 'no detail'}`);
    }
  }
  const dirty = results.filter((r) => typeof r.other_cpu_cores === 'number' && r.other_cpu_cores > dirtyCores);
  if (dirty.length) {
    out.push(`- foreign CPU load above ${dirtyCores} cores during the timed part in ${dirty.length} of ${results.length} runs (side+run: cores):`);
    const by = new Map();
    for (const r of dirty) {
      if (!by.has(r.scenario)) by.set(r.scenario, []);
      by.get(r.scenario).push(`${r.side}${r.run} ${r.other_cpu_cores.toFixed(2)}`);
    }
    for (const [sc, list] of by) out.push(`  - ${sc}: ${list.join(', ')}`);
  }
  return out;
}
