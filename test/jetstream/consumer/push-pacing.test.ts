import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FlowControl, RateLimiter } from '../../../src/jetstream/consumer/push-pacing.js';
import { nakDelayMs } from '../../../src/jetstream/consumer/nak-delay.js';

describe('push pacing', () => {
  it('flow control asks at half the window, blocks past it, and widens on each reply', () => {
    const fc = new FlowControl('S', 'c');
    const mb = 1024 * 1024;
    assert.equal(fc.sent(mb), null);
    const reply = fc.sent(1);
    assert.equal(reply, '$JS.FC.S.c.1');
    assert.equal(fc.sent(mb), null, 'one request at a time');
    assert.equal(fc.blocked, true);
    assert.equal(fc.answered('$JS.FC.S.c.9'), false);
    assert.equal(fc.answered(reply as string), true);
    assert.equal(fc.blocked, false);
    assert.equal(fc.outstanding, null);
  });

  it('the rate limiter allows a second of burst, then makes senders wait', () => {
    const r = new RateLimiter();
    assert.equal(r.waitMs(1000, 8000), 0);
    r.spend(1500);
    assert.equal(r.waitMs(1000, 8000), 500);
    assert.equal(r.waitMs(1600, 8000), 0);
  });

  it('reads NAK delays as JSON nanoseconds or Go durations', () => {
    assert.equal(nakDelayMs(Buffer.from(' {"delay": 2000000000}')), 2000);
    assert.equal(nakDelayMs(Buffer.from(' 1m30s')), 90_000);
    assert.equal(nakDelayMs(Buffer.from(' 250ms')), 250);
    assert.equal(nakDelayMs(Buffer.from('')), 0);
    assert.equal(nakDelayMs(Buffer.from(' soon')), 0);
  });
});
