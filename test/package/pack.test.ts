/**
 * The npm package as a user gets it: the project is packed with `npm pack`
 * (from the build this test runs from), the tarball is installed into an
 * empty project from the machine's npm cache, and the bins and the
 * embedding API run from there.
 *
 * The pack runs with --ignore-scripts (the `prepare` build has already
 * happened: this test runs from its output). It stages the package first,
 * the `files` of package.json copied with `dist/` taken from this build,
 * so `.build/<name>` and `dist` test what they built.
 */
import { before, after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** <build>/test/package/pack.test.js -> <build> (`dist` or `.build/<name>`). */
const buildRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The directory above the build holding the project's package.json. */
function findRepoRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj) && (JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'natter') return dir;
    if (dirname(dir) === dir) throw new Error(`no natter package.json above ${from}`);
  }
}
const repoRoot = findRepoRoot(buildRoot);

interface PackageJson {
  name: string;
  version: string;
  files: string[];
  bin: Record<string, string>;
  engines: { node: string };
  dependencies: Record<string, string>;
}
const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as PackageJson;

/** npm with a private log dir and no update check, quiet. */
function npm(args: string[], cwd: string, timeoutMs = 60_000): Promise<{ stdout: string; stderr: string }> {
  return run('npm', [...args, '--no-update-notifier', '--loglevel=error'], { cwd, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false' } });
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

/** Relative links (`](path)`) of a markdown file, anchors dropped. */
function relativeLinks(markdown: string): string[] {
  const links: string[] = [];
  for (const m of markdown.matchAll(/\]\(([^)\s#]+)(#[^)]*)?\)/g)) {
    if (!/^[a-z]+:/i.test(m[1])) links.push(m[1]);
  }
  return links;
}

describe('the npm package', () => {
  let work = '';
  let tarball = '';
  let packed: string[] = [];
  /** The empty project the tarball is installed into. */
  let project = '';
  /** Where the package landed in it. */
  let installed = '';

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'natter-pack-'));
    const stage = join(work, 'stage');
    mkdirSync(stage);
    cpSync(join(repoRoot, 'package.json'), join(stage, 'package.json'));
    for (const entry of pkg.files) {
      const from = entry === 'dist' || entry.startsWith('dist/') ? join(buildRoot, entry.slice('dist'.length)) : join(repoRoot, entry);
      assert.ok(existsSync(from), `${entry} (package.json files) exists in the build: ${from}`);
      cpSync(from, join(stage, entry), { recursive: true });
    }
    // npm always packs these: they need not be in `files`.
    for (const always of ['README.md', 'LICENSE']) cpSync(join(repoRoot, always), join(stage, always));

    const { stdout } = await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', work], stage);
    const [report] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = join(work, report.filename);
    packed = report.files.map((f) => f.path);

    project = join(work, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'natter-pack-check', private: true, type: 'module' }));
    try {
      // From the npm cache alone when it holds every dependency (CI's `npm ci` filled it).
      await npm(['install', '--offline', tarball], project, 90_000);
    } catch {
      await npm(['install', '--prefer-offline', tarball], project, 90_000);
    }
    installed = join(project, 'node_modules', 'natter');
  });

  after(() => {
    if (work !== '') rmSync(work, { recursive: true, force: true });
  });

  it('holds the built server, its typings, both bins, LICENSE, README and what the README links to', () => {
    for (const f of ['package.json', 'LICENSE', 'README.md', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/monitor/dashboard/client.js']) {
      assert.ok(packed.includes(f), `${f} is packed`);
    }
    for (const bin of Object.values(pkg.bin)) assert.ok(packed.includes(bin), `bin ${bin} is packed`);
    assert.ok(!packed.some((f) => f.startsWith('dist/test/') || f.startsWith('test/') && f !== 'test/e2e/README.md'), 'no tests are packed');
    const markdown = packed.filter((f) => f.endsWith('.md'));
    for (const md of markdown) {
      for (const link of relativeLinks(readFileSync(join(installed, md), 'utf8'))) {
        const target = relative(installed, resolve(installed, dirname(md), link));
        assert.ok(existsSync(join(installed, target)), `${md} links to ${link}, which is in the package`);
      }
    }
  });

  it('ships source maps only with the sources they point at', () => {
    const installedDist = join(installed, 'dist');
    const maps = filesUnder(installedDist).filter((f) => f.endsWith('.map'));
    assert.ok(maps.length > 0);
    for (const map of maps) {
      const { sources } = JSON.parse(readFileSync(map, 'utf8')) as { sources: string[] };
      // A map's sources are relative to where it was built (dist/... or .build/<name>/...): resolved
      // there, each names a file of the project, which the package must hold at the same place.
      const builtAt = join(buildRoot, relative(installedDist, dirname(map)));
      for (const s of sources) {
        const source = relative(repoRoot, resolve(builtAt, s));
        assert.ok(existsSync(join(installed, source)), `${relative(installed, map)} points at ${source}, which is in the package`);
      }
    }
  });

  it('says which Node.js it needs, and its bins are linked executable', () => {
    assert.equal(pkg.engines.node, '>=20');
    for (const name of Object.keys(pkg.bin)) {
      const link = join(project, 'node_modules', '.bin', name);
      assert.ok(existsSync(link), `${name} is linked`);
      assert.ok((statSync(link).mode & 0o111) !== 0, `${name} is executable`);
    }
  });

  it('needs no Node.js newer than its engines field says: every installed dependency runs on Node 20', () => {
    const minimum = Number(/^>=\s*(\d+)$/.exec(pkg.engines.node)?.[1]);
    assert.equal(minimum, 20);
    const modules = join(project, 'node_modules');
    const names = readdirSync(modules).filter((n) => !n.startsWith('.')).flatMap((n) => (n.startsWith('@') ? readdirSync(join(modules, n)).map((m) => `${n}/${m}`) : [n]));
    const wantNewer: string[] = [];
    for (const name of names) {
      const dep = JSON.parse(readFileSync(join(modules, name, 'package.json'), 'utf8')) as { version: string; engines?: { node?: string } };
      const floor = /^>=\s*v?(\d+)/.exec(dep.engines?.node ?? '')?.[1];
      if (floor !== undefined && Number(floor) > minimum) wantNewer.push(`${name}@${dep.version}`);
    }
    // @nats-io/nuid 3.0.0 (under the official client) declares Node >= 22, yet uses nothing newer
    // than globalThis.crypto.getRandomValues (Node 19); this suite runs it on Node 20. docs/embedding.md says so.
    assert.deepEqual(wantNewer, ['@nats-io/nuid@3.0.0']);
  });

  it('runs `npx natter-server --version` and `npx natter --version` from the project', async () => {
    const server = await run('npx', ['--no-install', 'natter-server', '--version'], { cwd: project, timeout: 30_000 });
    assert.match(server.stdout, new RegExp(`^natter-server: v${pkg.version.replace(/\./g, '\\.')}$`, 'm'));
    const tool = await run('npx', ['--no-install', 'natter', '--version'], { cwd: project, timeout: 30_000 });
    assert.ok(tool.stdout.includes(pkg.version), `natter --version names ${pkg.version}: ${tool.stdout}`);
  });

  it('embeds a server and a cluster from `import ... from "natter"`, typings included', async () => {
    const script = `
      import { startServer, startCluster } from 'natter';
      import { connect } from '@nats-io/transport-node';
      import { existsSync } from 'node:fs';
      const srv = await startServer({ jetstream: true });
      const nc = await connect({ servers: srv.url });
      nc.subscribe('echo', { callback: (_e, m) => m.respond('echo:' + m.string()) });
      const echo = (await nc.request('echo', 'hi')).string();
      await nc.close();
      await srv.close();
      const cluster = await startCluster({ nodes: 2 });
      const urls = cluster.urls.length;
      await cluster.close();
      console.log(JSON.stringify({ echo, storeRemoved: !existsSync(srv.storeDir), urls }));
    `;
    writeFileSync(join(project, 'check.mjs'), script);
    const { stdout } = await run(process.execPath, ['check.mjs'], { cwd: project, timeout: 30_000 });
    assert.deepEqual(JSON.parse(stdout), { echo: 'echo:hi', storeRemoved: true, urls: 2 });

    // The typings resolve through the package's `exports` as a TypeScript user's would.
    writeFileSync(join(project, 'check.ts'), [
      "import { startServer, startCluster, type RunningServer, type RunningCluster, type StartOptions } from 'natter';",
      "const opts: StartOptions = { jetstream: true, max_payload: 1024 };",
      'export async function f(): Promise<[RunningServer, RunningCluster]> { return [await startServer(opts), await startCluster({ nodes: 3 })]; }',
      '',
    ].join('\n'));
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    await run(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--typeRoots', join(repoRoot, 'node_modules', '@types'), 'check.ts'], { cwd: project, timeout: 60_000 })
      .catch((e: { stdout?: string }) => assert.fail(`the typings do not check: ${e.stdout ?? String(e)}`));
  });
});
