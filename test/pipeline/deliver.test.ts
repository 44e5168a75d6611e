import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { deliver } from '../../pipeline/sinks/deliver.ts';
import type { DeliveryPolicy } from '../../pipeline/sinks/deliver.ts';
import { SinkError } from '../../pipeline/sinks/sink.ts';
import type { Sink, WriteOutcome } from '../../pipeline/sinks/sink.ts';
import type { Batch } from '../../stages/stage.ts';

const logger = pino({ level: 'silent' });
const Fast: DeliveryPolicy = { initialBackoffMs: 1, maxBackoffMs: 2 };
const ShardId = 'shardId-000000000007';

/** Our own Sink interface with scripted outcomes: each write answers with the next one (the last repeats). */
class ScriptedSink implements Sink<string> {
  readonly name = 'scripted';
  readonly writes: string[][] = [];
  readonly shardIds: string[] = [];
  readonly #script: readonly (() => WriteOutcome)[];

  constructor(script: readonly (() => WriteOutcome)[]) {
    this.#script = script;
  }

  async healthcheck(): Promise<void> {}

  async write(batch: Batch<string>): Promise<WriteOutcome> {
    this.writes.push(batch.items.map((item) => item.value));
    this.shardIds.push(batch.shardId);
    const next = this.#script[Math.min(this.writes.length - 1, this.#script.length - 1)]!;
    return next();
  }

  async close(): Promise<void> {}
}

const delivered = (): WriteOutcome => ({ status: 'delivered' });
const retriable = (): WriteOutcome => ({ status: 'errored', retriable: true, error: new Error('timeout') });

function batchOf(values: readonly string[]): Batch<string> {
  return { shardId: ShardId, items: values.map((value, i) => ({ origin: { shardId: ShardId, sequenceNumber: String(100 + i) }, value })) };
}

interface Case {
  readonly name: string;
  readonly items: readonly string[];
  readonly script: readonly (() => WriteOutcome)[];
  readonly writes: readonly (readonly string[])[];
  readonly rejected: readonly (readonly [string, string])[];
}

const cases: readonly Case[] = [
  { name: 'delivered the first time', items: ['a', 'b', 'c'], script: [delivered], writes: [['a', 'b', 'c']], rejected: [] },
  {
    name: 'partial: retries only the listed items, by their index in the written batch',
    items: ['a', 'b', 'c', 'd'],
    script: [
      () => ({ status: 'partial', retry: [1, 3], rejected: [{ index: 2, reason: 'mapping conflict' }] }),
      () => ({ status: 'partial', retry: [1], rejected: [{ index: 0, reason: 'document too large' }] }),
      delivered,
    ],
    writes: [['a', 'b', 'c', 'd'], ['b', 'd'], ['d']],
    rejected: [['c', 'mapping conflict'], ['b', 'document too large']],
  },
  {
    name: 'partial with nothing to retry: done, the rest is stored',
    items: ['a', 'b', 'c'],
    script: [() => ({ status: 'partial', retry: [], rejected: [{ index: 0, reason: 'bad' }, { index: 2, reason: 'worse' }] })],
    writes: [['a', 'b', 'c']],
    rejected: [['a', 'bad'], ['c', 'worse']],
  },
  {
    name: 'partial that only retries: nothing is rejected',
    items: ['a', 'b'],
    script: [() => ({ status: 'partial', retry: [0], rejected: [] }), delivered],
    writes: [['a', 'b'], ['a']],
    rejected: [],
  },
  {
    name: 'retriable errors: the whole batch again, until delivered',
    items: ['a', 'b'],
    script: [retriable, retriable, delivered],
    writes: [['a', 'b'], ['a', 'b'], ['a', 'b']],
    rejected: [],
  },
  {
    name: 'a retriable error after a partial retries the remaining items',
    items: ['a', 'b', 'c'],
    script: [() => ({ status: 'partial', retry: [0, 2], rejected: [] }), retriable, delivered],
    writes: [['a', 'b', 'c'], ['a', 'c'], ['a', 'c']],
    rejected: [],
  },
  {
    name: 'out-of-range indices from the sink are ignored',
    items: ['a'],
    script: [() => ({ status: 'partial', retry: [5], rejected: [{ index: 9, reason: 'ghost' }] })],
    writes: [['a']],
    rejected: [],
  },
];

describe('deliver', () => {
  it.each(cases)('$name', async ({ items, script, writes, rejected }) => {
    const sink = new ScriptedSink(script);
    const result = await deliver(sink, batchOf(items), new AbortController().signal, logger, Fast);
    expect(sink.writes).toEqual(writes);
    expect(sink.shardIds.every((shardId) => shardId === ShardId)).toBe(true);
    expect(result.attempts).toBe(writes.length);
    expect(result.rejected.map(({ item, reason }) => [item.value, reason])).toEqual(rejected);
    // Rejected items keep their origin, so the caller can dead-letter the right record.
    for (const { item } of result.rejected) expect(item.origin.sequenceNumber).toBe(String(100 + items.indexOf(item.value)));
  });

  it('does not write an empty batch', async () => {
    const sink = new ScriptedSink([delivered]);
    const result = await deliver(sink, batchOf([]), new AbortController().signal, logger, Fast);
    expect(result).toEqual({ rejected: [], attempts: 0 });
    expect(sink.writes).toEqual([]);
  });

  it('throws a SinkError naming the sink on a non-retriable error, without retrying', async () => {
    const cause = new Error('403 forbidden: index is read-only');
    const sink = new ScriptedSink([() => ({ status: 'errored', retriable: false, error: cause })]);
    const error = await deliver(sink, batchOf(['a']), new AbortController().signal, logger, Fast).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(SinkError);
    const sinkError = error as SinkError;
    expect(sinkError.name).toBe('SinkError');
    expect(sinkError.sink).toBe('scripted');
    expect(sinkError.message).toBe('scripted: write failed and is not retriable: 403 forbidden: index is read-only');
    expect(sinkError.cause).toBe(cause);
    expect(sink.writes).toHaveLength(1);
  });

  it('throws after a partial when the retry fails for good', async () => {
    const sink = new ScriptedSink([
      () => ({ status: 'partial', retry: [0], rejected: [] }),
      () => ({ status: 'errored', retriable: false, error: new Error('cluster gone') }),
    ]);
    await expect(deliver(sink, batchOf(['a', 'b']), new AbortController().signal, logger, Fast)).rejects.toThrow('scripted: write failed and is not retriable: cluster gone');
    expect(sink.writes).toEqual([['a', 'b'], ['a']]);
  });

  it('stops retrying when aborted', async () => {
    const controller = new AbortController();
    const reason = new Error('shard lease lost');
    const sink = new ScriptedSink([
      retriable,
      retriable,
      () => {
        controller.abort(reason);
        return retriable();
      },
    ]);
    await expect(deliver(sink, batchOf(['a']), controller.signal, logger, Fast)).rejects.toThrow();
    expect(sink.writes).toHaveLength(3);
  });

  it('stops retrying when aborted during the backoff', async () => {
    const controller = new AbortController();
    const sink = new ScriptedSink([
      () => {
        // Aborted while deliver() sleeps before the second attempt (a full-jitter delay of up to ~23 days, never 0 in practice).
        setImmediate(() => controller.abort(new Error('stopping')));
        return retriable();
      },
    ]);
    await expect(deliver(sink, batchOf(['a']), controller.signal, logger, { initialBackoffMs: 2_000_000_000, maxBackoffMs: 2_000_000_000 })).rejects.toThrow();
    expect(sink.writes).toHaveLength(1);
  });

  it('does not write at all with an aborted signal', async () => {
    const controller = new AbortController();
    controller.abort(new Error('already stopped'));
    const sink = new ScriptedSink([delivered]);
    await expect(deliver(sink, batchOf(['a']), controller.signal, logger, Fast)).rejects.toThrow('already stopped');
    expect(sink.writes).toEqual([]);
  });

  it('keeps retrying a long outage (the shard stalls rather than losing items)', async () => {
    const script = [...Array.from({ length: 25 }, () => retriable), delivered];
    const sink = new ScriptedSink(script);
    const result = await deliver(sink, batchOf(['a']), new AbortController().signal, logger, Fast);
    expect(result.attempts).toBe(26);
  });

  it('tells its observer of each retry as it happens, and once when a stalled batch settles', async () => {
    const events: string[] = [];
    const sink = new ScriptedSink([retriable, () => ({ status: 'partial', retry: [1], rejected: [] }), delivered]);
    await deliver(sink, batchOf(['a', 'b']), new AbortController().signal, logger, Fast, {
      onRetry: (attempt, pending) => events.push(`retry ${attempt} (${pending} pending)`),
      onRecovered: () => events.push('recovered'),
    });
    expect(events).toEqual(['retry 1 (2 pending)', 'retry 2 (1 pending)', 'recovered']);
  });

  it('does not call onRecovered for a batch delivered the first time, and does when a stalled delivery is aborted', async () => {
    const events: string[] = [];
    const observer = { onRetry: () => events.push('retry'), onRecovered: () => events.push('recovered') };
    await deliver(new ScriptedSink([delivered]), batchOf(['a']), new AbortController().signal, logger, Fast, observer);
    expect(events).toEqual([]);
    const controller = new AbortController();
    const sink = new ScriptedSink([() => (controller.abort(new Error('stop')), retriable())]);
    await expect(deliver(sink, batchOf(['a']), controller.signal, logger, Fast, observer)).rejects.toThrow();
    expect(events).toEqual(['retry', 'recovered']);
  });
});
