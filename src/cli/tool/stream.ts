/**
 * `natter stream add|edit|info|ls|rm|purge|get|backup|restore`: JetStream
 * streams with natscli's flag names, or a whole config from
 * `--config file.json` (flags override its fields).
 */
import { writeFileSync } from 'node:fs';
import { DeliverPolicy, jetstream, type StreamConfig, type StreamInfo } from '@nats-io/jetstream';
import { headers as makeHeaders } from '@nats-io/transport-node';
import type { Flags } from './args.js';
import { JSON_FLAG, type ToolCommand } from './command.js';
import { ToolError } from './errors.js';
import { choice, confirm, connectJsm, FORCE_FLAG, msToNanos, readJsonConfig } from './jsutil.js';
import { humanBytes, nanosText, type ToolOutput } from './output.js';

const CONFIG_FLAGS = {
  config: { kind: 'string', help: 'stream configuration as JSON (flags override its fields)' },
  subjects: { kind: 'string', help: 'subjects, comma separated' },
  storage: { kind: 'string', help: 'file or memory' },
  replicas: { kind: 'string', help: 'number of replicas' },
  retention: { kind: 'string', help: 'limits, interest or work' },
  discard: { kind: 'string', help: 'old or new' },
  'max-msgs': { kind: 'string', help: 'most messages kept (-1 unlimited)' },
  'max-bytes': { kind: 'string', help: 'most bytes kept, e.g. 1GB (-1 unlimited)' },
  'max-age': { kind: 'string', help: 'oldest message kept, e.g. 1h (0 unlimited)' },
  'max-msg-size': { kind: 'string', help: 'largest message accepted (-1 unlimited)' },
  'max-msgs-per-subject': { kind: 'string', help: 'most messages kept per subject (-1 unlimited)' },
  'dupe-window': { kind: 'string', help: 'duplicate detection window, e.g. 2m' },
  description: { kind: 'string', help: 'what the stream is for' },
  'allow-direct': { kind: 'boolean', help: 'allow direct get' },
  'allow-rollup': { kind: 'boolean', help: 'allow Nats-Rollup headers' },
  'deny-delete': { kind: 'boolean', help: 'refuse message deletes' },
  'deny-purge': { kind: 'boolean', help: 'refuse purges' },
  ...JSON_FLAG,
} as const;

const RETENTION = { limits: 'limits', interest: 'interest', work: 'workqueue', workqueue: 'workqueue' } as const;

/** The config fields the flags set, on top of `base`. */
function configFromFlags(flags: Flags, base: Partial<StreamConfig>): Partial<StreamConfig> {
  const cfg: Partial<StreamConfig> = { ...base };
  const subjects = flags.str('subjects');
  if (subjects !== undefined) cfg.subjects = subjects.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const storage = choice(flags.str('storage'), 'storage', ['file', 'memory'] as const);
  if (storage) cfg.storage = storage as StreamConfig['storage'];
  if (flags.has('replicas')) cfg.num_replicas = flags.int('replicas', 1);
  const retention = choice(flags.str('retention'), 'retention', Object.keys(RETENTION) as Array<keyof typeof RETENTION>);
  if (retention) cfg.retention = RETENTION[retention] as StreamConfig['retention'];
  const discard = choice(flags.str('discard'), 'discard', ['old', 'new'] as const);
  if (discard) cfg.discard = discard as StreamConfig['discard'];
  if (flags.has('max-msgs')) cfg.max_msgs = flags.int('max-msgs', -1);
  if (flags.has('max-bytes')) cfg.max_bytes = flags.bytes('max-bytes', -1);
  if (flags.has('max-age')) cfg.max_age = msToNanos(flags.durationMs('max-age', 0));
  if (flags.has('max-msg-size')) cfg.max_msg_size = flags.bytes('max-msg-size', -1);
  if (flags.has('max-msgs-per-subject')) cfg.max_msgs_per_subject = flags.int('max-msgs-per-subject', -1);
  if (flags.has('dupe-window')) cfg.duplicate_window = msToNanos(flags.durationMs('dupe-window', 120_000));
  const description = flags.str('description');
  if (description !== undefined) cfg.description = description;
  if (flags.bool('allow-direct')) cfg.allow_direct = true;
  if (flags.bool('allow-rollup')) cfg.allow_rollup_hdrs = true;
  if (flags.bool('deny-delete')) cfg.deny_delete = true;
  if (flags.bool('deny-purge')) cfg.deny_purge = true;
  return cfg;
}

function baseConfig(flags: Flags): Partial<StreamConfig> {
  const file = flags.str('config');
  return file === undefined ? {} : (readJsonConfig(file, 'stream config') as Partial<StreamConfig>);
}

function printStreamInfo(out: ToolOutput, si: StreamInfo): void {
  const c = si.config;
  const s = si.state;
  out.line(out.bold(`Information for Stream ${c.name} created ${si.created}`));
  out.line();
  out.fields([
    ['Description', c.description],
    ['Subjects', (c.subjects ?? []).join(', ')],
    ['Replicas', c.num_replicas],
    ['Storage', c.storage],
    ['Retention', c.retention],
    ['Discard Policy', c.discard],
    ['Maximum Messages', c.max_msgs < 0 ? 'unlimited' : c.max_msgs],
    ['Maximum Per Subject', c.max_msgs_per_subject < 0 ? 'unlimited' : c.max_msgs_per_subject],
    ['Maximum Bytes', humanBytes(c.max_bytes)],
    ['Maximum Age', nanosText(c.max_age, 'unlimited')],
    ['Maximum Message Size', c.max_msg_size < 0 ? 'unlimited' : humanBytes(c.max_msg_size)],
    ['Duplicate Window', nanosText(c.duplicate_window)],
  ]);
  out.line();
  out.line(out.bold('State:'));
  out.line();
  out.fields([
    ['Messages', s.messages],
    ['Bytes', humanBytes(s.bytes)],
    ['First Sequence', s.first_seq],
    ['Last Sequence', s.last_seq],
    ['Active Consumers', s.consumer_count],
    ['Number of Subjects', s.num_subjects],
  ]);
}

const ADD: ToolCommand = {
  words: 'stream add',
  args: '<name>',
  summary: 'create a stream',
  connects: true,
  flags: CONFIG_FLAGS,
  async run(inv) {
    const base = baseConfig(inv.flags);
    const name = inv.flags.positionals[0] ?? (typeof base.name === 'string' ? base.name : undefined);
    if (!name) throw new ToolError('missing argument: <name> (or "name" in --config)');
    const cfg = configFromFlags(inv.flags, { ...base, name });
    if (cfg.subjects === undefined && base.subjects === undefined) cfg.subjects = [name];
    const { jsm } = await connectJsm(inv);
    const si = await jsm.streams.add({ ...cfg, name });
    if (inv.flags.bool('json')) inv.out.json(si);
    else printStreamInfo(inv.out, si);
    return 0;
  },
};

const EDIT: ToolCommand = {
  words: 'stream edit',
  args: '<name>',
  summary: 'change a stream (only the fields given change)',
  connects: true,
  flags: CONFIG_FLAGS,
  async run(inv) {
    const name = inv.flags.required(0, '<name>');
    const { jsm } = await connectJsm(inv);
    const current = await jsm.streams.info(name);
    const cfg = configFromFlags(inv.flags, { ...current.config, ...baseConfig(inv.flags) });
    const si = await jsm.streams.update(name, cfg);
    if (inv.flags.bool('json')) inv.out.json(si);
    else printStreamInfo(inv.out, si);
    return 0;
  },
};

const INFO: ToolCommand = {
  words: 'stream info',
  args: '<name>',
  summary: 'show a stream and its state',
  connects: true,
  flags: JSON_FLAG,
  async run(inv) {
    const name = inv.flags.required(0, '<name>');
    const { jsm } = await connectJsm(inv);
    const si = await jsm.streams.info(name);
    if (inv.flags.bool('json')) inv.out.json(si);
    else printStreamInfo(inv.out, si);
    return 0;
  },
};

const LS: ToolCommand = {
  words: 'stream ls',
  args: '',
  summary: 'list streams',
  connects: true,
  flags: { ...JSON_FLAG, names: { kind: 'boolean', short: 'n', help: 'names only' }, subject: { kind: 'string', help: 'only streams holding this subject' } },
  async run(inv) {
    const { jsm } = await connectJsm(inv);
    const infos: StreamInfo[] = [];
    for await (const si of jsm.streams.list(inv.flags.str('subject'))) infos.push(si);
    infos.sort((a, b) => a.config.name.localeCompare(b.config.name));
    if (inv.flags.bool('json')) inv.out.json(inv.flags.bool('names') ? infos.map((i) => i.config.name) : infos);
    else if (inv.flags.bool('names')) for (const i of infos) inv.out.line(i.config.name);
    else if (infos.length === 0) inv.out.note('No streams defined');
    else
      inv.out.table(
        ['Name', 'Subjects', 'Messages', 'Size', 'Created'],
        infos.map((i) => [i.config.name, (i.config.subjects ?? []).join(', '), i.state.messages, humanBytes(i.state.bytes), i.created]),
      );
    return 0;
  },
};

const RM: ToolCommand = {
  words: 'stream rm',
  args: '<name>',
  summary: 'delete a stream and its messages',
  connects: true,
  flags: FORCE_FLAG,
  async run(inv) {
    const name = inv.flags.required(0, '<name>');
    await confirm(inv, `Really delete stream ${name}?`);
    const { jsm } = await connectJsm(inv);
    await jsm.streams.delete(name);
    inv.out.note(`Deleted stream ${name}`);
    return 0;
  },
};

const PURGE: ToolCommand = {
  words: 'stream purge',
  args: '<name>',
  summary: 'remove messages from a stream (all, or by --subject/--seq/--keep)',
  connects: true,
  flags: {
    ...FORCE_FLAG,
    ...JSON_FLAG,
    subject: { kind: 'string', help: 'only messages on this subject' },
    seq: { kind: 'string', help: 'remove messages below this sequence' },
    keep: { kind: 'string', help: 'keep this many of the newest messages' },
  },
  async run(inv) {
    const name = inv.flags.required(0, '<name>');
    if (inv.flags.has('seq') && inv.flags.has('keep')) throw new ToolError('give --seq or --keep, not both');
    const filter = inv.flags.str('subject');
    const opts = {
      ...(filter !== undefined ? { filter } : {}),
      ...(inv.flags.has('seq') ? { seq: inv.flags.int('seq', 0) } : {}),
      ...(inv.flags.has('keep') ? { keep: inv.flags.int('keep', 0) } : {}),
    };
    await confirm(inv, `Really purge stream ${name}?`);
    const { jsm } = await connectJsm(inv);
    const r = await jsm.streams.purge(name, opts as Parameters<typeof jsm.streams.purge>[1]);
    if (inv.flags.bool('json')) inv.out.json(r);
    else inv.out.note(`Purged ${r.purged} messages from ${name}`);
    return 0;
  },
};

const GET: ToolCommand = {
  words: 'stream get',
  args: '<name> [seq]',
  summary: 'show one stored message, by sequence or --last-for subject',
  connects: true,
  flags: { ...JSON_FLAG, 'last-for': { kind: 'string', help: 'the last message on this subject' } },
  async run(inv) {
    const name = inv.flags.required(0, '<name>');
    const lastFor = inv.flags.str('last-for');
    const seqText = inv.flags.positionals[1];
    if ((lastFor === undefined) === (seqText === undefined)) throw new ToolError('give a sequence or --last-for <subject>');
    if (seqText !== undefined && !/^\d+$/.test(seqText)) throw new ToolError(`invalid sequence ${JSON.stringify(seqText)}`);
    const { jsm } = await connectJsm(inv);
    const m = await jsm.streams.getMessage(name, lastFor !== undefined ? { last_by_subj: lastFor } : { seq: Number(seqText) });
    if (!m) throw new ToolError(`no message ${lastFor !== undefined ? `on ${JSON.stringify(lastFor)}` : `with sequence ${seqText}`} in stream ${name}`);
    const hdrs: Record<string, string[]> = {};
    for (const k of m.header.keys()) hdrs[k] = m.header.values(k);
    if (inv.flags.bool('json')) {
      inv.out.json({ subject: m.subject, seq: m.seq, time: m.timestamp, ...(Object.keys(hdrs).length ? { headers: hdrs } : {}), data: m.string() });
      return 0;
    }
    inv.out.line(inv.out.bold(`Item: ${name}#${m.seq} received ${m.timestamp} on Subject ${m.subject}`));
    for (const [k, vs] of Object.entries(hdrs)) for (const v of vs) inv.out.line(`${k}: ${v}`);
    inv.out.line();
    inv.out.line(m.string());
    return 0;
  },
};

/** One message of a backup file: enough to publish it again. */
interface BackupMessage {
  subject: string;
  seq: number;
  time: string;
  headers?: Record<string, string[]>;
  /** base64, so any payload survives JSON. */
  data: string;
}

const BACKUP: ToolCommand = {
  words: 'stream backup',
  args: '<name> <file>',
  summary: 'save a stream\'s config and messages to a JSON file (read with an ordered consumer)',
  connects: true,
  flags: {},
  async run(inv) {
    const name = inv.flags.required(0, '<name>');
    const file = inv.flags.required(1, '<file>');
    const { conn, jsm } = await connectJsm(inv);
    const si = await jsm.streams.info(name);
    const messages: BackupMessage[] = [];
    if (si.state.messages > 0) {
      const consumer = await jetstream(conn.nc, { timeout: conn.settings.timeoutMs }).consumers.get(name, { deliver_policy: DeliverPolicy.All });
      const iter = await consumer.consume();
      for await (const m of iter) {
        const hdrs: Record<string, string[]> = {};
        if (m.headers) for (const k of m.headers.keys()) hdrs[k] = m.headers.values(k);
        messages.push({ subject: m.subject, seq: m.seq, time: new Date(Math.floor(m.info.timestampNanos / 1e6)).toISOString(), ...(m.headers ? { headers: hdrs } : {}), data: Buffer.from(m.data).toString('base64') });
        if (m.info.pending === 0 || m.seq >= si.state.last_seq) break;
      }
      await iter.close();
    }
    writeFileSync(file, `${JSON.stringify({ config: si.config, messages }, null, 1)}\n`);
    inv.out.note(`Backed up stream ${name}: ${messages.length} messages to ${file}`);
    return 0;
  },
};

const RESTORE: ToolCommand = {
  words: 'stream restore',
  args: '<file>',
  summary: 'create a stream from a backup file and publish its messages again (new sequences)',
  connects: true,
  flags: {},
  async run(inv) {
    const file = inv.flags.required(0, '<file>');
    const backup = readJsonConfig(file, 'backup');
    const config = backup.config as StreamConfig | undefined;
    const messages = backup.messages as BackupMessage[] | undefined;
    if (!config || typeof config.name !== 'string' || !Array.isArray(messages)) throw new ToolError(`backup file ${file} needs "config" with a "name" and "messages"`);
    const { conn, jsm } = await connectJsm(inv);
    await jsm.streams.add(config);
    const js = jetstream(conn.nc, { timeout: conn.settings.timeoutMs });
    for (const m of messages) {
      const h = makeHeaders();
      for (const [k, vs] of Object.entries(m.headers ?? {})) for (const v of vs) h.append(k, v);
      await js.publish(m.subject, Buffer.from(m.data, 'base64'), { headers: h });
    }
    inv.out.note(`Restored stream ${config.name}: ${messages.length} messages`);
    return 0;
  },
};

export const STREAM_COMMANDS: readonly ToolCommand[] = [ADD, EDIT, INFO, LS, RM, PURGE, GET, BACKUP, RESTORE];
