// Layout of the SharedArrayBuffer that subscriber workers and the main thread share.
// Int32 slots (index into an Int32Array over the buffer):
export const S_RECV = 0; // total deliveries counted by all subscribers (cumulative over phases)
export const S_TARGET = 1; // total at which the current phase is complete
export const S_DONE = 2; // set to 1 by the subscriber whose count reached S_TARGET
export const S_PER_SUB = 16; // S_PER_SUB + i: deliveries counted by subscriber i (up to 64 subs)
export const MAX_SUBS = 64;
// BigInt64 slot: hrtime (ns) at which S_TARGET was reached
export const S_TIME_BYTE_OFFSET = 512;
export const SHARED_BYTES = 1024;

export function makeShared() {
  const sab = new SharedArrayBuffer(SHARED_BYTES);
  return sab;
}

export function views(sab) {
  return {
    i32: new Int32Array(sab, 0, S_TIME_BYTE_OFFSET / 4),
    t64: new BigInt64Array(sab, S_TIME_BYTE_OFFSET, 1),
  };
}
