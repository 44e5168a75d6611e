import { describe, expect, it } from 'vitest';
import { memoryShardCapacity } from '../../pipeline/kinesis/memory-shard-capacity.ts';

const MiB = 2 ** 20;
const defaults = { batchLimit: 2_000, maxInFlight: 1, stateCacheSize: 20_000 };

describe('memoryShardCapacity', () => {
  it.each([
    // The launcher's default heap (192 MB old space + 3 × 8 MB semi-spaces = 216 MiB): the 4 shards of the benches fit (167 MB used at peak).
    { heapMiB: 216, settings: defaults, shards: 4 },
    // Node's own default on a large machine: the heap is no limit in practice.
    { heapMiB: 4_144, settings: defaults, shards: 122 },
    // Larger batches and read-ahead cost room per shard.
    { heapMiB: 216, settings: { ...defaults, batchLimit: 10_000, maxInFlight: 2 }, shards: 1 },
    { heapMiB: 1_024, settings: { ...defaults, batchLimit: 10_000 }, shards: 9 },
    // Never zero: a worker always holds at least one shard.
    { heapMiB: 32, settings: defaults, shards: 1 },
  ])('$heapMiB MiB heap, $settings.batchLimit-record batches: $shards shards', ({ heapMiB, settings, shards }) => {
    expect(memoryShardCapacity(settings, heapMiB * MiB)).toBe(shards);
  });

  it('reads the running process heap limit by default', () => {
    expect(memoryShardCapacity(defaults)).toBeGreaterThanOrEqual(1);
  });
});
