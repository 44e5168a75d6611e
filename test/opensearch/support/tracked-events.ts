import { AccountRegistryFile } from '../../../schemas/account-registry.ts';
import type { SyntheticOrg, TrafficOptions } from '../../../pipeline/demo/synthetic-org.ts';
import { generateTraffic } from '../../../pipeline/demo/synthetic-org.ts';
import { buildStageChain } from '../../../pipeline/processor/build-stage-chain.ts';
import { AccountRegistry } from '../../../stages/enrich/account-registry.ts';
import { RuleCatalog } from '../../../stages/enrich/rule-catalog.ts';
import type { RawRecord } from '../../../stages/decode/raw-record.ts';
import type { Item } from '../../../stages/stage.ts';
import type { EvaluationState } from '../../../stages/track/finding.ts';
import { SlaPolicy } from '../../../stages/track/sla-policy.ts';
import type { TrackedEvent } from '../../../stages/track/tracked-event.ts';

/**
 * Synthetic traffic through the chain `run` builds (decode, dedupe, enrich, scope, track; states in memory), in one
 * batch: realistic tracked events, duplicates dropped as upstream of a sink.
 */
export async function trackedEventsOf(org: SyntheticOrg, traffic: TrafficOptions): Promise<Item<TrackedEvent>[]> {
  const memory = new Map<string, EvaluationState>();
  const chain = buildStageChain({
    catalog: RuleCatalog.builtIn(),
    accounts: new AccountRegistry(AccountRegistryFile.parse({ accounts: org.accounts })),
    sla: SlaPolicy.defaults(),
    stateStore: { load: async () => memory },
    maxRecordBytes: 262_144,
  });
  const items: Item<RawRecord>[] = [];
  let sequence = 0;
  for (const delivery of generateTraffic(org, { malformedRate: 0, ...traffic })) {
    items.push({ origin: { shardId: 'shardId-000000000000', sequenceNumber: String(++sequence) }, value: { data: delivery.data } });
  }
  const outcome = await chain.run({ shardId: 'shardId-000000000000', items }, new AbortController().signal);
  if (outcome.rejected.length > 0) throw new Error(`synthetic traffic made ${outcome.rejected.length} dead letter(s): ${outcome.rejected[0]!.reason}`);
  return outcome.kept;
}
