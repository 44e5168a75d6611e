/** Kinesis sequence numbers are decimal strings of up to 128 digits: compare by length, then lexically. */
export function compareSequenceNumbers(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
