/**
 * The stand-in for the Dockerfile's base image (node:20-bookworm-slim), which
 * cannot be pulled here: docker/local-base-image.sh makes it from Debian
 * packages with this machine's Node, and podman keeps it under the
 * Dockerfile's FROM name. Made once (about a minute, longer on a loaded
 * machine), then reused; the image tests after this file find it ready.
 *
 * The image tests are three files so that each stays within the suite's time
 * per file on a cold machine: this one (the base), image-build (the
 * Dockerfile's build, npm dependencies included) and image (running it).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RUN_FLAGS, baseImageName, cannotRun, ensureBaseImage, podman } from './image-podman.js';

const skip = cannotRun();

describe('the base image', { skip: skip ?? false }, () => {
  it('exists under the Dockerfile\'s FROM name, with Node 20 and npm where the official image has them', { timeout: 170_000 }, async () => {
    const ms = await ensureBaseImage();
    if (ms > 0) process.stderr.write(`base image made in ${ms} ms\n`);
    const name = baseImageName();
    assert.match(name, /^docker\.io\/library\/node:20-/);
    const r = await podman(['run', '--rm', ...RUN_FLAGS, name, 'sh', '-c', 'command -v node && command -v npm && node --version && npm --version']);
    assert.equal(r.code, 0, r.stderr);
    const [nodePath, npmPath, version] = r.stdout.trim().split('\n');
    assert.equal(nodePath, '/usr/local/bin/node');
    assert.equal(npmPath, '/usr/local/bin/npm');
    assert.match(version, /^v20\./);
  });
});
