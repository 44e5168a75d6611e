import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { RawRecord } from '../../stages/decode/raw-record.ts';
import type { Item } from '../../stages/stage.ts';
import { RecordFramer } from './read-record-frames.ts';
import { ReplayInputError, listReplayFiles } from './read-replay-files.ts';

/** Records of one input file, in order; a file's records never share a batch with another file's. */
export interface ReplayBatch {
  readonly file: string;
  /** 1-based position of the file among the files read, and how many there are. */
  readonly fileNumber: number;
  readonly fileCount: number;
  readonly items: Item<RawRecord>[];
}

export interface ReadReplayOptions {
  readonly batchSize: number;
  readonly stdin?: NodeJS.ReadableStream;
  /** Longest record kept whole (longer ones are cut, and the decode stage rejects them as oversize). */
  readonly maxFrameBytes?: number;
}

/**
 * Reads a replay input as bytes, in batches: a file, `-` for stdin, or a directory of files in time order. Each file
 * may be GZIP-compressed (detected by its magic bytes, as Firehose writes `.gz` objects) and holds records either
 * newline-delimited or concatenated with no delimiter (see RecordFramer).
 *
 * Each record's origin is stable and unique, so re-reading the same input names the same records: the shard is
 * `replay:<file>`, the sequence number its line (`12`), or `12:3` for the third record concatenated on line 12.
 */
export async function* readReplayBatches(path: string, options: ReadReplayOptions): AsyncGenerator<ReplayBatch> {
  const files = await listReplayFiles(path);
  for (let f = 0; f < files.length; f++) {
    const file = files[f]!;
    const shardId = file === '-' ? 'replay:stdin' : `replay:${file}`;
    const framer = new RecordFramer(options.maxFrameBytes ? { maxBytes: options.maxFrameBytes } : {});
    let items: Item<RawRecord>[] = [];
    const batch = () => {
      const full = { file, fileNumber: f + 1, fileCount: files.length, items };
      items = [];
      return full;
    };
    const input = file === '-' ? (options.stdin ?? process.stdin) : await openFile(file);
    for await (const chunk of decompressed(input, file)) {
      for (const frame of framer.push(chunk)) {
        items.push(toItem(shardId, frame));
        if (items.length >= options.batchSize) yield batch();
      }
    }
    for (const frame of framer.end()) items.push(toItem(shardId, frame));
    if (items.length > 0) yield batch();
  }
}

function toItem(shardId: string, frame: { data: Buffer; line: number; indexInLine: number }): Item<RawRecord> {
  const sequenceNumber = frame.indexInLine === 1 ? String(frame.line) : `${frame.line}:${frame.indexInLine}`;
  return { origin: { shardId, sequenceNumber }, value: { data: frame.data } };
}

async function openFile(path: string): Promise<NodeJS.ReadableStream> {
  const file = createReadStream(path);
  await new Promise<void>((resolve, reject) => {
    file.once('open', () => resolve());
    file.once('error', (error: NodeJS.ErrnoException) => reject(new ReplayInputError(`cannot read ${path}: ${error.code ?? error.message}`)));
  });
  return file;
}

/** The input's bytes, gunzipped when they start with the GZIP magic number. Other compressions get a clear error. */
async function* decompressed(input: NodeJS.ReadableStream, name: string): AsyncGenerator<Buffer> {
  const iterator = (input as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) return;
  const head = toBuffer(first.value);
  const all = async function* (): AsyncGenerator<Buffer> {
    yield head;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield toBuffer(next.value);
  };
  if (head[0] === 0x1f && head[1] === 0x8b) {
    // Multi-member GZIP (concatenated .gz files) is read to the end too.
    const gunzip = Readable.from(all()).pipe(createGunzip());
    try {
      for await (const chunk of gunzip) yield chunk as Buffer;
    } catch (error) {
      throw new ReplayInputError(`cannot read ${name}: not a valid GZIP file (${(error as Error).message})`);
    }
    return;
  }
  const compression = head.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1'))
    ? 'ZIP'
    : head.subarray(0, 10).equals(Buffer.from('\xff\x06\x00\x00sNaPpY', 'latin1'))
      ? 'Snappy'
      : null;
  if (compression) {
    throw new ReplayInputError(`cannot read ${name}: it is ${compression}-compressed; replay reads GZIP or uncompressed files (set the Firehose stream's compression to GZIP, or decompress it first)`);
  }
  yield* all();
}

function toBuffer(chunk: Buffer | string): Buffer {
  return typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
}
