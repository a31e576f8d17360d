/**
 * Membership as the log records it: a 'peers' entry carries the whole
 * member list (JSON array of ids), in force from the moment it is in a log.
 */
import type { RaftLog } from './log.js';
import type { PeerId } from './types.js';

export function encodePeers(peers: readonly PeerId[]): Buffer {
  return Buffer.from(JSON.stringify(peers));
}

/** The ids of a 'peers' entry, or null when its data is not a JSON array of strings. */
export function decodePeers(data: Buffer): PeerId[] | null {
  try {
    const parsed: unknown = JSON.parse(data.toString('utf8'));
    if (Array.isArray(parsed) && parsed.every((p): p is string => typeof p === 'string')) return parsed;
  } catch {
    // Falls through: not membership data.
  }
  return null;
}

/**
 * The membership in force at `index`: the newest 'peers' entry up to it
 * still in the log (with its index), else `fallback` (the snapshot's, or
 * the configured one) with index 0.
 */
export function membershipAt(log: RaftLog, index: number, fallback: readonly PeerId[]): { peers: readonly PeerId[]; index: number } {
  const entry = log.peersEntryAtOrBelow(index);
  const peers = entry ? decodePeers(entry.data) : null;
  if (entry && peers) return { peers, index: entry.index };
  return { peers: fallback, index: 0 };
}
