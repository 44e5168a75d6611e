import type { Kysely } from 'kysely';
import type { Delivery, SyntheticOrg } from '../../pipeline/demo/synthetic-org.ts';
import type { Database } from '../../pipeline/store/database-schema.ts';
import { RuleCatalog } from '../../stages/enrich/rule-catalog.ts';
import { expectedFindingRows } from '../../test/support/oracle.ts';
import type { SlackServer } from '../../test/slack-server/slack-server.ts';

/** One verdict of a drill: what was checked, whether it held, and the figures behind it. */
export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** What was put into the stream, in put order, and what the oracle derives from it. */
export interface DrillTraffic {
  readonly org: SyntheticOrg;
  readonly deliveries: readonly Pick<Delivery, 'event' | 'kind'>[];
  readonly uniqueEventIds: ReadonlySet<string>;
  /** Records that must become dead letters. */
  readonly malformed: number;
}

export function trafficOf(org: SyntheticOrg, deliveries: readonly Pick<Delivery, 'event' | 'kind'>[], extraMalformed = 0): DrillTraffic {
  return {
    org,
    deliveries,
    uniqueEventIds: new Set(deliveries.flatMap((d) => (d.event ? [d.event.id] : []))),
    malformed: deliveries.filter((d) => d.kind === 'malformed').length + extraMalformed,
  };
}

const check = (name: string, ok: boolean, detail: string): Check => ({ name, ok, detail });
const n = (value: number) => value.toLocaleString('en-US');

/** Postgres against the oracle: every event committed once, findings exactly as expected, bad records dead-lettered. */
export async function checkPostgres(db: Kysely<Database>, traffic: DrillTraffic): Promise<Check[]> {
  const count = async (table: 'processed_events' | 'dead_letters') =>
    Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
  const processed = await count('processed_events');
  const letters = await count('dead_letters');
  const rows = await db.selectFrom('findings').select(['evaluation_key', 'opened_event_id', 'status']).execute();
  const actual = rows.map((r) => `${r.evaluation_key}#${r.opened_event_id}#${r.status}`).sort();
  const catalog = RuleCatalog.builtIn();
  const expected = expectedFindingRows(traffic.deliveries, traffic.org.accounts, (rule) => catalog.lookup(rule).rule.scope);
  const expectedSet = new Set(expected);
  const actualSet = new Set(actual);
  const missing = expected.filter((row) => !actualSet.has(row)).length;
  const extra = actual.filter((row) => !expectedSet.has(row)).length;
  const opened = Number(
    (await db.selectFrom('notification_outbox').select((eb) => eb.fn.countAll<string>().as('n')).where('kind', '=', 'finding.opened').executeTakeFirstOrThrow()).n,
  );
  return [
    check('postgres: every accepted event committed once', processed === traffic.uniqueEventIds.size, `${n(processed)} processed, ${n(traffic.uniqueEventIds.size)} unique events put`),
    check(
      'postgres: findings equal the oracle',
      missing === 0 && extra === 0 && actual.length === expected.length,
      `${n(actual.length)} findings, oracle ${n(expected.length)}; missing ${missing}, unexpected ${extra}`,
    ),
    check('postgres: one "opened" notification intent per finding', opened === actual.length, `${n(opened)} intents for ${n(actual.length)} findings`),
    check('postgres: every bad record is a dead letter', letters === traffic.malformed, `${n(letters)} dead letters, ${n(traffic.malformed)} bad records put`),
  ];
}

interface Hit {
  readonly _id: string;
  readonly _index: string;
  readonly _source?: Record<string, unknown>;
  readonly sort: unknown[];
}

async function allHits(url: string, pattern: string, sortField: string, source: readonly string[]): Promise<Hit[]> {
  await fetch(`${url}/${pattern}/_refresh?ignore_unavailable=true&allow_no_indices=true`, { method: 'POST' }).then((r) => r.body?.cancel());
  const hits: Hit[] = [];
  let after: unknown[] | undefined;
  for (let page = 0; page < 1_000; page++) {
    const query = JSON.stringify({ size: 5_000, _source: source.length > 0 ? source : false, sort: [{ [sortField]: 'asc' }, { _id: 'asc' }], ...(after ? { search_after: after } : {}) });
    const body = await searchPage(`${url}/${pattern}/_search?ignore_unavailable=true&allow_no_indices=true`, query);
    const page = body.hits?.hits ?? [];
    hits.push(...page);
    if (page.length < 5_000) break;
    after = page[page.length - 1]!.sort;
  }
  return hits;
}

/**
 * One page of a search. A refused search is retried a few times (a node busy with the suite's other files can answer
 * 429 or 503), then fails the check with OpenSearch's answer: it must never read as zero documents.
 */
async function searchPage(url: string, query: string): Promise<{ hits?: { hits?: Hit[] } }> {
  let answer = '';
  for (let attempt = 0; attempt < 10; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: query });
    if (response.ok) return (await response.json()) as { hits?: { hits?: Hit[] } };
    answer = `${response.status}: ${(await response.text()).slice(0, 500)}`;
  }
  throw new Error(`opensearch search refused: ${answer}`);
}

/** OpenSearch holds each accepted event exactly once, and one document per finding in its final state. */
export async function checkOpenSearch(url: string, prefix: string, traffic: DrillTraffic, db: Kysely<Database>): Promise<Check[]> {
  const events = await allHits(url, `${prefix}-events-*`, 'eventId', []);
  const ids = events.map((hit) => hit._id);
  const distinct = new Set(ids);
  const missing = [...traffic.uniqueEventIds].filter((id) => !distinct.has(id)).length;
  const unexpected = [...distinct].filter((id) => !traffic.uniqueEventIds.has(id)).length;
  const findings = await allHits(url, `${prefix}-findings`, 'findingId', ['status']);
  const rows = await db.selectFrom('findings').select(['finding_id', 'status']).execute();
  const stored = new Map(findings.map((hit) => [hit._id, hit._source?.status]));
  const wrong = rows.filter((row) => stored.get(row.finding_id) !== row.status).length;
  return [
    check(
      'opensearch: each accepted event exactly once',
      ids.length === traffic.uniqueEventIds.size && distinct.size === ids.length && missing === 0 && unexpected === 0,
      `${n(ids.length)} event documents, ${n(distinct.size)} distinct ids, ${n(traffic.uniqueEventIds.size)} expected; missing ${missing}, unexpected ${unexpected}`,
    ),
    check(
      'opensearch: one finding document per finding, in its final state',
      findings.length === rows.length && wrong === 0,
      `${n(findings.length)} finding documents for ${n(rows.length)} findings; ${wrong} missing or in another state`,
    ),
  ];
}

export interface SlackExpectations {
  readonly securityChannel: string;
  readonly securitySeverities: readonly string[];
}

/** The post key driftwatch stores in each message's metadata (see pipeline/notify/slack/slack-api.ts). */
export function postKeyOf(params: Readonly<Record<string, unknown>>): string | null {
  const metadata = params.metadata as { event_payload?: { post_key?: unknown } } | undefined;
  const key = metadata?.event_payload?.post_key;
  return typeof key === 'string' ? key : null;
}

/**
 * Slack got every notification once: for each finding, one alert per channel it is due in (its owner's, plus
 * security for the security severities), no alert twice, nothing else; resolved findings' alerts were edited.
 * Assumes drill settings: no flood digests, no debounce (each opened finding gets its own message).
 */
export async function checkSlack(slack: SlackServer, db: Kysely<Database>, expect: SlackExpectations): Promise<Check[]> {
  const outbox = await db.selectFrom('notification_outbox').select(['status', (eb) => eb.fn.countAll<string>().as('n')]).groupBy('status').execute();
  const byStatus = Object.fromEntries(outbox.map((row) => [row.status, Number(row.n)]));
  const findings = await db.selectFrom('findings').select(['finding_id', 'slack_channel', 'severity', 'status']).execute();
  const posts = new Map<string, number>();
  const editedByKey = new Map<string, boolean>();
  for (const message of slack.messages()) {
    const key = postKeyOf(message.params);
    if (!key?.includes(':finding.opened|')) continue;
    posts.set(key, (posts.get(key) ?? 0) + 1);
    editedByKey.set(key, (editedByKey.get(key) ?? false) || message.edits.length > 0);
  }
  const expected = new Set<string>();
  let unedited = 0;
  for (const f of findings) {
    const channels = [f.slack_channel];
    if (expect.securitySeverities.includes(f.severity) && f.slack_channel !== expect.securityChannel) channels.push(expect.securityChannel);
    for (const channel of channels) {
      const key = `${f.finding_id}:finding.opened|${channel}`;
      expected.add(key);
      if (f.status === 'resolved' && !editedByKey.get(key)) unedited++;
    }
  }
  const missing = [...expected].filter((key) => !posts.has(key)).length;
  const duplicated = [...posts.values()].filter((count) => count > 1).length;
  const unexpected = [...posts.keys()].filter((key) => !expected.has(key)).length;
  const notSent = Object.entries(byStatus).filter(([status]) => status !== 'sent').reduce((sum, [, count]) => sum + count, 0);
  return [
    check('slack: every intent delivered', notSent === 0, `outbox: ${Object.entries(byStatus).map(([k, v]) => `${k} ${n(v)}`).join(', ')}`),
    check(
      'slack: one alert per finding and channel, none twice, none missing',
      missing === 0 && duplicated === 0 && unexpected === 0,
      `${n(expected.size)} alerts due, ${n(posts.size)} posted; missing ${missing}, posted twice ${duplicated}, unexpected ${unexpected}`,
    ),
    check('slack: every resolved finding edited its alert', unedited === 0, `${unedited} alerts of resolved findings never edited`),
  ];
}

/** Polls `probe` until it returns true or the time is up; returns whether it did. */
export async function waitUntil(probe: () => Promise<boolean>, timeoutMs: number, intervalMs = 250): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Outbox has nothing pending or claimed. */
export async function outboxDrained(db: Kysely<Database>): Promise<boolean> {
  const row = await db
    .selectFrom('notification_outbox')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('status', 'in', ['pending', 'claimed'])
    .executeTakeFirstOrThrow();
  return Number(row.n) === 0;
}
