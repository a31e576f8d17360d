/**
 * The connection upkeep on its own, with mocked clocks: write-deadline cuts,
 * PING checks and stale connections, chores, and a timer that runs only
 * while there is something to watch.
 */
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionUpkeep, type UpkeptConnection } from '../../src/server/connection-upkeep.js';
import { DEFAULT_OPTIONS, type ServerOptions } from '../../src/server/options.js';
import type { Logger } from '../../src/log/logger.js';
import { silentLogger } from '../../src/log/silent-logger.js';

/** A connection whose socket backlog and PING answers the test controls. */
class FakeConnection implements UpkeptConnection {
  closed = false;
  readonly socket = { writableLength: 0 };
  bytesHanded = 0;
  pingsOut = 0;
  quiet = true;
  readonly events: string[] = [];

  label(): string {
    return 'fake';
  }
  wantsPing(): boolean {
    return this.quiet || this.pingsOut > 0;
  }
  sendPing(): void {
    this.pingsOut++;
    this.events.push('PING');
  }
  closeStale(): void {
    this.closed = true;
    this.events.push('stale');
  }
  writeDeadlineExceeded(): void {
    this.closed = true;
    this.events.push('slow');
  }
}

function host(o: Partial<ServerOptions>): { options: ServerOptions; logger: Logger } {
  return { options: { ...DEFAULT_OPTIONS, ...o }, logger: silentLogger };
}

describe('connection upkeep', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setInterval', 'Date'], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  it('cuts a connection whose socket made no progress for write_deadline, never one that progresses', () => {
    const upkeep = new ConnectionUpkeep(host({ write_deadline: 200, ping_interval: 60_000 }));
    const stuck = new FakeConnection();
    const busy = new FakeConnection();
    upkeep.watch(stuck, 60_000);
    upkeep.watch(busy, 60_000);
    stuck.socket.writableLength = 100;
    busy.socket.writableLength = 100;
    for (let t = 0; t < 10; t++) {
      // The busy socket takes some bytes every tick; the stuck one none.
      busy.bytesHanded += 10;
      mock.timers.tick(100);
    }
    assert.deepEqual(stuck.events, ['slow']);
    assert.deepEqual(busy.events, []);
  });

  it('PINGs when a check is due and the connection wants it; too many unanswered is stale', () => {
    const upkeep = new ConnectionUpkeep(host({ ping_interval: 400, ping_max: 2 }));
    const c = new FakeConnection();
    upkeep.watch(c, 100);
    mock.timers.tick(100);
    assert.deepEqual(c.events, ['PING']);
    mock.timers.tick(400);
    assert.deepEqual(c.events, ['PING', 'PING']);
    mock.timers.tick(400);
    assert.deepEqual(c.events, ['PING', 'PING', 'stale']);
  });

  it('asks first: a busy connection with its PINGs answered gets none', () => {
    const upkeep = new ConnectionUpkeep(host({ ping_interval: 400, ping_max: 2 }));
    const c = new FakeConnection();
    c.quiet = false;
    upkeep.watch(c, 400);
    mock.timers.tick(2000);
    assert.deepEqual(c.events, []);
  });

  it('runs chores on every tick and stops ticking once nothing is left', () => {
    const upkeep = new ConnectionUpkeep(host({ write_deadline: 200, ping_interval: 60_000 }));
    let runs = 0;
    const remove = upkeep.addChore(() => runs++);
    mock.timers.tick(300);
    assert.equal(runs, 3);
    const c = new FakeConnection();
    upkeep.watch(c, 60_000);
    remove();
    mock.timers.tick(300);
    assert.equal(runs, 3);
    upkeep.unwatch(c);
    // No interval is left behind: the next watch starts a fresh one.
    upkeep.watch(c, 0);
    mock.timers.tick(100);
    assert.deepEqual(c.events, ['PING']);
  });
});
