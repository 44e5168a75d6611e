import type { TrackedEvent } from '../../../stages/track/tracked-event.ts';
import { Documents } from '../opensearch/documents.ts';
import type { FirehoseConfig } from './config.ts';

/**
 * One archive record: the OpenSearch event document (which carries the event id and the finding id) as one line of
 * JSON. Deterministic, so a record Firehose stores twice (it is at-least-once) is the same line twice, and an Athena
 * or S3 reader deduplicates on `eventId`.
 */
export function archiveRecord(tracked: TrackedEvent): Buffer {
  return Buffer.from(`${JSON.stringify(Documents.event(tracked))}\n`, 'utf8');
}

/** One PutRecordBatch call: which batch items it carries, and their records. */
export interface PutCall {
  readonly items: readonly number[];
  readonly records: readonly Uint8Array[];
}

/** Packs records (in batch order) into calls within the per-call limits: at most N records and B bytes each. */
export function packPutCalls(
  records: readonly { readonly item: number; readonly data: Uint8Array }[],
  limits: Pick<FirehoseConfig, 'recordsPerCall' | 'bytesPerCall'>,
): PutCall[] {
  const calls: PutCall[] = [];
  let items: number[] = [];
  let datas: Uint8Array[] = [];
  let bytes = 0;
  for (const { item, data } of records) {
    if (items.length > 0 && (items.length >= limits.recordsPerCall || bytes + data.byteLength > limits.bytesPerCall)) {
      calls.push({ items, records: datas });
      items = [];
      datas = [];
      bytes = 0;
    }
    items.push(item);
    datas.push(data);
    bytes += data.byteLength;
  }
  if (items.length > 0) calls.push({ items, records: datas });
  return calls;
}
