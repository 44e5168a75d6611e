import type { Client } from '@opensearch-project/opensearch';
import type { Logger } from 'pino';
import type { Settings } from '../../../schemas/settings.ts';
import { callOpenSearch } from './call-opensearch.ts';
import { EventProperties, FindingProperties, hasOwnershipMark, indexTemplates, mappingMeta } from './index-templates.ts';
import type { IndexKind } from './index-templates.ts';
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
  /** Monthly event indices of ours whose mapping was brought up to date (and which ISM manages, where it exists). */
  readonly eventIndices: readonly string[];
  /** Indices the events wildcard reaches that are not ours (other name, no mark, behind an alias): left untouched. */
  readonly foreignIndices: readonly string[];
}

/** An index the installer will not touch, and what to do about it. */
export class ForeignIndexError extends Error {
  override readonly name = 'ForeignIndexError';
}

/**
 * Installs driftwatch's index templates, the findings index and the event retention policy. Idempotent: safe to run
 * at every `driftwatch migrate` and from several workers at once. Our existing indices get new fields added to their
 * mapping; an index is ours when its name is exactly ours (`<prefix>-events-YYYY.MM`, `<prefix>-findings`, not an
 * alias) and its mapping carries our mark (`_meta.managed_by`, set by our templates since template version 3; indices
 * created by older versions are recognised by the shape those templates gave them and get the mark). Without ISM (e.g.
 * the local node), retention is reported as not installed: run `deleteExpiredEventIndices` (`driftwatch
 * opensearch-retention`) on a schedule instead.
 *
 * `logger`: bind it to `{ sink: 'opensearch' }` (the sink passes its own).
 */
export async function installOpenSearchIndices(client: Client, settings: InstallSettings, logger?: Logger): Promise<OpenSearchInstallReport> {
  const prefix = settings.OPENSEARCH_INDEX_PREFIX;
  const redact: Redact = createSecretRedactor(
    settings.OPENSEARCH_PASSWORD ? { kind: 'basic', username: settings.OPENSEARCH_USERNAME ?? '', password: settings.OPENSEARCH_PASSWORD } : { kind: 'none' },
  );
  const log = logger;

  const templates = indexTemplates(prefix, settings.OPENSEARCH_REPLICAS);
  for (const template of templates) {
    await callOpenSearch(client, { method: 'PUT', path: `/_index_template/${template.name}`, body: template.body }, redact, `install index template ${template.name}`);
  }

  const findingsIndex = IndexNames.findings(prefix);
  const findingsIndexCreated = await installFindingsIndex(client, prefix, redact);

  const { ours, foreign } = await listEventIndices(client, prefix, redact);
  // Indices created by an older version get the fields added since (compatible additions only), and the mark.
  for (const names of chunks(ours, 50)) {
    await callOpenSearch(
      client,
      { method: 'PUT', path: `/${names.join(',')}/_mapping`, body: { _meta: mappingMeta('events'), properties: EventProperties } },
      redact,
      'update mapping of event indices',
    );
  }
  if (foreign.length > 0) log?.warn({ indices: foreign.slice(0, 20), count: foreign.length }, 'opensearch indices match the events pattern but are not driftwatch\'s: left untouched');

  const retention = await installRetentionPolicy(client, prefix, settings.OPENSEARCH_RETENTION_DAYS, ours, redact);
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
    eventIndices: ours,
    foreignIndices: foreign,
  };
  log?.info({ ...report, eventIndices: ours.length }, 'opensearch indices installed');
  return report;
}

interface IndexInfo {
  readonly aliases?: Record<string, unknown>;
  readonly mappings?: { readonly dynamic?: unknown; readonly _meta?: unknown; readonly properties?: Record<string, { type?: unknown }> };
}

/** Creates the findings index, or checks that the existing one is ours and brings its mapping up to date. */
async function installFindingsIndex(client: Client, prefix: string, redact: Redact): Promise<boolean> {
  const name = IndexNames.findings(prefix);
  const existing = await callOpenSearch(client, { method: 'GET', path: `/${name}`, ignore: [404] }, redact, `read index ${name}`);
  let created = false;
  if (existing.statusCode === 404) {
    const result = await callOpenSearch(client, { method: 'PUT', path: `/${name}`, body: {}, ignore: [400] }, redact, `create index ${name}`);
    created = result.statusCode < 300;
    // Another worker created it in between: fine, it came from our template.
    if (!created && errorType(result.body) !== 'resource_already_exists_exception') {
      throw new Error(redact(`create index ${name} failed: ${errorType(result.body) ?? `HTTP ${result.statusCode}`}`));
    }
  } else {
    const indices = Object.entries((existing.body ?? {}) as Record<string, IndexInfo>);
    const own = indices.find(([index]) => index === name)?.[1];
    if (!own) {
      throw new ForeignIndexError(
        `${name} is an alias of ${indices.map(([index]) => index).join(', ')}, not driftwatch's findings index: driftwatch leaves it alone; set another OPENSEARCH_INDEX_PREFIX or remove the alias`,
      );
    }
    if (!isOurs(own, 'findings', prefix)) {
      throw new ForeignIndexError(
        `${name} exists but was not created by driftwatch (no _meta.managed_by mark in its mapping): driftwatch leaves it alone; set another OPENSEARCH_INDEX_PREFIX or remove that index`,
      );
    }
  }
  await callOpenSearch(
    client,
    { method: 'PUT', path: `/${name}/_mapping`, body: { _meta: mappingMeta('findings'), properties: FindingProperties } },
    redact,
    `update mapping of ${name}`,
  );
  return created;
}

/** Concrete indices the events wildcard reaches, split into ours and the rest (sorted). */
async function listEventIndices(client: Client, prefix: string, redact: Redact): Promise<{ ours: string[]; foreign: string[] }> {
  const listed = await callOpenSearch(
    client,
    { method: 'GET', path: `/${IndexNames.eventsPattern(prefix)}`, querystring: { allow_no_indices: true, expand_wildcards: 'open' } },
    redact,
    'list event indices',
  );
  const ours: string[] = [];
  const foreign: string[] = [];
  for (const [index, info] of Object.entries((listed.body ?? {}) as Record<string, IndexInfo>).sort(([a], [b]) => (a < b ? -1 : 1))) {
    // The wildcard also reaches indices behind a matching alias: their concrete name is not ours.
    (IndexNames.monthStartOf(prefix, index) !== null && isOurs(info, 'events', prefix) ? ours : foreign).push(index);
  }
  return { ours, foreign };
}

/**
 * Ours: the mark of our templates, or (created before the mark existed) exactly the shape our templates gave: strict
 * mapping with our id field as a keyword, and for event indices our alias.
 */
function isOurs(info: IndexInfo, kind: IndexKind, prefix: string): boolean {
  if (hasOwnershipMark(info.mappings, kind)) return true;
  if (info.mappings?._meta !== undefined) return false;
  const strict = String(info.mappings?.dynamic) === 'false';
  const idField = info.mappings?.properties?.[kind === 'events' ? 'eventId' : 'findingId']?.type === 'keyword';
  const alias = kind === 'findings' || Object.hasOwn(info.aliases ?? {}, IndexNames.eventsAlias(prefix));
  return strict && idField && alias;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function installRetentionPolicy(client: Client, prefix: string, retentionDays: number, ourIndices: readonly string[], redact: Redact): Promise<'ism' | 'not-installed'> {
  const policyId = IndexNames.retentionPolicy(prefix);
  const path = `/_plugins/_ism/policies/${policyId}`;
  const existing = await callOpenSearch(client, { method: 'GET', path, ignore: [400, 403, 404, 405] }, redact, 'read ISM policy');
  // Without the plugin the route does not exist: 400 "no handler found for uri" (405 on some versions).
  if (existing.statusCode === 400 || existing.statusCode === 405 || (existing.statusCode === 404 && !isIsmAnswer(existing.body))) return 'not-installed';
  if (existing.statusCode === 403) throw new Error(`read ISM policy ${policyId} failed: HTTP 403 (the user may not manage ISM policies)`);
  const wanted = retentionPolicy(prefix, retentionDays);
  if (existing.statusCode === 404) {
    await callOpenSearch(client, { method: 'PUT', path, body: wanted }, redact, `create ISM policy ${policyId}`);
    // ism_template only catches indices created from now on: attach the policy to our months that already exist (by
    // name: a wildcard would reach other applications' indices too).
    for (const names of chunks(ourIndices, 50)) {
      await callOpenSearch(client, { method: 'POST', path: `/_plugins/_ism/add/${names.join(',')}`, body: { policy_id: policyId } }, redact, `attach ISM policy ${policyId}`);
    }
    return 'ism';
  }
  const current = existing.body as { _seq_no?: number; _primary_term?: number; policy?: { states?: unknown; ism_template?: { index_patterns?: unknown }[] } };
  const wantedPolicy = wanted.policy as { states: unknown; ism_template: { index_patterns: unknown }[] };
  const patterns = (policy: { ism_template?: { index_patterns?: unknown }[] } | undefined) => JSON.stringify(policy?.ism_template?.map((t) => t.index_patterns) ?? []);
  if (JSON.stringify(current.policy?.states) !== JSON.stringify(wantedPolicy.states) || patterns(current.policy) !== patterns(wantedPolicy)) {
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
