/**
 * The repository's Dockerfile builds with podman (from the base image that
 * image-base.test.ts makes) into a small multi-stage image: a non-root user,
 * nats-server's ports, OCI labels, the server as entrypoint, and only the
 * runtime dependencies. A cold build installs every npm dependency and
 * compiles the server (one to two minutes); a warm one reuses the layers.
 * image.test.ts runs the image.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../security/helpers.js';
import { IMAGE_TAG, RUN_FLAGS, buildImage, cannotRun, ensureBaseImage, podman } from './image-podman.js';

const skip = cannotRun();

describe('the image build', { skip: skip ?? false }, () => {
  before(async () => {
    await ensureBaseImage();
    const built = await buildImage();
    process.stderr.write(`podman build: ${built.ms} ms\n`);
  }, { timeout: 170_000 });

  it('runs as a non-root user, with the labels, ports and entrypoint', async () => {
    const inspect = await podman(['image', 'inspect', IMAGE_TAG, '--format', '{{json .Config}}']);
    assert.equal(inspect.code, 0, inspect.stderr);
    const config = JSON.parse(inspect.stdout) as {
      User: string; ExposedPorts: Record<string, unknown>; Labels: Record<string, string>; Entrypoint: string[]; Cmd: string[];
    };
    assert.equal(config.User, 'natter:natter');
    assert.deepEqual(Object.keys(config.ExposedPorts).sort(), ['4222/tcp', '6222/tcp', '7422/tcp', '7522/tcp', '8080/tcp', '8222/tcp']);
    assert.equal(config.Labels['org.opencontainers.image.title'], 'natter');
    // The Dockerfile's VERSION default follows package.json.
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(config.Labels['org.opencontainers.image.version'], pkg.version);
    assert.equal(config.Labels['org.opencontainers.image.licenses'], 'Apache-2.0');
    assert.equal(config.Labels['org.opencontainers.image.base.name'], 'docker.io/library/node:20-bookworm-slim');
    assert.deepEqual(config.Entrypoint, ['natter-server']);
    assert.deepEqual(config.Cmd, ['--config', '/etc/nats/nats-server.conf']);
    const id = await podman(['run', '--rm', ...RUN_FLAGS, '--entrypoint', 'id', IMAGE_TAG]);
    assert.equal(id.stdout.trim(), 'uid=10001(natter) gid=10001(natter) groups=10001(natter)');
  });

  it('holds the runtime dependencies only', async () => {
    const modules = await podman(['run', '--rm', ...RUN_FLAGS, '--entrypoint', 'ls', IMAGE_TAG, '/app/node_modules']);
    assert.equal(modules.code, 0, modules.stderr);
    const names = modules.stdout.split(/\s+/);
    for (const runtime of ['ws', 'bcryptjs', '@nats-io']) assert.ok(names.includes(runtime), `${runtime} is in the image`);
    for (const dev of ['typescript', 'playwright-core', '@aws-cdk', 'dpdm', 'nats.ws', 'yaml']) {
      assert.ok(!names.includes(dev), `${dev} (a dev dependency) is not in the image`);
    }
    const sources = await podman(['run', '--rm', ...RUN_FLAGS, '--entrypoint', 'sh', IMAGE_TAG, '-c', 'ls /app; ls /app/dist']);
    assert.deepEqual(sources.stdout.trim().split(/\s+/).sort(), ['dist', 'node_modules', 'package.json', 'src'].sort());
  });
});
