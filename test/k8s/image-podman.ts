/**
 * Building and running the repository's Dockerfile with Debian's podman, on a
 * machine that cannot pull images: the Dockerfile's base image is stood in
 * for by docker/local-base-image.sh (mmdebstrap bookworm + this machine's
 * Node), made once and kept in podman's store under the Dockerfile's own
 * FROM name. Every podman call uses runc (crun fails on this host's cgroups)
 * and fixed ulimits (the container may not raise its own).
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../security/helpers.js';

const run = promisify(execFile);

/** The image the tests build from the Dockerfile. */
export const IMAGE_TAG = 'localhost/natter:test';

/** Options every `podman run` gets here. */
export const RUN_FLAGS: readonly string[] = ['--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=32768:32768'];

export interface CommandResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** `podman --runtime runc <args>`; never throws for a non-zero exit (the caller asserts on it). */
export async function podman(args: readonly string[], timeoutMs = 60_000): Promise<CommandResult> {
  try {
    const r = await run('podman', ['--runtime', 'runc', ...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    return { stdout: r.stdout, stderr: r.stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number | string; killed?: boolean };
    const code = typeof e.code === 'number' ? e.code : -1;
    const why = e.killed === true ? `\n(killed after ${timeoutMs}ms)` : '';
    return { stdout: e.stdout ?? '', stderr: `${e.stderr ?? String(err)}${why}`, code };
  }
}

/** The Dockerfile's base image as podman names it (`ARG NODE_IMAGE=...` qualified with docker.io/library). */
export function baseImageName(): string {
  const dockerfile = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const m = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile);
  if (m === null) throw new Error('the Dockerfile names no NODE_IMAGE');
  const name = m[1];
  if (name.includes('/')) return name.split('/')[0].includes('.') ? name : `docker.io/${name}`;
  return `docker.io/library/${name}`;
}

/** Makes the stand-in base image unless podman already has one by that name; returns how long it took (0: cached). */
export async function ensureBaseImage(): Promise<number> {
  const name = baseImageName();
  if ((await podman(['image', 'exists', name])).code === 0) return 0;
  const started = Date.now();
  try {
    await run(path.join(REPO_ROOT, 'docker', 'local-base-image.sh'), [name], { timeout: 600_000, maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stderr?: string };
    throw new Error(`docker/local-base-image.sh failed: ${e.stderr ?? String(err)}`);
  }
  return Date.now() - started;
}

/**
 * Builds the Dockerfile at the repository root. `npm ci` in the build needs
 * the npm registry: the host's network, and the host's CA bundle (a TLS
 * proxy may sit in between), both given to the build's RUN steps only, so
 * the image itself is what any Docker build makes.
 */
export async function buildImage(): Promise<{ ms: number; output: string }> {
  const scratch = mkdtempSync(path.join(tmpdir(), 'natter-image-build-'));
  const npmrc = path.join(scratch, 'npmrc');
  writeFileSync(npmrc, 'cafile=/etc/ssl/certs/ca-certificates.crt\n');
  const started = Date.now();
  const r = await podman([
    'build', '--network=host',
    '--volume', '/etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro',
    '--volume', `${npmrc}:/usr/local/etc/npmrc:ro`,
    '--tag', IMAGE_TAG, REPO_ROOT,
  ], 900_000);
  const output = `${r.stdout}\n${r.stderr}`;
  if (r.code !== 0) throw new Error(`podman build failed (exit ${r.code}):\n${output.slice(-6000)}`);
  return { ms: Date.now() - started, output };
}

/** Why the image tests cannot run here, or null. As root nothing is skipped: a missing tool fails. */
export function cannotRun(): string | null {
  if (process.getuid?.() !== 0) return 'podman with runc and mmdebstrap need root here';
  return null;
}
