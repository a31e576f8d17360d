/**
 * The live dashboard's files, served by the monitor at `<base>/dashboard`.
 * The page and stylesheet are strings; the browser code is client.ts as tsc
 * emitted it beside this module, read once on first request.
 */
import { readFileSync } from 'node:fs';
import { DASHBOARD_HTML } from './page.js';
import { DASHBOARD_CSS } from './style.js';

export interface DashboardFile {
  /** Path under the monitor's base path. */
  readonly path: string;
  readonly contentType: string;
  body(): string;
}

let clientJs: string | null = null;

function clientScript(): string {
  // The emitted source-map comment names files the monitor does not serve; without
  // it, a browser's developer tools do not go looking for them.
  clientJs ??= readFileSync(new URL('./client.js', import.meta.url), 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
  return clientJs;
}

export const DASHBOARD_FILES: readonly DashboardFile[] = [
  { path: '/dashboard', contentType: 'text/html; charset=utf-8', body: () => DASHBOARD_HTML },
  { path: '/dashboard/style.css', contentType: 'text/css; charset=utf-8', body: () => DASHBOARD_CSS },
  { path: '/dashboard/client.js', contentType: 'text/javascript; charset=utf-8', body: clientScript },
];
