import { isUtf8 } from 'node:buffer';
import { ComplianceChangeEvent } from '../../schemas/compliance-change-event.ts';
import { describeIssues } from '../../schemas/describe-issues.ts';
import { isComplianceChangeEvent } from '../../schemas/compiled-event-validator.ts';
import type { Batch, DeadLetterDraft, Item, Stage, StageResult } from '../stage.ts';
import type { DecodedEvent } from './decoded-event.ts';
import type { RawRecord } from './raw-record.ts';

export interface DecodeOptions {
  readonly maxRecordBytes: number;
}

/** Bytes -> UTF-8 -> JSON -> schema. Every failure becomes a dead letter whose reason says what was wrong. */
export class DecodeStage implements Stage<RawRecord, DecodedEvent> {
  readonly name = 'decode';
  readonly #maxRecordBytes: number;

  constructor(options: DecodeOptions) {
    this.#maxRecordBytes = options.maxRecordBytes;
  }

  process(batch: Batch<RawRecord>): StageResult<DecodedEvent> {
    const kept: Item<DecodedEvent>[] = [];
    const rejected: DeadLetterDraft[] = [];
    for (const item of batch.items) {
      const outcome = this.decodeOne(item.value.data);
      if (typeof outcome === 'string') {
        rejected.push({ origin: item.origin, stage: this.name, reason: outcome, raw: item.value.data });
      } else {
        kept.push({ origin: item.origin, value: { event: outcome, raw: item.value.data } });
      }
    }
    return { kept, dropped: [], rejected };
  }

  /** Returns the event, or the reason it is not one. */
  decodeOne(data: Uint8Array): ComplianceChangeEvent | string {
    if (data.byteLength === 0) return 'empty record';
    if (data.byteLength > this.#maxRecordBytes) {
      return `record is ${data.byteLength} bytes, over the ${this.#maxRecordBytes}-byte limit`;
    }
    if (!isUtf8(data)) return 'record is not valid UTF-8';
    const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      return `record is not JSON: ${(error as Error).message}`;
    }
    // The compiled check accepts exactly what the schema accepts; zod runs only to say why a record is refused.
    if (isComplianceChangeEvent(json, text.indexOf('\\') === -1)) return json;
    const parsed = ComplianceChangeEvent.safeParse(json);
    if (!parsed.success) return `not a Config compliance-change event: ${describeIssues(parsed.error.issues)}`;
    return parsed.data;
  }
}
