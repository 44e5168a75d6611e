import { cp, mkdtemp, readFile, utimes, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSyntheticOrg, generateTraffic } from '../../pipeline/demo/synthetic-org.ts';
import { readReplayBatches } from '../../pipeline/replay/read-replay-batches.ts';
import { DecodeStage } from '../../stages/decode/decode-stage.ts';
import { RuleCatalog } from '../../stages/enrich/rule-catalog.ts';
import { runCli } from '../support/cli.ts';
import { expectedFindingRows } from '../support/oracle.ts';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';

const Root = join(import.meta.dirname, '../..');
const SampleEvents = join(Root, 'samples/compliance-change-events.ndjson');
const SampleArchive = join(Root, 'samples/firehose-archive');

interface Letter {
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly reason: string;
  readonly rawBase64: string;
}

describe('replay from the archive: ndjson, Firehose GZIP objects, directories, bytes kept as they are', () => {
  const databases: TestDatabase[] = [];
  let dir: string;

  /** A fresh state store per scenario, so each one's findings and dead letters are its own. */
  async function freshEnv(extra: NodeJS.ProcessEnv = {}): Promise<{ env: NodeJS.ProcessEnv; database: TestDatabase }> {
    const database = await createTestDatabase();
    databases.push(database);
    return { env: { DATABASE_URL: database.url, ...extra }, database };
  }

  async function letters(env: NodeJS.ProcessEnv): Promise<Letter[]> {
    const result = await runCli(['dead-letters', '--json'], env);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as Letter[];
  }

  async function findingRows(database: TestDatabase): Promise<string[]> {
    const rows = await database.db.selectFrom('findings').select(['evaluation_key', 'opened_event_id', 'status']).execute();
    return rows.map((r) => `${r.evaluation_key}#${r.opened_event_id}#${r.status}`).sort();
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dw-replay-'));
  });

  afterAll(async () => {
    for (const database of databases) await database.drop();
  });

  it('the sample events in the repo are ndjson that replay accepts', async () => {
    const { env } = await freshEnv();
    const result = await runCli(['replay', '--file', SampleEvents, '--json'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ files: 1, records: 3, accepted: 3, opened: 2, resolved: 1, deadLetters: 0, filesAllDeadLetters: [] });
  });

  it('a directory of Firehose GZIP objects (records concatenated, no delimiter) replays in the time order of the object names', async () => {
    const copy = join(dir, 'archive');
    await cp(SampleArchive, copy, { recursive: true });
    // Modification times say the opposite order: the names must win (an `aws s3 sync` does not keep times).
    const [earlier, later] = ['2026/03/04/10', '2026/03/04/11'];
    const { readdir } = await import('node:fs/promises');
    const [early] = await readdir(join(copy, earlier));
    const [late] = await readdir(join(copy, later));
    await utimes(join(copy, earlier, early!), new Date('2030-01-02'), new Date('2030-01-02'));
    await utimes(join(copy, later, late!), new Date('2030-01-01'), new Date('2030-01-01'));

    const fromNdjson = await freshEnv();
    expect((await runCli(['replay', '--file', SampleEvents], fromNdjson.env)).code).toBe(0);
    const fromArchive = await freshEnv();
    const result = await runCli(['replay', '--file', copy, '--json'], fromArchive.env);
    expect(result.code, result.stderr).toBe(0);
    // In the wrong order the fix would come first and the NON_COMPLIANT event after it would be stale: 0 resolved.
    expect(JSON.parse(result.stdout)).toMatchObject({ files: 2, records: 3, accepted: 3, stale: 0, opened: 2, resolved: 1, deadLetters: 0 });
    expect(await findingRows(fromArchive.database)).toEqual(await findingRows(fromNdjson.database));
  });

  it('judges bytes as the stream does: invalid UTF-8 is a dead letter holding the exact original bytes, in GZIP and concatenated too', async () => {
    const events = (await readFile(SampleEvents, 'utf8')).trim().split('\n');
    const invalid = Buffer.concat([Buffer.from(events[0]!.slice(0, -2)), Buffer.from(',"x":"\xff\xfe"}', 'latin1'), Buffer.from('}')]);
    const nul = Buffer.from([0xff, 0x00, 0x9c, 0x80]);
    const file = join(dir, 'mixed.gz');
    // Line 1: an event, then the invalid one concatenated after it; line 2: raw garbage bytes; line 3: an event.
    await writeFile(file, gzipSync(Buffer.concat([Buffer.from(events[1]!), invalid, Buffer.from('\n'), nul, Buffer.from('\r\n'), Buffer.from(events[2]!)])));
    const { env } = await freshEnv();
    const result = await runCli(['replay', '--file', file, '--json'], env);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ records: 4, accepted: 2, deadLetters: 2 });
    const stored = (await letters(env)).sort((a, b) => a.sequenceNumber.localeCompare(b.sequenceNumber));
    expect(stored.map((l) => [l.shardId, l.sequenceNumber])).toEqual([
      [`replay:${file}`, '1:2'],
      [`replay:${file}`, '2'],
    ]);
    const decode = new DecodeStage({ maxRecordBytes: 262_144 });
    for (const [letter, bytes] of [[stored[0]!, invalid], [stored[1]!, nul]] as const) {
      expect(Buffer.from(letter.rawBase64, 'base64').equals(bytes)).toBe(true);
      // The same verdict the decode stage gives these bytes from Kinesis.
      expect(letter.reason).toBe(decode.decodeOne(bytes));
      expect(letter.reason).toBe('record is not valid UTF-8');
    }
    // Replaying the same file again names the same records: no second copy of a dead letter, events are duplicates.
    const again = await runCli(['replay', '--file', file, '--json'], env);
    expect(JSON.parse(again.stdout)).toMatchObject({ records: 4, accepted: 0, duplicates: 2 });
    expect(await letters(env)).toHaveLength(2);
  });

  it('a file whose every record is a dead letter (pretty-printed JSON) exits non-zero with one line, its letters kept', async () => {
    const { env } = await freshEnv();
    const pretty = join(Root, 'test/fixtures/samples/compliance-change-noncompliant.json');
    const lines = (await readFile(pretty, 'utf8')).trim().split('\n').length;
    const result = await runCli(['replay', '--file', pretty, '--json'], env);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(`every record of ${pretty} is a dead letter`);
    expect(JSON.parse(result.stdout)).toMatchObject({ records: lines, accepted: 0, deadLetters: lines, filesAllDeadLetters: [pretty] });
    expect(await letters(env)).toHaveLength(lines);
  });

  it('names what it cannot read in one line: a missing path, an empty directory, a ZIP object', async () => {
    const { env } = await freshEnv();
    const missing = await runCli(['replay', '--file', join(dir, 'nope')], env);
    expect(missing.stderr).toMatch(/^driftwatch: cannot read .*nope: ENOENT\n$/);
    await mkdir(join(dir, 'empty'));
    const empty = await runCli(['replay', '--file', join(dir, 'empty')], env);
    expect(empty.stderr).toBe(`driftwatch: no files to replay under ${join(dir, 'empty')}\n`);
    await writeFile(join(dir, 'x.zip'), Buffer.from('PK\x03\x04rest-of-a-zip', 'latin1'));
    const zip = await runCli(['replay', '--file', join(dir, 'x.zip')], env);
    expect(zip.code).toBe(1);
    expect(zip.stderr).toMatch(/^driftwatch: cannot read .*x\.zip: it is ZIP-compressed; replay reads GZIP or uncompressed files .*\n$/);
    await writeFile(join(dir, 'broken.gz'), gzipSync(Buffer.from('{"a":1}\n')).subarray(0, 12));
    const broken = await runCli(['replay', '--file', join(dir, 'broken.gz')], env);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/^driftwatch: cannot read .*broken\.gz: not a valid GZIP file/);
  });

  it('reads GZIP from stdin as well', async () => {
    const stdin = Readable.from([gzipSync(Buffer.from('{"a":1}{"b":2}\nnot json\n'))]);
    const batches = [];
    for await (const batch of readReplayBatches('-', { batchSize: 2, stdin })) batches.push(batch);
    expect(batches.map((b) => b.items.map((i) => [i.origin.shardId, i.origin.sequenceNumber, Buffer.from(i.value.data).toString()]))).toEqual([
      [['replay:stdin', '1', '{"a":1}'], ['replay:stdin', '1:2', '{"b":2}']],
      [['replay:stdin', '2', 'not json']],
    ]);
  });

  it('demo --export writes the demo stream as ndjson; replaying it gives the oracle findings and every malformed record a dead letter', async () => {
    const file = join(dir, 'demo.ndjson');
    const options = { events: 1_500, accounts: 40, seed: 11 };
    const exported = await runCli(['demo', '--export', file, '--events', String(options.events), '--accounts', String(options.accounts), '--seed', String(options.seed), '--json'], {});
    expect(exported.code, exported.stderr).toBe(0);
    const summary = JSON.parse(exported.stdout) as { records: number; byKind: { malformed: number } };
    expect(summary.records).toBe(options.events);
    const org = createSyntheticOrg({ accounts: options.accounts, seed: options.seed });
    const deliveries = [...generateTraffic(org, { deliveries: options.events, seed: options.seed })];
    expect(summary.byKind.malformed).toBe(deliveries.filter((d) => d.kind === 'malformed').length);
    expect(summary.byKind.malformed).toBeGreaterThan(0);

    const accounts = join(dir, 'demo-accounts.json');
    await writeFile(accounts, JSON.stringify({ accounts: org.accounts }));
    const { env, database } = await freshEnv({ DRIFTWATCH_ACCOUNTS: accounts });
    const result = await runCli(['replay', '--file', file, '--json'], env);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ records: options.events, deadLetters: summary.byKind.malformed });
    const catalog = RuleCatalog.builtIn();
    expect(await findingRows(database)).toEqual(expectedFindingRows(deliveries, org.accounts, (rule) => catalog.lookup(rule).rule.scope));
    // The malformed records' bytes are stored exactly as the demo would have put them on the stream.
    const stored = new Set((await letters(env)).map((l) => l.rawBase64));
    for (const d of deliveries.filter((d) => d.kind === 'malformed')) expect(stored.has(d.data.toString('base64'))).toBe(true);
  });
});
