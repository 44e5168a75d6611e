import type { RawRecord } from '../../stages/decode/raw-record.ts';
import type { EvaluationState } from '../../stages/track/finding.ts';
import type { Item } from '../../stages/stage.ts';
import { createSyntheticOrg, generateTraffic } from '../../pipeline/demo/synthetic-org.ts';
import { DecodeStage } from '../../stages/decode/decode-stage.ts';
import { syntheticChain } from '../support/synthetic-chain.ts';

export interface StagesOptions {
  readonly events: number;
  readonly rounds: number;
}

export interface StagesResult {
  readonly events: number;
  readonly meanEventBytes: number;
  readonly rounds: number;
  readonly rawBase64JsonPerSecond: number;
  /**
   * The decode stage alone on the same batches (the parse the raw line measures, plus UTF-8 and schema checks): the
   * most the whole chain could reach, printed so the ratio's headroom is visible.
   */
  readonly decodeAlonePerSecond: number;
  readonly decodeAloneRatio: number;
  readonly stagesPerSecond: number;
  readonly ratio: number;
  readonly goal: string;
  readonly met: boolean;
  readonly node: string;
}

const BatchSize = 1_000;

/**
 * In-memory throughput of decode+validate+dedupe+enrich+scope+track, beside the raw base64 + JSON.parse rate measured
 * in the same run on the same records. One core (the calling thread); median of `rounds` after a warm-up round.
 */
export async function measureStages(options: StagesOptions): Promise<StagesResult> {
  const org = createSyntheticOrg({ accounts: 120, seed: 3 });
  const encoded: string[] = [];
  let bytes = 0;
  for (const delivery of generateTraffic(org, { deliveries: options.events, seed: 9, malformedRate: 0, duplicateRate: 0.03 })) {
    encoded.push(delivery.data.toString('base64'));
    bytes += delivery.data.byteLength;
  }

  const rawRound = (): number => {
    const start = performance.now();
    let sink = 0;
    for (const data of encoded) {
      const parsed = JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as { id: string };
      sink += parsed.id.length;
    }
    if (sink === 0) throw new Error('unreachable');
    return performance.now() - start;
  };

  const batchOf = (offset: number): Item<RawRecord>[] => {
    const items: Item<RawRecord>[] = [];
    const end = Math.min(offset + BatchSize, encoded.length);
    for (let i = offset; i < end; i++) {
      items.push({ origin: { shardId: 'bench', sequenceNumber: String(i) }, value: { data: Buffer.from(encoded[i]!, 'base64') } });
    }
    return items;
  };

  const decodeRound = (): number => {
    const decode = new DecodeStage({ maxRecordBytes: 262_144 });
    let kept = 0;
    const start = performance.now();
    for (let offset = 0; offset < encoded.length; offset += BatchSize) {
      kept += decode.process({ shardId: 'bench', items: batchOf(offset) }).kept.length;
    }
    if (kept === 0) throw new Error('no events decoded');
    return performance.now() - start;
  };

  const stagesRound = async (): Promise<number> => {
    const chain = syntheticChain(org);
    const refreshed = new Map<string, EvaluationState | null>();
    const signal = new AbortController().signal;
    let kept = 0;
    const start = performance.now();
    for (let offset = 0; offset < encoded.length; offset += BatchSize) {
      const tracked = await chain.run({ shardId: 'bench', items: batchOf(offset) }, signal);
      // As after a commit: the ids are processed (the in-memory store has nothing to refresh).
      chain.committed({ eventIds: tracked.kept.map((item) => item.value.event.eventId), refreshed });
      kept += tracked.kept.length;
    }
    if (kept === 0) throw new Error('no events kept');
    return performance.now() - start;
  };

  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  rawRound();
  decodeRound();
  await stagesRound();
  const raw: number[] = [];
  const decodeAlone: number[] = [];
  const stages: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    raw.push(rawRound());
    decodeAlone.push(decodeRound());
    stages.push(await stagesRound());
  }
  const rawRate = options.events / (median(raw) / 1_000);
  const decodeRate = options.events / (median(decodeAlone) / 1_000);
  const stagesRate = options.events / (median(stages) / 1_000);
  return {
    events: options.events,
    meanEventBytes: Math.round(bytes / encoded.length),
    rounds: options.rounds,
    rawBase64JsonPerSecond: Math.round(rawRate),
    decodeAlonePerSecond: Math.round(decodeRate),
    decodeAloneRatio: Number((decodeRate / rawRate).toFixed(3)),
    stagesPerSecond: Math.round(stagesRate),
    ratio: Number((stagesRate / rawRate).toFixed(3)),
    goal: 'stages >= 60% of raw',
    met: stagesRate >= 0.6 * rawRate,
    node: process.version,
  };
}

/** The human-readable lines of a result (the format `npm run bench:stages` has always printed). */
export function formatStages(result: StagesResult): string {
  const f = (n: number) => Math.round(n).toLocaleString('en-US').padStart(10);
  return [
    `bench:stages — ${result.events.toLocaleString('en-US')} events of ~${result.meanEventBytes} bytes, median of ${result.rounds} rounds, one core (${result.node})`,
    `  raw base64 + JSON.parse                          ${f(result.rawBase64JsonPerSecond)} events/s`,
    `  decode+validate alone (the chain's ceiling)      ${f(result.decodeAlonePerSecond)} events/s   ${(result.decodeAloneRatio * 100).toFixed(1).padStart(5)} % of raw`,
    `  decode+validate+dedupe+enrich+scope+track        ${f(result.stagesPerSecond)} events/s`,
    `  ratio                                            ${(result.ratio * 100).toFixed(1).padStart(9)} %   (goal >= 60 %: ${result.met ? 'met' : 'NOT met'})`,
    '',
  ].join('\n');
}
