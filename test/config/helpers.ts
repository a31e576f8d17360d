/** Shared helpers for the configuration tests. */
import assert from 'node:assert/strict';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ConfigError } from '../../src/config/errors.js';
import { mapToPlain, parseConfig, type ConfigObject } from '../../src/config/parser.js';

/** Parses text with a controlled environment and strips positions. */
export function plain(text: string, env: Record<string, string> = {}): ConfigObject {
  return mapToPlain(parseConfig(text, undefined, { env }));
}

/** Runs fn, asserts it throws a ConfigError and returns it. */
export function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail('expected a ConfigError');
}

/** The ConfigError parsing text produces. */
export function parseError(text: string, env: Record<string, string> = {}, file?: string): ConfigError {
  return configError(() => parseConfig(text, file, { env }));
}

/** Asserts an error's position (and optionally part of its problem text). */
export function assertAt(err: ConfigError, line: number, col: number, problem?: RegExp): void {
  assert.deepEqual({ line: err.line, col: err.col }, { line, col }, `position of: ${err.message}`);
  if (problem !== undefined) assert.match(err.problem, problem);
}

/** A temporary folder of files, removed by cleanup(). */
export class TempDir {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'natter-config-'));

  write(name: string, text: string): string {
    const file = path.join(this.dir, name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
    return file;
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** nats-server on PATH (or Debian's /usr/sbin, which a non-root PATH may lack), else undefined. */
export function findNatsServer(): string | undefined {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter((d) => d !== '');
  for (const dir of [...dirs, '/usr/sbin']) {
    const candidate = path.join(dir, 'nats-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * What the official Helm chart (nats-io/k8s, helm/charts/nats) renders: its
 * values go through toPrettyRawJson, then `"<< X >>"` is unquoted to X and
 * `"$include": "f"` entries become `include f;`. So raw tokens such as
 * $SERVER_NAME and 10Gi sit inside otherwise JSON text.
 */
const HELM_CONF = `{
  include my-config.conf;
  "cluster": {
    "name": "nats",
    "no_advertise": true,
    "port": 6222,
    "routes": [
      "nats://nats-0.nats-headless:6222",
      "nats://nats-1.nats-headless:6222",
      "nats://nats-2.nats-headless:6222"
    ]
  },
  "http_port": 8222,
  "jetstream": {
    "max_file_store": 10Gi,
    "max_memory_store": 0,
    "store_dir": "/data",
    include js.conf;
  },
  "lame_duck_duration": "30s",
  "lame_duck_grace_period": "10s",
  "pid_file": "/var/run/nats/nats.pid",
  "port": 4222,
  "server_name": $SERVER_NAME
}
`;

export const HELM_FILES: Readonly<Record<string, string>> = {
  'nats.conf': HELM_CONF,
  'my-config.conf': 'ping_interval: "5m"\n',
  'js.conf': 'max_outstanding_catchup: 64MB\n',
};
