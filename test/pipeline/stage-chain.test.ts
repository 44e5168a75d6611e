import { describe, expect, it } from 'vitest';
import { StageChain } from '../../pipeline/processor/stage-chain.ts';
import type { Batch, CommittedBatch, Item, Stage, StageOutput, StageResult } from '../../stages/stage.ts';

const signal = new AbortController().signal;
const origin = (n: number) => ({ shardId: 's', sequenceNumber: String(n) });
const itemsOf = (values: number[]): Item<number>[] => values.map((value, i) => ({ origin: origin(i), value }));

/** Keeps even numbers, drops multiples of 3 as duplicates, rejects the rest; async when asked. */
class Sorting implements Stage<number, number> {
  readonly calls: string[] = [];
  constructor(
    readonly name: string,
    readonly asynchronous: boolean,
  ) {}

  process(batch: Batch<number>): StageOutput<number> {
    const result: StageResult<number> = { kept: [], dropped: [], rejected: [] };
    for (const item of batch.items) {
      if (item.value % 2 === 0) result.kept.push({ origin: item.origin, value: item.value / 2 });
      else if (item.value % 3 === 0) result.dropped.push({ origin: item.origin, reason: 'duplicate' });
      else result.rejected.push({ origin: item.origin, stage: this.name, reason: `odd ${item.value}`, raw: new Uint8Array([item.value]) });
    }
    return this.asynchronous ? Promise.resolve(result) : result;
  }

  committed(batch: CommittedBatch): void {
    this.calls.push(`committed ${batch.eventIds.join(',')}`);
  }

  rolledBack(): void {
    this.calls.push('rolledBack');
  }
}

describe('StageChain (issue 10)', () => {
  it('feeds each stage the kept records of the one before and collects every stage dropped and rejected records', async () => {
    const chain = new StageChain<number, number>([new Sorting('first', false), new Sorting('second', true), new Sorting('third', false)]);
    // 8 -> 4 -> 2 -> 1; 12 -> 6 -> 3 (dropped by third); 20 -> 10 -> 5 (rejected by third); 9 dropped and 7 rejected by
    // first; 6 -> 3 dropped by second; 14 -> 7 rejected by second.
    const outcome = await chain.run({ shardId: 's', items: itemsOf([8, 12, 20, 9, 7, 6, 14]) }, signal);
    expect(outcome.kept.map((item) => item.value)).toEqual([1]);
    expect(outcome.dropped.map((d) => d.origin.sequenceNumber)).toEqual(['3', '5', '1']);
    expect(outcome.rejected.map((r) => [r.stage, r.reason])).toEqual([['first', 'odd 7'], ['second', 'odd 7'], ['third', 'odd 5']]);
    expect(outcome.counts).toEqual([
      { stage: 'first', into: 7, kept: 5, dropped: 1, rejected: 1 },
      { stage: 'second', into: 5, kept: 3, dropped: 1, rejected: 1 },
      { stage: 'third', into: 3, kept: 1, dropped: 1, rejected: 1 },
    ]);
  });

  it('tells every stage of a commit and of a rollback', () => {
    const stages = [new Sorting('a', false), new Sorting('b', true)];
    const chain = new StageChain<number, number>(stages);
    chain.committed({ eventIds: ['x', 'y'], refreshed: new Map() });
    chain.rolledBack();
    for (const stage of stages) expect(stage.calls).toEqual(['committed x,y', 'rolledBack']);
  });
});
