import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupCommit } from '../../../src/jetstream/store/group-commit.js';

/** A CommitIo that counts writes and holds each fsync until the test completes it. */
function fakeIo(): { io: { write(): void; fsync(cb: (err: Error | null) => void): void }; writes: number; pending: Array<(err: Error | null) => void> } {
  const st = {
    writes: 0,
    pending: [] as Array<(err: Error | null) => void>,
    io: {
      write: () => {
        st.writes++;
      },
      fsync: (cb: (err: Error | null) => void) => {
        st.pending.push(cb);
      },
    },
  };
  return st;
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('interval policy: whenDurable waits for the write only, whenSynced forces an fsync', async () => {
  const f = fakeIo();
  const gc = new GroupCommit(60_000, f.io, (e) => e as Error);
  try {
    gc.noteAppend();
    let durable = false;
    gc.whenDurable(() => {
      durable = true;
    });
    await turn();
    await turn();
    assert.equal(durable, true);
    assert.equal(f.pending.length, 0, 'an interval policy does not fsync per batch');
    gc.noteAppend();
    let synced: Error | null | undefined;
    gc.whenSynced((err) => {
      synced = err;
    });
    assert.equal(f.writes, 2, 'whenSynced writes what is pending at once');
    assert.equal(f.pending.length, 1, 'and starts an fsync');
    await turn();
    assert.equal(synced, undefined, 'not before the fsync completes');
    f.pending.shift()?.(null);
    await turn();
    assert.equal(synced, null);
    // Nothing new since: answered at once, no further fsync.
    let again = false;
    gc.whenSynced(() => {
      again = true;
    });
    assert.equal(again, true);
    assert.equal(f.pending.length, 0);
  } finally {
    gc.stop();
  }
});

test('whenSynced reports a failed fsync', async () => {
  const f = fakeIo();
  const gc = new GroupCommit(60_000, f.io, (e) => e as Error);
  try {
    gc.noteAppend();
    let synced: Error | null | undefined;
    gc.whenSynced((err) => {
      synced = err;
    });
    f.pending.shift()?.(new Error('EIO'));
    await turn();
    assert.equal(synced?.message, 'EIO');
  } finally {
    gc.stop();
  }
});

test('whenSynced reports a failed write, until a later write succeeds', async () => {
  let failWrites = true;
  let fsyncs = 0;
  const io = {
    write: () => {
      if (failWrites) throw new Error('ENOSPC');
    },
    fsync: (cb: (err: Error | null) => void) => {
      fsyncs++;
      cb(null);
    },
  };
  const gc = new GroupCommit(60_000, io, (e) => e as Error);
  try {
    gc.noteAppend();
    let synced: Error | null | undefined;
    gc.whenSynced((err) => {
      synced = err;
    });
    assert.equal(synced?.message, 'ENOSPC');
    assert.equal(fsyncs, 0, 'nothing to fsync for a write that failed');
    failWrites = false;
    gc.noteAppend();
    gc.whenSynced((err) => {
      synced = err;
    });
    await turn();
    assert.equal(synced, null);
    assert.equal(fsyncs, 1);
  } finally {
    gc.stop();
  }
});

test('whenDurable asked after the write of its append failed reports the failure', async () => {
  let fail = true;
  const io = {
    write: () => {
      if (fail) throw new Error('ENOSPC');
    },
    fsync: (cb: (err: Error | null) => void) => cb(null),
  };
  const gc = new GroupCommit(60_000, io, (e) => e as Error);
  try {
    gc.noteAppend();
    // The batch is written in a microtask; a caller may ask only after it ran.
    await Promise.resolve();
    let durable: Error | null | undefined;
    gc.whenDurable((err) => {
      durable = err;
    });
    assert.equal(durable?.message, 'ENOSPC');
    fail = false;
    gc.noteAppend();
    await Promise.resolve();
    gc.whenDurable((err) => {
      durable = err;
    });
    assert.equal(durable, null, 'a later write that succeeded clears it');
  } finally {
    gc.stop();
  }
});
