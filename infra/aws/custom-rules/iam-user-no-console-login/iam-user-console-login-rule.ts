import { GetLoginProfileCommand, NoSuchEntityException, paginateListUsers } from '@aws-sdk/client-iam';
import type { ConfigurationItem, RuleEvaluation } from '../shared/config-rule-event.ts';
import type { CustomRule } from '../shared/custom-rule.ts';
import type { RuleClients } from '../shared/rule-clients.ts';

/**
 * IAM users must not have a console login profile (console access goes through IAM Identity Center). The user's
 * configuration item does not show the login profile, so the rule asks IAM. Users are global: the daily sweep runs
 * only in the region that records global resources (GLOBAL_RESOURCES_REGION), or every region would report them.
 */
export function iamUserConsoleLoginRule(globalResourcesRegion: string | undefined): CustomRule {
  return {
    name: 'iam-user-no-console-login',
    resourceType: 'AWS::IAM::User',
    evaluate: (item: ConfigurationItem, clients: RuleClients) => {
      const configuration = (item.configuration ?? {}) as { userName?: string };
      return evaluateUser(item.resourceId, configuration.userName ?? item.resourceName ?? item.resourceId, clients);
    },
    sweep(clients, region) {
      if (globalResourcesRegion && region !== globalResourcesRegion) return undefined;
      return (async function* () {
        for await (const page of paginateListUsers({ client: clients.iam, pageSize: 1000 }, {})) {
          for (const user of page.Users ?? []) if (user.UserId && user.UserName) yield await evaluateUser(user.UserId, user.UserName, clients);
        }
      })();
    },
  };
}

/** Config identifies IAM users by their user id (AIDA...), the API by name. */
async function evaluateUser(userId: string, userName: string, clients: RuleClients): Promise<RuleEvaluation> {
  const base = { resourceType: 'AWS::IAM::User', resourceId: userId } as const;
  try {
    await clients.iam.send(new GetLoginProfileCommand({ UserName: userName }));
  } catch (error) {
    if (error instanceof NoSuchEntityException) return { ...base, compliance: 'COMPLIANT' };
    throw error;
  }
  return { ...base, compliance: 'NON_COMPLIANT', annotation: `IAM user ${userName} has a console password (login profile); use IAM Identity Center.` };
}
