import { getHeapStatistics } from 'node:v8';

export interface ShardMemorySettings {
  readonly batchLimit: number;
  readonly maxInFlight: number;
  readonly stateCacheSize: number;
}

/** Live heap of a worker before its first shard (runtime, clients, stage tables), measured by npm run bench:memory. */
const BaseMiB = 60;
/** Heap per record held in flight (the bytes, the parsed event and its tracked form) and per cached evaluation state. */
const RecordKiB = 2.5;
const StateKiB = 0.7;
/** Share of the heap limit the shards may fill: V8 collects ever more often near the limit (bench:memory, 4 shards). */
const Headroom = 0.85;

/**
 * How many shards this process can hold without running out of heap: each holds up to (in flight + 2) batches of
 * records (read ahead, one committing, one in its sink phase) and its evaluation-state cache. The launcher gives the
 * process a small heap by default (bin/node-flags.mjs), so a worker that took every shard of a wide stream would
 * crash on out-of-memory; capped, it leaves the rest to other workers and says so.
 *
 * @example
 * memoryShardCapacity({ batchLimit: 2_000, maxInFlight: 1, stateCacheSize: 20_000 }, 216 * 2 ** 20) // 4
 */
export function memoryShardCapacity(settings: ShardMemorySettings, heapLimitBytes = getHeapStatistics().heap_size_limit): number {
  const perShardMiB = ((settings.maxInFlight + 2) * settings.batchLimit * RecordKiB + settings.stateCacheSize * StateKiB) / 1024;
  const heapMiB = heapLimitBytes / 2 ** 20;
  return Math.max(1, Math.floor((heapMiB * Headroom - BaseMiB) / perShardMiB));
}
