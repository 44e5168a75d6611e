import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';

/** One scrape of /metrics: samples by name, each with its labels. */
export interface Scrape {
  readonly at: number;
  readonly samples: readonly { readonly name: string; readonly labels: Readonly<Record<string, string>>; readonly value: number }[];
}

/** Reads `driftwatch run`'s /metrics and /healthz the way a person or Prometheus would. */
export class MetricsProbe {
  readonly #base: string;

  constructor(port: number) {
    this.#base = `http://127.0.0.1:${port}`;
  }

  async scrape(): Promise<Scrape | null> {
    try {
      const response = await fetch(`${this.#base}/metrics`, { signal: AbortSignal.timeout(5_000) });
      return { at: Date.now(), samples: parsePrometheus(await response.text()) };
    } catch {
      return null;
    }
  }

  async health(): Promise<{ readonly status: number; readonly body: Record<string, unknown> } | null> {
    try {
      const response = await fetch(`${this.#base}/healthz`, { signal: AbortSignal.timeout(5_000) });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    } catch {
      return null;
    }
  }
}

/** Sum of a metric's samples whose labels include `match`. */
export function metricValue(scrape: Scrape | null, name: string, match: Readonly<Record<string, string>> = {}): number {
  if (!scrape) return Number.NaN;
  return scrape.samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/** Largest sample of a metric (e.g. the most lagging shard). */
export function metricMax(scrape: Scrape | null, name: string): number {
  if (!scrape) return Number.NaN;
  return scrape.samples.filter((s) => s.name === name).reduce((max, s) => Math.max(max, s.value), 0);
}

export function parsePrometheus(text: string): Scrape['samples'] {
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (line.length === 0 || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** A port nobody listens on right now (for DRIFTWATCH_METRICS_PORT). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
