/** Shared helpers for the security tests (test/auth and test/accounts). */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfig, parseConfigFile } from '../../src/config/parser.js';
import { SecurityConfigError } from '../../src/auth/conf-input.js';
import { securityFromConfigTree, type SecurityConfig } from '../../src/auth/security-config.js';

/** The repository root, found from this file whether it runs from test/ or dist/test/. */
export const REPO_ROOT: string = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package.json not found above the tests');
    dir = up;
  }
  return dir;
})();

export const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'security');

/** Security settings of configuration text. */
export function security(text: string): SecurityConfig {
  return securityFromConfigTree(parseConfig(text, 'test.conf', { env: {} }));
}

/** Security settings of a fixture file (relative to test/fixtures/security). */
export function fixture(name: string): SecurityConfig {
  return securityFromConfigTree(parseConfigFile(path.join(FIXTURES, name)));
}

/** The problems (one per line, without positions) that loading the text reports. */
export function problems(text: string): string[] {
  try {
    security(text);
  } catch (err) {
    if (err instanceof ConfigError) return err.errors.map((e) => e.problem);
    if (err instanceof SecurityConfigError) return err.problems.map((p) => p.problem);
    throw err;
  }
  assert.fail('expected the configuration to be refused');
}

/** Asserts loading the text reports exactly this problem (among possibly others, first). */
export function assertProblem(text: string, problem: string | RegExp): void {
  const list = problems(text);
  if (typeof problem === 'string') assert.ok(list.includes(problem), `expected ${JSON.stringify(problem)} in ${JSON.stringify(list)}`);
  else assert.ok(list.some((p) => problem.test(p)), `expected ${problem} in ${JSON.stringify(list)}`);
}
