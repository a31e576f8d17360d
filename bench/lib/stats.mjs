// Percentiles, medians, number formatting and the A-vs-B markdown table.

/** p in [0,1] of an ascending-sorted array (nearest rank). */
export function percentile(sorted, p) {
  if (!sorted.length) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[i];
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

/** Rows of the table for one scenario kind. get(r) extracts the value from a result line. */
export function metricsFor(sc) {
  const cpuRow = (unit) => ({ name: `server CPU µs/${unit}`, get: (r) => r.server_cpu_us_per_msg, fmt: sig3, better: 'lower' });
  const rssRow = { name: 'server peak RSS MiB', get: (r) => kbToMiB(r, 'server_rss_peak_kb'), fmt: fixed(1), better: 'lower' };
  if (sc.kind === 'flow') {
    if (sc.subs === 0) {
      return [
        { name: 'msgs/s published', get: (r) => r.msgs_per_s, fmt: rate, better: 'higher' },
        { name: 'MB/s', get: (r) => r.mb_per_s, fmt: sig3, better: 'higher' },
        cpuRow('msg'),
        rssRow,
      ];
    }
    const fanout = sc.subs > 1 && !sc.queue && !sc.pairs;
    const what = fanout ? 'deliveries/s' : 'msgs/s received';
    return [
      { name: what, get: (r) => r.msgs_per_s, fmt: rate, better: 'higher' },
      { name: 'MB/s received', get: (r) => r.mb_per_s, fmt: sig3, better: 'higher' },
      cpuRow(fanout ? 'delivery' : 'msg'),
      rssRow,
    ];
  }
  if (sc.kind === 'js') {
    const unit = sc.id.startsWith('kv') ? 'op' : 'msg';
    const rows = [{ name: sc.id.startsWith('kv') ? 'ops/s' : 'msgs/s', get: (r) => r.msgs_per_s, fmt: rate, better: 'higher' }];
    if (sc.latency) {
      rows.push({ name: 'latency p50 µs', get: (r) => r.p50_us, fmt: sig3, better: 'lower' });
      rows.push({ name: 'latency p99 µs', get: (r) => r.p99_us, fmt: sig3, better: 'lower' });
    }
    return [...rows, cpuRow(unit), rssRow];
  }
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
  if (sc.kind === 'reqrep') {
    return [
      { name: 'latency p50 µs', get: (r) => r.p50_us, fmt: sig3, better: 'lower' },
      { name: 'latency p99 µs', get: (r) => r.p99_us, fmt: sig3, better: 'lower' },
      { name: 'requests/s', get: (r) => r.msgs_per_s, fmt: rate, better: 'higher' },
      cpuRow('req'),
    ];
  }
  return [
    { name: 'RSS KiB per connection', get: (r) => r.kb_per_conn, fmt: fixed(1), better: 'lower' },
    { name: 'RSS MiB idle → with conns', get: (r) => kbToMiB(r, 'server_rss_conns_kb'), fmt: fixed(1), better: 'lower', idle: (r) => kbToMiB(r, 'server_rss_idle_kb') },
    { name: 'time to connect all, s', get: (r) => r.connect_s, fmt: fixed(2), better: 'lower' },
    { name: 'PING RTT with all open µs', get: (r) => r.probe_rtt_us, fmt: sig3, better: 'lower' },
  ];
}

function cell(runs, m) {
  const v = finite(runs.map(m.get));
  if (!v.length) return '–';
  const med = median(v);
  let s = m.fmt(med);
  if (m.idle) {
    const idle = median(finite(runs.map(m.idle)));
    if (idle !== null) s = `${m.fmt(idle)} → ${s}`;
  }
  if (v.length > 1) s += ` [${m.fmt(Math.min(...v))}–${m.fmt(Math.max(...v))}]`;
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

/**
 * Markdown table of medians. results: array of result lines; labels: {A, B};
 * hasB: whether server B was run.
 */
export function summaryTable(scenarios, results, labels, hasB) {
  const lines = [];
  if (hasB) {
    lines.push(`| scenario | metric | better | A: ${labels.A} median [min–max] | B: ${labels.B} median [min–max] | B/A | ok runs A · B |`);
    lines.push('|---|---|---|---:|---:|---:|:---:|');
  } else {
    lines.push(`| scenario | metric | better | A: ${labels.A} median [min–max] | ok runs |`);
    lines.push('|---|---|---|---:|:---:|');
  }
  for (const sc of scenarios) {
    const a = results.filter((r) => r.scenario === sc.id && r.side === 'A');
    const b = results.filter((r) => r.scenario === sc.id && r.side === 'B');
    if (!a.length && !b.length) continue;
    const okA = `${a.filter((r) => r.ok).length}/${a.length}`;
    const okB = `${b.filter((r) => r.ok).length}/${b.length}`;
    metricsFor(sc).forEach((m, i) => {
      const better = m.better === 'higher' ? '↑ higher' : '↓ lower';
      const first = i === 0;
      if (hasB) {
        lines.push(`| ${first ? sc.id : ''} | ${m.name} | ${better} | ${cell(a, m)} | ${cell(b, m)} | ${ratio(a, b, m)} | ${first ? `${okA} · ${okB}` : ''} |`);
      } else {
        lines.push(`| ${first ? sc.id : ''} | ${m.name} | ${better} | ${cell(a, m)} | ${first ? okA : ''} |`);
      }
    });
  }
  return lines.join('\n');
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
