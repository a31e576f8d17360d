/**
 * An operator with a system account and a scratch directory, for the
 * operator-mode tests: writes the operator JWT, makes creds, connects the
 * official client, and sends system-account requests. The same world serves
 * Natter (embedded) and nats-server (a config file), so differential tests
 * run one scenario on both.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { formatCreds } from '../../src/jwt/creds.js';
import { accountJwt, newAccount, newOperator, newUser, operatorJwt, userJwt, type Identity } from './encoder.js';

export interface Dialled {
  readonly nc: NatsConnection;
  /** Error messages of the connection's status stream (-ERR texts) in order. */
  readonly errors: string[];
  /** Resolves with the close error's message ('' for a clean close). */
  readonly closed: Promise<string>;
}

export class OperatorWorld {
  readonly op: Identity = newOperator();
  readonly sys: Identity = newAccount();
  readonly sysUser: Identity = newUser();
  readonly dir: string;
  readonly operatorFile: string;

  constructor(prefix = 'natter-jwt-') {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    this.operatorFile = join(this.dir, 'operator.jwt');
    writeFileSync(this.operatorFile, operatorJwt(this.op, { system_account: this.sys.pub }));
  }

  /** The system account's JWT, signed by the operator. */
  sysJwt(): string {
    return accountJwt(this.sys.pub, this.op.kp);
  }

  /** The same configuration as nats-server config text. */
  confText(resolver: string, preload: Readonly<Record<string, string>>): string {
    const entries = Object.entries(preload).map(([k, v]) => `  ${k}: "${v}"`).join('\n');
    return `operator: "${this.operatorFile}"\nsystem_account: ${this.sys.pub}\nresolver: ${resolver}\nresolver_preload: {\n${entries}\n}\n`;
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Connects with a user JWT and seed, keeping what the server says. */
export async function dial(url: string, jwt: string, seed: string, name = 'test'): Promise<Dialled> {
  const creds = new TextEncoder().encode(formatCreds(jwt, seed));
  const nc = await connect({ servers: url, authenticator: credsAuthenticator(creds), reconnect: false, timeout: 3000, name });
  const errors: string[] = [];
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'error') errors.push(String((s as { error?: Error }).error?.message));
    }
  })().catch(() => undefined);
  const closed = nc.closed().then((e) => (e instanceof Error ? e.message : ''));
  return { nc, errors, closed };
}

/**
 * Why the server closed the connection: the close error, or the last -ERR
 * when the client only saw the socket fail (a write racing the close).
 */
export async function closeReason(d: Dialled): Promise<string> {
  const why = await d.closed;
  if (/EPIPE|ECONNRESET/.test(why) && d.errors.length > 0) return d.errors[d.errors.length - 1];
  return why;
}

/** Why a connect attempt failed ('' when it succeeded; the connection is closed again). */
export async function connectError(url: string, jwt: string, seed: string): Promise<string> {
  try {
    const d = await dial(url, jwt, seed);
    await d.nc.close();
    return '';
  } catch (e) {
    return (e as Error).message;
  }
}

/** A user of the system account, for `$SYS` requests. */
export function sysUserJwt(w: OperatorWorld): string {
  return userJwt(w.sysUser.pub, w.sys.kp);
}

/** A request whose reply is text; 'timeout' when a subscriber stays silent, 'no responders' when there is none. */
export async function requestText(nc: NatsConnection, subject: string, body = '', timeout = 2000): Promise<string> {
  try {
    return (await nc.request(subject, body, { timeout })).string();
  } catch (e) {
    const message = (e as Error).message;
    if (/no responders/i.test(message)) return 'no responders';
    if (/timeout/i.test(message)) return 'timeout';
    throw e;
  }
}

/** A `$SYS` claims request's JSON reply without the server block (which differs per server). */
export async function claimsRequest(nc: NatsConnection, subject: string, body = ''): Promise<Record<string, unknown> | string> {
  const text = await requestText(nc, subject, body);
  if (text === 'timeout' || text === 'no responders') return text;
  const reply = JSON.parse(text) as Record<string, unknown>;
  delete reply.server;
  return reply;
}
