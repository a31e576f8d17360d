/**
 * MSG.GET by start_time finds the first message at or after that time by a
 * binary search over the stream (messages are stored in time order), where
 * it used to read every message from the first.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectJetStream, startJsNatter, type JsClients, type JsServer } from '../../helpers/jetstream.js';
import { sleep } from '../../helpers/wait.js';

describe('MSG.GET by start_time', () => {
  let server: JsServer;
  let c: JsClients;

  before(async () => {
    server = await startJsNatter();
    c = await connectJetStream(server.srv.url);
  });

  after(async () => {
    await c?.nc.close();
    await server?.stop();
  });

  async function getByTime(stream: string, at: Date): Promise<Record<string, unknown>> {
    const m = await c.nc.request(`$JS.API.STREAM.MSG.GET.${stream}`, JSON.stringify({ start_time: at.toISOString() }), { timeout: 5000 });
    return JSON.parse(new TextDecoder().decode(m.data)) as Record<string, unknown>;
  }

  it('answers with the first message stored at or after the time, in each of several time groups', async () => {
    await c.jsm.streams.add({ name: 'T', subjects: ['t.>'] });
    const marks: Array<{ at: Date; firstSeq: number }> = [];
    let seq = 0;
    for (let group = 0; group < 4; group++) {
      await sleep(20);
      marks.push({ at: new Date(), firstSeq: seq + 1 });
      await sleep(5);
      for (let i = 0; i < 500; i++) c.nc.publish(`t.${group}.${i % 3}`, 'x');
      await c.nc.flush();
      seq += 500;
    }
    // A few deletes leave gaps the search must step over.
    await c.jsm.streams.deleteMessage('T', 501);
    await c.jsm.streams.deleteMessage('T', 1001);
    for (const { at, firstSeq } of marks) {
      const expected = firstSeq === 501 || firstSeq === 1001 ? firstSeq + 1 : firstSeq;
      const res = await getByTime('T', at);
      assert.equal((res.message as { seq: number } | undefined)?.seq, expected, JSON.stringify(res).slice(0, 200));
    }
    const late = await getByTime('T', new Date(Date.now() + 60_000));
    assert.equal((late.error as { err_code: number }).err_code, 10037);
  });
});
