import { awsRuleClients } from './rule-clients.ts';
import type { OpenRuleClients } from './rule-clients.ts';

/** Production clients from the function's environment (set by OrgRulesStack). */
export function clientsFromEnvironment(env: NodeJS.ProcessEnv = process.env): OpenRuleClients {
  const evaluatorRoleName = env['EVALUATOR_ROLE_NAME'];
  if (!evaluatorRoleName) throw new Error('EVALUATOR_ROLE_NAME is not set');
  return awsRuleClients({ evaluatorRoleName });
}
