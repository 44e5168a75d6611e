import pino from 'pino';
import { runReconcileJob } from '../../../pipeline/reconcile/reconcile-job.ts';
import type { ReconcileJobOptions } from '../../../pipeline/reconcile/reconcile-job.ts';
import type { ReconcileReport } from '../../../pipeline/reconcile/reconciler.ts';
import type { Runtime } from '../../../pipeline/runtime/create-runtime.ts';
import { normalizeRuleName } from '../../../stages/enrich/normalize-rule-name.ts';
import { evaluationKeyOf } from '../../../stages/enrich/enriched-event.ts';
import { AwsJsonServer } from '../../aws-server/aws-json-server.ts';
import { configService } from '../../aws-server/config/config-service.ts';
import type { ConfigEstate, ConfigEvaluation } from '../../aws-server/config/config-estate.ts';
import { organizationsService } from '../../aws-server/organizations/organizations-service.ts';
import { GeneratedOrganization } from '../../aws-server/organizations/generated-organization.ts';

/** The local Config + Organizations server, with the settings that point driftwatch at it. */
export async function startAwsServer(estate: ConfigEstate, org: GeneratedOrganization = GeneratedOrganization.generate({ accounts: 1 })): Promise<{ server: AwsJsonServer; env: Record<string, string> }> {
  const server = await AwsJsonServer.start([configService(estate), organizationsService(org)]);
  return {
    server,
    env: {
      CONFIG_ENDPOINT: server.endpoint,
      ORGANIZATIONS_ENDPOINT: server.endpoint,
      DRIFTWATCH_CONFIG_AGGREGATOR: estate.aggregatorName,
      LOG_LEVEL: 'silent',
    },
  };
}

const Silent = pino({ level: 'silent' });

export function reconcile(runtime: Runtime, options: ReconcileJobOptions = {}, signal = new AbortController().signal): Promise<ReconcileReport> {
  return runReconcileJob(runtime, Silent, options, signal);
}

export function keyOf(e: ConfigEvaluation): string {
  return evaluationKeyOf(e.accountId, e.region, normalizeRuleName(e.configRuleName), e.resourceType, e.resourceId);
}
