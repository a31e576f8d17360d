/**
 * The shape rules of design.md, checked on every run so they cannot drift:
 * no import cycles (type imports count: a cycle of types is a cycle in the
 * design), no source file over 800 lines, and no subsystem importing the
 * concrete Server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository: the nearest directory above the compiled test that holds package.json. */
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package.json not found above the test');
    dir = up;
  }
  return dir;
}

const ROOT = repoRoot();
const MAX_LINES = 800;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

test('no import cycles, type imports included (dpdm)', () => {
  const entries = ['src/index.ts', ...fs.readdirSync(path.join(ROOT, 'src/cli')).filter((f) => f.endsWith('.ts')).map((f) => `src/cli/${f}`)];
  const out = execFileSync(path.join(ROOT, 'node_modules/.bin/dpdm'), ['--no-warning', '--no-tree', '-T', 'false', ...entries], { cwd: ROOT, encoding: 'utf8' });
  assert.match(out, /no circular dependency was found/, out);
});

test(`no file under src/ is longer than ${MAX_LINES} lines`, () => {
  const long = sourceFiles(path.join(ROOT, 'src'))
    .map((f) => ({ f: path.relative(ROOT, f), n: fs.readFileSync(f, 'utf8').split('\n').length - 1 }))
    .filter((x) => x.n > MAX_LINES);
  assert.deepEqual(long, []);
});

test('only the composition root and the entry points import the concrete Server', () => {
  // src/embed/ is the embedding entry point behind src/index.ts (startServer, startCluster).
  const allowed = new Set(['src/server/server.ts', 'src/index.ts', 'src/cli/natter-server.ts', 'src/embed/embedded-server.ts', 'src/embed/cluster.ts']);
  const offenders = sourceFiles(path.join(ROOT, 'src'))
    .map((f) => path.relative(ROOT, f))
    .filter((f) => !allowed.has(f))
    .filter((f) => /from '(\.\.?\/)+(server\/)?server\.js'/.test(fs.readFileSync(path.join(ROOT, f), 'utf8')));
  assert.deepEqual(offenders, []);
});
