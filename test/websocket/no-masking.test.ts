/**
 * `Nats-No-Masking: true` on the upgrade request: the client will send its
 * frames unmasked (nats-server leaf nodes set to `ws_no_masking` do), and
 * the server says it agrees with the same header in its 101 answer. Checked
 * byte for byte against nats-server 2.9.10.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeAllNatter } from '../helpers/natter.js';
import { waitUntil } from '../helpers/wait.js';
import { frame, rawWebsocket, startWsNatsServer, startWsNatter } from './helpers.js';

after(() => closeAllNatter());

const HELLO = Buffer.from('CONNECT {"verbose":false,"protocol":1}\r\nPING\r\n');

test('unmasked frames are accepted after Nats-No-Masking: true, and the 101 says so; without it the connection is closed, on both servers', async () => {
  const natter = await startWsNatter();
  const ref = await startWsNatsServer();
  try {
    for (const [name, port] of [['natter', natter.wsPort], ['nats-server', ref.wsPort]] as const) {
      const ws = await rawWebsocket(port, 'Nats-No-Masking: true\r\n');
      assert.match(ws.answer, /\r\nNats-No-Masking: true(\r\n|$)/, `${name}: ${ws.answer}`);
      ws.socket.write(frame(2, HELLO, { mask: false }));
      await waitUntil(() => ws.reader.text().includes('PONG\r\n'), 3000, `${name}: PONG to unmasked frames`);
      // Split across frames and writes, still unmasked.
      ws.socket.write(frame(2, Buffer.from('PI'), { mask: false, fin: false }));
      ws.socket.write(frame(0, Buffer.from('NG\r\n'), { mask: false }));
      await waitUntil(() => ws.reader.text().split('PONG').length === 3, 3000, `${name}: PONG to a fragmented PING`);
      ws.socket.destroy();

      // The value must be exactly "true".
      const loud = await rawWebsocket(port, 'Nats-No-Masking: TRUE\r\n');
      assert.doesNotMatch(loud.answer, /Nats-No-Masking/i, name);
      loud.socket.destroy();

      // Without the header, an unmasked frame is a protocol error.
      const plain = await rawWebsocket(port);
      assert.doesNotMatch(plain.answer, /Nats-No-Masking/i, name);
      plain.socket.write(frame(2, HELLO, { mask: false }));
      await plain.closed;
      // nats-server 2.9.10 closes without sending the close frame it queued (fixed later); Natter sends it.
      if (name === 'natter') assert.equal(plain.reader.closeStatus(), 1002);
    }
  } finally {
    await natter.close();
    await ref.stop();
  }
});

test('a client that asked for no masking and masks anyway is closed; other clients are unaffected', async () => {
  const natter = await startWsNatter();
  try {
    const bystander = await rawWebsocket(natter.wsPort);
    bystander.socket.write(frame(2, HELLO));
    const ws = await rawWebsocket(natter.wsPort, 'Nats-No-Masking: true\r\n');
    ws.socket.write(frame(2, HELLO));
    await ws.closed;
    assert.equal(ws.reader.closeStatus(), 1002);
    bystander.socket.write(frame(2, Buffer.from('PING\r\n')));
    await waitUntil(() => bystander.reader.text().split('PONG').length === 3, 3000, 'the bystander still served');
    bystander.socket.destroy();
  } finally {
    await natter.close();
  }
});
