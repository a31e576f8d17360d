/**
 * The dashboard's HTML: a fixed skeleton that client.ts fills from the JSON
 * endpoints. Every URL in it is relative, so the page works under any
 * `http_base_path` and behind a proxy that mounts the monitor elsewhere:
 * served at `<base>/dashboard`, `dashboard/client.js` is `<base>/dashboard/client.js`
 * and the client's `varz` is `<base>/varz`.
 */
export const DASHBOARD_HTML = `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Natter dashboard</title>
  <!-- An inline empty icon: browsers would otherwise ask the monitor for /favicon.ico and log its 404. -->
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="dashboard/style.css">
  <script type="module" src="dashboard/client.js"></script>
</head>
<body>
  <header>
    <h1 id="server-name">Natter</h1>
    <span class="meta" id="server-meta"></span>
    <div class="controls">
      <span id="status" data-state="connecting">connecting</span>
      <label>Refresh
        <select id="interval">
          <option value="1000" selected>1 s</option>
          <option value="2000">2 s</option>
          <option value="5000">5 s</option>
          <option value="0">paused</option>
        </select>
      </label>
    </div>
  </header>
  <noscript><p class="error">The dashboard needs JavaScript; the JSON endpoints below work without it.</p></noscript>
  <main>
    <div class="tiles">
      <div class="tile"><div class="label">Connections</div><div class="value" id="t-connections">–</div></div>
      <div class="tile"><div class="label">Total connections</div><div class="value" id="t-total-connections">–</div></div>
      <div class="tile"><div class="label">Subscriptions</div><div class="value" id="t-subscriptions">–</div></div>
      <div class="tile"><div class="label">Slow consumers</div><div class="value" id="t-slow-consumers">–</div></div>
      <div class="tile"><div class="label">Msgs in</div><div class="value" id="t-in-msgs">–</div></div>
      <div class="tile"><div class="label">Msgs out</div><div class="value" id="t-out-msgs">–</div></div>
      <div class="tile"><div class="label">Msgs in / s</div><div class="value" id="t-in-msgs-rate">–</div></div>
      <div class="tile"><div class="label">Msgs out / s</div><div class="value" id="t-out-msgs-rate">–</div></div>
      <div class="tile"><div class="label">Bytes in / s</div><div class="value" id="t-in-bytes-rate">–</div></div>
      <div class="tile"><div class="label">Bytes out / s</div><div class="value" id="t-out-bytes-rate">–</div></div>
      <div class="tile"><div class="label">Memory (RSS)</div><div class="value" id="t-mem">–</div></div>
      <div class="tile"><div class="label">CPU</div><div class="value" id="t-cpu">–</div></div>
    </div>
    <div class="charts">
      <section>
        <h2>Messages per second</h2>
        <div class="legend"><span class="in" id="l-msgs-in">in</span><span class="out" id="l-msgs-out">out</span></div>
        <canvas id="chart-msgs" data-points="0"></canvas>
      </section>
      <section>
        <h2>Bytes per second</h2>
        <div class="legend"><span class="in" id="l-bytes-in">in</span><span class="out" id="l-bytes-out">out</span></div>
        <canvas id="chart-bytes" data-points="0"></canvas>
      </section>
    </div>
    <section id="connections">
      <h2>Connections <span class="note" id="connections-note"></span>
        <label class="note">sort
          <select id="conn-sort">
            <option value="cid">cid</option>
            <option value="msgs_from">msgs from client</option>
            <option value="msgs_to">msgs to client</option>
            <option value="bytes_from">bytes from client</option>
            <option value="bytes_to">bytes to client</option>
            <option value="pending">pending</option>
            <option value="subs">subscriptions</option>
            <option value="idle">idle</option>
          </select>
        </label>
      </h2>
      <div class="body"></div>
    </section>
    <section id="accounts"><h2>Accounts <span class="note" id="accounts-note"></span></h2><div class="body"></div></section>
    <section id="subscriptions"><h2>Subscriptions</h2><div class="body"></div></section>
    <section id="routes"><h2>Routes <span class="note" id="routes-note"></span></h2><div class="body"></div></section>
    <section id="streams"><h2>Streams <span class="note" id="streams-note"></span></h2><div class="body"></div></section>
    <section id="consumers"><h2>Consumers</h2><div class="body"></div></section>
  </main>
  <footer>
    JSON:
    <a href="varz">varz</a><a href="connz">connz</a><a href="subsz">subsz</a><a href="accountz">accountz</a>
    <a href="accstatz">accstatz</a><a href="routez">routez</a><a href="jsz">jsz</a><a href="healthz">healthz</a>
    · Prometheus: <a href="metrics">metrics</a>
  </footer>
</body>
</html>
`;
