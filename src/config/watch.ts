/**
 * Config reload without a sidecar (`config_watch: true`, `--config_watch`;
 * a Natter key, nats-server has none): the server watches its configuration
 * file and what it references, and reloads when their content changes, the
 * way SIGHUP does.
 *
 * What is watched: the config file, every file an `include` brought in, the
 * files named by `cert_file`, `key_file` and `ca_file` (any TLS block), an
 * `operator` given as a file, and the `dir` of a `resolver` block.
 *
 * Kubernetes updates a mounted Secret or ConfigMap by writing a new
 * timestamped folder and renaming a `..data` symlink over the old one; the
 * visible names (`tls.crt -> ..data/tls.crt`) never change, and the old
 * files are deleted, so a watch on a file's inode goes stale. Hence the
 * watches are on folders (the one holding each name and the one holding its
 * resolved target), every event only arms a debounce timer, and what
 * decides is content: each target's fingerprint (its bytes through all
 * symlinks, or a folder's listing) before and after. An event in a watched
 * folder that changed no target reloads nothing. After every round the
 * targets are read again (a reload may add an include or a certificate) and
 * the watches re-armed on the folders the symlinks now lead to.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PSEUDO_FILE } from './errors.js';
import { parseConfigFile, type ConfNode } from './parser.js';
import type { Logger } from '../log/logger.js';

/** Keys whose string value names a file the server reads, wherever they appear. */
const FILE_KEYS: ReadonlySet<string> = new Set(['cert_file', 'key_file', 'ca_file']);
/** Top-level keys naming operator JWTs, inline or as files (nats-server's aliases). */
const OPERATOR_KEYS: ReadonlySet<string> = new Set(['operator', 'operators', 'roots', 'root', 'root_operators', 'root_operator']);

/** Quiet time after the last event before the targets are compared: a swap or an editor's save is a burst. */
export const DEFAULT_DEBOUNCE_MS = 500;

/** Something the configuration depends on, and why (for the log). */
export interface WatchTarget {
  readonly path: string;
  readonly kind: 'file' | 'dir';
  /** `config`, `include`, `tls cert_file`, `resolver dir`, ... */
  readonly role: string;
}

/**
 * What the configuration in `configFile` depends on. Throws the parser's
 * ConfigError when the file does not parse.
 */
export function watchTargets(configFile: string): WatchTarget[] {
  const root = parseConfigFile(configFile);
  const main = path.resolve(configFile);
  const found = new Map<string, WatchTarget>([[main, { path: main, kind: 'file', role: 'config' }]]);
  const add = (t: WatchTarget): void => {
    if (!found.has(t.path)) found.set(t.path, t);
  };
  const visit = (node: ConfNode, key: string, parentKey: string): void => {
    // Every value remembers its file: the files that contributed are the config file and its includes.
    const file = node.pos.file;
    if (file !== PSEUDO_FILE && !file.startsWith('env:')) add({ path: path.resolve(file), kind: 'file', role: 'include' });
    if (node.kind === 'map') {
      for (const [k, e] of node.entries) visit(e.value, k.toLowerCase(), key);
      return;
    }
    if (node.kind === 'array') {
      for (const item of node.items) visit(item, key, parentKey);
      return;
    }
    if (node.kind !== 'string' || node.value === '') return;
    // Paths relative to the working directory, as nats-server opens them.
    if (FILE_KEYS.has(key)) add({ path: path.resolve(node.value), kind: 'file', role: `${parentKey} ${key}`.trim() });
    else if (key === 'dir' && parentKey === 'resolver') add({ path: path.resolve(node.value), kind: 'dir', role: 'resolver dir' });
    else if (OPERATOR_KEYS.has(key) && parentKey === '' && !node.value.startsWith('eyJ')) {
      // An operator is a JWT or the file holding one; only the file is worth watching.
      add({ path: path.resolve(node.value), kind: 'file', role: 'operator' });
    }
  };
  visit(root, '', '');
  return [...found.values()];
}

/**
 * A target's content as far as a reload is concerned: the hash of a file's
 * bytes (followed through symlinks), or of a folder's listing with sizes and
 * modification times; `missing` when it cannot be read.
 */
export function fingerprint(t: WatchTarget): string {
  try {
    if (t.kind === 'file') return createHash('sha256').update(fs.readFileSync(t.path)).digest('hex');
    const h = createHash('sha256');
    for (const name of fs.readdirSync(t.path).sort()) {
      if (name.startsWith('.')) continue; // Kubernetes' ..data machinery, editors' swap files
      const st = fs.statSync(path.join(t.path, name), { throwIfNoEntry: false });
      h.update(`${name}\0${st?.size ?? -1}\0${st?.mtimeMs ?? -1}\n`);
    }
    return h.digest('hex');
  } catch {
    return 'missing';
  }
}

/** The folders whose events can mean `t` changed: where its name is, and where its symlinks lead. */
function foldersOf(t: WatchTarget): string[] {
  const out = [path.dirname(t.path)];
  if (t.kind === 'dir') out.push(t.path);
  try {
    const real = fs.realpathSync(t.path);
    out.push(t.kind === 'dir' ? real : path.dirname(real));
  } catch {
    // Missing for now: its own folder's events will tell when it appears.
  }
  return out;
}

export interface ConfigWatcherOptions {
  readonly configFile: string;
  /** Reloads the configuration as SIGHUP does and reports its own failures; false when it refused the change. */
  readonly reload: () => Promise<boolean>;
  readonly logger: Pick<Logger, 'info' | 'debug'>;
  readonly debounceMs?: number;
}

/** Watches the configuration's files and reloads when their content changes. */
export class ConfigWatcher {
  private readonly debounceMs: number;
  private targets: WatchTarget[] = [];
  private readonly prints = new Map<string, string>();
  private readonly watchers = new Map<string, fs.FSWatcher>();
  private timer: NodeJS.Timeout | null = null;
  /** A round (compare, reload, re-arm) is running; events meanwhile ask for another. */
  private running = false;
  private again = false;
  private closed = false;

  constructor(private readonly opts: ConfigWatcherOptions) {
    this.debounceMs = opts.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  }

  /** Reads the targets as they are now and starts watching. */
  start(): void {
    this.refreshTargets(true);
    for (const t of this.targets) this.prints.set(t.path, fingerprint(t));
    this.rearm();
    const list = this.targets.map((t) => t.path).join(', ');
    this.opts.logger.info(`Watching the configuration for changes: ${list}`);
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  private readonly onEvent = (): void => {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(this.onQuiet, this.debounceMs);
    // The watcher must never be what keeps a stopping server's process alive.
    this.timer.unref();
  };

  private readonly onQuiet = (): void => {
    this.timer = null;
    this.running = true;
    this.round().finally(() => {
      this.running = false;
      if (this.again && !this.closed) {
        this.again = false;
        this.onEvent();
      }
    });
  };

  /** Compares the targets with what they were; reloads when one changed. */
  private async round(): Promise<void> {
    const changed: WatchTarget[] = [];
    for (const t of this.targets) {
      const now = fingerprint(t);
      if (now !== this.prints.get(t.path)) changed.push(t);
      this.prints.set(t.path, now);
    }
    if (changed.length > 0) {
      const what = changed.map((t) => `${t.path} (${t.role}${this.prints.get(t.path) === 'missing' ? ', missing' : ''})`);
      this.opts.logger.info(`Configuration changed on disk: ${what.join(', ')}; reloading`);
      const accepted = await this.opts.reload();
      if (this.closed) return;
      const before = new Set(this.targets.map((t) => t.path));
      this.refreshTargets(accepted);
      for (const t of this.targets) {
        if (!before.has(t.path)) this.prints.set(t.path, fingerprint(t));
      }
    }
    this.rearm();
  }

  /**
   * The targets of the configuration as it is on disk. While the server runs
   * a refused one, the running configuration's targets stay watched too.
   */
  private refreshTargets(accepted: boolean): void {
    let next: WatchTarget[];
    try {
      next = watchTargets(this.opts.configFile);
    } catch {
      // The reload reported the problem with its position; the config file itself tells when it is fixed.
      next = [{ path: path.resolve(this.opts.configFile), kind: 'file', role: 'config' }];
    }
    if (!accepted) {
      const known = new Set(next.map((t) => t.path));
      next.push(...this.targets.filter((t) => !known.has(t.path)));
    }
    this.targets = next;
    const live = new Set(this.targets.map((t) => t.path));
    for (const p of [...this.prints.keys()]) if (!live.has(p)) this.prints.delete(p);
  }

  /** Watches exactly the folders the targets need now (symlink swaps move them). */
  private rearm(): void {
    const wanted = new Set(this.targets.flatMap(foldersOf));
    for (const [dir, w] of this.watchers) {
      if (!wanted.has(dir)) {
        w.close();
        this.watchers.delete(dir);
      }
    }
    for (const dir of wanted) {
      if (this.watchers.has(dir)) continue;
      let w: fs.FSWatcher;
      try {
        w = fs.watch(dir, { persistent: false }, this.onEvent);
      } catch (err) {
        this.opts.logger.debug(`Config watch: cannot watch ${dir}: ${err instanceof Error ? err.message : String(err)}`);
        continue;
      }
      // A watched folder that goes away (the old `..2026_...` one after a swap)
      // ends its watch with an error: the next round re-arms on what is there.
      w.on('error', () => {
        w.close();
        if (this.watchers.get(dir) === w) this.watchers.delete(dir);
        this.onEvent();
      });
      this.watchers.set(dir, w);
    }
  }
}
