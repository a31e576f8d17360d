/**
 * Work that may be long (validating a config with many thousands of
 * subjects, purging millions of messages, a burst of API requests) is cut
 * into slices with the event loop free in between, so other clients'
 * messages keep flowing. Long loops are written as generators that yield now
 * and then; chains of requests pause between links. All of them share one
 * budget per event-loop turn: a thousand small pieces of work queued as
 * promise callbacks would otherwise all run in one turn, each under its own
 * budget, and hold the loop as long as one big piece.
 */

/** How long the work of one turn may hold the event loop. Well under the latency a canary notices, long enough that pausing costs little. */
export const SLICE_MS = 4;

/** When the current turn's sliced work began; -1 before any in this turn. */
let turnStarted = -1;

const endTurn = (): void => {
  turnStarted = -1;
};

/** Milliseconds of sliced work in this turn so far (the first call in a turn starts the clock). */
export function turnElapsed(): number {
  const now = performance.now();
  if (turnStarted < 0) {
    turnStarted = now;
    // Runs once this turn's callbacks and promise jobs are done: the next turn starts a new budget.
    setImmediate(endTurn);
  }
  return now - turnStarted;
}

/**
 * Work waiting for a later turn, oldest first. One immediate callback per
 * turn resumes them one by one while the turn's slice lasts: had each its
 * own setImmediate, every waiter would resume in the same turn, each doing
 * a piece, and a hundred of them would hold the loop as one big piece.
 */
const waiting: Array<() => void> = [];
let waitingHead = 0;
let resumeScheduled = false;

function scheduleResume(): void {
  if (resumeScheduled) return;
  resumeScheduled = true;
  setImmediate(resumeInNewTurn);
}

const resumeInNewTurn = (): void => {
  resumeScheduled = false;
  resumeNext();
};

/** Resumes the oldest waiter, then (once its promise job ran) considers the next one. */
const resumeNext = (): void => {
  if (waitingHead === waiting.length) return;
  if (turnElapsed() >= SLICE_MS) {
    scheduleResume();
    return;
  }
  const resolve = waiting[waitingHead++];
  if (waitingHead === waiting.length) {
    waiting.length = 0;
    waitingHead = 0;
  }
  resolve();
  queueMicrotask(resumeNext);
};

function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    waiting.push(resolve);
    scheduleResume();
  });
}

/** Waits for the next turn when this one has used its slice; otherwise goes on at once. */
export async function yieldIfBusy(): Promise<void> {
  if (turnElapsed() >= SLICE_MS) await nextTurn();
}

/** Runs `work` to its end at once (where nothing else waits: recovery at start, small lists). */
export function runToEnd<T>(work: Generator<void, T>): T {
  for (;;) {
    const step = work.next();
    if (step.done === true) return step.value;
  }
}

/** Runs `work` in slices, letting I/O and timers run whenever the turn's slice is used up. */
export async function runInSlices<T>(work: Generator<void, T>): Promise<T> {
  for (;;) {
    const step = work.next();
    if (step.done === true) return step.value;
    if (turnElapsed() >= SLICE_MS) await nextTurn();
  }
}
