import { formatNumber, progress, table } from '../support/bench-output.ts';
import type { BenchPart } from '../support/bench-output.ts';
import { measureStages } from '../stages/measure-stages.ts';
import type { StagesResult } from '../stages/measure-stages.ts';

/** The in-memory stages beside raw base64 + JSON.parse, as a part of `npm run bench`. */
export async function benchStages(options: { readonly events: number; readonly rounds: number }): Promise<BenchPart<StagesResult>> {
  progress(`stages: ${formatNumber(options.events)} events in memory, ${options.rounds} rounds`);
  const result = await measureStages(options);
  return {
    name: 'stages',
    result,
    markdown: [
      `## Stages in memory: ${formatNumber(result.events)} events of ~${result.meanEventBytes} bytes, median of ${result.rounds} rounds, one core`,
      '',
      table(
        ['what', 'events/s', 'share of raw'],
        [
          ['raw base64 + JSON.parse', result.rawBase64JsonPerSecond, '100 %'],
          ["decode+validate alone (the chain's ceiling)", result.decodeAlonePerSecond, `${formatNumber(result.decodeAloneRatio * 100, 1)} %`],
          ['decode+validate+dedupe+enrich+scope+track', result.stagesPerSecond, `${formatNumber(result.ratio * 100, 1)} %`],
        ],
      ),
    ].join('\n'),
  };
}
