/** The dashboard's stylesheet: system fonts, no images, light and dark schemes. */
export const DASHBOARD_CSS = `:root {
  color-scheme: light dark;
  --bg: #f5f6f8;
  --panel: #ffffff;
  --fg: #1d2330;
  --muted: #687083;
  --line: #e1e4ea;
  --grid: #eceef2;
  --in: #2f6fdb;
  --out: #e0702f;
  --ok: #2b9a4b;
  --bad: #c93636;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #14171c;
    --panel: #1c2027;
    --fg: #e3e6eb;
    --muted: #98a0ae;
    --line: #2d323c;
    --grid: #262b33;
    --in: #5b93f0;
    --out: #f0914f;
  }
}
* { box-sizing: border-box; }
body {
  margin: 0;
  background: var(--bg);
  color: var(--fg);
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif;
}
header {
  display: flex;
  flex-wrap: wrap;
  align-items: baseline;
  gap: 0.4rem 1.2rem;
  padding: 0.8rem 1.2rem;
  background: var(--panel);
  border-bottom: 1px solid var(--line);
}
header h1 { margin: 0; font-size: 1.15rem; }
header .meta { color: var(--muted); }
header .controls { margin-left: auto; display: flex; gap: 0.8rem; align-items: baseline; }
#status::before {
  content: "";
  display: inline-block;
  width: 0.6rem;
  height: 0.6rem;
  margin-right: 0.35rem;
  border-radius: 50%;
  background: var(--muted);
}
#status[data-state="live"]::before { background: var(--ok); }
#status[data-state="error"]::before { background: var(--bad); }
main { padding: 1rem 1.2rem 2rem; display: grid; gap: 1rem; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(9.5rem, 1fr)); gap: 0.6rem; }
.tile { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 0.55rem 0.75rem; }
.tile .label { color: var(--muted); font-size: 0.78rem; text-transform: uppercase; letter-spacing: 0.03em; }
.tile .value { font-size: 1.35rem; font-variant-numeric: tabular-nums; white-space: nowrap; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(22rem, 1fr)); gap: 1rem; }
section { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 0.75rem 0.9rem; min-width: 0; }
section h2 { margin: 0 0 0.5rem; font-size: 0.95rem; display: flex; gap: 0.8rem; align-items: baseline; flex-wrap: wrap; }
section h2 .note { color: var(--muted); font-weight: normal; font-size: 0.82rem; }
.legend { display: flex; gap: 1rem; font-size: 0.82rem; color: var(--muted); margin-bottom: 0.3rem; }
.legend .in::before, .legend .out::before {
  content: ""; display: inline-block; width: 0.8rem; height: 0.2rem; margin-right: 0.3rem; vertical-align: middle;
}
.legend .in::before { background: var(--in); }
.legend .out::before { background: var(--out); }
canvas { display: block; width: 100%; height: 190px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 0.25rem 0.55rem; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
th { color: var(--muted); font-weight: 600; font-size: 0.78rem; }
td.num, th.num { text-align: right; }
.empty { color: var(--muted); font-style: italic; margin: 0.3rem 0; }
.error { color: var(--bad); margin: 0.3rem 0; }
dl.stats { display: grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr)); gap: 0.3rem 1rem; margin: 0; }
dl.stats div { display: flex; justify-content: space-between; gap: 0.5rem; border-bottom: 1px solid var(--line); }
dl.stats dt { color: var(--muted); }
dl.stats dd { margin: 0; font-variant-numeric: tabular-nums; }
footer { padding: 0 1.2rem 1.5rem; color: var(--muted); font-size: 0.82rem; }
footer a { color: inherit; margin-right: 0.7rem; }
select { font: inherit; }
`;
