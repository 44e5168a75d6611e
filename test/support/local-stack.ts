import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SyntheticOrg } from '../../pipeline/demo/synthetic-org.ts';
import { SlackServer } from '../slack-server/slack-server.ts';
import type { SlackServerOptions } from '../slack-server/slack-server-types.ts';
import { startLocalKinesis } from './kinesis.ts';
import type { LocalKinesis } from './kinesis.ts';
import { ensureOpenSearch } from './opensearch.ts';
import { createTestDatabase } from './postgres.ts';
import type { TestDatabase } from './postgres.ts';

export interface LocalStackOptions {
  /** Stream name; also part of the OpenSearch index prefix. Lowercase letters, digits and dashes. */
  readonly name: string;
  readonly shards: number;
  readonly org: SyntheticOrg;
  /** Default true: the shared node on 127.0.0.1:9200, with a fresh index prefix. */
  readonly openSearch?: boolean;
  /** Default: an in-process Slack server without rate limits. false = no Slack (console notifier). */
  readonly slack?: SlackServerOptions | false;
  /** Keep Kinesis records on disk (LevelDB) instead of in this process's memory. */
  readonly kinesisOnDisk?: boolean;
}

/**
 * Everything `driftwatch run` talks to, local and disposable: kinesalite in this process, a fresh Postgres database on
 * the shared server, a fresh OpenSearch index prefix on the shared node, and a Slack-compatible server. For
 * benchmarks, drills and the tests that run the consumer as a child process.
 */
export interface LocalStack {
  readonly kinesis: LocalKinesis;
  readonly database: TestDatabase;
  readonly openSearchUrl: string | null;
  readonly indexPrefix: string;
  readonly slack: SlackServer | null;
  readonly streamName: string;
  readonly accountsFile: string;
  /** Environment of a consumer child process; `overrides` win (e.g. a proxy URL instead of the real one). */
  consumerEnv(overrides?: Readonly<Record<string, string>>): NodeJS.ProcessEnv;
  close(): Promise<void>;
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const dir = await mkdtemp(join(tmpdir(), `dw-${options.name}-`));
  const accountsFile = join(dir, 'accounts.json');
  await writeFile(accountsFile, JSON.stringify({ accounts: options.org.accounts }));
  const kinesis = await startLocalKinesis(options.kinesisOnDisk ? { path: join(dir, 'kinesis') } : {});
  const database = await createTestDatabase();
  const openSearchUrl = options.openSearch === false ? null : await ensureOpenSearch();
  const indexPrefix = `dw${options.name.replace(/[^a-z0-9]/g, '')}-${randomBytes(3).toString('hex')}`;
  const slack = options.slack === false ? null : await SlackServer.start({ rateLimiting: false, ...options.slack });
  await kinesis.createStream(options.name, options.shards);
  return {
    kinesis,
    database,
    openSearchUrl,
    indexPrefix,
    slack,
    streamName: options.name,
    accountsFile,
    consumerEnv: (overrides = {}) => ({
      ...process.env,
      DATABASE_URL: database.url,
      KINESIS_ENDPOINT: kinesis.endpoint,
      KINESIS_STREAM: options.name,
      DRIFTWATCH_ACCOUNTS: accountsFile,
      LOG_LEVEL: 'info',
      ...(openSearchUrl ? { OPENSEARCH_URL: openSearchUrl, OPENSEARCH_INDEX_PREFIX: indexPrefix } : {}),
      ...(slack ? { SLACK_TOKEN: slack.token, SLACK_API_URL: slack.url } : {}),
      ...overrides,
    }),
    close: async () => {
      await slack?.close().catch(() => undefined);
      if (openSearchUrl) await dropIndexPrefix(openSearchUrl, indexPrefix).catch(() => undefined);
      await database.drop().catch(() => undefined);
      await kinesis.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Deletes the indices and index templates of one prefix. */
export async function dropIndexPrefix(url: string, prefix: string): Promise<void> {
  await fetch(`${url}/${prefix}-*?expand_wildcards=all`, { method: 'DELETE' }).then((r) => r.body?.cancel());
  const response = await fetch(`${url}/_index_template/${prefix}*`);
  const body = (await response.json().catch(() => ({}))) as { index_templates?: { name: string }[] };
  for (const { name } of body.index_templates ?? []) await fetch(`${url}/_index_template/${name}`, { method: 'DELETE' }).then((r) => r.body?.cancel());
  const policy = await fetch(`${url}/_plugins/_ism/policies/${prefix}-events-retention`, { method: 'DELETE' }).catch(() => null);
  await policy?.body?.cancel();
}
