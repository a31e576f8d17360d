/**
 * The embedding API: start Natter servers inside a Node.js process, e.g. in
 * a test suite, and close them when done (see docs/embedding.md).
 *
 *   const srv = await startServer({ jetstream: true });
 *   // connect to srv.url with any NATS client
 *   await srv.close();
 *
 *   const cluster = await startCluster({ nodes: 3, jetstream: true });
 *   // cluster.urls, cluster.node('n2').restart(), .partition(), .heal()
 *   await cluster.close();
 *
 * JetStream is on with `jetstream: true` or `jetstream: { store_dir,
 * max_memory_store, ... }` with the config file's keys; without a
 * `store_dir` each server gets a private temporary store, removed on close.
 *
 * Embedders get handles, never the server object itself: what the handles
 * offer is the supported surface, the server's internals are free to change.
 */
import { launchServer, type RunningServer, type StartOptions } from './embed/embedded-server.js';

export type { ServerOptions } from './server/options.js';
export type { Logger } from './log/logger.js';
export type { RunningServer, ServerURLs, StartOptions } from './embed/embedded-server.js';
export type { ClusterNode, ClusterOptions, RunningCluster } from './embed/cluster.js';
export { startCluster } from './embed/cluster.js';

/** Starts a server on 127.0.0.1 and a random port unless told otherwise. */
export async function startServer(opts: StartOptions = {}): Promise<RunningServer> {
  return (await launchServer(opts)).handle;
}
