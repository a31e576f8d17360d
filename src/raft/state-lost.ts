/**
 * Thrown by RaftStateMachine.restore when, restoring the node's own
 * snapshot at start, the state machine finds it lost part of what that
 * snapshot covers (its own storage was damaged): the snapshot and log are
 * then of no use to it, and the node recovers everything from a leader.
 */
export class StateLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StateLostError';
  }
}
