import type { Client } from '@opensearch-project/opensearch';
import type { Logger } from 'pino';
import type { Batch } from '../../../stages/stage.ts';
import type { TrackedEvent } from '../../../stages/track/tracked-event.ts';
import type { RejectedItem, Sink, WriteOutcome } from '../sink.ts';
import { buildBulkRequests } from './bulk-request.ts';
import type { BulkRequest } from './bulk-request.ts';
import type { OpenSearchConfig } from './config.ts';
import { checkOpenSearchHealth } from './healthcheck.ts';
import { OpenSearchRequestError } from './opensearch-request-error.ts';
import { IndexNames } from './index-names.ts';
import { installOpenSearchIndices } from './install-opensearch-indices.ts';
import { decideBulkRetry } from './retry.ts';
import type { BulkDecision } from './retry.ts';
import { createSecretRedactor } from './secret-redactor.ts';
import type { Redact } from './secret-redactor.ts';

export interface OpenSearchSinkOptions {
  readonly client: Client;
  readonly config: OpenSearchConfig;
  readonly logger: Logger;
}

// The response only needs each item's status and error: the rest (ids, shards, versions) is ~5x the bytes to parse.
const BulkFilterPath = 'errors,items.*.status,items.*.error';

/**
 * Writes each tracked event to its monthly event index and, when it opens, resolves or leaves open a finding, the
 * finding's current state to the findings index, through `_bulk` with deterministic ids (redelivery overwrites).
 *
 * A batch is acknowledged only when every item is settled: items OpenSearch refused for good are returned as rejected
 * (dead letters), items it could not take now (429, 5xx) are returned for retry, and an unreachable cluster is a
 * retriable error. deliver() owns the backoff, so an outage stalls the shard and it resumes by itself.
 */
export class OpenSearchSink implements Sink<TrackedEvent> {
  readonly name = 'opensearch';
  readonly #client: Client;
  readonly #config: OpenSearchConfig;
  readonly #logger: Logger;
  readonly #redact: Redact;
  #indicesReady: Promise<void> | undefined;

  constructor(options: OpenSearchSinkOptions) {
    this.#client = options.client;
    this.#config = options.config;
    this.#logger = options.logger.child({ sink: this.name });
    this.#redact = createSecretRedactor(options.config.auth);
  }

  async healthcheck(signal: AbortSignal): Promise<void> {
    await checkOpenSearchHealth(
      this.#client,
      { redact: this.#redact, serverless: this.#config.auth.kind === 'sigv4' && this.#config.auth.service === 'aoss' },
      signal,
    );
  }

  async write(batch: Batch<TrackedEvent>, signal: AbortSignal): Promise<WriteOutcome> {
    try {
      await this.#ensureIndices();
    } catch (error) {
      return { status: 'errored', retriable: true, error: OpenSearchRequestError.from(error, this.#redact, 'opensearch index setup') };
    }
    const values = batch.items.map((item) => item.value);
    const requests = buildBulkRequests(values, { indexPrefix: this.#config.indexPrefix, maxBytes: this.#config.bulkMaxBytes });
    const retry: number[] = [];
    const rejected: RejectedItem[] = [];
    for (let r = 0; r < requests.length; r++) {
      const request = requests[r]!;
      const decision = await this.#send(request, signal);
      if (decision.kind === 'ok') continue;
      if (decision.kind === 'partial') {
        retry.push(...decision.retry);
        for (const { index, reason } of decision.rejected) rejected.push({ index, reason: this.#redact(reason) });
        continue;
      }
      const error = new OpenSearchRequestError(this.#redact(`opensearch bulk failed: ${decision.reason}`), decision.kind);
      if (decision.kind === 'fail') {
        this.#logger.error({ shardId: batch.shardId, error: error.message }, 'opensearch bulk request failed');
        return { status: 'errored', retriable: false, error };
      }
      // Unreachable or overloaded: stop here (the next requests would fail the same way) and retry what is not stored.
      if (r === 0) return { status: 'errored', retriable: true, error };
      for (const later of requests.slice(r)) retry.push(...later.items);
      this.#logger.warn({ shardId: batch.shardId, error: error.message, retrying: retry.length }, 'opensearch bulk request failed');
      break;
    }
    if (retry.length === 0 && rejected.length === 0) return { status: 'delivered' };
    if (rejected.length > 0) {
      this.#logger.warn(
        { shardId: batch.shardId, rejected: rejected.length, reasons: rejected.slice(0, 3).map((r) => r.reason) },
        'opensearch rejected documents',
      );
    }
    return { status: 'partial', retry, rejected };
  }

  async close(): Promise<void> {
    await this.#client.close();
  }

  /**
   * Without the templates, the first write of a month would create its index with guessed (dynamic) mappings, which
   * break aggregations until the index is deleted. So the first write installs them if `driftwatch migrate` has not.
   */
  #ensureIndices(): Promise<void> {
    this.#indicesReady ??= (async () => {
      const prefix = this.#config.indexPrefix;
      const probe = await this.#client.transport.request({ method: 'HEAD', path: `/_index_template/${IndexNames.eventsTemplate(prefix)}` }, { ignore: [404] });
      if (probe.statusCode !== 404) return;
      this.#logger.warn({ indexPrefix: prefix }, 'opensearch index templates missing, installing them (run `driftwatch migrate` to do it ahead)');
      const auth = this.#config.auth;
      await installOpenSearchIndices(
        this.#client,
        {
          OPENSEARCH_INDEX_PREFIX: prefix,
          OPENSEARCH_RETENTION_DAYS: this.#config.retentionDays,
          OPENSEARCH_REPLICAS: this.#config.replicas,
          OPENSEARCH_USERNAME: auth.kind === 'basic' ? auth.username : undefined,
          OPENSEARCH_PASSWORD: auth.kind === 'basic' ? auth.password : undefined,
        },
        this.#logger,
      );
    })().catch((error: unknown) => {
      this.#indicesReady = undefined;
      throw error;
    });
    return this.#indicesReady;
  }

  async #send(request: BulkRequest, signal: AbortSignal): Promise<BulkDecision> {
    if (signal.aborted) return { kind: 'retry-request', reason: 'aborted' };
    const pending = this.#client.transport.request({
      method: 'POST',
      path: '/_bulk',
      bulkBody: request.body,
      querystring: { filter_path: BulkFilterPath },
    });
    // A block body on purpose: abort() returns the request, a thenable, and an AbortSignal listener that returns a
    // thenable gets its rejection rethrown by Node as an uncaught exception (a crash at every stop mid-request).
    const onAbort = () => {
      pending.abort();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const response = await pending;
      return decideBulkRetry({ kind: 'response', statusCode: response.statusCode ?? 200, body: response.body, actions: request.actions });
    } catch (error) {
      return decideBulkRetry({ kind: 'exception', error });
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
}
