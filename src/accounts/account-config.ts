/**
 * The `accounts` block: isolated subject spaces, their users, and what they
 * share through exports and imports, validated at load as nats-server does.
 *
 *   accounts {
 *     ADMIN: {
 *       users: [ { user: admin, password: pw } ]
 *       exports: [
 *         { service: "chat.req.access", response_type: singleton }   # public
 *         { stream: "audit.>", accounts: [OPS] }                    # private
 *       ]
 *       imports: [
 *         { stream: { account: CHAT, subject: "chat.*.online" }, prefix: "from_chat" }
 *       ]
 *     }
 *     CHAT: {
 *       imports: [ { service: { account: ADMIN, subject: "chat.req.access" }, to: "access" } ]
 *       exports: [ { stream: "chat.*.online" } ]
 *     }
 *     OPS: { jetstream: enabled }
 *   }
 *
 * The old list form (`accounts: [A, B]`) names accounts without settings.
 * `$G`, the account of users outside `accounts`, cannot be configured here.
 *
 * Deliberate differences from nats-server 2.9, each where it accepts
 * something meaningless or decides by chance:
 * - an export whose subject is not a valid subject, an export or import with
 *   neither `stream` nor `service`, and a stream import `to` that is not a
 *   valid subject are errors (nats-server ignores or accepts them);
 * - `latency`, `mappings` and `limits` are refused: this version does not
 *   enforce them;
 * - an import is authorized when any export covering it authorizes the
 *   importer (nats-server picks one covering export in random order);
 * - cycles are found by following where messages really go, independently of
 *   the order imports are listed (nats-server checks each import against
 *   those added before it, in random order, and compares some subjects on
 *   the wrong side of a mapping, so it can miss or invent a cycle in
 *   configurations that map subjects).
 */
import { accountLimitProblem } from '../jetstream/account-limits.js';
import { isValidSubject, subjectHasWildcard } from '../subjects/validate.js';
import { DurationError, parseGoDuration } from '../config/durations.js';
import { describe, Problems, type InEntry, type InMap, type InNode } from '../auth/conf-input.js';
import { isValidPublicAccountKey } from '../auth/nkey.js';
import { parsePermissions, type PermissionsConfig } from '../auth/permissions.js';
import { parseUsers, type UserConfig } from '../auth/users.js';
import { fromWire, goQuote, toWire } from '../auth/wire-text.js';
import { GLOBAL_ACCOUNT } from './names.js';
import { isSubsetMatch, subjectsCollide } from './subject-sets.js';
import { SubjectTransform, tokenizeWildcards, untokenizeWildcards } from './subject-transform.js';

export type ResponseType = 'singleton' | 'stream' | 'chunked';

/** nats-server's DEFAULT_SERVICE_EXPORT_RESPONSE_THRESHOLD. */
export const DEFAULT_RESPONSE_THRESHOLD_MS = 2 * 60 * 1000;

export interface StreamExportConfig {
  /** As configured (not wire form). */
  readonly subject: string;
  /** Accounts allowed to import; null for a public export. */
  readonly accounts: readonly string[] | null;
  /**
   * 1-based token of the subject that must equal the importing account's
   * name (account_token_position); 0 when unused.
   */
  readonly tokenPosition: number;
  /**
   * Importers need an activation token from the exporter (JWT exports with
   * `token_req`); `revocations` maps importing accounts (or `*`) to the Unix
   * time up to which their tokens are revoked.
   */
  readonly tokenRequired?: boolean;
  readonly revocations?: ReadonlyMap<string, number>;
  readonly at: InNode;
}

export interface ServiceExportConfig extends StreamExportConfig {
  readonly responseType: ResponseType;
  /** How long a responder has to answer before the response route is dropped. */
  readonly responseThresholdMs: number;
}

export interface StreamImportConfig {
  /** The exporting account. */
  readonly account: string;
  /** The subject in the exporting account. */
  readonly subject: string;
  readonly prefix: string | null;
  readonly to: string | null;
  /** The activation token presented for an export that requires one (JWT imports). */
  readonly token?: string;
  readonly at: InNode;
}

export interface ServiceImportConfig {
  /** The exporting account. */
  readonly account: string;
  /** The subject in the exporting account. */
  readonly subject: string;
  /** The subject requests are published to in the importing account. */
  readonly to: string;
  readonly share: boolean;
  /** The activation token presented for an export that requires one (JWT imports). */
  readonly token?: string;
  readonly at: InNode;
}

export interface AccountJetStream {
  readonly enabled: boolean;
  /** The limits map as written, for the JetStream subsystem to validate. */
  readonly limits: Readonly<Record<string, unknown>> | null;
}

export interface AccountConfig {
  readonly name: string;
  readonly nkey: string | null;
  readonly users: readonly UserConfig[];
  /** Where the users list stands, for problems found across accounts. */
  readonly usersAt: InNode | null;
  readonly defaultPermissions: PermissionsConfig | null;
  readonly streamExports: readonly StreamExportConfig[];
  readonly serviceExports: readonly ServiceExportConfig[];
  readonly streamImports: readonly StreamImportConfig[];
  readonly serviceImports: readonly ServiceImportConfig[];
  readonly jetstream: AccountJetStream | null;
  readonly at: InNode;
}

// ---- parsing ----------------------------------------------------------------

/** Parses the `accounts` value (map or list form); problems are recorded. */
export function parseAccounts(node: InNode, problems: Problems): AccountConfig[] {
  if (node.kind === 'array') return parseAccountList(node.items, problems);
  if (node.kind !== 'map') {
    problems.add(node, `accounts must be a map of accounts, got ${describe(node)}`);
    return [];
  }
  const out: AccountConfig[] = [];
  for (const e of node.entries) {
    if (e.usedAsVariable) continue;
    if (e.value.kind !== 'map') {
      problems.add(e.value, 'Expected map entries for accounts');
      continue;
    }
    if (e.key === GLOBAL_ACCOUNT) {
      problems.add(e, `"${GLOBAL_ACCOUNT}" is a Reserved Account`);
      continue;
    }
    out.push(parseAccount(e.key, e.value, problems));
  }
  return out;
}

function parseAccountList(items: readonly InNode[], problems: Problems): AccountConfig[] {
  const out: AccountConfig[] = [];
  const seen = new Set<string>();
  for (const item of items) {
    if (item.kind !== 'string') {
      problems.add(item, `accounts list entries must be account names, got ${describe(item)}`);
      continue;
    }
    const name = item.value;
    if (name === GLOBAL_ACCOUNT) {
      problems.add(item, `"${GLOBAL_ACCOUNT}" is a Reserved Account`);
      continue;
    }
    if (seen.has(name)) {
      problems.add(item, `Duplicate Account Entry: ${name}`);
      continue;
    }
    seen.add(name);
    out.push(emptyAccount(name, item));
  }
  return out;
}

function emptyAccount(name: string, at: InNode): AccountConfig {
  return {
    name, nkey: null, users: [], usersAt: null, defaultPermissions: null, streamExports: [], serviceExports: [],
    streamImports: [], serviceImports: [], jetstream: null, at,
  };
}

function parseAccount(name: string, node: InMap, problems: Problems): AccountConfig {
  let nkey: string | null = null;
  let usersNode: InNode | null = null;
  let defaultPermissions: PermissionsConfig | null = null;
  const streamExports: StreamExportConfig[] = [];
  const serviceExports: ServiceExportConfig[] = [];
  const streamImports: StreamImportConfig[] = [];
  const serviceImports: ServiceImportConfig[] = [];
  let jetstream: AccountJetStream | null = null;
  for (const e of node.entries) {
    switch (e.key.toLowerCase()) {
      case 'nkey': {
        const v = e.value;
        if (v.kind !== 'string' || !isValidPublicAccountKey(v.value)) {
          problems.add(v, `Not a valid public nkey for an account: ${v.kind === 'string' ? JSON.stringify(v.value) : describe(v)}`);
        } else {
          nkey = v.value;
        }
        break;
      }
      case 'users':
        usersNode = e.value;
        break;
      case 'default_permissions':
        defaultPermissions = parsePermissions(e.value, problems);
        break;
      case 'exports':
        parseExports(e.value, problems, streamExports, serviceExports);
        break;
      case 'imports':
        parseImports(e.value, problems, streamImports, serviceImports);
        break;
      case 'jetstream':
        jetstream = parseJetStream(e.value, problems);
        break;
      case 'mappings':
      case 'maps':
      case 'limits':
        problems.add(e, `account ${e.key} are not supported by this Natter version`);
        break;
      default:
        problems.unknownField(e);
    }
  }
  // After the loop, so default_permissions applies wherever it stands.
  const users = usersNode === null ? [] : parseUsers(usersNode, problems, name, defaultPermissions);
  return {
    name, nkey, users, usersAt: usersNode, defaultPermissions, streamExports, serviceExports, streamImports,
    serviceImports, jetstream, at: node,
  };
}

function parseJetStream(v: InNode, problems: Problems): AccountJetStream | null {
  if (v.kind === 'bool') return { enabled: v.value, limits: null };
  if (v.kind === 'string') {
    const word = v.value.toLowerCase();
    if (word === 'enabled' || word === 'enable') return { enabled: true, limits: null };
    if (word === 'disabled' || word === 'disable') return { enabled: false, limits: null };
    problems.add(v, `Expected 'enabled' or 'disabled' for string value, got '${v.value}'`);
    return null;
  }
  if (v.kind === 'map') {
    for (const e of v.entries) {
      const problem = accountLimitProblem(e.key, plainOf(e.value));
      if (problem !== null) problems.add(e.value, problem);
    }
    return { enabled: true, limits: plainOf(v) as Record<string, unknown> };
  }
  problems.add(v, `Expected map, bool or string to define JetStream, got ${describe(v)}`);
  return null;
}

function plainOf(n: InNode): unknown {
  switch (n.kind) {
    case 'array':
      return n.items.map(plainOf);
    case 'map':
      return Object.fromEntries(n.entries.map((e) => [e.key, plainOf(e.value)]));
    default:
      return n.value;
  }
}

function parseExports(
  node: InNode,
  problems: Problems,
  streams: StreamExportConfig[],
  services: ServiceExportConfig[],
): void {
  if (node.kind !== 'array') {
    problems.add(node, `Exports should be an array, got ${describe(node)}`);
    return;
  }
  for (const item of node.items) {
    if (item.kind !== 'map') {
      problems.add(item, `Export Items should be a map with type entry, got ${describe(item)}`);
      continue;
    }
    parseExport(item, problems, streams, services);
  }
}

function parseExport(
  node: InMap,
  problems: Problems,
  streams: StreamExportConfig[],
  services: ServiceExportConfig[],
): void {
  let stream: string | undefined;
  let service: string | undefined;
  let accounts: string[] | null = null;
  let responseType: ResponseType | undefined;
  let responseEntry: InEntry | undefined;
  let threshold: number | undefined;
  let thresholdEntry: InEntry | undefined;
  let tokenPosition = 0;
  const before = problems.list.length;
  for (const e of node.entries) {
    const v = e.value;
    switch (e.key.toLowerCase()) {
      case 'stream':
        if (service !== undefined) {
          problems.add(v, `Detected stream ${v.kind === 'string' ? JSON.stringify(v.value) : describe(v)} but already saw a service`);
          break;
        }
        if (v.kind !== 'string') {
          problems.add(v, `Expected stream name to be string, got ${describe(v)}`);
          break;
        }
        stream = v.value;
        break;
      case 'service':
        if (stream !== undefined) {
          problems.add(v, `Detected service ${v.kind === 'string' ? JSON.stringify(v.value) : describe(v)} but already saw a stream`);
          break;
        }
        if (v.kind !== 'string') {
          problems.add(v, `Expected service name to be string, got ${describe(v)}`);
          break;
        }
        service = v.value;
        break;
      case 'response':
      case 'response_type':
        if (responseEntry !== undefined) {
          problems.add(v, 'Duplicate response type definition');
          break;
        }
        responseEntry = e;
        responseType = parseResponseType(v, problems);
        break;
      case 'threshold':
      case 'response_threshold':
      case 'response_max_time':
      case 'response_time':
        if (thresholdEntry !== undefined) {
          problems.add(v, 'Duplicate response threshold detected');
          break;
        }
        thresholdEntry = e;
        threshold = parseThreshold(v, problems);
        break;
      case 'accounts':
        accounts = parseAccountNames(v, problems);
        break;
      case 'account_token_position': {
        const n = problems.integer(e);
        if (n !== undefined && n < 0) problems.add(v, 'account_token_position can not be negative');
        else if (n !== undefined) tokenPosition = n;
        break;
      }
      case 'latency':
        problems.add(e, 'service latency tracking is not supported by this Natter version');
        break;
      default:
        problems.unknownField(e);
    }
  }
  if (stream !== undefined) {
    if (responseEntry !== undefined) problems.add(responseEntry.value, 'Detected response directive on non-service');
    if (thresholdEntry !== undefined) problems.add(thresholdEntry.value, 'Detected response directive on non-service');
  }
  if (problems.list.length !== before) return;
  // An empty list is a public export, as in nats-server.
  const allowed = accounts !== null && accounts.length > 0 ? accounts : null;
  if (stream !== undefined) {
    streams.push({ subject: stream, accounts: allowed, tokenPosition, at: node });
  } else if (service !== undefined) {
    services.push({
      subject: service,
      accounts: allowed,
      tokenPosition,
      responseType: responseType ?? 'singleton',
      responseThresholdMs: threshold ?? DEFAULT_RESPONSE_THRESHOLD_MS,
      at: node,
    });
  } else {
    problems.add(node, 'Export Items need a stream or a service subject');
  }
}

function parseResponseType(v: InNode, problems: Problems): ResponseType | undefined {
  if (v.kind !== 'string') {
    problems.add(v, `Expected response type to be string, got ${describe(v)}`);
    return undefined;
  }
  switch (v.value.toLowerCase()) {
    case 'single':
    case 'singleton':
      return 'singleton';
    case 'stream':
      return 'stream';
    case 'chunk':
    case 'chunked':
      return 'chunked';
  }
  problems.add(v, `Unknown response type: ${JSON.stringify(v.value)}`);
  return undefined;
}

function parseThreshold(v: InNode, problems: Problems): number | undefined {
  if (v.kind !== 'string') {
    problems.add(v, `Expected response threshold to be a parseable time duration, got ${describe(v)}`);
    return undefined;
  }
  try {
    const ms = parseGoDuration(v.value);
    // 0 keeps the default, as nats-server's SetServiceExportResponseThreshold is never called for it.
    return ms === 0 ? undefined : ms;
  } catch (err) {
    if (!(err instanceof DurationError)) throw err;
    problems.add(v, `Expected response threshold to be a parseable time duration, got ${JSON.stringify(v.value)}`);
    return undefined;
  }
}

function parseAccountNames(v: InNode, problems: Problems): string[] | null {
  if (v.kind !== 'array') {
    problems.add(v, `Expected accounts to be an array of account names, got ${describe(v)}`);
    return null;
  }
  const names: string[] = [];
  for (const item of v.items) {
    if (item.kind !== 'string') {
      problems.add(item, `Expected account name to be a string, got ${describe(item)}`);
      return null;
    }
    names.push(item.value);
  }
  return names;
}

function parseImports(
  node: InNode,
  problems: Problems,
  streams: StreamImportConfig[],
  services: ServiceImportConfig[],
): void {
  if (node.kind !== 'array') {
    problems.add(node, `Imports should be an array, got ${describe(node)}`);
    return;
  }
  for (const item of node.items) {
    if (item.kind !== 'map') {
      problems.add(item, `Import Items should be a map with type entry, got ${describe(item)}`);
      continue;
    }
    const parsed = parseImport(item, problems);
    if (parsed === null) continue;
    if (parsed.kind === 'stream') {
      streams.push(parsed.config);
      continue;
    }
    const dup = services.find((s) => s.to === parsed.config.to);
    if (dup !== undefined) {
      problems.add(item, `Duplicate service import subject ${JSON.stringify(parsed.config.to)}, previously used in import for account ${JSON.stringify(dup.account)}, subject ${JSON.stringify(dup.subject)}`);
      continue;
    }
    services.push(parsed.config);
  }
}

type ParsedImport =
  | { readonly kind: 'stream'; readonly config: StreamImportConfig }
  | { readonly kind: 'service'; readonly config: ServiceImportConfig };

function parseImport(node: InMap, problems: Problems): ParsedImport | null {
  let stream: { account: string; subject: string } | undefined;
  let service: { account: string; subject: string } | undefined;
  let prefix: string | null = null;
  let to: string | null = null;
  let share = false;
  let toEntry: InEntry | undefined;
  const before = problems.list.length;
  for (const e of node.entries) {
    const v = e.value;
    switch (e.key.toLowerCase()) {
      case 'stream':
        if (service !== undefined) {
          problems.add(v, 'Detected stream but already saw a service');
          break;
        }
        stream = parseImportSource(v, 'Stream', problems);
        break;
      case 'service':
        if (stream !== undefined) {
          problems.add(v, 'Detected service but already saw a stream');
          break;
        }
        service = parseImportSource(v, 'Service', problems);
        break;
      case 'prefix':
        prefix = problems.string(e) ?? null;
        break;
      case 'to':
        to = problems.string(e) ?? null;
        toEntry = e;
        break;
      case 'share':
        share = problems.bool(e) ?? false;
        break;
      default:
        problems.unknownField(e);
    }
  }
  if (stream !== undefined && prefix !== null && prefix !== '' && to !== null && to !== '') {
    problems.add(toEntry?.value ?? node, "Stream import can not have a 'prefix' and a 'to' property");
  }
  if (problems.list.length !== before) return null;
  if (stream !== undefined) {
    return {
      kind: 'stream',
      config: { ...stream, prefix: prefix === '' ? null : prefix, to: to === '' ? null : to, at: node },
    };
  }
  if (service !== undefined) {
    return { kind: 'service', config: { ...service, to: to === null || to === '' ? service.subject : to, share, at: node } };
  }
  problems.add(node, 'Import Items need a stream or a service');
  return null;
}

function parseImportSource(
  v: InNode,
  what: 'Stream' | 'Service',
  problems: Problems,
): { account: string; subject: string } | undefined {
  if (v.kind !== 'map') {
    problems.add(v, `${what} entry should be an account map, got ${describe(v)}`);
    return undefined;
  }
  let account = '';
  let subject = '';
  for (const e of v.entries) {
    switch (e.key.toLowerCase()) {
      case 'account':
        account = problems.string(e) ?? '';
        break;
      case 'subject':
        subject = problems.string(e) ?? '';
        break;
      default:
        problems.unknownField(e);
    }
  }
  if (account === '' || subject === '') {
    problems.add(v, 'Expect an account name and a subject');
    return undefined;
  }
  return { account, subject };
}

// ---- cross-account validation and routes -------------------------------------

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
  private readonly transform: SubjectTransform | null;

  constructor(importer: string, exporter: string, from: string, to: string, transform: SubjectTransform | null) {
    this.importer = importer;
    this.exporter = exporter;
    this.from = from;
    this.to = to;
    this.transform = transform;
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
  private readonly transform: SubjectTransform | null;

  constructor(
    importer: string,
    exporter: string,
    local: string,
    remote: string,
    exported: ServiceExportConfig | null,
    share: boolean,
    transform: SubjectTransform | null,
  ) {
    this.importer = importer;
    this.exporter = exporter;
    this.local = local;
    this.remote = remote;
    this.responseType = exported?.responseType ?? 'singleton';
    this.responseThresholdMs = exported?.responseThresholdMs ?? DEFAULT_RESPONSE_THRESHOLD_MS;
    this.share = share;
    this.transform = transform;
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
  return new StreamImportRoute(importer, im.account, from, target, transform);
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
  return new ServiceImportRoute(importer, im.account, localTarget, remote, exported, im.share, transform);
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
  return goQuote(toWire(s));
}
