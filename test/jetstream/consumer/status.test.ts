/**
 * Pull request status messages byte for byte, on a raw socket, against the
 * reference nats-server and Natter with the same expected bytes: 404 No
 * Messages, 408 Request Timeout with the pending headers, 409 Message Size
 * Exceeds MaxBytes, 409 Exceeded MaxWaiting, 409 Consumer Deleted, 100 Idle
 * Heartbeat.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, StorageType, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { JETSTREAM_TARGETS, type JetStreamTarget } from '../../helpers/jetstream-targets.js';
import { RawSession } from '../../helpers/session.js';

const MS = 1_000_000;

/** The HMSG a status request gets on `RAW.<n>` (sid 1), exactly: nats-server leaves an empty reply field (two spaces). */
function hmsg(inbox: string, hdr: string): string {
  return `HMSG ${inbox} 1  ${hdr.length} ${hdr.length}\r\n${hdr}\r\n`;
}

for (const starter of JETSTREAM_TARGETS) {
  describe(`pull status messages on ${starter.name}`, () => {
    let target: JetStreamTarget;
    let nc: NatsConnection;
    let jsm: JetStreamManager;
    let raw: RawSession;
    let n = 0;

    /** Sends a pull request from the raw session and returns its inbox. */
    function pull(consumer: string, body: string): string {
      const inbox = `RAW.r${++n}`;
      raw.send(`PUB $JS.API.CONSUMER.MSG.NEXT.ST.${consumer} ${inbox} ${body.length}\r\n${body}\r\n`);
      return inbox;
    }

    before(async () => {
      target = await starter.start();
      nc = await connect({ servers: target.url });
      jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'ST', subjects: ['st.>'], storage: StorageType.Memory });
      raw = await RawSession.connect(Number(new URL(target.url.replace('nats://', 'http://')).port));
      raw.send('CONNECT {"verbose":false,"headers":true,"no_responders":true,"protocol":1}\r\nSUB RAW.> 1\r\n');
      await raw.sync();
      raw.take();
    });

    after(async () => {
      raw?.close();
      await nc?.close();
      await target?.stop();
    });

    it('404 No Messages for no_wait on an empty consumer', async () => {
      await jsm.consumers.add('ST', { durable_name: 'a', ack_policy: AckPolicy.Explicit });
      const inbox = pull('a', '{"batch":3,"no_wait":true}');
      const text = await raw.until((t) => t.includes(inbox));
      assert.equal(text, hmsg(inbox, 'NATS/1.0 404 No Messages\r\n\r\n'));
    });

    it('408 Request Timeout carries the pending messages and bytes', async () => {
      const inbox = pull('a', `{"batch":2,"expires":${200 * MS}}`);
      const text = await raw.until((t) => t.includes(inbox), 3000);
      assert.equal(text, hmsg(inbox, 'NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 2\r\nNats-Pending-Bytes: 0\r\n\r\n'));
      const inbox2 = pull('a', `{"batch":4,"max_bytes":5000,"expires":${200 * MS}}`);
      const text2 = await raw.until((t) => t.includes(inbox2), 3000);
      assert.equal(text2, hmsg(inbox2, 'NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 4\r\nNats-Pending-Bytes: 5000\r\n\r\n'));
    });

    it('409 Message Size Exceeds MaxBytes when the next message is larger than the request allows', async () => {
      await jsm.consumers.add('ST', { durable_name: 'b', ack_policy: AckPolicy.Explicit, filter_subject: 'st.big' });
      await nc.request('st.big', Buffer.alloc(100, 65));
      const inbox = pull('b', `{"batch":5,"max_bytes":10,"expires":${1000 * MS}}`);
      const text = await raw.until((t) => t.includes(inbox), 3000);
      assert.equal(text, hmsg(inbox, 'NATS/1.0 409 Message Size Exceeds MaxBytes\r\nNats-Pending-Messages: 5\r\nNats-Pending-Bytes: 10\r\n\r\n'));
    });

    it('409 Exceeded MaxWaiting past max_waiting requests', async () => {
      await jsm.consumers.add('ST', { durable_name: 'c', ack_policy: AckPolicy.Explicit, max_waiting: 1, filter_subject: 'st.c' });
      const first = pull('c', `{"batch":1,"expires":${2000 * MS}}`);
      const inbox = pull('c', `{"batch":1,"expires":${2000 * MS}}`);
      const text = await raw.until((t) => t.includes(inbox), 3000);
      assert.equal(text, hmsg(inbox, 'NATS/1.0 409 Exceeded MaxWaiting\r\n\r\n'));
      // End the request still waiting now: left alone, its 408 would land in a
      // later test's exact-bytes check whenever that test runs slowly.
      await jsm.consumers.delete('ST', 'c');
      await raw.until((t) => t.includes(first), 3000);
    });

    it('100 Idle Heartbeat while a request waits', async () => {
      await jsm.consumers.add('ST', { durable_name: 'h', ack_policy: AckPolicy.Explicit, filter_subject: 'st.h' });
      const inbox = pull('h', `{"batch":1,"expires":${1000 * MS},"idle_heartbeat":${200 * MS}}`);
      const text = await raw.until((t) => t.includes(inbox), 3000);
      // The stream holds st.big at 1: a filtered consumer that found nothing has moved past it.
      assert.equal(text, hmsg(inbox, 'NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 0\r\nNats-Last-Stream: 1\r\n\r\n'));
      await raw.until((t) => t.includes('408'), 3000);
    });

    it('409 Consumer Deleted to requests still waiting', async () => {
      await jsm.consumers.add('ST', { durable_name: 'd', ack_policy: AckPolicy.Explicit, filter_subject: 'st.d' });
      const inbox = pull('d', `{"batch":1,"expires":${5000 * MS}}`);
      await raw.sync();
      raw.take();
      await jsm.consumers.delete('ST', 'd');
      const text = await raw.until((t) => t.includes(inbox), 3000);
      assert.equal(text, hmsg(inbox, 'NATS/1.0 409 Consumer Deleted\r\n\r\n'));
    });
  });
}
