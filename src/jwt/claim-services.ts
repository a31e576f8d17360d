/**
 * Account claim requests in the system account, with nats-server 2.9.10's
 * subjects, checks and replies:
 *
 *   $SYS.REQ.ACCOUNT.<acc>.CLAIMS.UPDATE   an account JWT for <acc>       every resolver
 *   $SYS.ACCOUNT.<acc>.CLAIMS.UPDATE       the same, older subject        every resolver
 *   $SYS.REQ.CLAIMS.UPDATE                 an account JWT, any account    full, cache
 *   $SYS.REQ.ACCOUNT.<acc>.CLAIMS.LOOKUP   replies with the stored JWT    full
 *   $SYS.REQ.CLAIMS.LIST                   {"data":[account keys]}        full, cache
 *   $SYS.REQ.CLAIMS.DELETE                 a generic JWT self-signed by   full (allow_delete), cache
 *                                          an operator key, listing
 *                                          `nats.accounts` to delete
 *
 * Replies: `{"data":{"account":..,"code":200,"message":"jwt updated"},"server":{..}}`
 * or `{"error":{"account":..,"code":500,"description":"<context> - <cause>"},"server":{..}}`.
 * A refused update changes nothing. Deliberate differences from 2.9.10,
 * which stores any well-formed JWT and only logs when it cannot apply it:
 * a JWT not signed by a trusted operator key, or issued before the stored
 * one, is refused with an error reply.
 *
 * Work runs after the delivery that brought the request, since applying
 * claims may close connections (the requester's among them).
 */
import { isPublicKeyOf, decodeJwt, NKEY_PREFIX_ACCOUNT } from './jwt.js';
import { ClaimUpdateError, type JwtAuthenticator } from './operator-mode.js';
import { decodeAccountClaims, type AccountClaims } from './claims.js';
import type { InternalHandler } from '../server/subscription.js';
import type { Logger } from '../log/logger.js';

const CLAIMS_UPDATE = '$SYS.REQ.CLAIMS.UPDATE';
const CLAIMS_LIST = '$SYS.REQ.CLAIMS.LIST';
const CLAIMS_DELETE = '$SYS.REQ.CLAIMS.DELETE';
const ACCOUNT_UPDATE = '$SYS.REQ.ACCOUNT.*.CLAIMS.UPDATE';
const ACCOUNT_UPDATE_OLD = '$SYS.ACCOUNT.*.CLAIMS.UPDATE';
const ACCOUNT_LOOKUP = '$SYS.REQ.ACCOUNT.*.CLAIMS.LOOKUP';
/** Token counts and the account's position in the per-account subjects. */
const NEW_TOKENS = 6;
const OLD_TOKENS = 5;
const NEW_ACCOUNT_INDEX = 3;
const OLD_ACCOUNT_INDEX = 2;

/** How replies leave: JSON bodies get the `server` block, LOOKUP answers the raw JWT. */
export interface ClaimReplies {
  json(reply: string, body: Record<string, unknown>): void;
  raw(reply: string, text: string): void;
}

type Flavor = 'memory' | 'full' | 'cache';

/** nats-server's wording differs by resolver: the cache says "cache" in each message. */
function wording(flavor: Flavor): { error: string; validation: string; skipped: string; updated: string } {
  if (flavor === 'cache') {
    return { error: 'jwt update cache resulted in error', validation: 'jwt update cache validation failed', skipped: 'jwt update cache skipped', updated: 'jwt updated cache' };
  }
  return { error: 'jwt update resulted in error', validation: 'jwt validation failed', skipped: 'jwt update skipped', updated: 'jwt updated' };
}

export class ClaimServices {
  constructor(
    private readonly auth: () => JwtAuthenticator | null,
    private readonly replies: ClaimReplies,
    private readonly logger: Logger,
  ) {}

  /** Subjects and handlers for the system account; none outside operator mode. */
  handlers(): Array<[string, InternalHandler]> {
    const auth = this.auth();
    if (auth === null) return [];
    const flavor = auth.source.kind;
    const out: Array<[string, InternalHandler]> = [
      [ACCOUNT_UPDATE, this.deferred((subject, reply, body) => this.accountUpdate(subject, reply, body))],
      [ACCOUNT_UPDATE_OLD, this.deferred((subject, reply, body) => this.accountUpdate(subject, reply, body))],
    ];
    if (flavor === 'memory') return out;
    out.push(
      [CLAIMS_UPDATE, this.deferred((_subject, reply, body) => this.update(null, reply, body))],
      [CLAIMS_LIST, this.deferred((_subject, reply) => this.list(reply))],
      [CLAIMS_DELETE, this.deferred((_subject, reply, body) => this.delete(reply, body))],
    );
    if (flavor === 'full') out.push([ACCOUNT_LOOKUP, this.deferred((subject, reply) => this.lookup(subject, reply))]);
    return out;
  }

  private deferred(work: (subject: string, reply: string | null, body: string) => void): InternalHandler {
    return (subject, reply, hdrLen, msg) => {
      const body = (hdrLen >= 0 ? msg.subarray(hdrLen) : msg).toString('utf8').trim();
      queueMicrotask(() => {
        try {
          work(subject, reply, body);
        } catch (e) {
          this.logger.error(`Claims request on "${subject}" failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
        }
      });
    };
  }

  private respond(reply: string | null, account: string, message: string, error: string | null): void {
    if (error === null) this.logger.debug(account === '' ? message : `${message} - ${account}`);
    else this.logger.error(account === '' ? `${message} - ${error}` : `${message} - ${account} - ${error}`);
    if (reply === null) return;
    const m: Record<string, unknown> = {};
    if (account !== '') m.account = account;
    if (error === null) {
      m.code = 200;
      m.message = message;
      this.replies.json(reply, { data: m });
    } else {
      m.code = 500;
      m.description = `${message} - ${error}`;
      this.replies.json(reply, { error: m });
    }
  }

  private accountUpdate(subject: string, reply: string | null, body: string): void {
    const tokens = subject.split('.');
    let account: string;
    if (tokens.length === NEW_TOKENS) account = tokens[NEW_ACCOUNT_INDEX];
    else if (tokens.length === OLD_TOKENS) account = tokens[OLD_ACCOUNT_INDEX];
    else return;
    this.update(account, reply, body);
  }

  /** One update; `account` is the subject's account, null for `$SYS.REQ.CLAIMS.UPDATE`. */
  private update(account: string | null, reply: string | null, body: string): void {
    const auth = this.auth();
    if (auth === null) return;
    const flavor = auth.source.kind;
    const w = wording(flavor);
    if (flavor === 'memory' && body === '') {
      this.respond(reply, account ?? '', 'jwt update error', 'request body is empty');
      return;
    }
    // The memory and cache resolvers skip accounts they have not loaded before validating anything more.
    const named = flavor === 'full' ? null : this.accountOf(body);
    if (named !== null && (account === null || named === account) && !auth.isLoaded(named)) {
      this.respond(reply, named, w.skipped, null);
      return;
    }
    let claims: AccountClaims;
    try {
      claims = auth.verifyUpdate(body);
    } catch (e) {
      if (!(e instanceof ClaimUpdateError)) throw e;
      // As nats-server: a JWT that does not decode is "n/a" (but the subject's account where
      // the memory and cache resolvers answer their per-account subjects); validation names the JWT's account.
      let who: string;
      if (e.stage === 'decode') who = account !== null && flavor !== 'full' ? account : 'n/a';
      else if (e.stage === 'validate') who = this.subjectOf(body);
      else who = account ?? this.subjectOf(body);
      this.respond(reply, who, e.stage === 'validate' && flavor !== 'memory' ? w.validation : w.error, e.reason);
      return;
    }
    if (account !== null && claims.sub !== account) {
      this.respond(reply, account, w.error, 'subject does not match jwt content');
      return;
    }
    try {
      auth.applyUpdate(claims, body);
    } catch (e) {
      if (!(e instanceof ClaimUpdateError)) throw e;
      this.respond(reply, claims.sub, w.error, e.reason);
      return;
    }
    this.respond(reply, claims.sub, w.updated, null);
  }

  /** The subject of an account JWT that decodes, whatever else is wrong with it; null otherwise. */
  private accountOf(body: string): string | null {
    try {
      return decodeAccountClaims(body).sub;
    } catch {
      return null;
    }
  }

  private subjectOf(body: string): string {
    try {
      const sub = decodeJwt(body).payload.sub;
      return typeof sub === 'string' ? sub : 'n/a';
    } catch {
      return 'n/a';
    }
  }

  private lookup(subject: string, reply: string | null): void {
    const auth = this.auth();
    if (reply === null || auth === null) return;
    const tokens = subject.split('.');
    if (tokens.length !== NEW_TOKENS) return;
    const jwt = auth.source.fetch(tokens[NEW_ACCOUNT_INDEX]);
    // nats-server answers nothing for an account it does not have; the requester times out.
    if (jwt === null) this.logger.debug(`Claims lookup: no JWT for account ${tokens[NEW_ACCOUNT_INDEX]}`);
    else this.replies.raw(reply, jwt);
  }

  private list(reply: string | null): void {
    const auth = this.auth();
    if (reply === null || auth === null) return;
    this.replies.json(reply, { data: auth.source.list() });
  }

  private delete(reply: string | null, body: string): void {
    const auth = this.auth();
    if (auth === null) return;
    let subject = '';
    let accounts: string[] = [];
    let problem: string | null = null;
    try {
      const d = decodeJwt(body);
      subject = typeof d.payload.sub === 'string' ? d.payload.sub : '';
      const nats = d.payload.nats;
      const list = nats !== null && typeof nats === 'object' && !Array.isArray(nats) ? (nats as Record<string, unknown>).accounts : undefined;
      if (!auth.source.allowDelete) problem = 'delete must be enabled in server config';
      else if (subject !== d.issuer) problem = 'not self signed';
      else if (!auth.isOperatorKey(d.issuer)) problem = 'not trusted';
      else if (!Array.isArray(list)) problem = 'malformed request';
      else {
        for (const entry of list as unknown[]) {
          if (typeof entry !== 'string' || !isPublicKeyOf(entry, NKEY_PREFIX_ACCOUNT)) {
            problem = 'malformed request';
            break;
          }
          if (entry === auth.systemAccount) {
            problem = 'not allowed to delete system account';
            break;
          }
          accounts.push(entry);
        }
      }
    } catch (e) {
      problem = (e as Error).message;
    }
    if (problem !== null) {
      accounts = [];
      this.respond(reply, '', `delete accounts request by ${subject} failed`, problem);
      return;
    }
    const errors: string[] = [];
    for (const account of accounts) {
      try {
        auth.deleteAccount(account);
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    const deleted = accounts.length - errors.length;
    if (errors.length === 0) this.respond(reply, '', `deleted ${deleted} accounts`, null);
    else this.respond(reply, '', `deleted ${deleted} accounts, failed for ${errors.length}`, errors.join('\n'));
  }
}
