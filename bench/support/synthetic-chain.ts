import { buildStageChain } from '../../pipeline/processor/build-stage-chain.ts';
import type { SyntheticOrg } from '../../pipeline/demo/synthetic-org.ts';
import { AccountRegistryFile } from '../../schemas/account-registry.ts';
import type { RawRecord } from '../../stages/decode/raw-record.ts';
import { AccountRegistry } from '../../stages/enrich/account-registry.ts';
import { RuleCatalog } from '../../stages/enrich/rule-catalog.ts';
import type { EvaluationState } from '../../stages/track/finding.ts';
import { SlaPolicy } from '../../stages/track/sla-policy.ts';
import type { TrackedEvent } from '../../stages/track/tracked-event.ts';
import type { TrackingChain } from '../../pipeline/processor/stage-chain.ts';

/** The stage chain of `run` over a synthetic organisation, its evaluation states in memory (nothing stored). */
export function syntheticChain(org: SyntheticOrg): TrackingChain<RawRecord, TrackedEvent> {
  const memory = new Map<string, EvaluationState>();
  return buildStageChain({
    catalog: RuleCatalog.builtIn(),
    accounts: new AccountRegistry(AccountRegistryFile.parse({ accounts: org.accounts })),
    sla: SlaPolicy.defaults(),
    stateStore: { load: async () => memory },
    maxRecordBytes: 262_144,
  });
}
