import type { Client } from '@opensearch-project/opensearch';
import type { Settings } from '../../schemas/settings.ts';
import { callOpenSearch } from '../sinks/opensearch/call-opensearch.ts';
import { createOpenSearchClient } from '../sinks/opensearch/client.ts';
import { openSearchConfigFromSettings } from '../sinks/opensearch/config.ts';
import { IndexNames } from '../sinks/opensearch/index-names.ts';
import { createSecretRedactor } from '../sinks/opensearch/secret-redactor.ts';
import type { Redact } from '../sinks/opensearch/secret-redactor.ts';

/** One accepted compliance change of a resource and rule, as the OpenSearch event log holds it. */
export interface EventLogEntry {
  readonly at: Date;
  readonly eventId: string;
  readonly compliance: string;
  readonly transition: string;
  readonly annotation: string | null;
}

/** The identity of an evaluation, from its own columns (the stored key's encoding is not ours to parse). */
export interface EvaluationIdentity {
  readonly accountId: string;
  readonly region: string;
  readonly rule: string;
  readonly resourceType: string;
  readonly resourceId: string;
}

/**
 * Reads the full event history of one resource and rule from the monthly event indices, when OpenSearch is configured.
 * Postgres keeps only the current evaluation and the findings; this is what happened in between.
 */
export class EventLogReader {
  readonly #client: Client;
  readonly #prefix: string;
  readonly #redact: Redact;

  private constructor(client: Client, prefix: string, redact: Redact) {
    this.#client = client;
    this.#prefix = prefix;
    this.#redact = redact;
  }

  /** Null when OPENSEARCH_URL is unset. */
  static fromSettings(settings: Settings, timeoutMs = 3_000): EventLogReader | null {
    const config = openSearchConfigFromSettings(settings);
    if (!config) return null;
    return new EventLogReader(createOpenSearchClient({ ...config, requestTimeoutMs: Math.min(config.requestTimeoutMs, timeoutMs) }), config.indexPrefix, createSecretRedactor(config.auth));
  }

  async events(of: EvaluationIdentity, limit: number): Promise<EventLogEntry[]> {
    const term = (field: string, value: string) => ({ term: { [field]: value } });
    const response = await callOpenSearch(
      this.#client,
      {
        method: 'POST',
        path: `/${IndexNames.eventsPattern(this.#prefix)}/_search`,
        querystring: { ignore_unavailable: true, allow_no_indices: true },
        body: {
          size: limit,
          sort: [{ eventTime: 'desc' }, { eventId: 'asc' }],
          _source: ['eventTime', 'eventId', 'compliance', 'transition', 'annotation'],
          query: {
            bool: {
              filter: [
                term('accountId', of.accountId),
                term('region', of.region),
                term('rule', of.rule),
                term('resourceType', of.resourceType),
                term('resourceId', of.resourceId),
              ],
            },
          },
        },
      },
      this.#redact,
      'event log of a finding',
    );
    const hits = (response.body as { hits?: { hits?: { _source?: Record<string, unknown> }[] } }).hits?.hits ?? [];
    return hits.map(({ _source: s = {} }) => ({
      at: new Date(String(s.eventTime)),
      eventId: String(s.eventId ?? ''),
      compliance: String(s.compliance ?? ''),
      transition: String(s.transition ?? ''),
      annotation: typeof s.annotation === 'string' ? s.annotation : null,
    }));
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}
