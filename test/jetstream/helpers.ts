/**
 * Shared setup for the JetStream engine tests: an embedded Natter with
 * JetStream in a fresh temporary store directory, raw JetStream API
 * requests, and cleanup that leaves nothing behind.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatter } from '../helpers/natter.js';
import type { RunningServer, StartOptions } from '../../src/index.js';

export interface JsServer {
  readonly srv: RunningServer;
  readonly storeDir: string;
  /** Closes the server; removes the store directory unless `keepDir`. */
  stop(keepDir?: boolean): Promise<void>;
}

export function tempStoreDir(): string {
  return mkdtempSync(join(tmpdir(), 'natter-jst-'));
}

/** A Natter with JetStream on in `storeDir` (a fresh one by default). */
export async function startJsNatter(opts: StartOptions = {}, storeDir = tempStoreDir(), jsBlock: Record<string, unknown> = {}): Promise<JsServer> {
  const srv = await startNatter({ jetstream: { store_dir: storeDir, ...jsBlock }, ...opts });
  return {
    srv,
    storeDir,
    stop: async (keepDir = false) => {
      await srv.close();
      if (!keepDir) rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Sends one `$JS.API…` request and parses the JSON answer. */
export async function api(nc: NatsConnection, subject: string, body: unknown = ''): Promise<Record<string, unknown>> {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  const m = await nc.request(subject, enc.encode(payload), { timeout: 3000 });
  return JSON.parse(dec.decode(m.data)) as Record<string, unknown>;
}

/** The `error` of an API answer, or undefined. */
export function apiError(r: Record<string, unknown>): { code: number; err_code: number; description: string } | undefined {
  return r.error as { code: number; err_code: number; description: string } | undefined;
}

export async function connectTo(url: string, o: Record<string, unknown> = {}): Promise<NatsConnection> {
  return connect({ servers: url, ...o });
}

export function text(d: Uint8Array): string {
  return dec.decode(d);
}
