/**
 * Starting and stopping JetStream inside a server: reads the settings,
 * enables the accounts, recovers their streams, subscribes the API, follows
 * account changes (reload, account JWT updates), and registers the clean
 * shutdown (streams stop, stores flush and close).
 *
 * With a cluster port (cluster/mode.ts) JetStream runs clustered: the engine
 * recovers no streams itself; the cluster layer (cluster/start.ts, loaded on
 * demand) starts the meta group, whose assignments re-open this server's
 * replicas, and is set as `js.cluster` before the API router is installed,
 * so the router answers as a member of the cluster.
 */
import { join } from 'node:path';
import type { ServerCore } from '../server/core.js';
import { jetStreamConfigFrom } from './config.js';
import { JetStream } from './jetstream.js';
import { installApiRouter } from './api/router.js';
import { isClusteredJetStream } from './cluster/mode.js';

/** Null when the options leave JetStream off. */
export async function startJetStream(core: ServerCore): Promise<JetStream | null> {
  const config = jetStreamConfigFrom(core.options);
  if (config === null) return null;
  const log = core.logger;
  // nats-server's frame and fields (tools read them); the Sync line is Natter's own.
  log.info('Starting JetStream');
  log.info('---------------- JETSTREAM ----------------');
  log.info(`  Max Memory:      ${formatBytes(config.maxMemory)}`);
  log.info(`  Max Storage:     ${formatBytes(config.maxStore)}`);
  log.info(`  Store Directory: "${join(config.storeDir, 'jetstream')}"`);
  if (config.domain !== '') log.info(`  Domain:          ${config.domain}`);
  log.info(`  Sync:            ${config.sync === 'always' ? 'always (group commit)' : `${config.sync}ms`}`);
  log.info('-------------------------------------------');
  const js = await JetStream.start(core, config);
  let clustered: { stop(): Promise<void> } | null = null;
  if (isClusteredJetStream(core.options)) {
    const { startJetStreamCluster } = await import('./cluster/start.js');
    try {
      const started = await startJetStreamCluster(core, js);
      clustered = started;
      js.cluster = started.meta;
    } catch (e) {
      await js.stop();
      throw e;
    }
  }
  const router = installApiRouter(js);
  js.onAccountsAdded = router.refresh;
  const stopFollowingAccounts = core.onAccountsChanged(() => {
    js.accountsChanged().catch((e: unknown) => core.logger.error(`JetStream: reload of accounts failed: ${e instanceof Error ? e.message : String(e)}`));
  });
  core.onShutdown(async () => {
    log.info('Initiating JetStream Shutdown...');
    stopFollowingAccounts();
    router.uninstall();
    // Replicas stop (and the cluster hears goodbye) before the engine closes what is left.
    await clustered?.stop();
    await js.stop();
    log.info('JetStream Shutdown');
  });
  if (clustered === null) {
    const totals = js.totals();
    log.info(`  Recovered ${totals.streams} stream(s) in ${js.accounts.size} JetStream-enabled account(s)`);
  }
  return js;
}

function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(2)} ${units[i]}`;
}
