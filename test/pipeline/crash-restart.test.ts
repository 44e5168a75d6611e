import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSyntheticOrg, generateTraffic, seededRandom } from '../../pipeline/demo/synthetic-org.ts';
import { RuleCatalog } from '../../stages/enrich/rule-catalog.ts';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';
import { startLocalKinesis } from '../support/kinesis.ts';
import type { LocalKinesis } from '../support/kinesis.ts';
import { expectedFindingRows } from '../support/oracle.ts';

const Bin = join(import.meta.dirname, '../../bin/driftwatch.mjs');

/** `driftwatch run` as a real child process, so a crash is a real SIGKILL: no finally blocks, no lease release. */
function startWorker(env: NodeJS.ProcessEnv, args: string[] = []): { child: ChildProcess; exited: Promise<number | null>; stderr: () => string } {
  const child = spawn(process.execPath, [Bin, 'run', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, stderr: () => stderr };
}

describe('crash and restart of the consumer process', () => {
  let kinesis: LocalKinesis;
  let database: TestDatabase;
  let env: NodeJS.ProcessEnv;
  const org = createSyntheticOrg({ accounts: 120, seed: 21 });

  beforeAll(async () => {
    kinesis = await startLocalKinesis();
    database = await createTestDatabase();
    const dir = await mkdtemp(join(tmpdir(), 'dw-crash-'));
    await writeFile(join(dir, 'accounts.json'), JSON.stringify({ accounts: org.accounts }));
    env = {
      DATABASE_URL: database.url,
      KINESIS_ENDPOINT: kinesis.endpoint,
      KINESIS_STREAM: 'crash',
      DRIFTWATCH_ACCOUNTS: join(dir, 'accounts.json'),
      DRIFTWATCH_WORKER_ID: 'crash-worker',
      DRIFTWATCH_BATCH_LIMIT: '200',
      DRIFTWATCH_POLL_INTERVAL_MS: '200',
      LOG_LEVEL: 'warn',
    };
  });

  afterAll(async () => {
    await database?.drop();
    await kinesis?.close();
  });

  it('loses no event and opens no finding twice when killed with SIGKILL three times mid-stream', async () => {
    await kinesis.createStream('crash', 4);
    const deliveries = [...generateTraffic(org, { deliveries: 10_000, seed: 77, duplicateRate: 0.04, outOfOrderRate: 0.04, malformedRate: 0.002 })];
    await kinesis.put('crash', deliveries);
    const uniqueEvents = new Set(deliveries.flatMap((d) => (d.event ? [d.event.id] : []))).size;
    const db = database.db;
    const processed = async () => Number((await db.selectFrom('processed_events').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
    const random = seededRandom(5);

    let kills = 0;
    for (let round = 0; round < 3; round++) {
      const worker = startWorker(env);
      const before = await processed();
      const target = before + Math.floor((uniqueEvents - before) * (0.15 + random() * 0.3));
      const deadline = Date.now() + 60_000;
      while ((await processed()) < target && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      if (worker.child.exitCode === null) {
        worker.child.kill('SIGKILL');
        kills++;
      }
      await worker.exited;
    }
    expect(kills).toBe(3);
    expect(await processed()).toBeLessThan(uniqueEvents); // the crashes really happened mid-stream

    const final = startWorker(env, ['--until-caught-up']);
    const code = await final.exited;
    expect(code, final.stderr()).toBe(0);

    expect(await processed()).toBe(uniqueEvents);
    const rows = await db.selectFrom('findings').select(['evaluation_key', 'opened_event_id', 'status']).execute();
    const catalog = RuleCatalog.builtIn();
    expect(rows.map((r) => `${r.evaluation_key}#${r.opened_event_id}#${r.status}`).sort()).toEqual(
      expectedFindingRows(deliveries, org.accounts, (rule) => catalog.lookup(rule).rule.scope),
    );
    // Every finding change asked Slack exactly once: one outbox row per opened and per resolved finding.
    const opened = await db.selectFrom('notification_outbox').select((eb) => eb.fn.countAll<string>().as('n')).where('kind', '=', 'finding.opened').executeTakeFirstOrThrow();
    expect(Number(opened.n)).toBe(rows.length);
    const malformed = deliveries.filter((d) => d.kind === 'malformed').length;
    const letters = await db.selectFrom('dead_letters').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(Number(letters.n)).toBe(malformed);
    // Four process starts and three waits of up to a minute each: more than the default on a loaded 2-core machine.
  }, 300_000);
});
