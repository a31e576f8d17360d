/**
 * JWT exports and imports, routed by the same machinery as configured
 * accounts (src/accounts/import-validation.ts): each account JWT becomes an
 * AccountConfig, and activation tokens are checked by the ActivationCheck
 * the route builder calls for exports with `token_req`.
 *
 * As nats-server applies account claims:
 * - exports are public unless `token_req` (an activation token from the
 *   exporter is needed) or `account_token_position` (the importer's key must
 *   stand at that token of the subject);
 * - a stream import's `to` is a prefix, `local_subject` the subject the
 *   importer sees; a service import's `local_subject` (or, deprecated, its
 *   `subject` with `to` naming the exporter's subject) is where the importer
 *   sends requests;
 * - an import that cannot be added (unknown account, not authorized, a bad
 *   token) is skipped and logged; the rest of the account still works.
 */
import { fromPlain, Problems } from '../auth/conf-input.js';
import {
  DEFAULT_RESPONSE_THRESHOLD_MS,
  type AccountConfig,
  type ServiceExportConfig,
  type ServiceImportConfig,
  type StreamExportConfig,
  type StreamImportConfig,
} from '../accounts/account-config.js';
import type { AccountRoutes, ResponseType } from '../accounts/import-routes.js';
import { buildAccountRoutes } from '../accounts/import-validation.js';
import {
  decodeActivationClaims,
  isUserRevoked,
  validateActivationClaims,
  type AccountClaims,
  type ActivationClaims,
} from './claims.js';

function responseType(t: string): ResponseType {
  if (t === 'Stream') return 'stream';
  if (t === 'Chunked') return 'chunked';
  return 'singleton';
}

/** The account JWT as the route builder's account configuration. */
export function accountConfigOf(c: AccountClaims): AccountConfig {
  const at = fromPlain({}, `account ${c.sub}`);
  const streamExports: StreamExportConfig[] = [];
  const serviceExports: ServiceExportConfig[] = [];
  const streamImports: StreamImportConfig[] = [];
  const serviceImports: ServiceImportConfig[] = [];
  c.nats.exports.forEach((e, i) => {
    const base: StreamExportConfig = {
      subject: e.subject,
      accounts: null,
      tokenPosition: e.account_token_position,
      tokenRequired: e.token_req,
      revocations: e.revocations,
      at: fromPlain({}, `account ${c.sub} exports[${i}]`),
    };
    if (e.type === 'stream') streamExports.push(base);
    else if (e.type === 'service') {
      serviceExports.push({
        ...base,
        responseType: responseType(e.response_type),
        responseThresholdMs: e.response_threshold > 0 ? e.response_threshold / 1e6 : DEFAULT_RESPONSE_THRESHOLD_MS,
        allowTrace: false,
      });
    }
  });
  c.nats.imports.forEach((im, i) => {
    const where = fromPlain({}, `account ${c.sub} imports[${i}]`);
    if (im.type === 'stream') {
      streamImports.push({
        account: im.account,
        subject: im.subject,
        prefix: im.local_subject === '' && im.to !== '' ? im.to : null,
        to: im.local_subject !== '' ? im.local_subject : null,
        token: im.token,
        at: where,
      });
    } else if (im.type === 'service') {
      const remote = im.local_subject !== '' ? im.subject : im.to !== '' ? im.to : im.subject;
      const local = im.local_subject !== '' ? im.local_subject : im.subject;
      serviceImports.push({ account: im.account, subject: remote, to: local, share: im.share, token: im.token, at: where });
    }
  });
  return {
    name: c.sub, nkey: null, users: [], usersAt: null, defaultPermissions: null,
    streamExports, serviceExports, streamImports, serviceImports, jetstream: null, msgTrace: null, at,
  };
}

/**
 * nats-server's checkActivation: the token must be valid now, issued by the
 * exporter (or one of its signing keys, naming it as issuer_account), for
 * the importing account, and not revoked by the export.
 */
export function activationValid(exporter: AccountClaims, importer: string, token: string, revocations: ReadonlyMap<string, number>, now: number): ActivationClaims | null {
  let act: ActivationClaims;
  try {
    act = decodeActivationClaims(token);
  } catch {
    return null;
  }
  if (act.sub !== importer) return null;
  if (act.nats.issuer_account !== '') {
    if (act.nats.issuer_account !== exporter.sub || !exporter.nats.signing_keys.has(act.iss)) return null;
  } else if (act.iss !== exporter.sub) {
    return null;
  }
  if (validateActivationClaims(act, now).length > 0) return null;
  if (act.exp > 0 && act.exp <= now) return null;
  return isUserRevoked(revocations, act.sub, act.iat) ? null : act;
}

export interface JwtRoutes {
  readonly routes: AccountRoutes;
  /** Why imports were left out, for the log. */
  readonly problems: readonly string[];
  /** Date.now() when the first activation used by a route expires; null for none. */
  readonly nextExpiry: number | null;
}

/** Routes for every loaded account JWT. */
export function buildJwtRoutes(accounts: ReadonlyMap<string, AccountClaims>, now: number): JwtRoutes {
  let nextExpiry: number | null = null;
  const problems = new Problems();
  const routes = buildAccountRoutes([...accounts.values()].map(accountConfigOf), problems, (exporter, importer, token, revocations) => {
    const claims = accounts.get(exporter);
    const act = claims === undefined ? null : activationValid(claims, importer, token, revocations, now);
    if (act !== null && act.exp > 0) nextExpiry = Math.min(nextExpiry ?? Infinity, act.exp * 1000);
    return act !== null;
  });
  return { routes, problems: problems.list.map((p) => `${p.path}: ${p.problem}`), nextExpiry };
}
