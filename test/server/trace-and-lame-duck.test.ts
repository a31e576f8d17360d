/**
 * Protocol tracing (-DV) in nats-server's line format, and lame duck mode:
 * INFO ldm, no new clients, existing ones closed over the duration, then exit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '@nats-io/transport-node';
import { LogCapture } from '../helpers/log-capture.js';
import { startNatter } from '../helpers/natter.js';
import { RawSession } from '../helpers/session.js';
import { waitUntil } from '../helpers/wait.js';

test('protocol trace lines match nats-server -DV', async () => {
  const logger = new LogCapture({ debug: true, trace: true });
  const srv = await startNatter({ logger });
  const s = await RawSession.connect(srv.port);
  try {
    await s.request('CONNECT {"verbose":false,"headers":true}\r\nSUB foo q 1\r\nPUB foo bar 5\r\nhello\r\n' +
      'HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\nUNSUB 1\r\nPING\r\n', 'PONG\r\n');
  } finally {
    s.close();
    await srv.close();
  }
  const traces = logger.lines.filter((l) => l.startsWith('[TRC]')).map((l) => l.replace(/^\[TRC\] 127\.0\.0\.1:\d+ - cid:\d+ - /, ''));
  assert.deepEqual(traces, [
    '<<- [CONNECT {"verbose":false,"headers":true}]',
    '<<- [SUB foo q 1]',
    '<<- [PUB foo bar 5]',
    '<<- MSG_PAYLOAD: ["hello"]',
    '->> [MSG foo 1 bar 5]',
    '<<- [HPUB foo 12 14]',
    '<<- MSG_PAYLOAD: ["NATS/1.0\\r\\n\\r\\nhi"]',
    '->> [HMSG foo 1 12 14]',
    '<<- [UNSUB 1]',
    '<-> [DELSUB 1]',
    '<<- [PING]',
    '->> [PONG]',
  ]);
});

test('lame duck mode: INFO ldm, refuses new clients, closes the rest, then shuts down', async () => {
  const srv = await startNatter({ lame_duck_duration: 600, lame_duck_grace_period: 200 });
  const raw = await RawSession.connect(srv.port);
  raw.send('CONNECT {"verbose":false}\r\nPING\r\n');
  await raw.until('PONG\r\n');
  const nc = await connect({ servers: srv.url, reconnect: false });
  let sawLdm = false;
  (async () => {
    for await (const st of nc.status()) if (st.type === 'ldm') sawLdm = true;
  })().catch(() => undefined);
  try {
    const done = srv.server.lameDuck();
    await raw.until((t) => t.includes('"ldm":true'), 1000);
    await waitUntil(() => sawLdm, 1000, 'client saw lame duck');
    // New connections are not accepted any more.
    await assert.rejects(RawSession.connect(srv.port, { timeoutMs: 500 }));
    assert.equal(await raw.waitClosed(2000), true, 'raw client closed during lame duck');
    await nc.closed();
    await done;
    assert.equal(srv.server.clients.size, 0);
    assert.equal(srv.server.shuttingDown, true);
  } finally {
    // A no-op once lame duck mode has shut the server down; closes it when an assertion failed first.
    raw.close();
    await nc.close();
    await srv.close();
  }
});
