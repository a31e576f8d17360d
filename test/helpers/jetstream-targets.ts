/**
 * JetStream-enabled targets: an embedded Natter and the reference
 * nats-server, each with its own fresh store directory, so client-level
 * JetStream tests check every expectation on the reference too.
 */
import { removeDir, startJsNatter, tempStoreDir } from './jetstream.js';
import { startNatsServer } from './nats-server.js';

export interface JetStreamTarget {
  readonly name: 'natter' | 'nats-server';
  readonly url: string;
  readonly storeDir: string;
  stop(): Promise<void>;
}

export interface JetStreamStarter {
  readonly name: 'natter' | 'nats-server';
  start(): Promise<JetStreamTarget>;
}

export const natterJetStream: JetStreamStarter = {
  name: 'natter',
  async start() {
    const s = await startJsNatter();
    return { name: 'natter', url: s.srv.url, storeDir: s.storeDir, stop: () => s.stop() };
  },
};

export const natsServerJetStream: JetStreamStarter = {
  name: 'nats-server',
  async start() {
    const storeDir = tempStoreDir();
    const s = await startNatsServer({ args: ['-js', '-sd', storeDir] });
    return {
      name: 'nats-server',
      url: s.url,
      storeDir,
      stop: async () => {
        await s.stop();
        removeDir(storeDir);
      },
    };
  },
};

/** The reference first: when both fail, the test itself is wrong. */
export const JETSTREAM_TARGETS: readonly JetStreamStarter[] = [natsServerJetStream, natterJetStream];
