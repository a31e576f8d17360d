/**
 * One embedded server as the embedding API hands it out: the handle
 * (RunningServer) over a Server the embedder cannot reach, and the private
 * JetStream store an embedded server gets when it was given none.
 *
 * A test process that starts two servers, or two test processes on one
 * machine, must not see each other's streams: nats-server's default store
 * (os.tmpdir()/nats/jetstream) is shared by everyone, so an embedded server
 * without `store_dir` gets a fresh temporary directory instead, removed when
 * the server closes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../log/logger.js';
import { silentLogger } from '../log/silent-logger.js';
import { resolveOptions, type RawBlock, type ServerOptions } from '../server/options.js';
import { Server, type ServerPorts } from '../server/server.js';

/**
 * What startServer() and reload() take: the configuration file's keys
 * (`max_payload`, `ping_interval` in ms, `authorization`, `accounts`, `tls`,
 * `cluster`, `jetstream`, ...), any left out at nats-server's defaults,
 * except that `host` defaults to 127.0.0.1 and `port` to 0 (a random port).
 */
export interface StartOptions extends Partial<ServerOptions> {
  /** Where log lines go; silent by default. Chosen at start: reload() keeps the first one. */
  logger?: Logger;
}

/** Where a running server can be reached, as nats-server's ports file lists it. */
export type ServerURLs = ServerPorts;

/** A started server. */
export interface RunningServer {
  /** nats://host:port to hand to a client. */
  readonly url: string;
  /** The bound client port (the random one when started with port 0). */
  readonly port: number;
  /** The server's id, as INFO, /varz and `$SYS` events report it. */
  readonly id: string;
  /** `server_name`, or the id when none was given. */
  readonly name: string;
  /**
   * The JetStream store directory (`store_dir`): the one given, or the
   * private temporary one made for this server; null without JetStream.
   */
  readonly storeDir: string | null;
  /** Client, monitoring and cluster URLs; monitoring and cluster only when on. */
  ports(): ServerURLs;
  /**
   * Moves the running server to a new configuration, as nats-server does on
   * SIGHUP: `options` is the whole configuration (what startServer() took,
   * changed), not a patch. Connections are re-checked against new users and
   * permissions. Returns one line per changed option; throws, changing
   * nothing, when the options are invalid or change something that needs a
   * restart (host, port, server_name, monitoring ports, cluster, jetstream, ...).
   * A private store directory stays the server's across reloads.
   */
  reload(options: StartOptions): string[];
  /**
   * Lame duck mode: stops accepting clients, tells the connected ones
   * (INFO `ldm`), closes them spread over `lame_duck_duration`, then shuts
   * down. Resolves once the server is down (and its private store removed).
   */
  lameDuck(): Promise<void>;
  /**
   * Closes every connection and listener; resolves once the server is down
   * and its private store directory, if it had one, is removed. Calling it
   * again does nothing.
   */
  close(): Promise<void>;
}

/** The keys under which nats-server reads the store directory. */
const STORE_DIR_KEYS = ['store_dir', 'store', 'storedir'] as const;

/** The `jetstream` option as a block, or null when JetStream is off. */
function jetStreamBlock(opts: StartOptions): RawBlock | null {
  const js = opts.jetstream;
  if (js === undefined || js === false) return null;
  const block: RawBlock = js === true ? {} : js;
  const enabled = block.enabled ?? block.enable;
  return enabled === false ? null : block;
}

/** The store directory `opts` names, or null when JetStream is on without one (or off). */
export function givenStoreDir(opts: StartOptions): string | null {
  const block = jetStreamBlock(opts);
  if (block === null) return null;
  for (const k of STORE_DIR_KEYS) {
    const v = block[k];
    if (typeof v === 'string' && v !== '') return v;
  }
  return null;
}

/** Whether `opts` turn JetStream on. */
export function wantsJetStream(opts: StartOptions): boolean {
  return jetStreamBlock(opts) !== null;
}

/** `opts` with the JetStream store directory set to `dir` (JetStream on). */
function withStoreDir(opts: StartOptions, dir: string): StartOptions {
  const block = jetStreamBlock(opts) ?? {};
  const rest: RawBlock = {};
  for (const [k, v] of Object.entries(block)) if (!(STORE_DIR_KEYS as readonly string[]).includes(k)) rest[k] = v;
  return { ...opts, jetstream: { ...rest, store_dir: dir } };
}

/** A fresh directory for one embedded server's JetStream store. */
export function makePrivateStoreDir(): string {
  return mkdtempSync(join(tmpdir(), 'natter-js-'));
}

export function removeStoreDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** The option set the server runs with: the embedding defaults overlaid with `opts`. */
function embeddedOptions(opts: StartOptions): ServerOptions {
  const { logger: _logger, ...rest } = opts;
  return resolveOptions({ host: '127.0.0.1', port: 0, ...rest });
}

/**
 * Starts a server for embedding. With JetStream on and no store directory
 * in `opts`, the server gets a private temporary one that its handle
 * removes once the server is down. `server` is for the embedding API's own
 * use (the cluster helper watches routes and the meta group through it).
 */
export async function launchServer(opts: StartOptions): Promise<{ handle: RunningServer; server: Server }> {
  // Watching belongs to natter-server, which owns a config file; an embedder has none and calls reload() itself.
  if (opts.config_watch === true) throw new Error('config_watch needs natter-server and a config file (-c); embedders call reload()');
  let privateStore: string | null = null;
  let effective = opts;
  if (wantsJetStream(opts) && givenStoreDir(opts) === null) {
    privateStore = makePrivateStoreDir();
    effective = withStoreDir(opts, privateStore);
  }
  try {
    const server = new Server(embeddedOptions(effective), opts.logger ?? silentLogger);
    await server.start();
    return { handle: new EmbeddedServer(server, givenStoreDir(effective), privateStore), server };
  } catch (e) {
    if (privateStore !== null) removeStoreDir(privateStore);
    throw e;
  }
}

class EmbeddedServer implements RunningServer {
  // Private fields, not properties: embedders cannot reach the server's internals.
  readonly #server: Server;
  /** The temporary store this handle made and removes; null when the caller chose the store. */
  readonly #privateStore: string | null;
  /** The first close(): later calls wait for it. */
  #down: Promise<void> | null = null;
  readonly url: string;
  readonly port: number;
  readonly storeDir: string | null;

  constructor(server: Server, storeDir: string | null, privateStore: string | null) {
    this.#server = server;
    this.#privateStore = privateStore;
    this.url = server.clientURLs()[0];
    this.port = server.port;
    this.storeDir = storeDir;
  }

  get id(): string {
    return this.#server.id;
  }

  get name(): string {
    return this.#server.name;
  }

  ports(): ServerURLs {
    return this.#server.ports();
  }

  reload(options: StartOptions): string[] {
    // The private store is part of the configuration the server runs with:
    // a reload that left it out would read as a change of store_dir.
    const next = this.#privateStore !== null && wantsJetStream(options) && givenStoreDir(options) === null
      ? withStoreDir(options, this.#privateStore)
      : options;
    return this.#server.reload(embeddedOptions(next));
  }

  async lameDuck(): Promise<void> {
    await this.#server.lameDuck();
    // A close() that came during lame duck mode owns the end of the shutdown.
    if (this.#down !== null) return this.#down;
    this.#removePrivateStore();
  }

  close(): Promise<void> {
    // Only once: a second shutdown() returns at once, while the first may still be closing the store.
    this.#down ??= this.#server.shutdown().then(() => this.#removePrivateStore());
    return this.#down;
  }

  #removePrivateStore(): void {
    if (this.#privateStore !== null) removeStoreDir(this.#privateStore);
  }
}
