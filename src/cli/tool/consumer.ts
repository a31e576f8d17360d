/**
 * `natter consumer add|edit|info|ls|rm|next`: JetStream consumers with
 * natscli's flag names, or a config from `--config file.json`.
 */
import { AckPolicy, DeliverPolicy, jetstream, ReplayPolicy, type ConsumerConfig, type ConsumerInfo } from '@nats-io/jetstream';
import type { Flags } from './args.js';
import { JSON_FLAG, type ToolCommand } from './command.js';
import { ToolError } from './errors.js';
import { choice, confirm, connectJsm, FORCE_FLAG, msToNanos, readJsonConfig } from './jsutil.js';
import { messageView, printMessage } from './messaging.js';
import { nanosText, type ToolOutput } from './output.js';

const CONFIG_FLAGS = {
  config: { kind: 'string', help: 'consumer configuration as JSON (flags override its fields)' },
  filter: { kind: 'string', help: 'only messages on these subjects (comma separated)' },
  ack: { kind: 'string', help: 'explicit, all or none' },
  deliver: { kind: 'string', help: 'all, last, new, last-per-subject or a start sequence' },
  replay: { kind: 'string', help: 'instant or original' },
  target: { kind: 'string', help: 'push consumer: deliver to this subject (default: a pull consumer)' },
  'deliver-group': { kind: 'string', help: 'push consumer: queue group of the subscribers' },
  'max-deliver': { kind: 'string', help: 'most deliveries of one message (-1 unlimited)' },
  'max-pending': { kind: 'string', help: 'most unacknowledged messages' },
  wait: { kind: 'string', help: 'ack wait, e.g. 30s' },
  'inactive-threshold': { kind: 'string', help: 'remove the consumer after this long unused, e.g. 1h' },
  description: { kind: 'string', help: 'what the consumer is for' },
  ...JSON_FLAG,
} as const;

function configFromFlags(flags: Flags, base: Partial<ConsumerConfig>): Partial<ConsumerConfig> {
  const cfg: Partial<ConsumerConfig> = { ...base };
  const filter = flags.str('filter');
  if (filter !== undefined) {
    const subjects = filter.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (subjects.length === 1) cfg.filter_subject = subjects[0];
    else cfg.filter_subjects = subjects;
  }
  const ack = choice(flags.str('ack'), 'ack', ['explicit', 'all', 'none'] as const);
  if (ack) cfg.ack_policy = { explicit: AckPolicy.Explicit, all: AckPolicy.All, none: AckPolicy.None }[ack];
  const deliver = flags.str('deliver');
  if (deliver !== undefined) {
    if (/^\d+$/.test(deliver)) {
      cfg.deliver_policy = DeliverPolicy.StartSequence;
      cfg.opt_start_seq = Number(deliver);
    } else {
      const d = choice(deliver, 'deliver', ['all', 'last', 'new', 'last-per-subject'] as const) as 'all' | 'last' | 'new' | 'last-per-subject';
      cfg.deliver_policy = { all: DeliverPolicy.All, last: DeliverPolicy.Last, new: DeliverPolicy.New, 'last-per-subject': DeliverPolicy.LastPerSubject }[d];
    }
  }
  const replay = choice(flags.str('replay'), 'replay', ['instant', 'original'] as const);
  if (replay) cfg.replay_policy = replay === 'instant' ? ReplayPolicy.Instant : ReplayPolicy.Original;
  const target = flags.str('target');
  if (target !== undefined) cfg.deliver_subject = target;
  const group = flags.str('deliver-group');
  if (group !== undefined) cfg.deliver_group = group;
  if (flags.has('max-deliver')) cfg.max_deliver = flags.int('max-deliver', -1);
  if (flags.has('max-pending')) cfg.max_ack_pending = flags.int('max-pending', 1000);
  if (flags.has('wait')) cfg.ack_wait = msToNanos(flags.durationMs('wait', 30_000));
  if (flags.has('inactive-threshold')) cfg.inactive_threshold = msToNanos(flags.durationMs('inactive-threshold', 0));
  const description = flags.str('description');
  if (description !== undefined) cfg.description = description;
  return cfg;
}

function printConsumerInfo(out: ToolOutput, ci: ConsumerInfo): void {
  const c = ci.config;
  out.line(out.bold(`Information for Consumer ${ci.stream_name} > ${ci.name} created ${ci.created}`));
  out.line();
  out.fields([
    ['Description', c.description],
    ['Durable Name', c.durable_name],
    ['Pull Mode', c.deliver_subject ? 'false' : 'true'],
    ['Delivery Subject', c.deliver_subject],
    ['Filter Subject', c.filter_subject ?? (c.filter_subjects ?? []).join(', ')],
    ['Deliver Policy', c.deliver_policy],
    ['Ack Policy', c.ack_policy],
    ['Ack Wait', c.ack_wait === undefined ? undefined : nanosText(c.ack_wait)],
    ['Replay Policy', c.replay_policy],
    ['Maximum Deliveries', c.max_deliver === undefined || c.max_deliver < 0 ? 'unlimited' : c.max_deliver],
    ['Max Ack Pending', c.max_ack_pending],
  ]);
  out.line();
  out.line(out.bold('State:'));
  out.line();
  out.fields([
    ['Last Delivered Message', `Consumer sequence: ${ci.delivered.consumer_seq} Stream sequence: ${ci.delivered.stream_seq}`],
    ['Acknowledgment Floor', `Consumer sequence: ${ci.ack_floor.consumer_seq} Stream sequence: ${ci.ack_floor.stream_seq}`],
    ['Outstanding Acks', ci.num_ack_pending],
    ['Redelivered Messages', ci.num_redelivered],
    ['Unprocessed Messages', ci.num_pending],
    ['Waiting Pulls', ci.num_waiting],
  ]);
}

function baseConfig(flags: Flags): Partial<ConsumerConfig> {
  const file = flags.str('config');
  return file === undefined ? {} : (readJsonConfig(file, 'consumer config') as Partial<ConsumerConfig>);
}

const ADD: ToolCommand = {
  words: 'consumer add',
  args: '<stream> <name>',
  summary: 'create a durable consumer (pull unless --target is given)',
  connects: true,
  flags: CONFIG_FLAGS,
  async run(inv) {
    const stream = inv.flags.required(0, '<stream>');
    const base = baseConfig(inv.flags);
    const name = inv.flags.positionals[1] ?? base.durable_name ?? base.name;
    if (!name) throw new ToolError('missing argument: <name> (or "durable_name" in --config)');
    const cfg = configFromFlags(inv.flags, { ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, ...base, durable_name: name });
    const { jsm } = await connectJsm(inv);
    const ci = await jsm.consumers.add(stream, cfg);
    if (inv.flags.bool('json')) inv.out.json(ci);
    else printConsumerInfo(inv.out, ci);
    return 0;
  },
};

const EDIT: ToolCommand = {
  words: 'consumer edit',
  args: '<stream> <name>',
  summary: 'change a consumer (only the fields given change)',
  connects: true,
  flags: CONFIG_FLAGS,
  async run(inv) {
    const stream = inv.flags.required(0, '<stream>');
    const name = inv.flags.required(1, '<name>');
    const { jsm } = await connectJsm(inv);
    const current = await jsm.consumers.info(stream, name);
    const cfg = configFromFlags(inv.flags, { ...current.config, ...baseConfig(inv.flags) });
    const ci = await jsm.consumers.update(stream, name, cfg);
    if (inv.flags.bool('json')) inv.out.json(ci);
    else printConsumerInfo(inv.out, ci);
    return 0;
  },
};

const INFO: ToolCommand = {
  words: 'consumer info',
  args: '<stream> <name>',
  summary: 'show a consumer and its state',
  connects: true,
  flags: JSON_FLAG,
  async run(inv) {
    const stream = inv.flags.required(0, '<stream>');
    const name = inv.flags.required(1, '<name>');
    const { jsm } = await connectJsm(inv);
    const ci = await jsm.consumers.info(stream, name);
    if (inv.flags.bool('json')) inv.out.json(ci);
    else printConsumerInfo(inv.out, ci);
    return 0;
  },
};

const LS: ToolCommand = {
  words: 'consumer ls',
  args: '<stream>',
  summary: 'list the consumers of a stream',
  connects: true,
  flags: { ...JSON_FLAG, names: { kind: 'boolean', short: 'n', help: 'names only' } },
  async run(inv) {
    const stream = inv.flags.required(0, '<stream>');
    const { jsm } = await connectJsm(inv);
    const infos: ConsumerInfo[] = [];
    for await (const ci of jsm.consumers.list(stream)) infos.push(ci);
    infos.sort((a, b) => a.name.localeCompare(b.name));
    if (inv.flags.bool('json')) inv.out.json(inv.flags.bool('names') ? infos.map((i) => i.name) : infos);
    else if (inv.flags.bool('names')) for (const i of infos) inv.out.line(i.name);
    else if (infos.length === 0) inv.out.note(`No consumers on stream ${stream}`);
    else
      inv.out.table(
        ['Name', 'Mode', 'Ack Pending', 'Unprocessed', 'Last Delivery'],
        infos.map((i) => [i.name, i.config.deliver_subject ? 'push' : 'pull', i.num_ack_pending, i.num_pending, i.delivered.last_active ?? '']),
      );
    return 0;
  },
};

const RM: ToolCommand = {
  words: 'consumer rm',
  args: '<stream> <name>',
  summary: 'delete a consumer',
  connects: true,
  flags: FORCE_FLAG,
  async run(inv) {
    const stream = inv.flags.required(0, '<stream>');
    const name = inv.flags.required(1, '<name>');
    await confirm(inv, `Really delete consumer ${stream} > ${name}?`);
    const { jsm } = await connectJsm(inv);
    await jsm.consumers.delete(stream, name);
    inv.out.note(`Deleted consumer ${stream} > ${name}`);
    return 0;
  },
};

const NEXT: ToolCommand = {
  words: 'consumer next',
  args: '<stream> <name>',
  summary: 'fetch and acknowledge the next messages of a pull consumer',
  connects: true,
  flags: {
    ...JSON_FLAG,
    count: { kind: 'string', help: 'how many messages (default 1)' },
    'no-ack': { kind: 'boolean', help: 'do not acknowledge them' },
    raw: { kind: 'boolean', short: 'r', help: 'print only the bodies' },
  },
  async run(inv) {
    const stream = inv.flags.required(0, '<stream>');
    const name = inv.flags.required(1, '<name>');
    const count = inv.flags.int('count', 1);
    const { conn } = await connectJsm(inv);
    const consumer = await jetstream(conn.nc, { timeout: conn.settings.timeoutMs }).consumers.get(stream, name);
    const batch = await consumer.fetch({ max_messages: count, expires: Math.max(1000, conn.settings.timeoutMs) });
    let n = 0;
    const view = messageView(inv.flags);
    for await (const m of batch) {
      n++;
      if (view === 'text') inv.out.note(`[#${n}] stream sequence ${m.seq}, delivered ${m.info.deliveryCount} time(s)`);
      // The reply subject is the ack subject, which is the tool's business, not the user's.
      printMessage(inv.out, { subject: m.subject, data: m.data, headers: m.headers, string: () => m.string() }, n, view);
      if (!inv.flags.bool('no-ack')) await m.ackAck();
    }
    if (n === 0) throw new ToolError(`no messages available from ${stream} > ${name}`);
    return 0;
  },
};

export const CONSUMER_COMMANDS: readonly ToolCommand[] = [ADD, EDIT, INFO, LS, RM, NEXT];
