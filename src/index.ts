/**
 * The embedding API: start a Natter server inside a Node.js process, e.g. in
 * a test suite, and close it when done.
 *
 *   const srv = await startServer({ port: 0 });
 *   // connect to srv.url with any NATS client
 *   await srv.close();
 *
 * JetStream is on with `jetstream: true` (store under os.tmpdir()/nats) or
 * `jetstream: { store_dir, max_memory_store, ... }` with the config file's keys.
 *
 * Embedders get a handle, never the server object itself: what the handle
 * offers is the supported surface, the server's internals are free to change.
 */
import { Server, type ServerPorts as ServerURLs } from './server/server.js';
import { resolveOptions, type ServerOptions } from './server/options.js';
import type { Logger } from './log/logger.js';
import { silentLogger } from './log/silent-logger.js';

export type { ServerOptions } from './server/options.js';
export type { Logger } from './log/logger.js';

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


/** A started server. */
/** Where a running server can be reached, as nats-server's ports file lists it. */
export type { ServerURLs };

export interface RunningServer {
  /** nats://host:port to hand to a client. */
  readonly url: string;
  /** The bound client port (the random one when started with port 0). */
  readonly port: number;
  /** The server's id, as INFO, /varz and `$SYS` events report it. */
  readonly id: string;
  /** `server_name`, or the id when none was given. */
  readonly name: string;
  /** Client, monitoring and cluster URLs; monitoring and cluster only when on. */
  ports(): ServerURLs;
  /**
   * Moves the running server to a new configuration, as nats-server does on
   * SIGHUP: `options` is the whole configuration (what startServer() took,
   * changed), not a patch. Connections are re-checked against new users and
   * permissions. Returns one line per changed option; throws, changing
   * nothing, when the options are invalid or change something that needs a
   * restart (host, port, server_name, monitoring ports, cluster, jetstream, ...).
   */
  reload(options: StartOptions): string[];
  /**
   * Lame duck mode: stops accepting clients, tells the connected ones
   * (INFO `ldm`), closes them spread over `lame_duck_duration`, then shuts
   * down. Resolves once the server is down.
   */
  lameDuck(): Promise<void>;
  /** Closes every connection and listener; resolves once the server is down. Calling it again does nothing. */
  close(): Promise<void>;
}

/** Starts a server on 127.0.0.1 and a random port unless told otherwise. */
export async function startServer(opts: StartOptions = {}): Promise<RunningServer> {
  const server = new Server(embeddedOptions(opts), opts.logger ?? silentLogger);
  await server.start();
  return new EmbeddedServer(server);
}

/** The option set the server runs with: the embedding defaults overlaid with `opts`. */
function embeddedOptions(opts: StartOptions): ServerOptions {
  const { logger: _logger, ...rest } = opts;
  return resolveOptions({ host: '127.0.0.1', port: 0, ...rest });
}

class EmbeddedServer implements RunningServer {
  // A private field, not a property: embedders cannot reach the server's internals.
  readonly #server: Server;
  readonly url: string;
  readonly port: number;

  constructor(server: Server) {
    this.#server = server;
    this.url = server.clientURLs()[0];
    this.port = server.port;
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
    return this.#server.reload(embeddedOptions(options));
  }

  lameDuck(): Promise<void> {
    return this.#server.lameDuck();
  }

  close(): Promise<void> {
    return this.#server.shutdown();
  }
}


