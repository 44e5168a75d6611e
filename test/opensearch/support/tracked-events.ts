import { AccountRegistryFile } from '../../../schemas/account-registry.ts';
import type { SyntheticOrg, TrafficOptions } from '../../../pipeline/demo/synthetic-org.ts';
import { generateTraffic } from '../../../pipeline/demo/synthetic-org.ts';
import { DecodeStage } from '../../../stages/decode/decode-stage.ts';
import { AccountRegistry } from '../../../stages/enrich/account-registry.ts';
import { EnrichStage } from '../../../stages/enrich/enrich-stage.ts';
import { RuleCatalog } from '../../../stages/enrich/rule-catalog.ts';
import { ScopeStage } from '../../../stages/scope/scope-stage.ts';
import type { Item } from '../../../stages/stage.ts';
import type { EvaluationState } from '../../../stages/track/finding.ts';
import { SlaPolicy } from '../../../stages/track/sla-policy.ts';
import { TrackStage } from '../../../stages/track/track-stage.ts';
import type { TrackedEvent } from '../../../stages/track/tracked-event.ts';

/** Synthetic traffic through the real decode/enrich/scope/track stages (in memory): realistic tracked events. */
export async function trackedEventsOf(org: SyntheticOrg, traffic: TrafficOptions): Promise<Item<TrackedEvent>[]> {
  const decode = new DecodeStage({ maxRecordBytes: 262_144 });
  const enrich = new EnrichStage({ catalog: RuleCatalog.builtIn(), accounts: new AccountRegistry(AccountRegistryFile.parse({ accounts: org.accounts })) });
  const scope = new ScopeStage();
  const memory = new Map<string, EvaluationState>();
  const track = new TrackStage({ store: { load: async () => memory }, sla: SlaPolicy.defaults() });
  const seen = new Set<string>();
  const items: Item<{ data: Uint8Array }>[] = [];
  let sequence = 0;
  for (const delivery of generateTraffic(org, { malformedRate: 0, ...traffic })) {
    // Duplicates are dropped upstream (dedupe stage), so a sink never sees them.
    if (delivery.event && seen.has(delivery.event.id)) continue;
    if (delivery.event) seen.add(delivery.event.id);
    items.push({ origin: { shardId: 'shardId-000000000000', sequenceNumber: String(++sequence) }, value: { data: delivery.data } });
  }
  const decoded = decode.process({ shardId: 'shardId-000000000000', items });
  const enriched = enrich.process({ shardId: 'shardId-000000000000', items: decoded.kept });
  const scoped = scope.process({ shardId: 'shardId-000000000000', items: enriched.kept });
  const tracked = await track.process({ shardId: 'shardId-000000000000', items: scoped.kept }, new AbortController().signal);
  return tracked.kept;
}
