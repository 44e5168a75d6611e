import { clientsFromEnvironment } from '../shared/handler-environment.ts';
import { createCustomRuleHandler } from '../shared/run-custom-rule.ts';
import { AmiNotPublicRule } from './ami-not-public-rule.ts';

export const handler = createCustomRuleHandler(AmiNotPublicRule, clientsFromEnvironment());
