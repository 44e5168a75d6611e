import { describe, expect, it } from 'vitest';
import type { DecodedEvent } from '../../stages/decode/decoded-event.ts';
import { DedupeStage } from '../../stages/dedupe/dedupe-stage.ts';
import type { ProcessedEventIndex } from '../../stages/dedupe/dedupe-stage.ts';
import { RecentIds } from '../../stages/dedupe/recent-ids.ts';
import { batchOf, decoded, originOf, sampleEvent } from './stage-fixtures.ts';

const signal = new AbortController().signal;

/** Our own durable-index interface, faked in memory; the Postgres implementation has its own tests. */
class MemoryProcessedIndex implements ProcessedEventIndex {
  readonly processed: Set<string>;
  readonly queries: string[][] = [];
  readonly signals: AbortSignal[] = [];

  constructor(ids: Iterable<string> = []) {
    this.processed = new Set(ids);
  }

  async findProcessed(eventIds: readonly string[], querySignal: AbortSignal): Promise<ReadonlySet<string>> {
    this.queries.push([...eventIds]);
    this.signals.push(querySignal);
    return new Set(eventIds.filter((id) => this.processed.has(id)));
  }
}

function events(...ids: string[]): DecodedEvent[] {
  return ids.map((id) => decoded(sampleEvent({ id })));
}

async function run(stage: DedupeStage, ids: string[]) {
  const result = await stage.process(batchOf(events(...ids)), signal);
  expect(result.rejected).toEqual([]);
  expect(result.dropped.every((d) => d.reason === 'duplicate')).toBe(true);
  return {
    kept: result.kept.map((item) => item.value.event.id),
    keptAt: result.kept.map((item) => Number(item.origin.sequenceNumber) - Number(originOf(0).sequenceNumber)),
    droppedAt: result.dropped.map((d) => Number(d.origin.sequenceNumber) - Number(originOf(0).sequenceNumber)),
  };
}

describe('DedupeStage', () => {
  it.each([
    { ids: ['a', 'b', 'c'], kept: ['a', 'b', 'c'], keptAt: [0, 1, 2], droppedAt: [] },
    { ids: ['a', 'b', 'a', 'c', 'b'], kept: ['a', 'b', 'c'], keptAt: [0, 1, 3], droppedAt: [2, 4] },
    { ids: ['a', 'a', 'a'], kept: ['a'], keptAt: [0], droppedAt: [1, 2] },
    { ids: [], kept: [], keptAt: [], droppedAt: [] },
  ])('within a batch $ids keeps the first of each id', async ({ ids, kept, keptAt, droppedAt }) => {
    expect(await run(new DedupeStage(), ids)).toEqual({ kept, keptAt, droppedAt });
  });

  it('does not remember a batch until committed() is called (commit succeeded)', async () => {
    const stage = new DedupeStage();
    await run(stage, ['a', 'b']);
    expect((await run(stage, ['a', 'b'])).kept).toEqual(['a', 'b']);
    stage.committed({ eventIds: ['a', 'b'], refreshed: new Map() });
    expect(await run(stage, ['a', 'c', 'b'])).toEqual({ kept: ['c'], keptAt: [1], droppedAt: [0, 2] });
  });

  it('rolledBack() clears the remembered ids (the shard rewinds after a failed commit)', async () => {
    const stage = new DedupeStage();
    stage.committed({ eventIds: ['a', 'b'], refreshed: new Map() });
    expect((await run(stage, ['a', 'b'])).kept).toEqual([]);
    stage.rolledBack();
    expect((await run(stage, ['a', 'b'])).kept).toEqual(['a', 'b']);
  });

  it('drops ids the durable index has processed, asking it once per batch with distinct unseen ids', async () => {
    const index = new MemoryProcessedIndex(['x', 'z']);
    const stage = new DedupeStage({ index });
    stage.committed({ eventIds: ['r'], refreshed: new Map() });
    expect(await run(stage, ['x', 'y', 'r', 'y', 'z', 'w'])).toEqual({ kept: ['y', 'w'], keptAt: [1, 5], droppedAt: [2, 3, 0, 4] });
    expect(index.queries).toEqual([['x', 'y', 'z', 'w']]);
    expect(index.signals).toEqual([signal]);
  });

  it('keeps everything when the index knows none of the ids', async () => {
    const index = new MemoryProcessedIndex(['old']);
    expect((await run(new DedupeStage({ index }), ['a', 'b'])).kept).toEqual(['a', 'b']);
  });

  it('does not query the index when nothing is left to check', async () => {
    const index = new MemoryProcessedIndex();
    const stage = new DedupeStage({ index });
    stage.committed({ eventIds: ['a'], refreshed: new Map() });
    await run(stage, ['a', 'a']);
    await run(stage, []);
    expect(index.queries).toEqual([]);
  });

  it('forgets the oldest remembered ids, a generation at a time, beyond its capacity', async () => {
    const stage = new DedupeStage({ recentCapacity: 4 });
    stage.committed({ eventIds: ['a', 'b', 'c', 'd', 'e'], refreshed: new Map() });
    expect((await run(stage, ['a', 'b', 'c', 'd', 'e'])).kept).toEqual(['a', 'b']);
  });
});

describe('RecentIds', () => {
  it.each([
    { capacity: 4, added: ['a', 'b', 'c'], present: ['a', 'b', 'c'], absent: [] },
    // The young generation {c, d} filled up and became the old one: {a, b} went as a whole.
    { capacity: 4, added: ['a', 'b', 'c', 'd', 'e'], present: ['c', 'd', 'e'], absent: ['a', 'b'] },
    // An id seen again is remembered as recent again (it moves to the young generation).
    { capacity: 4, added: ['a', 'b', 'c', 'a'], present: ['c', 'a'], absent: ['b'] },
    { capacity: 4, added: ['a', 'a', 'a'], present: ['a'], absent: [] },
    { capacity: 1, added: ['a', 'b'], present: ['b'], absent: ['a'] },
  ])('capacity $capacity after adding $added', ({ capacity, added, present, absent }) => {
    const ids = new RecentIds(capacity);
    for (const id of added) ids.add(id);
    for (const id of present) expect(ids.has(id)).toBe(true);
    for (const id of absent) expect(ids.has(id)).toBe(false);
  });

  it('always remembers the last capacity/2 ids and never holds more than the capacity', () => {
    const capacity = 10;
    const ids = new RecentIds(capacity);
    for (let n = 1; n <= 100; n++) {
      ids.add(`id-${n}`);
      expect(ids.size).toBeLessThanOrEqual(capacity);
      for (let back = 0; back < Math.min(n, capacity / 2); back++) expect(ids.has(`id-${n - back}`)).toBe(true);
    }
  });

  it('clear() empties it', () => {
    const ids = new RecentIds(10);
    ids.add('a');
    ids.clear();
    expect(ids.size).toBe(0);
    expect(ids.has('a')).toBe(false);
  });
});
