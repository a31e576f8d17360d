/** `natter kv add|put|get|del|history|watch|ls|status|rm`: key/value buckets. */
import { JetStreamApiError, StorageType } from '@nats-io/jetstream';
import { Kvm, type KV, type KvEntry, type KvStatus } from '@nats-io/kv';
import { JSON_FLAG, type Invocation, type ToolCommand } from './command.js';
import { ToolError } from './errors.js';
import { choice, confirm, FORCE_FLAG } from './jsutil.js';
import { humanBytes, nanosText, type ToolOutput } from './output.js';

async function kvm(inv: Invocation, longRunning = false): Promise<Kvm> {
  const conn = await inv.connect({ longRunning });
  return new Kvm(conn.nc);
}

/**
 * The bucket, checked to exist: the client's open() only binds, so a
 * missing bucket would otherwise surface later as "jetstream is not enabled".
 */
export async function openBucket(manager: Kvm, bucket: string): Promise<KV> {
  const kv = await manager.open(bucket);
  try {
    await kv.status();
  } catch (e) {
    if (e instanceof JetStreamApiError && e.status === 404) throw new ToolError(`no key/value bucket ${JSON.stringify(bucket)}`);
    throw e;
  }
  return kv;
}

function entryJson(e: KvEntry): Record<string, unknown> {
  return { bucket: e.bucket, key: e.key, revision: e.revision, operation: e.operation, created: e.created.toISOString(), value: e.string() };
}

function printEntry(out: ToolOutput, e: KvEntry): void {
  const op = e.operation === 'PUT' ? '' : ` ${e.operation}`;
  out.line(`[${e.created.toISOString()}]${op} ${e.bucket} > ${e.key}: ${e.operation === 'PUT' ? e.string() : ''}`.trimEnd());
}

function printStatus(out: ToolOutput, s: KvStatus): void {
  out.line(out.bold(`Information for Key-Value Store Bucket ${s.bucket}`));
  out.line();
  out.fields([
    ['Description', s.description],
    ['Values Stored', s.values],
    ['History Kept', s.history],
    ['Maximum Age', nanosText(s.ttl * 1e6, 'unlimited')],
    ['Maximum Bucket Size', humanBytes(s.max_bytes)],
    ['Maximum Value Size', s.maxValueSize < 0 ? 'unlimited' : humanBytes(s.maxValueSize)],
    ['Storage', s.streamInfo.config.storage],
    ['Replicas', s.replicas],
    ['Backing Store', s.streamInfo.config.name],
    ['Size', humanBytes(s.size)],
  ]);
}

function statusJson(s: KvStatus): Record<string, unknown> {
  return { bucket: s.bucket, description: s.description, values: s.values, history: s.history, ttl: s.ttl, max_bytes: s.max_bytes, max_value_size: s.maxValueSize, replicas: s.replicas, size: s.size, stream: s.streamInfo.config.name, storage: s.streamInfo.config.storage };
}

const ADD: ToolCommand = {
  words: 'kv add',
  args: '<bucket>',
  summary: 'create a bucket',
  connects: true,
  flags: {
    ...JSON_FLAG,
    history: { kind: 'string', help: 'values kept per key (default 1)' },
    ttl: { kind: 'string', help: 'how long values live, e.g. 1h' },
    'max-value-size': { kind: 'string', help: 'largest value (-1 unlimited)' },
    'max-bucket-size': { kind: 'string', help: 'largest bucket (-1 unlimited)' },
    replicas: { kind: 'string', help: 'replicas (default 1)' },
    storage: { kind: 'string', help: 'file or memory' },
    description: { kind: 'string', help: 'what the bucket is for' },
  },
  async run(inv) {
    const bucket = inv.flags.required(0, '<bucket>');
    const storage = choice(inv.flags.str('storage'), 'storage', ['file', 'memory'] as const);
    const opts = {
      history: inv.flags.int('history', 1),
      ttl: inv.flags.durationMs('ttl', 0),
      maxValueSize: inv.flags.bytes('max-value-size', -1),
      max_bytes: inv.flags.bytes('max-bucket-size', -1),
      replicas: inv.flags.int('replicas', 1),
      ...(storage ? { storage: storage === 'memory' ? StorageType.Memory : StorageType.File } : {}),
      ...(inv.flags.has('description') ? { description: inv.flags.str('description') } : {}),
    };
    const kv = await (await kvm(inv)).create(bucket, opts);
    const status = await kv.status();
    if (inv.flags.bool('json')) inv.out.json(statusJson(status));
    else printStatus(inv.out, status);
    return 0;
  },
};

const PUT: ToolCommand = {
  words: 'kv put',
  args: '<bucket> <key> <value>',
  summary: 'store a value',
  connects: true,
  flags: {},
  async run(inv) {
    const bucket = inv.flags.required(0, '<bucket>');
    const key = inv.flags.required(1, '<key>');
    const value = inv.flags.positionals[2];
    if (value === undefined) throw new ToolError('missing argument: <value>');
    const kv = await openBucket(await kvm(inv), bucket);
    const revision = await kv.put(key, value);
    inv.out.line(value);
    inv.out.note(`Stored ${bucket} > ${key} revision ${revision}`);
    return 0;
  },
};

const GET: ToolCommand = {
  words: 'kv get',
  args: '<bucket> <key>',
  summary: 'print a value',
  connects: true,
  flags: { ...JSON_FLAG, raw: { kind: 'boolean', short: 'r', help: 'print only the value' }, revision: { kind: 'string', help: 'this revision of the key' } },
  async run(inv) {
    const bucket = inv.flags.required(0, '<bucket>');
    const key = inv.flags.required(1, '<key>');
    const kv = await openBucket(await kvm(inv), bucket);
    const revision = inv.flags.int('revision', 0);
    const e = await kv.get(key, revision > 0 ? { revision } : undefined);
    if (!e || e.operation !== 'PUT') throw new ToolError(`no value for ${bucket} > ${key}${revision > 0 ? ` at revision ${revision}` : ''}`);
    if (inv.flags.bool('json')) inv.out.json(entryJson(e));
    else if (inv.flags.bool('raw')) inv.out.write(e.value);
    else {
      inv.out.line(inv.out.bold(`${bucket} > ${key} revision: ${e.revision} created @ ${e.created.toISOString()}`));
      inv.out.line();
      inv.out.line(e.string());
    }
    return 0;
  },
};

const DEL: ToolCommand = {
  words: 'kv del',
  args: '<bucket> [key]',
  summary: 'delete a key (its history stays), or with no key the whole bucket',
  connects: true,
  flags: FORCE_FLAG,
  async run(inv) {
    const bucket = inv.flags.required(0, '<bucket>');
    const key = inv.flags.positionals[1];
    await confirm(inv, key === undefined ? `Really delete bucket ${bucket}?` : `Really delete ${bucket} > ${key}?`);
    const kv = await openBucket(await kvm(inv), bucket);
    if (key === undefined) {
      await kv.destroy();
      inv.out.note(`Deleted bucket ${bucket}`);
    } else {
      await kv.delete(key);
      inv.out.note(`Deleted ${bucket} > ${key}`);
    }
    return 0;
  },
};

const HISTORY: ToolCommand = {
  words: 'kv history',
  args: '<bucket> <key>',
  summary: 'every kept revision of a key',
  connects: true,
  flags: JSON_FLAG,
  async run(inv) {
    const bucket = inv.flags.required(0, '<bucket>');
    const key = inv.flags.required(1, '<key>');
    const kv = await openBucket(await kvm(inv), bucket);
    const entries: KvEntry[] = [];
    for await (const e of await kv.history({ key })) entries.push(e);
    if (inv.flags.bool('json')) inv.out.json(entries.map(entryJson));
    else if (entries.length === 0) throw new ToolError(`no history for ${bucket} > ${key}`);
    else inv.out.table(['Key', 'Revision', 'Op', 'Created', 'Length', 'Value'], entries.map((e) => [e.key, e.revision, e.operation, e.created.toISOString(), e.length, e.operation === 'PUT' ? e.string() : '']));
    return 0;
  },
};

const WATCH: ToolCommand = {
  words: 'kv watch',
  args: '<bucket> [key]',
  summary: 'print changes as they happen (the current values first)',
  connects: true,
  flags: { ...JSON_FLAG, count: { kind: 'string', help: 'stop after this many updates' } },
  async run(inv) {
    const bucket = inv.flags.required(0, '<bucket>');
    const key = inv.flags.positionals[1] ?? '>';
    const count = inv.flags.int('count', 0);
    const kv = await openBucket(await kvm(inv, true), bucket);
    const watcher = await kv.watch({ key });
    inv.out.note(`Watching ${bucket} > ${key}`);
    const json = inv.flags.bool('json');
    const print = (async () => {
      let n = 0;
      for await (const e of watcher) {
        if (json) inv.out.line(JSON.stringify(entryJson(e)));
        else printEntry(inv.out, e);
        if (count > 0 && ++n >= count) break;
      }
    })();
    await Promise.race([print, inv.interrupted()]);
    watcher.stop();
    return 0;
  },
};

const LS: ToolCommand = {
  words: 'kv ls',
  args: '[bucket]',
  summary: 'list buckets, or the keys of one bucket',
  connects: true,
  flags: { ...JSON_FLAG, names: { kind: 'boolean', short: 'n', help: 'bucket names only' } },
  async run(inv) {
    const bucket = inv.flags.positionals[0];
    const manager = await kvm(inv);
    if (bucket !== undefined) {
      const keys: string[] = [];
      for await (const k of await (await openBucket(manager, bucket)).keys()) keys.push(k);
      keys.sort();
      if (inv.flags.bool('json')) inv.out.json(keys);
      else for (const k of keys) inv.out.line(k);
      return 0;
    }
    const statuses: KvStatus[] = [];
    for await (const s of manager.list()) statuses.push(s);
    statuses.sort((a, b) => a.bucket.localeCompare(b.bucket));
    if (inv.flags.bool('json')) inv.out.json(inv.flags.bool('names') ? statuses.map((s) => s.bucket) : statuses.map(statusJson));
    else if (inv.flags.bool('names')) for (const s of statuses) inv.out.line(s.bucket);
    else if (statuses.length === 0) inv.out.note('No Key-Value buckets found');
    else inv.out.table(['Bucket', 'Description', 'Values', 'Size'], statuses.map((s) => [s.bucket, s.description, s.values, humanBytes(s.size)]));
    return 0;
  },
};

const STATUS: ToolCommand = {
  words: 'kv status',
  args: '<bucket>',
  summary: 'show a bucket\'s settings and size',
  connects: true,
  flags: JSON_FLAG,
  async run(inv) {
    const bucket = inv.flags.required(0, '<bucket>');
    const status = await (await openBucket(await kvm(inv), bucket)).status();
    if (inv.flags.bool('json')) inv.out.json(statusJson(status));
    else printStatus(inv.out, status);
    return 0;
  },
};

export const KV_COMMANDS: readonly ToolCommand[] = [ADD, PUT, GET, DEL, HISTORY, WATCH, LS, STATUS];
