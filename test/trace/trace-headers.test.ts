/** The header work behind message tracing: finding, lifting and rewriting trace headers in a header block. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  liftTraceHeaders, mayNameTraceDest, mayNameTraceParent, setHeader, withTraceDisabled,
} from '../../src/trace/trace-headers.js';

function block(...lines: string[]): Buffer {
  return Buffer.from(`NATS/1.0\r\n${lines.map((l) => l + '\r\n').join('')}\r\n`, 'latin1');
}

describe('trace headers', () => {
  it('finds Nats-Trace-Dest at any position, in exact case, within the block only', () => {
    for (let pad = 0; pad < 20; pad++) {
      const b = block(`X-Pad: ${'p'.repeat(pad)}`, 'Nats-Trace-Dest: d');
      assert.equal(mayNameTraceDest(b, 0, b.length), true, `pad ${pad}`);
    }
    const lower = block('nats-trace-dest: d');
    assert.equal(mayNameTraceDest(lower, 0, lower.length), false);
    const b = block('A: b');
    const joined = Buffer.concat([b, Buffer.from('Nats-Trace-Dest: payload')]);
    assert.equal(mayNameTraceDest(joined, 0, b.length), false);
    const offset = Buffer.concat([Buffer.from('junk'), block('Nats-Trace-Dest: d')]);
    assert.equal(mayNameTraceDest(offset, 4, offset.length - 4), true);
  });

  it('finds traceparent in any case', () => {
    const b = block('TraceParent: 00-a-b-01');
    assert.equal(mayNameTraceParent(b, 0, b.length), true);
  });

  it('lifts every header with its values, and says when only traceparent asked', () => {
    const r = liftTraceHeaders(...withLen(block('Nats-Trace-Dest: d', 'X: 1', 'X: 2 ', 'Empty:')));
    assert.deepEqual([...(r?.headers ?? [])], [['Nats-Trace-Dest', ['d']], ['X', ['1', '2']]]);
    assert.equal(r?.external, false);
    const ext = liftTraceHeaders(...withLen(block('traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03')));
    assert.equal(ext?.external, true);
    assert.equal(liftTraceHeaders(...withLen(block('traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02'))), null);
    assert.equal(liftTraceHeaders(...withLen(block('Nats-Trace-Dest: trace disabled'))), null);
    const status = Buffer.from('NATS/1.0 503\r\nNats-Trace-Dest: d\r\n\r\n');
    assert.equal(liftTraceHeaders(status, 0, status.length), null);
  });

  it('sets a header last in the block, replacing earlier lines of the key, payload kept', () => {
    const h = block('Nats-Trace-Hop: 1', 'A: b');
    const msg = Buffer.concat([h, Buffer.from('payload')]);
    const w = setHeader(msg, 0, h.length, msg.length, 'Nats-Trace-Hop', '1.2');
    assert.equal(w.buf.toString('latin1'), 'NATS/1.0\r\nA: b\r\nNats-Trace-Hop: 1.2\r\n\r\npayload');
    assert.equal(w.hdrLen, w.buf.length - 'payload'.length);
    const d = withTraceDisabled(msg, 0, h.length, msg.length);
    assert.match(d.buf.toString('latin1'), /\r\nNats-Trace-Dest: trace disabled\r\n\r\npayload$/);
  });
});

function withLen(b: Buffer): [Buffer, number, number] {
  return [b, 0, b.length];
}
