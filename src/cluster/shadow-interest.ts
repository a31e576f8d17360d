/**
 * Shadow interest: a subscription in an account that imports a stream is
 * also interest in the exporting account, on the exporter's side of the
 * import, because the messages are published there. nats-server keeps a
 * "shadow" subscription in the exporter's sublist for each such pair and
 * announces it over routes like any other (RS+ <exporter> <subject>
 * [queue]); this module works out the same subjects so both kinds of
 * server see the same interest.
 *
 * Local delivery needs no shadow here: the exporter's publish already
 * reaches the importers' subscribers through the account's stream routes.
 */
import { accountRoutesVersion, type Account } from '../accounts/account.js';
import type { StreamImportRoute } from '../accounts/import-routes.js';
import { isSubsetMatch, subjectsCollide } from '../accounts/subject-sets.js';

/** One piece of interest a subscription stands for in an exporting account. */
export interface Shadow {
  readonly account: string;
  readonly subject: string;
}

/**
 * The exporter-side subject a subscription on `subject` in the importer
 * needs, or null when the import cannot deliver to it:
 * - the subscription covers the whole import (equal or broader): the
 *   import's own source pattern;
 * - narrower: the same narrowing on the exporter's side, through the
 *   import's mapping backwards;
 * - overlapping only: the import's source pattern, which is more than
 *   needed but loses nothing (the importer's sublist filters on delivery).
 */
export function shadowSubject(route: StreamImportRoute, subject: string): string | null {
  const target = targetPattern(route);
  if (subject === target || isSubsetMatch(target, subject)) return route.from;
  if (isSubsetMatch(subject, target)) return narrowed(route, target, subject);
  return subjectsCollide(subject, target) ? route.from : null;
}

/** The import's target as a pattern: a `{{wildcard(n)}}` token stands for any token, like `*`. */
function targetPattern(route: StreamImportRoute): string {
  if (!route.to.includes('{{')) return route.to;
  return route.to.split('.').map((t) => (t.startsWith('{{') && t.endsWith('}}') ? '*' : t)).join('.');
}

/**
 * Maps a subject inside the import's target pattern back to the source:
 * the i-th `*` of the target takes the i-th `*` of the source, a trailing
 * `>` the rest. A mapping that reorders wildcards (`$2.$1`) does not
 * survive the check against the forward mapping and gets the whole source.
 */
function narrowed(route: StreamImportRoute, pattern: string, subject: string): string {
  if (route.from === route.to) return subject;
  const target = pattern.split('.');
  const tokens = subject.split('.');
  const stars: string[] = [];
  let rest: string[] = [];
  for (let i = 0; i < target.length; i++) {
    if (target[i] === '*') stars.push(tokens[i]);
    else if (target[i] === '>') rest = tokens.slice(i);
  }
  const out: string[] = [];
  let k = 0;
  for (const t of route.from.split('.')) {
    if (t === '*') out.push(stars[k++] ?? '*');
    else if (t === '>') out.push(...(rest.length > 0 ? rest : ['>']));
    else out.push(t);
  }
  const candidate = out.join('.');
  return route.map(standIn(candidate)) === standIn(subject) ? candidate : route.from;
}

/** Wildcard tokens replaced by one literal token, so a pattern can go through a literal-only mapping. */
function standIn(pattern: string): string {
  return pattern.split('.').map((t) => (t === '*' || t === '>' ? '\u0001' : t)).join('.');
}

/**
 * Stream imports by importing account, rebuilt whenever account routes
 * change (configuration load, reload, JWT claim updates).
 */
export class StreamImportIndex {
  private version = -1;
  private readonly byImporter = new Map<string, StreamImportRoute[]>();
  private readonly accounts: ReadonlyMap<string, Account>;

  constructor(accounts: ReadonlyMap<string, Account>) {
    this.accounts = accounts;
  }

  /** The shadows of a subscription on `subject` in account `importer`; empty for most. */
  shadowsOf(importer: string, subject: string): readonly Shadow[] {
    this.refresh();
    const routes = this.byImporter.get(importer);
    if (routes === undefined) return NONE;
    const out: Shadow[] = [];
    for (const r of routes) {
      const s = shadowSubject(r, subject);
      if (s !== null && !out.some((o) => o.account === r.exporter && o.subject === s)) out.push({ account: r.exporter, subject: s });
    }
    return out;
  }

  private refresh(): void {
    const v = accountRoutesVersion();
    if (v === this.version) return;
    this.version = v;
    this.byImporter.clear();
    for (const acc of this.accounts.values()) {
      for (const r of acc.streamExports) {
        const list = this.byImporter.get(r.importer);
        if (list === undefined) this.byImporter.set(r.importer, [r]);
        else list.push(r);
      }
    }
  }
}

const NONE: readonly Shadow[] = Object.freeze([]);
