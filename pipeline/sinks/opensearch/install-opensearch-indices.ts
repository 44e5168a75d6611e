import type { Client } from '@opensearch-project/opensearch';
import type { Logger } from 'pino';
import type { Settings } from '../../../schemas/settings.ts';
import { callOpenSearch } from './call-opensearch.ts';
import { EventProperties, FindingProperties, indexTemplates } from './index-templates.ts';
import { IndexNames } from './index-names.ts';
import { retentionPolicy } from './retention-policy.ts';
import { createSecretRedactor } from './secret-redactor.ts';
import type { Redact } from './secret-redactor.ts';

export type InstallSettings = Pick<
  Settings,
  'OPENSEARCH_INDEX_PREFIX' | 'OPENSEARCH_RETENTION_DAYS' | 'OPENSEARCH_REPLICAS' | 'OPENSEARCH_USERNAME' | 'OPENSEARCH_PASSWORD'
>;

export interface OpenSearchInstallReport {
  readonly templates: readonly string[];
  readonly findingsIndex: string;
  readonly findingsIndexCreated: boolean;
  /** ism: the retention policy is installed; not-installed: the cluster has no ISM plugin (use the fallback). */
  readonly retention: 'ism' | 'not-installed';
  readonly retentionDays: number;
}

/**
 * Installs driftwatch's index templates, the findings index and the event retention policy. Idempotent: safe to run
 * at every `driftwatch migrate` and from several workers at once. Existing indices get new fields added to their
 * mapping. Without ISM (e.g. the local node), retention is reported as not installed: run
 * `deleteExpiredEventIndices` (`driftwatch opensearch-retention`) on a schedule instead.
 */
/** `logger`: bind it to `{ sink: 'opensearch' }` (the sink passes its own). */
export async function installOpenSearchIndices(client: Client, settings: InstallSettings, logger?: Logger): Promise<OpenSearchInstallReport> {
  const prefix = settings.OPENSEARCH_INDEX_PREFIX;
  const redact: Redact = settings.OPENSEARCH_PASSWORD
    ? createSecretRedactor({ kind: 'basic', username: settings.OPENSEARCH_USERNAME ?? '', password: settings.OPENSEARCH_PASSWORD })
    : (text) => text;
  const log = logger;

  const templates = indexTemplates(prefix, settings.OPENSEARCH_REPLICAS);
  for (const template of templates) {
    await callOpenSearch(client, { method: 'PUT', path: `/_index_template/${template.name}`, body: template.body }, redact, `install index template ${template.name}`);
  }

  const findingsIndex = IndexNames.findings(prefix);
  const created = await callOpenSearch(client, { method: 'PUT', path: `/${findingsIndex}`, body: {}, ignore: [400] }, redact, `create index ${findingsIndex}`);
  const findingsIndexCreated = created.statusCode < 300;
  if (!findingsIndexCreated && errorType(created.body) !== 'resource_already_exists_exception') {
    throw new Error(redact(`create index ${findingsIndex} failed: ${errorType(created.body) ?? `HTTP ${created.statusCode}`}`));
  }
  // Indices created by an older version get the fields added since (compatible additions only).
  await callOpenSearch(client, { method: 'PUT', path: `/${findingsIndex}/_mapping`, body: { properties: FindingProperties } }, redact, `update mapping of ${findingsIndex}`);
  await callOpenSearch(
    client,
    { method: 'PUT', path: `/${IndexNames.eventsPattern(prefix)}/_mapping`, body: { properties: EventProperties }, querystring: { allow_no_indices: true } },
    redact,
    'update mapping of event indices',
  );

  const retention = await installRetentionPolicy(client, prefix, settings.OPENSEARCH_RETENTION_DAYS, redact);
  if (retention === 'not-installed') {
    log?.warn(
      { retentionDays: settings.OPENSEARCH_RETENTION_DAYS, indexPattern: IndexNames.eventsPattern(prefix) },
      'opensearch retention policy not installed: the cluster has no ISM plugin; schedule `driftwatch opensearch-retention`',
    );
  }
  const report: OpenSearchInstallReport = {
    templates: templates.map((t) => t.name),
    findingsIndex,
    findingsIndexCreated,
    retention,
    retentionDays: settings.OPENSEARCH_RETENTION_DAYS,
  };
  log?.info(report, 'opensearch indices installed');
  return report;
}

async function installRetentionPolicy(client: Client, prefix: string, retentionDays: number, redact: Redact): Promise<'ism' | 'not-installed'> {
  const policyId = IndexNames.retentionPolicy(prefix);
  const path = `/_plugins/_ism/policies/${policyId}`;
  const existing = await callOpenSearch(client, { method: 'GET', path, ignore: [400, 403, 404, 405] }, redact, 'read ISM policy');
  // Without the plugin the route does not exist: 400 "no handler found for uri" (405 on some versions).
  if (existing.statusCode === 400 || existing.statusCode === 405 || (existing.statusCode === 404 && !isIsmAnswer(existing.body))) return 'not-installed';
  if (existing.statusCode === 403) throw new Error(`read ISM policy ${policyId} failed: HTTP 403 (the user may not manage ISM policies)`);
  const wanted = retentionPolicy(prefix, retentionDays);
  if (existing.statusCode === 404) {
    await callOpenSearch(client, { method: 'PUT', path, body: wanted }, redact, `create ISM policy ${policyId}`);
    // ism_template only catches indices created from now on: attach the policy to the months that already exist.
    await callOpenSearch(
      client,
      { method: 'POST', path: `/_plugins/_ism/add/${IndexNames.eventsPattern(prefix)}`, body: { policy_id: policyId } },
      redact,
      `attach ISM policy ${policyId}`,
    );
    return 'ism';
  }
  const current = existing.body as { _seq_no?: number; _primary_term?: number; policy?: { states?: unknown } };
  if (JSON.stringify(current.policy?.states) !== JSON.stringify((wanted.policy as { states: unknown }).states)) {
    await callOpenSearch(
      client,
      { method: 'PUT', path, body: wanted, querystring: { if_seq_no: current._seq_no ?? 0, if_primary_term: current._primary_term ?? 1 } },
      redact,
      `update ISM policy ${policyId}`,
    );
  }
  return 'ism';
}

/** ISM's own "policy not found" answer, as opposed to a 404 from a proxy that does not know the route. */
function isIsmAnswer(body: unknown): boolean {
  const type = errorType(body);
  return type === 'status_exception' || type === 'index_not_found_exception' || /policy/i.test(JSON.stringify(body ?? ''));
}

function errorType(body: unknown): string | undefined {
  const error = (body as { error?: unknown } | null)?.error;
  if (typeof error === 'string') return error;
  const type = (error as { type?: unknown } | undefined)?.type;
  return typeof type === 'string' ? type : undefined;
}
