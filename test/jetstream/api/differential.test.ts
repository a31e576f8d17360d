/**
 * The same `$JS.API` stream requests sent to nats-server 2.9.10 (-js, temp
 * store dir) and to Natter: response types, error codes and field sets
 * must agree. Times and ids differ by nature and are not compared.
 *
 * Natter answers like nats-server 2.10, so a few fields exist only on
 * Natter's side; they are listed in TEN_ONLY and removed before comparing:
 * stream config `compression` and `consumer_limits`, stream info `ts` and
 * (info/list) `cluster`, account info `reserved_memory`/`reserved_storage`.
 * Deliberate 2.10 behaviour left out of the steps: duplicate sources are
 * refused (10140) where 2.9.10 accepts them; limits below -1 read as -1.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { connect, headers, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { natsServerJetStream, natterJetStream, type JetStreamTarget } from '../../helpers/jetstream-targets.js';

const TEN_ONLY = new Set(['compression', 'consumer_limits', 'ts', 'cluster', 'reserved_memory', 'reserved_storage']);

/** A request: subject, body, and optionally headers (publishes that test the expected-* checks). */
type Step = [subject: string, body: string, hdrs?: Record<string, string>];

const S = (o: unknown): string => JSON.stringify(o);

const STEPS: readonly Step[] = [
  ['$JS.API.INFO', ''],
  ['$JS.API.STREAM.CREATE.S', S({ name: 'S', subjects: ['a.>'], storage: 'memory' })],
  ['$JS.API.STREAM.CREATE.S', S({ name: 'S', subjects: ['a.>'], storage: 'memory' })],
  ['$JS.API.STREAM.CREATE.T', S({ name: 'T', subjects: ['a.b'], storage: 'memory' })],
  ['$JS.API.STREAM.CREATE.X', S({ name: 'Y', storage: 'memory' })],
  ['$JS.API.STREAM.CREATE.X', '{'],
  ['$JS.API.STREAM.CREATE.X', S({ name: 'X', storage: 'memory', sealed: true })],
  ['$JS.API.STREAM.CREATE.X', S({ name: 'X', storage: 'memory', num_replicas: 3 })],
  ['$JS.API.STREAM.CREATE.X', S({ name: 'X', storage: 'memory', subjects: ['x.*', 'x.y'] })],
  ['$JS.API.STREAM.CREATE.X', S({ name: 'X', storage: 'memory', max_age: 1000 })],
  ['$JS.API.STREAM.CREATE.X', S({ name: 'X', storage: 'memory', mirror: { name: 'S' }, subjects: ['m'] })],
  ['$JS.API.STREAM.CREATE.X', S({ name: 'X', storage: 'memory', deny_purge: true, allow_rollup_hdrs: true })],
  ['$JS.API.STREAM.CREATE.X', S({ name: 'X', storage: 'memory', subjects: ['$JS.API.>'] })],
  ['$JS.API.STREAM.CREATE.X', S({ name: 'X', storage: 'memory', max_msgs: 'many' })],
  ['$JS.API.STREAM.CREATE.X', S({ name: 'X', storage: 'memory', discard_new_per_subject: true, discard: 'new' })],
  ['$JS.API.STREAM.CREATE.X', S({ name: 'X', storage: 'memory', duplicate_window: 10 })],
  ['$JS.API.STREAM.CREATE.X', S({ name: 'X', storage: 'memory', max_age: -1 })],
  ['$JS.API.STREAM.CREATE.X', S({ name: 'X', storage: 'memory', retention: 'forever' })],
  ['a.1', 'one'],
  ['a.2', 'two'],
  ['a.1', 'three'],
  ['a.1', 'dup', { 'Nats-Msg-Id': 'x1' }],
  ['a.1', 'dup', { 'Nats-Msg-Id': 'x1' }],
  ['a.2', 'e', { 'Nats-Expected-Last-Sequence': '1' }],
  ['a.2', 'e', { 'Nats-Expected-Last-Subject-Sequence': '9' }],
  ['a.2', 'e', { 'Nats-Expected-Stream': 'Z' }],
  ['a.2', 'e', { 'Nats-Expected-Last-Msg-Id': 'nope' }],
  ['a.2', 'e', { 'Nats-Expected-Last-Sequence': '4', 'Nats-Expected-Stream': 'S' }],
  ['$JS.API.STREAM.INFO.S', S({ subjects_filter: '>' })],
  ['$JS.API.STREAM.INFO.NOPE', ''],
  ['$JS.API.STREAM.NAMES', ''],
  ['$JS.API.STREAM.NAMES', S({ subject: 'a.z' })],
  ['$JS.API.STREAM.NAMES', S({ offset: 10 })],
  ['$JS.API.STREAM.NAMES', '{bad'],
  ['$JS.API.STREAM.INFO.S', '{bad'],
  ['$JS.API.STREAM.PURGE.S', '{bad'],
  ['$JS.API.STREAM.UPDATE.S', S({ name: 'T', storage: 'memory' })],
  ['$JS.API.STREAM.LIST', ''],
  ['$JS.API.STREAM.MSG.GET.S', S({ seq: 1 })],
  ['$JS.API.STREAM.MSG.GET.S', S({ last_by_subj: 'a.1' })],
  ['$JS.API.STREAM.MSG.GET.S', S({ seq: 99 })],
  ['$JS.API.STREAM.MSG.GET.S', S({ seq: 1, last_by_subj: 'a.1' })],
  ['$JS.API.STREAM.MSG.DELETE.S', S({ seq: 2 })],
  ['$JS.API.STREAM.INFO.S', S({ deleted_details: true })],
  ['$JS.API.STREAM.PURGE.S', S({ filter: 'a.1', keep: 1 })],
  ['$JS.API.STREAM.PURGE.S', S({ seq: 2, keep: 1 })],
  ['$JS.API.STREAM.UPDATE.S', S({ name: 'S', subjects: ['a.>'], storage: 'file' })],
  ['$JS.API.STREAM.UPDATE.S', S({ name: 'S', subjects: ['a.>'], storage: 'memory', max_msgs: 10 })],
  ['$JS.API.STREAM.UPDATE.NOPE', S({ name: 'NOPE', storage: 'memory' })],
  ['$JS.API.STREAM.PURGE.S', ''],
  ['$JS.API.STREAM.MSG.GET.S', '{}'],
  ['$JS.API.STREAM.DELETE.S', S({ x: 1 })],
  ['$JS.API.STREAM.DELETE.S', '{}'],
  ['$JS.API.STREAM.DELETE.S', ''],
  ['$JS.API.INFO', ''],
];

/** The shape of a response: key paths (array elements merged), with 2.10-only keys removed. */
function shape(v: unknown, path = '', out = new Set<string>()): Set<string> {
  if (Array.isArray(v)) {
    for (const x of v) shape(x, `${path}[]`, out);
  } else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (TEN_ONLY.has(k)) continue;
      const p = path === '' ? k : `${path}.${k}`;
      out.add(p);
      // Per-subject counts are keyed by subject: their names are data, not shape.
      if (k !== 'subjects' || Array.isArray(x)) shape(x, p, out);
    }
  }
  return out;
}

async function run(target: JetStreamTarget): Promise<Array<Record<string, unknown>>> {
  const nc: NatsConnection = await connect({ servers: target.url });
  const out: Array<Record<string, unknown>> = [];
  try {
    for (const [subject, body, hdrs] of STEPS) {
      let h: MsgHdrs | undefined;
      if (hdrs !== undefined) {
        h = headers();
        for (const [k, v] of Object.entries(hdrs)) h.set(k, v);
      }
      const m = await nc.request(subject, body, { timeout: 3000, headers: h });
      out.push(JSON.parse(new TextDecoder().decode(m.data)) as Record<string, unknown>);
    }
  } finally {
    await nc.close();
  }
  return out;
}

describe('stream API differential (nats-server 2.9.10 vs Natter)', () => {
  let ref: Array<Record<string, unknown>>;
  let ours: Array<Record<string, unknown>>;

  before(async () => {
    const a = await natsServerJetStream.start();
    try {
      ref = await run(a);
    } finally {
      await a.stop();
    }
    const b = await natterJetStream.start();
    try {
      ours = await run(b);
    } finally {
      await b.stop();
    }
  });


  it('answers every request with the same type, error and fields', () => {
    for (let i = 0; i < STEPS.length; i++) {
      const what = `${STEPS[i][0]} ${STEPS[i][1]}`;
      const r = ref[i];
      const o = ours[i];
      assert.equal(o.type, r.type, what);
      const re = r.error as { code: number; err_code: number } | undefined;
      const oe = o.error as { code: number; err_code: number } | undefined;
      assert.equal(oe?.err_code, re?.err_code, `${what}: ${JSON.stringify(o.error)} vs ${JSON.stringify(r.error)}`);
      assert.equal(oe?.code, re?.code, what);
      assert.deepEqual([...shape(o)].sort(), [...shape(r)].sort(), what);
    }
  });

  it('acknowledges publishes with the same stream and sequences', () => {
    for (let i = 0; i < STEPS.length; i++) {
      if (STEPS[i][0].startsWith('$JS.')) continue;
      assert.deepEqual(ours[i], ref[i], STEPS[i][0]);
    }
  });

  it('reports the same state numbers', () => {
    for (let i = 0; i < STEPS.length; i++) {
      const rs = ref[i].state as Record<string, unknown> | undefined;
      const os = ours[i].state as Record<string, unknown> | undefined;
      if (rs === undefined) continue;
      for (const k of ['messages', 'first_seq', 'last_seq', 'num_subjects', 'num_deleted', 'deleted', 'subjects', 'consumer_count']) {
        assert.deepEqual(os?.[k], rs[k], `${STEPS[i][0]} state.${k}`);
      }
    }
    for (const k of ['total', 'offset', 'limit', 'purged', 'success', 'streams']) {
      for (let i = 0; i < STEPS.length; i++) {
        if (typeof ref[i][k] === 'number' || typeof ref[i][k] === 'boolean') assert.equal(ours[i][k], ref[i][k], `${STEPS[i][0]} ${k}`);
      }
    }
  });
});
