/**
 * Core NATS from the shell: `pub`, `sub`, `req` and `reply`, with natscli's
 * flag names (`--count`, `-H key:value`, `--reply`, `--queue`, `--raw`,
 * `--json`, `--command`).
 */
import { spawn } from 'node:child_process';
import { headers as makeHeaders, type Msg, type MsgHdrs } from '@nats-io/transport-node';
import type { Flags } from './args.js';
import { JSON_FLAG, type ToolCommand } from './command.js';
import { ToolError } from './errors.js';
import type { ToolOutput } from './output.js';
import { Template } from './template.js';

const HEADER_FLAG = { header: { kind: 'list', short: 'H', help: 'a header, key:value (repeatable; templates allowed)' } } as const;

/** `-H key:value` flags, parsed once into templates. */
function headerTemplates(flags: Flags): Array<readonly [string, Template]> {
  return flags.list('header').map((h) => {
    const i = h.indexOf(':');
    if (i <= 0) throw new ToolError(`invalid header ${JSON.stringify(h)}: expected key:value`);
    return [h.slice(0, i).trim(), new Template(h.slice(i + 1).trim())] as const;
  });
}

function buildHeaders(templates: ReadonlyArray<readonly [string, Template]>, count: number): MsgHdrs | undefined {
  if (templates.length === 0) return undefined;
  const h = makeHeaders();
  for (const [k, t] of templates) h.append(k, t.render({ count }));
  return h;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The body argument, or stdin when it is left out and stdin is not a terminal (natscli's rule). */
async function bodyArgument(flags: Flags, index: number): Promise<string> {
  const body = flags.positionals[index];
  if (body !== undefined) return body;
  return process.stdin.isTTY ? '' : readStdin();
}

function headerRecord(h: MsgHdrs | undefined): Record<string, string[]> | undefined {
  if (!h) return undefined;
  const rec: Record<string, string[]> = {};
  for (const k of h.keys()) rec[k] = h.values(k);
  return rec;
}

export type MessageView = 'text' | 'raw' | 'json';

export function messageView(flags: Flags): MessageView {
  return flags.bool('json') ? 'json' : flags.bool('raw') ? 'raw' : 'text';
}

/** What printMessage needs of a message: core messages and JetStream messages both have it. */
export interface PrintableMessage {
  readonly subject: string;
  readonly reply?: string;
  readonly data: Uint8Array;
  readonly headers?: MsgHdrs;
  string(): string;
}

/** One received message as `sub`, `req` and `consumer next` show it. */
export function printMessage(out: ToolOutput, m: PrintableMessage, n: number, view: MessageView): void {
  if (view === 'raw') {
    out.write(m.data);
    out.line();
    return;
  }
  if (view === 'json') {
    const json: Record<string, unknown> = { subject: m.subject, data: m.string() };
    if (m.reply) json.reply = m.reply;
    const h = headerRecord(m.headers);
    if (h) json.headers = h;
    out.line(JSON.stringify(json));
    return;
  }
  const reply = m.reply ? ` with reply ${JSON.stringify(m.reply)}` : '';
  out.line(out.bold(`[#${n}] Received on ${JSON.stringify(m.subject)}${reply}`));
  if (m.headers) {
    for (const k of m.headers.keys()) for (const v of m.headers.values(k)) out.line(`${k}: ${v}`);
  }
  out.line();
  out.line(m.string());
  out.line();
}

export const PUB: ToolCommand = {
  words: 'pub',
  args: '<subject> [body]',
  summary: 'publish a message (the body is a template; read from stdin when left out)',
  connects: true,
  flags: {
    ...HEADER_FLAG,
    count: { kind: 'string', help: 'publish this many messages (default 1)' },
    sleep: { kind: 'string', help: 'pause between messages, e.g. 100ms' },
    reply: { kind: 'string', help: 'reply subject to send with the message' },
  },
  async run(inv) {
    const subject = inv.flags.required(0, '<subject>');
    const count = inv.flags.int('count', 1);
    if (count < 1) throw new ToolError('--count must be at least 1');
    const pauseMs = inv.flags.durationMs('sleep', 0);
    const body = new Template(await bodyArgument(inv.flags, 1));
    const hdrs = headerTemplates(inv.flags);
    const reply = inv.flags.str('reply');
    const conn = await inv.connect();
    let bytes = 0;
    for (let i = 1; i <= count; i++) {
      const data = body.render({ count: i });
      bytes += Buffer.byteLength(data);
      conn.nc.publish(subject, data, { headers: buildHeaders(hdrs, i), ...(reply ? { reply } : {}) });
      if (pauseMs > 0 && i < count) {
        await conn.flushChecked();
        await new Promise((r) => setTimeout(r, pauseMs));
      }
    }
    await conn.flushChecked();
    inv.out.note(count === 1 ? `Published ${bytes} bytes to ${JSON.stringify(subject)}` : `Published ${count} messages (${bytes} bytes) to ${JSON.stringify(subject)}`);
    return 0;
  },
};

export const SUB: ToolCommand = {
  words: 'sub',
  args: '<subject>',
  summary: 'subscribe to a subject and print what arrives',
  connects: true,
  flags: {
    ...JSON_FLAG,
    queue: { kind: 'string', help: 'join this queue group' },
    count: { kind: 'string', help: 'stop after this many messages' },
    raw: { kind: 'boolean', short: 'r', help: 'print only the message bodies' },
  },
  async run(inv) {
    const subject = inv.flags.required(0, '<subject>');
    const count = inv.flags.int('count', 0);
    const view = messageView(inv.flags);
    const conn = await inv.connect({ longRunning: true });
    const queue = inv.flags.str('queue');
    const sub = conn.nc.subscribe(subject, { ...(queue ? { queue } : {}), ...(count > 0 ? { max: count } : {}) });
    await conn.flushChecked();
    inv.out.note(`Subscribing on ${JSON.stringify(subject)}${queue ? ` in queue group ${JSON.stringify(queue)}` : ''}${count > 0 ? `, stopping after ${count} messages` : ''}`);
    const receive = (async () => {
      let n = 0;
      for await (const m of sub) printMessage(inv.out, m, ++n, view);
    })();
    if (await Promise.race([receive.then(() => false), inv.interrupted().then(() => true)])) sub.unsubscribe();
    // The loop also ends when the server refuses the subscription: sub.closed then rejects with the permissions violation.
    await sub.closed;
    return 0;
  },
};

export const REQ: ToolCommand = {
  words: 'req',
  args: '<subject> [body]',
  summary: 'send a request and print the reply',
  connects: true,
  flags: {
    ...HEADER_FLAG,
    ...JSON_FLAG,
    raw: { kind: 'boolean', short: 'r', help: 'print only the reply body' },
  },
  async run(inv) {
    const subject = inv.flags.required(0, '<subject>');
    const body = new Template(await bodyArgument(inv.flags, 1)).render({ count: 1 });
    const hdrs = buildHeaders(headerTemplates(inv.flags), 1);
    const conn = await inv.connect();
    const started = performance.now();
    const reply = await conn.nc.request(subject, body, { timeout: conn.settings.timeoutMs, ...(hdrs ? { headers: hdrs } : {}) });
    const rtt = performance.now() - started;
    const view = messageView(inv.flags);
    if (view === 'text') inv.out.note(`Received reply on ${JSON.stringify(reply.subject)} in ${rtt.toFixed(2)}ms`);
    printMessage(inv.out, reply, 1, view);
    return 0;
  },
};

/** Runs `command` with the request body on stdin; its stdout is the reply. */
function runReplyCommand(command: string, m: Msg): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NATS_REQUEST_SUBJECT: m.subject } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => undefined);
    child.stdin.end(m.data);
    child.on('error', (e) => resolve(`error: ${e.message}`));
    child.on('close', (code) => {
      const stdout = Buffer.concat(out).toString('utf8');
      resolve(code === 0 ? stdout : `error: command exited with ${code}: ${Buffer.concat(err).toString('utf8').trim()}`);
    });
  });
}

export const REPLY: ToolCommand = {
  words: 'reply',
  args: '<subject> [body]',
  summary: 'answer requests: echo them, send a body template, or the output of --command',
  connects: true,
  flags: {
    ...HEADER_FLAG,
    queue: { kind: 'string', help: 'queue group (default NATS-RPLY-22, as natscli)' },
    count: { kind: 'string', help: 'stop after this many requests' },
    echo: { kind: 'boolean', help: 'reply with the request itself (the default without a body or --command)' },
    command: { kind: 'string', help: 'run this shell command per request (request body on stdin, reply is its stdout)' },
  },
  async run(inv) {
    const subject = inv.flags.required(0, '<subject>');
    const bodyText = inv.flags.positionals[1];
    const command = inv.flags.str('command');
    if (command !== undefined && bodyText !== undefined) throw new ToolError('give either a body or --command, not both');
    const body = bodyText === undefined || inv.flags.bool('echo') ? null : new Template(bodyText);
    const hdrs = headerTemplates(inv.flags);
    const count = inv.flags.int('count', 0);
    const conn = await inv.connect({ longRunning: true });
    const queue = inv.flags.str('queue') ?? 'NATS-RPLY-22';
    const sub = conn.nc.subscribe(subject, { queue, ...(count > 0 ? { max: count } : {}) });
    await conn.flushChecked();
    inv.out.note(`Listening on ${JSON.stringify(subject)} in group ${JSON.stringify(queue)}`);
    const serve = (async () => {
      let n = 0;
      for await (const m of sub) {
        n++;
        const answer = command !== undefined ? await runReplyCommand(command, m) : body ? body.render({ count: n, request: m.string() }) : m.data;
        const extra = buildHeaders(hdrs, n);
        m.respond(answer, { headers: body === null && command === undefined && extra === undefined ? m.headers : extra });
        inv.out.line(`[#${n}] Replied to a request on ${JSON.stringify(m.subject)}`);
      }
      await conn.flushChecked();
    })();
    if (await Promise.race([serve.then(() => false), inv.interrupted().then(() => true)])) sub.unsubscribe();
    await sub.closed;
    return 0;
  },
};
