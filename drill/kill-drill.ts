import { seededRandom } from '../pipeline/demo/synthetic-org.ts';
import { ConsumerProcess } from '../test/support/consumer-process.ts';
import { startLocalStack } from '../test/support/local-stack.ts';
import { putRecords } from '../test/support/put-records.ts';
import { countProcessed } from '../test/support/stack-queries.ts';
import { checkOpenSearch, checkPostgres, checkSlack, outboxDrained, trafficOf, waitUntil } from './support/drill-checks.ts';
import type { Check } from './support/drill-checks.ts';
import { DrillConsumerSettings, SlackExpectations, drillResult, drillTraffic } from './support/drill-run.ts';
import type { DrillResult } from './support/drill-run.ts';

export interface KillDrillOptions {
  readonly events: number;
  readonly kills: number;
  readonly shards: number;
  readonly seed: number;
  /** Upper bound of the whole drill. */
  readonly timeoutMs: number;
  readonly log?: (message: string) => void;
}

/**
 * kill -9: `driftwatch run` is SIGKILLed at random moments (while it ingests, and while its notifier posts to Slack)
 * and restarted, `kills` times; a last run finishes the stream and the outbox. Then Postgres must equal the oracle,
 * OpenSearch must hold each event once, and Slack must have each alert once.
 */
export async function runKillDrill(options: KillDrillOptions): Promise<DrillResult> {
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  const log = options.log ?? (() => undefined);
  const { org, deliveries } = drillTraffic(options.events, options.seed);
  const traffic = trafficOf(org, deliveries);
  const stack = await startLocalStack({ name: 'drill-kill', shards: options.shards, org });
  const random = seededRandom(options.seed * 7 + 1);
  const env = stack.consumerEnv(DrillConsumerSettings);
  const db = stack.database.db;
  const unique = traffic.uniqueEventIds.size;
  let worker: ConsumerProcess | null = null;
  try {
    await putRecords(stack.kinesis, stack.streamName, deliveries);
    log(`kill drill: ${deliveries.length.toLocaleString('en-US')} records put (${unique.toLocaleString('en-US')} unique events, ${traffic.malformed} malformed)`);
    let kills = 0;
    let whileIngesting = 0;
    for (let round = 0; round < options.kills && Date.now() < deadline; round++) {
      worker = ConsumerProcess.start({ env });
      if (!(await worker.waitForLog('consumer starting', 60_000))) throw new Error(`worker did not start:\n${worker.stderrTail()}`);
      const before = await countProcessed(db);
      if (before < unique) {
        // Somewhere in the rest of the stream, spread so that later kills still find work.
        const share = (0.1 + random() * 0.8) / (options.kills - round);
        const target = before + Math.max(1, Math.floor((unique - before) * share));
        await waitUntil(async () => !worker!.running || (await countProcessed(db)) >= target, Math.max(0, deadline - Date.now()), 20);
        whileIngesting++;
      } else {
        // The stream is done: kill the notifier mid-drain instead.
        await new Promise((r) => setTimeout(r, 200 + random() * 1_500));
      }
      if (!worker.running) throw new Error(`worker exited by itself:\n${worker.stderrTail()}`);
      worker.kill('SIGKILL');
      await worker.exited;
      kills++;
      log(`kill drill: kill ${kills}/${options.kills} at ${(await countProcessed(db)).toLocaleString('en-US')}/${unique.toLocaleString('en-US')} events`);
    }
    worker = ConsumerProcess.start({ env });
    const finished = await waitUntil(async () => (await countProcessed(db)) >= unique && (await outboxDrained(db)), Math.max(0, deadline - Date.now()), 250);
    await worker.stop();
    log(`kill drill: final run ${finished ? 'caught up and drained the outbox' : 'ran out of time'}`);
    const checks: Check[] = [
      { name: 'drill: every kill happened mid-run', ok: kills === options.kills, detail: `${kills} of ${options.kills} kills (${whileIngesting} while ingesting, ${kills - whileIngesting} while notifying)` },
      ...(await checkPostgres(db, traffic)),
      ...(await checkOpenSearch(stack.openSearchUrl!, stack.indexPrefix, traffic, db)),
      ...(await checkSlack(stack.slack!, db, SlackExpectations)),
    ];
    return drillResult('kill -9', started, { events: deliveries.length, uniqueEvents: unique, kills, killsWhileIngesting: whileIngesting, slackPosts: stack.slack!.messages().length }, checks);
  } finally {
    worker?.kill('SIGKILL');
    await worker?.exited;
    await stack.close();
  }
}
