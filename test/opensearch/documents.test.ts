import { describe, expect, it } from 'vitest';
import { buildBulkRequests } from '../../pipeline/sinks/opensearch/bulk-request.ts';
import { Documents, findingDocumentVersion } from '../../pipeline/sinks/opensearch/documents.ts';
import { IndexNames } from '../../pipeline/sinks/opensearch/index-names.ts';
import { enrichedEvent, findingOf, tracked } from './support/fixtures.ts';

const H = 3_600_000;

describe('Documents', () => {
  it('turns an event into an enriched event document with its transition and finding id', () => {
    const event = enrichedEvent({ eventId: 'e-1', orderingTime: Date.parse('2026-03-04T10:00:00Z'), severity: 'Critical' });
    const doc = Documents.event(tracked(event, 'opened', findingOf(event)));
    expect(doc).toMatchObject({
      '@timestamp': '2026-03-04T10:00:00.000Z',
      eventId: 'e-1',
      accountName: 'payments-prod',
      owner: 'payments',
      environment: 'production',
      region: 'eu-west-1',
      rule: 's3-bucket-public-write-prohibited',
      severity: 'Critical',
      severityRank: 4,
      resourceType: 'AWS::S3::Bucket',
      compliance: 'NON_COMPLIANT',
      previousCompliance: 'COMPLIANT',
      transition: 'opened',
      findingId: 'f-e-1',
    });
  });

  it('computes time to resolve and breach for a resolved finding', () => {
    const event = enrichedEvent({ orderingTime: 10 * H, compliance: 'COMPLIANT' });
    const finding = findingOf(event, { openedAt: 0, deadline: 4 * H, status: 'resolved', resolvedAt: 10 * H, resolution: 'COMPLIANT', resolvedEventId: event.eventId });
    const doc = Documents.finding(tracked(event, 'resolved', finding));
    expect(doc).toMatchObject({ status: 'resolved', timeToResolveMs: 10 * H, timeToResolveHours: 10, breached: true, resolution: 'COMPLIANT', lastCompliance: 'COMPLIANT' });
    expect(doc?.resolvedAt).toBe(new Date(10 * H).toISOString());
  });

  it('writes no finding document for stale or recorded events, and a stale event carries no finding id', () => {
    const event = enrichedEvent();
    const open = findingOf(event);
    expect(Documents.finding(tracked(event, 'stale', open))).toBeNull();
    expect(Documents.event(tracked(event, 'stale', open)).findingId).toBeNull();
    expect(Documents.finding(tracked(enrichedEvent({ compliance: 'COMPLIANT' }), 'recorded', null))).toBeNull();
    expect(Documents.finding(tracked(event, 'unchanged', open))?.status).toBe('open');
  });

  it('carries escalation fields when the finding has them', () => {
    const event = enrichedEvent();
    const finding = { ...findingOf(event), exceptionId: 'exc-1', escalatedAt: 5 * H, lastReminderAt: null, reminderCount: 2 };
    expect(Documents.finding(tracked(event, 'unchanged', finding))).toMatchObject({
      excepted: true, exceptionId: 'exc-1', escalated: true, escalatedAt: new Date(5 * H).toISOString(), lastReminderAt: null, reminderCount: 2,
    });
  });
});

describe('IndexNames', () => {
  it('names monthly event indices by the UTC month of the ordering time', () => {
    expect(IndexNames.events('dw', Date.parse('2026-01-31T23:59:59.999Z'))).toBe('dw-events-2026.01');
    expect(IndexNames.events('dw', Date.parse('2026-12-01T00:00:00Z'))).toBe('dw-events-2026.12');
    expect(IndexNames.monthStartOf('dw', 'dw-events-2026.02')).toBe(Date.UTC(2026, 1, 1));
    expect(IndexNames.monthStartOf('dw', 'dw-events-x')).toBeNull();
    expect(IndexNames.monthStartOf('dw', 'other-events-2026.02')).toBeNull();
  });
});

describe('buildBulkRequests', () => {
  const opened = enrichedEvent({ eventId: 'a' });
  const recorded = enrichedEvent({ eventId: 'b', compliance: 'COMPLIANT' });
  const stale = enrichedEvent({ eventId: 'c' });
  const values = [tracked(opened, 'opened', findingOf(opened)), tracked(recorded, 'recorded', null), tracked(stale, 'stale', findingOf(stale))];

  it('maps every bulk position back to its batch item (an item may have two actions)', () => {
    const [request] = buildBulkRequests(values, { indexPrefix: 'dw', maxBytes: 5 * 1024 * 1024 });
    expect(request?.actions).toEqual([
      { item: 0, kind: 'event' },
      { item: 0, kind: 'finding' },
      { item: 1, kind: 'event' },
      { item: 2, kind: 'event' },
    ]);
    expect(request?.items).toEqual([0, 1, 2]);
    const lines = request!.body.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(8);
    expect(lines[0]).toEqual({ index: { _index: 'dw-events-2026.03', _id: 'a' } });
    expect(lines[2]).toEqual({ index: { _index: 'dw-findings', _id: 'f-a', version: opened.orderingTime, version_type: 'external_gte' } });
    expect(request!.bytes).toBe(Buffer.byteLength(request!.body));
    expect(request!.body.endsWith('\n')).toBe(true);
  });

  it('splits by bytes without splitting an item, and a single oversized item still goes alone', () => {
    const many = Array.from({ length: 50 }, () => {
      const e = enrichedEvent({ annotation: 'é'.repeat(200) });
      return tracked(e, 'opened', findingOf(e));
    });
    const requests = buildBulkRequests(many, { indexPrefix: 'dw', maxBytes: 8_000 });
    expect(requests.length).toBeGreaterThan(5);
    for (const request of requests) {
      expect(request.bytes).toBe(Buffer.byteLength(request.body));
      if (request.items.length > 1) expect(request.bytes).toBeLessThanOrEqual(8_000);
      expect(request.actions.length).toBe(request.items.length * 2);
    }
    expect(requests.flatMap((r) => r.items)).toEqual(many.map((_, i) => i));
    const tiny = buildBulkRequests(many.slice(0, 3), { indexPrefix: 'dw', maxBytes: 1_024 });
    expect(tiny.map((r) => r.items)).toEqual([[0], [1], [2]]);
  });

  it('creates, never overwrites, the event document of a stale event or of a first effect rebuilt from Postgres', () => {
    const late = enrichedEvent({ eventId: 'late' });
    const again = enrichedEvent({ eventId: 'again' });
    const fresh = enrichedEvent({ eventId: 'fresh' });
    const [request] = buildBulkRequests(
      [tracked(late, 'stale', null), { ...tracked(again, 'opened', findingOf(again)), rebuilt: true }, tracked(fresh, 'recorded', null)],
      { indexPrefix: 'dw', maxBytes: 1_048_576 },
    );
    const actions = request!.body.trimEnd().split('\n').filter((_, i) => i % 2 === 0).map((line) => JSON.parse(line) as Record<string, { _id: string }>);
    expect(actions.map((a) => `${Object.keys(a)[0]} ${Object.values(a)[0]!._id}`)).toEqual(['create late', 'create again', 'index f-again', 'index fresh']);
  });

  it('versions finding documents by lifecycle, then time: no open state outranks a resolved one', () => {
    const opening = enrichedEvent({ eventId: 'o' });
    const open = findingOf(opening);
    const resolved = { ...open, status: 'resolved' as const, resolvedAt: opening.orderingTime + H, resolution: 'COMPLIANT' as const, resolvedEventId: 'r' };
    const muchLater = enrichedEvent({ eventId: 'late', orderingTime: Date.parse('2099-01-01T00:00:00Z') });
    const resolvedVersion = findingDocumentVersion(tracked(enrichedEvent({ orderingTime: opening.orderingTime + H }), 'resolved', resolved));
    // A writer that still believed the finding open, with a much later result, cannot flip it back.
    expect(findingDocumentVersion(tracked(muchLater, 'unchanged', open))).toBeLessThan(resolvedVersion);
    expect(findingDocumentVersion(tracked(opening, 'opened', open))).toBe(opening.orderingTime);
    expect(Number.isSafeInteger(resolvedVersion)).toBe(true);
    // A resolved finding rebuilt from Postgres later carries the same version, whatever event rebuilt it.
    expect(findingDocumentVersion({ ...tracked(muchLater, 'opened', resolved), rebuilt: true })).toBe(resolvedVersion);
    // Its document names what resolved it.
    expect(Documents.finding({ ...tracked(opening, 'opened', resolved), rebuilt: true })).toMatchObject({ status: 'resolved', lastEventId: 'r', lastCompliance: 'COMPLIANT' });
  });
});
