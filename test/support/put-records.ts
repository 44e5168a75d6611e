import type { LocalKinesis } from './kinesis.ts';

export interface PutRecordsOptions {
  /**
   * PutRecords calls in flight. Default 1: calls in parallel may interleave one partition key's records, and the oracle
   * expects them in put order.
   */
  readonly concurrency?: number;
  /** Called after each call with the records stored so far. */
  readonly onProgress?: (stored: number) => void;
}

/** Puts records (in order within each chunk of 500; chunks in parallel) and returns how many were stored. */
export async function putRecords(
  kinesis: LocalKinesis,
  streamName: string,
  records: readonly { readonly data: Uint8Array; readonly partitionKey: string }[],
  options: PutRecordsOptions = {},
): Promise<number> {
  const chunks: (typeof records)[] = [];
  for (let i = 0; i < records.length; i += 500) chunks.push(records.slice(i, i + 500));
  let next = 0;
  let stored = 0;
  const worker = async () => {
    while (next < chunks.length) {
      const chunk = chunks[next++]!;
      await kinesis.put(streamName, chunk);
      stored += chunk.length;
      options.onProgress?.(stored);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 1, chunks.length) }, worker));
  return stored;
}
