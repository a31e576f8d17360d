/**
 * Differential check of the security fixtures against nats-server 2.9:
 * every file in test/fixtures/security must pass `nats-server -t` and load
 * through Natter's config loader and security parsers (from the tree and
 * from the plain option blocks); every file in invalid/ must be refused by
 * both, with the same problem text. A few mistakes nats-server only notices
 * when it starts (marked "Rejected when nats-server starts" in the file):
 * for those the server is started and must exit with the text.
 * The nats-server half is skipped when it is not installed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { SecurityConfigError } from '../../src/auth/conf-input.js';
import { securityFromConfigTree, securityFromOptions } from '../../src/auth/security-config.js';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfigFile } from '../../src/config/options-from-config.js';
import { parseConfigFile } from '../../src/config/parser.js';
import { findNatsServer } from '../config/helpers.js';
import { FIXTURES } from '../auth/helpers.js';
import { freePort } from '../helpers/ports.js';

const binary = findNatsServer();
const VALID = readdirSync(FIXTURES).filter((f) => f.endsWith('.conf')).sort();
const INVALID_DIR = path.join(FIXTURES, 'invalid');
const INVALID = readdirSync(INVALID_DIR).filter((f) => f.endsWith('.conf')).sort();

function natsCheck(file: string): { ok: boolean; output: string } {
  const r = spawnSync(binary as string, ['-t', '-c', file], { encoding: 'utf8', timeout: 10_000 });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

/** Starts nats-server on the file; it must exit by itself (a refusal) within the timeout. */
async function natsStart(file: string): Promise<{ ok: boolean; output: string }> {
  const port = await freePort();
  const r = spawnSync(binary as string, ['-c', file, '-a', '127.0.0.1', '-p', String(port)], {
    encoding: 'utf8',
    timeout: 5_000,
  });
  // Killed by the timeout means it started: the configuration was accepted.
  return { ok: r.status === 0 || r.signal !== null, output: `${r.stdout}${r.stderr}` };
}

/** Natter's problems for a file: from the tree, then from the plain option blocks. */
function natterProblems(file: string): { tree: string[]; plain: string[] } {
  const collect = (fn: () => unknown): string[] => {
    try {
      fn();
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return err.errors.map((e) => e.problem);
      if (err instanceof SecurityConfigError) return err.problems.map((p) => p.problem);
      throw err;
    }
  };
  return {
    tree: collect(() => securityFromConfigTree(parseConfigFile(file))),
    plain: collect(() => securityFromOptions(loadConfigFile(file).options)),
  };
}

describe('security fixtures load in Natter', () => {
  for (const name of VALID) {
    it(name, () => {
      const file = path.join(FIXTURES, name);
      const { warnings } = loadConfigFile(file);
      assert.ok(Array.isArray(warnings));
      assert.deepEqual(natterProblems(file), { tree: [], plain: [] });
    });
  }
});

describe('invalid security fixtures are refused by Natter', () => {
  for (const name of INVALID) {
    it(name, () => {
      const { tree, plain } = natterProblems(path.join(INVALID_DIR, name));
      assert.ok(tree.length > 0, 'refused from the configuration tree');
      assert.ok(plain.length > 0, 'refused from the option blocks');
      assert.equal(plain[0], tree[0], 'the same first problem either way');
    });
  }
});

describe('the fixtures against nats-server 2.9', { skip: binary === undefined ? 'nats-server not installed' : false }, () => {
  for (const name of VALID) {
    it(`${name} passes nats-server -t`, () => {
      const r = natsCheck(path.join(FIXTURES, name));
      assert.ok(r.ok, r.output);
    });
  }
  for (const name of INVALID) {
    it(`${name} is refused by nats-server with Natter's text`, async () => {
      const file = path.join(INVALID_DIR, name);
      const atStart = readFileSync(file, 'utf8').includes('Rejected when nats-server starts');
      const r = atStart ? await natsStart(file) : natsCheck(file);
      assert.equal(r.ok, false, `nats-server accepted ${name}: ${r.output}`);
      const { tree } = natterProblems(file);
      assert.ok(r.output.includes(tree[0]), `nats-server said ${JSON.stringify(r.output)}, Natter ${JSON.stringify(tree[0])}`);
      if (atStart) assert.ok(natsCheck(file).ok, '-t does not notice it');
    });
  }
});
