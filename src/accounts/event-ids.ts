/**
 * Ids for system events: 22 base-62 characters like nats-server's, unique
 * within the process without a random draw per id. A random prefix is
 * followed by a counter that advances by a random step, so consecutive ids
 * share most of their text but cannot be guessed from one another; when the
 * counter runs out a new prefix is drawn.
 */
import { randomBytes, randomInt } from 'node:crypto';

const DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BASE = DIGITS.length;
const PREFIX_LEN = 14;
const COUNTER_LEN = 8;
/** 62^8, well inside the integers a double holds exactly. */
const COUNTER_MAX = BASE ** COUNTER_LEN;
const MIN_STEP = 33;
const MAX_STEP = 333;

export class EventIds {
  private prefix = '';
  private counter = 0;
  private step = 0;

  constructor() {
    this.reset();
  }

  next(): string {
    this.counter += this.step;
    if (this.counter >= COUNTER_MAX) this.reset();
    let n = this.counter;
    let tail = '';
    for (let i = 0; i < COUNTER_LEN; i++) {
      tail = DIGITS[n % BASE] + tail;
      n = Math.floor(n / BASE);
    }
    return this.prefix + tail;
  }

  private reset(): void {
    let p = '';
    // 256 is not a multiple of 62: drop the bytes that would favour low digits.
    while (p.length < PREFIX_LEN) {
      for (const b of randomBytes(PREFIX_LEN * 2)) {
        if (b < BASE * 4 && p.length < PREFIX_LEN) p += DIGITS[b % BASE];
      }
    }
    this.prefix = p;
    this.counter = randomInt(0, COUNTER_MAX / 2);
    this.step = randomInt(MIN_STEP, MAX_STEP + 1);
  }
}
