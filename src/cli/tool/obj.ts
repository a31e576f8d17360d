/** `natter obj add|put|get|ls|rm|info`: object store buckets and files. */
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Objm, StorageType, type ObjectInfo, type ObjectStoreStatus } from '@nats-io/obj';
import { JSON_FLAG, type Invocation, type ToolCommand } from './command.js';
import { ToolError } from './errors.js';
import { choice, confirm, FORCE_FLAG, msToNanos } from './jsutil.js';
import { humanBytes, nanosText, type ToolOutput } from './output.js';

async function objm(inv: Invocation): Promise<Objm> {
  const conn = await inv.connect();
  return new Objm(conn.nc);
}

function printStatus(out: ToolOutput, s: ObjectStoreStatus): void {
  out.line(out.bold(`Information for Object Store Bucket ${s.bucket}`));
  out.line();
  out.fields([
    ['Description', s.description],
    ['Replicas', s.replicas],
    ['TTL', nanosText(s.ttl, 'unlimited')],
    ['Sealed', s.sealed],
    ['Size', humanBytes(s.size)],
    ['Storage', s.storage],
    ['Backing Store', s.backingStore],
  ]);
}

function printObject(out: ToolOutput, o: ObjectInfo): void {
  out.line(out.bold(`Object information for ${o.bucket} > ${o.name}`));
  out.line();
  out.fields([
    ['Size', humanBytes(o.size)],
    ['Modification Time', o.mtime],
    ['Chunks', o.chunks],
    ['Digest', o.digest],
    ['Description', o.description],
  ]);
}

function objectJson(o: ObjectInfo): Record<string, unknown> {
  return { bucket: o.bucket, name: o.name, size: o.size, chunks: o.chunks, digest: o.digest, mtime: o.mtime, description: o.description, revision: o.revision };
}

const ADD: ToolCommand = {
  words: 'obj add',
  args: '<bucket>',
  summary: 'create an object store bucket',
  connects: true,
  flags: {
    ...JSON_FLAG,
    ttl: { kind: 'string', help: 'how long objects live, e.g. 24h' },
    replicas: { kind: 'string', help: 'replicas (default 1)' },
    storage: { kind: 'string', help: 'file or memory' },
    description: { kind: 'string', help: 'what the bucket is for' },
  },
  async run(inv) {
    const bucket = inv.flags.required(0, '<bucket>');
    const storage = choice(inv.flags.str('storage'), 'storage', ['file', 'memory'] as const);
    const os = await (await objm(inv)).create(bucket, {
      replicas: inv.flags.int('replicas', 1),
      ...(inv.flags.has('ttl') ? { ttl: msToNanos(inv.flags.durationMs('ttl', 0)) } : {}),
      ...(storage ? { storage: storage === 'memory' ? StorageType.Memory : StorageType.File } : {}),
      ...(inv.flags.has('description') ? { description: inv.flags.str('description') } : {}),
    });
    const status = await os.status();
    if (inv.flags.bool('json')) inv.out.json({ bucket: status.bucket, description: status.description, ttl: status.ttl, replicas: status.replicas, storage: status.storage, size: status.size, sealed: status.sealed });
    else printStatus(inv.out, status);
    return 0;
  },
};

const PUT: ToolCommand = {
  words: 'obj put',
  args: '<bucket> <file>',
  summary: 'store a file (--name to store it under another name)',
  connects: true,
  flags: { ...JSON_FLAG, name: { kind: 'string', help: 'object name (default: the file name)' }, description: { kind: 'string', help: 'object description' } },
  async run(inv) {
    const bucket = inv.flags.required(0, '<bucket>');
    const file = inv.flags.required(1, '<file>');
    try {
      if (!statSync(file).isFile()) throw new ToolError(`${file} is not a file`);
    } catch (e) {
      if (e instanceof ToolError) throw e;
      throw new ToolError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const os = await (await objm(inv)).open(bucket);
    const name = inv.flags.str('name') ?? basename(file);
    const description = inv.flags.str('description');
    // node:stream/web's ReadableStream and the global one the client types use are the same class under two type names.
    const info = await os.put({ name, ...(description !== undefined ? { description } : {}) }, Readable.toWeb(createReadStream(file)) as unknown as ReadableStream<Uint8Array>);
    if (inv.flags.bool('json')) inv.out.json(objectJson(info));
    else printObject(inv.out, info);
    return 0;
  },
};

const GET: ToolCommand = {
  words: 'obj get',
  args: '<bucket> <name>',
  summary: 'fetch an object into a file (--output, default: its name) or stdout (--output -)',
  connects: true,
  flags: { output: { kind: 'string', short: 'O', help: 'where to write it; - for stdout' } },
  async run(inv) {
    const bucket = inv.flags.required(0, '<bucket>');
    const name = inv.flags.required(1, '<name>');
    const os = await (await objm(inv)).open(bucket);
    const result = await os.get(name);
    if (!result) throw new ToolError(`no object ${JSON.stringify(name)} in bucket ${bucket}`);
    const target = inv.flags.str('output') ?? basename(name);
    const source = Readable.fromWeb(result.data as unknown as WebReadableStream<Uint8Array>);
    const sink = target === '-' ? new Writable({ write: (chunk: Buffer, _enc, done) => (inv.out.write(chunk), done()) }) : createWriteStream(target);
    await pipeline(source, sink);
    const error = await result.error;
    if (error) throw error;
    if (target !== '-') inv.out.note(`Wrote ${humanBytes(result.info.size)} to ${target}`);
    return 0;
  },
};

const LS: ToolCommand = {
  words: 'obj ls',
  args: '[bucket]',
  summary: 'list buckets, or the objects of one bucket',
  connects: true,
  flags: JSON_FLAG,
  async run(inv) {
    const bucket = inv.flags.positionals[0];
    const manager = await objm(inv);
    if (bucket !== undefined) {
      const objects = (await (await manager.open(bucket)).list()).filter((o) => !o.deleted).sort((a, b) => a.name.localeCompare(b.name));
      if (inv.flags.bool('json')) inv.out.json(objects.map(objectJson));
      else if (objects.length === 0) inv.out.note(`No objects in bucket ${bucket}`);
      else inv.out.table(['Name', 'Size', 'Time'], objects.map((o) => [o.name, humanBytes(o.size), o.mtime]));
      return 0;
    }
    const statuses: ObjectStoreStatus[] = [];
    for await (const s of manager.list()) statuses.push(s);
    statuses.sort((a, b) => a.bucket.localeCompare(b.bucket));
    if (inv.flags.bool('json')) inv.out.json(statuses.map((s) => ({ bucket: s.bucket, description: s.description, size: s.size, sealed: s.sealed })));
    else if (statuses.length === 0) inv.out.note('No Object Store buckets found');
    else inv.out.table(['Bucket', 'Description', 'Size', 'Sealed'], statuses.map((s) => [s.bucket, s.description, humanBytes(s.size), String(s.sealed)]));
    return 0;
  },
};

const RM: ToolCommand = {
  words: 'obj rm',
  args: '<bucket> [name]',
  summary: 'delete an object, or with no name the whole bucket',
  connects: true,
  flags: FORCE_FLAG,
  async run(inv) {
    const bucket = inv.flags.required(0, '<bucket>');
    const name = inv.flags.positionals[1];
    await confirm(inv, name === undefined ? `Really delete bucket ${bucket}?` : `Really delete ${bucket} > ${name}?`);
    const os = await (await objm(inv)).open(bucket);
    if (name === undefined) {
      await os.destroy();
      inv.out.note(`Deleted bucket ${bucket}`);
    } else {
      if (!(await os.info(name))) throw new ToolError(`no object ${JSON.stringify(name)} in bucket ${bucket}`);
      await os.delete(name);
      inv.out.note(`Deleted ${bucket} > ${name}`);
    }
    return 0;
  },
};

const INFO: ToolCommand = {
  words: 'obj info',
  args: '<bucket> [name]',
  summary: 'show a bucket, or one object',
  connects: true,
  flags: JSON_FLAG,
  async run(inv) {
    const bucket = inv.flags.required(0, '<bucket>');
    const name = inv.flags.positionals[1];
    const os = await (await objm(inv)).open(bucket);
    if (name === undefined) {
      const s = await os.status();
      if (inv.flags.bool('json')) inv.out.json({ bucket: s.bucket, description: s.description, ttl: s.ttl, replicas: s.replicas, storage: s.storage, size: s.size, sealed: s.sealed });
      else printStatus(inv.out, s);
      return 0;
    }
    const info = await os.info(name);
    if (!info || info.deleted) throw new ToolError(`no object ${JSON.stringify(name)} in bucket ${bucket}`);
    if (inv.flags.bool('json')) inv.out.json(objectJson(info));
    else printObject(inv.out, info);
    return 0;
  },
};

export const OBJ_COMMANDS: readonly ToolCommand[] = [ADD, PUT, GET, LS, RM, INFO];
