/**
 * docs/embedding.md's test-framework examples, as a reader copies them:
 * the node:test one runs for real (against this build), the Jest and
 * Vitest ones (whose runners the project does not install) are checked
 * for syntax. An example is a ```js block whose first line is
 * `// <file name>`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const buildRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function findRepoRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'docs', 'embedding.md'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no docs/embedding.md above ${from}`);
  }
}

interface Example {
  file: string;
  code: string;
}

function examples(markdown: string): Example[] {
  const out: Example[] = [];
  for (const m of markdown.matchAll(/```js\n\/\/ (\S+\.mjs)[^\n]*\n([\s\S]*?)```/g)) out.push({ file: m[1], code: m[2] });
  return out;
}

/**
 * The example with its imports pointed at this build (`natter`) and at the
 * project's node_modules (the clients), so it runs from a temporary directory.
 */
function runnable(code: string): string {
  return code.replace(/from '([^'.][^']*)'/g, (whole, spec: string) => {
    if (spec.startsWith('node:') || spec === 'vitest') return whole;
    const url = spec === 'natter' ? pathToFileURL(join(buildRoot, 'src', 'index.js')).href : import.meta.resolve(spec);
    return `from '${url}'`;
  });
}

describe('docs/embedding.md examples', () => {
  const found = examples(readFileSync(join(findRepoRoot(buildRoot), 'docs', 'embedding.md'), 'utf8'));
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'natter-doc-examples-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('has a node:test, a Jest and a Vitest example', () => {
    assert.deepEqual(found.map((e) => e.file), ['example.node-test.mjs', 'example.jest.test.mjs', 'example.vitest.test.mjs']);
  });

  it('runs the node:test example: every test passes', async () => {
    const example = found.find((e) => e.file === 'example.node-test.mjs');
    assert.ok(example !== undefined);
    const file = join(dir, example.file);
    writeFileSync(file, runnable(example.code));
    // Without NODE_TEST_CONTEXT, set for this file by the runner: the child reports to its own stdout, as when a reader runs it.
    const { NODE_TEST_CONTEXT: _ours, ...env } = process.env;
    const { stdout } = await run(process.execPath, ['--test', '--test-reporter=tap', file], { timeout: 90_000, env })
      .catch((e: { stdout?: string; stderr?: string }) => assert.fail(`the example failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`));
    assert.match(stdout, /^# pass 3$/m);
    assert.match(stdout, /^# fail 0$/m);
  });

  it('has Jest and Vitest examples that parse', async () => {
    for (const example of found.filter((e) => e.file !== 'example.node-test.mjs')) {
      const file = join(dir, example.file);
      writeFileSync(file, runnable(example.code));
      await run(process.execPath, ['--check', file]);
    }
  });
});
