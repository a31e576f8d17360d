/**
 * Exports and imports checked across accounts, as nats-server checks them
 * at load: every account named exists, each import is authorized by an
 * export, prefixes and mappings are valid, nothing is imported twice, and
 * no import forms a cycle. What passes becomes the routes of
 * import-routes.ts; every problem is recorded with nats-server's wording.
 * Configured accounts (account-config.ts) and account JWTs (jwt-routes.ts)
 * both go through here.
 *
 * Deliberate differences from nats-server 2.9, each where it accepts
 * something meaningless or decides by chance:
 * - an export whose subject is not a valid subject, and a stream import `to`
 *   that is not a valid subject, are errors (nats-server ignores or accepts them);
 * - an import is authorized when any export covering it authorizes the
 *   importer (nats-server picks one covering export in random order);
 * - cycles are found by following where messages really go, independently of
 *   the order imports are listed (nats-server checks each import against
 *   those added before it, in random order, and compares some subjects on
 *   the wrong side of a mapping, so it can miss or invent a cycle in
 *   configurations that map subjects).
 */
import { isValidSubject, subjectHasWildcard } from '../subjects/validate.js';
import type { Problems } from '../auth/conf-input.js';
import { fromWire, toWire } from '../auth/wire-text.js';
import { goQuoteWire } from '../text/go-format.js';
import {
  DEFAULT_RESPONSE_THRESHOLD_MS,
  type AccountConfig,
  type ServiceExportConfig,
  type ServiceImportConfig,
  type StreamExportConfig,
  type StreamImportConfig,
} from './account-config.js';
import { AccountRoutes, ServiceImportRoute, StreamImportRoute } from './import-routes.js';
import { isSubsetMatch, subjectsCollide } from './subject-sets.js';
import { SubjectTransform, tokenizeWildcards, untokenizeWildcards } from './subject-transform.js';

interface ExportAuth {
  readonly subject: string;
  /** null: public. */
  readonly approved: Set<string> | null;
  readonly tokenPosition: number;
  readonly tokenRequired: boolean;
  readonly revocations: ReadonlyMap<string, number>;
}

/**
 * Decides whether an activation token lets `importer` import from
 * `exporter` under an export with these revocations (operator mode supplies it).
 */
export type ActivationCheck = (exporter: string, importer: string, token: string, revocations: ReadonlyMap<string, number>) => boolean;

const NO_REVOCATIONS: ReadonlyMap<string, number> = new Map();

/**
 * Checks exports and imports across accounts (existence, authorization,
 * prefixes and mappings, duplicates, cycles) and builds the routes. Every
 * problem is recorded with nats-server's wording.
 */
export function buildAccountRoutes(accounts: readonly AccountConfig[], problems: Problems, activation: ActivationCheck | null = null): AccountRoutes {
  const names = new Set(accounts.map((a) => a.name));
  const streamExports = new Map<string, ExportAuth[]>();
  const serviceExports = new Map<string, { auth: ExportAuth; config: ServiceExportConfig }[]>();

  for (const acc of accounts) {
    for (const ex of acc.streamExports) {
      const auth = exportAuth(ex, 'stream', names, problems);
      if (auth !== null) push(streamExports, acc.name, auth);
    }
    for (const ex of acc.serviceExports) {
      const auth = exportAuth(ex, 'service', names, problems);
      if (auth !== null) push(serviceExports, acc.name, { auth, config: ex });
    }
  }

  const streams: StreamImportRoute[] = [];
  for (const acc of accounts) {
    for (const im of acc.streamImports) {
      const route = streamRoute(acc.name, im, names, streamExports, streams, problems, activation);
      if (route !== null) streams.push(route);
    }
  }
  const services: ServiceImportRoute[] = [];
  for (const acc of accounts) {
    for (const im of acc.serviceImports) {
      const route = serviceRoute(acc.name, im, names, serviceExports, services, problems, activation);
      if (route !== null) services.push(route);
    }
  }
  return new AccountRoutes(streams, services);
}

function exportAuth(
  ex: StreamExportConfig,
  kind: 'stream' | 'service',
  names: ReadonlySet<string>,
  problems: Problems,
): ExportAuth | null {
  let ok = true;
  for (const name of ex.accounts ?? []) {
    if (!names.has(name)) {
      problems.add(ex.at, `${quote(name)} account not defined for ${kind} export`);
      ok = false;
    }
  }
  const tokens = ex.subject.split('.');
  const badPosition = ex.tokenPosition > 0 && (tokens.length < ex.tokenPosition || tokens[ex.tokenPosition - 1] !== '*');
  if (!isValidSubject(ex.subject) || badPosition) {
    problems.add(ex.at, `Error adding ${kind} export ${quote(ex.subject)}: sublist: invalid subject`);
    ok = false;
  }
  if (!ok) return null;
  return {
    subject: toWire(ex.subject),
    approved: ex.accounts === null ? null : new Set(ex.accounts),
    tokenPosition: ex.tokenPosition,
    tokenRequired: ex.tokenRequired ?? false,
    revocations: ex.revocations ?? NO_REVOCATIONS,
  };
}

/** What an import presents to be authorized: the importer, and its activation token if any. */
interface ImportGrant {
  readonly importer: string;
  readonly exporter: string;
  readonly token: string | undefined;
  readonly activation: ActivationCheck | null;
}

/** May the importer import `subject` (wire form) under one of these exports? */
function authorized(exports: readonly ExportAuth[], grant: ImportGrant, subject: string): ExportAuth | null {
  const importer = grant.importer;
  if (!isValidSubject(subject)) return null;
  // An export of exactly this subject decides alone, as in nats-server.
  const exact = exports.filter((e) => e.subject === subject);
  const candidates = exact.length > 0 ? exact : exports.filter((e) => isSubsetMatch(subject, e.subject));
  const wire = toWire(importer);
  for (const e of candidates) {
    if (e.tokenPosition > 0) {
      const tokens = subject.split('.');
      if (e.tokenPosition <= tokens.length && tokens[e.tokenPosition - 1] === wire) return e;
      continue;
    }
    if (e.tokenRequired) {
      const { token, activation } = grant;
      if (token !== undefined && token !== '' && activation !== null && activation(grant.exporter, importer, token, e.revocations)) return e;
      continue;
    }
    if (e.approved === null || e.approved.has(importer)) return e;
  }
  return null;
}

function streamRoute(
  importer: string,
  im: StreamImportConfig,
  names: ReadonlySet<string>,
  exportsByAccount: ReadonlyMap<string, ExportAuth[]>,
  existing: readonly StreamImportRoute[],
  problems: Problems,
  activation: ActivationCheck | null,
): StreamImportRoute | null {
  const fail = (why: string): null => {
    problems.add(im.at, `Error adding stream import ${quote(im.subject)}: ${why}`);
    return null;
  };
  if (!names.has(im.account)) {
    problems.add(im.at, `${quote(im.account)} account not defined for stream import`);
    return null;
  }
  const from = toWire(im.subject);
  const grant = { importer, exporter: im.account, token: im.token, activation };
  if (authorized(exportsByAccount.get(im.account) ?? [], grant, from) === null) {
    return fail('stream import not authorized');
  }
  let to: string;
  if (im.prefix !== null) {
    const prefix = toWire(im.prefix);
    if (subjectHasWildcard(prefix)) return fail('stream import prefix can not contain wildcard tokens');
    to = prefix.endsWith('.') ? prefix + from : `${prefix}.${from}`;
    if (!isValidSubject(to)) return fail('invalid subject');
  } else {
    to = im.to === null ? from : toWire(im.to);
  }
  let transform: SubjectTransform | null = null;
  let target = to;
  if (subjectHasWildcard(from) && to !== from) {
    const t = SubjectTransform.create(from, tokenizeWildcards(to));
    if (typeof t === 'string') {
      return fail(`failed to create mapping transform for stream import subject ${quote(im.subject)} to ${quote(fromWire(to))}: ${t}`);
    }
    transform = t;
    target = untokenizeWildcards(to).subject;
  } else if (!isValidSubject(to)) {
    return fail('invalid subject');
  }
  if (existing.some((r) => r.importer === importer && r.exporter === im.account && r.from === from)) {
    return fail('stream import already exists');
  }
  if (streamCycle(importer, im.account, from, target, existing)) return fail('import forms a cycle');
  return new StreamImportRoute(importer, im.account, from, target, transform, im.allowTrace === true);
}

/**
 * Would messages flowing exporter -> importer on `to` come back to the
 * exporter on a subject under `from`? Follows existing stream imports
 * downstream from the importer.
 */
function streamCycle(
  importer: string,
  exporter: string,
  from: string,
  to: string,
  existing: readonly StreamImportRoute[],
): boolean {
  const seen = new Set<string>();
  const walk = (account: string, subject: string): boolean => {
    const key = `${account} ${subject}`;
    if (seen.has(key)) return false;
    seen.add(key);
    for (const r of existing) {
      if (r.exporter !== account || !subjectsCollide(r.from, subject)) continue;
      if (r.importer === exporter && subjectsCollide(r.to, from)) return true;
      if (walk(r.importer, r.to)) return true;
    }
    return false;
  };
  return walk(importer, to);
}

function serviceRoute(
  importer: string,
  im: ServiceImportConfig,
  names: ReadonlySet<string>,
  exportsByAccount: ReadonlyMap<string, { auth: ExportAuth; config: ServiceExportConfig }[]>,
  existing: readonly ServiceImportRoute[],
  problems: Problems,
  activation: ActivationCheck | null,
): ServiceImportRoute | null {
  const fail = (why: string): null => {
    problems.add(im.at, `Error adding service import ${quote(im.subject)}: ${why}`);
    return null;
  };
  if (!names.has(im.account)) {
    problems.add(im.at, `${quote(im.account)} account not defined for service import`);
    return null;
  }
  const remote = toWire(im.subject);
  const local = toWire(im.to);
  if (!isValidSubject(remote) || !isValidSubject(local)) return fail('sublist: invalid subject');
  const candidates = exportsByAccount.get(im.account) ?? [];
  const auth = authorized(candidates.map((c) => c.auth), { importer, exporter: im.account, token: im.token, activation }, remote);
  if (auth === null) return fail('service import not authorized');
  if (serviceCycle(importer, im.account, remote, existing)) return fail('import forms a cycle');
  let transform: SubjectTransform | null = null;
  if (subjectHasWildcard(remote) && remote !== local) {
    // Validated in nats-server's direction (exporter to importer), used in reverse.
    const untokenizedRemote = untokenizeWildcards(remote).subject;
    const forward = SubjectTransform.create(untokenizedRemote, tokenizeWildcards(local));
    if (typeof forward === 'string') {
      return fail(`failed to create mapping transform for service import subject ${quote(im.to)} to ${quote(fromWire(untokenizedRemote))}: ${forward}`);
    }
    const { subject: localPattern, placeholders } = untokenizeWildcards(tokenizeWildcards(local));
    let next = 0;
    const reverseDest = untokenizedRemote.split('.').map((t) => (t === '*' ? placeholders[next++] : t)).join('.');
    const reverse = SubjectTransform.create(localPattern, reverseDest);
    if (typeof reverse === 'string') {
      return fail(`failed to create mapping transform for service import subject ${quote(im.to)} to ${quote(fromWire(untokenizedRemote))}: ${reverse}`);
    }
    transform = reverse;
  }
  const exported = candidates.find((c) => c.auth === auth)?.config ?? null;
  const localTarget = transform === null ? local : untokenizeWildcards(tokenizeWildcards(local)).subject;
  const responseType = exported?.responseType ?? 'singleton';
  const responseThresholdMs = exported?.responseThresholdMs ?? DEFAULT_RESPONSE_THRESHOLD_MS;
  return new ServiceImportRoute(importer, im.account, localTarget, remote, responseType, responseThresholdMs, im.share, transform, exported?.allowTrace === true);
}

/**
 * Would a request sent from `importer` to `exporter` on `subject` find its
 * way back to `importer` through existing service imports?
 */
function serviceCycle(
  importer: string,
  exporter: string,
  subject: string,
  existing: readonly ServiceImportRoute[],
): boolean {
  const seen = new Set<string>();
  const walk = (account: string, subj: string): boolean => {
    const key = `${account} ${subj}`;
    if (seen.has(key)) return false;
    seen.add(key);
    for (const r of existing) {
      if (r.importer !== account || !subjectsCollide(r.local, subj)) continue;
      if (r.exporter === importer) return true;
      if (walk(r.exporter, r.remote)) return true;
    }
    return false;
  };
  return walk(exporter, subject);
}

/** Go's %q of a configured (not wire) string. */
function quote(s: string): string {
  return goQuoteWire(toWire(s));
}

function push<V>(map: Map<string, V[]>, key: string, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}
