import type { TrackedEvent } from '../../../stages/track/track-stage.ts';
import { Documents } from './documents.ts';
import { IndexNames } from './index-names.ts';

/** One action line of a `_bulk` body, and the batch item it came from. */
export interface BulkAction {
  /** Index into the batch's items (not into the bulk body): one item may produce two actions. */
  readonly item: number;
  readonly kind: 'event' | 'finding';
}

/** A prebuilt NDJSON `_bulk` body and the position -> batch item map needed to read its per-item results. */
export interface BulkRequest {
  readonly body: string;
  readonly bytes: number;
  /** actions[i] is the i-th entry of the response's `items`. */
  readonly actions: readonly BulkAction[];
  /** The distinct batch items in this request, ascending. */
  readonly items: readonly number[];
}

export interface BulkRequestOptions {
  readonly indexPrefix: string;
  /** Upper bound of one body in bytes; an item bigger than this on its own still goes, alone. */
  readonly maxBytes: number;
}

/**
 * Turns tracked events into `_bulk` bodies of at most `maxBytes`, keeping each item's actions in one request.
 *
 * Every action is `index` with a deterministic `_id`, so a redelivered batch overwrites instead of duplicating.
 * Event documents: `_id` = event id. Finding documents: `_id` = finding id, with external versioning on the event's
 * ordering time (`external_gte`), so a retried older write can never overwrite a newer state of the same finding
 * (OpenSearch answers 409, which retry.ts counts as done).
 */
export function buildBulkRequests(values: readonly TrackedEvent[], options: BulkRequestOptions): BulkRequest[] {
  const requests: BulkRequest[] = [];
  const findingsIndex = IndexNames.findings(options.indexPrefix);
  let parts: string[] = [];
  let bytes = 0;
  let actions: BulkAction[] = [];
  let items: number[] = [];
  const flush = () => {
    if (parts.length === 0) return;
    requests.push({ body: parts.join(''), bytes, actions, items });
    parts = [];
    bytes = 0;
    actions = [];
    items = [];
  };
  for (let i = 0; i < values.length; i++) {
    const tracked = values[i]!;
    const event = tracked.event;
    let text =
      `{"index":{"_index":"${IndexNames.events(options.indexPrefix, event.orderingTime)}","_id":${JSON.stringify(event.eventId)}}}\n` +
      `${JSON.stringify(Documents.event(tracked))}\n`;
    const finding = Documents.finding(tracked);
    if (finding) {
      text +=
        `{"index":{"_index":"${findingsIndex}","_id":${JSON.stringify(finding.findingId)},"version":${event.orderingTime},"version_type":"external_gte"}}\n` +
        `${JSON.stringify(finding)}\n`;
    }
    const size = Buffer.byteLength(text);
    if (bytes + size > options.maxBytes) flush();
    parts.push(text);
    bytes += size;
    actions.push({ item: i, kind: 'event' });
    if (finding) actions.push({ item: i, kind: 'finding' });
    items.push(i);
  }
  flush();
  return requests;
}
