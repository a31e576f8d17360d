/**
 * A "target" is a server under test started with a given set of options:
 * either an embedded Natter or the reference nats-server with the same limits.
 * Protocol tests run against both so that every expectation is checked on
 * the reference too.
 */
import type { StartOptions } from '../../src/index.js';
import { startNatter } from './natter.js';
import { startNatsServer, natsConfigFor } from './nats-server.js';

export interface RunningTarget {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  stop(): Promise<void>;
}

export interface Target {
  readonly name: 'natter' | 'nats-server';
  start(opts?: StartOptions): Promise<RunningTarget>;
}

export const natterTarget: Target = {
  name: 'natter',
  async start(opts = {}) {
    const s = await startNatter(opts);
    return { name: 'natter', port: s.port, url: s.url, stop: () => s.close() };
  },
};

export const natsServerTarget: Target = {
  name: 'nats-server',
  async start(opts = {}) {
    const { logger: _logger, port, ...rest } = opts;
    const s = await startNatsServer({ config: natsConfigFor(rest), port: port || undefined });
    return { name: 'nats-server', port: s.port, url: s.url, stop: () => s.stop() };
  },
};

/** The reference first: when both fail, the reference's failure says the test itself is wrong. */
export const TARGETS: readonly Target[] = [natsServerTarget, natterTarget];
