import { clientsFromEnvironment } from '../shared/handler-environment.ts';
import { createCustomRuleHandler } from '../shared/run-custom-rule.ts';
import { VpcFlowLogsRule } from './vpc-flow-logs-rule.ts';

export const handler = createCustomRuleHandler(VpcFlowLogsRule, clientsFromEnvironment());
