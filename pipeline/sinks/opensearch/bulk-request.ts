import type { TrackedEvent } from '../../../stages/track/tracked-event.ts';
import { Documents, findingDocumentVersion } from './documents.ts';
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
 * Every action has a deterministic `_id`, so a redelivered batch never duplicates. Event documents (`_id` = event id)
 * are `index`ed when the event's effect is new, and `create`d when it must not overwrite: a stale event (its id may
 * have been pruned from processed events, and its first effect is indexed already) and an effect rebuilt from
 * Postgres (a duplicate, a redrive). Finding documents (`_id` = finding id) are `index`ed with external versioning by
 * lifecycle then time (`findingDocumentVersion`, `external_gte`), so an older or open state never overwrites a newer
 * or resolved one. OpenSearch answers 409 to both refusals, which retry.ts counts as done.
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
    const op = tracked.rebuilt || tracked.transition === 'stale' ? 'create' : 'index';
    const eventAction = `{"${op}":{"_index":"${IndexNames.events(options.indexPrefix, event.orderingTime)}","_id":${JSON.stringify(event.eventId)}}}\n`;
    const eventDocument = JSON.stringify(Documents.event(tracked));
    // Sized part by part: measuring the joined text would flatten it into one more copy per event.
    let size = Buffer.byteLength(eventAction) + Buffer.byteLength(eventDocument) + 1;
    let text = `${eventAction}${eventDocument}\n`;
    const finding = Documents.finding(tracked);
    if (finding) {
      const findingAction = `{"index":{"_index":"${findingsIndex}","_id":${JSON.stringify(finding.findingId)},"version":${findingDocumentVersion(tracked)},"version_type":"external_gte"}}\n`;
      const findingDocument = JSON.stringify(finding);
      size += Buffer.byteLength(findingAction) + Buffer.byteLength(findingDocument) + 1;
      text += `${findingAction}${findingDocument}\n`;
    }
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
