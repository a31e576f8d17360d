/**
 * Node's Buffer has latin1Slice/latin1Write natively; they skip the argument
 * normalisation of toString()/write(), which matters on the per-message path.
 * @types/node does not declare them.
 */
declare global {
  interface Buffer {
    latin1Slice(start: number, end: number): string;
    latin1Write(s: string, offset: number, length: number): number;
  }
}
export {};
