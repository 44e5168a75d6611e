import { clientsFromEnvironment } from '../shared/handler-environment.ts';
import { createCustomRuleHandler } from '../shared/run-custom-rule.ts';
import { iamUserConsoleLoginRule } from './iam-user-console-login-rule.ts';

export const handler = createCustomRuleHandler(iamUserConsoleLoginRule(process.env['GLOBAL_RESOURCES_REGION']), clientsFromEnvironment());
