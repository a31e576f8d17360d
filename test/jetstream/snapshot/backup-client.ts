/**
 * The client side of `$JS.API.STREAM.SNAPSHOT` / `RESTORE` as natscli
 * (jsm.go's snapshots.go) drives it: the backup acks every chunk that has a
 * reply and stops at the empty message, failing on a status other than 204;
 * the restore sends 64 KiB chunks as requests, each answered empty, then an
 * empty request answered with the stream create response. The official
 * JavaScript clients have no snapshot API, so the tests speak it here.
 */
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { createInbox } from '@nats-io/transport-node';

const enc = new TextEncoder();
const dec = new TextDecoder();

export interface Backup {
  /** The SNAPSHOT answer: what natscli keeps as backup.json ({config, state}). */
  readonly meta: Record<string, unknown>;
  /** stream.tar.s2 */
  readonly data: Buffer;
  /** Chunks received and the status of the last, empty message ('' without headers). */
  readonly chunks: number;
  readonly status: string;
}

export interface BackupOptions {
  chunk_size?: number;
  window_size?: number;
  no_consumers?: boolean;
  jsck?: boolean;
  /** Leaves chunks unacknowledged (for flow control tests). */
  noAck?: boolean;
}

export async function backup(nc: NatsConnection, stream: string, o: BackupOptions = {}, timeoutMs = 15_000): Promise<Backup> {
  const inbox = createInbox();
  const parts: Buffer[] = [];
  let chunks = 0;
  let sub: ReturnType<NatsConnection['subscribe']> | null = null;
  const done = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('backup timed out')), timeoutMs);
    sub = nc.subscribe(inbox, {
      callback: (_err, m: Msg) => {
        if (m.data.length === 0) {
          clearTimeout(timer);
          sub?.unsubscribe();
          resolve(m.headers === undefined ? '' : `${m.headers.code} ${m.headers.description}`.trim());
          return;
        }
        chunks++;
        parts.push(Buffer.from(m.data));
        if (m.reply !== undefined && m.reply !== '' && o.noAck !== true) m.respond();
      },
    });
  });
  const { noAck: _noAck, ...req } = o;
  const r = await nc.request(`$JS.API.STREAM.SNAPSHOT.${stream}`, enc.encode(JSON.stringify({ deliver_subject: inbox, ...req })), { timeout: 5000 });
  const meta = JSON.parse(dec.decode(r.data)) as Record<string, unknown>;
  if (meta.error !== undefined) throw Object.assign(new Error('snapshot refused'), { response: meta });
  const status = await done;
  return { meta, data: Buffer.concat(parts), chunks, status };
}

/** Uploads a backup; resolves with the final stream create response. */
export async function restore(nc: NatsConnection, stream: string, meta: Record<string, unknown>, data: Buffer, chunkSize = 64 * 1024): Promise<Record<string, unknown>> {
  const req = { config: meta.config, state: meta.state };
  const r = await nc.request(`$JS.API.STREAM.RESTORE.${stream}`, enc.encode(JSON.stringify(req)), { timeout: 5000 });
  const answer = JSON.parse(dec.decode(r.data)) as Record<string, unknown>;
  if (answer.error !== undefined) return answer;
  const subject = answer.deliver_subject as string;
  for (let off = 0; off < data.length; off += chunkSize) {
    const ack = await nc.request(subject, data.subarray(off, off + chunkSize), { timeout: 5000 });
    if (ack.data.length > 0) return JSON.parse(dec.decode(ack.data)) as Record<string, unknown>;
  }
  const fin = await nc.request(subject, new Uint8Array(0), { timeout: 10_000 });
  return JSON.parse(dec.decode(fin.data)) as Record<string, unknown>;
}
