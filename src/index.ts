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
 */
import { Server } from './server/server.js';
import { resolveOptions, type ServerOptions } from './server/options.js';
import type { Logger } from './log/logger.js';
import { silentLogger } from './log/silent-logger.js';

export { Server } from './server/server.js';
export type { ServerOptions } from './server/options.js';
export type { Logger } from './log/logger.js';

export interface StartOptions extends Partial<ServerOptions> {
  /** Where log lines go; silent by default. */
  logger?: Logger;
}

export interface RunningServer {
  /** nats://host:port to hand to a client. */
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  close(): Promise<void>;
}

/** Starts a server on 127.0.0.1 and a random port unless told otherwise. */
export async function startServer(opts: StartOptions = {}): Promise<RunningServer> {
  const { logger, ...rest } = opts;
  const options = resolveOptions({ host: '127.0.0.1', port: 0, ...rest });
  const server = new Server(options, logger ?? silentLogger);
  await server.start();
  return {
    url: server.clientURLs()[0],
    port: server.port,
    server,
    close: () => server.shutdown(),
  };
}
