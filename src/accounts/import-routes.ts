/**
 * Imports at run time: the routes an Account holds and the message path
 * follows. A stream import carries what an exporter publishes into an
 * importer, a service import carries an importer's requests to an exporter;
 * AccountRoutes indexes every import of one configuration (the
 * `accounts {}` block, or the account JWTs in operator mode) for the
 * router. The routes are built, once validated, by import-validation.ts.
 */
import { subjectHasWildcard } from '../subjects/validate.js';
import { isSubsetMatch } from './subject-sets.js';
import type { SubjectTransform } from './subject-transform.js';

/** How a service's responses are routed back: one, a stream of them, or chunks of one. */
export type ResponseType = 'singleton' | 'stream' | 'chunked';

/**
 * A stream import, ready for routing: messages the exporter publishes on
 * subjects under `from` reach the importer's subscribers on the mapped
 * subject. Subjects are in wire form.
 */
export class StreamImportRoute {
  readonly importer: string;
  readonly exporter: string;
  /** The pattern in the exporting account. */
  readonly from: string;
  /** The pattern in the importing account. */
  readonly to: string;
  /** The import's allow_trace: message traces follow messages into the importer (ADR-41). */
  readonly allowTrace: boolean;
  private readonly transform: SubjectTransform | null;

  constructor(importer: string, exporter: string, from: string, to: string, transform: SubjectTransform | null, allowTrace = false) {
    this.importer = importer;
    this.exporter = exporter;
    this.from = from;
    this.to = to;
    this.transform = transform;
    this.allowTrace = allowTrace;
  }

  /** The importer's subject for a literal subject published in the exporter; null when not imported. */
  map(subject: string): string | null {
    if (this.transform !== null) return this.transform.apply(subject);
    if (!matchesLiteral(this.from, subject)) return null;
    // Same pattern on both sides (or a literal import): the subject as published, or the literal `to`.
    return subjectHasWildcard(this.from) ? subject : this.to;
  }
}

/**
 * A service import, ready for routing: requests published in the importer
 * on subjects under `local` go to the exporter on the mapped subject, and
 * responses come back according to `responseType`. Subjects in wire form.
 */
export class ServiceImportRoute {
  readonly importer: string;
  readonly exporter: string;
  /** The pattern requests are published to in the importing account. */
  readonly local: string;
  /** The pattern in the exporting account. */
  readonly remote: string;
  readonly responseType: ResponseType;
  readonly responseThresholdMs: number;
  readonly share: boolean;
  /** The export's allow_trace: message traces follow requests into the exporter (ADR-41). */
  readonly allowTrace: boolean;
  private readonly transform: SubjectTransform | null;

  constructor(
    importer: string,
    exporter: string,
    local: string,
    remote: string,
    responseType: ResponseType,
    responseThresholdMs: number,
    share: boolean,
    transform: SubjectTransform | null,
    allowTrace = false,
  ) {
    this.importer = importer;
    this.exporter = exporter;
    this.local = local;
    this.remote = remote;
    this.responseType = responseType;
    this.responseThresholdMs = responseThresholdMs;
    this.share = share;
    this.transform = transform;
    this.allowTrace = allowTrace;
  }

  /** Does a literal subject published in the importer go through this import? */
  covers(subject: string): boolean {
    return matchesLiteral(this.local, subject);
  }

  /** The exporter's subject for a literal subject published in the importer; null when not covered. */
  toExporter(subject: string): string | null {
    if (!matchesLiteral(this.local, subject)) return null;
    if (this.transform !== null) return this.transform.apply(subject);
    return subjectHasWildcard(this.remote) ? subject : this.remote;
  }
}

function matchesLiteral(pattern: string, subject: string): boolean {
  return pattern === subject || isSubsetMatch(subject, pattern);
}

/** Every import of a configuration, indexed for the router. */
export class AccountRoutes {
  readonly streams: readonly StreamImportRoute[];
  readonly services: readonly ServiceImportRoute[];
  private readonly streamsByExporter = new Map<string, StreamImportRoute[]>();
  private readonly servicesByImporter = new Map<string, ServiceImportRoute[]>();

  constructor(streams: readonly StreamImportRoute[], services: readonly ServiceImportRoute[]) {
    this.streams = streams;
    this.services = services;
    for (const s of streams) push(this.streamsByExporter, s.exporter, s);
    for (const s of services) push(this.servicesByImporter, s.importer, s);
  }

  /** Stream imports fed by this account's publishes. */
  streamImportsFrom(exporter: string): readonly StreamImportRoute[] {
    return this.streamsByExporter.get(exporter) ?? NONE_STREAMS;
  }

  /** Service imports of this account. */
  serviceImportsOf(importer: string): readonly ServiceImportRoute[] {
    return this.servicesByImporter.get(importer) ?? NONE_SERVICES;
  }

  /**
   * Where a message published in `exporter` on the literal `subject` must
   * also be delivered: each importing account with its subject there.
   */
  streamDeliveries(exporter: string, subject: string): { route: StreamImportRoute; subject: string }[] {
    const out: { route: StreamImportRoute; subject: string }[] = [];
    for (const route of this.streamImportsFrom(exporter)) {
      const mapped = route.map(subject);
      if (mapped !== null) out.push({ route, subject: mapped });
    }
    return out;
  }

  /**
   * The service imports a literal subject published in `importer` goes
   * through. Overlapping imports all apply, as each is a subscription in
   * nats-server.
   */
  serviceImportsFor(importer: string, subject: string): ServiceImportRoute[] {
    return this.serviceImportsOf(importer).filter((r) => r.covers(subject));
  }
}

const NONE_STREAMS: readonly StreamImportRoute[] = Object.freeze([]);
const NONE_SERVICES: readonly ServiceImportRoute[] = Object.freeze([]);

function push<V>(map: Map<string, V[]>, key: string, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}
