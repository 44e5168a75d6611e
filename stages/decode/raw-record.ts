/** A stream record's bytes, as the chain receives them. */
export interface RawRecord {
  readonly data: Uint8Array;
}
