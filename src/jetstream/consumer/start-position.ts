/**
 * Where a new consumer starts reading the stream for each deliver policy,
 * as nats-server's selectStartingSeqNo decides it.
 */
import type { StreamStore } from '../store/types.js';
import type { ConsumerConfig } from '../types.js';

export interface StartPosition {
  /** The first stream sequence the consumer looks at. */
  sseq: number;
  /** last_per_subject: the sequences to deliver before continuing at `sseq`. */
  lastPerSubject: number[];
}

export function startPosition(store: StreamStore, c: ConsumerConfig, filters: readonly string[]): StartPosition {
  const state = store.state();
  const fl = filters.length === 0 ? null : filters;
  const first = Math.max(1, state.firstSeq);
  switch (c.deliver_policy) {
    case 'all':
      return { sseq: first, lastPerSubject: [] };
    case 'new':
      return { sseq: state.lastSeq + 1, lastPerSubject: [] };
    case 'last': {
      if (fl === null) return { sseq: Math.max(1, state.lastSeq), lastPerSubject: [] };
      const m = store.loadPrevMsg(fl, state.lastSeq);
      return { sseq: m === null ? state.lastSeq + 1 : m.seq, lastPerSubject: [] };
    }
    case 'by_start_sequence':
      return { sseq: Math.max(1, c.opt_start_seq ?? 1), lastPerSubject: [] };
    case 'by_start_time':
      return { sseq: seqAtOrAfter(store, Date.parse(c.opt_start_time ?? ''), first, state.lastSeq), lastPerSubject: [] };
    case 'last_per_subject':
      return { sseq: state.lastSeq + 1, lastPerSubject: store.lastSeqsPerSubject(fl, 0) };
  }
}

/** The first sequence whose message was stored at or after `t` (ms); timestamps grow with sequences, so bisect. */
function seqAtOrAfter(store: StreamStore, t: number, lo: number, hi: number): number {
  let answer = hi + 1;
  while (lo <= hi) {
    const mid = Math.floor((lo + hi) / 2);
    const m = store.loadNextMsg(null, mid);
    if (m === null) {
      hi = mid - 1;
      continue;
    }
    if (m.ts >= t) {
      answer = m.seq;
      hi = mid - 1;
    } else {
      lo = m.seq + 1;
    }
  }
  return answer;
}
