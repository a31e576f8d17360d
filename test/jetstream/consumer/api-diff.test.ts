/**
 * Differential test of the consumer API: the same `$JS.API.CONSUMER.…`
 * requests go to nats-server 2.9.10 and to Natter; errors must agree in
 * code, err_code and description, successes in their field sets and in
 * every value that does not depend on time or random names.
 *
 * Deliberate differences (Natter answers as nats-server 2.10 does): infos
 * carry `ts` and `cluster`, and the subject forms that name the consumer
 * (`CREATE.<stream>.<name>`, `DURABLE.CREATE`) put that name in config.name.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { natsServerJetStream, natterJetStream, type JetStreamTarget } from '../../helpers/jetstream-targets.js';

type Json = Record<string, unknown>;

interface Case {
  what: string;
  subject: string;
  body?: unknown;
  /** A deliberate 2.10 difference: only the error codes must agree. */
  differs?: string;
}

const S = 'DIFF';
const cfg = (c: Json): Json => ({ stream_name: S, config: c });

const CASES: Case[] = [
  { what: 'stream', subject: `$JS.API.STREAM.CREATE.${S}`, body: { name: S, subjects: ['diff.>'], storage: 'memory' } },
  { what: 'publish 1', subject: 'diff.a', body: 'one' },
  { what: 'publish 2', subject: 'diff.b', body: 'two' },
  { what: 'durable pull', subject: `$JS.API.CONSUMER.DURABLE.CREATE.${S}.d1`, body: cfg({ durable_name: 'd1', ack_policy: 'explicit' }) },
  { what: 'same again', subject: `$JS.API.CONSUMER.DURABLE.CREATE.${S}.d1`, body: cfg({ durable_name: 'd1', ack_policy: 'explicit' }) },
  { what: 'ephemeral push', subject: `$JS.API.CONSUMER.CREATE.${S}`, body: cfg({ deliver_subject: 'out.diff', ack_policy: 'explicit', idle_heartbeat: 1e9, flow_control: true }) },
  { what: 'ack none, by start seq', subject: `$JS.API.CONSUMER.DURABLE.CREATE.${S}.d2`, body: cfg({ durable_name: 'd2', ack_policy: 'none', deliver_policy: 'by_start_sequence', opt_start_seq: 2 }) },
  { what: 'filtered, last', subject: `$JS.API.CONSUMER.DURABLE.CREATE.${S}.d3`, body: cfg({ durable_name: 'd3', ack_policy: 'all', deliver_policy: 'last', filter_subject: 'diff.a' }) },
  { what: 'filter mismatch', subject: `$JS.API.CONSUMER.CREATE.${S}.c3.diff.a`, body: cfg({ name: 'c3', ack_policy: 'explicit', filter_subject: 'diff.b' }) },
  { what: 'ephemeral with durable', subject: `$JS.API.CONSUMER.CREATE.${S}`, body: cfg({ durable_name: 'x', ack_policy: 'explicit' }) },
  { what: 'durable not in subject', subject: `$JS.API.CONSUMER.DURABLE.CREATE.${S}.d9`, body: cfg({ ack_policy: 'explicit' }) },
  { what: 'durable mismatch', subject: `$JS.API.CONSUMER.DURABLE.CREATE.${S}.d9`, body: cfg({ durable_name: 'other', ack_policy: 'explicit' }) },
  { what: 'deliver policy change', subject: `$JS.API.CONSUMER.DURABLE.CREATE.${S}.d1`, body: cfg({ durable_name: 'd1', ack_policy: 'explicit', deliver_policy: 'new' }) },
  { what: 'ack policy change', subject: `$JS.API.CONSUMER.DURABLE.CREATE.${S}.d1`, body: cfg({ durable_name: 'd1', ack_policy: 'all' }) },
  {
    what: 'pull to push',
    subject: `$JS.API.CONSUMER.DURABLE.CREATE.${S}.d1`,
    body: cfg({ durable_name: 'd1', ack_policy: 'explicit', deliver_subject: 'x.y' }),
    differs: '2.10 checks the deliver subject before max_waiting',
  },
  { what: 'update mutable', subject: `$JS.API.CONSUMER.DURABLE.CREATE.${S}.d1`, body: cfg({ durable_name: 'd1', ack_policy: 'explicit', max_ack_pending: 5, description: 'hi', ack_wait: 5e9, max_deliver: 9 }) },
  { what: 'wildcard deliver subject', subject: `$JS.API.CONSUMER.CREATE.${S}`, body: cfg({ deliver_subject: 'out.*', ack_policy: 'none' }) },
  { what: 'deliver cycle', subject: `$JS.API.CONSUMER.CREATE.${S}`, body: cfg({ deliver_subject: 'diff.loop', ack_policy: 'none' }) },
  { what: 'small heartbeat', subject: `$JS.API.CONSUMER.CREATE.${S}`, body: cfg({ deliver_subject: 'out.hb', ack_policy: 'none', idle_heartbeat: 50e6 }) },
  { what: 'fc without heartbeat', subject: `$JS.API.CONSUMER.CREATE.${S}`, body: cfg({ deliver_subject: 'out.fc', ack_policy: 'none', flow_control: true }) },
  { what: 'push with max_waiting', subject: `$JS.API.CONSUMER.CREATE.${S}`, body: cfg({ deliver_subject: 'out.mw', ack_policy: 'none', max_waiting: 10 }) },
  { what: 'push ack none with max_ack_pending', subject: `$JS.API.CONSUMER.CREATE.${S}`, body: cfg({ deliver_subject: 'out.map', ack_policy: 'none', max_ack_pending: 10 }) },
  { what: 'pull with heartbeat', subject: `$JS.API.CONSUMER.CREATE.${S}`, body: cfg({ ack_policy: 'explicit', idle_heartbeat: 1e9 }) },
  { what: 'pull with flow control', subject: `$JS.API.CONSUMER.CREATE.${S}`, body: cfg({ ack_policy: 'explicit', flow_control: true }) },
  { what: 'pull with rate limit', subject: `$JS.API.CONSUMER.CREATE.${S}`, body: cfg({ ack_policy: 'explicit', rate_limit_bps: 1000 }) },
  { what: 'start seq missing', subject: `$JS.API.CONSUMER.CREATE.${S}`, body: cfg({ ack_policy: 'explicit', deliver_policy: 'by_start_sequence' }) },
  { what: 'start time missing', subject: `$JS.API.CONSUMER.CREATE.${S}`, body: cfg({ ack_policy: 'explicit', deliver_policy: 'by_start_time' }) },
  { what: 'all with start seq', subject: `$JS.API.CONSUMER.CREATE.${S}`, body: cfg({ ack_policy: 'explicit', opt_start_seq: 3 }) },
  { what: 'last per subject without filter', subject: `$JS.API.CONSUMER.CREATE.${S}`, body: cfg({ ack_policy: 'explicit', deliver_policy: 'last_per_subject' }) },
  { what: 'backoff longer than max_deliver', subject: `$JS.API.CONSUMER.CREATE.${S}`, body: cfg({ ack_policy: 'explicit', backoff: [1e9, 2e9, 3e9], max_deliver: 2 }) },
  { what: 'replicas', subject: `$JS.API.CONSUMER.CREATE.${S}`, body: cfg({ ack_policy: 'explicit', num_replicas: 3 }) },
  { what: 'stream mismatch', subject: `$JS.API.CONSUMER.CREATE.${S}`, body: { stream_name: 'OTHER', config: { ack_policy: 'explicit' } } },
  { what: 'invalid json', subject: `$JS.API.CONSUMER.CREATE.${S}`, body: 'garbage' },
  { what: 'missing stream', subject: '$JS.API.CONSUMER.CREATE.NOPE', body: { stream_name: 'NOPE', config: { ack_policy: 'explicit' } } },
  { what: 'info', subject: `$JS.API.CONSUMER.INFO.${S}.d1` },
  { what: 'info missing consumer', subject: `$JS.API.CONSUMER.INFO.${S}.nope` },
  { what: 'info missing stream', subject: '$JS.API.CONSUMER.INFO.NOPE.d1' },
  { what: 'names', subject: `$JS.API.CONSUMER.NAMES.${S}`, body: { offset: 0 } },
  { what: 'list', subject: `$JS.API.CONSUMER.LIST.${S}` },
  { what: 'names past the end', subject: `$JS.API.CONSUMER.NAMES.${S}`, body: { offset: 10 } },
  { what: 'delete', subject: `$JS.API.CONSUMER.DELETE.${S}.d2` },
  { what: 'delete again', subject: `$JS.API.CONSUMER.DELETE.${S}.d2` },
  { what: 'stepdown', subject: `$JS.API.CONSUMER.LEADER.STEPDOWN.${S}.d1` },
  { what: 'limited stream', subject: '$JS.API.STREAM.CREATE.LIM', body: { name: 'LIM', subjects: ['lim.>'], storage: 'memory', max_consumers: 1 } },
  { what: 'first consumer', subject: '$JS.API.CONSUMER.DURABLE.CREATE.LIM.l1', body: { stream_name: 'LIM', config: { durable_name: 'l1', ack_policy: 'explicit' } } },
  { what: 'over max_consumers', subject: '$JS.API.CONSUMER.DURABLE.CREATE.LIM.l2', body: { stream_name: 'LIM', config: { durable_name: 'l2', ack_policy: 'explicit' } } },
];

/** Values that differ between runs or by design. */
const VARYING = new Set(['created', 'ts', 'last_active']);
const NATTER_EXTRAS = new Set(['ts', 'cluster']);
/** Ephemerals get random names; compare their shape only. */
const EPHEMERAL = /^[A-Za-z0-9]{8}$/;

function normalize(v: unknown, natter: boolean, key = ''): unknown {
  if (Array.isArray(v)) {
    const items = v.map((x) => normalize(x, natter, key === 'consumers' ? 'name' : ''));
    // Random ephemeral names sort anywhere: compare consumer lists as sets.
    return key === 'consumers' ? items.sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1)) : items;
  }
  if (v === null || typeof v !== 'object') {
    if (key === 'name' && typeof v === 'string' && EPHEMERAL.test(v)) return '<ephemeral>';
    return v;
  }
  const out: Json = {};
  for (const [k, x] of Object.entries(v as Json)) {
    if (natter && NATTER_EXTRAS.has(k)) continue;
    out[k] = VARYING.has(k) ? '<time>' : normalize(x, natter, k);
  }
  if (natter && typeof out.config === 'object' && out.config !== null) {
    const c = out.config as Json;
    // 2.10 names the consumer in config for the named subject forms; 2.9.10 leaves it out.
    if (c.name !== undefined && (c.durable_name === c.name || c.name === '<ephemeral>')) delete c.name;
  }
  return out;
}

async function run(target: JetStreamTarget): Promise<Array<{ what: string; reply: unknown }>> {
  const nc: NatsConnection = await connect({ servers: target.url });
  try {
    const out: Array<{ what: string; reply: unknown }> = [];
    for (const c of CASES) {
      const body = c.body === undefined ? '' : typeof c.body === 'string' ? c.body : JSON.stringify(c.body);
      const m = await nc.request(c.subject, body, { timeout: 3000 });
      const text = m.string();
      out.push({ what: c.what, reply: text.startsWith('{') ? JSON.parse(text) : text });
    }
    return out;
  } finally {
    await nc.close();
  }
}

describe('consumer API against nats-server 2.9.10', () => {
  let ref: Array<{ what: string; reply: unknown }>;
  let ours: Array<{ what: string; reply: unknown }>;
  const targets: JetStreamTarget[] = [];

  before(async () => {
    const a = await natsServerJetStream.start();
    targets.push(a);
    ref = await run(a);
    const b = await natterJetStream.start();
    targets.push(b);
    ours = await run(b);
  });

  after(async () => {
    for (const t of targets) await t.stop();
  });

  for (const [i, c] of CASES.entries()) {
    it(c.what, () => {
      const a = normalize(ref[i].reply, false) as Json;
      const b = normalize(ours[i].reply, true) as Json;
      if (c.subject.startsWith('$JS.API.STREAM.') || !c.subject.startsWith('$JS.')) {
        // Stream set-up and publishes: only that both succeeded.
        assert.equal(b.error, undefined, JSON.stringify(ours[i].reply));
        return;
      }
      if (c.differs !== undefined) {
        const ea = a.error as Json;
        const eb = b.error as Json;
        assert.deepEqual([eb?.code, eb?.err_code], [ea?.code, ea?.err_code], c.differs);
        return;
      }
      assert.deepEqual(b, a);
    });
  }
});
