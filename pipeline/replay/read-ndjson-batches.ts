import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { RawRecord } from '../../stages/decode/decode-stage.ts';
import type { Item } from '../../stages/stage.ts';

/**
 * Reads newline-delimited EventBridge events (a file, or stdin for `-`) in batches. Each line keeps its line number
 * as its sequence number, so a bad line's dead letter says exactly where it is.
 */
export async function* readNdjsonBatches(path: string, batchSize: number, stdin: NodeJS.ReadableStream = process.stdin): AsyncGenerator<Item<RawRecord>[]> {
  let input: NodeJS.ReadableStream = stdin;
  if (path !== '-') {
    const file = createReadStream(path);
    await new Promise<void>((resolve, reject) => {
      file.once('open', () => resolve());
      file.once('error', (error: NodeJS.ErrnoException) => reject(new Error(`cannot read ${path}: ${error.code ?? error.message}`)));
    });
    input = file;
  }
  const lines = createInterface({ input, crlfDelay: Infinity });
  const shardId = path === '-' ? 'replay:stdin' : `replay:${path}`;
  let batch: Item<RawRecord>[] = [];
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber++;
    if (line.trim() === '') continue;
    batch.push({ origin: { shardId, sequenceNumber: String(lineNumber) }, value: { data: Buffer.from(line, 'utf8') } });
    if (batch.length >= batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
