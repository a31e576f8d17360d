/**
 * Raw JetStream API requests for the JetStream engine tests; the server
 * itself comes from test/helpers/jetstream.ts.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';

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
