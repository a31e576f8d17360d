/**
 * Election rules that need no node state: the quorum size and the
 * "at least as up to date" comparison of §5.4.1.
 */
import type { PeerId } from './types.js';

/** A majority of the larger of the known membership and the expected size. */
export function quorumSize(peers: readonly PeerId[], expectedSize: number): number {
  return Math.floor(Math.max(peers.length, expectedSize) / 2) + 1;
}

/** A candidate's log is at least as up to date as ours: a later last term, or the same last term and no shorter. */
export function logUpToDate(candidateLastTerm: number, candidateLastIndex: number, ourLastTerm: number, ourLastIndex: number): boolean {
  return candidateLastTerm > ourLastTerm || (candidateLastTerm === ourLastTerm && candidateLastIndex >= ourLastIndex);
}

/** Distinct members that granted a (pre-)vote in one round. */
export class VoteTally {
  private readonly granted = new Set<PeerId>();

  constructor(readonly term: number, readonly preVote: boolean) {}

  grant(from: PeerId, members: readonly PeerId[]): void {
    if (members.includes(from)) this.granted.add(from);
  }

  count(): number {
    return this.granted.size;
  }
}
