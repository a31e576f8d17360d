/**
 * Message sizes as nats-server accounts them in stream state `bytes`, so
 * max_bytes limits and stream info agree with it byte for byte.
 */

/** memStoreMsgSize: subject + header + payload + 16 (sequence and timestamp). */
export function memStoreMsgSize(subjectLen: number, hdrLen: number, dataLen: number): number {
  return subjectLen + hdrLen + dataLen + 16;
}

/**
 * fileStoreMsgSize: nats-server's on-disk record length (length 4, seq 8,
 * ts 8, subject length 2, subject, [header length 4, header], payload, hash 8).
 */
export function fileStoreMsgSize(subjectLen: number, hdrLen: number, dataLen: number): number {
  if (hdrLen === 0) return 22 + subjectLen + dataLen + 8;
  return 22 + subjectLen + 4 + hdrLen + dataLen + 8;
}
