/**
 * Per-message TTLs and subject delete markers at the stream (ADR-43): the
 * publish check of a `Nats-TTL` header, and the markers a stream with
 * `subject_delete_marker_ttl` writes when the last message of a subject
 * ages out (by max_age or its own TTL), so that watchers (the KV client)
 * see the key go. The store does the expiring (store/msg-ttl.ts).
 */
import { type JsApiError, messageTtlDisabled, messageTtlInvalid } from './api/errors.js';
import { HDR_MARKER_REASON, HDR_TTL, parseTtl } from './store/msg-ttl.js';
import { HDR_ROLLUP } from './headers.js';

const NS_PER_S = 1_000_000_000;

/** Why a publish carrying `Nats-TTL: value` is refused, or null when it may be stored. */
export function ttlRefusal(value: string, allowed: boolean): JsApiError | null {
  if (!allowed) return messageTtlDisabled();
  return parseTtl(value) === null ? messageTtlInvalid() : null;
}

/** The header block of a marker: why it is there, how long it lives, and that it replaces its subject's history. */
export function markerHeader(markerTtlNs: number): Buffer {
  const seconds = Math.max(1, Math.floor(markerTtlNs / NS_PER_S));
  return Buffer.from(`NATS/1.0\r\n${HDR_MARKER_REASON}: MaxAge\r\n${HDR_TTL}: ${seconds}s\r\n${HDR_ROLLUP}: sub\r\n\r\n`, 'latin1');
}

/** Writes one marker message on `subject` through the stream's publish path. */
export type MarkerWriter = (subject: string) => void;

/**
 * Subjects that lost a message to age this turn. They are looked at once
 * the store is done removing (a marker is a new message: it must not be
 * stored from inside the store's expiry loop), and a marker goes to each
 * that has no message left.
 */
export class SubjectDeleteMarkers {
  private pending = new Set<string>();
  private queued = false;

  constructor(
    private readonly hasMessages: (subject: string) => boolean,
    private readonly write: MarkerWriter,
  ) {}

  /** `subject` lost a message to age. */
  noteExpired(subject: string): void {
    this.pending.add(subject);
    if (this.queued) return;
    this.queued = true;
    setImmediate(this.flush);
  }

  /** Drops what is pending (stream stopped or markers turned off). */
  clear(): void {
    this.pending.clear();
  }

  private readonly flush = (): void => {
    this.queued = false;
    const subjects = this.pending;
    this.pending = new Set();
    for (const subject of subjects) if (!this.hasMessages(subject)) this.write(subject);
  };
}
