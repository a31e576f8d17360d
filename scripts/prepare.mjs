#!/usr/bin/env node
/**
 * npm's `prepare` step: builds dist/ when it is missing or older than a
 * source file, and does nothing otherwise.
 *
 * npm runs `prepare` after `npm ci` in a clone, before `npm pack` and
 * `npm publish`, when installing Natter from a git URL, and also each time
 * `npx natter-server` or `npx natter` is run inside the project directory
 * (npx packs the project to link its bins). A full build takes a minute;
 * this keeps the last case instant while the others still get a build.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The newest modification time under `dir` (recursively), 0 when it does not exist. */
function newest(dir) {
  let latest = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    latest = Math.max(latest, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return latest;
}

function builtAt() {
  try {
    return statSync(join(root, 'dist', 'src', 'index.js')).mtimeMs;
  } catch {
    return 0;
  }
}

const sources = Math.max(newest(join(root, 'src')), statSync(join(root, 'tsconfig.json')).mtimeMs);
if (builtAt() === 0 || builtAt() < sources) {
  execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
}
