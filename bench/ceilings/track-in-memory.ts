import { AccountRegistryFile } from '../../schemas/account-registry.ts';
import type { SyntheticOrg } from '../../pipeline/demo/synthetic-org.ts';
import { buildStageChain } from '../../pipeline/processor/build-stage-chain.ts';
import type { RawRecord } from '../../stages/decode/raw-record.ts';
import { AccountRegistry } from '../../stages/enrich/account-registry.ts';
import { RuleCatalog } from '../../stages/enrich/rule-catalog.ts';
import type { Item } from '../../stages/stage.ts';
import { SlaPolicy } from '../../stages/track/sla-policy.ts';
import type { EvaluationState } from '../../stages/track/finding.ts';
import type { TrackedEvent } from '../../stages/track/tracked-event.ts';

/**
 * The tracked events a backlog produces (what the consumer hands its sinks), computed in memory before any sink is
 * timed: the raw loaders write exactly these documents and rows. Split into `lanes` by evaluation key (a shard owns
 * its keys), each lane in batches of `batchSize` unique events, in stream order.
 */
export async function trackInMemory(
  org: SyntheticOrg,
  deliveries: Iterable<{ readonly data: Uint8Array }>,
  options: { readonly lanes: number; readonly batchSize: number },
): Promise<TrackedEvent[][][]> {
  // Nothing is stored: every state stays in the track stage's cache, large enough for the whole backlog.
  const chain = buildStageChain({
    catalog: RuleCatalog.builtIn(),
    accounts: new AccountRegistry(AccountRegistryFile.parse({ accounts: org.accounts })),
    sla: SlaPolicy.defaults(),
    stateStore: { load: async () => new Map<string, EvaluationState>() },
    stateCacheSize: 10_000_000,
    maxRecordBytes: 262_144,
  });
  const refreshed = new Map<string, EvaluationState | null>();
  const signal = new AbortController().signal;
  const lanes: TrackedEvent[][] = Array.from({ length: options.lanes }, () => []);
  let chunk: Item<RawRecord>[] = [];
  const flush = async () => {
    const tracked = await chain.run({ shardId: 'ceiling', items: chunk }, signal);
    chain.committed({ eventIds: tracked.kept.map((item) => item.value.event.eventId), refreshed });
    for (const { value } of tracked.kept) lanes[laneOf(value.event.evaluationKey, options.lanes)]!.push(value);
    chunk = [];
  };
  for (const delivery of deliveries) {
    chunk.push({ origin: { shardId: 'ceiling', sequenceNumber: String(chunk.length) }, value: { data: delivery.data } });
    if (chunk.length === 2_000) await flush();
  }
  await flush();
  return lanes.map((lane) => {
    const batches: TrackedEvent[][] = [];
    for (let i = 0; i < lane.length; i += options.batchSize) batches.push(lane.slice(i, i + options.batchSize));
    return batches;
  });
}

function laneOf(key: string, lanes: number): number {
  let hash = 0;
  for (let i = 0; i < key.length; i++) hash = (hash * 31 + key.charCodeAt(i)) | 0;
  return Math.abs(hash) % lanes;
}
