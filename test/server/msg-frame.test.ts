/**
 * MsgFramer: the bytes of each MSG/HMSG it frames, while lines repeat (the
 * remembered line's bytes are copied) and when any part of them changes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MsgFramer } from '../../src/server/msg-frame.js';
import { OutboundQueue, type OutboundSink } from '../../src/server/outbound.js';

/** Collects what a flush hands over. */
class Sink implements OutboundSink {
  private readonly chunks: Buffer[] = [];
  write(chunk: Buffer): boolean {
    this.chunks.push(Buffer.from(chunk));
    return true;
  }
  cork(): void {}
  uncork(): void {}
  text(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }
}

describe('MsgFramer', () => {
  it('frames each message as its line, body and CRLF, however the lines repeat or change', () => {
    const framer = new MsgFramer();
    const out = new OutboundQueue();
    const body = Buffer.from(`xx${'p'.repeat(40)}\r\nyy`, 'latin1');
    const small = [2, 7] as const;
    const large = [2, 42] as const;
    // The strings are built at run time: equal content in different objects must count as the same line.
    const head = (s: string): string => ['MSG', s, ''].join(' ');
    const cases: [string, string, string, readonly [number, number]][] = [
      [head('a.b'), '1 ', '5\r\n', small],
      [head('a.b'), '1 ', '5\r\n', small],
      [head('a.b'), '1 ', '5\r\n', small],
      [head('a.b'), '2 ', '5\r\n', small],
      [head('a.b'), '2 ', '40\r\n', large],
      [head('a.b'), '2 ', '40\r\n', large],
      [head('a.c'), '2 ', '40\r\n', large],
      ['HMSG a.c ', '2 ', '0 5\r\n', small],
      [head('a.c'), '2 ', '_INBOX.1 5\r\n', small],
      [head('a.c'), '2 ', '_INBOX.2 5\r\n', small],
    ];
    let expected = '';
    for (const [h, sidSp, tail, [start, end]] of cases) {
      framer.frame(out, h, sidSp, tail, body, start, end);
      expected += `${h}${sidSp}${tail}${body.toString('latin1', start, end)}\r\n`;
    }
    const sink = new Sink();
    out.flush(sink);
    assert.equal(sink.text(), expected);
  });
});
