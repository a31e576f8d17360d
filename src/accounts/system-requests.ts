/**
 * The system account's request services, answered with nats-server's
 * subjects and reply shapes. The data comes from the monitoring builders, so
 * a `$SYS` reply and the HTTP endpoint never disagree.
 *
 * In the system account (as nats-server 2.9.10 serves them, plus 2.10's):
 *   $SYS.REQ.SERVER.PING                       STATSZ (no reply: broadcast on $SYS.SERVER.<id>.STATSZ)
 *   $SYS.REQ.SERVER.PING.<X>, $SYS.REQ.SERVER.<id>.<X>
 *       X = STATSZ VARZ SUBSZ CONNZ ROUTEZ GATEWAYZ LEAFZ ACCOUNTZ JSZ HEALTHZ, IDZ (2.10)
 *   $SYS.REQ.SERVER.<id>.RELOAD                (2.10) the reload callback, if any
 *   $SYS.REQ.ACCOUNT.<acc>.<Y>                 Y = SUBSZ CONNZ LEAFZ JSZ INFO STATZ, for one account
 *   $SYS.REQ.ACCOUNT.PING.STATZ                every account's (or the listed accounts') STATZ
 *   $SYS.REQ.CLAIMS.*, ...CLAIMS.UPDATE/LOOKUP  operator mode's claim requests (src/jwt/claim-services.ts)
 * In every account, as nats-server's automatic service imports provide them:
 *   $SYS.REQ.USER.INFO                         (2.10) the requester's user, account and permissions
 * and, outside the system account, scoped to the requesting account:
 *   $SYS.REQ.SERVER.PING.CONNZ, $SYS.REQ.ACCOUNT.PING.CONNZ, $SYS.REQ.ACCOUNT.PING.STATZ
 *
 * Replies are `{"server":{...},"data":{...}}`; a body that does not decode
 * gets `"error":{"code":400,...}`, a request the builder refuses gets
 * `"data":null,"error":{"code":500,...}` (nats-server's typed nil), and a
 * request whose filter (server_name, host, cluster, tags, domain) excludes
 * this server gets no reply at all. Shapes nats-server 2.9.10 has follow it
 * (HEALTHZ without 2.10's status_code); PROFILEZ is Go's profiler and has no
 * counterpart here.
 */
import type { Account } from './account.js';
import type { MonitorSource } from '../monitor/source.js';
import type { InternalHandler } from '../server/subscription.js';
import type { ClientPermissions } from '../auth/permissions.js';
import { fromWire } from '../auth/wire-text.js';
import { MonitorContext } from '../monitor/context.js';
import { BadRequest, FilteredRequest } from '../monitor/query.js';
import { isSliced, marshalInSlices, type Sliced } from '../monitor/slices.js';
import { varzData } from '../monitor/varz.js';
import { connzData, type ConnState, type ConnzOptions } from '../monitor/connz.js';
import { subszData, type SubszOptions } from '../monitor/subsz.js';
import { routezData } from '../monitor/routez.js';
import { gatewayzData } from '../monitor/gatewayz.js';
import { leafzData } from '../monitor/leafz.js';
import { accountInfoData, accountzData, accstatzData } from '../monitor/accountz.js';
import { jszAccountData, jszData } from '../monitor/jsz.js';
import { healthzData } from '../monitor/healthz.js';
import { statszData } from '../monitor/statsz.js';
import { msToGoDuration } from '../text/go-format.js';
import { decodeGoStruct, type GoFieldType, type GoFieldValue, type GoStruct } from './go-json.js';
import type { SystemMessages } from './system-messages.js';
import type { ClaimReplies } from '../jwt/claim-services.js';

/** Applies the configuration again (the CLI re-reads its file); rejects with the reason it could not. */
export type ReloadConfig = () => Promise<void> | void;

/**
 * Operator mode's account claim requests (src/jwt/claim-services.ts), built
 * for the system account they are subscribed in; empty outside operator mode.
 */
export type ClaimRequestHandlers = (replies: ClaimReplies) => Array<[string, InternalHandler]>;

/** nats-server's answer to RELOAD when it was not started from a configuration file. */
const NO_CONFIG_FILE = 'can only reload config when a file is provided using -c or --config';

const SERVER_PING = '$SYS.REQ.SERVER.PING';
const USER_INFO = '$SYS.REQ.USER.INFO';
const ACCOUNT_PING_STATZ = '$SYS.REQ.ACCOUNT.PING.STATZ';
const ACCOUNT_PING_CONNZ = '$SYS.REQ.ACCOUNT.PING.CONNZ';

function serverPingSubject(name: string): string {
  return `${SERVER_PING}.${name}`;
}

function serverRequestSubject(id: string, name: string): string {
  return `$SYS.REQ.SERVER.${id}.${name}`;
}

function accountRequestSubject(account: string, name: string): string {
  return `$SYS.REQ.ACCOUNT.${account}.${name}`;
}

export function statszSubject(id: string): string {
  return `$SYS.SERVER.${id}.STATSZ`;
}

/** The filter every request body may carry (nats-server's EventFilterOptions). */
const FILTER_FIELDS: Readonly<Record<string, GoFieldType>> = {
  server_name: 'string', cluster: 'string', host: 'string', tags: '[]string', domain: 'string',
};

function options(name: string, fields: Readonly<Record<string, GoFieldType>>): GoStruct {
  return { name, fields: { ...fields, ...FILTER_FIELDS } };
}

const STATSZ_OPTIONS = options('StatszEventOptions', {});
const VARZ_OPTIONS = options('VarzEventOptions', {});
const CONNZ_OPTIONS = options('ConnzEventOptions', {
  sort: 'server.SortOpt', auth: 'bool', subscriptions: 'bool', subscriptions_detail: 'bool', offset: 'int',
  limit: 'int', cid: 'uint64', mqtt_client: 'string', state: 'server.ConnState', user: 'string', acc: 'string',
  filter_subject: 'string',
});
const SUBSZ_OPTIONS = options('SubszEventOptions', {
  offset: 'int', limit: 'int', subscriptions: 'bool', account: 'string', test: 'string',
});
const ROUTEZ_OPTIONS = options('RoutezEventOptions', { subscriptions: 'bool', subscriptions_detail: 'bool' });
const GATEWAYZ_OPTIONS = options('GatewayzEventOptions', { name: 'string', accounts: 'bool', account_name: 'string' });
const LEAFZ_OPTIONS = options('LeafzEventOptions', { subscriptions: 'bool', account: 'string' });
const ACCOUNTZ_OPTIONS = options('AccountzEventOptions', { account: 'string' });
const ACCOUNT_STATZ_OPTIONS = options('AccountStatzEventOptions', { accounts: '[]string', include_unused: 'bool' });
const JSZ_OPTIONS = options('JszEventOptions', {
  account: 'string', accounts: 'bool', streams: 'bool', consumer: 'bool', config: 'bool', leader_only: 'bool',
  offset: 'int', limit: 'int',
});
const HEALTHZ_OPTIONS = options('HealthzEventOptions', {
  'js-enabled': 'bool', 'js-enabled-only': 'bool', 'js-server-only': 'bool', 'js-meta-only': 'bool', account: 'string', stream: 'string',
  consumer: 'string', details: 'bool',
});
const ACCOUNT_INFO_OPTIONS = options('AccInfoEventOptions', {});
const FILTER_ONLY: GoStruct = { name: 'EventFilterOptions', fields: FILTER_FIELDS };

/** Decoded request options; absent fields read as Go's zero values. */
class Options {
  static readonly NONE = new Options(new Map());
  private readonly values: ReadonlyMap<string, GoFieldValue>;

  constructor(values: ReadonlyMap<string, GoFieldValue>) {
    this.values = values;
  }

  str(name: string): string {
    const v = this.values.get(name);
    return typeof v === 'string' ? v : '';
  }

  bool(name: string): boolean {
    return this.values.get(name) === true;
  }

  int(name: string): number {
    const v = this.values.get(name);
    return typeof v === 'number' ? v : 0;
  }

  list(name: string): string[] {
    const v = this.values.get(name);
    return Array.isArray(v) ? v : [];
  }
}

/** nats-server's ConnState numbers; others list nothing, as there. */
function connState(n: number): ConnState {
  switch (n) {
    case 0: return 'open';
    case 1: return 'closed';
    case 2: return 'all';
    default: return 'none';
  }
}

function connzOptions(o: Options): ConnzOptions {
  return {
    sort: o.str('sort'),
    auth: o.bool('auth'),
    subs: o.bool('subscriptions'),
    subsDetail: o.bool('subscriptions_detail'),
    offset: o.int('offset'),
    limit: o.int('limit'),
    cid: o.int('cid'),
    state: connState(o.int('state')),
    user: o.str('user'),
    acc: o.str('acc'),
    mqttClient: o.str('mqtt_client'),
    filterSubject: o.str('filter_subject'),
  };
}

function subszOptions(o: Options): SubszOptions {
  return {
    subscriptions: o.bool('subscriptions'),
    offset: o.int('offset'),
    limit: o.int('limit'),
    test: o.str('test'),
    account: o.str('account'),
  };
}

/** Builds a reply's `data` from the options; throws BadRequest to refuse, FilteredRequest to stay silent. */
type Build = (ctx: MonitorContext, o: Options) => unknown;
/** The same for one account, named by the subject or by the requester's account. */
type AccountBuild = (ctx: MonitorContext, o: Options, account: string) => unknown;

const SERVER_ENDPOINTS: ReadonlyArray<readonly [string, GoStruct, Build]> = [
  ['VARZ', VARZ_OPTIONS, (ctx) => varzData(ctx)],
  ['SUBSZ', SUBSZ_OPTIONS, (ctx, o) => subszData(ctx, subszOptions(o))],
  ['CONNZ', CONNZ_OPTIONS, (ctx, o) => connzData(ctx, connzOptions(o))],
  ['ROUTEZ', ROUTEZ_OPTIONS, (ctx) => routezData(ctx)],
  ['GATEWAYZ', GATEWAYZ_OPTIONS, (ctx) => gatewayzData(ctx)],
  ['LEAFZ', LEAFZ_OPTIONS, (ctx) => leafzData(ctx)],
  ['ACCOUNTZ', ACCOUNTZ_OPTIONS, (ctx, o) => accountzData(ctx, { account: o.str('account') })],
  ['JSZ', JSZ_OPTIONS, (ctx, o) => jszData(ctx, { leaderOnly: o.bool('leader_only') })],
  ['HEALTHZ', HEALTHZ_OPTIONS, (ctx, o) => healthzData(ctx, {
    jsEnabledOnly: o.bool('js-enabled-only') || o.bool('js-enabled'),
    jsServerOnly: o.bool('js-server-only'),
    jsMetaOnly: o.bool('js-meta-only'),
    account: o.str('account'),
    stream: o.str('stream'),
    consumer: o.str('consumer'),
    details: o.bool('details'),
  }).body],
];

const ACCOUNT_CONNZ: AccountBuild = (ctx, o, account) => connzData(ctx, { ...connzOptions(o), acc: account });

/** One account's STATZ: nobody answers for an account without connections unless unused ones are asked for. */
const ACCOUNT_STATZ: AccountBuild = (ctx, o, account) => {
  // `$SYS.REQ.ACCOUNT.PING.STATZ` also matches the per-account subscription; "PING" is not an account.
  if (account === 'PING') throw new FilteredRequest('filtered response');
  return someAccountsStatz(ctx, [account], o.bool('include_unused'));
};

const ACCOUNT_ENDPOINTS: ReadonlyArray<readonly [string, GoStruct, AccountBuild]> = [
  ['SUBSZ', SUBSZ_OPTIONS, (ctx, o, account) => subszData(ctx, { ...subszOptions(o), subscriptions: true, account })],
  ['CONNZ', CONNZ_OPTIONS, ACCOUNT_CONNZ],
  ['LEAFZ', LEAFZ_OPTIONS, (ctx) => leafzData(ctx)],
  ['JSZ', JSZ_OPTIONS, (ctx, _o, account) => jszAccountData(ctx, account)],
  ['INFO', ACCOUNT_INFO_OPTIONS, (ctx, _o, account) => accountInfoData(ctx, account)],
  ['STATZ', ACCOUNT_STATZ_OPTIONS, ACCOUNT_STATZ],
];

function someAccountsStatz(ctx: MonitorContext, accounts: readonly string[], includeUnused: boolean): unknown {
  const z = accstatzData(ctx, { accounts, includeUnused });
  if (z.account_statz.length === 0 && !includeUnused) throw new FilteredRequest('filtered response');
  return z;
}

/** nats-server's Permissions as USER.INFO shows them (a queue permission shows its subject alone). */
function publicPermissions(perms: ClientPermissions | null): Record<string, unknown> | undefined {
  if (perms === null) return undefined;
  const config = perms.permissions.config;
  const side = (p: { allow: readonly string[] | null; deny: readonly string[] | null } | null): Record<string, string[]> => {
    const out: Record<string, string[]> = {};
    const allow = (p?.allow ?? []).map(subjectOf);
    const deny = (p?.deny ?? []).map(subjectOf);
    if (allow.length > 0) out.allow = allow;
    if (deny.length > 0) out.deny = deny;
    return out;
  };
  const out: Record<string, unknown> = { publish: side(config.publish), subscribe: side(config.subscribe) };
  if (config.response !== null) {
    out.responses = { max: config.response.maxMsgs, ttl: msToGoDuration(config.response.expiresMs) };
  }
  return out;
}

/** "foo.* workers" (a queue permission) → "foo.*". */
function subjectOf(permission: string): string {
  return permission.trim().split(/\s+/)[0];
}

function bodyOf(hdrLen: number, msg: Buffer): Buffer {
  return hdrLen >= 0 ? msg.subarray(hdrLen) : msg;
}

/** What a refusal says, as the reply's `description`. */
function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Answers the requests; knows nothing about which accounts exist (the installer does). */
export class SystemServices {
  private readonly server: MonitorSource;
  private readonly msgs: SystemMessages;
  private readonly ctx: MonitorContext;
  private readonly reload: ReloadConfig | null;
  private readonly claimRequestHandlers: ClaimRequestHandlers | null;

  constructor(server: MonitorSource, msgs: SystemMessages, reload: ReloadConfig | null, claimRequestHandlers: ClaimRequestHandlers | null) {
    this.server = server;
    this.msgs = msgs;
    this.ctx = new MonitorContext(server);
    this.reload = reload;
    this.claimRequestHandlers = claimRequestHandlers;
  }

  /** Publishes STATSZ on `subject` in the system account `sys`. */
  sendStatsz(sys: Account, subject: string): void {
    this.msgs.publish(sys, subject, { server: this.msgs.serverInfo(), statsz: statszData(this.ctx) });
  }

  /** Subjects and handlers to subscribe in the system account. */
  systemAccountServices(sys: Account): Array<[string, InternalHandler]> {
    const id = this.server.id;
    const out: Array<[string, InternalHandler]> = [];
    const both = (name: string, h: InternalHandler): void => {
      out.push([serverPingSubject(name), h], [serverRequestSubject(id, name), h]);
    };
    const statsz = this.statszHandler(sys);
    out.push([SERVER_PING, statsz]);
    both('STATSZ', statsz);
    for (const [name, struct, build] of SERVER_ENDPOINTS) both(name, this.api(sys, struct, (o) => build(this.ctx, o)));
    both('IDZ', this.idzHandler(sys));
    out.push([serverRequestSubject(id, 'RELOAD'), this.reloadHandler(sys)]);
    for (const [name, struct, build] of ACCOUNT_ENDPOINTS) {
      // The account is the subject's fourth token; the wildcard guarantees there is one.
      const handler = this.api(sys, struct, (o, subject) => build(this.ctx, o, fromWire(subject.split('.')[3])));
      out.push([accountRequestSubject('*', name), handler]);
    }
    out.push([ACCOUNT_PING_STATZ, this.api(sys, ACCOUNT_STATZ_OPTIONS, (o) => someAccountsStatz(this.ctx, o.list('accounts'), o.bool('include_unused')))]);
    if (this.claimRequestHandlers !== null) {
      // Go sorts the claim replies' keys: `server` comes last.
      out.push(...this.claimRequestHandlers({
        json: (reply, body) => this.msgs.publish(sys, reply, { ...body, server: this.msgs.serverInfo() }),
        raw: (reply, text) => this.server.publishInternal(sys, reply, null, text),
      }));
    }
    return out;
  }

  /** Subjects and handlers every account gets: USER.INFO, and outside the system account its own CONNZ and STATZ. */
  accountServices(acc: Account, isSystem: boolean): Array<[string, InternalHandler]> {
    const out: Array<[string, InternalHandler]> = [[USER_INFO, this.userInfoHandler(acc)]];
    if (isSystem) return out;
    const connz = this.api(acc, CONNZ_OPTIONS, (o) => ACCOUNT_CONNZ(this.ctx, o, acc.name));
    out.push([serverPingSubject('CONNZ'), connz], [ACCOUNT_PING_CONNZ, connz]);
    out.push([ACCOUNT_PING_STATZ, this.api(acc, ACCOUNT_STATZ_OPTIONS, (o) => ACCOUNT_STATZ(this.ctx, o, acc.name))]);
    return out;
  }

  /** Sends `{"server":...,<rest>}` to `reply` in `acc` (where the request was subscribed). */
  private respond(acc: Account, reply: string, rest: Record<string, unknown>): void {
    this.msgs.publish(acc, reply, { server: this.msgs.serverInfo(), ...rest });
  }

  /**
   * Decodes the body (if any) into `struct`, drops requests filtered away
   * from this server, and answers with what `build` returns or refuses.
   * Requests without a reply subject get nothing, as in nats-server.
   */
  private api(acc: Account, struct: GoStruct, build: (o: Options, subject: string) => unknown): InternalHandler {
    return (subject, reply, hdrLen, msg) => {
      if (reply === null) return;
      const o = this.decode(acc, reply, bodyOf(hdrLen, msg), struct);
      if (o === null) return;
      let data: unknown;
      try {
        data = build(o, subject);
      } catch (e) {
        this.refuse(acc, reply, subject, e);
        return;
      }
      // CONNZ and SUBSZ over many connections or subscriptions are computed and
      // serialized in slices; everything else is answered at once, as before.
      marshalInSlices(this.envelope(data), false,
        (json) => this.server.publishInternal(acc, reply, null, json),
        (e) => this.refuse(acc, reply, subject, e));
    };
  }

  /** `{"server":...,"data":...}` once the data is computed (the server part carries the reply's sequence number). */
  private *envelope(data: unknown): Sliced<Record<string, unknown>> {
    const ready = isSliced(data) ? yield* data : data;
    return { server: this.msgs.serverInfo(), data: ready };
  }

  /** A request the builder refused: silence for one filtered away from this server, else a 500 reply. */
  private refuse(acc: Account, reply: string, subject: string, e: unknown): void {
    if (e instanceof FilteredRequest) return;
    if (!(e instanceof BadRequest)) this.server.logger.error(`Error answering "${subject}": ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    this.respond(acc, reply, { data: null, error: { code: 500, description: errorText(e) } });
  }

  /** The options, or null when the request was answered with a 400 or is not for this server. */
  private decode(acc: Account, reply: string, body: Buffer, struct: GoStruct): Options | null {
    if (body.length === 0) return Options.NONE;
    const d = decodeGoStruct(body, struct);
    if (!d.ok) {
      this.respond(acc, reply, { error: { code: 400, description: d.error } });
      return null;
    }
    const o = new Options(d.values);
    return this.excludes(o) ? null : o;
  }

  /** Whether the request's filter leaves this server out. */
  private excludes(o: Options): boolean {
    const s = this.server;
    const name = o.str('server_name');
    if (name !== '' && !s.name.includes(name)) return true;
    const host = o.str('host');
    if (host !== '' && !s.options.host.includes(host)) return true;
    // Not in a cluster, and without tags: any cluster name or tag leaves this server out.
    if (o.str('cluster') !== '' || o.list('tags').length > 0) return true;
    const domain = o.str('domain');
    return domain !== '' && domain !== jetStreamDomain(s);
  }

  /** STATSZ: to the reply subject, or broadcast when there is none. */
  private statszHandler(sys: Account): InternalHandler {
    return (_subject, reply, hdrLen, msg) => {
      const to = reply ?? statszSubject(this.server.id);
      const o = this.decode(sys, to, bodyOf(hdrLen, msg), STATSZ_OPTIONS);
      if (o !== null) this.sendStatsz(sys, to);
    };
  }

  /** IDZ (2.10): the bare identity, no envelope, no sequence number. */
  private idzHandler(sys: Account): InternalHandler {
    return (_subject, reply) => {
      if (reply !== null) this.msgs.publish(sys, reply, this.msgs.serverId());
    };
  }

  /**
   * USER.INFO (2.10): about the connection that asked. A token client has no
   * user here, where nats-server would echo its token.
   */
  private userInfoHandler(acc: Account): InternalHandler {
    return (_subject, reply, _hdrLen, _msg, from) => {
      if (reply === null || from === null) return;
      const data: Record<string, unknown> = { user: from.authUser, account: from.account.name };
      const permissions = publicPermissions(from.perms);
      if (permissions !== undefined) data.permissions = permissions;
      this.respond(acc, reply, { data });
    };
  }

  /** RELOAD (2.10): runs the reload callback; the reply says whether it worked. */
  private reloadHandler(sys: Account): InternalHandler {
    return (_subject, reply, hdrLen, msg) => {
      if (reply === null) return;
      const o = this.decode(sys, reply, bodyOf(hdrLen, msg), FILTER_ONLY);
      if (o === null) return;
      const reload = this.reload;
      if (reload === null) {
        this.respond(sys, reply, { error: { code: 500, description: NO_CONFIG_FILE } });
        return;
      }
      // Outside the delivery that brought the request: a reload rebuilds accounts and subscriptions.
      void Promise.resolve().then(reload).then(
        () => this.respond(sys, reply, {}),
        (e: unknown) => this.respond(sys, reply, { error: { code: 500, description: errorText(e) } }),
      );
    };
  }
}

/** The JetStream domain a filter's `domain` is compared with: the configured one, even while JetStream is off. */
function jetStreamDomain(server: MonitorSource): string {
  const js = server.options.jetstream;
  if (js === undefined || typeof js === 'boolean') return '';
  const d = js.domain;
  return typeof d === 'string' ? d : '';
}
