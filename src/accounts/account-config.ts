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
 * something meaningless:
 * - an export or import with neither `stream` nor `service` is an error
 *   (nats-server ignores it);
 * - `latency`, `mappings` and `limits` are refused: this version does not
 *   enforce them.
 *
 * Parsing checks each account on its own; import-validation.ts then checks
 * exports and imports across accounts and builds the routes.
 */
import { accountLimitProblem } from '../jetstream/account-limits.js';
import { DurationError, parseGoDuration } from '../config/durations.js';
import { describe, type Problems, type InEntry, type InMap, type InNode } from '../auth/conf-input.js';
import { isValidPublicAccountKey } from '../auth/nkey.js';
import { parsePermissions, type PermissionsConfig } from '../auth/permissions.js';
import { parseUsers, type UserConfig } from '../auth/users.js';
import { GLOBAL_ACCOUNT } from './names.js';
import { isValidLiteralSubject } from '../subjects/validate.js';
import type { ResponseType } from './import-routes.js';

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
  /** allow_trace: message traces continue into this (exporting) account (ADR-41). */
  readonly allowTrace: boolean;
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
  /** allow_trace: message traces continue into this (importing) account (ADR-41). */
  readonly allowTrace?: boolean;
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

/** An account's `msg_trace`: where W3C `traceparent` messages are traced to, and what share of them (ADR-41). */
export interface AccountMsgTrace {
  readonly dest: string;
  /** Percent, 1..100. */
  readonly sampling: number;
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
  readonly msgTrace: AccountMsgTrace | null;
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
    streamImports: [], serviceImports: [], jetstream: null, msgTrace: null, at,
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
  let msgTrace: AccountMsgTrace | null = null;
  for (const e of node.entries) {
    switch (e.key.toLowerCase()) {
      case 'msg_trace':
      case 'trace_dest':
        msgTrace = parseMsgTrace(e, problems);
        break;
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
    serviceImports, jetstream, msgTrace, at: node,
  };
}

/**
 * `msg_trace: "subject"` or `msg_trace { dest, sampling }` (sampling an
 * integer or "N%", 1..100, 100 by default), with nats-server's messages.
 * A sampling without a destination traces nothing (null).
 */
function parseMsgTrace(entry: InEntry, problems: Problems): AccountMsgTrace | null {
  const v = entry.value;
  const destOf = (n: InNode, field: string): string | null => {
    if (n.kind !== 'string') {
      problems.add(n, `Field ${JSON.stringify(field)} should be a string, got ${describe(n)}`);
      return null;
    }
    if (!isValidLiteralSubject(n.value)) {
      problems.add(n, `Trace destination ${JSON.stringify(n.value)} is not valid`);
      return null;
    }
    return n.value;
  };
  if (v.kind === 'string') {
    const dest = destOf(v, entry.key);
    return dest === null ? null : { dest, sampling: 100 };
  }
  if (v.kind !== 'map') {
    problems.add(v, `Expected account message trace ${JSON.stringify(entry.key)} to be a string or a map/struct, got ${describe(v)}`);
    return null;
  }
  let dest: string | null = null;
  let sampling = 0;
  for (const e of v.entries) {
    const n = e.value;
    switch (e.key.toLowerCase()) {
      case 'dest':
        dest = destOf(n, e.key);
        break;
      case 'sampling': {
        let pct: number;
        if (n.kind === 'integer') {
          pct = n.value;
        } else if (n.kind === 'string') {
          const text = n.value.endsWith('%') ? n.value.slice(0, -1) : n.value;
          pct = /^[+-]?\d+$/.test(text) ? Number(text) : Number.NaN;
          if (Number.isNaN(pct)) {
            problems.add(n, `Invalid trace destination sampling value ${JSON.stringify(n.value)}`);
            break;
          }
        } else {
          problems.add(n, `Trace destination sampling field ${JSON.stringify(e.key)} should be an integer or a percentage, got ${describe(n)}`);
          break;
        }
        if (pct <= 0 || pct > 100) problems.add(n, `Ttrace destination sampling value ${pct} is invalid, needs to be [1..100]`);
        else sampling = pct;
        break;
      }
      default:
        if (!e.usedAsVariable) problems.add(e, `Unknown field ${JSON.stringify(e.key)} parsing account message trace map/struct ${JSON.stringify(entry.key)}`);
    }
  }
  return dest === null ? null : { dest, sampling: sampling === 0 ? 100 : sampling };
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
  let allowTrace = false;
  let allowTraceEntry: InEntry | undefined;
  const before = problems.list.length;
  for (const e of node.entries) {
    const v = e.value;
    switch (e.key.toLowerCase()) {
      case 'allow_trace':
        allowTrace = problems.bool(e) ?? false;
        allowTraceEntry = e;
        break;
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
    if (allowTraceEntry !== undefined) problems.add(allowTraceEntry.value, 'Detected allow_trace directive on non-service');
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
      allowTrace,
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
  let allowTrace = false;
  let allowTraceEntry: InEntry | undefined;
  const before = problems.list.length;
  for (const e of node.entries) {
    const v = e.value;
    switch (e.key.toLowerCase()) {
      case 'allow_trace':
        allowTrace = problems.bool(e) ?? false;
        allowTraceEntry = e;
        break;
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
  if (service !== undefined && allowTraceEntry !== undefined) problems.add(allowTraceEntry.value, 'Detected allow_trace directive on a non-stream');
  if (problems.list.length !== before) return null;
  if (stream !== undefined) {
    return {
      kind: 'stream',
      config: { ...stream, prefix: prefix === '' ? null : prefix, to: to === '' ? null : to, allowTrace, at: node },
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

