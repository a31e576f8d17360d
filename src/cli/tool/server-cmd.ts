/**
 * `natter server info|ping|list|check`. `ping` and `list` ask every server
 * through `$SYS.REQ.SERVER.PING` (a system account user is needed, as with
 * natscli); `info` asks the connected server for its VARZ and falls back to
 * the INFO it sent when the user is not in the system account; `check`
 * prints one Nagios-style status line and exits 0 (OK), 1 (WARNING),
 * 2 (CRITICAL) or 3 (UNKNOWN).
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { errors as coreErrors, type Msg } from '@nats-io/transport-node';
import { JSON_FLAG, type Invocation, type ToolCommand } from './command.js';
import { ToolError, describeError } from './errors.js';
import { humanBytes, type ToolOutput } from './output.js';

const SERVER_PING = '$SYS.REQ.SERVER.PING';

interface ServerIdentity {
  name: string;
  host: string;
  id: string;
  cluster?: string;
  ver: string;
  jetstream?: boolean;
}

interface StatszReply {
  server: ServerIdentity;
  statsz?: { start: string; mem: number; cores: number; connections: number; subscriptions: number; routes?: unknown[]; sent: { msgs: number }; received: { msgs: number } };
}

/** Every server's STATSZ, with the time each answer took. */
async function pingServers(inv: Invocation): Promise<Array<{ reply: StatszReply; rttMs: number }>> {
  const conn = await inv.connect();
  const expect = inv.flags.int('expect', 0);
  const started = performance.now();
  const replies: Array<{ reply: StatszReply; rttMs: number }> = [];
  let iter: AsyncIterable<Msg>;
  try {
    iter = await conn.nc.requestMany(SERVER_PING, '', expect > 0 ? { strategy: 'count', maxMessages: expect, maxWait: conn.settings.timeoutMs } : { strategy: 'stall', stall: 300, maxWait: conn.settings.timeoutMs });
    for await (const m of iter) replies.push({ reply: m.json<StatszReply>(), rttMs: performance.now() - started });
  } catch (e) {
    if (e instanceof coreErrors.NoRespondersError || (e instanceof coreErrors.RequestError && e.isNoResponders())) throw new ToolError(`no server answered ${SERVER_PING}: this needs a user of the system account`);
    throw e;
  }
  if (replies.length === 0) throw new ToolError(`no server answered ${SERVER_PING}: this needs a user of the system account`);
  replies.sort((a, b) => a.reply.server.name.localeCompare(b.reply.server.name));
  return replies;
}

const PING_FLAGS = { ...JSON_FLAG, expect: { kind: 'string', help: 'stop after this many servers answered' } } as const;

const PING: ToolCommand = {
  words: 'server ping',
  args: '',
  summary: 'ping every server ($SYS.REQ.SERVER.PING, system account) and show how long each took',
  connects: true,
  flags: PING_FLAGS,
  async run(inv) {
    const replies = await pingServers(inv);
    if (inv.flags.bool('json')) inv.out.json(replies.map(({ reply, rttMs }) => ({ name: reply.server.name, id: reply.server.id, rtt_ms: Number(rttMs.toFixed(3)) })));
    else {
      for (const { reply, rttMs } of replies) inv.out.line(`${reply.server.name.padEnd(30)} rtt=${rttMs.toFixed(2)}ms`);
      inv.out.line();
      inv.out.line(`${replies.length} server${replies.length === 1 ? '' : 's'} answered`);
    }
    return 0;
  },
};

const LIST: ToolCommand = {
  words: 'server list',
  args: '',
  summary: 'list every server of the system ($SYS.REQ.SERVER.PING, system account)',
  connects: true,
  flags: PING_FLAGS,
  async run(inv) {
    const replies = await pingServers(inv);
    if (inv.flags.bool('json')) {
      inv.out.json(replies.map(({ reply, rttMs }) => ({ ...reply, rtt_ms: Number(rttMs.toFixed(3)) })));
      return 0;
    }
    inv.out.table(
      ['Name', 'Cluster', 'Host', 'Version', 'JS', 'Conns', 'Subs', 'Routes', 'Memory', 'RTT'],
      replies.map(({ reply: { server: s, statsz: z }, rttMs }) => [
        s.name,
        s.cluster ?? '',
        s.host,
        s.ver,
        s.jetstream ? 'yes' : 'no',
        z?.connections ?? '',
        z?.subscriptions ?? '',
        z?.routes?.length ?? 0,
        z ? humanBytes(z.mem) : '',
        `${rttMs.toFixed(2)}ms`,
      ]),
    );
    return 0;
  },
};

const INFO: ToolCommand = {
  words: 'server info',
  args: '',
  summary: 'the connected server: its VARZ (system account) or the INFO it sent',
  connects: true,
  flags: JSON_FLAG,
  async run(inv) {
    const conn = await inv.connect();
    const info = conn.nc.info;
    if (!info) throw new ToolError('the server sent no INFO');
    let varz: Record<string, unknown> | null = null;
    try {
      const m = await conn.nc.request(`$SYS.REQ.SERVER.${info.server_id}.VARZ`, '', { timeout: Math.min(conn.settings.timeoutMs, 2000) });
      varz = m.json<{ data?: Record<string, unknown> }>().data ?? null;
    } catch (e) {
      // Outside the system account nobody answers: the INFO is what a plain client can know.
      if (!(e instanceof coreErrors.NoRespondersError || e instanceof coreErrors.RequestError || e instanceof coreErrors.TimeoutError)) throw e;
    }
    const shown: Record<string, unknown> = varz ?? { ...info };
    if (inv.flags.bool('json')) {
      inv.out.json(shown);
      return 0;
    }
    inv.out.line(inv.out.bold(`Server information for ${info.server_name} (${info.server_id})`));
    inv.out.line();
    const pick = (k: string): string | number | boolean | undefined => {
      const v = shown[k];
      return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : undefined;
    };
    inv.out.fields([
      ['Version', pick('version')],
      ['Go / Runtime', pick('go')],
      ['Host', `${pick('host')}:${pick('port')}`],
      ['Cluster', pick('cluster') ?? (typeof shown.cluster === 'object' ? String((shown.cluster as { name?: string }).name ?? '') : undefined)],
      ['JetStream', pick('jetstream') ?? (typeof shown.jetstream === 'object' ? 'enabled' : undefined)],
      ['Headers', pick('headers')],
      ['Max Payload', typeof pick('max_payload') === 'number' ? humanBytes(pick('max_payload') as number) : undefined],
      ['Auth Required', pick('auth_required')],
      ['TLS Required', pick('tls_required')],
      ['Client ID', pick('client_id')],
      ['Client IP', pick('client_ip')],
      ['Connections', pick('connections')],
      ['Subscriptions', pick('subscriptions')],
      ['Messages In', pick('in_msgs')],
      ['Messages Out', pick('out_msgs')],
      ['Uptime', pick('uptime')],
    ]);
    return 0;
  },
};

/** One check's findings, printed as natscli prints them for Nagios. */
class CheckResult {
  private readonly critical: string[] = [];
  private readonly warning: string[] = [];
  private readonly ok: string[] = [];
  private readonly perf: string[] = [];

  constructor(private readonly name: string) {}

  crit(text: string): void {
    this.critical.push(`Crit:${text}`);
  }

  warn(text: string): void {
    this.warning.push(`Warn:${text}`);
  }

  pass(text: string): void {
    this.ok.push(`OK:${text}`);
  }

  /** A measured time checked against warn/critical thresholds (ms). */
  seconds(label: string, what: string, ms: number, warnMs: number, critMs: number): void {
    const text = `${what} ${ms.toFixed(2)}ms`;
    if (ms >= critMs) this.crit(text);
    else if (ms >= warnMs) this.warn(text);
    else this.pass(text);
    this.perf.push(`${label}=${(ms / 1000).toFixed(4)}s;${(warnMs / 1000).toFixed(4)};${(critMs / 1000).toFixed(4)}`);
  }

  metric(label: string, value: number, warn?: number, crit?: number): void {
    this.perf.push(`${label}=${value}${warn !== undefined || crit !== undefined ? `;${warn ?? ''};${crit ?? ''}` : ''}`);
  }

  get exitCode(): number {
    return this.critical.length > 0 ? 2 : this.warning.length > 0 ? 1 : 0;
  }

  line(out: ToolOutput): string {
    const status = [out.green('OK'), out.yellow('WARNING'), out.red('CRITICAL')][this.exitCode];
    const perf = this.perf.length > 0 ? ` | ${this.perf.join(' ')}` : '';
    return `${status} ${this.name} ${[...this.critical, ...this.warning, ...this.ok].join(' ')}${perf}`;
  }
}

const CHECK_KINDS = ['connection', 'jetstream', 'stream'] as const;

async function checkConnection(inv: Invocation, r: CheckResult): Promise<void> {
  const started = performance.now();
  let conn;
  try {
    conn = await inv.connect();
  } catch (e) {
    r.crit(`connection failed: ${describeError(e)}`);
    return;
  }
  const connectMs = performance.now() - started;
  r.seconds('connect_time', `connected to ${conn.nc.getServer()} in`, connectMs, inv.flags.durationMs('connect-warn', 500), inv.flags.durationMs('connect-critical', 1000));
  const rttMs = await conn.nc.rtt();
  r.seconds('rtt', 'rtt time', rttMs, inv.flags.durationMs('rtt-warn', 500), inv.flags.durationMs('rtt-critical', 1000));
  // A request to ourselves proves publish, subscribe and delivery work, not just the socket.
  const inbox = `_INBOX.natter_check.${conn.nc.info?.client_id ?? 0}`;
  const sub = conn.nc.subscribe(inbox, {
    max: 1,
    callback: (_e, m) => {
      m.respond(m.data);
    },
  });
  const reqStarted = performance.now();
  try {
    await conn.nc.request(inbox, 'ping', { timeout: inv.flags.durationMs('req-critical', 1000) });
    r.seconds('request_time', 'round trip took', performance.now() - reqStarted, inv.flags.durationMs('req-warn', 500), inv.flags.durationMs('req-critical', 1000));
  } catch (e) {
    r.crit(`request failed: ${describeError(e)}`);
  } finally {
    sub.unsubscribe();
  }
}

function percent(used: number, limit: number): number | null {
  return limit > 0 ? (used / limit) * 100 : null;
}

async function checkJetStream(inv: Invocation, r: CheckResult): Promise<void> {
  const conn = await inv.connect();
  const jsm = await jetstreamManager(conn.nc, { timeout: conn.settings.timeoutMs, checkAPI: false });
  const ai = await jsm.getAccountInfo();
  const usage = (label: string, used: number, limit: number, warnFlag: string, critFlag: string): void => {
    const p = percent(used, limit);
    const warn = inv.flags.int(warnFlag, 75);
    const crit = inv.flags.int(critFlag, 90);
    const text = `${label} ${humanBytes(used)}${p === null ? '' : ` of ${humanBytes(limit)} (${p.toFixed(1)}%)`}`;
    if (p !== null && p >= crit) r.crit(text);
    else if (p !== null && p >= warn) r.warn(text);
    else r.pass(text);
    r.metric(`${label}_pct`, p === null ? 0 : Number(p.toFixed(2)), warn, crit);
  };
  usage('memory', ai.memory, ai.limits.max_memory, 'mem-warn', 'mem-critical');
  usage('storage', ai.storage, ai.limits.max_storage, 'store-warn', 'store-critical');
  r.pass(`${ai.streams} streams, ${ai.consumers} consumers`);
  r.metric('streams', ai.streams);
  r.metric('consumers', ai.consumers);
}

async function checkStream(inv: Invocation, r: CheckResult): Promise<void> {
  const name = inv.flags.str('stream');
  if (!name) throw new ToolError('server check stream needs --stream NAME');
  const conn = await inv.connect();
  const jsm = await jetstreamManager(conn.nc, { timeout: conn.settings.timeoutMs, checkAPI: false });
  const si = await jsm.streams.info(name);
  const msgs = si.state.messages;
  const warn = inv.flags.int('msgs-warn', 0);
  const crit = inv.flags.int('msgs-critical', 0);
  // As natscli: fewer messages than the threshold is the problem (a stream that stopped receiving).
  if (crit > 0 && msgs < crit) r.crit(`${msgs} messages`);
  else if (warn > 0 && msgs < warn) r.warn(`${msgs} messages`);
  else r.pass(`${msgs} messages`);
  r.metric('messages', msgs, warn || undefined, crit || undefined);
  r.metric('bytes', si.state.bytes);
  r.metric('consumers', si.state.consumer_count);
}

const CHECK: ToolCommand = {
  words: 'server check',
  args: '[connection|jetstream|stream]',
  summary: 'health check for monitoring scripts: one status line, exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN',
  connects: true,
  failureExitCode: 3,
  flags: {
    'connect-warn': { kind: 'string', help: 'connection: warn when connecting takes this long (500ms)' },
    'connect-critical': { kind: 'string', help: 'connection: critical when connecting takes this long (1s)' },
    'rtt-warn': { kind: 'string', help: 'connection: warn at this round-trip time (500ms)' },
    'rtt-critical': { kind: 'string', help: 'connection: critical at this round-trip time (1s)' },
    'req-warn': { kind: 'string', help: 'connection: warn when a request takes this long (500ms)' },
    'req-critical': { kind: 'string', help: 'connection: critical when a request takes this long (1s)' },
    'mem-warn': { kind: 'string', help: 'jetstream: warn at this % of the memory limit (75)' },
    'mem-critical': { kind: 'string', help: 'jetstream: critical at this % of the memory limit (90)' },
    'store-warn': { kind: 'string', help: 'jetstream: warn at this % of the storage limit (75)' },
    'store-critical': { kind: 'string', help: 'jetstream: critical at this % of the storage limit (90)' },
    stream: { kind: 'string', help: 'stream: the stream to check' },
    'msgs-warn': { kind: 'string', help: 'stream: warn with fewer messages than this' },
    'msgs-critical': { kind: 'string', help: 'stream: critical with fewer messages than this' },
  },
  async run(inv) {
    const kind = inv.flags.positionals[0] ?? 'connection';
    if (!(CHECK_KINDS as readonly string[]).includes(kind)) {
      inv.out.line(`UNKNOWN unknown check ${JSON.stringify(kind)} (one of ${CHECK_KINDS.join(', ')})`);
      return 3;
    }
    const r = new CheckResult(kind === 'connection' ? 'Connection' : kind === 'jetstream' ? 'JetStream' : `Stream ${inv.flags.str('stream') ?? ''}`.trim());
    try {
      if (kind === 'connection') await checkConnection(inv, r);
      else if (kind === 'jetstream') await checkJetStream(inv, r);
      else await checkStream(inv, r);
    } catch (e) {
      r.crit(describeError(e));
    }
    inv.out.line(r.line(inv.out));
    return r.exitCode;
  },
};

export const SERVER_COMMANDS: readonly ToolCommand[] = [INFO, PING, LIST, CHECK];
