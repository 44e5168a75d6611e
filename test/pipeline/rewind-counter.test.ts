import { describe, expect, it } from 'vitest';
import { RewindCounter } from '../../pipeline/processor/rewind-counter.ts';
import type { RawRecord } from '../../stages/decode/raw-record.ts';
import type { Item } from '../../stages/stage.ts';

const batchAt = (sequenceNumber: string): Item<RawRecord>[] => [{ origin: { shardId: 'shardId-000000000000', sequenceNumber }, value: { data: new Uint8Array() } }];

describe('RewindCounter', () => {
  it('counts failures per batch start, and a success ends only its own batch count', () => {
    const counter = new RewindCounter(3);
    const [a, b] = [batchAt('100'), batchAt('200')];
    counter.failed(b);
    // The batch before it fails in the same attempt (its sinks), is read again and settles: b's count stands.
    counter.failed(a);
    counter.succeeded(a);
    counter.failed(b);
    expect(counter.failuresAt(b)).toBe(2);
    expect(counter.failuresAt(a)).toBe(0);
    counter.succeeded(b);
    expect(counter.failuresAt(b)).toBe(0);
  });

  it('a refusal makes the next attempt due for isolation', () => {
    const counter = new RewindCounter(3);
    counter.refused(batchAt('300'));
    expect(counter.failuresAt(batchAt('300'))).toBe(3);
  });

  it('keeps the starts that failed last, dropping those that never came back', () => {
    const counter = new RewindCounter(3);
    for (const at of ['1', '2', '3', '4', '5']) counter.failed(batchAt(at));
    counter.failed(batchAt('2'));
    counter.failed(batchAt('6'));
    expect(['1', '2', '3', '4', '5', '6'].map((at) => counter.failuresAt(batchAt(at)))).toEqual([0, 2, 0, 1, 1, 1]);
  });
});
