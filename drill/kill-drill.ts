import { seededRandom } from '../pipeline/demo/synthetic-org.ts';
import { ConsumerProcess } from '../test/support/consumer-process.ts';
import { startLocalStack } from '../test/support/local-stack.ts';
import { putRecords } from '../test/support/put-records.ts';
import { countProcessed } from '../test/support/stack-queries.ts';
import { checkOpenSearch, checkPostgres, checkSlack, outboxDrained, trafficOf, waitUntil } from './support/drill-checks.ts';
import type { Check } from './support/drill-checks.ts';
import { DrillConsumerSettings, SlackExpectations, drillResult, drillTraffic } from './support/drill-run.ts';
import type { DrillResult } from './support/drill-run.ts';
import type { SlackServer } from '../test/slack-server/slack-server.ts';

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
 * Where a kill lands: while the consumer ingests; or in the notifier's post window, between claiming a post
 * ("sending" recorded) and Slack receiving it, or between Slack posting it and driftwatch recording its ts.
 */
export type KillMoment = 'ingesting' | 'before-send' | 'after-send';

/** Kills cycle through the moments, so even a short drill has one of each. */
export function killMoment(round: number): KillMoment {
  return (['ingesting', 'before-send', 'after-send'] as const)[round % 3]!;
}

/** How long a post-window kill waits for the notifier to post something before it kills anyway. */
const PostWaitMs = 30_000;

/**
 * kill -9: `driftwatch run` is SIGKILLed `kills` times and restarted, a third of the times while it ingests and the
 * others inside the notifier's post window (Slack holds a chat.postMessage unanswered, before or after posting it,
 * and the process dies right then); a last run finishes the stream and the outbox. Then Postgres must equal the
 * oracle, OpenSearch must hold each event once, and Slack must have each alert once: none twice, none missing.
 */
export async function runKillDrill(options: KillDrillOptions): Promise<DrillResult> {
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  const log = options.log ?? (() => undefined);
  const { org, deliveries } = drillTraffic(options.events, options.seed);
  const traffic = trafficOf(org, deliveries);
  const stack = await startLocalStack({ name: 'drill-kill', shards: options.shards, org });
  const slack = stack.slack!;
  const random = seededRandom(options.seed * 7 + 1);
  const env = stack.consumerEnv(DrillConsumerSettings);
  const db = stack.database.db;
  const unique = traffic.uniqueEventIds.size;
  const landed: Record<KillMoment | 'fallback', number> = { ingesting: 0, 'before-send': 0, 'after-send': 0, fallback: 0 };
  let worker: ConsumerProcess | null = null;
  try {
    await putRecords(stack.kinesis, stack.streamName, deliveries);
    log(`kill drill: ${deliveries.length.toLocaleString('en-US')} records put (${unique.toLocaleString('en-US')} unique events, ${traffic.malformed} malformed)`);
    let kills = 0;
    for (let round = 0; round < options.kills && Date.now() < deadline; round++) {
      const moment = killMoment(round);
      // Armed before the worker starts: its first post after the restart is the one held unanswered.
      const heldBefore = heldPosts(slack);
      if (moment !== 'ingesting') slack.failNext(1, moment === 'before-send' ? 'hang' : 'lose-reply', { methods: ['chat.postMessage'] });
      worker = ConsumerProcess.start({ env });
      if (!(await worker.waitForLog('consumer starting', 60_000))) throw new Error(`worker did not start:\n${worker.stderrTail()}`);
      let where: KillMoment | 'fallback' = moment;
      if (moment === 'ingesting') {
        const before = await countProcessed(db);
        if (before < unique) {
          // Somewhere in the rest of the stream, spread so that later kills still find work.
          const share = (0.1 + random() * 0.8) / (options.kills - round);
          const target = before + Math.max(1, Math.floor((unique - before) * share));
          await waitUntil(async () => !worker!.running || (await countProcessed(db)) >= target, Math.max(0, deadline - Date.now()), 20);
        } else {
          // The stream is done already: the kill lands wherever the notifier is.
          where = 'fallback';
          await new Promise((r) => setTimeout(r, 200 + random() * 1_500));
        }
      } else {
        const held = await waitUntil(async () => !worker!.running || heldPosts(slack) > heldBefore, Math.min(PostWaitMs, Math.max(0, deadline - Date.now())), 10);
        if (!held || heldPosts(slack) === heldBefore) where = 'fallback';
        // A fault nobody consumed must not hit the next worker.
        slack.clearFaults();
      }
      if (!worker.running) throw new Error(`worker exited by itself:\n${worker.stderrTail()}`);
      worker.kill('SIGKILL');
      await worker.exited;
      kills++;
      landed[where]++;
      log(`kill drill: kill ${kills}/${options.kills} (${where}) at ${(await countProcessed(db)).toLocaleString('en-US')}/${unique.toLocaleString('en-US')} events`);
    }
    worker = ConsumerProcess.start({ env });
    const finished = await waitUntil(async () => (await countProcessed(db)) >= unique && (await outboxDrained(db)), Math.max(0, deadline - Date.now()), 250);
    const tail = finished ? '' : `; its last log lines:\n${worker.stderrTail(40)}`;
    await worker.stop();
    log(`kill drill: final run ${finished ? 'caught up and drained the outbox' : 'ran out of time'}${tail}`);
    const planned = Array.from({ length: options.kills }, (_, round) => killMoment(round)).filter((m) => m !== 'ingesting').length;
    const inPostWindow = landed['before-send'] + landed['after-send'];
    const breakdown = `${landed.ingesting} while ingesting, ${landed['before-send']} after a post was claimed and before Slack got it, ${landed['after-send']} after Slack posted and before its ts was recorded, ${landed.fallback} elsewhere`;
    const checks: Check[] = [
      { name: 'drill: every kill happened mid-run', ok: kills === options.kills, detail: `${kills} of ${options.kills} kills: ${breakdown}` },
      { name: "drill: kills landed in the notifier's post window", ok: inPostWindow === planned && planned > 0, detail: `${inPostWindow} of ${planned} planned` },
      ...(await checkPostgres(db, traffic)),
      ...(await checkOpenSearch(stack.openSearchUrl!, stack.indexPrefix, traffic, db)),
      ...(await checkSlack(slack, db, SlackExpectations)),
    ];
    const figures = {
      events: deliveries.length,
      uniqueEvents: unique,
      kills,
      killsWhileIngesting: landed.ingesting,
      killsBeforeSend: landed['before-send'],
      killsAfterSend: landed['after-send'],
      slackPosts: slack.messages().length,
    };
    return drillResult('kill -9', started, figures, checks);
  } finally {
    worker?.kill('SIGKILL');
    await worker?.exited;
    await stack.close();
  }
}

/** chat.postMessage calls Slack holds unanswered (status -1): a post in flight when the worker dies. */
function heldPosts(slack: SlackServer): number {
  return slack.calls.filter((call) => call.method === 'chat.postMessage' && call.status === -1).length;
}
