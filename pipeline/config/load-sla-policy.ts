import { SlaPolicyFile } from '../../schemas/sla-policy.ts';
import { SlaPolicy } from '../../stages/track/sla-policy.ts';
import { parseConfigFile } from './parse-config-file.ts';

/** The DRIFTWATCH_SLA_POLICY file as a policy, or the defaults when unset. */
export async function loadSlaPolicy(path: string | undefined): Promise<SlaPolicy> {
  if (!path) return SlaPolicy.defaults();
  return new SlaPolicy(await parseConfigFile(SlaPolicyFile, path, 'SLA policy'));
}
