import { seededRandom } from '../pipeline/demo/synthetic-org.ts';
import type { Delivery } from '../pipeline/demo/synthetic-org.ts';
import { ConsumerProcess } from '../test/support/consumer-process.ts';
import { startLocalStack } from '../test/support/local-stack.ts';
import { checkOpenSearch, checkPostgres, trafficOf } from './support/drill-checks.ts';
import type { Check } from './support/drill-checks.ts';
import { DrillConsumerSettings, drillResult, drillTraffic } from './support/drill-run.ts';
import type { DrillResult } from './support/drill-run.ts';
import { keySeparatorCollisions, samplePoison } from './poison-records.ts';
import type { PoisonRecord } from './poison-records.ts';

export interface PoisonDrillOptions {
  readonly validEvents: number;
  readonly poison: number;
  readonly shards: number;
  readonly seed: number;
  readonly timeoutMs: number;
  readonly log?: (message: string) => void;
}

/**
 * Poison: fast-check generated malformed records mixed at random into valid traffic. Each must become a dead letter
 * with a reason and its exact bytes; every valid event must still be processed (Postgres = oracle, OpenSearch once).
 * The poison includes values only the state store refuses (NUL, unpaired surrogates, over-long ids and names), and the
 * valid traffic pairs of resources a `|`-joined key would merge.
 */
export async function runPoisonDrill(options: PoisonDrillOptions): Promise<DrillResult> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const { org, deliveries: traffic } = drillTraffic(options.validEvents, options.seed, { malformedRate: 0 });
  // Valid events that only an unambiguous evaluation key tells apart: the oracle expects two findings per pair.
  const collisions = keySeparatorCollisions(org.accounts.map((a) => a.id), Math.max(1, Math.floor(options.validEvents / 100)), Date.now() - 30_000);
  const valid = [...traffic, ...collisions];
  const poison = samplePoison(options.poison, options.seed);
  // A random merge keeps each side in its own order (the oracle needs the valid events in put order).
  const random = seededRandom(options.seed + 99);
  const mixed: ({ readonly valid: Delivery } | { readonly poison: PoisonRecord })[] = [];
  for (let v = 0, p = 0; v < valid.length || p < poison.length; ) {
    const takeValid = p >= poison.length || (v < valid.length && random() < (valid.length - v) / (valid.length - v + poison.length - p));
    mixed.push(takeValid ? { valid: valid[v++]! } : { poison: poison[p++]! });
  }
  const stack = await startLocalStack({ name: 'drill-poison', shards: options.shards, org, slack: false });
  let worker: ConsumerProcess | null = null;
  try {
    const records = mixed.map((m) => ('valid' in m ? m.valid : m.poison));
    const sequences = await stack.kinesis.put(stack.streamName, records);
    const poisonBySequence = new Map<string, PoisonRecord>();
    mixed.forEach((m, i) => {
      if ('poison' in m) poisonBySequence.set(sequences[i]!, m.poison);
    });
    log(`poison drill: ${valid.length.toLocaleString('en-US')} valid records and ${poison.length.toLocaleString('en-US')} poison records put`);
    worker = ConsumerProcess.start({ env: stack.consumerEnv(DrillConsumerSettings), args: ['--until-caught-up'] });
    const timer = setTimeout(() => worker?.kill('SIGKILL'), options.timeoutMs);
    const exit = await worker.exited;
    clearTimeout(timer);
    const db = stack.database.db;
    const letters = await db.selectFrom('dead_letters').select(['sequence_number', 'stage', 'reason', 'raw']).execute();
    const bySequence = new Map(letters.map((l) => [l.sequence_number, l]));
    let missing = 0;
    let wrongBytes = 0;
    let noReason = 0;
    const reasons = new Map<string, number>();
    for (const [sequence, record] of poisonBySequence) {
      const letter = bySequence.get(sequence);
      if (!letter) {
        missing++;
        continue;
      }
      if (!Buffer.from(letter.raw).equals(record.data)) wrongBytes++;
      if (letter.reason.trim().length === 0) noReason++;
      const reason = `${record.kind}: ${letter.reason.split(':')[0]}`;
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
    const traffic = trafficOf(org, valid, poison.length);
    const checks: Check[] = [
      { name: 'drill: the consumer finished the stream', ok: exit.code === 0, detail: exit.code === 0 ? 'exit 0' : `exit ${exit.code ?? exit.signal}: ${worker.stderrTail(5)}` },
      {
        name: 'poison: each malformed record is a dead letter with its reason and exact bytes',
        ok: missing === 0 && wrongBytes === 0 && noReason === 0,
        detail: `${poison.length.toLocaleString('en-US')} poison records; missing ${missing}, other bytes ${wrongBytes}, without a reason ${noReason}`,
      },
      ...(await checkPostgres(db, traffic)),
      ...(await checkOpenSearch(stack.openSearchUrl!, stack.indexPrefix, traffic, db)),
    ];
    const kinds = new Map<string, number>();
    for (const record of poison) kinds.set(record.kind, (kinds.get(record.kind) ?? 0) + 1);
    return drillResult('poison', started, { validRecords: valid.length, collisionEvents: collisions.length, poisonRecords: poison.length, poisonKinds: kinds.size }, checks, [
      `poison kinds: ${[...kinds.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`,
      `dead-letter reasons (kind: reason): ${[...reasons.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} (${v})`).join('; ')}`,
    ]);
  } finally {
    worker?.kill('SIGKILL');
    await worker?.exited;
    await stack.close();
  }
}
