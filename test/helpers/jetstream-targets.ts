/**
 * JetStream-enabled targets: an embedded Natter and the reference
 * nats-server, each with its own fresh store directory, so client-level
 * JetStream tests check every expectation on the reference too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNatter } from './natter.js';
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

function freshDir(): string {
  return mkdtempSync(join(tmpdir(), 'natter-js-'));
}

export const natterJetStream: JetStreamStarter = {
  name: 'natter',
  async start() {
    const storeDir = freshDir();
    const s = await startNatter({ jetstream: { store_dir: storeDir } });
    return {
      name: 'natter',
      url: s.url,
      storeDir,
      stop: async () => {
        await s.close();
        rmSync(storeDir, { recursive: true, force: true });
      },
    };
  },
};

export const natsServerJetStream: JetStreamStarter = {
  name: 'nats-server',
  async start() {
    const storeDir = freshDir();
    const s = await startNatsServer({ args: ['-js', '-sd', storeDir] });
    return {
      name: 'nats-server',
      url: s.url,
      storeDir,
      stop: async () => {
        await s.stop();
        rmSync(storeDir, { recursive: true, force: true });
      },
    };
  },
};

/** The reference first: when both fail, the test itself is wrong. */
export const JETSTREAM_TARGETS: readonly JetStreamStarter[] = [natsServerJetStream, natterJetStream];
