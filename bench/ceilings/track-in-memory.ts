import { AccountRegistryFile } from '../../schemas/account-registry.ts';
import type { SyntheticOrg } from '../../pipeline/demo/synthetic-org.ts';
import { DecodeStage } from '../../stages/decode/decode-stage.ts';
import { DedupeStage } from '../../stages/dedupe/dedupe-stage.ts';
import { AccountRegistry } from '../../stages/enrich/account-registry.ts';
import { EnrichStage } from '../../stages/enrich/enrich-stage.ts';
import { RuleCatalog } from '../../stages/enrich/rule-catalog.ts';
import { ScopeStage } from '../../stages/scope/scope-stage.ts';
import { SlaPolicy } from '../../stages/track/sla-policy.ts';
import { TrackStage } from '../../stages/track/track-stage.ts';
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
  const decode = new DecodeStage({ maxRecordBytes: 262_144 });
  const dedupe = new DedupeStage({ recentCapacity: 10_000_000 });
  const enrich = new EnrichStage({ catalog: RuleCatalog.builtIn(), accounts: new AccountRegistry(AccountRegistryFile.parse({ accounts: org.accounts })) });
  const scope = new ScopeStage();
  const memory = new Map<string, EvaluationState>();
  const track = new TrackStage({ store: { load: async () => memory }, sla: SlaPolicy.defaults(), cacheCapacity: 10_000_000 });
  const signal = new AbortController().signal;
  const lanes: TrackedEvent[][] = Array.from({ length: options.lanes }, () => []);
  let chunk: { origin: { shardId: string; sequenceNumber: string }; value: { data: Uint8Array } }[] = [];
  const flush = async () => {
    const decoded = decode.processSync({ shardId: 'ceiling', items: chunk });
    const deduped = await dedupe.process({ shardId: 'ceiling', items: decoded.kept }, signal);
    const scoped = scope.processSync({ shardId: 'ceiling', items: enrich.processSync({ shardId: 'ceiling', items: deduped.kept }).kept });
    const tracked = await track.process({ shardId: 'ceiling', items: scoped.kept }, signal);
    dedupe.remember(tracked.kept.map((item) => item.value.event.eventId));
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
