/**
 * An embedded Natter with JetStream in a fresh temporary store directory,
 * the official JetStream clients on it, and cleanup that leaves nothing
 * behind.
 */
import { after, before } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { StartOptions } from '../../src/index.js';
import { startNatter, type TestNatter } from './natter.js';

export interface JsServer {
  readonly srv: TestNatter;
  readonly storeDir: string;
  /** Closes the server; removes the store directory unless `keepDir`. */
  stop(keepDir?: boolean): Promise<void>;
}

export function tempStoreDir(): string {
  return mkdtempSync(join(tmpdir(), 'natter-jst-'));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A Natter with JetStream on in `storeDir` (a fresh one by default). */
export async function startJsNatter(opts: StartOptions = {}, storeDir = tempStoreDir(), jsBlock: Record<string, unknown> = {}): Promise<JsServer> {
  const srv = await startNatter({ jetstream: { store_dir: storeDir, ...jsBlock }, ...opts });
  return {
    srv,
    storeDir,
    stop: async (keepDir = false) => {
      await srv.close();
      if (!keepDir) removeDir(storeDir);
    },
  };
}

/** One connection with the JetStream manager and client on it. */
export interface JsClients {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly js: JetStreamClient;
}

export async function connectJetStream(url: string): Promise<JsClients> {
  const nc = await connect({ servers: url });
  return { nc, jsm: await jetstreamManager(nc), js: jetstream(nc) };
}

/** A JetStream Natter shared by the tests of one describe(), with clients on it. */
export interface JetStreamSuite extends JsClients {
  readonly server: JsServer;
}

/**
 * Registers before() and after() hooks in the calling describe(): a fresh
 * JetStream Natter and clients for its tests, closed and removed after them.
 * The fields are set once before() has run, so read them inside tests only.
 */
export function jetStreamSuite(): JetStreamSuite {
  let server: JsServer | undefined;
  let clients: JsClients | undefined;
  const unready = (): never => {
    throw new Error('the JetStream suite is read before its before() hook ran');
  };
  before(async () => {
    server = await startJsNatter();
    clients = await connectJetStream(server.srv.url);
  });
  after(async () => {
    await clients?.nc.close();
    await server?.stop();
  });
  return {
    get server() { return server ?? unready(); },
    get nc() { return clients?.nc ?? unready(); },
    get jsm() { return clients?.jsm ?? unready(); },
    get js() { return clients?.js ?? unready(); },
  };
}
