/**
 * Connecting to a server the way natscli does: `-s/--server`, `--creds`,
 * `--nkey` (a seed file), `--user/--password`, `--token`, TLS files and
 * `--context`; a flag wins over its environment variable (NATS_URL,
 * NATS_USER, ...), which wins over the context (named by --context, else
 * NATS_CONTEXT, else the selected one).
 */
import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, errors as coreErrors, nkeyAuthenticator, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { parseDurationMs, type FlagTable, type Flags } from './args.js';
import { loadContext, selectedContext, type ContextSettings } from './contexts.js';
import { ToolError } from './errors.js';

export const CONNECTION_FLAGS: FlagTable = {
  server: { kind: 'string', short: 's', help: 'NATS server URLs, comma separated ($NATS_URL)' },
  user: { kind: 'string', help: 'user name ($NATS_USER)' },
  password: { kind: 'string', help: 'password ($NATS_PASSWORD)' },
  token: { kind: 'string', help: 'authentication token ($NATS_TOKEN)' },
  creds: { kind: 'string', help: 'user credentials file ($NATS_CREDS)' },
  nkey: { kind: 'string', help: 'user nkey seed file ($NATS_NKEY)' },
  tlscert: { kind: 'string', help: 'TLS client certificate file ($NATS_CERT)' },
  tlskey: { kind: 'string', help: 'TLS client private key file ($NATS_KEY)' },
  tlsca: { kind: 'string', help: 'TLS CA certificate file ($NATS_CA)' },
  tlsfirst: { kind: 'boolean', help: 'TLS handshake before the server INFO (handshake_first servers)' },
  context: { kind: 'string', help: 'saved context to use ($NATS_CONTEXT)' },
  timeout: { kind: 'string', help: 'connection and request timeout ($NATS_TIMEOUT, default 5s)' },
};

/** Where each setting comes from: flag name, environment variable, context field. */
const SOURCES = [
  ['server', 'NATS_URL', 'url'],
  ['user', 'NATS_USER', 'user'],
  ['password', 'NATS_PASSWORD', 'password'],
  ['token', 'NATS_TOKEN', 'token'],
  ['creds', 'NATS_CREDS', 'creds'],
  ['nkey', 'NATS_NKEY', 'nkey'],
  ['tlscert', 'NATS_CERT', 'cert'],
  ['tlskey', 'NATS_KEY', 'key'],
  ['tlsca', 'NATS_CA', 'ca'],
] as const satisfies ReadonlyArray<readonly [string, string, keyof ContextSettings]>;

export type SettingName = (typeof SOURCES)[number][0];

export interface ConnectionSettings {
  readonly values: Readonly<Partial<Record<SettingName, string>>>;
  readonly tlsFirst: boolean;
  readonly timeoutMs: number;
  /** The context the settings came from, if any. */
  readonly context?: string;
}

export function resolveSettings(flags: Flags, env: NodeJS.ProcessEnv = process.env): ConnectionSettings {
  const contextName = flags.str('context') ?? nonEmpty(env.NATS_CONTEXT) ?? selectedContext();
  const ctx: ContextSettings = contextName === undefined ? {} : loadContext(contextName);
  const values: Partial<Record<SettingName, string>> = {};
  for (const [flag, envName, field] of SOURCES) {
    const v = flags.str(flag) ?? nonEmpty(env[envName]) ?? (ctx[field] as string | undefined);
    if (v !== undefined) values[flag] = v;
  }
  const timeoutMs = flags.has('timeout') ? flags.durationMs('timeout', 5000) : (durationFromEnv(env.NATS_TIMEOUT) ?? 5000);
  return { values, tlsFirst: flags.bool('tlsfirst') || ctx.tls_first === true, timeoutMs, context: contextName };
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

function durationFromEnv(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const ms = parseDurationMs(v);
  if (ms === null) throw new ToolError(`invalid NATS_TIMEOUT ${JSON.stringify(v)} (examples: 500ms, 2s)`);
  return ms;
}

function readSecretFile(kind: string, file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new ToolError(`cannot read ${kind} file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** The URLs to show in messages (credentials in URLs are not printed). */
export function displayServers(settings: ConnectionSettings): string {
  return (settings.values.server ?? 'nats://127.0.0.1:4222').replace(/\/\/[^@/]*@/g, '//');
}

export function connectionOptions(settings: ConnectionSettings, longRunning: boolean): ConnectionOptions {
  const v = settings.values;
  const opts: ConnectionOptions = {
    servers: (v.server ?? '127.0.0.1:4222').split(',').map((s) => s.trim()),
    name: 'natter',
    timeout: settings.timeoutMs,
    // A one-shot command reports a lost server; only long-running ones (sub, reply, watch) ride it out.
    reconnect: longRunning,
    maxReconnectAttempts: longRunning ? -1 : 0,
  };
  if (v.user !== undefined) opts.user = v.user;
  if (v.password !== undefined) opts.pass = v.password;
  if (v.token !== undefined) opts.token = v.token;
  if (v.creds !== undefined) opts.authenticator = credsAuthenticator(readSecretFile('creds', v.creds));
  else if (v.nkey !== undefined) {
    const seed = new TextDecoder().decode(readSecretFile('nkey', v.nkey)).trim();
    opts.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
  }
  // A tls:// URL demands TLS, as in the Go client, rather than whatever the server offers.
  const tlsUrl = (opts.servers as string[]).some((u) => u.startsWith('tls://'));
  if (tlsUrl || v.tlscert !== undefined || v.tlskey !== undefined || v.tlsca !== undefined || settings.tlsFirst) {
    opts.tls = {
      ...(v.tlscert !== undefined ? { certFile: v.tlscert } : {}),
      ...(v.tlskey !== undefined ? { keyFile: v.tlskey } : {}),
      ...(v.tlsca !== undefined ? { caFile: v.tlsca } : {}),
      ...(settings.tlsFirst ? { handshakeFirst: true } : {}),
    };
  }
  return opts;
}

type PermissionViolation = InstanceType<typeof coreErrors.PermissionViolationError>;

/**
 * A connection plus what the server said about permissions. A publish the
 * server refuses is only reported asynchronously (-ERR): commands call
 * flushChecked() to turn it into an error of their own, and `onDenied` lets
 * the dispatcher end a command at once when, say, the request a JetStream
 * call is waiting on was refused (else it would wait for its timeout).
 */
export class ToolConnection {
  private permissionError: PermissionViolation | null = null;

  constructor(
    readonly nc: NatsConnection,
    readonly settings: ConnectionSettings,
    private readonly onDenied: (e: PermissionViolation) => void,
    /** Where long-running commands say that the server went away and came back (stderr). */
    private readonly note: ((text: string) => void) | null,
  ) {
    void this.watchStatus();
  }

  private async watchStatus(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'error' && s.error instanceof coreErrors.PermissionViolationError && this.permissionError === null) {
        this.permissionError = s.error;
        this.onDenied(s.error);
      } else if (s.type === 'disconnect') this.note?.(`Disconnected from ${s.server}, reconnecting`);
      else if (s.type === 'reconnect') this.note?.(`Reconnected to ${s.server}`);
    }
  }

  /** Flushes, then throws the permissions violation the server reported for what was sent, if any. */
  async flushChecked(): Promise<void> {
    await this.nc.flush();
    // The -ERR arrived before the PONG; its status event is delivered on a later turn.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.permissionError) throw this.permissionError;
  }

  async close(): Promise<void> {
    if (!this.nc.isClosed()) await this.nc.close();
  }
}

/** `note` is given for long-running commands, which ride out a lost server and say so. */
export async function openConnection(settings: ConnectionSettings, onDenied: (e: PermissionViolation) => void, note: ((text: string) => void) | null): Promise<ToolConnection> {
  const opts = connectionOptions(settings, note !== null);
  const nc = await connect(opts);
  return new ToolConnection(nc, settings, onDenied, note);
}
