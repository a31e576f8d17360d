/**
 * Meta group entries: one op byte, then JSON, with nats-server's op numbers
 * (0 add stream, 1 add consumer, 2 remove stream, 3 remove consumer, 11
 * update stream) and its assignment shapes: a stream assignment is
 * `{client, created, stream: <config>, group: {name, peers, store, cluster,
 * preferred}, subject, reply}`, a consumer assignment `{client, created,
 * name, stream, consumer: <config>, group, subject, reply}`. Natter adds the
 * account by name (`account`): nats-server derives it from the client, which
 * an assignment made on behalf of an import does not name reliably.
 *
 * The meta snapshot is every assignment: `{streams: [sa...], consumers: [ca...]}`.
 */
import type { ClientInfoJson } from '../../accounts/client-info.js';
import type { ConsumerConfig, StorageType, StreamConfig } from '../types.js';
import type { ConsumerAssignment, MetaOp, RaftGroupSpec, StreamAssignment } from './types.js';

const OP_ADD_STREAM = 0;
const OP_ADD_CONSUMER = 1;
const OP_REMOVE_STREAM = 2;
const OP_REMOVE_CONSUMER = 3;
const OP_UPDATE_STREAM = 11;

interface GroupJson {
  name: string;
  peers: string[];
  store: StorageType;
  cluster: string;
  preferred?: string;
}

interface StreamAssignmentJson {
  account: string;
  client?: ClientInfoJson;
  created: string;
  stream: StreamConfig;
  group: GroupJson;
  subject?: string;
  reply?: string;
}

interface ConsumerAssignmentJson {
  account: string;
  client?: ClientInfoJson;
  created: string;
  name: string;
  stream: string;
  consumer: ConsumerConfig;
  group: GroupJson;
  subject?: string;
  reply?: string;
}

export interface MetaSnapshot {
  readonly streams: readonly StreamAssignment[];
  readonly consumers: readonly ConsumerAssignment[];
}

function groupJson(g: RaftGroupSpec): GroupJson {
  const out: GroupJson = { name: g.name, peers: [...g.peers], store: g.store, cluster: g.cluster };
  if (g.preferred !== undefined) out.preferred = g.preferred;
  return out;
}

function streamJson(sa: StreamAssignment): StreamAssignmentJson {
  const out: StreamAssignmentJson = { account: sa.account, created: sa.created, stream: sa.config, group: groupJson(sa.group) };
  if (sa.client !== undefined) out.client = sa.client;
  if (sa.subject !== undefined) out.subject = sa.subject;
  if (sa.reply !== undefined) out.reply = sa.reply;
  return out;
}

function consumerJson(ca: ConsumerAssignment): ConsumerAssignmentJson {
  const out: ConsumerAssignmentJson = {
    account: ca.account, created: ca.created, name: ca.name, stream: ca.stream, consumer: ca.config, group: groupJson(ca.group),
  };
  if (ca.client !== undefined) out.client = ca.client;
  if (ca.subject !== undefined) out.subject = ca.subject;
  if (ca.reply !== undefined) out.reply = ca.reply;
  return out;
}

export function encodeMetaOp(op: MetaOp): Buffer {
  let code: number;
  let body: unknown;
  switch (op.op) {
    case 'add-stream':
      code = OP_ADD_STREAM;
      body = streamJson(op.sa);
      break;
    case 'update-stream':
      code = OP_UPDATE_STREAM;
      body = streamJson(op.sa);
      break;
    case 'remove-stream':
      code = OP_REMOVE_STREAM;
      body = { account: op.account, stream: { name: op.stream } };
      break;
    case 'add-consumer':
      code = OP_ADD_CONSUMER;
      body = consumerJson(op.ca);
      break;
    case 'remove-consumer':
      code = OP_REMOVE_CONSUMER;
      body = { account: op.account, stream: op.stream, name: op.consumer };
      break;
  }
  const json = Buffer.from(JSON.stringify(body), 'utf8');
  const out = Buffer.allocUnsafe(1 + json.length);
  out[0] = code;
  json.copy(out, 1);
  return out;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function optionalStr(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function groupFrom(v: unknown): RaftGroupSpec | null {
  if (!isObject(v)) return null;
  const name = str(v.name);
  const cluster = str(v.cluster) ?? '';
  const store = v.store === 'memory' ? 'memory' : v.store === 'file' ? 'file' : null;
  if (name === null || store === null || !Array.isArray(v.peers) || !v.peers.every((p) => typeof p === 'string')) return null;
  const preferred = optionalStr(v.preferred);
  return { name, peers: v.peers as string[], store, cluster, ...(preferred !== undefined ? { preferred } : {}) };
}

/** The request's client, subject and reply, when the entry has them. */
function withOptional<T extends { client?: ClientInfoJson; subject?: string; reply?: string }>(base: T, v: Json): T {
  const subject = optionalStr(v.subject);
  const reply = optionalStr(v.reply);
  return {
    ...base,
    ...(isObject(v.client) ? { client: v.client as unknown as ClientInfoJson } : {}),
    ...(subject !== undefined ? { subject } : {}),
    ...(reply !== undefined ? { reply } : {}),
  };
}

export function streamAssignmentFrom(v: unknown): StreamAssignment | null {
  if (!isObject(v) || !isObject(v.stream)) return null;
  const account = str(v.account);
  const created = str(v.created) ?? '';
  const group = groupFrom(v.group);
  if (account === null || group === null || typeof v.stream.name !== 'string') return null;
  return withOptional<StreamAssignment>({ account, config: v.stream as unknown as StreamConfig, group, created }, v);
}

export function consumerAssignmentFrom(v: unknown): ConsumerAssignment | null {
  if (!isObject(v) || !isObject(v.consumer)) return null;
  const account = str(v.account);
  const stream = str(v.stream);
  const name = str(v.name);
  const created = str(v.created) ?? '';
  const group = groupFrom(v.group);
  if (account === null || stream === null || name === null || group === null) return null;
  return withOptional<ConsumerAssignment>({ account, stream, name, config: v.consumer as unknown as ConsumerConfig, group, created }, v);
}

/** The op in an entry; null for anything malformed or unknown (the entry is then skipped). */
export function decodeMetaOp(data: Buffer): MetaOp | null {
  if (data.length < 2) return null;
  let body: unknown;
  try {
    body = JSON.parse(data.toString('utf8', 1));
  } catch {
    return null;
  }
  if (!isObject(body)) return null;
  switch (data[0]) {
    case OP_ADD_STREAM:
    case OP_UPDATE_STREAM: {
      const sa = streamAssignmentFrom(body);
      if (sa === null) return null;
      return data[0] === OP_ADD_STREAM ? { op: 'add-stream', sa } : { op: 'update-stream', sa };
    }
    case OP_REMOVE_STREAM: {
      const account = str(body.account);
      const stream = isObject(body.stream) ? str(body.stream.name) : null;
      return account === null || stream === null ? null : { op: 'remove-stream', account, stream };
    }
    case OP_ADD_CONSUMER: {
      const ca = consumerAssignmentFrom(body);
      return ca === null ? null : { op: 'add-consumer', ca };
    }
    case OP_REMOVE_CONSUMER: {
      const account = str(body.account);
      const stream = str(body.stream);
      const consumer = str(body.name);
      return account === null || stream === null || consumer === null ? null : { op: 'remove-consumer', account, stream, consumer };
    }
    default:
      return null;
  }
}

export function encodeMetaSnapshot(snap: MetaSnapshot): Buffer {
  return Buffer.from(JSON.stringify({ streams: snap.streams.map(streamJson), consumers: snap.consumers.map(consumerJson) }), 'utf8');
}

/** Throws on a snapshot that is not ours: restoring garbage must not pass for an empty state. */
export function decodeMetaSnapshot(data: Buffer): MetaSnapshot {
  const v: unknown = JSON.parse(data.toString('utf8'));
  if (!isObject(v) || !Array.isArray(v.streams) || !Array.isArray(v.consumers)) throw new Error('not a meta snapshot');
  const streams: StreamAssignment[] = [];
  for (const s of v.streams) {
    const sa = streamAssignmentFrom(s);
    if (sa === null) throw new Error('a stream assignment in the meta snapshot is malformed');
    streams.push(sa);
  }
  const consumers: ConsumerAssignment[] = [];
  for (const c of v.consumers) {
    const ca = consumerAssignmentFrom(c);
    if (ca === null) throw new Error('a consumer assignment in the meta snapshot is malformed');
    consumers.push(ca);
  }
  return { streams, consumers };
}
