/**
 * The monitoring root: a small HTML page linking every endpoint. Links are
 * relative (`./<base>/varz`) so the page also works behind a proxy that
 * mounts the monitor under another prefix.
 */
import { SERVER_VERSION, NATTER_VERSION } from '../server/version.js';
import type { Handler } from './context.js';

const LINKS: ReadonlyArray<readonly [string, string]> = [
  ['/varz', 'General'],
  ['/jsz', 'JetStream'],
  ['/connz', 'Connections'],
  ['/accountz', 'Accounts'],
  ['/accstatz', 'Account Stats'],
  ['/subsz', 'Subscriptions'],
  ['/routez', 'Routes'],
  ['/leafz', 'LeafNodes'],
  ['/gatewayz', 'Gateways'],
  ['/healthz', 'Health Probe'],
  ['/metrics', 'Prometheus Metrics'],
  ['/dashboard', 'Live Dashboard'],
];

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function joinPath(base: string, p: string): string {
  return base === '/' ? p : base + p;
}

export const handleRoot: Handler = (ctx) => {
  ctx.count('/');
  const items = LINKS
    .map(([p, label]) => `    <li><a href=".${joinPath(ctx.basePath, p)}">${label}</a> <code>${p}</code></li>`)
    .join('\n');
  const body = `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Natter monitoring</title>
  <style>
    body { font-family: system-ui, sans-serif; margin: 2rem; color: #223; }
    li { margin: 0.3rem 0; }
    code { color: #667; margin-left: 0.5rem; }
  </style>
</head>
<body>
  <h1>Natter</h1>
  <p>NATS-compatible server, protocol level ${SERVER_VERSION} (natter ${NATTER_VERSION}). Server ${escapeHtml(ctx.source.name)}.</p>
  <ul>
${items}
  </ul>
</body>
</html>
`;
  return { kind: 'html', status: 200, body };
};
