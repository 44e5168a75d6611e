import { randomBytes } from 'node:crypto';
import { Client } from '@opensearch-project/opensearch';

/** A unique index prefix per test file and a plain client for assertions; `drop()` deletes the file's indices. */
export function testIndexPrefix(): string {
  return `dwtest-${randomBytes(4).toString('hex')}`;
}

export function assertionClient(url: string): Client {
  return new Client({ node: url, maxRetries: 0 });
}

export async function dropIndices(client: Client, prefix: string): Promise<void> {
  await client.transport.request({ method: 'DELETE', path: `/${prefix}-*`, querystring: { expand_wildcards: 'all' } }, { ignore: [404] });
  const templates = await client.transport.request({ method: 'GET', path: `/_index_template/${prefix}*` }, { ignore: [404] });
  const names = ((templates.body as { index_templates?: { name: string }[] }).index_templates ?? []).map((t) => t.name);
  for (const name of names) await client.transport.request({ method: 'DELETE', path: `/_index_template/${name}` }, { ignore: [404] });
}

export async function countDocs(client: Client, index: string, query: Record<string, unknown> = { match_all: {} }): Promise<number> {
  await client.transport.request({ method: 'POST', path: `/${index}/_refresh`, querystring: { ignore_unavailable: true, allow_no_indices: true } });
  const response = await client.transport.request({
    method: 'POST',
    path: `/${index}/_count`,
    body: { query },
    querystring: { ignore_unavailable: true, allow_no_indices: true },
  });
  return (response.body as { count: number }).count;
}

/** Every document of an index (test data sets are small), as _id -> { _source, _version }. */
export async function allDocs(client: Client, index: string, sortField: 'eventId' | 'findingId'): Promise<Map<string, { source: Record<string, unknown>; version: number }>> {
  await client.transport.request({ method: 'POST', path: `/${index}/_refresh`, querystring: { ignore_unavailable: true, allow_no_indices: true } });
  const out = new Map<string, { source: Record<string, unknown>; version: number }>();
  let searchAfter: unknown[] | undefined;
  for (;;) {
    const response = await client.transport.request({
      method: 'POST',
      path: `/${index}/_search`,
      body: { size: 5_000, version: true, sort: [{ [sortField]: 'asc' }], ...(searchAfter ? { search_after: searchAfter } : {}) },
      querystring: { ignore_unavailable: true, allow_no_indices: true },
    });
    const hits = (response.body as { hits: { hits: { _id: string; _version: number; _source: Record<string, unknown>; sort: unknown[] }[] } }).hits.hits;
    for (const hit of hits) out.set(hit._id, { source: hit._source, version: hit._version });
    if (hits.length < 5_000) return out;
    searchAfter = hits[hits.length - 1]!.sort;
  }
}
